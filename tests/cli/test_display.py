"""The progress display and the summary, as a user sees them (no org needed).

A fake terminal stream and a fake clock drive :class:`ProgressDisplay`; :class:`Screen` applies
the few control sequences rich's live display sends, as a terminal would, so the tests read the
screen rather than the stream of escape codes (a redrawn line is gone from the screen, not from
the stream). It refuses any sequence it does not know, so a change in how rich draws fails here
instead of passing unseen.
"""

from __future__ import annotations

import importlib.machinery
import io
import re
import sys
import types
from pathlib import Path

import pytest
import rich.console

from asyncbulk._display import (
    ProgressDisplay,
    format_count,
    format_duration,
    render_line,
    render_plan,
    render_summary,
    summary_dict,
)
from asyncbulk._progress import ProgressEvent, ProgressSnapshot
from asyncbulk._result import JobReport, LoadPlan, LoadResult

MIDWAY = ProgressSnapshot(
    records_total=200_000,
    chunks_total=10,
    records_read=120_000,
    records_uploaded=100_000,
    jobs_created=10,
    jobs_queued=2,
    jobs_in_progress=3,
    jobs_done=5,
    records_processed=98_000,
    records_failed=1_203,
    records_skipped=12,
    elapsed=4.0,
)
WAIT = "could not connect to the org; trying again in 12s (waited 40s, gives up after 560s more)"
ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r|\n")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeTty(io.StringIO):
    """A terminal as rich sees one: it says it is a tty, and speaks UTF-8."""

    encoding = "utf-8"

    def isatty(self) -> bool:
        return True


class Screen:
    """What a terminal shows after the text: lines overwritten in place, styles dropped."""

    def __init__(self, text: str) -> None:
        self.lines = [""]
        self.row = self.col = 0
        pos = 0
        for match in ESCAPE.finditer(text):
            self._put(text[pos : match.start()])
            pos = match.end()
            self._control(match.group())
        self._put(text[pos:])

    def _control(self, code: str) -> None:
        if code == "\n":
            self.row, self.col = self.row + 1, 0
            self.lines += [""] * (self.row + 1 - len(self.lines))
        elif code == "\r":
            self.col = 0
        elif code == "\x1b[2K":
            self.lines[self.row] = ""
        elif re.fullmatch(r"\x1b\[\d*A", code):
            self.row = max(0, self.row - int(code[2:-1] or 1))
        elif code.endswith("m") or code in ("\x1b[?25l", "\x1b[?25h"):
            pass  # a style, hiding or showing the cursor: nothing moves
        else:
            raise AssertionError(f"a control this screen does not know: {code!r}")

    def _put(self, text: str) -> None:
        line = self.lines[self.row].ljust(self.col)
        self.lines[self.row] = line[: self.col] + text + line[self.col + len(text) :]
        self.col += len(text)

    @property
    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.lines).strip("\n")


@pytest.fixture(autouse=True)
def terminal_size(monkeypatch: pytest.MonkeyPatch) -> None:
    # rich takes the width of the test runner's own terminal otherwise.
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("LINES", "30")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")


def frames(stream: FakeTty) -> int:
    """How many times the block was drawn: each frame has the title once."""
    return stream.getvalue().count("Contact insert")


def test_formats() -> None:
    assert format_count(1_234_567) == "1,234,567"
    assert format_duration(4.4) == "0:04"
    assert format_duration(75) == "1:15"
    assert format_duration(3725) == "1:02:05"
    assert format_duration(None) == "-"


def test_plain_line() -> None:
    line = render_line(MIDWAY, title="Contact insert")
    assert line == (
        "Contact insert: 49% | read 120,000/200,000 | uploaded 100,000 | jobs 2 queued, 3 in progress, 5 done"
        " | processed 98,000 (1,203 failed, 12 skipped) | 24,500 rec/s | elapsed 0:04 | left 0:04"
    )
    assert "read 0/?" in render_line(ProgressSnapshot())
    assert "processed 0 (0 failed) |" in render_line(ProgressSnapshot())  # no skipped: not mentioned
    # A job cannot be queued and done at once: a missed transition never shows more jobs than exist.
    odd = ProgressSnapshot(jobs_created=1, jobs_queued=1, jobs_in_progress=0, jobs_done=1)
    assert "jobs 0 queued, 0 in progress, 1 done" in render_line(odd)


