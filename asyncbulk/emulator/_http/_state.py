"""What every handler shares: :class:`EmulatorState`, reached from a request with :func:`state_of`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from .._config import EmulatorConfig, FaultConfig
from .._data import Org
from .._faults import FaultInjector
from .._ingest import JobManager
from .._query import QueryJobManager
from .._vocab import JOB_KEY_PREFIX, JobState
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
        self.faults = FaultInjector(config.faults)
        self.jobs = JobManager(org, config, self.faults)
        self.queries = QueryJobManager(org, config, self.faults)
        self.tokens = TokenRegistry(lifetime=config.token_lifetime, org_id=config.oauth.org_id)
        self.instance_url = instance_url
        #: The running user, the one id everywhere: tokens, userinfo, the ``id`` URL, ``createdById``.
        self.user_id = org.admin_user_id
        #: Requests counted against the daily API allocation (``Sforce-Limit-Info``).
        self.api_usage = 0
        #: Every ``/services/data`` request, and the same by kind.
        self.requests = 0
        self.by_kind = dict.fromkeys(STAT_KINDS, 0)
        # The token printed at start: the configured one or a fresh one; both expire like any other.
        if config.access_token is not None:
            self.tokens.add(config.access_token, self.user_id)
            self.access_token = config.access_token
        else:
            self.access_token = self.tokens.issue(self.user_id)

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
