"""The emulator's settings: what it serves, how fast it processes, which faults it injects."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._vocab import (
    BATCH_RECORDS,
    DAILY_API_REQUESTS,
    DAILY_BATCHES,
    DAILY_QUERY_JOBS,
    DAILY_RECORDS,
    QUERY_PAGE_BYTES,
    QUERY_PAGE_RECORDS,
)

__all__ = ["EmulatorConfig", "FaultConfig", "OAuthConfig", "Profile"]

_DAY = 86_400.0


def _fraction(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a fraction between 0 and 1, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class FaultConfig:
    """Faults the emulator injects, as fractions (0 to 1) of eligible requests, jobs or records.

    All are off by default. ``seed`` makes a run repeatable.

    :param error_500: requests answered 500 without being processed.
    :param error_503: requests answered 503 without being processed.
    :param limit_exceeded: requests answered 403 ``REQUEST_LIMIT_EXCEEDED``.
    :param drop_before: connections closed before the request is processed.
    :param drop_after: requests processed, then the connection closed without a reply (the
        ambiguous case: the client cannot tell whether it took effect).
    :param slow: requests delayed by ``slow_seconds`` before they are answered.
    :param job_failed: jobs (ingest and query) that end ``Failed`` while processing.
    :param lock_failure: records that fail with ``UNABLE_TO_LOCK_ROW``.
    :param result_503: query results pages whose first download is answered 503.
    :param result_cut: query results pages whose first download is cut off mid-body.
    :param result_token_expiry: query results pages after whose first download every token expires.

    The three ``result_*`` faults hit a page (a job, a first row, a page size) at most once: fetched
    again, it is served normally, as a transient fault would be.
    """

    seed: int = 0
    error_500: float = 0.0
    error_503: float = 0.0
    limit_exceeded: float = 0.0
    drop_before: float = 0.0
    drop_after: float = 0.0
    slow: float = 0.0
    slow_seconds: float = 2.0
    job_failed: float = 0.0
    lock_failure: float = 0.0
    result_503: float = 0.0
    result_cut: float = 0.0
    result_token_expiry: float = 0.0

    def __post_init__(self) -> None:
        for name in (
            "error_500",
            "error_503",
            "limit_exceeded",
            "drop_before",
            "drop_after",
            "slow",
            "job_failed",
            "lock_failure",
            "result_503",
            "result_cut",
            "result_token_expiry",
        ):
            _fraction(name, getattr(self, name))
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be a whole number, got {self.seed!r}")
        if (
            isinstance(self.slow_seconds, bool)
            or not isinstance(self.slow_seconds, int | float)
            or not 0 <= self.slow_seconds <= 3600
        ):
            raise ValueError(f"slow_seconds must be between 0 and 3600, got {self.slow_seconds!r}")

    @property
    def any_request_fault(self) -> bool:
        """Whether any per-request fault is switched on."""
        return any(
            (
                self.error_500,
                self.error_503,
                self.limit_exceeded,
                self.drop_before,
                self.drop_after,
                self.slow,
            )
        )


@dataclass(frozen=True, kw_only=True)
class OAuthConfig:
    """The connected app and user the emulator's ``/services/oauth2/token`` endpoint accepts.

    :param client_id: the connected app's consumer key (JWT ``iss``, client credentials, refresh).
    :param client_secret: its consumer secret (client credentials, refresh, password flows).
    :param username: the running user, whose User record the org seeds (JWT ``sub``, password flow).
    :param password: the password flow's password (with the security token appended, as Salesforce wants).
    :param jwt_public_key_pem: the PEM public key or X.509 certificate that JWT assertions must be
        signed with (RS256); ``None`` turns the JWT flow off.
    :param refresh_tokens: refresh tokens the refresh flow accepts; every token issued by the
        password-less flows that return one is added to them.
    :param org_id: the emulated org's 18-character id (in token responses' ``id`` URL and userinfo;
        tokens start with its first 15 characters). The user's id is that of its User record.
    """

    client_id: str = "emulator-client-id"
    client_secret: str = "emulator-client-secret"
    username: str = "admin@emulator.example"
    password: str = "emulator-password"
    jwt_public_key_pem: str | None = None
    refresh_tokens: tuple[str, ...] = ()
    org_id: str = "00DEM00000000012AA"

    def __post_init__(self) -> None:
        if not (len(self.org_id) == 18 and self.org_id.isascii() and self.org_id.isalnum()):
            raise ValueError(f"org_id must be an 18-character id, got {self.org_id!r}")
        if not self.org_id.startswith("00D"):
            raise ValueError(f"org_id must start with 00D (the Organization key prefix), got {self.org_id!r}")


@dataclass(frozen=True, kw_only=True)
class Profile:
    """How much the emulator behaves like a busy real org, beyond what every profile does.

    Every profile answers with Salesforce's texts and shapes, fails what a real org fails, orders
    results by batch completion, rolls allocations over 24 hours and expires old jobs. The
    ``fast`` profile (the default) adds nothing that costs time; ``realistic`` queues jobs,
    paces them, reports progress in small steps, lags its limit counters and shows other jobs
    in the job list. ``Profile.named("realistic")`` or ``dataclasses.replace`` to tune one.

    :param name: ``fast``, ``realistic`` or a name of your own (for display only).
    :param queue_delay: seconds (min, max) a closed job waits in ``UploadComplete`` behind other
        tenants' work before it goes ``InProgress``; drawn per job from the seed.
    :param records_per_second: the pace per worker when ``EmulatorConfig.records_per_second``
        is not set; ``None`` is as fast as it can.
    :param progress_step: ``numberRecordsProcessed`` rises by this many records at a time while
        a paced batch runs (real orgs process 200-record chunks); ``None``: a whole batch at once.
    :param limit_info_lag: seconds ``Sforce-Limit-Info`` may lag behind the real usage.
    :param limits_lag: seconds ``GET /limits`` may lag behind ("accurate within five minutes").
    :param foreign_jobs: Bulk API 1.0 (``Classic``) jobs and other users' jobs in the job list.
    :param result_chunk: result rows are stored and interleaved across batches in chunks of
        this many rows (the 200-record chunks of a real org's batches).
    :param open_job_lifetime: seconds an ``Open`` job lives before it is aborted.
    :param job_lifetime: seconds a job lives after its last change; then it and its results are
        deleted, terminal or not.
    """

    name: str = "fast"
    queue_delay: tuple[float, float] = (0.0, 0.0)
    records_per_second: float | None = None
    progress_step: int | None = None
    limit_info_lag: float = 0.0
    limits_lag: float = 0.0
    foreign_jobs: int = 0
    result_chunk: int = 200
    open_job_lifetime: float = _DAY
    job_lifetime: float = 7 * _DAY

    def __post_init__(self) -> None:
        low, high = self.queue_delay
        if not 0 <= low <= high:
            raise ValueError(f"queue_delay must be (min, max) with 0 <= min <= max, got {self.queue_delay!r}")
        if self.records_per_second is not None and self.records_per_second <= 0:
            raise ValueError(f"records_per_second must be positive, got {self.records_per_second!r}")
        for name in ("progress_step", "result_chunk"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                raise ValueError(f"{name} must be a positive whole number, got {value!r}")
        if (
            isinstance(self.foreign_jobs, bool)
            or not isinstance(self.foreign_jobs, int)
            or self.foreign_jobs < 0
        ):
            raise ValueError(f"foreign_jobs must be a whole number >= 0, got {self.foreign_jobs!r}")
        for name in ("limit_info_lag", "limits_lag", "open_job_lifetime", "job_lifetime"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be zero or more, got {getattr(self, name)!r}")

    @classmethod
    def named(cls, name: str) -> Profile:
        """``fast`` or ``realistic``.

        :raises ValueError: for another name.
        """
        if name == "fast":
            return cls()
        if name == "realistic":
            return cls(
                name="realistic",
                # Jobs queue "behind other tenants' work" for seconds to minutes (job states,
                # https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/get_job_info.htm);
                # a few seconds keep a realistic test short.
                queue_delay=(1.0, 8.0),
                # A 10,000-record batch in about five seconds per worker.
                records_per_second=2000.0,
                progress_step=200,
                # "The limit is not precise, this is recalculated asynchronously" (real response
                # headers, enreeco.blogspot.com 2015); /limits is "accurate within five minutes"
                # (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_limits.htm).
                limit_info_lag=60.0,
                limits_lag=300.0,
                foreign_jobs=40,
            )
        raise ValueError(f"unknown profile {name!r}: expected 'fast' or 'realistic'")


@dataclass(frozen=True, kw_only=True)
class EmulatorConfig:
    """How the emulator runs.

    :param host: the loopback address to bind.
    :param port: the port; 0 picks a free one.
    :param db_path: an SQLite file that keeps records and jobs across restarts; ``None`` keeps all
        in memory.
    :param schema_path: a JSON file with custom objects, added to Account, Contact, Lead and User.
    :param workers: records are processed by this many workers, one 10,000-record batch at a time.
    :param batch_size: records per internal batch (Salesforce: 10,000).
    :param records_per_second: per worker, to model a real org; ``None`` is as fast as it can.
    :param api_request_limit: the org's daily API requests (``Sforce-Limit-Info``).
    :param daily_batch_limit: Bulk API batches per rolling 24 hours (Salesforce: 15,000).
    :param daily_record_limit: records per rolling 24 hours (Salesforce: 150,000,000).
    :param token_lifetime: seconds an issued access token stays valid; ``None`` is forever.
    :param access_token: the token printed at start and valid from the start; generated if ``None``.
    :param tls: serve HTTPS with a self-signed certificate made at start.
    :param query_page_records: rows of a query results page when the request has no ``maxRecords``,
        and the most any page holds.
    :param query_page_bytes: a results page (header included) stays under this many bytes (at least one
        row), so a page can hold fewer rows than asked and not be the last.
    :param query_rate: rows per second a query job is processed at; ``None`` is as fast as it can.
    :param daily_query_job_limit: Bulk API 2.0 query jobs per rolling 24 hours (Salesforce: 10,000).
    :param profile: a :class:`Profile` or its name (``"fast"``, the default, or ``"realistic"``).
    :param seed: makes everything random about the org repeatable (queue waits, result order,
        the other jobs in the job list); the faults have their own (``FaultConfig.seed``).
    :param header_timeout: seconds a new connection may take to send a request's headers.
    :param idle_timeout: seconds an idle keep-alive connection stays open.
    :param body_timeout: seconds a request body may pause between two chunks.
    :param admin_token: the token of the ``/__emulator/*`` control routes (printed at start);
        generated if ``None``. The emulator's access tokens are accepted there too.
    """

    host: str = "127.0.0.1"
    port: int = 0
    db_path: str | None = None
    schema_path: str | None = None
    workers: int = 4
    batch_size: int = BATCH_RECORDS
    records_per_second: float | None = None
    api_request_limit: int = DAILY_API_REQUESTS
    daily_batch_limit: int = DAILY_BATCHES
    daily_record_limit: int = DAILY_RECORDS
    token_lifetime: float | None = None
    access_token: str | None = None
    tls: bool = False
    query_page_records: int = QUERY_PAGE_RECORDS
    query_page_bytes: int = QUERY_PAGE_BYTES
    query_rate: float | None = None
    daily_query_job_limit: int = DAILY_QUERY_JOBS
    faults: FaultConfig = field(default_factory=FaultConfig)
    oauth: OAuthConfig = field(default_factory=OAuthConfig)
    profile: Profile | str = "fast"
    seed: int = 0
    header_timeout: float = 30.0
    idle_timeout: float = 75.0
    body_timeout: float = 60.0
    admin_token: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.profile, str):
            object.__setattr__(self, "profile", Profile.named(self.profile))
        elif not isinstance(self.profile, Profile):
            raise ValueError(f"profile must be a Profile or its name, got {self.profile!r}")
        for name in ("header_timeout", "idle_timeout", "body_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, got {self.port!r}")
        for name in (
            "workers",
            "batch_size",
            "api_request_limit",
            "daily_batch_limit",
            "daily_record_limit",
            "query_page_records",
            "query_page_bytes",
            "daily_query_job_limit",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive whole number, got {value!r}")
        if self.records_per_second is not None and self.records_per_second <= 0:
            raise ValueError(f"records_per_second must be positive, got {self.records_per_second!r}")
        if self.query_rate is not None and self.query_rate <= 0:
            raise ValueError(f"query_rate must be positive, got {self.query_rate!r}")
        if self.token_lifetime is not None and self.token_lifetime <= 0:
            raise ValueError(f"token_lifetime must be positive, got {self.token_lifetime!r}")

    @property
    def the_profile(self) -> Profile:
        """:attr:`profile` as a :class:`Profile` (a name is resolved when the config is made)."""
        assert isinstance(self.profile, Profile)
        return self.profile

    @property
    def pace(self) -> float | None:
        """Records per second per worker: :attr:`records_per_second`, else the profile's."""
        if self.records_per_second is not None:
            return self.records_per_second
        return self.the_profile.records_per_second
