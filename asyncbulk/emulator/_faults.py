"""Fault injection: which requests, jobs and records the emulator makes go wrong.

One seeded random generator drives every decision, so a test that sets ``FaultConfig(seed=...)`` sees
the same sequence of faults on every run (given the same sequence of requests).
"""

from __future__ import annotations

import collections
import enum
import random
import threading
from collections.abc import Callable

from ._config import FaultConfig

__all__ = ["PAGE_FAULTS", "FaultInjector", "RequestFault"]

#: The faults of a query results page, as named in ``FaultConfig`` and the injected counters.
PAGE_FAULTS = ("result_503", "result_cut", "result_token_expiry")


class RequestFault(enum.Enum):
    """What happens to one ``/services/data`` request."""

    NONE = "none"
    ERROR_500 = "error_500"
    ERROR_503 = "error_503"
    LIMIT_EXCEEDED = "limit_exceeded"
    DROP_BEFORE = "drop_before"
    DROP_AFTER = "drop_after"


class FaultInjector:
    """Draws faults from a :class:`FaultConfig` with a seeded generator; thread-safe.

    The lock matters because ``lock_fail`` callbacks run inside ``Org.apply`` on the CPU
    thread while request faults are drawn on the event loop.
    """

    def __init__(self, config: FaultConfig) -> None:
        self._lock = threading.Lock()
        self.config = config
        self._rng = random.Random(config.seed)
        #: Faults injected so far, by kind (request faults, "slow", "job_failed", "lock_failure", the
        #: PAGE_FAULTS).
        self.injected: collections.Counter[str] = collections.Counter()
        self._pages_seen: set[object] = set()

    def set(self, config: FaultConfig) -> None:
        """Switch to new fault rates (and reseed) at runtime; every results page may be hit again."""
        with self._lock:
            self.config = config
            self._rng = random.Random(config.seed)
            self._pages_seen.clear()

    def _hit(self, rate: float) -> bool:
        # Rate 0 draws nothing, so switching one fault on does not shift the others' sequences
        # in a run where it was off.
        if rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < rate

    def request_fault(self) -> RequestFault:
        """Pick the fault (if any) for one request; at most one per request."""
        cfg = self.config
        if not cfg.any_request_fault:
            return RequestFault.NONE
        for fault, rate in (
            (RequestFault.ERROR_500, cfg.error_500),
            (RequestFault.ERROR_503, cfg.error_503),
            (RequestFault.LIMIT_EXCEEDED, cfg.limit_exceeded),
            (RequestFault.DROP_BEFORE, cfg.drop_before),
            (RequestFault.DROP_AFTER, cfg.drop_after),
        ):
            if self._hit(rate):
                self.injected[fault.value] += 1
                return fault
        return RequestFault.NONE

    def slow(self) -> float:
        """Seconds to delay this request (0 for most)."""
        if self._hit(self.config.slow):
            self.injected["slow"] += 1
            return self.config.slow_seconds
        return 0.0

    def job_fails_at(self, batches: int) -> int | None:
        """For a job of ``batches`` batches: the batch index at which it fails, or ``None``."""
        if batches <= 0 or not self._hit(self.config.job_failed):
            return None
        self.injected["job_failed"] += 1
        with self._lock:
            return self._rng.randrange(batches)

    def page_faults(self, page: object) -> frozenset[str]:
        """The PAGE_FAULTS of one download of a query results ``page`` (any hashable key for it).

        Drawn on its first download only: a page fetched again is served normally. (Pages downloaded
        while all three rates are 0 are not remembered.)
        """
        if not any(getattr(self.config, name) for name in PAGE_FAULTS):
            return frozenset()
        with self._lock:
            if page in self._pages_seen:
                return frozenset()
            self._pages_seen.add(page)
        hits = frozenset(name for name in PAGE_FAULTS if self._hit(getattr(self.config, name)))
        self.injected.update(hits)
        return hits

    def lock_fail(self) -> Callable[[int], bool] | None:
        """The ``lock_fail`` callback for ``Org.apply``: True for a row that loses its lock."""
        rate = self.config.lock_failure
        if rate <= 0:
            return None

        def fail(_row: int) -> bool:
            if self._hit(rate):
                self.injected["lock_failure"] += 1
                return True
            return False

        return fail
