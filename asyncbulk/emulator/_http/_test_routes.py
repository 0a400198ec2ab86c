"""``/__emulator/*``: test-only endpoints (no auth, not counted, never faulted)."""

from __future__ import annotations

from aiohttp import web

from .._config import FaultConfig
from ._state import state_of

__all__ = ["emulator_routes"]


async def stats(request: web.Request) -> web.Response:
    """``GET /__emulator/stats``: request, job and allocation counters."""
    return web.json_response(state_of(request).stats())


async def expire_tokens(request: web.Request) -> web.Response:
    """``POST /__emulator/expire-tokens``: every token stops working."""
    state_of(request).expire_tokens()
    return web.json_response({"expired": True})


async def set_faults(request: web.Request) -> web.Response:
    """``POST /__emulator/faults``: replace the fault rates, body = ``FaultConfig`` fields."""
    body = await request.json()
    try:
        state_of(request).set_faults(FaultConfig(**body))
    except (TypeError, ValueError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response({"ok": True})


def emulator_routes() -> list[web.RouteDef]:
    """The test-only routes."""
    return [
        web.get("/__emulator/stats", stats),
        web.post("/__emulator/expire-tokens", expire_tokens),
        web.post("/__emulator/faults", set_faults),
    ]
