"""The one request loop: session, tokens, retries, request counting, and the error boundary.

This module and :mod:`asyncbulk._bulk._client` are the only places in asyncbulk that touch aiohttp;
every aiohttp exception and every Salesforce error response becomes an exception of
:mod:`asyncbulk._exceptions` here (the way httpx maps httpcore's errors at a single boundary).
Nothing here logs or raises a credential.
"""

from __future__ import annotations

import inspect
import logging
import ssl
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import aiohttp
import anyio

from .._auth import Auth, Credentials
from .._config import RetryConfig
from .._exceptions import (
    AmbiguousSubmitError,
    ApiError,
    AuthenticationError,
    TransportError,
)
from ._errors import api_error_from, describe_exception, is_name_error, origin, parse_limit_info, where
from ._retry import (
    Backoff,
    Failure,
    Safety,
    classify_exception,
    classify_status,
    may_repeat,
    parse_retry_after,
)

__all__ = [
    "Done",
    "Policy",
    "Track",
    "Transport",
    "WaitNotice",
]

logger = logging.getLogger("asyncbulk.client")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Done(Generic[T]):
    """An error response that is really the success the caller wanted, with its value."""

    value: T


@dataclass(frozen=True, slots=True)
class Policy(Generic[T]):
    """What an endpoint does with the failures only it can interpret.

    :param reconcile: for :attr:`Safety.RECONCILE`: asks the server whether a try that may have
        reached it took effect, before any repeat; a :class:`Done` means it did.
    :param on_error: may turn a permanent error into a success (its ``bool``: an earlier try may
        have taken effect).
    :param ambiguous: for :attr:`Safety.ONCE`: builds the error raised instead of a repeat.
    """

    reconcile: Callable[[], Awaitable[Done[T] | None]] | None = None
    on_error: Callable[[ApiError, bool], Awaitable[Done[T] | None]] | None = None
    ambiguous: Callable[[str], AmbiguousSubmitError] | None = None


@dataclass
class Track:
    """What happened during one logical call (filled in by :meth:`Transport.request`)."""

    unknown: bool = False
    attempts: int = 0
    started: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class WaitNotice:
    """The client is waiting before it tries a request again.

    :param reason: why (``"the org is unreachable: ..."``, ``"HTTP 503 ..."``).
    :param seconds: how long it waits now.
    :param waited: seconds since the request's first try.
    :param budget: seconds it may keep trying in all.
    """

    reason: str
    seconds: float
    waited: float
    budget: float


