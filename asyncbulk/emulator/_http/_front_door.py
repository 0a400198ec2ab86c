"""What Salesforce's front door does before a handler runs, and how every error is answered.

Everything under ``/services/data`` goes through :func:`salesforce_front_door`, in this order:
injected faults, the API version check, the bearer token, the org's daily API request count, and
only then the handler, which is the first to read a body. Errors anywhere under ``/services/`` are
always Salesforce's JSON array ``[{"errorCode": ..., "message": ...}]`` ("Status Codes and Error
Responses", https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm),
never a text page, an unknown path included; paths are read with repeated leading slashes
merged (:mod:`._paths`); a 500 is only ever an emulator bug. Responses are gzip-compressed when the
request says ``Accept-Encoding: gzip`` ("Compression Headers",
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_rest_compression.htm;
for ingest results, https://developer.salesforce.com/docs/platform/api-asynch/guide/datafiles-use-compression.html).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web

from .._faults import RequestFault
from .._ingest import ApiError
from .._vocab import API_VERSIONS, REST_VERSIONS, RETIRED_BELOW, UPLOAD_MAX_BYTES
from ._oauth import bearer_token, invalid_session_response
from ._paths import api_path
from ._state import STAT_KINDS, state_of

__all__ = [
    "accepts_gzip",
    "add_limit_header",
    "error_response",
    "negotiate_compression",
    "require_media_type",
    "salesforce_front_door",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_VERSIONED = re.compile(r"^/services/data/v(\d+)\.(\d+)(/|$)")
_LIMIT_EXCEEDED = ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")


def error_response(status: int, code: str, message: str, *, close: bool = False) -> web.Response:
    """Salesforce's error body: a JSON array with one entry (``close``: then close the connection)."""
    response = web.json_response([{"errorCode": code, "message": message}], status=status)
    if close:
        response.force_close()
    return response


def require_media_type(request: web.Request, *allowed: str) -> None:
    """415 ``UNSUPPORTED_MEDIA_TYPE`` unless the body's ``Content-Type`` is one of ``allowed``.

    Real answer: 415 ``UNSUPPORTED_MEDIA_TYPE`` "MediaType of 'multipart/related' is not supported
    by this resource" (kevinohara80/nforce issue #74). A body without a Content-Type is
    ``application/octet-stream``, as HTTP says a recipient may take it (RFC 9110, 8.3).
    """
    if request.content_type not in allowed:
        raise ApiError(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            f"MediaType of '{request.content_type}' is not supported by this resource",
        )


#: The request body codings the REST API decodes ("Compression Headers").
_BODY_CODINGS = frozenset({"gzip", "x-gzip", "deflate", "identity"})


def _body_refusal(request: web.Request) -> web.Response | None:
    """A body no resource takes, refused before any of it is read: too large for any of them
    (by its Content-Length), or in a Content-Encoding the REST API does not decode."""
    size = request.content_length
    if size is not None and size > UPLOAD_MAX_BYTES and request.match_info.route.name != "upload":
        # (an upload is refused by its own route, in the upload's words)
        return error_response(
            413,
            "REQUEST_ENTITY_TOO_LARGE",
            f"The request body exceeds the maximum size of {UPLOAD_MAX_BYTES} bytes",
        )
    coding = request.headers.get(hdrs.CONTENT_ENCODING, "").strip().lower()
    if coding and coding not in _BODY_CODINGS:
        return error_response(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            f"Content-Encoding '{coding[:40]}' is not supported by this resource",
        )
    return None


def accepts_gzip(request: web.Request) -> bool:
    """Whether the request's ``Accept-Encoding`` takes gzip."""
    for item in request.headers.get(hdrs.ACCEPT_ENCODING, "").split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() in ("gzip", "x-gzip", "*"):
            q = params.strip()
            return not (q.startswith("q=") and q[2:].strip() in ("0", "0.0", "0.00", "0.000"))
    return False


