"""An extract's journal: the job it runs, the pages it has listed and written; and their replay.

``WORK/journal.jsonl``, one event per line (the file format is :mod:`asyncbulk._journal`'s): the
start (query and options), the query job once created, its completion (rows, paging mode), the
page locators as they become known, and each page written to the output with the output's size
after it. A resumed extract cuts the output back to the last written page and fetches the next one
by its locator: never from page 1, never a row twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from .._exceptions import ResumeError
from .._journal import Event, JournalFile

__all__ = [
    "EXTRACT_START",
    "ExtractFinished",
    "ExtractHistory",
    "ExtractStarted",
    "PageWritten",
    "PagesListed",
    "QueryCompleted",
    "QueryCreated",
    "is_extract",
    "replay_extract",
]

EXTRACT_START = "extract_start"


@dataclass(frozen=True, kw_only=True)
class ExtractStarted(Event):
    """The extract began: what it queries, into which file, and (for a load by query) what follows."""

    kind: ClassVar[str] = EXTRACT_START
    options: dict[str, Any]
    out: str
    instance_url: str
    then_load: dict[str, Any] | None = None

    def _dump(self, name: str, value: Any) -> Any:
        return value if name in ("options", "then_load") else super()._dump(name, value)

    @classmethod
    def _load(cls, name: str, value: Any) -> Any:
        return value if name in ("options", "then_load") else super()._load(name, value)


@dataclass(frozen=True, kw_only=True)
class QueryCreated(Event):
    """The query job exists (its results must be read with the API version it was created with)."""

    kind: ClassVar[str] = "query_created"
    job_id: str
    api_version: str


@dataclass(frozen=True, kw_only=True)
class QueryCompleted(Event):
    """The job is done: ``rows`` to download, in parallel pages or along the locator chain."""

    kind: ClassVar[str] = "query_completed"
    rows: int
    parallel: bool


@dataclass(frozen=True, kw_only=True)
class PagesListed(Event):
    """Locators of pages ``first`` onwards (a ``resultPages`` answer), and the next group's URL."""

    kind: ClassVar[str] = "pages_listed"
    first: int
    locators: tuple[str | None, ...]
    next_url: str | None


@dataclass(frozen=True, kw_only=True)
class PageWritten(Event):
    """Page ``index`` is in the output, which is ``out_size`` bytes long after it."""

    kind: ClassVar[str] = "page_written"
    index: int
    locator: str | None
    rows: int
    out_size: int
    rows_so_far: int
    next_locator: str | None


@dataclass(frozen=True, kw_only=True)
class ExtractFinished(Event):
    """Every page is written and the output is complete."""

    kind: ClassVar[str] = "extract_finished"
    rows: int
    job_deleted: bool


_CLASSES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (ExtractStarted, QueryCreated, QueryCompleted, PagesListed, PageWritten, ExtractFinished)
}


@dataclass
class ExtractHistory:
    """The journal folded."""

    start: ExtractStarted
    created: QueryCreated | None = None
    completed: QueryCompleted | None = None
    #: Every page locator known, by page index.
    locators: dict[int, str | None] = field(default_factory=dict)
    #: The URL of the next ``resultPages`` group, when the last listed group was not the end.
    next_group: str | None = None
    listed_through: int = -1
    last_written: PageWritten | None = None
    finished: ExtractFinished | None = None

    def add(self, event: Event) -> None:
        """Fold one more event in."""
        if isinstance(event, QueryCreated):
            self.created = event
        elif isinstance(event, QueryCompleted):
            self.completed = event
        elif isinstance(event, PagesListed):
            for offset, locator in enumerate(event.locators):
                self.locators[event.first + offset] = locator
            self.listed_through = max(self.listed_through, event.first + len(event.locators) - 1)
            self.next_group = event.next_url
        elif isinstance(event, PageWritten):
            self.last_written = event
            self.locators[event.index] = event.locator
            if event.next_locator is not None:
                self.locators.setdefault(event.index + 1, event.next_locator)
        elif isinstance(event, ExtractFinished):
            self.finished = event


def is_extract(lines: list[dict[str, Any]]) -> bool:
    """Whether a journal's lines are an extract's."""
    return bool(lines) and lines[0].get("event") == EXTRACT_START


def replay_extract(path: Path) -> ExtractHistory:
    """Read an extract's journal and fold it.

    :raises ResumeError: none there, a damaged one, or a load's journal.
    """
    lines = JournalFile.read(path)
    if not is_extract(lines):
        raise ResumeError(f"{path}: not an extract's journal")
    start = _parse(lines[0])
    assert isinstance(start, ExtractStarted)
    history = ExtractHistory(start)
    for line in lines[1:]:
        history.add(_parse(line))
    return history


def _parse(data: dict[str, Any]) -> Event:
    cls = _CLASSES.get(str(data.get("event")))
    if cls is None:
        raise ResumeError(f"the journal holds an event this version does not know: {data.get('event')!r}")
    try:
        return cls.from_json(data)
    except (TypeError, ValueError, KeyError) as exc:
        raise ResumeError(f"the journal's {cls.kind!r} event is damaged ({exc})") from None
