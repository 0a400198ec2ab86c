"""The live block on a terminal or in Jupyter (rich), and the plain lines anywhere else."""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from collections.abc import Callable
from typing import TextIO

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from .._progress import ProgressEvent, ProgressSnapshot
from ._text import (
    event_note,
    format_count,
    format_duration,
    fraction,
    isatty,
    queued,
    rate,
    render_line,
    time_left,
)

__all__ = ["ProgressDisplay", "render_block"]

#: Events drawn at once whatever the throttle says: they change what the user must know.
_URGENT = frozenset({"validated", "waiting", "finished"})
_MIN_BAR, _MAX_BAR = 10, 40


def render_block(
    snap: ProgressSnapshot,
    *,
    title: str = "",
    since: float = 0.0,
    waiting: str | None = None,
    waited: float = 0.0,
    unicode: bool = True,
) -> RenderableType:
    """The live block: a bar, then records, jobs, outcomes and speed, and why a request waits.

    :param title: what is loaded (``"Contact insert"``), shown before the bar.
    :param since: as in :func:`render_line`.
    :param waiting: the message of the ``waiting`` event in force, if any.
    :param waited: seconds since that event.
    :param unicode: separate with ``·``; with ``|`` for a terminal that cannot encode it (rich
        then draws the bar in ASCII too).
    """
    dot = " · " if unicode else " | "
    total = format_count(snap.records_total) if snap.records_total else "?"
    head = _Head(
        title,
        f"{fraction(snap):4.0%}",
        f"{format_count(snap.records_processed)}/{total} processed",
        ProgressBar(total=max(1, snap.records_total), completed=snap.records_processed),
    )
    rows = Table.grid(padding=(0, 2))
    # The labels keep their width when the waiting row wraps (rich would squeeze them first).
    rows.add_column(style="dim", no_wrap=True, min_width=len("outcome"))
    rows.add_column()
    read, uploaded = format_count(snap.records_read), format_count(snap.records_uploaded)
    rows.add_row("records", _one_line(f"{read}/{total} read{dot}{uploaded} uploaded"))
    jobs_of = f" of {snap.chunks_total}" if snap.chunks_total else ""
    jobs = f"{queued(snap)} queued{dot}{snap.jobs_in_progress} in progress{dot}{snap.jobs_done} done"
    rows.add_row("jobs", _one_line(jobs + jobs_of))
    outcome = _one_line(f"{format_count(snap.records_processed)} processed{dot}")
    outcome.append(f"{format_count(snap.records_failed)} failed", style="red" if snap.records_failed else "")
    if snap.records_skipped:
        outcome.append(f"{dot}{format_count(snap.records_skipped)} skipped", style="yellow")
    rows.add_row("outcome", outcome)
    per_second, elapsed = format_count(int(rate(snap, since))), format_duration(snap.elapsed + since)
    left = format_duration(time_left(snap, since))
    rows.add_row("speed", _one_line(f"{per_second} rec/s{dot}elapsed {elapsed}{dot}left {left}"))
    if waiting is not None:
        # The one row that wraps: it says why nothing moves, and the user must read all of it.
        note = Text(waiting, style="yellow", overflow="fold")
        if waited >= 1:
            note.append(f"{dot}for {format_duration(waited)}", style="dim")
        rows.add_row(Text("waiting", style="bold yellow"), note)
    return Group(head, rows)


class _Head:
    """The title, the bar and how far it is; on a narrow terminal the bar gives up its width first,
    then the counts (the percentage stays)."""

    def __init__(self, title: str, percent: str, counts: str, bar: ProgressBar) -> None:
        self.title, self.percent, self.counts, self.bar = title, percent, counts, bar

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        room = options.max_width - len(self.title) - 2  # two blanks between the three cells
        tail = f"{self.percent}  {self.counts}"
        if room - len(tail) < _MIN_BAR:
            tail = self.percent
        self.bar.width = max(_MIN_BAR, min(_MAX_BAR, room - len(tail)))
        grid = Table.grid(padding=(0, 1))
        grid.add_row(Text(self.title, style="bold", no_wrap=True), self.bar, _one_line(tail))
        yield grid


def _one_line(text: str) -> Text:
    # A counter line is cut at the terminal's edge rather than wrapped: the block keeps its shape.
    return Text(text, no_wrap=True, overflow="ellipsis")


