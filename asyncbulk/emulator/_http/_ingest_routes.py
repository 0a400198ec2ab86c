"""The ``jobs/ingest`` handlers, and the validation of a create request.

A create is checked in the order Salesforce does it: the body (:func:`new_job`: enum values, the
object, the upsert key), then the daily allocations (``JobManager.create``); the header is checked
when the job is closed and its data parsed (the job then fails, as on the platform). Texts follow
"Create a Job" (https://developer.salesforce.com/docs/platform/api-asynch/guide/create-job.html),
"Upload Job Data" (https://developer.salesforce.com/docs/platform/api-asynch/guide/upload-job-data.html)
and captured real answers where those pages give none.
"""

from __future__ import annotations

import asyncio
import enum
import zlib
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from aiohttp import web

from .._ingest import ApiError, Job
from .._vocab import (
    LIST_PAGE_SIZE,
    MULTIPART_MAX_CHARS,
    UPLOAD_MAX_BYTES,
    ColumnDelimiter,
    JobState,
    LineEnding,
    Operation,
    ResultKind,
)
from ._body import body_chunks, parse_json_object, read_body
from ._front_door import accepts_gzip, require_media_type
from ._multipart import multipart_boundary, multipart_parts
from ._state import EmulatorState, state_of

__all__ = [
    "RESULT_PATHS",
    "create_job",
    "delete_job",
    "job_info",
    "list_jobs",
    "new_job",
    "results",
    "set_state",
    "upload",
]

#: The result paths and the files they serve; simple-salesforce asks for ``unprocessedRecords``.
RESULT_PATHS = {
    "successfulResults": ResultKind.SUCCESS,
    "failedResults": ResultKind.FAILED,
    "unprocessedrecords": ResultKind.UNPROCESSED,
    "unprocessedRecords": ResultKind.UNPROCESSED,
}

_E = TypeVar("_E", bound=enum.Enum)


def _invalid_value(prop: str, value: Any) -> ApiError:
    # Real text for a bad enum value in the create body (errorCode API_ERROR, v47 capture in a public
    # Bulk API 2.0 upsert walkthrough: "Invalid value: '' supplied for property: 'operation'").
    return ApiError(400, "API_ERROR", f"Invalid value: '{value}' supplied for property: '{prop}'")


def _or_empty(value: Any) -> Any:
    return "" if value is None else value


def _choice(enum_type: type[_E], prop: str, value: Any) -> _E:
    try:
        return enum_type(value)
    except (ValueError, TypeError):
        raise _invalid_value(prop, value) from None


#: The create body's properties, all strings in Salesforce's JobInfo binding.
_JOB_STRINGS = (
    "object",
    "operation",
    "contentType",
    "columnDelimiter",
    "lineEnding",
    "externalIdFieldName",
    "assignmentRuleId",
)


def parse_create_body(raw: bytes) -> dict[str, Any]:
    """A create body: a JSON object whose known properties are strings (see ``parse_json_object``)."""
    return parse_json_object(raw, strings=_JOB_STRINGS)


def new_job(state: EmulatorState, body: dict[str, Any], version: str) -> Job:
    """Validate a create body the way Salesforce does and build the (not yet registered) job."""
    # Operation names are case-sensitive ("insert", not "INSERT").
    operation = _choice(Operation, "operation", _or_empty(body.get("operation")))
    content_type = body.get("contentType", "CSV")
    if content_type != "CSV":
        raise _invalid_value("contentType", content_type)
    delimiter = _choice(ColumnDelimiter, "columnDelimiter", body.get("columnDelimiter", "COMMA"))
    line_ending = _choice(LineEnding, "lineEnding", body.get("lineEnding", "LF"))
    object_name = body.get("object")
    obj = state.org.schema.get(object_name) if isinstance(object_name, str) and object_name else None
    if obj is None:
        # Real: [{"errorCode":"INVALIDJOB","message":"InvalidJob : Unable to find object: blah"}]
        # (public upsert walkthrough capture; the same text is stubbed in several Bulk API clients' tests).
        raise ApiError(400, "INVALIDJOB", f"InvalidJob : Unable to find object: {object_name or ''}")
    external_id = body.get("externalIdFieldName")
    if operation is Operation.UPSERT:
        name = external_id if isinstance(external_id, str) else ""
        key = obj.field(name) if name else None
        if key is None and name.lower() != "id":
            # A blank or unknown key: the short form, the name as given (two spaces when blank). Real
            # answers: "InvalidJob : Field name provided,  does not match an External ID for
            # LObjectScore__c" (a v47 capture in a public Bulk API 2.0 upsert walkthrough) and
            # "...Field name provided, AccountExtId__c does not match an External ID for Account"
            # (public notes of a scratch-org Bulk API 2.0 loader).
            raise ApiError(
                400,
                "INVALIDJOB",
                f"InvalidJob : Field name provided, {name} does not match an External ID for {obj.name}",
            )
        if key is not None and name.lower() != "id" and not key.indexed:
            # A field that exists but cannot be a key: the long form, the name lower-cased. Real:
            # "InvalidJob : Field name provided, website does not match an External ID, Salesforce Id,
            # or indexed field for Account" for "Website" (StackOverflow q59282347).
            raise ApiError(
                400,
                "INVALIDJOB",
                f"InvalidJob : Field name provided, {name.lower()} does not match an External ID, "
                f"Salesforce Id, or indexed field for {obj.name}",
            )
        external_id = name
    else:
        external_id = None
    rule = body.get("assignmentRuleId")
    return Job(
        id=state.new_job_id(),
        operation=operation,
        object=obj.name,
        api_version=version,
        created=state.clock.time(),
        external_id_field=str(external_id) if external_id else None,
        line_ending=line_ending,
        column_delimiter=delimiter,
        assignment_rule_id=str(rule) if rule else None,
        created_by=state.user_id,
    )


