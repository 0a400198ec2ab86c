"""The end-of-load summary and the dry-run plan: rich tables rendered to text."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable
from io import StringIO
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .._result import LoadPlan, LoadResult
from ._text import FAILED_STATES, format_count, format_duration, isatty

__all__ = ["render_plan", "render_summary", "summary_dict"]

#: The width of text rendered for a stream that is not a terminal (a log, a pipe).
_PLAIN_WIDTH = 100


def summary_dict(result: LoadResult, *, exit_code: int | None = None) -> dict[str, Any]:
    """The summary as plain JSON types (``--json``); never holds a credential."""
    data = result.to_dict()
    if exit_code is not None:
        data["exit_code"] = exit_code
    return data


#: A table row: the label, the value, and whether the value must stay on one line (a path, a
#: command: users copy them).
_Row = tuple[str, Text, bool]


def _row(key: str, value: str, style: str = "", *, whole: bool = False) -> _Row:
    return key, Text(value, style=style), whole


def render_summary(
    result: LoadResult, *, width: int | None = None, color: bool | None = None, unicode: bool | None = None
) -> str:
    """The table printed at the end of a load: counts, rate, requests, jobs and the files.

    The defaults suit standard output: its terminal's width and colours, or plain text 100 columns
    wide. Paths and the ``resume`` command are never wrapped nor cut: the table grows instead.
    """
    states: dict[str, int] = {}
    for job in result.jobs:
        states[job.state] = states.get(job.state, 0) + 1
    state_text = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
    usage = ""
    if result.api_usage:
        used, limit = result.api_usage
        usage = f" (org usage {format_count(used)}/{format_count(limit)})"
    rows: list[_Row] = [
        _row("records", format_count(result.records)),
        _row("succeeded", format_count(result.succeeded), "green" if result.succeeded else ""),
        _row("failed", format_count(result.failed), "red" if result.failed else ""),
    ]
    if result.skipped:
        rows.append(_row("skipped", format_count(result.skipped), "yellow"))
    rows.append(_row("unprocessed", format_count(result.unprocessed), "yellow" if result.unprocessed else ""))
    if result.records_retried:
        rows.append(_row("retried", format_count(result.records_retried)))
    sections: list[list[_Row]] = [rows]
    sections.append(
        [
            _row("time", f"{format_duration(result.seconds)} ({format_count(int(result.rate))} records/s)"),
            _row("jobs", f"{len(result.jobs)}" + (f" ({state_text})" if state_text else "")),
            _row("batches", format_count(result.batches)),
            _row("API requests", format_count(result.api_requests) + usage),
        ]
    )
    files = [
        ("success file", result.success_file),
        ("failed file", result.failed_file),
        ("unprocessed file", result.unprocessed_file),
        ("summary", result.summary_file),
    ]
    sections.append([_row(key, str(path), whole=True) for key, path in files])
    problems: list[_Row] = []
    if result.error:
        problems.append(_row("error", result.error, "red"))
    if result.resume_command:
        problems.append(_row("continue with", result.resume_command, "bold", whole=True))
    failed_jobs = [job for job in result.jobs if job.state in FAILED_STATES or job.job_id is None]
    for job in failed_jobs[:10]:
        where = job.job_id or f"chunk {job.chunk}"
        problems.append(
            _row("failed job", f"{where} {job.state}: {job.error_message or 'no message'}", "red")
        )
    if len(failed_jobs) > 10:
        problems.append(
            _row("failed job", f"... and {len(failed_jobs) - 10} more, see the summary file", "red")
        )
    problems += [_row("note", note) for note in result.notes[:10]]
    if len(result.notes) > 10:
        problems.append(_row("note", f"... and {len(result.notes) - 10} more, see the summary file"))
    sections.append(problems)
    if result.cancelled:
        verdict, style = "cancelled", "bold yellow"
    elif result.error:
        verdict, style = "stopped by an error", "bold red"
    elif result.ok:
        verdict, style = f"all {format_count(result.records)} records succeeded", "bold green"
    else:
        skipped = f", {format_count(result.skipped)} skipped" if result.skipped else ""
        verdict, style = (
            (
                f"{format_count(result.failed)} records failed, {format_count(result.unprocessed)} "
                f"not processed{skipped} (see the failed and unprocessed files)"
            ),
            "bold red",
        )
    # One line, however long: scripts and eyes look for it first (the terminal wraps it if need be).
    title = Text(
        f"{result.object} {result.operation}: {verdict}", style=style, no_wrap=True, overflow="ignore"
    )
    return _render_table(title, sections, width=width, color=color, unicode=unicode)


def render_plan(
    plan: LoadPlan, *, width: int | None = None, color: bool | None = None, unicode: bool | None = None
) -> str:
    """What a dry run prints: the plan, and the org's remaining allocations (defaults as in
    :func:`render_summary`)."""

    def left(value: int | None) -> str:
        return "unknown" if value is None else format_count(value)

    rows = [_row("records", format_count(plan.records))]
    if plan.skipped:
        rows.append(_row("skipped", f"{format_count(plan.skipped)} bad records would not be sent", "yellow"))
    rows += [
        _row("jobs", f"{plan.jobs} ({plan.multipart_chunks} as one multipart request each)"),
        _row(
            "batches",
            f"{format_count(plan.batches)} (the org has {left(plan.daily_batches_remaining)} left today)",
        ),
        _row("records today", f"the org may load {left(plan.daily_records_remaining)} more"),
        _row(
            "API requests",
            f"about {format_count(plan.api_requests)} "
            f"(the org has {left(plan.daily_api_requests_remaining)} left)",
        ),
        _row("columns", ", ".join(plan.columns)),
    ]
    notes = [_row("note", note, "yellow") for note in plan.notes]
    title = Text(
        f"{plan.object} {plan.operation}: dry run, nothing was created; the file and its header are fine",
        style="bold",
        no_wrap=True,
        overflow="ignore",
    )
    return _render_table(title, [rows, notes], width=width, color=color, unicode=unicode)


def _render_table(
    title: Text,
    sections: Iterable[list[_Row]],
    *,
    width: int | None,
    color: bool | None,
    unicode: bool | None,
) -> str:
    sections = [section for section in sections if section]
    out_tty = isatty(sys.stdout)
    if color is None:
        color = out_tty and "NO_COLOR" not in os.environ
    if unicode is None:
        unicode = (getattr(sys.stdout, "encoding", None) or "").lower().replace("_", "-") in ("utf-8", "utf8")
    if width is None:
        width = shutil.get_terminal_size((_PLAIN_WIDTH, 24)).columns if out_tty else _PLAIN_WIDTH
    key_width = max(len(key) for section in sections for key, _, _ in section)
    whole = max((len(text) for section in sections for _, text, keep in section if keep), default=0)
    # The box and the padding take 7 columns; a table too narrow for a path grows rather than cut it.
    width = max(width, key_width + whole + 7)
    table = Table(box=box.ROUNDED if unicode else box.ASCII, show_header=False, padding=(0, 1))
    table.add_column(style="bold", no_wrap=True, min_width=key_width)
    table.add_column(overflow="fold")
    for number, section in enumerate(sections):
        for index, (key, text, keep) in enumerate(section):
            if keep:
                text.no_wrap, text.overflow = True, "ignore"
            table.add_row(key, text, end_section=index == len(section) - 1 and number < len(sections) - 1)
    buffer = StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="auto" if color else None,
        highlight=False,
        emoji=False,
        markup=False,
        legacy_windows=False,
    )
    console.print(title, soft_wrap=True)
    console.print(table, crop=False)
    # rich pads every line to the width: trailing blanks are noise in a log and in a copy.
    return "\n".join(line.rstrip() for line in buffer.getvalue().rstrip("\n").splitlines())
