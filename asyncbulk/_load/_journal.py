"""A load's journal: typed events, written and read by the same classes, and their replay.

``out_dir/journal.jsonl`` holds one event per line (see :mod:`asyncbulk._journal` for the file).
The first is :class:`Started` (the input's identity and the options); then, per chunk, the steps
that a resume must know about: :class:`Submitting` (a create is about to be sent), :class:`Created`,
:class:`Uploaded`, :class:`Merged` (with the sizes of the merged files after it and the rows held
back for a retry round), or :class:`Undetermined`. :func:`replay` folds them into one
:class:`ChunkHistory` per chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from .._exceptions import ResumeError
from .._journal import Event, JournalFile
from ._merge import MergeCounts, RetryRow

__all__ = [
    "BadRowsWritten",
    "ChunkEvent",
    "ChunkHistory",
    "Created",
    "Event",
    "Finished",
    "LoadJournal",
    "Merged",
    "Replay",
    "Resumed",
    "RoundPlanned",
    "Started",
    "Submitting",
    "Undetermined",
    "Uploaded",
    "parse_event",
    "replay",
]


@dataclass(frozen=True, kw_only=True)
class Started(Event):
    """The load began: what it loads and how (a resume must match both)."""

    kind: ClassVar[str] = "start"
    input: dict[str, Any]
    options: dict[str, Any]
    chunks: int
    checksums: tuple[int, ...] = ()
    instance_url: str = ""
    records: int = 0

    def _dump(self, name: str, value: Any) -> Any:
        return value if name in ("input", "options") else super()._dump(name, value)

    @classmethod
    def _load(cls, name: str, value: Any) -> Any:
        return dict(value) if name in ("input", "options") else super()._load(name, value)


@dataclass(frozen=True, kw_only=True)
class ChunkEvent(Event):
    """An event about one chunk of one round (round 0 is the input itself)."""

    round: int
    chunk: int
    job_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class Submitting(ChunkEvent):
    """A create request for the chunk is about to be sent (``since``: a second before)."""

    kind: ClassVar[str] = "submitting"
    mode: str
    since: float


@dataclass(frozen=True, kw_only=True)
class Created(ChunkEvent):
    """The chunk's job exists; ``uploaded``: its data went with the create (multipart)."""

    kind: ClassVar[str] = "created"
    mode: str
    uploaded: bool = False


@dataclass(frozen=True, kw_only=True)
class Uploaded(ChunkEvent):
    """The chunk's data is uploaded and its job closed (``UploadComplete``)."""

    kind: ClassVar[str] = "uploaded"


@dataclass(frozen=True, kw_only=True)
class Merged(ChunkEvent):
    """The job's results are in the merged files, which end at ``sizes`` after it."""

    kind: ClassVar[str] = "merged"
    state: str
    mode: str
    sizes: dict[str, int]
    counts: MergeCounts
    held: tuple[RetryRow, ...] = ()
    processed: int = 0
    failed: int = 0
    error_message: str | None = None

    def _dump(self, name: str, value: Any) -> Any:
        if name == "counts":
            return value.to_json()
        if name == "held":
            return [[row.record, list(row.values), row.error] for row in value]
        if name == "sizes":
            return dict(value)
        return super()._dump(name, value)

    @classmethod
    def _load(cls, name: str, value: Any) -> Any:
        if name == "counts":
            return MergeCounts.from_json(value)
        if name == "held":
            return tuple(RetryRow(int(r), tuple(str(v) for v in vs), str(e)) for r, vs, e in value)
        if name == "sizes":
            return {str(k): int(v) for k, v in value.items()}
        return super()._load(name, value)


@dataclass(frozen=True, kw_only=True)
class Undetermined(ChunkEvent):
    """Whether a job was made for the chunk cannot be decided; it is not sent again."""

    kind: ClassVar[str] = "undetermined"
    error: str
    candidates: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class RoundPlanned(Event):
    """A retry round's file was written: ``records`` are the input record numbers of its rows."""

    kind: ClassVar[str] = "round"
    round: int
    path: str
    records: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class BadRowsWritten(Event):
    """Skipped bad records were written to ``failed.csv``; the merged files end at ``sizes``."""

    kind: ClassVar[str] = "bad_rows"
    count: int
    sizes: dict[str, int]

    def _dump(self, name: str, value: Any) -> Any:
        return dict(value) if name == "sizes" else super()._dump(name, value)

    @classmethod
    def _load(cls, name: str, value: Any) -> Any:
        return {str(k): int(v) for k, v in value.items()} if name == "sizes" else super()._load(name, value)


@dataclass(frozen=True, kw_only=True)
class Resumed(Event):
    """A resumed run began."""

    kind: ClassVar[str] = "resumed"