#: Bytes a multipart create may carry: 100,000 characters of CSV (4 bytes each at most) and the job.
_MULTIPART_MAX_BYTES = MULTIPART_MAX_CHARS * 4 + (64 << 10)


def _multipart_too_large(characters: int | None = None) -> ApiError:
    # The docs give the 100,000-character limit but not the refusal; we answer 400 before creating
    # anything so a client can fall back to PUT.
    counted = f" ({characters})" if characters is not None else ""
    return ApiError(
        400,
        "BULK_API_ERROR",
        f"Exceeded max size limit of {MULTIPART_MAX_CHARS} characters for multipart job data{counted}; "
        "upload larger data with a separate PUT request",
        close=characters is None,
    )


def _upload_too_large() -> ApiError:
    # Undocumented answer; errorCode as for the other upload refusal (BULK_API_ERROR).
    return ApiError(
        400,
        "BULK_API_ERROR",
        "Exceeded max size limit of 150 MB (base64-encoded) for job data; split the data into several jobs",
        close=True,
    )


async def create_job(request: web.Request) -> web.Response:
    """``POST jobs/ingest``: JSON create (Open) or multipart create (UploadComplete)."""
    state = state_of(request)
    version = request.match_info["version"]
    require_media_type(request, "application/json", "multipart/form-data")
    if request.content_type == "multipart/form-data":
        return await _create_multipart(request, state, version)
    raw = await read_body(request, idle=state.config.body_timeout)
    job = new_job(state, parse_create_body(raw), version)
    await state.jobs.create(job)
    return web.json_response(job.create_info())


async def _create_multipart(request: web.Request, state: EmulatorState, version: str) -> web.Response:
    boundary = multipart_boundary(request.headers.get("Content-Type", ""))
    chunks = body_chunks(
        request, _MULTIPART_MAX_BYTES, idle=state.config.body_timeout, refuse=_multipart_too_large
    )
    parts = multipart_parts(b"".join([chunk async for chunk in chunks]), boundary)
    job_body, content = parts.get("job"), parts.get("content")
    if job_body is None or content is None:
        missing = "job" if job_body is None else "content"
        # Undocumented; the docs only say the two parts are named "job" and "content".
        raise ApiError(400, "INVALIDJOB", f"InvalidJob : Missing '{missing}' part in the multipart request")
    characters = len(content.decode("utf-8", "replace"))
    if characters > MULTIPART_MAX_CHARS:
        raise _multipart_too_large(characters)
    job = new_job(state, parse_create_body(job_body), version)
    await state.jobs.create(job, data=content)
    return web.json_response(job.create_info(multipart=True))


async def upload(request: web.Request) -> web.Response:
    """``PUT jobs/ingest/{id}/batches``: 201 with an empty body.

    Refused before its body is read (wrong Content-Type, a second upload, too large by its
    Content-Length); otherwise streamed to the job's file, never held in memory whole.
    """
    state = state_of(request)
    job = state.jobs.get(request.match_info["job_id"])
    require_media_type(request, "text/csv")
    if request.content_length is not None and request.content_length > UPLOAD_MAX_BYTES:
        raise _upload_too_large()
    async with state.jobs.receive_upload(job) as sink:
        chunks = body_chunks(
            request, UPLOAD_MAX_BYTES, idle=state.config.body_timeout, refuse=_upload_too_large
        )
        async for chunk in chunks:
            sink.write(chunk)
    return web.Response(status=201)