class Transport:
    """One :class:`aiohttp.ClientSession` with the retry, token and error rules of asyncbulk.

    :param auth: where tokens come from; on a 401 a refreshable auth is asked for a new token once.
    :param retry: the retry policy for transient failures.
    :param connections: the connection pool size.
    :param timeout: seconds to wait for the next bytes of an answer.
    :param connect_timeout: seconds to establish a connection.
    :param ssl_context: TLS settings; the system's trust store when ``None``.
    :param on_wait: told each time a request waits to be tried again (a display says why).
    """

    def __init__(
        self,
        auth: Auth,
        *,
        retry: RetryConfig,
        connections: int,
        timeout: float,
        connect_timeout: float,
        ssl_context: ssl.SSLContext | None,
        on_wait: Callable[[WaitNotice], Awaitable[None] | None] | None = None,
    ) -> None:
        self.auth = auth
        self.retry = retry
        self.backoff = Backoff(retry)
        self.on_wait = on_wait
        self._connections = connections
        self.timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout, sock_read=timeout)
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._session: aiohttp.ClientSession | None = None
        self._refresh_lock = anyio.Lock()
        #: Requests sent (every attempt that may have reached the server).
        self.requests_made = 0
        #: The same, by kind: create, multipart, upload, close, abort, job_info, job_list, results,
        #: delete, query, other (the emulator's stats use the same names).
        self.requests_by_kind: Counter[str] = Counter()
        #: The last ``Sforce-Limit-Info: api-usage=N/M`` seen, as ``(N, M)``.
        self.api_usage: tuple[int, int] | None = None
        #: Whether the org has answered at least once: before that, a connection failure is more
        #: likely a wrong URL than an outage, and is given up sooner.
        self.contacted = False

    async def open(self) -> None:
        """Open the session."""
        connector = aiohttp.TCPConnector(limit=self._connections, ssl=self._ssl)
        # aiohttp sends "Accept-Encoding: gzip, deflate" and inflates the answer by default, so
        # result files come compressed, as Salesforce offers for them ("Compression Headers",
        # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_rest_compression.htm).
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=self.timeout, headers={"User-Agent": "asyncbulk"}
        )
        # aiohttp silently sends GET/PUT/DELETE a second time when a reused keep-alive connection
        # turns out closed. That hidden retry would skip the upload's "ask the job first" step and
        # hide failures from the request counts, so every retry decision stays in this module.
        # (aiohttp's own TestClient switches it off the same way; there is no public option.)
        if hasattr(self._session, "_retry_connection"):
            self._session._retry_connection = False

    async def close(self) -> None:
        """Close the session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The open session."""
        if self._session is None:
            raise RuntimeError("BulkClient is not open: use it as `async with BulkClient(...) as client`")
        return self._session

    # -- tokens ------------------------------------------------------------------------------------

    async def credentials(self) -> Credentials:
        """The current credentials (the auth method's cache, or a first token request)."""
        return await self.auth.token(self.post_form)

    async def _refresh(self, stale: Credentials) -> None:
        """Get a new token once, however many requests saw the old one expire at the same time."""
        async with self._refresh_lock:
            current = await self.credentials()
            if current.access_token != stale.access_token:
                return  # another request refreshed it meanwhile
            # ``stale`` lets a single-flight auth skip the refresh if someone else did it.
            await self.auth.token(self.post_form, force_refresh=True, stale=stale)

    async def post_form(
        self, url: str, form: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, bytes]:
        """POST an OAuth token request; return the status and body (the auth method reads them).

        Connection failures and 5xx answers are tried again within the retry budget: asking for
        a token twice is harmless.
        """
        budget = self.backoff.start()
        while True:
            try:
                async with self.session.post(
                    url, data=dict(form), headers={"Accept": "application/json", **headers}
                ) as response:
                    status, body = response.status, await response.read()
                if status < 500:
                    return status, body
                reason = f"HTTP {status} from the token endpoint"
            except (aiohttp.ClientError, TimeoutError) as exc:
                if classify_exception(exc) is None:
                    raise TransportError(f"POST {url}: {describe_exception(exc, self.timeout)}") from None
                reason = describe_exception(exc, self.timeout)
            if not await self._wait(budget, reason, 0.0):
                raise TransportError(
                    f"POST {url}: {reason} (gave up after {budget.attempts} tries in {budget.elapsed:.1f}s)"
                )

    # -- the loop ----------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        kind: str,
        safety: Safety,
        handle: Callable[[aiohttp.ClientResponse], Awaitable[T]],
        job_id: str | None = None,
        params: dict[str, str] | None = None,
        body: Callable[[], Any] | None = None,
        replayable: bool = True,
        headers: dict[str, str] | None = None,
        expect: tuple[int, ...] = (200,),
        track: Track | None = None,
        policy: Policy[T] | None = None,
    ) -> T:
        """Send one logical request, retrying per its safety; map every failure to our exceptions.

        :param path: a path starting with ``/services/``, or an absolute URL from the server (sent
            only if it points at the instance the credentials are for).
        :param handle: reads a successful response (status in ``expect``) into the result.
        :param body: makes a fresh request body for each attempt.
        """
        session = self.session
        track = track or Track()
        policy = policy or Policy()
        budget = self.backoff.start()
        refreshed = False
        shown = path.split("?", 1)[0]
        while True:
            credentials = await self.credentials()
            url = self._url(path, credentials, method, job_id)
            request_headers = {
                "Authorization": f"Bearer {credentials.access_token}",
                "Accept": "application/json",
            }
            request_headers.update(headers or {})
            track.attempts += 1
            retry_after = 0.0
            usage_now: tuple[int, int] | None = None
            error: Exception
            cause: BaseException | None = None
            payload = body() if body is not None else None
            try:
                async with session.request(
                    method, url, params=params, data=payload, headers=request_headers
                ) as response:
                    self.contacted = True
                    self._count(kind)
                    self._note_limits(response)
                    logger.debug("%s %s -> %d (try %d)", method, shown, response.status, track.attempts)
                    if response.status in expect:
                        return await handle(response)
                    api_error = await api_error_from(response, method, shown, job_id)
                    usage_now = parse_limit_info(response.headers.get("Sforce-Limit-Info"))
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
            except (aiohttp.ClientError, TimeoutError) as exc:
                failure = classify_exception(exc)
                if failure is not Failure.NOT_SENT:
                    self._count(kind)
                error = TransportError(
                    f"{where(method, shown, job_id)}: {describe_exception(exc, self.timeout)}"
                )
                logger.debug("%s %s -> %s (try %d)", method, shown, type(exc).__name__, track.attempts)
                if failure is None or (not self.contacted and is_name_error(exc)):
                    raise error from exc
                cause = exc
            else:
                if isinstance(api_error, AuthenticationError):
                    if self.auth.refreshable and not refreshed:
                        # 401 means "not processed", so any request may be repeated once.
                        refreshed = True
                        await self._refresh(credentials)
                        continue
                    raise api_error
                failure = classify_status(
                    api_error.status, api_error.error_code, api_error.message, usage_now
                )
                if failure is None:
                    if policy.on_error is not None:
                        resolved = await policy.on_error(api_error, track.unknown)
                        if resolved is not None:
                            return resolved.value
                    raise api_error
                error = api_error
            finally:
                # A streamed body abandoned mid-way (dropped connection) would keep its file open
                # until garbage collection; close it now. A retry makes a fresh one.
                aclose = getattr(payload, "aclose", None)
                if aclose is not None:
                    await aclose()

            if failure is Failure.UNKNOWN:
                track.unknown = True
            if not may_repeat(safety, failure):
                if safety is Safety.ONCE:
                    if policy.ambiguous is None:  # pragma: no cover - every ONCE caller passes one
                        raise error from cause
                    raise policy.ambiguous(str(error)) from cause
                # Safety.RECONCILE: ask the server whether the first try took effect.
                if policy.reconcile is not None:
                    done = await policy.reconcile()
                    if done is not None:
                        return done.value
            if not replayable and failure is not Failure.NOT_SENT:
                raise TransportError(f"{error} (the upload stream cannot be sent twice)") from cause
            if not await self._wait(budget, str(error), retry_after):
                if isinstance(error, TransportError):
                    error = TransportError(
                        f"{error} (gave up after {budget.attempts} tries in {budget.elapsed:.1f}s)"
                    )
                raise error from cause
            logger.info("%s %s: %s; trying again (try %d)", method, shown, failure.value, budget.attempts)

    async def _wait(self, budget: Any, reason: str, at_least: float) -> bool:
        """Wait before the next try, telling :attr:`on_wait`; ``False`` when the budget is spent."""
        limit = (
            self.retry.budget if self.contacted else min(self.retry.budget, self.retry.first_contact_budget)
        )
        delay = budget.next_delay(at_least=at_least, budget=limit)
        if delay is None:
            return False
        if self.on_wait is not None:
            told = self.on_wait(WaitNotice(reason, delay, budget.elapsed, limit))
            if inspect.isawaitable(told):
                await told
        await budget.sleep(delay)
        return True

    def _url(self, path: str, credentials: Credentials, method: str, job_id: str | None) -> str:
        if not path.startswith(("http://", "https://")):
            return credentials.instance_url + path
        # A URL from a reply (nextRecordsUrl...) carries the bearer token with it: only ever to
        # the instance the user chose. Another host in a reply is a misbehaving or hostile server.
        if origin(path) != origin(credentials.instance_url):
            raise ApiError(
                0,
                "FOREIGN_URL",
                f"the server's reply points at {path.split('?', 1)[0]}, which is not the instance "
                f"{credentials.instance_url}; not followed (credentials go to the instance only)",
                method=method,
                path=path.split("?", 1)[0],
                job_id=job_id,
            )
        return path

    def _count(self, kind: str) -> None:
        self.requests_made += 1
        self.requests_by_kind[kind] += 1

    def _note_limits(self, response: aiohttp.ClientResponse) -> None:
        usage = parse_limit_info(response.headers.get("Sforce-Limit-Info"))
        if usage is not None:
            self.api_usage = usage
