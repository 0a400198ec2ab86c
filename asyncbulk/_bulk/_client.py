"""The Bulk API 2.0 client: one HTTP session, one method per endpoint, each returning parsed objects.

The endpoints live by resource: ingest jobs in :mod:`asyncbulk._bulk._ingest`, query jobs in
:mod:`asyncbulk._bulk._query`; the REST resources
the loader needs (describe, limits, query) here. Retries and the error boundary are the
transport's (:mod:`asyncbulk._bulk._transport`).
"""

from __future__ import annotations

import concurrent.futures
import os
import ssl
from collections import Counter
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self
from urllib.parse import quote

import anyio

from .._auth import Auth
from .._config import RetryConfig
from ._ingest import IngestEndpoints
from ._query import QueryEndpoints
from ._responses import JsonDict, read_json
from ._retry import Safety
from ._transport import Transport, WaitNotice

__all__ = ["BulkClient"]


class BulkClient(IngestEndpoints, QueryEndpoints):
    """Speaks the Bulk API 2.0 over one HTTP session; use it as an async context manager::

        async with BulkClient(StaticToken(url, token)) as client:
            job = await client.create_job(object="Contact", operation=Operation.INSERT)

    :param auth: where tokens come from; on a 401 a refreshable auth is asked for a new token once.
    :param api_version: the REST API version, e.g. ``"66.0"``.
    :param connections: the connection pool size. Give at least the loader's job concurrency, so
        the pool is never a hidden lower limit.
    :param retry: the retry policy for transient failures.
    :param timeout: seconds to wait for the next bytes of an answer before giving up on it.
    :param connect_timeout: seconds to establish a connection.
    :param ssl_context: TLS settings (e.g. to trust the emulator's self-signed certificate).
    :param ca_file: a PEM file of CA certificates to trust, instead of ``ssl_context``.
    :param on_wait: called each time a request waits before it is tried again.
    """

    def __init__(
        self,
        auth: Auth,
        *,
        api_version: str = "66.0",
        connections: int = 24,
        retry: RetryConfig | None = None,
        timeout: float = 300.0,
        connect_timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        ca_file: str | os.PathLike[str] | None = None,
        on_wait: Callable[[WaitNotice], Awaitable[None] | None] | None = None,
    ) -> None:
        if connections <= 0:
            raise ValueError(f"connections must be a positive number, got {connections!r}")
        if timeout <= 0 or connect_timeout <= 0:
            raise ValueError("timeout and connect_timeout must be positive")
        if ssl_context is not None and ca_file is not None:
            raise ValueError("give ssl_context or ca_file, not both")
        if ca_file is not None:
            ssl_context = ssl.create_default_context(cafile=os.fspath(ca_file))
        self.api_version = api_version.removeprefix("v")
        self._connections = connections
        self.transport = Transport(
            auth,
            retry=retry or RetryConfig(),
            connections=connections,
            timeout=timeout,
            connect_timeout=connect_timeout,
            ssl_context=ssl_context,
            on_wait=on_wait,
        )
        #: Worker threads for file work (upload reads here, and the loader's merges): every extra
        #: thread that allocates gets a malloc arena of its own, which showed as ~35 MB more peak
        #: memory in a million-row load. Download writes use one more, aiofiles' executor.
        self.threads = anyio.CapacityLimiter(2)
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        #: The id of the user this client acts as, learned from the first job it creates: jobs in
        #: the org's job list created by anyone else are never taken for ours.
        self.user_id: str | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="asyncbulk-io")
        await self.transport.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.transport.close()
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    def __repr__(self) -> str:
        return (
            f"BulkClient(api_version={self.api_version!r}, connections={self._connections}, "
            f"requests_made={self.requests_made}, api_usage={self.api_usage})"
        )

    @property
    def requests_made(self) -> int:
        """Requests sent so far (every attempt that may have reached the server)."""
        return self.transport.requests_made

    @property
    def requests_by_kind(self) -> Counter[str]:
        """Requests sent, by kind (create, multipart, upload, close, job_info, job_list, results...)."""
        return self.transport.requests_by_kind

    @property
    def api_usage(self) -> tuple[int, int] | None:
        """The last ``Sforce-Limit-Info: api-usage=N/M`` seen, as ``(N, M)``."""
        return self.transport.api_usage

    async def instance_url(self) -> str:
        """The instance URL the credentials are for (asks the auth method for a token if needed)."""
        return (await self.transport.credentials()).instance_url

    # -- other REST resources ------------------------------------------------------------------

    async def query(self, soql: str) -> JsonDict:
        """Run a SOQL query through the REST query resource; returns the first page as is."""
        result: JsonDict = await self.transport.request(
            "GET",
            f"{self._base}/query",
            kind="query",
            safety=Safety.IDEMPOTENT,
            params={"q": soql},
            handle=read_json,
        )
        return result

    async def limits(self) -> JsonDict:
        """The org's limits (``GET /limits``): daily API requests, Bulk batches and more."""
        result: JsonDict = await self.transport.request(
            "GET", f"{self._base}/limits", kind="other", safety=Safety.IDEMPOTENT, handle=read_json
        )
        return result

    async def describe(self, object_name: str) -> JsonDict:
        """Describe an sObject (``GET /sobjects/{object}/describe``)."""
        result: JsonDict = await self.transport.request(
            "GET",
            f"{self._base}/sobjects/{quote(object_name, safe='')}/describe",
            kind="other",
            safety=Safety.IDEMPOTENT,
            handle=read_json,
        )
        return result
