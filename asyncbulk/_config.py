"""Small, frozen, validated option objects shared by the loader and the CLI."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from ._limits import MULTIPART_MAX_CHARS, UPLOAD_MAX_BYTES

__all__ = [
    "BadRows",
    "ChunkConfig",
    "ColumnDelimiter",
    "ConcurrencyConfig",
    "LineEnding",
    "LoadOptions",
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


class BadRows(enum.StrEnum):
    """What to do with a record that is structurally bad (broken quoting, wrong field count...)."""

    #: Stop before any job is created, naming the record (the default: nothing half-loaded).
    STOP = "stop"
    #: Never send such records: each goes to ``failed.csv`` with its number and the reason, the
    #: rest loads.
    SKIP = "skip"

    @classmethod
    def parse(cls, value: str | BadRows, *, option: str = "bad_rows") -> BadRows:
        """Accept ``stop`` / ``skip`` in any case, else an :class:`OptionError`."""
        if isinstance(value, BadRows):
            return value
        try:
            return cls(str(value).lower())
        except ValueError:
            raise OptionError(option, f"unknown value {value!r}; choose stop or skip") from None


@dataclass(frozen=True, kw_only=True)
class LoadOptions:
    """What one load does: built from :func:`asyncbulk.load`'s keyword arguments, checked once.

    Strings are accepted where an enum is expected (``operation="upsert"``,
    ``column_delimiter="|"``) and normalised. A bad value raises :class:`OptionError` (a
    :class:`ValueError`) naming the option.

    :param object: the sObject, e.g. ``"Contact"``.
    :param operation: ``insert``, ``update``, ``upsert``, ``delete`` or ``hardDelete``.
    :param external_id_field: upsert's matching field (``"Id"`` works too).
    :param column_delimiter: the file's delimiter.
    :param line_ending: the file's line ending; ``None``: read from the header line.
    :param encoding: the file's encoding; anything but UTF-8 is converted (the API takes UTF-8).
    :param chunks: how the input is cut into jobs.
    :param poll: the poll loop's pacing.
    :param bad_rows: ``stop`` (default) or ``skip`` structurally bad records.
    """

    object: str
    operation: Operation
    external_id_field: str | None = None
    column_delimiter: ColumnDelimiter = ColumnDelimiter.COMMA
    line_ending: LineEnding | None = None
    encoding: str = "utf-8"
    chunks: ChunkConfig = field(default_factory=ChunkConfig)
    poll: PollConfig = field(default_factory=PollConfig)
    bad_rows: BadRows = BadRows.STOP

    def __post_init__(self) -> None:
        name = self.object
        if not isinstance(name, str) or not name.strip():
            raise OptionError("object", f"give an sObject name such as 'Contact', got {name!r}")
        set_ = object.__setattr__  # frozen: normalise once, here
        set_(self, "object", name.strip())
        op = Operation.parse(self.operation)
        set_(self, "column_delimiter", ColumnDelimiter.parse(self.column_delimiter))
        if self.line_ending is not None:
            set_(self, "line_ending", LineEnding.parse(self.line_ending))
        set_(self, "operation", op)
        set_(self, "bad_rows", BadRows.parse(self.bad_rows))
        if self.external_id_field is not None:
            set_(self, "external_id_field", self.external_id_field.strip() or None)
        if op is Operation.UPSERT and not self.external_id_field:
            raise OptionError(
                "external_id_field", "upsert needs the external id field (e.g. 'External_Id__c' or 'Id')"
            )
        if op is not Operation.UPSERT and self.external_id_field:
            raise OptionError("external_id_field", f"only upsert takes an external id field, not {op.value}")
        try:
            "".encode(self.encoding)
        except (LookupError, TypeError):
            raise OptionError("encoding", f"unknown encoding {self.encoding!r}") from None
        if not isinstance(self.chunks, ChunkConfig):
            raise OptionError("chunks", f"give a ChunkConfig, got {type(self.chunks).__name__}")
        if not isinstance(self.poll, PollConfig):
            raise OptionError("poll", f"give a PollConfig, got {type(self.poll).__name__}")

    @property
    def utf8(self) -> bool:
        """Whether the input is read as it is (UTF-8), not converted."""
        return self.encoding.replace("_", "-").lower() in ("utf-8", "utf8", "utf-8-sig")

    def to_journal(self) -> dict[str, Any]:
        """The options a resumed load must share with the load it continues (poll pacing may change)."""
        return {
            "object": self.object,
            "operation": self.operation.value,
            "external_id_field": self.external_id_field,
            "column_delimiter": self.column_delimiter.value,
            "line_ending": self.line_ending.value if self.line_ending else None,
            "encoding": self.encoding,
            "max_records": self.chunks.max_records,
            "max_bytes": self.chunks.max_bytes,
            "multipart_max_chars": self.chunks.multipart_max_chars,
            "bad_rows": self.bad_rows.value,
        }

    @classmethod
    def from_journal(cls, data: dict[str, Any], *, poll: PollConfig | None = None) -> LoadOptions:
        """The options :meth:`to_journal` wrote (for ``resume``)."""

        def text(key: str) -> str | None:
            value = data.get(key)
            return None if value is None else str(value)

        def number(key: str, default: int) -> int:
            value = data.get(key)
            return int(value) if isinstance(value, int | str) else default

        defaults = ChunkConfig()
        return cls(
            object=str(data.get("object") or ""),
            operation=Operation.parse(str(data.get("operation") or "")),
            external_id_field=text("external_id_field"),
            column_delimiter=ColumnDelimiter.parse(text("column_delimiter") or "COMMA"),
            line_ending=None
            if data.get("line_ending") is None
            else LineEnding.parse(str(data["line_ending"])),
            encoding=text("encoding") or "utf-8",
            chunks=ChunkConfig(
                max_records=number("max_records", defaults.max_records),
                max_bytes=number("max_bytes", defaults.max_bytes),
                multipart_max_chars=number("multipart_max_chars", defaults.multipart_max_chars),
            ),
            poll=poll or PollConfig(),
            bad_rows=BadRows.parse(text("bad_rows") or "stop"),
        )