def test_terminal_block_shows_every_counter() -> None:
    clock, stream = FakeClock(), FakeTty()
    display = ProgressDisplay(stream, title="Contact insert", clock=clock)
    assert display.tty
    display(ProgressEvent("validated", MIDWAY))
    screen = Screen(stream.getvalue()).text.splitlines()
    assert screen[0].startswith("Contact insert ━") and screen[0].endswith(" 49%  98,000/200,000 processed")
    assert screen[1:] == [
        "records  120,000/200,000 read · 100,000 uploaded",
        "jobs     2 queued · 3 in progress · 5 done of 10",
        "outcome  98,000 processed · 1,203 failed · 12 skipped",
        # 98,000 in 4 s = 24,500/s; 102,000 left at that rate = 4.2 s.
        "speed    24,500 rec/s · elapsed 0:04 · left 0:04",
    ]
    assert "\x1b[31m" in stream.getvalue()  # failures in red on a terminal
    # Between events the clock runs on, and the rate is counted to now: 98,000 in 6 s = 16,333/s,
    # 102,000 left at that rate = 6.2 s (a rate frozen at the event would say 0:02).
    clock.now += 2
    display.tick()
    speed = Screen(stream.getvalue()).text.splitlines()[4]
    assert speed == "speed    16,333 rec/s · elapsed 0:06 · left 0:06"
    display.close()
    assert stream.getvalue().endswith("\x1b[?25h")  # the cursor is back
    assert len(Screen(stream.getvalue()).text.splitlines()) == 5  # the block stays, drawn in place


