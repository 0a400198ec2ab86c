"""What one load or one extract does: its options, checked once, journaled for a resume."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from ._config import ChunkConfig, ColumnDelimiter, LineEnding, Operation, OptionError, PollConfig

__all__ = ["MAX_PAGE_RECORDS", "BadRows", "ExtractOptions", "LoadOptions", "Query"]


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


#: The most rows one results page may be asked for. Salesforce documents no maximum; asking for more
#: than a stored result chunk holds only gives shorter pages.
MAX_PAGE_RECORDS = 10_000_000


@dataclass(frozen=True, kw_only=True)
class ExtractOptions:
    """What one extract does (Bulk API 2.0 query): built from :func:`asyncbulk.extract`'s arguments.

    :param soql: the SOQL query.
    :param query_all: ``queryAll``: deleted and archived records too.
    :param column_delimiter: the output's delimiter (Salesforce writes the pages with it).
    :param line_ending: the output's line ending.
    :param max_records: rows per results page to ask for (``None``: Salesforce's default, about a
        stored result chunk). Smaller pages make a resume lose less, and more pages download at once.
    :param concurrency: result pages downloaded at once (parallel pages need API v58.0 or later).
    :param keep_job: keep the query job when done (it is deleted by default: it holds a copy of the data).
    """

    soql: str
    query_all: bool = False
    column_delimiter: ColumnDelimiter = ColumnDelimiter.COMMA
    line_ending: LineEnding = LineEnding.LF
    max_records: int | None = None
    concurrency: int = 4
    keep_job: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.soql, str) or not self.soql.strip():
            raise OptionError(
                "soql", f"give a SOQL query such as 'SELECT Id FROM Contact', got {self.soql!r}"
            )
        set_ = object.__setattr__
        set_(self, "soql", self.soql.strip())
        set_(self, "column_delimiter", ColumnDelimiter.parse(self.column_delimiter))
        set_(self, "line_ending", LineEnding.parse(self.line_ending))
        if self.max_records is not None:
            value = self.max_records
            if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_PAGE_RECORDS:
                raise OptionError(
                    "max_records", f"rows per page must be between 1 and {MAX_PAGE_RECORDS}, got {value!r}"
                )
        if (
            isinstance(self.concurrency, bool)
            or not isinstance(self.concurrency, int)
            or self.concurrency < 1
        ):
            raise OptionError(
                "concurrency", f"pages at once must be a positive number, got {self.concurrency!r}"
            )

    def to_journal(self) -> dict[str, Any]:
        """What a resumed extract must share with the one it continues (the pages depend on it)."""
        return {
            "soql": self.soql,
            "query_all": self.query_all,
            "column_delimiter": self.column_delimiter.value,
            "line_ending": self.line_ending.value,
            "max_records": self.max_records,
        }

    @classmethod
    def from_journal(
        cls, data: dict[str, Any], *, concurrency: int = 4, keep_job: bool = False
    ) -> ExtractOptions:
        """The options :meth:`to_journal` wrote."""
        max_records = data.get("max_records")
        return cls(
            soql=str(data.get("soql") or ""),
            query_all=bool(data.get("query_all")),
            column_delimiter=ColumnDelimiter.parse(str(data.get("column_delimiter") or "COMMA")),
            line_ending=LineEnding.parse(str(data.get("line_ending") or "LF")),
            max_records=int(max_records) if isinstance(max_records, int) else None,
            concurrency=concurrency,
            keep_job=keep_job,
        )


@dataclass(frozen=True)
class Query:
    """A load's input taken from the org itself: the records a SOQL query finds.

    ::

        await asyncbulk.load(asyncbulk.Query("SELECT Id FROM Contact WHERE Email = null"),
                             object="Contact", operation="delete", out_dir="cleanup/")

    The query is extracted to ``out_dir`` first (resumable), then loaded (resumable): a
    delete-by-query in one call.

    :param soql: the SOQL query (for a delete: ``SELECT Id FROM ...``).
    :param query_all: include deleted and archived records.
    """

    soql: str
    query_all: bool = False