#: JSON answers shorter than this go uncompressed: gzip would make them longer, or hardly shorter,
#: and cost more time than they take to send (web servers have such a floor, e.g. nginx's
#: gzip_min_length). Result files are always compressed.
GZIP_MIN_BYTES = 1024


def negotiate_compression(request: web.Request, response: web.StreamResponse) -> None:
    """Gzip ``response`` (before it is prepared) if the request accepts it and it has a body."""
    if response.status in (204, 304) or hdrs.CONTENT_ENCODING in response.headers:
        return
    if isinstance(response, web.Response):
        body = response.body
        if not isinstance(body, bytes | bytearray) or len(body) < GZIP_MIN_BYTES:
            return
    if accepts_gzip(request):
        response.enable_compression(web.ContentCoding.gzip)


def _route_kind(request: web.Request) -> str:
    name = request.match_info.route.name or ""
    if name == "create":
        return "multipart" if request.content_type.startswith("multipart/") else "create"
    if name == "state":
        return "state"  # close or abort: the handler counts it once it has read the body
    return name if name in STAT_KINDS else "other"


def _drop(request: web.Request) -> web.Response:
    # Close the connection without a reply: the client sees a reset / server disconnect.
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=500)


@web.middleware
async def salesforce_front_door(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Faults, version, auth, API usage for ``/services/data``; JSON errors under ``/services/``."""
    path = api_path(request)
    if not path.startswith("/services/"):
        return await handler(request)
    if not path.startswith("/services/data"):
        return await _json_errors(request, handler)
    state = state_of(request)
    state.requests += 1
    kind = _route_kind(request)
    if kind != "state":
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

    state.count_api_request()
    if state.api_usage > state.config.api_request_limit:
        return error_response(403, *_LIMIT_EXCEEDED)
    refusal = _body_refusal(request)
    if refusal is not None:
        return await _answer_and_close(request, refusal)

    response = await _json_errors(request, handler)
    if fault is RequestFault.DROP_AFTER:
        # The work is done (job created, data stored...) but the client never hears about it.
        return _drop(request)
    return response


async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await _answer(request, handler)
    if not response.prepared:
        negotiate_compression(request, response)
    return response


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        if exc.close:
            return await _answer_and_close(request, error_response(exc.status, exc.error_code, exc.message))
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
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        # aiohttp's own refusals (a body over its cap...), in Salesforce's shape.
        return error_response(exc.status, "API_ERROR", exc.reason, close=True)
    except ConnectionError:
        # The client went away mid-request: nobody to answer (aiohttp would log a 500).
        return error_response(400, "API_ERROR", "The client closed the connection", close=True)
    except Exception:
        # An emulator bug still answers in Salesforce's shape (and is logged by aiohttp's logger).
        request.app.logger.exception("error handling %s %s", request.method, request.path)
        return error_response(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred.")


async def _answer_and_close(request: web.Request, response: web.Response) -> web.Response:
    """Send ``response``, then close the connection without reading the rest of the body.

    For a body refused unread (too large, too slow): aiohttp would otherwise go on reading it for
    its lingering time, and a client that hangs up meanwhile leaves that read waiting.
    """
    response.force_close()
    try:
        await response.prepare(request)
        await response.write_eof()
    except ConnectionError:
        pass  # the client is gone already
    request.protocol.force_close()
    return response


async def add_limit_header(request: web.Request, response: web.StreamResponse) -> None:
    """``Sforce-Limit-Info: api-usage=N/M`` on every response under ``/services/data/vXX.X``.

    "Limit Info Header",
    https://developer.salesforce.com/docs/atlas.en-us.api_tooling.meta/api_tooling/headers_api_usage.htm.
    Streamed result downloads carry it too, hence a prepare hook rather than the middleware.
    """
    if _VERSIONED.match(api_path(request)):
        state = state_of(request)
        # Lagging behind in the realistic profile: "recalculated asynchronously".
        used = state.limit_info.read(state.api_usage)
        response.headers["Sforce-Limit-Info"] = f"api-usage={used}/{state.config.api_request_limit}"