@pytest.mark.parametrize("columns", [44, 60, 80])
def test_a_narrow_terminal_keeps_the_title_and_the_percentage(
    monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    stream = FakeTty()
    display = ProgressDisplay(stream, title="Contact insert (demo)", clock=FakeClock())
    display(ProgressEvent("validated", MIDWAY))
    screen = Screen(stream.getvalue()).text.splitlines()
    assert re.fullmatch(r"Contact insert \(demo\) [━╸╺]+ +49%.*", screen[0]), screen[0]
    assert all(len(line) <= columns for line in screen)
    assert len(screen) == 5  # nothing wrapped: the block keeps its shape


def test_a_terminal_that_cannot_encode_the_dots_gets_ascii() -> None:
    stream = FakeTty()
    stream.encoding = "ascii"  # type: ignore[misc]
    display = ProgressDisplay(stream, title="Contact insert", clock=FakeClock())
    assert display.tty and not display.unicode
    display(ProgressEvent("validated", MIDWAY))
    display.close()
    assert stream.getvalue().isascii()
    screen = Screen(stream.getvalue()).text.splitlines()
    assert screen[0].startswith("Contact insert -") and screen[1].endswith("read | 100,000 uploaded")


def test_a_wait_is_shown_at_once_with_its_reason_and_cleared_by_the_next_event() -> None:
    clock, stream = FakeClock(), FakeTty()
    display = ProgressDisplay(stream, title="Contact insert", clock=clock)
    display(ProgressEvent("validated", MIDWAY))
    clock.now += 0.01  # well within the throttle: a wait is drawn all the same
    display(ProgressEvent("waiting", MIDWAY, message=WAIT))
    screen = Screen(stream.getvalue()).text
    assert "waiting  could not connect to the org; trying again in 12s" in screen
    assert "gives up after 560s more" in screen.replace("\n", " ")  # wrapped, never cut
    clock.now += 5
    display.tick()
    # How long it has waited, as time goes by (the row wraps where it must).
    assert "more) · for 0:05" in " ".join(Screen(stream.getvalue()).text.split())
    clock.now += 1
    display(ProgressEvent("job_progress", MIDWAY))  # requests go through again
    screen = Screen(stream.getvalue()).text
    assert "waiting" not in screen and "could not connect" not in screen
    assert screen.splitlines()[-1].startswith("speed")


def test_redraws_are_throttled() -> None:
    clock, stream = FakeClock(), FakeTty()
    display = ProgressDisplay(stream, title="Contact insert", redraw_interval=0.125, clock=clock)
    display(ProgressEvent("validated", ProgressSnapshot(records_total=1_000, chunks_total=1)))
    assert frames(stream) == 1
    clock.now += 0.2
    for i in range(100):  # a hundred events in 0.1 s
        clock.now += 0.001
        display(ProgressEvent("chunk_read", ProgressSnapshot(records_total=1_000, records_read=i + 1)))
    assert frames(stream) == 2  # one redraw, the first of them: the rest only updated counters
    display.tick()
    assert frames(stream) == 2  # too soon again
    clock.now += 0.2
    display.tick()
    assert frames(stream) == 3
    assert "100/1,000 read" in Screen(stream.getvalue()).text  # the newest counters, not the drawn ones
    display(ProgressEvent("finished", ProgressSnapshot(records_total=1_000, records_read=1_000)))
    assert frames(stream) == 4  # the end is always drawn


def test_closed_display_is_silent_and_an_unused_one_draws_nothing() -> None:
    clock, stream = FakeClock(), FakeTty()
    display = ProgressDisplay(stream, title="Contact insert", clock=clock)
    display.close()
    assert stream.getvalue() == ""  # no event: no block, no hidden cursor
    display = ProgressDisplay(stream, title="Contact insert", clock=clock)
    display(ProgressEvent("validated", MIDWAY))
    display.close()
    size = len(stream.getvalue())
    clock.now += 10
    display(ProgressEvent("job_progress", MIDWAY))
    display.tick()
    display.close()
    assert len(stream.getvalue()) == size


def test_a_stray_write_to_the_same_terminal_goes_above_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    clock, stream = FakeClock(), FakeTty()
    monkeypatch.setattr(sys, "stderr", stream)
    stdout = sys.stdout
    display = ProgressDisplay(sys.stderr, title="Contact insert", clock=clock)
    display(ProgressEvent("validated", MIDWAY))
    print("a warning from somewhere", file=sys.stderr)
    assert sys.stdout is stdout  # stdout may be a file the user chose: never taken over
    display.close()
    assert sys.stderr is stream
    screen = Screen(stream.getvalue()).text.splitlines()
    assert screen[0] == "a warning from somewhere"
    assert screen[1].startswith("Contact insert ━") and len(screen) == 6  # the block, whole, below


class Notebook:
    """Stand-ins for IPython's ``display`` and ipywidgets' ``Output``, as a notebook cell shows them."""

    def __init__(self) -> None:
        self.shown: list[str] = []
        notebook = self

        class Output:
            def __enter__(self) -> Output:
                return self

            def __exit__(self, *exc: object) -> None:
                pass

            def clear_output(self, wait: bool = False) -> None:
                notebook.shown.clear()

        def display(obj: object) -> None:
            text = getattr(obj, "text", None)
            if isinstance(text, str):
                notebook.shown.append(text)

        self.modules = {
            "IPython": _module("IPython"),
            "IPython.display": _module("IPython.display", display=display),
            "ipywidgets": _module("ipywidgets", Output=Output),
        }

    @property
    def text(self) -> str:
        return Screen("".join(self.shown)).text  # the text form carries the styles as SGR codes


def _module(name: str, **attrs: object) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    for key, value in attrs.items():
        setattr(module, key, value)
    return module


def test_in_jupyter_the_block_is_drawn_in_the_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = Notebook()
    for name, module in notebook.modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(rich.console, "_is_jupyter", lambda: True)
    clock, stream = FakeClock(), io.StringIO()  # a kernel's stderr is no terminal
    display = ProgressDisplay(stream, title="Contact insert", clock=clock)
    assert display.tty
    display(ProgressEvent("validated", MIDWAY))
    assert "records  120,000/200,000 read · 100,000 uploaded" in notebook.text
    clock.now += 0.01
    done = ProgressSnapshot(records_total=200_000, records_processed=200_000, records_failed=3, elapsed=8.0)
    display(ProgressEvent("job_progress", done))  # throttled: not drawn yet
    display.close()
    assert "200,000/200,000 processed" in notebook.text  # the cell ends showing the end
    assert stream.getvalue() == ""
    monkeypatch.delitem(sys.modules, "ipywidgets")  # without it rich cannot draw a live block
    assert not ProgressDisplay(io.StringIO()).tty


def test_who_gets_a_live_block(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ProgressDisplay(FakeTty()).tty
    assert not ProgressDisplay(io.StringIO()).tty
    assert ProgressDisplay(io.StringIO(), tty=True).tty  # the caller decides
    monkeypatch.setenv("TERM", "dumb")  # a terminal that cannot move its cursor
    assert not ProgressDisplay(FakeTty()).tty


def test_plain_display_writes_periodic_lines_and_notable_events() -> None:
    clock = FakeClock()
    stream = io.StringIO()
    display = ProgressDisplay(stream, title="Contact insert", line_interval=5.0, clock=clock)
    assert not display.tty
    display(ProgressEvent("validated", ProgressSnapshot(records_total=200_000, chunks_total=2)))
    clock.now += 1
    display(ProgressEvent("job_created", MIDWAY, job_id="750A"))  # too soon for a line
    display(ProgressEvent("job_state", MIDWAY, job_id="750B", state="Failed", message="InvalidBatch : oops"))
    display(ProgressEvent("job_state", MIDWAY, job_id="750C", state="InProgress"))  # not worth a line
    display(ProgressEvent("retry", MIDWAY, message="round 1: 3 records failed UNABLE_TO_LOCK_ROW"))
    display(ProgressEvent("waiting", MIDWAY, message=WAIT))
    clock.now += 1
    display.tick()  # still too soon
    clock.now += 4
    display.tick()  # 6 s after the last line: a periodic one, elapsed moved on
    display(ProgressEvent("finished", MIDWAY))
    display.close()
    lines = stream.getvalue().splitlines()
    assert lines == [
        "validated: 200,000 records in 2 chunk(s)",
        "Contact insert: 0% | read 0/200,000 | uploaded 0 | jobs 0 queued, 0 in progress, 0 done"
        " | processed 0 (0 failed) | 0 rec/s | elapsed 0:00 | left -",
        "job 750B Failed: InvalidBatch : oops",
        "retry: round 1: 3 records failed UNABLE_TO_LOCK_ROW",
        f"waiting: {WAIT}",
        render_line(MIDWAY, title="Contact insert", since=5.0),
        render_line(MIDWAY, title="Contact insert"),
    ]
    assert "elapsed 0:09" in lines[5]
    assert "\x1b" not in stream.getvalue()


def result(tmp_path: Path, **changes: object) -> LoadResult:
    fields: dict[str, object] = {
        "object": "Contact",
        "operation": "insert",
        "records": 200_000,
        "succeeded": 200_000,
        "failed": 0,
        "unprocessed": 0,
        "success_file": tmp_path / "success.csv",
        "failed_file": tmp_path / "failed.csv",
        "unprocessed_file": tmp_path / "unprocessed.csv",
        "summary_file": tmp_path / "summary.json",
        "jobs": (
            JobReport(chunk=0, job_id="750A", state="JobComplete", first_record=1, records=100_000),
            JobReport(chunk=1, job_id="750B", state="JobComplete", first_record=100_001, records=100_000),
        ),
        "api_requests": 42,
        "api_usage": (1_042, 15_000_000),
        "batches": 20,
        "seconds": 8.0,
    }
    fields.update(changes)
    return LoadResult(**fields)  # type: ignore[arg-type]


def table(text: str) -> dict[str, str]:
    """The rows of a rendered table: label -> value (continuation lines joined)."""
    rows: dict[str, str] = {}
    key = ""
    for line in text.splitlines()[1:]:
        cells = re.fullmatch(r"│ (.*?) *│ (.*?) *│", line)
        if cells is None:
            continue
        if cells[1]:
            key = cells[1]
            rows[key] = rows[key] + "\n" + cells[2] if key in rows else cells[2]
        else:
            rows[key] += " " + cells[2]
    return rows


def test_summary_table(tmp_path: Path) -> None:
    failing = JobReport(
        chunk=1,
        job_id="750B",
        state="Failed",
        first_record=100_001,
        records=100_000,
        error_message="InvalidBatch : Field name not found : Foo__c",
    )
    text = render_summary(
        result(
            tmp_path,
            succeeded=198_785,
            failed=1_203,
            skipped=12,
            records_retried=7,
            jobs=(result(tmp_path).jobs[0], failing),
            notes=("chunk 3: [bold]not markup[/bold]",),
        ),
        width=100,
        color=False,
    )
    lines = text.splitlines()
    assert lines[0] == (
        "Contact insert: 1,203 records failed, 0 not processed, 12 skipped"
        " (see the failed and unprocessed files)"
    )
    rows = table(text)
    assert rows["records"] == "200,000"
    assert rows["succeeded"] == "198,785"
    assert rows["failed"] == "1,203"
    assert rows["skipped"] == "12"
    assert rows["unprocessed"] == "0"
    assert rows["retried"] == "7"
    assert rows["time"] == "0:08 (25,000 records/s)"
    assert rows["jobs"] == "2 (1 Failed, 1 JobComplete)"
    assert rows["batches"] == "20"
    assert rows["API requests"] == "42 (org usage 1,042/15,000,000)"
    assert rows["success file"] == str(tmp_path / "success.csv")
    assert rows["failed file"] == str(tmp_path / "failed.csv")
    assert rows["unprocessed file"] == str(tmp_path / "unprocessed.csv")
    assert rows["summary"] == str(tmp_path / "summary.json")
    assert rows["failed job"] == "750B Failed: InvalidBatch : Field name not found : Foo__c"
    assert rows["note"] == "chunk 3: [bold]not markup[/bold]"  # the user's text, never rich markup
    assert "error" not in rows and "continue with" not in rows
    assert "\x1b" not in text
    ok = render_summary(result(tmp_path), color=False)
    assert ok.startswith("Contact insert: all 200,000 records succeeded\n")
    assert "skipped" not in table(ok) and "retried" not in table(ok) and "failed job" not in table(ok)


def test_summary_of_a_stopped_load_says_why_and_how_to_go_on(tmp_path: Path) -> None:
    command = f"asyncbulk resume {tmp_path}"
    text = render_summary(
        result(
            tmp_path,
            succeeded=100_000,
            unprocessed=100_000,
            error="could not connect to the org: gave up after 600s",
            resume_command=command,
            jobs=tuple(
                JobReport(chunk=i, job_id=None, state="Open", first_record=1, records=1) for i in range(12)
            ),
            notes=tuple(f"note {i}" for i in range(12)),
        ),
        color=False,
    )
    rows = table(text)
    assert text.startswith("Contact insert: stopped by an error\n")
    assert rows["error"] == "could not connect to the org: gave up after 600s"
    assert rows["continue with"] == command
    jobs = rows["failed job"].splitlines()
    assert len(jobs) == 11 and jobs[0] == "chunk 0 Open: no message"
    assert jobs[-1] == "... and 2 more, see the summary file"  # at most ten, then a count
    assert len(rows["note"].splitlines()) == 11


@pytest.mark.parametrize("width", [40, 80, 200])
def test_long_paths_are_never_wrapped_nor_cut(tmp_path: Path, width: int) -> None:
    deep = tmp_path.joinpath(*(["a folder with a long name [x]"] * 8))
    command = f"asyncbulk resume {deep}"
    text = render_summary(
        result(
            tmp_path,
            success_file=deep / "success.csv",
            summary_file=deep / "summary.json",
            error="x " * 200,
            resume_command=command,
        ),
        width=width,
        color=True,  # styles must not split them either
    )
    plain = Screen(text).text
    for whole in (str(deep / "success.csv"), str(deep / "summary.json"), command):
        assert len(whole) > width
        assert sum(whole in line for line in plain.splitlines()) == 1, whole
    assert table(plain)["error"] == " ".join(["x"] * 200)  # a message may wrap, and loses nothing


def test_plan_table(tmp_path: Path) -> None:
    plan = LoadPlan(
        object="Contact",
        operation="insert",
        records=1_050,
        chunks=6,
        jobs=6,
        multipart_chunks=5,
        batches=6,
        api_requests=31,
        daily_batches_remaining=1_234,
        daily_records_remaining=567_890,
        skipped=3,
        columns=("LastName", "Email"),
        notes=("the load needs more batches than the org has left today",),
    )
    text = render_plan(plan, width=100, color=False, unicode=False)
    assert text.splitlines()[0] == (
        "Contact insert: dry run, nothing was created; the file and its header are fine"
    )
    assert all(ord(ch) < 128 for ch in text)  # a terminal that cannot draw the rounded box
    rows = {
        cells[1]: cells[2]
        for cells in (re.fullmatch(r"\| (.*?) *\| (.*?) *\|", line) for line in text.splitlines())
        if cells
    }
    assert rows["records"] == "1,050"
    assert rows["skipped"] == "3 bad records would not be sent"
    assert rows["jobs"] == "6 (5 as one multipart request each)"
    assert rows["batches"] == "6 (the org has 1,234 left today)"
    assert rows["records today"] == "the org may load 567,890 more"
    assert rows["API requests"] == "about 31 (the org has unknown left)"
    assert rows["columns"] == "LastName, Email"
    assert rows["note"] == "the load needs more batches than the org has left today"


def test_summary_dict(tmp_path: Path) -> None:
    data = summary_dict(result(tmp_path, succeeded=199_997, failed=3), exit_code=3)
    assert data["ok"] is False and data["exit_code"] == 3 and data["failed"] == 3
    assert data["files"]["summary"] == str(tmp_path / "summary.json")
    assert data["api_usage"] == [1_042, 15_000_000]