@dataclass(frozen=True, kw_only=True)
class Finished(Event):
    """The run ended: ``outcome`` is ``ok``, ``failed`` (some records did), ``error`` or ``cancelled``."""

    kind: ClassVar[str] = "finished"
    outcome: str
    error: str | None = None


_CLASSES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        Started,
        Submitting,
        Created,
        Uploaded,
        Merged,
        Undetermined,
        RoundPlanned,
        BadRowsWritten,
        Resumed,
        Finished,
    )
}


def parse_event(data: dict[str, Any]) -> Event:
    """The event a journal line holds.

    :raises ResumeError: an unknown event, or one without its fields.
    """
    cls = _CLASSES.get(str(data.get("event")))
    if cls is None:
        raise ResumeError(f"the journal holds an event this version does not know: {data.get('event')!r}")
    try:
        return cls.from_json(data)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ResumeError(f"the journal's {cls.kind!r} event is damaged ({exc})") from None


@dataclass
class ChunkHistory:
    """Everything the journal knows about one chunk of one round."""

    submitting: Submitting | None = None
    created: Created | None = None
    uploaded: Uploaded | None = None
    merged: Merged | None = None
    undetermined: Undetermined | None = None

    @property
    def job_id(self) -> str | None:
        """The chunk's job, once it was created."""
        for event in (self.merged, self.uploaded, self.created):
            if event is not None and event.job_id:
                return event.job_id
        return None

    @property
    def mode(self) -> str:
        """How it was (being) submitted: ``multipart`` or ``create-upload-close``."""
        for event in (self.merged, self.created, self.submitting):
            if event is not None:
                return event.mode
        return ""


@dataclass
class Replay:
    """The journal folded: the start, each chunk's history, the planned rounds, the held rows."""

    start: Started
    chunks: dict[tuple[int, int], ChunkHistory] = field(default_factory=dict)
    rounds: dict[int, RoundPlanned] = field(default_factory=dict)
    #: Where the merged files ended after the last merge (or bad-row write) the journal recorded.
    sizes: dict[str, int] | None = None
    #: Rows held back for a retry round, by the round whose jobs they failed in.
    held: dict[int, list[RetryRow]] = field(default_factory=dict)
    bad_rows: BadRowsWritten | None = None
    finished: Finished | None = None

    def of(self, round: int, chunk: int) -> ChunkHistory | None:
        """The history of one chunk, if the journal has any."""
        return self.chunks.get((round, chunk))

    def add(self, event: Event) -> None:
        """Fold one more event in (events come in the order they were written)."""
        if isinstance(event, ChunkEvent):
            history = self.chunks.setdefault((event.round, event.chunk), ChunkHistory())
            if isinstance(event, Submitting):
                history.submitting = event
            elif isinstance(event, Created):
                history.created = event
            elif isinstance(event, Uploaded):
                history.uploaded = event
            elif isinstance(event, Merged):
                history.merged = event
                self.sizes = dict(event.sizes)
                self.held.setdefault(event.round, []).extend(event.held)
            elif isinstance(event, Undetermined):
                history.undetermined = event
        elif isinstance(event, RoundPlanned):
            self.rounds[event.round] = event
        elif isinstance(event, BadRowsWritten):
            self.bad_rows = event
            self.sizes = dict(event.sizes)
        elif isinstance(event, Finished):
            self.finished = event
        elif isinstance(event, Resumed):
            self.finished = None  # a resumed run is unfinished again until it says otherwise


def replay(path: Path) -> Replay:
    """Read the journal at ``path`` and fold it.

    :raises ResumeError: no journal, a damaged one, or one without its start.
    """
    lines = JournalFile.read(path)
    if not lines or lines[0].get("event") != Started.kind:
        raise ResumeError(f"{path}: the journal has no start record")
    start = parse_event(lines[0])
    assert isinstance(start, Started)
    folded = Replay(start)
    for line in lines[1:]:
        folded.add(parse_event(line))
    return folded


class LoadJournal:
    """Writes a load's events to its journal file. Blocking: call it from a worker thread.

    :param file: the open journal file.
    """

    def __init__(self, file: JournalFile) -> None:
        self.file = file

    @classmethod
    def create(cls, path: Path, start: Started) -> LoadJournal:
        """A new journal whose first line is ``start``."""
        return cls(JournalFile.create(path, start.to_json()))

    @classmethod
    def reopen(cls, path: Path) -> LoadJournal:
        """The existing journal at ``path``, to append to."""
        return cls(JournalFile(path))

    def record(self, event: Event) -> None:
        """Append ``event``, durably."""
        self.file.append(event.to_json())

    def close(self) -> None:
        """Close the file."""
        self.file.close()
