"""The query endpoints of the Bulk API 2.0, one method each (part of :class:`BulkClient`).

"Bulk API 2.0 Query" (https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_create_job.htm,
…/query_get_job_results.htm, …/query_get_parallel_results.htm). Every request is a GET or an idempotent
create (a second query job costs an allocation but loads nothing), so the transport retries them all.

A results page is streamed to a file, never held in memory; the rows it holds are counted on the way
(a quote-parity count, as the loader's scanner does) and checked against ``Sforce-NumberOfRecords``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import aiofiles
import aiofiles.os
import aiohttp
import orjson

from .._config import ColumnDelimiter, LineEnding
from .._exceptions import ApiError
from ._jobinfo import JobInfo
from ._responses import JsonDict, ignore, read_job_info, read_json
from ._retry import Safety
from ._transport import Done, Policy, Transport

__all__ = ["QueryEndpoints", "QueryPage", "RecordCounter", "ResultPages"]

_CHUNK = 1 << 16


class RecordCounter:
    """Counts the CSV records in a stream of bytes (a record ends at a line feed outside quotes)."""

    def __init__(self) -> None:
        self.records = 0
        self._inside = False  # inside a quoted field at the end of what was seen
        self._open = False  # the last bytes seen are a record not ended yet

    @property
    def total(self) -> int:
        """Records seen, a last one without a line ending included."""
        return self.records + (1 if self._open else 0)

    def feed(self, data: bytes) -> None:
        """Count the records that end in ``data``."""
        if not data:
            return
        pieces = data.split(b'"')
        # Pieces alternate outside / inside quotes (a doubled quote is an empty inside piece).
        outside = pieces[1::2] if self._inside else pieces[0::2]
        self.records += sum(piece.count(b"\n") for piece in outside)
        if (len(pieces) - 1) % 2:
            self._inside = not self._inside
        self._open = self._inside or not data.endswith(b"\n")


@dataclass(frozen=True, slots=True)
class QueryPage:
    """One page of a query job's results, written to a file.

    :param records: the data rows it holds (its header line not counted).
    :param declared: what ``Sforce-NumberOfRecords`` said.
    :param next_locator: the locator of the next page, ``None`` after the last.
    :param bytes: the bytes written (decoded, when it came gzipped).
    """

    records: int
    declared: int | None
    next_locator: str | None
    bytes: int


@dataclass(frozen=True, slots=True)
class ResultPages:
    """One answer of ``resultPages``: up to five page URLs, and where the next group is.

    :param locators: each page's locator (``None`` for a first page named without one).
    :param next_url: the URL of the next group, ``None`` when ``done``.
    """

    locators: tuple[str | None, ...]
    next_url: str | None


class QueryEndpoints:
    """Query jobs: create, info, abort, delete, results pages, parallel result pages."""

    transport: Transport
    api_version: str
    _executor: concurrent.futures.ThreadPoolExecutor | None

    def _query_base(self, version: str | None = None) -> str:
        return f"/services/data/v{(version or self.api_version).removeprefix('v')}/jobs/query"

    async def create_query_job(
        self,
        soql: str,
        *,
        query_all: bool = False,
        column_delimiter: ColumnDelimiter | str = ColumnDelimiter.COMMA,
        line_ending: LineEnding | str = LineEnding.LF,
    ) -> JobInfo:
        """Create a query job (``query``, or ``queryAll`` with deleted and archived records too).

        Salesforce checks the SOQL at once: a query it refuses is an :class:`ApiError` (400) here,
        before any job exists.
        """
        body = orjson.dumps(
            {
                "operation": "queryAll" if query_all else "query",
                "query": soql,
                "contentType": "CSV",
                "columnDelimiter": ColumnDelimiter.parse(column_delimiter).value,
                "lineEnding": LineEnding.parse(line_ending).value,
            }
        )
        return await self.transport.request(
            "POST",
            self._query_base(),
            kind="query_create",
            safety=Safety.IDEMPOTENT,
            body=lambda: body,
            headers={"Content-Type": "application/json"},
            handle=read_job_info,
        )

    async def query_job_info(self, job_id: str, *, api_version: str | None = None) -> JobInfo:
        """A query job's info (state, records processed, error message)."""
        return await self.transport.request(
            "GET",
            f"{self._query_base(api_version)}/{job_id}",
            kind="query_info",
            safety=Safety.IDEMPOTENT,
            job_id=job_id,
            handle=read_job_info,
        )

    async def abort_query_job(self, job_id: str) -> JobInfo:
        """Abort a query job; one already finished or aborted is returned as it is."""
        raw = orjson.dumps({"state": "Aborted"})

        async def on_error(exc: ApiError, unknown: bool) -> Done[JobInfo] | None:
            if exc.status != 400:
                return None
            info = await self.query_job_info(job_id)
            return Done(info) if info.state.terminal else None

        return await self.transport.request(
            "PATCH",
            f"{self._query_base()}/{job_id}",
            kind="query_abort",
            safety=Safety.IDEMPOTENT,
            job_id=job_id,
            body=lambda: raw,
            headers={"Content-Type": "application/json"},
            handle=read_job_info,
            policy=Policy(on_error=on_error),
        )

    async def delete_query_job(self, job_id: str, *, api_version: str | None = None) -> None:
        """Delete a finished query job and its results (``204``)."""

        async def on_error(exc: ApiError, unknown: bool) -> Done[None] | None:
            return Done(None) if unknown and exc.status == 404 else None

        await self.transport.request(
            "DELETE",
            f"{self._query_base(api_version)}/{job_id}",
            kind="query_delete",
            safety=Safety.IDEMPOTENT,
            job_id=job_id,
            expect=(204, 200),
            handle=ignore,
            policy=Policy(on_error=on_error),
        )

    async def list_query_jobs(self) -> AsyncIterator[JobInfo]:
        """Every query job visible to the user, page after page."""
        path: str | None = self._query_base()
        while path is not None:
            page: JsonDict = await self.transport.request(
                "GET", path, kind="query_list", safety=Safety.IDEMPOTENT, handle=read_json
            )
            for record in page.get("records") or ():
                if isinstance(record, dict):
                    yield JobInfo.parse(record)
            next_url = page.get("nextRecordsUrl")
            path = next_url if isinstance(next_url, str) and next_url and not page.get("done") else None

    async def result_pages(
        self,
        job_id: str,
        *,
        max_records: int | None = None,
        url: str | None = None,
        api_version: str | None = None,
    ) -> ResultPages:
        """Up to five page locators at once (``resultPages``, API v58.0 and later).

        :param url: the ``nextRecordsUrl`` of the previous answer (its group of pages).
        """
        params = {"maxRecords": str(max_records)} if max_records and url is None else None
        data: JsonDict = await self.transport.request(
            "GET",
            url or f"{self._query_base(api_version)}/{job_id}/resultPages",
            kind="query_pages",
            safety=Safety.IDEMPOTENT,
            job_id=job_id,
            params=params,
            handle=read_json,
        )
        locators = []
        for entry in data.get("resultPages") or ():
            result_url = str(entry.get("resultUrl") or "") if isinstance(entry, dict) else ""
            locators.append(_locator_of(result_url))
        next_url = data.get("nextRecordsUrl")
        done = bool(data.get("done")) or not isinstance(next_url, str) or not next_url
        return ResultPages(tuple(locators), None if done else str(next_url))

    async def download_query_page(
        self,
        job_id: str,
        dest: str | os.PathLike[str],
        *,
        locator: str | None = None,
        max_records: int | None = None,
        api_version: str | None = None,
    ) -> QueryPage:
        """Stream one results page to ``dest`` (through ``dest.part``), counting its rows.

        :param locator: the page's locator (``None``: the first page).
        :param max_records: rows per page to ask for.
        :param api_version: the version the job was created with (another one gets 409).
        :raises ApiError: the page's row count differs from ``Sforce-NumberOfRecords`` even after
            fetching it again (pages are stable: a locator always gives the same page).
        """
        target = os.fspath(dest)
        partial = target + ".part"
        params = {}
        if locator:
            params["locator"] = locator
        if max_records:
            params["maxRecords"] = str(max_records)
        path = f"{self._query_base(api_version)}/{job_id}/results"

        async def handle(response: aiohttp.ClientResponse) -> QueryPage:
            counter = RecordCounter()
            written = 0
            async with aiofiles.open(partial, "wb", executor=self._executor) as file:
                async for chunk in response.content.iter_chunked(_CHUNK):
                    counter.feed(chunk)
                    await file.write(chunk)
                    written += len(chunk)
            declared_text = response.headers.get("Sforce-NumberOfRecords")
            declared = int(declared_text) if declared_text and declared_text.isdigit() else None
            records = max(counter.total - 1, 0)  # the header line is a record of its own
            if declared is not None and records != declared:
                # A body cut short that the connection did not report: fetch the page again.
                raise aiohttp.ClientPayloadError(
                    f"the page held {records} rows but Sforce-NumberOfRecords said {declared}"
                )
            next_locator = response.headers.get("Sforce-Locator")
            await aiofiles.os.replace(partial, target)
            return QueryPage(
                records=records,
                declared=declared,
                next_locator=None if next_locator in (None, "", "null") else next_locator,
                bytes=written,
            )

        try:
            return await self.transport.request(
                "GET",
                path,
                kind="query_results",
                safety=Safety.IDEMPOTENT,
                job_id=job_id,
                params=params or None,
                headers={"Accept": "text/csv"},
                handle=handle,
            )
        except BaseException:
            with contextlib.suppress(OSError):
                await aiofiles.os.remove(partial)
            raise


def _locator_of(url: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get("locator")
    return values[0] if values else None
