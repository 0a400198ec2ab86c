"""What every handler shares: :class:`EmulatorState`, reached from a request with :func:`state_of`."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .._clock import Clock
from .._config import EmulatorConfig, FaultConfig
from .._data import Org
from .._faults import FaultInjector
from .._ingest import JobManager, Lagged, RollingCount
from .._query import QueryJobManager
from .._vocab import JOB_KEY_PREFIX, JobState
from ._connections import ConnectionGuard
from ._oauth import TokenRegistry

__all__ = ["STATE_KEY", "STAT_KINDS", "EmulatorState", "state_of"]

#: The request kinds counted in ``stats()["requests_by_kind"]`` (the route names, refined).
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
    "query_create",
    "query_list",
    "query_info",
    "query_abort",
    "query_delete",
    "query_results",
    "query_pages",
    "other",
)


class EmulatorState:
    """Everything the handlers share: config, org, jobs, tokens, faults, counters.

    :param config: the emulator's settings.
    :param org: the data layer.
    :param instance_url: the emulator's base URL once it listens (token responses carry it).
    """

    def __init__(self, config: EmulatorConfig, org: Org, *, instance_url: Callable[[], str]) -> None:
        self.config = config
        self.org = org
        self.clock = Clock()
        self.faults = FaultInjector(config.faults)
        self.jobs = JobManager(org, config, self.faults, self.clock)
        self.queries = QueryJobManager(org, config, self.faults)
        self.tokens = TokenRegistry(
            lifetime=config.token_lifetime, clock=self.clock.monotonic, org_id=config.oauth.org_id
        )
        self.instance_url = instance_url
        #: The running user, the one id everywhere: tokens, userinfo, the ``id`` URL, ``createdById``.
        self.user_id = org.admin_user_id
        #: The deadline of every new connection's first headers.
        self.connections = ConnectionGuard(config.header_timeout)
        #: The token of the ``/__emulator/*`` control routes (it never expires).
        self.admin_token = config.admin_token or "emuadmin-" + secrets.token_urlsafe(24)
        # Requests counted against the daily API allocation, over the rolling 24 hours, and what
        # the Sforce-Limit-Info header and /limits tell of it (each may lag, per the profile).
        self._api_requests = RollingCount(self.clock)
        profile = config.the_profile
        self.limit_info: Lagged[int] = Lagged(self.clock, profile.limit_info_lag)
        self.limits_view: Lagged[tuple[int, int, int]] = Lagged(self.clock, profile.limits_lag)
        #: Every ``/services/data`` request, and the same by kind.
        self.requests = 0
        self.by_kind = dict.fromkeys(STAT_KINDS, 0)
        # The token printed at start: the configured one or a fresh one; both expire like any other.
        if config.access_token is not None:
            self.tokens.add(config.access_token, self.user_id)
            self.access_token = config.access_token
        else:
            self.access_token = self.tokens.issue(self.user_id)

    @property
    def api_usage(self) -> int:
        """API requests in the last 24 hours (exact; clients see :attr:`limit_info`'s view)."""
        return self._api_requests.value

    def count_api_request(self) -> None:
        """One more request against the daily API allocation."""
        self._api_requests.add()

    def advance_clock(self, seconds: float) -> float:
        """Move the org's clock forward (jobs age, allocations roll over); the new time."""
        self.clock.advance(seconds)
        self.jobs.sweep()
        return self.clock.time()

    def expire_tokens(self) -> None:
        """Invalidate every token handed out so far (the printed one too)."""
        self.tokens.expire_all()

    def set_faults(self, faults: FaultConfig) -> None:
        """Switch fault injection at runtime."""
        self.faults.set(faults)

    def stats(self) -> dict[str, Any]:
        """Counters for tests (``GET /__emulator/stats``)."""
        jobs = self.jobs.list_jobs()
        queries = self.queries.list_jobs()
        return {
            "requests": self.requests,
            "requests_by_kind": dict(self.by_kind),
            **self.jobs.allocations.counters(),
            "api_usage": self.api_usage,
            "api_limit": self.config.api_request_limit,
            "clock_offset": self.clock.offset,
            "faults_injected": dict(self.faults.injected),
            "tokens_issued": self.tokens.issued,
            "jobs": {str(state): sum(1 for j in jobs if j.state is state) for state in JobState},
            "query_jobs": {
                str(state): sum(1 for j in queries if j.state is state)
                for state in JobState
                if state is not JobState.OPEN
            },
        }

    def new_job_id(self) -> str:
        """A fresh 18-character job id (key prefix 750).

        The org's id counter is shared by records and jobs and survives a restart with ``--db``.
        """
        return self.org.ids.next_id(JOB_KEY_PREFIX)


STATE_KEY = web.AppKey("emulator_state", EmulatorState)


def state_of(request: web.Request) -> EmulatorState:
    """The state of the application serving ``request``."""
    return request.app[STATE_KEY]
