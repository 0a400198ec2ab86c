"""What the command line shows while a load runs, and the summary it prints at the end.

Two renderings of the same :class:`~asyncbulk._progress.ProgressSnapshot`:

- on a terminal, a compact block redrawn in place (ANSI "cursor up" and "erase line"), at most
  :attr:`ProgressDisplay.redraw_interval` apart so a fast load does not spend its time drawing;
- anywhere else (a log file, CI), one plain line every :attr:`ProgressDisplay.line_interval` seconds,
  plus a line for each event worth keeping in a log (a job that failed, a retry round, the end).

The pure functions (:func:`render_block`, :func:`render_line`, :func:`render_summary`) return text,
so tests check them without a terminal.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from ._progress import ProgressEvent, ProgressSnapshot
from ._result import LoadPlan, LoadResult

__all__ = [
    "ProgressDisplay",
    "format_count",
    "format_duration",
    "render_block",
    "render_line",
    "render_plan",
    "render_summary",
    "summary_dict",
]

# ANSI: go to the start of the line N lines up; erase the whole line.
_UP = "\x1b[{}F"
_ERASE = "\x1b[2K"
_FAILED_STATES = frozenset({"Failed", "Aborted"})


def format_count(n: int) -> str:
    """``1234567`` -> ``"1,234,567"``."""
    return f"{n:,}"


def format_duration(seconds: float | None) -> str:
    """``75`` -> ``"1:15"``, ``3725`` -> ``"1:02:05"``; ``None`` (unknown) -> ``"-"``."""
    if seconds is None:
        return "-"
    total = int(seconds + 0.5)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def _fraction(snap: ProgressSnapshot) -> float:
    if snap.records_total <= 0:
        return 0.0
    return min(1.0, snap.records_processed / snap.records_total)


def _queued(snap: ProgressSnapshot) -> int:
    """Jobs waiting in the org's queue.

    A job is queued, in progress or done, never two at once; clamp so that a missed "left the
    queue" transition can never show more jobs than exist.
    """
    if snap.jobs_created <= 0:
        return max(0, snap.jobs_queued)
    return max(0, min(snap.jobs_queued, snap.jobs_created - snap.jobs_in_progress - snap.jobs_done))


def _bar(fraction: float, width: int, unicode: bool) -> str:
    full, empty = ("█", "░") if unicode else ("#", "-")
    filled = round(fraction * width)
    return full * filled + empty * (width - filled)


def render_block(
    snap: ProgressSnapshot,
    *,
    title: str = "",
    unicode: bool = True,
    width: int = 100,
    since: float = 0.0,
) -> list[str]:
    """The terminal block: a bar, then records, jobs and throughput, one line each.

    :param title: what is loaded (``"Contact insert"``), shown after the bar.
    :param unicode: draw with ``█░·``; plain ASCII otherwise (a terminal that cannot encode them).
    :param width: the terminal's width; lines are cut to it so none wraps (a wrapped line would
        break the "cursor up N lines" redraw).
    :param since: seconds since ``snap`` was taken: the elapsed time moves on by that much, the
        time left counts down, and the rate stays the snapshot's (no event, no new records).
    """
    dot = " · " if unicode else " | "
    fraction = _fraction(snap)
    bar_width = max(10, min(40, width - 20 - len(title)))
    head = f"[{_bar(fraction, bar_width, unicode)}] {fraction:4.0%}"
    if title:
        head += f"  {title}"
    total = format_count(snap.records_total) if snap.records_total else "?"
    lines = [
        head,
        f"records   {format_count(snap.records_read)}/{total} read{dot}"
        f"{format_count(snap.records_uploaded)} uploaded",
        f"jobs      {_queued(snap)} queued{dot}{snap.jobs_in_progress} in progress{dot}"
        f"{snap.jobs_done} done" + (f" of {snap.chunks_total}" if snap.chunks_total else ""),
        f"processed {format_count(snap.records_processed)} ({format_count(snap.records_failed)} failed){dot}"
        f"{format_count(int(snap.rate))} rec/s{dot}elapsed {format_duration(snap.elapsed + since)}{dot}"
        f"left {format_duration(_left(snap, since))}",
    ]
    return [line[: max(20, width - 1)] for line in lines]


def _left(snap: ProgressSnapshot, since: float) -> float | None:
    remaining = snap.remaining
    return None if remaining is None else max(0.0, remaining - since)


def render_line(snap: ProgressSnapshot, *, title: str = "", since: float = 0.0) -> str:
    """One plain line with every counter (for logs: no escape codes, no redraw)."""
    total = format_count(snap.records_total) if snap.records_total else "?"
    parts = [
        f"{_fraction(snap):.0%}",
        f"read {format_count(snap.records_read)}/{total}",
        f"uploaded {format_count(snap.records_uploaded)}",
        f"jobs {_queued(snap)} queued, {snap.jobs_in_progress} in progress, {snap.jobs_done} done",
        f"processed {format_count(snap.records_processed)} ({format_count(snap.records_failed)} failed)",
        f"{format_count(int(snap.rate))} rec/s",
        f"elapsed {format_duration(snap.elapsed + since)}",
        f"left {format_duration(_left(snap, since))}",
    ]
    prefix = f"{title}: " if title else ""
    return prefix + " | ".join(parts)


class ProgressDisplay:
    """A ``progress=`` callback for :func:`asyncbulk.load` that draws on a stream.

    ::

        display = ProgressDisplay(sys.stderr, title="Contact insert")
        result = await asyncbulk.load(..., progress=display)
        display.close()

    Call :meth:`tick` now and then (the CLI does, 4 times a second) so the elapsed time moves and
    plain lines keep coming while the org is busy and no event arrives.

    :param stream: where to draw (the CLI uses stderr, keeping stdout for the summary).
    :param tty: redraw in place; by default, whether ``stream`` is a terminal.
    :param title: what is loaded, shown in the block and on each line.
    :param redraw_interval: seconds between two terminal redraws at least.
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
        self.tty = _isatty(stream) if tty is None else tty
        self.title = title
        self.redraw_interval = redraw_interval
        self.line_interval = line_interval
        self._clock = clock
        encoding = (getattr(stream, "encoding", None) or "ascii").lower().replace("_", "-")
        self.unicode = encoding in ("utf-8", "utf8")
        self.snapshot: ProgressSnapshot | None = None
        self._snapshot_at = 0.0
        self._drawn_lines = 0
        self._last_draw = float("-inf")
        self._closed = False

    def __call__(self, event: ProgressEvent) -> None:
        """Take one event: remember its counters, draw if it is time (or the event matters)."""
        if self._closed:
            return
        now = self._clock()
        self.snapshot = event.snapshot
        self._snapshot_at = now
        if self.tty:
            if event.kind in ("validated", "finished") or now - self._last_draw >= self.redraw_interval:
                self._redraw(now)
            return
        note = _event_note(event)
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
                self._redraw(now)
        elif now - self._last_draw >= self.line_interval:
            self._plain(now)

    def close(self) -> None:
        """Draw the last state once more and stop; the block stays on screen above the summary."""
        if self._closed:
            return
        if self.snapshot is not None and self.tty:
            self._redraw(self._clock())
        self._closed = True

    # -- drawing -------------------------------------------------------------------------------------

    def _since(self, now: float) -> float:
        # Between events the counters stand still but time does not.
        return max(0.0, now - self._snapshot_at)

    def _redraw(self, now: float) -> None:
        width = shutil.get_terminal_size((100, 24)).columns
        assert self.snapshot is not None
        lines = render_block(
            self.snapshot, title=self.title, unicode=self.unicode, width=width, since=self._since(now)
        )
        out = [_UP.format(self._drawn_lines)] if self._drawn_lines else []
        out.extend(f"{_ERASE}{line}\n" for line in lines)
        self.stream.write("".join(out))
        self.stream.flush()
        self._drawn_lines = len(lines)
        self._last_draw = now

    def _plain(self, now: float) -> None:
        assert self.snapshot is not None
        self._write_line(render_line(self.snapshot, title=self.title, since=self._since(now)))
        self._last_draw = now

    def _write_line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def _event_note(event: ProgressEvent) -> str | None:
    """A log line for the events a reader of a log wants to see, beside the periodic counters."""
    if event.kind == "validated":
        snap = event.snapshot
        return f"validated: {format_count(snap.records_total)} records in {snap.chunks_total} chunk(s)"
    if event.kind == "job_state" and event.state in _FAILED_STATES:
        detail = f": {event.message}" if event.message else ""
        return f"job {event.job_id} {event.state}{detail}"
    if event.kind == "retry":
        return f"retry: {event.message}" if event.message else "retry"
    return None


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# -- the summary ---------------------------------------------------------------------------------


