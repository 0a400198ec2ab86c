"""The ``jobs/query`` handlers (Bulk API 2.0 query jobs) and the validation of a create request.

Pages: "Create a Query Job", "Get Information About a Query Job", "Abort a Query Job", "Delete a
Query Job", "Get Information About All Query Jobs", "Get Results for a Query Job", "Get Parallel
Results for a Query Job" (https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/queries.htm
and the pages it links). Decisions where they say nothing are marked as such.

``Sforce-Limit-Info`` is on every answer here too (the front door's): the header is documented for
REST answers in general ("Limit Info Header",
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm) and
nothing exempts these (decision).
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Iterator
from typing import Any, TypeVar

from aiohttp import web

from .._ingest import ApiError, not_found
from .._query import QueryJob
from .._vocab import (
    LIST_PAGE_SIZE,
    QUERY_SINCE,
    RESULT_PAGES_SINCE,
    ColumnDelimiter,
    JobState,
    LineEnding,
    QueryOperation,
)
from ._body import parse_json_object
from ._state import EmulatorState, state_of

__all__ = [
    "abort_job",
    "create_job",
    "delete_job",
    "job_info",
    "list_jobs",
    "result_pages",
    "results",
    "wants_gzip",
]

_E = TypeVar("_E", bound=enum.Enum)

# The state as the v47 page's 412 answer spells it ("IN_PROGRESS").
_STATE_WORDS = {
    JobState.UPLOAD_COMPLETE: "UPLOAD_COMPLETE",
    JobState.IN_PROGRESS: "IN_PROGRESS",
    JobState.ABORTED: "ABORTED",
    JobState.FAILED: "FAILED",
}


def _choice(enum_type: type[_E], prop: str, value: Any) -> _E:
    try:
        return enum_type(value)
    except ValueError:
        # The ingest create's real text for a bad value (also for a missing one: value ''); "Create a
        # Query Job" documents none (decision):
        # https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_create_job.htm
        raise ApiError(
            400, "API_ERROR", f"Invalid value: '{value}' supplied for property: '{prop}'"
        ) from None


def _version(request: web.Request, since: int = QUERY_SINCE) -> str:
    """The request's API version; query resources do not exist before ``since`` (404 as for any)."""
    version = request.match_info["version"]
    if float(version) < since:
        raise not_found()
    return version


def _job(request: web.Request) -> tuple[EmulatorState, QueryJob]:
    _version(request)
    state = state_of(request)
    return state, state.queries.get(request.match_info["job_id"])


async def create_job(request: web.Request) -> web.Response:
    """``POST jobs/query``: 200 with the job in UploadComplete, or 400 for a body or SOQL refused.

    The SOQL is compiled before the job exists: Salesforce answers a bad query synchronously with its
    REST error (INVALID_FIELD...) or a Bulk refusal (API_ERROR), never with a Failed job.
    """
    version = _version(request)
    state = state_of(request)
    body = parse_json_object(await request.read())
    operation = _choice(QueryOperation, "operation", body.get("operation") or "")
    soql = body.get("query")
    if not isinstance(soql, str) or not soql.strip():
        raise ApiError(400, "API_ERROR", f"Invalid value: '{soql or ''}' supplied for property: 'query'")
    if body.get("contentType", "CSV") != "CSV":  # CSV is the only content type
        raise ApiError(
            400,
            "API_ERROR",
            f"Invalid value: '{body.get('contentType')}' supplied for property: 'contentType'",
        )
    delimiter = _choice(ColumnDelimiter, "columnDelimiter", body.get("columnDelimiter", "COMMA"))
    line_ending = _choice(LineEnding, "lineEnding", body.get("lineEnding", "LF"))
    # "object" (v48 docs only: "the API determines the object from the query") is accepted and ignored.
    job = await state.queries.create(
        state.new_job_id(), operation, soql, version, delimiter, line_ending, created_by=state.user_id
    )
    return web.json_response(job.create_info())


async def job_info(request: web.Request) -> web.Response:
    """``GET jobs/query/{id}`` (never with an ``Sforce-Locator``: jsforce would take it for a page's)."""
    _, job = _job(request)
    return web.json_response(job.full_info())


async def abort_job(request: web.Request) -> web.Response:
    """``PATCH jobs/query/{id}`` with ``{"state": "Aborted"}``."""
    state, job = _job(request)
    target = parse_json_object(await request.read()).get("state")
    if target != JobState.ABORTED:
        if target in tuple(JobState):
            raise ApiError(400, "INVALIDJOBSTATE", f"Changing the state of a Job to {target} not allowed")
        _choice(JobState, "state", target or "")
    await state.queries.abort(job)
    return web.json_response(job.abort_info())


async def delete_job(request: web.Request) -> web.Response:
    """``DELETE jobs/query/{id}``: 204."""
    state, job = _job(request)
    await state.queries.delete(job)
    return web.Response(status=204)


