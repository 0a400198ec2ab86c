"""Connection timeouts a real front end has: slow headers and idle connections are closed.

aiohttp closes a keep-alive connection that stays idle after a response (``keepalive_timeout``,
the emulator's ``idle_timeout``), even one trickling the bytes of its next request, but a new
connection that never completes its first request's headers is held forever: 30 slow-header
connections and a bare request line without its blank line stayed open indefinitely in a hostile
test. :class:`ConnectionGuard` gives every new connection ``header_timeout`` seconds to get its
first request's headers in, else closes it. A body that stops arriving is the handlers' business
(``body_timeout``, see ``_body``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

__all__ = ["ConnectionGuard"]

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ConnectionGuard:
    """Closes connections whose first request's headers do not arrive in ``header_timeout`` seconds.

    :param header_timeout: seconds from accepting a connection to the end of its first headers.
    """

    def __init__(self, header_timeout: float) -> None:
        self.header_timeout = header_timeout
        self._timers: dict[web.RequestHandler, asyncio.TimerHandle] = {}

    def protocol_factory(self, server: web.Server) -> Callable[[], web.RequestHandler]:
        """The factory to give ``loop.create_server``: aiohttp's protocol, with a deadline."""
        loop = asyncio.get_running_loop()

        def make() -> web.RequestHandler:
            handler = server()
            self._timers[handler] = loop.call_later(self.header_timeout, self._expire, handler)
            return handler

        return make

    def _expire(self, handler: web.RequestHandler) -> None:
        if self._timers.pop(handler, None) is not None:
            handler.force_close()

    def cancel_all(self) -> None:
        """Stop every deadline (the server is shutting down)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    @web.middleware
    async def middleware(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        """The first middleware: a request's headers arrived, its connection's deadline is off."""
        timer = self._timers.pop(request.protocol, None)
        if timer is not None:
            timer.cancel()
        return await handler(request)
