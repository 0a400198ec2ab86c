"""The emulator's clock: wall-clock time plus an offset that a test can move forward.

Everything in the emulator that depends on the time of day goes through one :class:`Clock`: job
dates, the queue wait of the realistic profile, the rolling 24-hour allocations, the lag of the
limit counters, job and result lifetimes, token lifetimes. ``POST /__emulator/clock`` (or
``Emulator.advance_clock``) moves it forward, so that "24 hours later" takes no time in a test.
Pacing (``records_per_second``) is real time on purpose: it models how long work takes.
"""

from __future__ import annotations

import asyncio
import time

__all__ = ["Clock"]


class Clock:
    """Wall-clock time plus an offset; sleepers wake early when the clock is moved forward.

    :meth:`time` and :meth:`monotonic` may be read from any thread; :meth:`advance` and the
    sleeps belong to the emulator's event loop.
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._moved: asyncio.Event | None = None

    @property
    def offset(self) -> float:
        """Seconds the clock has been moved forward."""
        return self._offset

    def time(self) -> float:
        """Seconds since the epoch, as the emulated org sees it."""
        return time.time() + self._offset

    def monotonic(self) -> float:
        """A monotonic clock in seconds that moves forward with :meth:`advance` too."""
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward (never back) and wake everything waiting on it.

        :raises ValueError: for a negative or non-finite number of seconds.
        """
        if not 0 <= seconds < float("inf"):
            raise ValueError(f"the clock only moves forward, by a finite number of seconds: {seconds!r}")
        self._offset += seconds
        moved, self._moved = self._moved, None
        if moved is not None:
            moved.set()

    async def sleep_until(self, when: float) -> None:
        """Wait until :meth:`time` reaches ``when`` (sooner if the clock is moved past it)."""
        while (remaining := when - self.time()) > 0:
            if self._moved is None:
                self._moved = asyncio.Event()
            moved = self._moved
            try:
                async with asyncio.timeout(remaining):
                    await moved.wait()
            except TimeoutError:
                pass
