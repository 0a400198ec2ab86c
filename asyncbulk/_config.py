"""Small, frozen, validated option objects shared by the loader and the CLI."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from ._limits import MULTIPART_MAX_CHARS, UPLOAD_MAX_BYTES

__all__ = [
    "ChunkConfig",
    "ColumnDelimiter",
    "ConcurrencyConfig",
    "LineEnding",
    "Operation",
    "OptionError",
    "PollConfig",
    "RetryConfig",
]


class OptionError(ValueError):
    """A bad option value; :attr:`option` names the option (the CLI maps it to its flag).

    :param option: the option's name (``external_id_field``...).
    :param message: what is wrong with it.
    """

    def __init__(self, option: str, message: str) -> None:
        self.option = option
        self.detail = message
        super().__init__(f"{option}: {message}")


class Operation(enum.StrEnum):
    """A Bulk API 2.0 ingest operation (the names are case-sensitive on the wire)."""

    INSERT = "insert"
    UPDATE = "update"
    UPSERT = "upsert"
    DELETE = "delete"
    HARD_DELETE = "hardDelete"

    @classmethod
    def parse(cls, value: str | Operation, *, option: str = "operation") -> Operation:
        """Accept ``insert``, ``hardDelete``, ``hard-delete``, ``HARD_DELETE``..., else ValueError."""
        if isinstance(value, Operation):
            return value
        folded = str(value).replace("-", "").replace("_", "").lower()
        for op in cls:
            if op.value.lower() == folded:
                return op
        choices = ", ".join(op.value for op in cls)
        raise OptionError(option, f"unknown operation {value!r}; choose one of {choices}")


class ColumnDelimiter(enum.StrEnum):
    """The six column delimiters Bulk API 2.0 accepts."""

    BACKQUOTE = "BACKQUOTE"
    CARET = "CARET"
    COMMA = "COMMA"
    PIPE = "PIPE"
    SEMICOLON = "SEMICOLON"
    TAB = "TAB"

    @property
    def char(self) -> str:
        """The character this delimiter stands for."""
        return _DELIMITER_CHARS[self]

    @classmethod
    def parse(cls, value: str | ColumnDelimiter, *, option: str = "column_delimiter") -> ColumnDelimiter:
        """Accept a name (``PIPE``, ``pipe``) or the character itself (``|``), else ValueError."""
        if isinstance(value, ColumnDelimiter):
            return value
        text = str(value)
        for delim in cls:
            if text.upper() == delim.value or text == delim.char:
                return delim
        choices = ", ".join(d.value for d in cls)
        raise OptionError(option, f"unknown column delimiter {value!r}; choose one of {choices}")


_DELIMITER_CHARS = {
    ColumnDelimiter.BACKQUOTE: "`",
    ColumnDelimiter.CARET: "^",
    ColumnDelimiter.COMMA: ",",
    ColumnDelimiter.PIPE: "|",
    ColumnDelimiter.SEMICOLON: ";",
    ColumnDelimiter.TAB: "\t",
}


class LineEnding(enum.StrEnum):
    """The two line endings Bulk API 2.0 accepts; they must match the data."""

    LF = "LF"
    CRLF = "CRLF"

    @property
    def chars(self) -> str:
        """The characters this line ending stands for."""
        return "\n" if self is LineEnding.LF else "\r\n"

    @classmethod
    def parse(cls, value: str | LineEnding, *, option: str = "line_ending") -> LineEnding:
        """Accept ``LF`` / ``CRLF`` in any case, else ValueError."""
        if isinstance(value, LineEnding):
            return value
        text = str(value).upper()
        for ending in cls:
            if text == ending.value:
                return ending
        raise OptionError(option, f"unknown line ending {value!r}; choose LF or CRLF")


def _positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def _non_negative(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be zero or more, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class ChunkConfig:
    """How the input is cut into jobs (one chunk is one job: Bulk API 2.0 takes one upload per job).

    :param max_records: records per chunk. The default, 50,000, is a multiple of the 10,000 records
        Salesforce puts in one internal batch, so no job spends a part-filled batch but the last;
        and it gives a million-row file 20 jobs: enough to keep the org and the merge busy side by
        side, few enough that the requests spent per job stay small.
    :param max_bytes: bytes of CSV per chunk (header included). 50 MB leaves room under the 100 MB
        raw (150 MB base64) upload cap for multi-byte text.
    :param multipart_max_chars: a chunk of at most this many characters is sent as one multipart
        request (create and upload in one call); larger chunks go create, upload, close.
    """

    max_records: int = 50_000
    max_bytes: int = 50_000_000
    multipart_max_chars: int = MULTIPART_MAX_CHARS

    def __post_init__(self) -> None:
        _positive("max_records (chunk records)", self.max_records)
        _positive("max_bytes (chunk bytes)", self.max_bytes)
        if self.max_bytes > UPLOAD_MAX_BYTES:
            raise ValueError(
                f"max_bytes (chunk bytes) must be at most {UPLOAD_MAX_BYTES} "
                f"(Salesforce's 150 MB base64 upload cap), got {self.max_bytes}"
            )
        _non_negative("multipart_max_chars", self.multipart_max_chars)
        if self.multipart_max_chars > MULTIPART_MAX_CHARS:
            raise ValueError(
                f"multipart_max_chars must be at most {MULTIPART_MAX_CHARS}, got {self.multipart_max_chars}"
            )


@dataclass(frozen=True, kw_only=True)
class ConcurrencyConfig:
    """How much runs at once.

    :param max_concurrent_jobs: jobs in flight (created, and not yet finished with their results
        fetched). The reader reads ahead only as far as this bound needs.
    :param max_connections: HTTP connections in the pool; by default large enough that the pool
        never becomes a second, hidden limit below ``max_concurrent_jobs``.
    """

    max_concurrent_jobs: int = 10
    max_connections: int | None = None

    def __post_init__(self) -> None:
        _positive("max_concurrent_jobs (concurrency)", self.max_concurrent_jobs)
        if self.max_connections is not None:
            _positive("max_connections", self.max_connections)
            if self.max_connections < self.max_concurrent_jobs:
                raise ValueError(
                    "max_connections must be at least max_concurrent_jobs "
                    f"({self.max_concurrent_jobs}), got {self.max_connections}"
                )

    @property
    def connections(self) -> int:
        """The connection pool size to use."""
        # Each job in flight needs at most one connection at a time; a few more serve the poll
        # loop and results downloads.
        return self.max_connections or self.max_concurrent_jobs * 2 + 4


@dataclass(frozen=True, kw_only=True)
class PollConfig:
    """How the single poll loop paces itself.

    The interval starts at ``initial``, shrinks toward ``minimum`` while jobs finish, grows by
    ``factor`` while nothing changes, never exceeds ``maximum``, and is jittered by ``jitter``
    (a fraction) so that many loaders do not poll in step.
    """

    initial: float = 0.5
    minimum: float = 0.2
    maximum: float = 30.0
    factor: float = 1.5
    jitter: float = 0.1
    #: With this many active jobs or more, one job-list request replaces per-job requests (as long
    #: as the org's job list is short enough for that to pay).
    list_threshold: int = 2

    def __post_init__(self) -> None:
        for name in ("initial", "minimum", "maximum"):
            _positive(f"poll {name}", getattr(self, name))
        if not self.minimum <= self.initial <= self.maximum:
            raise ValueError("poll intervals must satisfy minimum <= initial <= maximum")
        if self.factor < 1:
            raise ValueError(f"poll factor must be at least 1, got {self.factor!r}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"poll jitter must be in [0, 1), got {self.jitter!r}")
        _positive("poll list_threshold", self.list_threshold)


@dataclass(frozen=True, kw_only=True)
class RetryConfig:
    """Retries of transient HTTP failures, and of records that failed for a passing reason.

    Real orgs have maintenance windows and spells of 503 that last minutes, so by default a
    request keeps trying for up to ten minutes (``budget``), with waits that double up to
    ``max_delay``. Before the org has answered once, connection failures are given up after
    ``first_contact_budget`` instead: then a wrong URL is far likelier than an outage.

    :param max_attempts: tries per request, the first included; ``None``: as many as ``budget`` allows.
    :param base_delay: first back-off, doubled each try, with full jitter, capped at ``max_delay``.
    :param max_delay: the longest wait between two tries.
    :param budget: total seconds one request may spend retrying.
    :param first_contact_budget: the same, before the org has answered any request.
    :param record_rounds: how many new jobs may retry records that failed with a retryable error.
    :param retryable_record_errors: ``sf__Error`` status codes worth a retry.
    """

    max_attempts: int | None = None
    base_delay: float = 0.5
    max_delay: float = 30.0
    budget: float = 600.0
    first_contact_budget: float = 15.0
    record_rounds: int = 2
    retryable_record_errors: frozenset[str] = field(
        # UNABLE_TO_LOCK_ROW: lock contention between parallel batches, gone on the next try.
        # TooManyLockFailure is its job-level twin. Nothing else is retried: a retry cannot fix data.
        default=frozenset({"UNABLE_TO_LOCK_ROW"})
    )

    def __post_init__(self) -> None:
        if self.max_attempts is not None:
            _positive("max_attempts (retries)", self.max_attempts)
        _non_negative("base_delay", self.base_delay)
        _non_negative("max_delay", self.max_delay)
        _non_negative("budget", self.budget)
        _non_negative("first_contact_budget", self.first_contact_budget)
        _non_negative("record_rounds", self.record_rounds)
