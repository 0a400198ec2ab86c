"""The emulator's aiohttp application: Salesforce's REST surface for Bulk API 2.0 ingest.

Everything under ``/services/data/vXX.X/`` goes through one middleware that does what Salesforce's
front door does, in this order: injected faults, API version check, bearer-token check, the org's
daily API request count (``Sforce-Limit-Info``). Handlers then validate the request and call the
:class:`~._jobs.JobManager`. Errors are always Salesforce's JSON array ``[{"errorCode","message"}]``.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from aiohttp import BodyPartReader, web

from ._config import EmulatorConfig, FaultConfig
from ._data import Org, QueryError
from ._faults import FaultInjector, RequestFault
from ._ingest import ApiError as JobError
from ._ingest import Job, JobManager
from ._tokens import TokenRegistry, bearer_token, invalid_session_response, oauth_routes
from ._vocab import ColumnDelimiter, LineEnding, Operation, ResultKind

__all__ = ["API_VERSIONS", "STATE_KEY", "EmulatorState", "build_app"]

API_VERSIONS = [f"{v}.0" for v in range(41, 67)]
LATEST_VERSION = API_VERSIONS[-1]
# Bulk API 2.0 ingest exists from v41.0; Salesforce retired API versions 7.0-30.0 (410 Gone for a retired
# version: pipedream issue #3134 "Notice the 410 error", bulk-api-2.md §7/§10). A version that does not
# exist (or has no such resource) answers 404 NOT_FOUND "The requested resource does not exist"
# (Salesforce-Inspector-reloaded issue #744, restforce issue #160).
RETIRED_BELOW = 31

OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
MULTIPART_MAX_CHARS = 100_000
# 150 MB of base64 per job is 112,500,000 raw bytes [bulk-api-2.md §6].
UPLOAD_MAX_BYTES = 150_000_000 * 3 // 4
LIST_PAGE_SIZE = 1000
RESULT_KINDS = {
    "successfulResults": "success",
    "failedResults": "failed",
    "unprocessedrecords": "unprocessed",
    # simple-salesforce requests this spelling [bulk-api-2.md §1].
    "unprocessedRecords": "unprocessed",
}
STAT_KINDS = (
    "create",
    "multipart",
    "upload",
    "close",
    "abort",
    "job_info",
    "job_list",
    "results",
    "delete",
    "query",
    "other",
)


class EmulatorState:
    """Everything the handlers share: config, store, jobs, tokens, faults, counters."""

    def __init__(self, config: EmulatorConfig, store: Org, *, instance_url: Callable[[], str]) -> None:
        self.config = config
        self.store = store
        self.faults = FaultInjector(config.faults)
        self.jobs = JobManager(store, config, self.faults)
        self.tokens = TokenRegistry(lifetime=config.token_lifetime)
        self.instance_url = instance_url
        self.api_usage = 0
        self.requests = 0
        self.by_kind = dict.fromkeys(STAT_KINDS, 0)
        # The token printed at start: the configured one or a fresh one; both expire like any other.
        if config.access_token is not None:
            self.tokens.add(config.access_token, config.oauth.username)
            self.access_token = config.access_token
        else:
            self.access_token = self.tokens.issue(config.oauth.username)

    def expire_tokens(self) -> None:
        """Invalidate every token handed out so far (the printed one too)."""
        self.tokens.expire_all()

    def set_faults(self, faults: FaultConfig) -> None:
        """Switch fault injection at runtime."""
        self.faults.set(faults)

    def stats(self) -> dict[str, Any]:
        """Counters for tests (``GET /__emulator/stats``)."""
        return {
            "requests": self.requests,
            "requests_by_kind": dict(self.by_kind),
            **self.jobs.allocations.counters(),
            "api_usage": self.api_usage,
            "api_limit": self.config.api_request_limit,
            "faults_injected": dict(self.faults.injected),
            "tokens_issued": self.tokens.issued,
            "jobs": {
                state: sum(1 for j in self.jobs.list_jobs() if j.state == state)
                for state in ("Open", "UploadComplete", "InProgress", "JobComplete", "Failed", "Aborted")
            },
        }

    def new_job_id(self) -> str:
        """A fresh 18-character job id (key prefix 750)."""
        # The store's id counter is shared by records and jobs and survives a restart with --db.
        return self.store.ids.next_id("750")


STATE_KEY = web.AppKey("emulator_state", EmulatorState)


def error(status: int, code: str, message: str) -> web.Response:
    """Salesforce's error body: a JSON array with one entry [bulk-api-2.md §7]."""
    return web.json_response([{"errorCode": code, "message": message}], status=status)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


