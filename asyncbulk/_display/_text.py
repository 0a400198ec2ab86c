"""The display's words and numbers as plain text: the counters on one line, notes for a log."""

from __future__ import annotations

from typing import TextIO

from .._progress import ProgressEvent, ProgressSnapshot

__all__ = [
    "FAILED_STATES",
    "event_note",
    "format_count",
    "format_duration",
    "fraction",
    "isatty",
    "queued",
    "rate",
    "render_line",
    "time_left",
]

#: The job states that end a job without its records loaded.
FAILED_STATES = frozenset({"Failed", "Aborted"})


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


def fraction(snap: ProgressSnapshot) -> float:
    """How much of the load is processed, 0 to 1 (0 while the total is unknown)."""
    if snap.records_total <= 0:
        return 0.0
    return min(1.0, snap.records_processed / snap.records_total)


def queued(snap: ProgressSnapshot) -> int:
    """Jobs waiting in the org's queue.

    A job is queued, in progress or done, never two at once; clamp so that a missed "left the
    queue" transition can never show more jobs than exist.
    """
    if snap.jobs_created <= 0:
        return max(0, snap.jobs_queued)
    return max(0, min(snap.jobs_queued, snap.jobs_created - snap.jobs_in_progress - snap.jobs_done))


def rate(snap: ProgressSnapshot, since: float) -> float:
    """Records processed per second from the start to ``since`` seconds after the snapshot.

    Counted to now, not to the last event: a real org reports progress a whole 10,000-record
    batch at a time, and a rate frozen at the event after a jump would promise far too much.
    """
    elapsed = snap.elapsed + since
    return snap.records_processed / elapsed if elapsed > 0 else 0.0


def time_left(snap: ProgressSnapshot, since: float) -> float | None:
    """Seconds left at :func:`rate`, if it can be estimated."""
    per_second = rate(snap, since)
    if per_second <= 0 or snap.records_total <= 0:
        return None
    return max(0.0, (snap.records_total - snap.records_processed) / per_second)


def _outcomes(snap: ProgressSnapshot) -> str:
    skipped = f", {format_count(snap.records_skipped)} skipped" if snap.records_skipped else ""
    return f"{format_count(snap.records_failed)} failed{skipped}"


def render_line(snap: ProgressSnapshot, *, title: str = "", since: float = 0.0) -> str:
    """One plain line with every counter (for logs: no escape codes, no redraw).

    :param since: seconds since ``snap`` was taken: the elapsed time moves on by that much, the
        rate and the time left are counted to then.
    """
    total = format_count(snap.records_total) if snap.records_total else "?"
    parts = [
        f"{fraction(snap):.0%}",
        f"read {format_count(snap.records_read)}/{total}",
        f"uploaded {format_count(snap.records_uploaded)}",
        f"jobs {queued(snap)} queued, {snap.jobs_in_progress} in progress, {snap.jobs_done} done",
        f"processed {format_count(snap.records_processed)} ({_outcomes(snap)})",
        f"{format_count(int(rate(snap, since)))} rec/s",
        f"elapsed {format_duration(snap.elapsed + since)}",
        f"left {format_duration(time_left(snap, since))}",
    ]
    prefix = f"{title}: " if title else ""
    return prefix + " | ".join(parts)


def event_note(event: ProgressEvent) -> str | None:
    """A log line for the events a reader of a log wants to see, beside the periodic counters."""
    if event.kind == "validated":
        snap = event.snapshot
        skipped = f" ({format_count(snap.records_skipped)} skipped)" if snap.records_skipped else ""
        return (
            f"validated: {format_count(snap.records_total)} records in {snap.chunks_total} chunk(s){skipped}"
        )
    if event.kind == "job_state" and event.state in FAILED_STATES:
        detail = f": {event.message}" if event.message else ""
        return f"job {event.job_id} {event.state}{detail}"
    if event.kind == "retry":
        return f"retry: {event.message}" if event.message else "retry"
    if event.kind == "waiting":
        return f"waiting: {event.message}" if event.message else "waiting"
    return None


def isatty(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (a closed or odd stream is not)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