class ProgressDisplay:
    """A ``progress=`` callback for :func:`asyncbulk.load` that draws on a stream.

    ::

        display = ProgressDisplay(sys.stderr, title="Contact insert")
        result = await asyncbulk.load(..., progress=display)
        display.close()

    Call :meth:`tick` now and then (the CLI does, 4 times a second) so the elapsed time moves and
    plain lines keep coming while the org is busy and no event arrives.

    :param stream: where to draw (the CLI uses stderr, keeping stdout for the summary).
    :param tty: draw a live block; by default, whether ``stream`` is a terminal (not ``TERM=dumb``),
        or the code runs in Jupyter with ``ipywidgets`` (where rich draws the block in the notebook).
    :param title: what is loaded, shown in the block and on each line.
    :param redraw_interval: seconds between two redraws of the live block at least.
    :param line_interval: seconds between two periodic plain lines.
    :param clock: a monotonic clock (tests pass a fake one).
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        tty: bool | None = None,
        title: str = "",
        redraw_interval: float = 0.125,
        line_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.title = title
        self.redraw_interval = redraw_interval
        self.line_interval = line_interval
        self._clock = clock
        console = Console(file=stream, highlight=False, emoji=False, markup=False)
        self.tty = _live_capable(stream, console) if tty is None else tty
        if self.tty and not console.is_jupyter:
            # What the caller decided (tty=True) is what rich draws, whatever it would detect.
            console = Console(
                file=stream,
                force_terminal=True,
                force_interactive=True,
                highlight=False,
                emoji=False,
                markup=False,
            )
        self._console = console
        encoding = (getattr(stream, "encoding", None) or "ascii").lower().replace("_", "-")
        #: Whether the stream can take the block's ``·`` (and rich's bar characters); a notebook
        #: gets rich's HTML, whatever its stream.
        self.unicode = console.is_jupyter or encoding in ("utf-8", "utf8")
        self._live: Live | None = None
        self.snapshot: ProgressSnapshot | None = None
        self._snapshot_at = 0.0
        self._waiting: tuple[str, float] | None = None
        self._last_draw = float("-inf")
        self._closed = False

    def __call__(self, event: ProgressEvent) -> None:
        """Take one event: remember its counters, draw if it is time (or the event matters)."""
        if self._closed:
            return
        now = self._clock()
        self.snapshot = event.snapshot
        self._snapshot_at = now
        # A wait lasts until the next event that is not one: then requests go through again.
        self._waiting = (event.message or "", now) if event.kind == "waiting" else None
        if self.tty:
            if event.kind in _URGENT or now - self._last_draw >= self.redraw_interval:
                self._draw(now)
            return
        note = event_note(event)
        if note:
            self._write_line(note)
        if event.kind in ("validated", "finished") or now - self._last_draw >= self.line_interval:
            self._plain(now)

    def tick(self) -> None:
        """Redraw with the elapsed time moved on (called periodically, between events)."""
        if self._closed or self.snapshot is None:
            return
        now = self._clock()
        if self.tty:
            if now - self._last_draw >= self.redraw_interval:
                self._draw(now)
        elif now - self._last_draw >= self.line_interval:
            self._plain(now)

    def close(self) -> None:
        """Draw the last state once more and stop; the block stays on screen above the summary."""
        if self._closed:
            return
        self._closed = True
        if self._live is None and self.snapshot is not None and self.tty:
            self._live = self._new_live()
            self._live.start()
        if self._live is not None:
            # On a terminal stop() draws once more (leaving the block, showing the cursor again); in
            # a notebook it does not, so the cell would keep the last throttled frame.
            self._live.update(self._block(self._clock()), refresh=self._console.is_jupyter)
            self._live.stop()

    # -- drawing -------------------------------------------------------------------------------------

    def _since(self, now: float) -> float:
        # Between events the counters stand still but time does not.
        return max(0.0, now - self._snapshot_at)

    def _block(self, now: float) -> RenderableType:
        assert self.snapshot is not None
        message, waited = (None, 0.0) if self._waiting is None else (self._waiting[0], now - self._waiting[1])
        return render_block(
            self.snapshot,
            title=self.title,
            since=self._since(now),
            waiting=message,
            waited=waited,
            unicode=self.unicode,
        )

    def _new_live(self) -> Live:
        # Stray writes to the display's own stream (a warning on stderr) go above the block instead
        # of through it. Only that stream: stdout may be a file the user redirected, and what is
        # printed there must stay there.
        return Live(
            console=self._console,
            auto_refresh=False,
            transient=False,
            redirect_stdout=self.stream is sys.stdout,
            redirect_stderr=self.stream is sys.stderr,
        )

    def _draw(self, now: float) -> None:
        block = self._block(now)
        if self._live is None:
            self._live = self._new_live()
            self._live.start()
        self._live.update(block, refresh=True)
        self._last_draw = now

    def _plain(self, now: float) -> None:
        assert self.snapshot is not None
        self._write_line(render_line(self.snapshot, title=self.title, since=self._since(now)))
        self._last_draw = now

    def _write_line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def _live_capable(stream: TextIO, console: Console) -> bool:
    if console.is_jupyter:
        # rich draws a live block in a notebook through ipywidgets; without it, plain lines.
        return importlib.util.find_spec("ipywidgets") is not None
    return isatty(stream) and os.environ.get("TERM", "") not in ("dumb", "unknown")
