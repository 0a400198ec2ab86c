"""What Salesforce's front door does before a handler runs, and how every error is answered.

Everything under ``/services/data`` goes through :func:`salesforce_front_door`, in this order:
injected faults, the API version check, the bearer token, the org's daily API request count. Paths
are read with repeated leading slashes merged (:mod:`._paths`). Errors under ``/services/``, an
unknown path included, are always Salesforce's JSON array ``[{"errorCode": ..., "message": ...}]``
("Status Codes and Error Responses",
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable

from aiohttp import web

from .._faults import RequestFault
from .._ingest import ApiError
from .._vocab import API_VERSIONS, REST_VERSIONS, RETIRED_BELOW, JobState
from ._oauth import bearer_token, invalid_session_response
from ._paths import api_path
from ._state import STAT_KINDS, state_of

__all__ = ["add_limit_header", "error_response", "salesforce_front_door"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_VERSIONED = re.compile(r"^/services/data/v(\d+)\.(\d+)(/|$)")
_LIMIT_EXCEEDED = ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")


def error_response(status: int, code: str, message: str) -> web.Response:
    """Salesforce's error body: a JSON array with one entry."""
    return web.json_response([{"errorCode": code, "message": message}], status=status)


def _route_kind(request: web.Request) -> str:
    name = request.match_info.route.name or ""
    if name == "create":
        return "multipart" if request.content_type.startswith("multipart/") else "create"
    return name if name in STAT_KINDS else "other"


async def _patch_kind(request: web.Request) -> str:
    try:
        body = json.loads(await request.read())
    except ValueError:
        return "other"
    target = body.get("state") if isinstance(body, dict) else None
    if target == JobState.UPLOAD_COMPLETE:
        return "close"
    return "abort" if target == JobState.ABORTED else "other"


def _drop(request: web.Request) -> web.Response:
    # Close the connection without a reply: the client sees a reset / server disconnect.
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=500)


@web.middleware
async def salesforce_front_door(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Faults, version, auth, API usage for ``/services/data``; JSON 404/405 for unknown routes."""
    path = api_path(request)
    if not path.startswith("/services/data"):
        # OAuth and other resources: no faults, version or token here, but JSON errors.
        return await (_json_errors(request, handler) if path.startswith("/services/") else handler(request))
    state = state_of(request)
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
        # The REST API's generic server error.
        return error_response(
            500,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if "
            "you contact support: 1234567890-12345 (-1234567890)",
        )
    if fault is RequestFault.ERROR_503:
        return error_response(
            503, "SERVER_UNAVAILABLE", "Server is temporarily unavailable. Please try again later."
        )
    if fault is RequestFault.LIMIT_EXCEEDED:
        return error_response(403, *_LIMIT_EXCEEDED)

    match = _VERSIONED.match(path)
    if match is None:
        # /services/data itself (the versions list) needs no auth and is not counted.
        return await _json_errors(request, handler)
    major = int(match.group(1))
    version = f"{major}.{match.group(2)}"
    # A retired version answers 410 (pipedream issue #3134 "Notice the 410 error"); one that does not
    # exist (or has no such resource) 404 NOT_FOUND (Salesforce-Inspector-reloaded issue #744,
    # restforce issue #160).
    if major < RETIRED_BELOW:
        return error_response(410, "GONE", "The requested version has been retired")
    if version not in REST_VERSIONS or (
        version not in API_VERSIONS and path.startswith(f"/services/data/v{version}/jobs")
    ):
        # The Bulk API 2.0 jobs resources do not exist before v41.0.
        return error_response(404, "NOT_FOUND", "The requested resource does not exist")

    token = bearer_token(request)
    if token is None or not state.tokens.check(token):
        return invalid_session_response()

    state.api_usage += 1
    if state.api_usage > state.config.api_request_limit:
        return error_response(403, *_LIMIT_EXCEEDED)

    response = await _json_errors(request, handler)
    if fault is RequestFault.DROP_AFTER:
        # The work is done (job created, data stored...) but the client never hears about it.
        return _drop(request)
    return response


async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.error_code, exc.message)
    except web.HTTPMethodNotAllowed as exc:
        # The Bulk exception text for a wrong method ("MethodNotAllowed" in the Bulk API 2.0 errors,
        # https://developer.salesforce.com/docs/atlas.ja-jp.244.0.api_asynch.meta/api_asynch/bulk_api_2_0_errors.htm).
        allowed = ",".join(sorted(exc.allowed_methods))
        return error_response(
            405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed. Allowed are {allowed}"
        )
    except web.HTTPNotFound:
        return error_response(404, "NOT_FOUND", "The requested resource does not exist")
    except web.HTTPException:
        raise
    except Exception:
        # An emulator bug still answers in Salesforce's shape (and is logged by aiohttp's logger).
        request.app.logger.exception("error handling %s %s", request.method, request.path)
        return error_response(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred.")


async def add_limit_header(request: web.Request, response: web.StreamResponse) -> None:
    """``Sforce-Limit-Info: api-usage=N/M`` on every response under ``/services/data/vXX.X``.

    "Limit Info Header",
    https://developer.salesforce.com/docs/atlas.en-us.api_tooling.meta/api_tooling/headers_api_usage.htm.
    Streamed result downloads carry it too, hence a prepare hook rather than the middleware.
    """
    if _VERSIONED.match(api_path(request)):
        state = state_of(request)
        response.headers["Sforce-Limit-Info"] = (
            f"api-usage={state.api_usage}/{state.config.api_request_limit}"
        )
