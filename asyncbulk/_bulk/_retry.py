"""When a failed Bulk API request may be sent again, and how long to wait before it is.

Two questions decide a retry:

* **Was the failure transient?** :func:`classify_exception` and :func:`classify_status` sort a
  failure into a :class:`Failure` kind, or ``None`` for "permanent: fail fast with the server's text".
* **Is the request safe to repeat after that failure?** That depends on the request's
  :class:`Safety` and on whether the failed attempt may have reached the server and taken effect
  (:attr:`Failure.UNKNOWN`). :func:`may_repeat` combines the two.

:class:`Backoff` spaces the retries: exponential, full jitter, capped, within a total time budget.
"""

from __future__ import annotations

import asyncio
import enum
import random
import time
from collections.abc import Awaitable, Callable

import aiohttp
import anyio

from .._config import RetryConfig
from ._jobinfo import JobInfo, JobState

__all__ = [
    "Backoff",
    "Failure",
    "RetryBudget",
    "Safety",
    "classify_exception",
    "classify_status",
    "job_failed_transiently",
    "may_repeat",
    "parse_retry_after",
]


class Failure(enum.Enum):
    """What a transient failure says about the request's fate on the server."""

    #: The connection was never established (refused, DNS, connect timeout): the server saw nothing.
    NOT_SENT = "not sent"
    #: The server answered and said it did not do the work (503, concurrent-request limit, 429).
    REFUSED = "refused"
    #: The request may have been processed: connection dropped or timed out after sending, or a
    #: 500/502/504 (the server, or one behind a gateway, may have acted before failing).
    UNKNOWN = "unknown"


class Safety(enum.Enum):
    """How a request may be repeated once it may have taken effect."""

    #: Repeating has the same effect as doing it once (GET, DELETE, PATCH of a state, creating an
    #: empty job: an orphan ``Open`` job loads nothing and can be aborted).
    IDEMPOTENT = "idempotent"
    #: Repeat only after asking the server what happened (the data upload: a job takes one upload).
    RECONCILE = "reconcile"
    #: Never repeat once it may have been processed (multipart create: a second job would load the
    #: same rows again).
    ONCE = "once"


#: Statuses worth another try. Salesforce documents 503 as "server unavailable, typically during
#: maintenance" (RESTERR), i.e. the request was not processed. 500/502/504 come after the request
#: reached Salesforce or its edge, which may have acted on it. Salesforce documents no 429; it is
#: here for proxies in front of it and means "not processed".
_TRANSIENT_STATUSES = {
    500: Failure.UNKNOWN,
    502: Failure.UNKNOWN,
    503: Failure.REFUSED,
    504: Failure.UNKNOWN,
    429: Failure.REFUSED,
}


def classify_status(
    status: int, error_code: str | None, message: str, usage: tuple[int, int] | None = None
) -> Failure | None:
    """Classify an error response; ``None`` means permanent (fail fast).

    ``403 REQUEST_LIMIT_EXCEEDED`` has two meanings at Salesforce, told apart by the message:

    * ``TotalRequests Limit exceeded.``: the org's rolling 24-hour API allocation is used up.
      Retrying within seconds or minutes cannot succeed and every retry is one more refused call,
      so a user is best served by failing fast with a clear message (aiosalesforce retries it;
      we deliberately do not).
    * ``ConcurrentPerOrgLongTxn Limit exceeded`` / ``ConcurrentRequests (Concurrent API Requests)
      Limit exceeded``: too many long-running requests at this moment (25 over 20 s per org,
      Salesforce Help 000389067). That clears when other requests finish: retry with back-off.

    The allocation is a *rolling* 24-hour window, so a refusal while this same response's
    ``Sforce-Limit-Info`` shows ``used < max`` means calls have aged out and the window is resetting
    right now: that case (``usage`` given and below the max) is retried with back-off, within the
    retry budget. With the allocation really used up (``used >= max``, or no header) it fails fast.
    """
    if status == 403 and error_code == "REQUEST_LIMIT_EXCEEDED":
        if "concurrent" in message.lower():
            return Failure.REFUSED
        if usage is not None and usage[0] < usage[1]:
            return Failure.REFUSED
        return None
    return _TRANSIENT_STATUSES.get(status)