def summary_dict(result: LoadResult, *, exit_code: int | None = None) -> dict[str, Any]:
    """The summary as plain JSON types (``--json``); never holds a credential."""
    data = result.to_dict()
    if exit_code is not None:
        data["exit_code"] = exit_code
    return data


def render_summary(result: LoadResult) -> str:
    """The table printed at the end of a load: counts, rate, requests, jobs and the files."""
    states: dict[str, int] = {}
    for job in result.jobs:
        states[job.state] = states.get(job.state, 0) + 1
    state_text = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
    usage = ""
    if result.api_usage:
        used, limit = result.api_usage
        usage = f" (org usage {format_count(used)}/{format_count(limit)})"
    rows: list[tuple[str, str]] = [
        ("records", format_count(result.records)),
        ("succeeded", format_count(result.succeeded)),
        ("failed", format_count(result.failed)),
        ("unprocessed", format_count(result.unprocessed)),
    ]
    if result.records_retried:
        rows.append(("retried", format_count(result.records_retried)))
    rows += [
        ("time", f"{format_duration(result.seconds)} ({format_count(int(result.rate))} records/s)"),
        ("jobs", f"{len(result.jobs)}" + (f" ({state_text})" if state_text else "")),
        ("batches", format_count(result.batches)),
        ("API requests", format_count(result.api_requests) + usage),
        ("success file", _path(result.success_file)),
        ("failed file", _path(result.failed_file)),
        ("unprocessed file", _path(result.unprocessed_file)),
        ("summary", _path(result.summary_file)),
    ]
    key_width = max(len(key) for key, _ in rows)
    if result.cancelled:
        verdict = "cancelled"
    elif result.ok:
        verdict = f"all {format_count(result.records)} records succeeded"
    else:
        verdict = (
            f"{format_count(result.failed)} records failed, {format_count(result.unprocessed)} "
            "not processed (see the failed and unprocessed files)"
        )
    lines = [f"{result.object} {result.operation}: {verdict}"]
    lines += [f"  {key:<{key_width}}  {value}" for key, value in rows]
    failed_jobs = [job for job in result.jobs if job.state in _FAILED_STATES or job.job_id is None]
    for job in failed_jobs[:10]:
        where = job.job_id or f"chunk {job.chunk}"
        lines.append(f"  ! job {where} {job.state}: {job.error_message or 'no message'}")
    if len(failed_jobs) > 10:
        lines.append(f"  ! ... and {len(failed_jobs) - 10} more jobs, see the summary file")
    lines += [f"  note: {note}" for note in result.notes[:10]]
    return "\n".join(lines)


def _path(path: Path) -> str:
    return str(path)


def render_plan(plan: LoadPlan) -> str:
    """What a dry run prints: the plan, and the org's remaining allocations."""

    def left(value: int | None) -> str:
        return "unknown" if value is None else format_count(value)

    rows = [
        ("records", format_count(plan.records)),
        ("jobs", f"{plan.jobs} ({plan.multipart_chunks} as one multipart request each)"),
        (
            "batches",
            f"{format_count(plan.batches)} (the org has {left(plan.daily_batches_remaining)} left today)",
        ),
        ("records today", f"the org may load {left(plan.daily_records_remaining)} more"),
        (
            "API requests",
            f"about {format_count(plan.api_requests)} (the org has "
            f"{left(plan.daily_api_requests_remaining)} left)",
        ),
        ("columns", ", ".join(plan.columns)),
    ]
    width = max(len(key) for key, _ in rows)
    lines = [
        f"{plan.object} {plan.operation}: dry run, nothing was created; the file and its header are fine"
    ]
    lines += [f"  {key:<{width}}  {value}" for key, value in rows]
    lines += [f"  note: {note}" for note in plan.notes]
    return "\n".join(lines)
