"""The load journal: every event is read back as it was written, and any prefix replays cleanly."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from asyncbulk import ResumeError
from asyncbulk._load._journal import (
    BadRowsWritten,
    Created,
    Event,
    Finished,
    LoadJournal,
    Merged,
    Resumed,
    RoundPlanned,
    Started,
    Submitting,
    Undetermined,
    Uploaded,
    parse_event,
    replay,
)
from asyncbulk._load._merge import MergeCounts, RetryRow

START = Started(
    input={"path": "/data/in.csv", "size": 123, "mtime_ns": 1, "head_sha256": "ab"},
    options={"object": "Contact", "operation": "insert", "max_records": 2},
    chunks=3,
    checksums=(11, 22, 33),
    instance_url="https://acme.my.salesforce.com",
    records=6,
)


def sample_events() -> list[Event]:
    """One of every event class, with the fields a load writes (held rows included)."""
    held = (RetryRow(2, ("Lee", "a,b"), "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access:--"),)
    return [
        START,
        BadRowsWritten(count=1, sizes={"success": 10, "failed": 40, "unprocessed": 8}),
        Submitting(round=0, chunk=0, mode="create-upload-close", since=1.5),
        Created(round=0, chunk=0, job_id="750A", mode="create-upload-close"),
        Uploaded(round=0, chunk=0, job_id="750A"),
        Submitting(round=0, chunk=1, mode="multipart", since=2.5),
        Created(round=0, chunk=1, job_id="750B", mode="multipart", uploaded=True),
        Merged(
            round=0,
            chunk=0,
            job_id="750A",
            state="JobComplete",
            mode="create-upload-close",
            sizes={"success": 90, "failed": 40, "unprocessed": 8},
            counts=MergeCounts(succeeded=1, held_for_retry=1),
            held=held,
            processed=2,
            failed=1,
        ),
        Submitting(round=0, chunk=2, mode="multipart", since=3.5),
        Undetermined(round=0, chunk=2, error="reply lost", candidates=("750C", "750D")),
        Merged(
            round=0,
            chunk=1,
            job_id="750B",
            state="Failed",
            mode="multipart",
            sizes={"success": 90, "failed": 40, "unprocessed": 70},
            counts=MergeCounts(unprocessed=2),
            error_message="InvalidBatch : Field name not found : X",
        ),
        RoundPlanned(round=1, path="/out/.asyncbulk/retry-1.csv", records=(2,)),
        Resumed(),
        Finished(outcome="failed"),
    ]


@pytest.mark.parametrize("event", sample_events(), ids=lambda e: type(e).__name__)
def test_every_event_is_read_back_as_written(event: Event) -> None:
    line = orjson.dumps(event.to_json())  # what the journal file holds
    assert parse_event(orjson.loads(line)) == event


def test_an_unknown_or_damaged_event_is_a_resume_error() -> None:
    with pytest.raises(ResumeError, match="does not know"):
        parse_event({"event": "teleported", "round": 0})
    with pytest.raises(ResumeError, match="damaged"):
        parse_event({"event": "merged", "round": 0, "chunk": 1, "counts": "?"})


def write_journal(path: Path, events: list[Event]) -> list[bytes]:
    journal = LoadJournal.create(path, START)
    for event in events[1:]:
        journal.record(event)
    journal.close()
    return path.read_bytes().splitlines(keepends=True)


def test_a_journal_cut_after_any_line_replays_consistently(tmp_path: Path) -> None:
    """A crash can stop the journal after any line, or in the middle of one (torn)."""
    events = sample_events()
    lines = write_journal(tmp_path / "full.jsonl", events)
    assert len(lines) == len(events)
    for cut in range(1, len(lines) + 1):
        for torn in (b"", lines[cut][: len(lines[cut]) // 2] if cut < len(lines) else b""):
            path = tmp_path / f"cut-{cut}-{len(torn)}.jsonl"
            path.write_bytes(b"".join(lines[:cut]) + torn)
            state = replay(path)
            seen = events[:cut]
            assert state.start == START
            merged = [e for e in seen if isinstance(e, Merged)]
            writes = [e for e in seen if isinstance(e, Merged | BadRowsWritten)]
            # Where the merged files end: after the last merge (or bad-row write) journaled.
            assert state.sizes == (writes[-1].sizes if writes else None)
            # The rows held for a retry round are exactly those of the merges journaled.
            held = [row for e in merged for row in e.held]
            assert [row for rows in state.held.values() for row in rows] == held
            for (round_no, _chunk), history in state.chunks.items():
                assert round_no == 0
                if history.merged is not None:
                    assert history.job_id == history.merged.job_id
                    assert history.mode == history.merged.mode
                if history.created is not None:
                    assert history.submitting is not None  # a create is journaled before it is sent
            assert state.bad_rows == next((e for e in seen if isinstance(e, BadRowsWritten)), None)
            assert (1 in state.rounds) == any(isinstance(e, RoundPlanned) for e in seen)
            assert (state.finished is not None) == isinstance(seen[-1], Finished)


def test_a_damaged_line_before_the_last_is_refused(tmp_path: Path) -> None:
    lines = write_journal(tmp_path / "j.jsonl", sample_events())
    lines[3] = b"{not json\n"
    (tmp_path / "bad.jsonl").write_bytes(b"".join(lines))
    with pytest.raises(ResumeError, match="line 4 is not valid JSON"):
        replay(tmp_path / "bad.jsonl")


def test_a_journal_without_its_start_is_refused(tmp_path: Path) -> None:
    lines = write_journal(tmp_path / "j.jsonl", sample_events())
    (tmp_path / "headless.jsonl").write_bytes(b"".join(lines[1:]))
    with pytest.raises(ResumeError, match="no start record"):
        replay(tmp_path / "headless.jsonl")
