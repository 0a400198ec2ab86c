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
import json
import time
from collections.abc import Iterator
from typing import Any, TypeVar

from aiohttp import BodyPartReader, web

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
from ._state import EmulatorState, state_of

__all__ = [
    "RESULT_PATHS",
    "create_job",
    "delete_job",
    "job_info",
    "list_jobs",
    "new_job",
    "parse_job_body",
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
    except ValueError:
        raise _invalid_value(prop, value) from None


def parse_job_body(raw: bytes) -> dict[str, Any]:
    """A JSON object body, or 400 ``JSON_PARSER_ERROR`` naming line and column as Salesforce does."""
    try:
        body = json.loads(raw)
    except ValueError as exc:
        detail = (
            f"{exc.msg} at [line:{exc.lineno}, column:{exc.colno}]"
            if isinstance(exc, json.JSONDecodeError)
            else str(exc)
        )
        raise ApiError(400, "JSON_PARSER_ERROR", detail) from None
    if not isinstance(body, dict):
        raise ApiError(
            400, "JSON_PARSER_ERROR", "Cannot deserialize instance of JobInfo from a non-object JSON value"
        )
    return body


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
        if not external_id:
            # Salesforce's text for an upsert job without an external id field (Bulk API jobs).
            raise ApiError(
                400,
                "INVALIDJOB",
                f"InvalidJob : External ID was blank for {obj.name}. "
                "An External ID must be specified for upsert.",
            )
        key = obj.field(str(external_id))
        if str(external_id).lower() != "id" and (key is None or not key.indexed):
            # Real text: "InvalidJob : Field name provided, website does not match an External ID,
            # Salesforce Id, or indexed field for Account" (StackOverflow q59282347).
            raise ApiError(
                400,
                "INVALIDJOB",
                f"InvalidJob : Field name provided, {external_id} does not match an External ID, "
                f"Salesforce Id, or indexed field for {obj.name}",
            )
    else:
        external_id = None
    rule = body.get("assignmentRuleId")
    return Job(
        id=state.new_job_id(),
        operation=operation,
        object=obj.name,
        api_version=version,
        created=time.time(),
        external_id_field=str(external_id) if external_id else None,
        line_ending=line_ending,
        column_delimiter=delimiter,
        assignment_rule_id=str(rule) if rule else None,
        created_by=state.user_id,
    )


async def _read_capped(request: web.Request, limit: int) -> bytes | None:
    """Read the body, or ``None`` once it passes ``limit`` bytes (without buffering the excess)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(1 << 20):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def create_job(request: web.Request) -> web.Response:
    """``POST jobs/ingest``: JSON create (Open) or multipart create (UploadComplete)."""
    state = state_of(request)
    version = request.match_info["version"]
    if request.content_type.startswith("multipart/"):
        return await _create_multipart(request, state, version)
    job = new_job(state, parse_job_body(await request.read()), version)
    await state.jobs.create(job)
    return web.json_response(job.create_info())


async def _create_multipart(request: web.Request, state: EmulatorState, version: str) -> web.Response:
    reader = await request.multipart()
    job_body: bytes | None = None
    content: bytes | None = None
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "job":
            job_body = await part.read()
        elif part.name == "content":
            content = await part.read()
        else:
            await part.release()
    if job_body is None or content is None:
        missing = "job" if job_body is None else "content"
        # Undocumented; the docs only say the two parts are named "job" and "content".
        raise ApiError(400, "INVALIDJOB", f"InvalidJob : Missing '{missing}' part in the multipart request")
    try:
        characters = len(content.decode("utf-8"))
    except UnicodeDecodeError:
        characters = len(content)
    if characters > MULTIPART_MAX_CHARS:
        # The docs give the 100,000-character limit but not the refusal; we answer 400 before creating
        # anything so a client can fall back to PUT.
        raise ApiError(
            400,
            "BULK_API_ERROR",
            f"Exceeded max size limit of {MULTIPART_MAX_CHARS} characters for multipart job data "
            f"({characters}); upload larger data with a separate PUT request",
        )
    job = new_job(state, parse_job_body(job_body), version)
    await state.jobs.create(job, data=content)
    return web.json_response(job.create_info(multipart=True))


async def upload(request: web.Request) -> web.Response:
    """``PUT jobs/ingest/{id}/batches``: 201 with an empty body."""
    state = state_of(request)
    job = state.jobs.get(request.match_info["job_id"])
    data = await _read_capped(request, UPLOAD_MAX_BYTES)
    if data is None:
        # Undocumented answer; errorCode as for the other upload refusal (BULK_API_ERROR).
        raise ApiError(
            400,
            "BULK_API_ERROR",
            "Exceeded max size limit of 150 MB (base64-encoded) for job data; "
            "split the data into several jobs",
        )
    await state.jobs.upload(job, data)
    return web.Response(status=201)


async def set_state(request: web.Request) -> web.Response:
    """``PATCH jobs/ingest/{id}``: close (UploadComplete) or abort."""
    state = state_of(request)
    job = state.jobs.get(request.match_info["job_id"])
    target = parse_job_body(await request.read()).get("state")
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
    """``GET jobs/ingest/{id}``."""
    return web.json_response(state_of(request).jobs.get(request.match_info["job_id"]).full_info())


async def delete_job(request: web.Request) -> web.Response:
    """``DELETE jobs/ingest/{id}``: 204."""
    state = state_of(request)
    await state.jobs.delete(state.jobs.get(request.match_info["job_id"]))
    return web.Response(status=204)


async def list_jobs(request: web.Request) -> web.Response:
    """``GET jobs/ingest``: 1,000 jobs a page, ``nextRecordsUrl`` with an opaque queryLocator."""
    state = state_of(request)
    query = request.query
    jobs = state.jobs.list_jobs()
    if query.get("isPkChunkingEnabled", "").lower() == "true":
        jobs = []  # ingest jobs are never PK-chunked (a Bulk 1.0 query concept)
    job_type = query.get("jobType")
    if job_type and job_type != "V2Ingest":
        jobs = []
    mode = query.get("concurrencyMode")
    if mode and mode.lower() != "parallel":
        jobs = []
    start = 0
    locator = query.get("queryLocator")
    if locator:
        # Locators look like Salesforce's "01gR0000000opRTIAY-2000": an id plus the next offset.
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
        next_url = f"/services/data/v{request.match_info['version']}/jobs/ingest?{params}"
    return web.json_response(
        {"done": done, "records": [job.list_info() for job in page], "nextRecordsUrl": next_url}
    )


async def results(request: web.Request) -> web.StreamResponse:
    """``GET .../successfulResults/``, ``failedResults/``, ``unprocessedrecords/``: streamed CSV.

    Before the job is terminal we answer 400 INVALIDJOBSTATE (Salesforce documents no answer for
    that): handing out partial results would let a client take an incomplete file for the final
    one. Terminal jobs whose last in-flight batches are still settling (abort) are waited for.
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
    await response.prepare(request)
    chunks: Iterator[bytes] = state.jobs.read_results(job, kind)
    while True:
        chunk = await asyncio.to_thread(next, chunks, None)
        if chunk is None:
            break
        await response.write(chunk)
    await response.write_eof()
    return response