async def list_jobs(request: web.Request) -> web.Response:
    """``GET jobs/query``: the query jobs, 1,000 a page, as ``GET jobs/ingest`` pages.

    The list "includes Bulk API 2.0 query jobs and all Bulk API jobs" (Bulk API 1.0, which the
    emulator has none of); V2 ingest jobs are listed by ``jobs/ingest``.
    """
    version = _version(request)
    query = request.query
    jobs = state_of(request).queries.list_jobs()
    if query.get("isPkChunkingEnabled", "").lower() == "true":
        jobs = []  # only Bulk API 1.0 jobs use PK chunking headers
    if query.get("jobType") not in (None, "", "V2Query"):
        jobs = []
    mode = query.get("concurrencyMode")
    if mode and mode.lower() != "parallel":
        jobs = []
    start = 0
    locator = query.get("queryLocator")
    if locator:
        _, _, offset = locator.rpartition("-")
        if not offset.isdigit():
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        start = int(offset)
    page = jobs[start : start + LIST_PAGE_SIZE]
    done = start + LIST_PAGE_SIZE >= len(jobs)
    next_url = None
    if not done:
        params = f"queryLocator=01gEM00000LOCATRAAA-{start + LIST_PAGE_SIZE}"
        for name in ("isPkChunkingEnabled", "jobType", "concurrencyMode"):
            if name in query:
                params += f"&{name}={query[name]}"
        next_url = f"/services/data/v{version}/jobs/query?{params}"
    return web.json_response(
        {"done": done, "records": [j.list_info() for j in page], "nextRecordsUrl": next_url}
    )


def _ready(request: web.Request, since: int = QUERY_SINCE) -> tuple[EmulatorState, QueryJob]:
    """The job of a results request, if its results can be had with this request's version."""
    version = _version(request, since)
    state, job = _job(request)
    if version != job.api_version:
        # "use the same API version that you used to create the job. Otherwise, the call returns a
        # 409 error"; the body is not documented (decision):
        # https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_job_results.htm
        raise ApiError(
            409,
            "API_ERROR",
            f"The job was created with API version {job.api_version}; request its results with that version",
        )
    if job.state is not JobState.JOB_COMPLETE:
        # Undocumented today; the v47 page showed this answer
        # (https://developer.salesforce.com/docs/atlas.ja-jp.222.0.api_bulk_v2.meta/api_bulk_v2/query_get_job_results.htm),
        # later ones a bare 204, which a client could take for an empty result (decision: the 412).
        raise ApiError(
            412,
            "JOB_NOT_COMPLETE",
            "can only download query results of successfully completed bulk job with status: JOB_COMPLETE. "
            f"Current status: {_STATE_WORDS.get(job.state, str(job.state))}",
        )
    return state, job


def wants_gzip(request: web.Request) -> bool:
    """Whether ``Accept-Encoding`` lists gzip (with a q above 0).

    The body is gzipped when the client asks for gzip and not otherwise ("Compression for Query
    Results"; "Bulk API 2.0 Query" says "always compressed": decision, as asked). Never deflate, br or
    zstd, though clients offer them.
    https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_compression.htm
    """
    for item in request.headers.get("Accept-Encoding", "").split(","):
        name, _, params = item.partition(";")
        if name.strip().lower() != "gzip":
            continue
        params = params.strip()
        if not params.startswith("q="):
            return True
        try:
            return float(params[2:]) > 0
        except ValueError:
            return False
    return False


async def results(request: web.Request) -> web.StreamResponse:
    """``GET jobs/query/{id}/results[?locator=][&maxRecords=]``: one page, a complete CSV."""
    state, job = _ready(request)
    page = await state.queries.page(job, request.query.get("locator"), request.query.get("maxRecords"))
    faults = state.faults.page_faults((job.id, page.start, page.stop))
    if "result_503" in faults:
        raise ApiError(
            503, "SERVER_UNAVAILABLE", "Server is temporarily unavailable. Please try again later."
        )
    response = web.StreamResponse(
        status=200,
        headers={
            "Content-Type": "text/csv; charset=UTF-8",
            "Sforce-NumberOfRecords": str(page.rows),
            "Sforce-Locator": page.next_locator,
        },
    )
    if wants_gzip(request):
        response.enable_compression(web.ContentCoding.gzip)
    await response.prepare(request)
    chunks: Iterator[bytes] = state.queries.read_page(job, page)
    # A cut body stops after about half of it: the bytes up to the middle of the page's rows.
    cut_at = sum(hi - lo for _, lo, hi in page.pieces) // 2 if "result_cut" in faults else None
    sent = 0
    while True:
        chunk = await asyncio.to_thread(next, chunks, None)
        if chunk is None:
            break
        if cut_at is not None and sent + len(chunk) > cut_at:
            await response.write(chunk[: max(0, cut_at - sent)])
            if request.transport is not None:
                request.transport.abort()
            return response
        sent += len(chunk)
        await response.write(chunk)
    await response.write_eof()
    if "result_token_expiry" in faults:
        state.expire_tokens()
    return response


async def result_pages(request: web.Request) -> web.Response:
    """``GET jobs/query/{id}/resultPages`` (v58.0 and later): up to five page URLs at a time."""
    state, job = _ready(request, RESULT_PAGES_SINCE)
    query = request.query
    answer = await state.queries.result_pages(
        job, query.get("locator"), query.get("maxRecords"), request.match_info["version"]
    )
    return web.json_response(answer)