# ----- middleware -----------------------------------------------------------------------------------
_VERSIONED = re.compile(r"^/services/data/v(\d+)\.(\d+)(/|$)")


def _route_kind(request: web.Request) -> str:
    route = request.match_info.route
    name = route.name or ""
    if name == "create":
        return "multipart" if request.content_type.startswith("multipart/") else "create"
    return name if name in STAT_KINDS else "other"


async def _patch_kind(request: web.Request) -> str:
    try:
        body = json.loads(await request.read())
    except ValueError:
        return "other"
    target = body.get("state") if isinstance(body, dict) else None
    return {"UploadComplete": "close", "Aborted": "abort"}.get(str(target), "other")


def _drop(request: web.Request) -> web.Response:
    # Close the connection without a reply: the client sees a reset / server disconnect.
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=500)


@web.middleware
async def salesforce_front_door(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Faults, version, auth, API usage for ``/services/data``; JSON 404/405 for unknown routes."""
    path = request.path
    if not path.startswith("/services/data"):
        return await handler(request)
    state = request.app[STATE_KEY]
    state.requests += 1
    kind = _route_kind(request)
    if request.match_info.route.name == "state":
        kind = await _patch_kind(request)
    state.by_kind[kind] += 1

    fault = state.faults.request_fault()
    delay = state.faults.slow()
    if delay:
        await asyncio.sleep(delay)
    if fault is RequestFault.DROP_BEFORE:
        return _drop(request)
    if fault is RequestFault.ERROR_500:
        # REST API's generic server error code [bulk-api-2.md §7, RESTERR].
        return error(
            500,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if "
            "you contact support: 1234567890-12345 (-1234567890)",
        )
    if fault is RequestFault.ERROR_503:
        return error(503, "SERVER_UNAVAILABLE", "Server is temporarily unavailable. Please try again later.")
    if fault is RequestFault.LIMIT_EXCEEDED:
        return error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")

    match = _VERSIONED.match(path)
    if match is None:
        # /services/data itself (the versions list) needs no auth and is not counted.
        return await _json_errors(request, handler)
    major = int(match.group(1))
    version = f"{major}.{match.group(2)}"
    if major < RETIRED_BELOW:
        return error(410, "GONE", "The requested version has been retired")
    if version not in API_VERSIONS:
        return error(404, "NOT_FOUND", "The requested resource does not exist")

    token = bearer_token(request)
    if token is None or not state.tokens.check(token):
        # Real body from a recorded 401 [bulk-api-2.md §7].
        return invalid_session_response()

    state.api_usage += 1
    if state.api_usage > state.config.api_request_limit:
        return error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")

    response = await _json_errors(request, handler)
    if fault is RequestFault.DROP_AFTER:
        # The work is done (job created, data stored...) but the client never hears about it.
        return _drop(request)
    return response


async def _json_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except JobError as exc:
        return error(exc.status, exc.error_code, exc.message)
    except web.HTTPMethodNotAllowed as exc:
        # Bulk exception text for a wrong method [bulk-api-2.md §7, BG Errors "MethodNotAllowed"].
        allowed = ",".join(sorted(exc.allowed_methods))
        return error(
            405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed. Allowed are {allowed}"
        )
    except web.HTTPNotFound:
        return error(404, "NOT_FOUND", "The requested resource does not exist")
    except web.HTTPException:
        raise
    except Exception:
        # An emulator bug still answers in Salesforce's shape (and is logged by aiohttp's logger).
        request.app.logger.exception("error handling %s %s", request.method, request.path)
        return error(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred.")


async def _add_limit_header(request: web.Request, response: web.StreamResponse) -> None:
    # Every response under /services/data/vXX.X carries the org's API usage [bulk-api-2.md §6 LIMHDR],
    # streamed result downloads included (hence a prepare hook rather than the middleware).
    if _VERSIONED.match(request.path) and STATE_KEY in request.app:
        state = request.app[STATE_KEY]
        response.headers["Sforce-Limit-Info"] = (
            f"api-usage={state.api_usage}/{state.config.api_request_limit}"
        )


# ----- handlers ---------------------------------------------------------------------------------------
def _state(request: web.Request) -> EmulatorState:
    return request.app[STATE_KEY]


def _season(version: str) -> str:
    # v66.0 is Spring '26; each earlier version steps back one release (Spring, Winter, Summer...).
    back = 66 - int(float(version))
    season = ("Spring", "Winter", "Summer")[back % 3]
    year = 26 - back // 3 - (1 if back % 3 == 2 else 0)
    return f"{season} '{year:02d}"


async def versions(request: web.Request) -> web.Response:
    """``GET /services/data/``: the supported versions (no auth, no usage header)."""
    return _json([{"label": _season(v), "url": f"/services/data/v{v}", "version": v} for v in API_VERSIONS])


def _api_error_value(prop: str, value: Any) -> JobError:
    # Real text for a bad enum value in the create body (errorCode API_ERROR, v47 capture in a public
    # Bulk API 2.0 upsert walkthrough: "Invalid value: '' supplied for property: 'operation'").
    return JobError(400, "API_ERROR", f"Invalid value: '{value}' supplied for property: '{prop}'")


def _parse_job_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError as exc:
        # Salesforce's REST JSON errors name line and column [REST API JSON_PARSER_ERROR].
        detail = (
            f"{exc.msg} at [line:{exc.lineno}, column:{exc.colno}]"
            if isinstance(exc, json.JSONDecodeError)
            else str(exc)
        )
        raise JobError(400, "JSON_PARSER_ERROR", detail) from None
    if not isinstance(body, dict):
        raise JobError(
            400, "JSON_PARSER_ERROR", "Cannot deserialize instance of JobInfo from a non-object JSON value"
        )
    return body


def _new_job(state: EmulatorState, body: dict[str, Any], version: str) -> Job:
    """Validate a create body the way Salesforce does and build the (not yet registered) job."""
    operation = body.get("operation")
    # Operation names are case-sensitive ("insert", not "INSERT") [bulk-api-2.md §2].
    if operation not in OPERATIONS:
        raise _api_error_value("operation", operation if operation is not None else "")
    content_type = body.get("contentType", "CSV")
    if content_type != "CSV":
        raise _api_error_value("contentType", content_type)
    delimiter = body.get("columnDelimiter", "COMMA")
    if delimiter not in ColumnDelimiter.__members__:
        raise _api_error_value("columnDelimiter", delimiter)
    line_ending = body.get("lineEnding", "LF")
    if line_ending not in LineEnding.__members__:
        raise _api_error_value("lineEnding", line_ending)
    object_name = body.get("object")
    obj = state.store.schema.get(object_name) if isinstance(object_name, str) and object_name else None
    if obj is None:
        # Real: [{"errorCode":"INVALIDJOB","message":"InvalidJob : Unable to find object: blah"}]
        # (public upsert walkthrough capture; the same text is stubbed in several Bulk API clients' tests).
        raise JobError(400, "INVALIDJOB", f"InvalidJob : Unable to find object: {object_name or ''}")
    canonical = obj.name
    external_id = body.get("externalIdFieldName")
    if operation == "upsert":
        if not external_id:
            # Salesforce's text for an upsert job without an external id field (Bulk API jobs).
            raise JobError(
                400,
                "INVALIDJOB",
                f"InvalidJob : External ID was blank for {canonical}. "
                "An External ID must be specified for upsert.",
            )
        key = obj.field(str(external_id))
        if str(external_id).lower() != "id" and (key is None or not key.indexed):
            # Real text: "InvalidJob : Field name provided, website does not match an External ID,
            # Salesforce Id, or indexed field for Account" (StackOverflow q59282347).
            raise JobError(
                400,
                "INVALIDJOB",
                f"InvalidJob : Field name provided, {external_id} does not match an External ID, "
                f"Salesforce Id, or indexed field for {canonical}",
            )
    else:
        external_id = None
    rule = body.get("assignmentRuleId")
    return Job(
        id=state.new_job_id(),
        operation=Operation(operation),
        object=canonical,
        api_version=version,
        created=time.time(),
        external_id_field=str(external_id) if external_id else None,
        line_ending=LineEnding(line_ending),
        column_delimiter=ColumnDelimiter(delimiter),
        assignment_rule_id=str(rule) if rule else None,
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


def _too_big() -> JobError:
    # Undocumented answer; errorCode as for the other upload refusal (BULK_API_ERROR).
    return JobError(
        400,
        "BULK_API_ERROR",
        "Exceeded max size limit of 150 MB (base64-encoded) for job data; split the data into several jobs",
    )


async def create_job(request: web.Request) -> web.Response:
    """``POST jobs/ingest``: JSON create (Open) or multipart create (UploadComplete)."""
    state = _state(request)
    version = request.match_info["version"]
    if request.content_type.startswith("multipart/"):
        return await _create_multipart(request, state, version)
    raw = await request.read()
    job = _new_job(state, _parse_job_body(raw), version)
    await state.jobs.create(job)
    return _json(job.create_info())


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
        raise JobError(400, "INVALIDJOB", f"InvalidJob : Missing '{missing}' part in the multipart request")
    try:
        characters = len(content.decode("utf-8"))
    except UnicodeDecodeError:
        characters = len(content)
    if characters > MULTIPART_MAX_CHARS:
        # The docs give the 100,000-character limit but not the refusal (bulk-api-2.md §6, open
        # question 1); we answer 400 before creating anything so a client can fall back to PUT.
        raise JobError(
            400,
            "BULK_API_ERROR",
            f"Exceeded max size limit of {MULTIPART_MAX_CHARS} characters for multipart job data "
            f"({characters}); upload larger data with a separate PUT request",
        )
    job = _new_job(state, _parse_job_body(job_body), version)
    await state.jobs.create(job, data=content)
    return _json(job.create_info(multipart=True))


async def upload(request: web.Request) -> web.Response:
    """``PUT jobs/ingest/{id}/batches``: 201 with an empty body [bulk-api-2.md §1]."""
    state = _state(request)
    job = state.jobs.get(request.match_info["job_id"])
    data = await _read_capped(request, UPLOAD_MAX_BYTES)
    if data is None:
        raise _too_big()
    await state.jobs.upload(job, data)
    return web.Response(status=201)


async def set_state(request: web.Request) -> web.Response:
    """``PATCH jobs/ingest/{id}``: close (UploadComplete) or abort."""
    state = _state(request)
    job = state.jobs.get(request.match_info["job_id"])
    body = _parse_job_body(await request.read())
    target = body.get("state")
    if target not in ("UploadComplete", "Aborted"):
        if target in ("Open", "InProgress", "JobComplete", "Failed"):
            raise JobError(400, "INVALIDJOBSTATE", f"Changing the state of a Job to {target} not allowed")
        raise _api_error_value("state", target if target is not None else "")
    if target == "UploadComplete":
        await state.jobs.close_job(job)
    else:
        await state.jobs.abort(job)
    return _json(job.patch_info())


async def job_info(request: web.Request) -> web.Response:
    """``GET jobs/ingest/{id}``."""
    return _json(_state(request).jobs.get(request.match_info["job_id"]).full_info())


async def delete_job(request: web.Request) -> web.Response:
    """``DELETE jobs/ingest/{id}``: 204 [bulk-api-2.md §1]."""
    state = _state(request)
    await state.jobs.delete(state.jobs.get(request.match_info["job_id"]))
    return web.Response(status=204)


async def list_jobs(request: web.Request) -> web.Response:
    """``GET jobs/ingest``: 1,000 jobs a page, ``nextRecordsUrl`` with an opaque queryLocator."""
    state = _state(request)
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
            raise JobError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
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
    return _json({"done": done, "records": [job.list_info() for job in page], "nextRecordsUrl": next_url})


async def results(request: web.Request) -> web.StreamResponse:
    """``GET .../successfulResults/``, ``failedResults/``, ``unprocessedrecords/``: streamed CSV.

    Before the job is terminal we answer 400 INVALIDJOBSTATE (undocumented, bulk-api-2.md open
    question 5): handing out partial results would let a client take an incomplete file for the
    final one. Terminal jobs whose last in-flight batches are still settling (abort) are waited for.
    """
    state = _state(request)
    job = state.jobs.get(request.match_info["job_id"])
    kind = ResultKind(RESULT_KINDS[request.match_info["kind"]])
    if not job.state.terminal:
        raise JobError(
            400,
            "INVALIDJOBSTATE",
            f"Results are not available for a Job in state {job.state}; wait until it ends",
        )
    await state.jobs.wait_idle(job)
    # Salesforce's exact header [bulk-api-2.md §1]; aiohttp's charset property would lower-case it.
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


async def limits(request: web.Request) -> web.Response:
    """``GET limits``: the allocations in Salesforce's ``{"Max","Remaining"}`` shape."""
    state = _state(request)
    cfg = state.config
    usage = state.jobs.allocations.counters()
    return _json(
        {
            "DailyApiRequests": {
                "Max": cfg.api_request_limit,
                "Remaining": cfg.api_request_limit - state.api_usage,
            },
            "DailyBulkApiBatches": {
                "Max": cfg.daily_batch_limit,
                "Remaining": cfg.daily_batch_limit - usage["batches_used"],
            },
            # Not a real key: Salesforce publishes no records allocation in /limits; ours is here for tests.
            "DailyBulkApiRecords": {
                "Max": cfg.daily_record_limit,
                "Remaining": cfg.daily_record_limit - usage["records_used"],
            },
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
        }
    )


async def describe(request: web.Request) -> web.Response:
    """``GET sobjects/{object}/describe``."""
    state = _state(request)
    info = await asyncio.to_thread(state.store.describe, request.match_info["object"])
    if info is None:
        raise JobError(404, "NOT_FOUND", "The requested resource does not exist")
    return _json(info)


async def query(request: web.Request) -> web.Response:
    """``GET query?q=SOQL``."""
    state = _state(request)
    soql = request.query.get("q")
    if not soql:
        raise JobError(400, "MALFORMED_QUERY", "A query string has to be specified")
    try:
        return _json(await asyncio.to_thread(state.store.query, soql))
    except QueryError as exc:
        return error(400, exc.error_code, exc.message)


async def emulator_stats(request: web.Request) -> web.Response:
    """``GET /__emulator/stats`` (test-only: no auth, not counted)."""
    return _json(_state(request).stats())


async def emulator_expire_tokens(request: web.Request) -> web.Response:
    """``POST /__emulator/expire-tokens`` (test-only): every token stops working."""
    _state(request).expire_tokens()
    return _json({"expired": True})


async def emulator_faults(request: web.Request) -> web.Response:
    """``POST /__emulator/faults`` (test-only): replace the fault rates, body = FaultConfig fields."""
    body = await request.json()
    try:
        _state(request).set_faults(FaultConfig(**body))
    except (TypeError, ValueError) as exc:
        return _json({"error": str(exc)}, status=400)
    return _json({"ok": True})


def build_app(state: EmulatorState) -> web.Application:
    """The aiohttp application over a prepared :class:`EmulatorState`."""
    # Uploads are read from the stream with their own cap; other bodies are small.
    app = web.Application(middlewares=[salesforce_front_door], client_max_size=UPLOAD_MAX_BYTES + 1)
    app[STATE_KEY] = state
    app.on_response_prepare.append(_add_limit_header)
    base = r"/services/data/v{version:\d+\.\d+}"
    jobs = base + "/jobs/ingest"
    job = jobs + "/{job_id:[0-9A-Za-z]+}"
    routes = [
        web.get("/services/data", versions, name="versions"),
        web.get("/services/data/", versions, name="versions_slash"),
        web.post(jobs + "{slash:/?}", create_job, name="create"),
        web.get(jobs + "{slash:/?}", list_jobs, name="job_list"),
        web.get(job + "{slash:/?}", job_info, name="job_info"),
        web.patch(job + "{slash:/?}", set_state, name="state"),
        web.delete(job + "{slash:/?}", delete_job, name="delete"),
        web.put(job + "/batches{slash:/?}", upload, name="upload"),
        web.get(job + "/{kind:" + "|".join(RESULT_KINDS) + "}{slash:/?}", results, name="results"),
        web.get(base + "/limits{slash:/?}", limits, name="limits"),
        web.get(base + "/sobjects/{object}/describe{slash:/?}", describe, name="describe"),
        web.get(base + "/query{slash:/?}", query, name="query"),
        web.get("/__emulator/stats", emulator_stats),
        web.post("/__emulator/expire-tokens", emulator_expire_tokens),
        web.post("/__emulator/faults", emulator_faults),
    ]
    app.add_routes(routes)
    app.add_routes(oauth_routes(state.tokens, state.config, instance_url=state.instance_url))

    async def start_jobs(app: web.Application) -> None:
        await state.jobs.start()

    async def stop_jobs(app: web.Application) -> None:
        await state.jobs.close()

    app.on_startup.append(start_jobs)
    app.on_cleanup.append(stop_jobs)
    return app
