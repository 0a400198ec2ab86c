"""``/__emulator/*``: test-only control routes (not counted, never faulted, behind a token).

Anyone who can reach them can break or log out the org, so they want ``Authorization: Bearer``
with the emulator's admin token (printed at start, never expires) or one of its valid access
tokens; else 401 as an API route answers.
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Awaitable, Callable

from aiohttp import web

from .._config import FaultConfig
from ._body import parse_json_object, read_body
from ._oauth import bearer_token, invalid_session_response
from ._state import EmulatorState, state_of

__all__ = ["emulator_routes"]

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _authorized(request: web.Request, state: EmulatorState) -> bool:
    token = bearer_token(request)
    if token is None:
        return False
    return hmac.compare_digest(token.encode(), state.admin_token.encode()) or state.tokens.check(token)


def _checked(handler: _Handler) -> _Handler:
    async def run(request: web.Request) -> web.StreamResponse:
        state = state_of(request)
        if not _authorized(request, state):
            return invalid_session_response()
        return await handler(request)

    run.__doc__ = handler.__doc__
    return run


async def _json_body(request: web.Request) -> dict[str, object] | web.Response:
    state = state_of(request)
    try:
        return parse_json_object(await read_body(request, idle=state.config.body_timeout))
    except Exception as exc:  # any unreadable body is the caller's mistake here
        return web.json_response({"error": str(exc)}, status=400)


async def stats(request: web.Request) -> web.StreamResponse:
    """``GET /__emulator/stats``: request, job and allocation counters."""
    return web.json_response(state_of(request).stats())


async def expire_tokens(request: web.Request) -> web.StreamResponse:
    """``POST /__emulator/expire-tokens``: every access token stops working (not the admin token)."""
    state_of(request).expire_tokens()
    return web.json_response({"expired": True})


async def set_faults(request: web.Request) -> web.StreamResponse:
    """``POST /__emulator/faults``: replace the fault rates, body = ``FaultConfig`` fields."""
    body = await _json_body(request)
    if isinstance(body, web.Response):
        return body
    try:
        state_of(request).set_faults(FaultConfig(**body))  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response({"ok": True})


async def clock(request: web.Request) -> web.StreamResponse:
    """``POST /__emulator/clock``: ``{"advance": seconds}`` moves the org's clock forward.

    Jobs age (Open jobs are aborted after 24 hours, jobs deleted after 7 days), queued jobs
    start, allocations roll over. ``GET`` tells the time. Answers ``{"now": ..., "offset": ...}``.
    """
    state = state_of(request)
    if request.method == "POST":
        body = await _json_body(request)
        if isinstance(body, web.Response):
            return body
        seconds = body.get("advance", 0)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds):
            return web.json_response({"error": "advance must be a number of seconds"}, status=400)
        try:
            state.advance_clock(float(seconds))
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
    return web.json_response({"now": state.clock.time(), "offset": state.clock.offset})


def emulator_routes() -> list[web.RouteDef]:
    """The test-only routes."""
    return [
        web.get("/__emulator/stats", _checked(stats)),
        web.post("/__emulator/expire-tokens", _checked(expire_tokens)),
        web.post("/__emulator/faults", _checked(set_faults)),
        web.post("/__emulator/clock", _checked(clock)),
        web.get("/__emulator/clock", _checked(clock)),
    ]
