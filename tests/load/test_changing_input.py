"""Defect 7: a file that changes while it is loaded ended in a traceback with part of it loaded.

The change (append, truncate, rewrite in place) is made from the progress callback, once the
first job has its data; with one job at a time the loader reads the next chunk only after that
job is merged, so every job after the first would carry data read after the change. The
load must stop with an :class:`asyncbulk.InputError` naming the file and saying it changed,
create no job for data read after the change, and keep its journal, so that after the original
file is restored ``resume=True`` completes with each record stored exactly once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _cases.org import (
    FAST_POLL,
    KEYED_HEADER,
    SMALL_CHUNKS,
    Org,
    assert_each_record_once,
    describe_outcome,
    keyed_rows,
    outcome_of,
    write_csv,
)

import asyncbulk
from asyncbulk import ProgressEvent

RECORDS = 500  # five chunks of 100


def append(path: Path, original: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(b"Late,Arrival,late@example.com,,,,,EXT-late\n")


def truncate(path: Path, original: bytes) -> None:
    with path.open("r+b") as handle:
        handle.truncate(len(original) * 2 // 3)


def rewrite_same_size(path: Path, original: bytes) -> None:
    """The second half rewritten in place (upper-cased): same size, a new modification time."""
    half = len(original) // 2
    with path.open("r+b") as handle:
        handle.seek(half)
        handle.write(original[half:].upper())


def rewrite_same_size_and_time(path: Path, original: bytes) -> None:
    """As above, and the modification time put back: only the content tells."""
    before = path.stat()
    rewrite_same_size(path, original)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


CHANGES: dict[str, Callable[[Path, bytes], None]] = {
    "appended": append,
    "truncated": truncate,
    "rewritten": rewrite_same_size,
    "rewritten-same-mtime": rewrite_same_size_and_time,
}


def load(org: Org, src: Path, out: Path, **options: Any) -> Any:
    return asyncbulk.load(
        src,
        object="Contact",
        operation="insert",
        out_dir=out,
        chunks=SMALL_CHUNKS,
        poll=FAST_POLL,
        concurrency=1,
        **org.load_auth(),
        **options,
    )


@pytest.mark.parametrize("change", list(CHANGES))
async def test_change_during_the_load_stops_it_and_resume_completes(
    org: Org, tmp_path: Path, change: str
) -> None:
    """Defect 7: append, truncate or rewrite the input once the first job has its data."""
    src = write_csv(tmp_path / "in.csv", keyed_rows(RECORDS), header=KEYED_HEADER)
    original = src.read_bytes()
    original_stat = src.stat()
    out = tmp_path / "out"
    changed: list[int] = []

    def change_the_file(event: ProgressEvent) -> None:
        if event.kind == "job_uploaded" and not changed:
            CHANGES[change](src, original)
            changed.append(org.job_count())

    outcome = await outcome_of(load(org, src, out, progress=change_the_file))
    assert changed == [1], "the change was not made while exactly one job existed"
    # With the time put back, only each chunk's checksum tells: the second chunk (in the untouched
    # first half) is still the data that was checked, and may load; the changed third chunk may not.
    expected_jobs = 2 if change == "rewritten-same-mtime" else 1
    assert org.job_count() == expected_jobs, (
        f"jobs were created after the change: {describe_outcome(outcome)}"
    )
    assert isinstance(outcome, asyncbulk.InputError), outcome
    assert str(src) in str(outcome) and "changed" in str(outcome)
    assert "Traceback" not in str(outcome)
    assert (out / "journal.jsonl").exists(), "the journal was not kept"

    # The user puts the original back (as `cp -p` would: same content, same time) and resumes.
    src.write_bytes(original)
    os.utime(src, ns=(original_stat.st_atime_ns, original_stat.st_mtime_ns))
    result = await load(org, src, out, resume=True)
    assert result.succeeded == RECORDS
    assert_each_record_once(out, org, RECORDS)
    emails = [r["Email"] for r in org.query("SELECT Email FROM Contact")]
    assert all(e == e.lower() for e in emails), "rows of the changed file were loaded"
