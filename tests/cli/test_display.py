"""The progress display and the summary, rendered to strings (no terminal, no org needed)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from asyncbulk._display import (
    ProgressDisplay,
    format_count,
    format_duration,
    render_block,
    render_line,
    render_summary,
    summary_dict,
)
from asyncbulk._progress import ProgressEvent, ProgressSnapshot
from asyncbulk._result import JobReport, LoadResult

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
    elapsed=4.0,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeTty(io.StringIO):
    encoding = "utf-8"

    def isatty(self) -> bool:
        return True


def test_formats() -> None:
    assert format_count(1_234_567) == "1,234,567"
    assert format_duration(4.4) == "0:04"
    assert format_duration(75) == "1:15"
    assert format_duration(3725) == "1:02:05"
    assert format_duration(None) == "-"


def test_terminal_block_shows_every_counter() -> None:
    lines = render_block(MIDWAY, title="Contact insert", width=100)
    assert len(lines) == 4
    assert lines[0].startswith("[") and "49%" in lines[0] and lines[0].endswith("Contact insert")
    assert lines[0].count("█") == 20 and lines[0].count("░") == 20  # 49% of a 40-cell bar
    assert lines[1] == "records   120,000/200,000 read · 100,000 uploaded"
    assert lines[2] == "jobs      2 queued · 3 in progress · 5 done of 10"
    # 98,000 in 4 s = 24,500/s; 102,000 left at that rate = 4.2 s.
    assert lines[3] == "processed 98,000 (1,203 failed) · 24,500 rec/s · elapsed 0:04 · left 0:04"


def test_terminal_block_ascii_narrow_and_later() -> None:
    lines = render_block(MIDWAY, unicode=False, width=40, since=2.0)
    assert all(len(line) <= 39 for line in lines)
    assert "#" in lines[0] and "█" not in lines[0] and "·" not in "".join(lines)
    wide = render_block(MIDWAY, since=2.0)
    assert "elapsed 0:06" in wide[3] and "left 0:02" in wide[3]  # the clock runs on between events
    assert "24,500 rec/s" in wide[3]  # the rate is the last event's, not diluted by waiting


def test_queued_is_never_more_than_the_jobs_waiting() -> None:
    odd = ProgressSnapshot(jobs_created=1, jobs_queued=1, jobs_in_progress=0, jobs_done=1)
    assert "0 queued" in render_block(odd)[2]
    assert "jobs 0 queued, 0 in progress, 1 done" in render_line(odd)


def test_plain_line() -> None:
    line = render_line(MIDWAY, title="Contact insert")
    assert line == (
        "Contact insert: 49% | read 120,000/200,000 | uploaded 100,000 | jobs 2 queued, 3 in progress, 5 done"
        " | processed 98,000 (1,203 failed) | 24,500 rec/s | elapsed 0:04 | left 0:04"
    )
    assert "read 0/?" in render_line(ProgressSnapshot())


def test_tty_display_redraws_in_place_at_most_8_times_a_second() -> None:
    clock = FakeClock()
    stream = FakeTty()
    display = ProgressDisplay(stream, title="Contact insert", clock=clock)
    assert display.tty and display.unicode
    display(ProgressEvent("validated", ProgressSnapshot(records_total=10, chunks_total=1)))
    first = stream.getvalue()
    assert first.count("\x1b[2K") == 4 and "\x1b[4F" not in first  # drawn, nothing to go back over
    for i in range(10):  # ten events within 0.1 s: throttled
        clock.now += 0.01
        display(ProgressEvent("chunk_read", ProgressSnapshot(records_total=10, records_read=i)))
    assert stream.getvalue() == first
    clock.now += 0.2
    display.tick()
    redraw = stream.getvalue()[len(first) :]
    assert redraw.startswith("\x1b[4F") and redraw.count("\x1b[2K") == 4  # up 4 lines, erase, redraw
    assert "records   9/10 read" in redraw
    display(ProgressEvent("finished", MIDWAY))  # the end is always drawn
    assert stream.getvalue().endswith("left 0:04\n")
    display.close()
    size = len(stream.getvalue())
    display(ProgressEvent("job_progress", MIDWAY))
    display.tick()
    assert len(stream.getvalue()) == size  # closed: silent


def test_plain_display_writes_periodic_lines_and_notable_events() -> None:
    clock = FakeClock()
    stream = io.StringIO()
    display = ProgressDisplay(stream, title="Contact insert", line_interval=5.0, clock=clock)
    assert not display.tty
    display(ProgressEvent("validated", ProgressSnapshot(records_total=200_000, chunks_total=2)))
    clock.now += 1
    display(ProgressEvent("job_created", MIDWAY, job_id="750A"))  # too soon for a line
    display(ProgressEvent("job_state", MIDWAY, job_id="750B", state="Failed", message="InvalidBatch : oops"))
    display(ProgressEvent("retry", MIDWAY, message="round 1: 3 records failed UNABLE_TO_LOCK_ROW"))
    clock.now += 1
    display.tick()  # still too soon
    clock.now += 4
    display.tick()  # 6 s after the last line: a periodic one, elapsed moved on
    lines = stream.getvalue().splitlines()
    assert lines[0] == "validated: 200,000 records in 2 chunk(s)"
    assert lines[1].startswith("Contact insert: 0% | read 0/200,000")
    assert lines[2] == "job 750B Failed: InvalidBatch : oops"
    assert lines[3] == "retry: round 1: 3 records failed UNABLE_TO_LOCK_ROW"
    assert lines[4].startswith("Contact insert: 49% |") and "elapsed 0:09" in lines[4]
    assert len(lines) == 5
    assert "\x1b" not in stream.getvalue()


def result(tmp_path: Path, *, failed: int = 0) -> LoadResult:
    return LoadResult(
        object="Contact",
        operation="insert",
        records=200_000,
        succeeded=200_000 - failed,
        failed=failed,
        unprocessed=0,
        success_file=tmp_path / "success.csv",
        failed_file=tmp_path / "failed.csv",
        unprocessed_file=tmp_path / "unprocessed.csv",
        summary_file=tmp_path / "summary.json",
        jobs=(
            JobReport(chunk=0, job_id="750A", state="JobComplete", first_record=1, records=100_000),
            JobReport(
                chunk=1,
                job_id="750B",
                state="Failed",
                first_record=100_001,
                records=100_000,
                error_message="InvalidBatch : Field name not found : Foo__c",
            ),
        ),
        api_requests=42,
        api_usage=(1_042, 15_000_000),
        batches=20,
        seconds=8.0,
    )


def test_summary_table(tmp_path: Path) -> None:
    text = render_summary(result(tmp_path, failed=1_203))
    lines = text.splitlines()
    assert (
        lines[0]
        == "Contact insert: 1,203 records failed, 0 not processed (see the failed and unprocessed files)"
    )
    rows = [re.fullmatch(r"  (\S.*?)  +(.*)", line) for line in lines[1:]]
    table = {row[1]: row[2] for row in rows if row}
    assert table["records"] == "200,000"
    assert table["failed"] == "1,203"
    assert table["time"] == "0:08 (25,000 records/s)"
    assert table["jobs"] == "2 (1 Failed, 1 JobComplete)"
    assert table["API requests"] == "42 (org usage 1,042/15,000,000)"
    assert table["batches"] == "20"
    for name in ("success.csv", "failed.csv", "unprocessed.csv", "summary.json"):
        assert str(tmp_path / name) in text
    assert "! job 750B Failed: InvalidBatch : Field name not found : Foo__c" in text
    assert render_summary(result(tmp_path)).startswith("Contact insert: all 200,000 records succeeded")


def test_summary_dict(tmp_path: Path) -> None:
    data = summary_dict(result(tmp_path, failed=3), exit_code=3)
    assert data["ok"] is False and data["exit_code"] == 3 and data["failed"] == 3
    assert data["files"]["summary"] == str(tmp_path / "summary.json")
    assert data["jobs"][1]["error_message"].startswith("InvalidBatch")
    assert data["api_usage"] == [1_042, 15_000_000]