async def set_state(request: web.Request) -> web.Response:
    """``PATCH jobs/ingest/{id}``: close (UploadComplete) or abort."""
    state = state_of(request)
    job = state.jobs.get(request.match_info["job_id"])
    raw = await read_body(request, idle=state.config.body_timeout)
    target = parse_json_object(raw, strings=("state",)).get("state")
    kind = {"UploadComplete": "close", "Aborted": "abort"}.get(str(target), "other")
    state.by_kind[kind] += 1
    if target == JobState.UPLOAD_COMPLETE:
        await state.jobs.close_job(job)
    elif target == JobState.ABORTED:
        await state.jobs.abort(job)
    elif target in tuple(JobState):
        raise ApiError(400, "INVALIDJOBSTATE", f"Changing the state of a Job to {target} not allowed")
    else:
        raise _invalid_value("state", _or_empty(target))
    return web.json_response(job.patch_info())


async def job_info(request: web.Request) -> web.Response:
    """``GET jobs/ingest/{id}`` (another tenant's V2 job too)."""
    state = state_of(request)
    job_id = request.match_info["job_id"]
    foreign = state.jobs.foreign_info(job_id)
    if foreign is not None:
        return web.json_response(foreign)
    return web.json_response(state.jobs.get(job_id).full_info())


async def delete_job(request: web.Request) -> web.Response:
    """``DELETE jobs/ingest/{id}``: 204."""
    state = state_of(request)
    await state.jobs.delete(state.jobs.get(request.match_info["job_id"]))
    return web.Response(status=204)


async def list_jobs(request: web.Request) -> web.Response:
    """``GET jobs/ingest``: 1,000 jobs a page, ``nextRecordsUrl`` with an opaque queryLocator.

    Every job of the org, ours and other tenants' (Bulk API 1.0 ``Classic`` ones too), in no set
    order ("Get All Jobs", https://developer.salesforce.com/docs/platform/api-asynch/guide/get-all-jobs.html).
    """
    state = state_of(request)
    query = request.query
    records = state.jobs.listing()
    if query.get("isPkChunkingEnabled", "").lower() == "true":
        records = []  # ingest jobs are never PK-chunked (a Bulk 1.0 query concept)
    job_type = query.get("jobType")
    if job_type:
        records = [r for r in records if r.get("jobType") == job_type]
    mode = query.get("concurrencyMode")
    if mode:
        records = [r for r in records if str(r.get("concurrencyMode", "")).lower() == mode.lower()]
    start = 0
    locator = query.get("queryLocator")
    if locator:
        # Locators look like Salesforce's "01gR0000000opRTIAY-2000": an id plus the next offset.
        _, _, offset = locator.rpartition("-")
        if not (offset.isascii() and offset.isdigit() and len(offset) < 10):
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        start = int(offset)
    page = records[start : start + LIST_PAGE_SIZE]
    done = start + LIST_PAGE_SIZE >= len(records)
    next_url = None
    if not done:
        params = f"queryLocator=01gEM00000LOCATRAAA-{start + LIST_PAGE_SIZE}"
        for name in ("isPkChunkingEnabled", "jobType", "concurrencyMode"):
            if name in query:
                params += f"&{name}={query[name]}"
        next_url = f"/services/data/v{request.match_info['version']}/jobs/ingest?{params}"
    return web.json_response({"done": done, "records": page, "nextRecordsUrl": next_url})


async def results(request: web.Request) -> web.StreamResponse:
    """``GET .../successfulResults/``, ``failedResults/``, ``unprocessedrecords/``: streamed CSV.

    Before the job is terminal we answer 400 INVALIDJOBSTATE (Salesforce documents no answer for
    that): handing out partial results would let a client take an incomplete file for the final
    one. Terminal jobs whose last in-flight batches are still settling (abort) are waited for.
    Gzip-compressed when the request accepts it, as Salesforce does for result files.
    """
    state = state_of(request)
    job = state.jobs.get(request.match_info["job_id"])
    kind = RESULT_PATHS[request.match_info["kind"]]
    if not job.state.terminal:
        raise ApiError(
            400,
            "INVALIDJOBSTATE",
            f"Results are not available for a Job in state {job.state}; wait until it ends",
        )
    await state.jobs.wait_idle(job)
    # Salesforce's exact header; aiohttp's charset property would lower-case it.
    response = web.StreamResponse(status=200, headers={"Content-Type": "text/csv; charset=UTF-8"})
    chunks: Iterator[bytes] = state.jobs.read_results(job, kind)
    if accepts_gzip(request):
        # Compressed here, in the thread that reads the rows, not on the event loop.
        response.headers["Content-Encoding"] = "gzip"
        chunks = _gzipped(chunks)
    await response.prepare(request)
    while True:
        chunk = await asyncio.to_thread(next, chunks, None)
        if chunk is None:
            break
        await response.write(chunk)
    await response.write_eof()
    return response


def _gzipped(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """``chunks`` as one gzip stream (level 1: result files are large, and fast matters more)."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    for chunk in chunks:
        if out := compressor.compress(chunk):
            yield out
    yield compressor.flush()