def classify_exception(exc: BaseException) -> Failure | None:
    """Classify an aiohttp or timeout exception; ``None`` means permanent (fail fast).

    The distinction that matters is whether the request can have reached the server: a
    :class:`aiohttp.ClientConnectorError` (refused, DNS) or a connect timeout happened before a
    single byte was sent, while a :class:`aiohttp.ServerDisconnectedError`, a reset or a read
    timeout may come after the server processed the request.
    """
    # TLS set-up failures are configuration problems (wrong CA file, wrong host): retrying
    # cannot fix them, and the error text explains them better than a retry loop would.
    if isinstance(exc, aiohttp.ClientSSLError | aiohttp.ServerFingerprintMismatch):
        return None
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        return Failure.NOT_SENT
    if isinstance(
        exc,
        aiohttp.ClientConnectionError | aiohttp.ClientPayloadError | aiohttp.UploadAbortedError,
    ):
        return Failure.UNKNOWN
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return Failure.UNKNOWN
    return None


def may_repeat(safety: Safety, failure: Failure) -> bool:
    """Whether a request of this safety may be sent again (without asking first) after ``failure``."""
    if failure is not Failure.UNKNOWN:
        return True
    return safety is Safety.IDEMPOTENT


def parse_retry_after(value: str | None) -> float:
    """Seconds from a ``Retry-After`` header given in seconds; 0 when absent or a date."""
    if not value:
        return 0.0
    try:
        seconds = float(value.strip())
    except ValueError:
        return 0.0
    return max(seconds, 0.0)


class Backoff:
    """Exponential back-off with full jitter, capped, within a total time budget.

    Full jitter (a uniform draw between 0 and the exponential cap, AWS Architecture Blog,
    "Exponential Backoff And Jitter") spreads many clients that failed at the same moment,
    which is exactly what a loader with dozens of jobs in flight produces when the org hiccups.

    :param config: attempts, delays and the budget.
    :param clock: a monotonic clock (tests pass a fake one).
    :param sleep: how to wait (tests pass a fake one).
    :param rng: the jitter source.
    """

    def __init__(
        self,
        config: RetryConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()

    def delay(self, retry: int) -> float:
        """The jittered wait before retry number ``retry`` (1 for the first retry)."""
        cap = min(self.config.max_delay, self.config.base_delay * 2 ** (retry - 1))
        return self._rng.uniform(0.0, cap)

    def start(self) -> RetryBudget:
        """Begin tracking one request's attempts."""
        return RetryBudget(self, self._clock())

    def now(self) -> float:
        """The clock's current reading."""
        return self._clock()

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (with the sleep function given)."""
        await self._sleep(seconds)


class RetryBudget:
    """The attempts and time left for one request; made by :meth:`Backoff.start`."""

    def __init__(self, backoff: Backoff, started: float) -> None:
        self._backoff = backoff
        self._started = started
        #: Attempts made so far (the caller counts one per send).
        self.attempts = 1

    @property
    def elapsed(self) -> float:
        """Seconds since the first attempt started."""
        return self._backoff.now() - self._started

    def next_delay(self, *, at_least: float = 0.0, budget: float | None = None) -> float | None:
        """The wait before the next attempt, or ``None`` if no attempt is left.

        :param at_least: a server-given minimum (``Retry-After``), still capped at ``max_delay``.
        :param budget: seconds allowed in all (the configured budget by default).
        """
        config = self._backoff.config
        if config.max_attempts is not None and self.attempts >= config.max_attempts:
            return None
        delay = max(self._backoff.delay(self.attempts), min(at_least, config.max_delay))
        if self.elapsed + delay > (config.budget if budget is None else budget):
            return None
        return delay

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` and count the attempt that follows."""
        await self._backoff.sleep(seconds)
        self.attempts += 1

    async def wait(self, *, at_least: float = 0.0) -> bool:
        """Wait before the next attempt and count it; ``False`` (without waiting) if none is left."""
        delay = self.next_delay(at_least=at_least)
        if delay is None:
            return False
        await self.sleep(delay)
        return True


#: ``errorMessage`` prefixes of jobs that failed for a passing reason (Bulk exception codes, "Bulk
#: API 2.0 Errors", https://developer.salesforce.com/docs/platform/api-asynch/guide/asynch-api-reference-errors.html):
#: their unprocessed rows may be sent again. ``InvalidBatch : Field name not found`` and other data
#: or setup errors would only fail again, so their rows are reported as unprocessed.
TRANSIENT_JOB_ERRORS = ("InternalServerError", "TooManyLockFailure", "Timeout", "Unknown")


def job_failed_transiently(info: JobInfo) -> bool:
    """Whether a job ended ``Failed`` for a reason that a new job may not meet again.

    Decided by the Bulk exception code that opens ``errorMessage`` (``Code : detail``), the one part
    of the text Salesforce documents.
    """
    code = (info.error_message or "").split(":", 1)[0].strip()
    return info.state is JobState.FAILED and code in TRANSIENT_JOB_ERRORS
