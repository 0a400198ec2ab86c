"""Chunk shaping: a ramp of small jobs at the head, a taper at the tail, every record once."""

from __future__ import annotations

import itertools
import zlib
from pathlib import Path

from _cases.contacts import contact_rows, write_csv

import asyncbulk
from asyncbulk import ChunkConfig, PollConfig
from asyncbulk._config import ColumnDelimiter
from asyncbulk._csv import Chunk, inspect_layout, plan_chunks
from asyncbulk._load._shape import HEAD_PIECES, TAIL_PIECES, shape_chunks, split_sizes
from asyncbulk.emulator import Emulator

BATCH = 100
WORKERS = 4  # an org's usual parallelism, and the emulator's default


def _plan(path: Path, max_records: int) -> tuple[Chunk, ...]:
    layout = inspect_layout(path, delimiter=ColumnDelimiter.COMMA, line_ending=None)
    return plan_chunks(path, layout, max_records=max_records, max_bytes=50_000_000).chunks


def _check_cover(path: Path, planned: tuple[Chunk, ...], shaped: tuple[Chunk, ...]) -> None:
    data = path.read_bytes()
    assert [c.index for c in shaped] == list(range(len(shaped)))
    assert shaped[0].start == planned[0].start and shaped[-1].end == planned[-1].end
    assert sum(c.records for c in shaped) == sum(c.records for c in planned)
    record = 1
    for before, after in itertools.pairwise(shaped):
        assert before.end == after.start  # contiguous: no byte left out, none twice
    for chunk in shaped:
        part = data[chunk.start : chunk.end]
        assert chunk.size == len(part) and zlib.adler32(part) == chunk.checksum
        assert chunk.first_record == record
        # The line a chunk starts on, as a person counting lines in the file would find it.
        assert chunk.first_line == data.count(b"\n", 0, chunk.start) + 1
        record += chunk.records


def test_head_ramps_up_and_tail_tapers_so_the_last_wave_is_small(tmp_path: Path) -> None:
    # Quoted line feeds (every 7th row) must not be taken for record ends when cutting.
    src = write_csv(tmp_path / "in.csv", contact_rows(2_000))
    planned = _plan(src, 400)
    shaped = shape_chunks(src, planned, max_records=400, name=str(src), batch=BATCH)
    _check_cover(src, planned, shaped)
    sizes = [c.records for c in shaped]
    head = [round(p * BATCH) for p in HEAD_PIECES]
    assert sizes[: len(head) + 1] == [*head, 400 - sum(head)]
    tail = [round(p * BATCH) for p in TAIL_PIECES]
    assert sizes[-len(tail) :] == tail
    # The org's last wave (one job per worker) holds at most one batch: what is left to fetch and
    # merge after the org is done is a worker's share, not a whole chunk.
    assert sum(sizes[-WORKERS:]) <= BATCH
    # The body is full chunks as planned, and no piece is empty.
    assert sizes[len(head) + 1 : -len(tail) - 1] == [400] * (len(planned) - 2)
    assert min(sizes) >= 1
    # Deterministic: a resumed load plans the very same chunks (the journal holds their checksums).
    assert shape_chunks(src, planned, max_records=400, name=str(src), batch=BATCH) == shaped


def test_small_chunks_and_small_loads_are_not_shaped(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "in.csv", contact_rows(1_000))
    planned = _plan(src, BATCH)  # chunks no larger than a batch: already as fine as the org works
    assert shape_chunks(src, planned, max_records=BATCH, name="in.csv", batch=BATCH) == planned
    small = write_csv(tmp_path / "small.csv", contact_rows(150))  # under two batches
    planned_small = _plan(small, 400)
    assert shape_chunks(small, planned_small, max_records=400, name="s", batch=BATCH) == planned_small


def test_split_sizes_never_makes_an_empty_piece() -> None:
    assert split_sizes(400, HEAD_PIECES, BATCH, tail=False) == [25, 25, 50, 100, 200]
    assert split_sizes(60, HEAD_PIECES, BATCH, tail=False) == [25, 25, 10]
    assert split_sizes(20, HEAD_PIECES, BATCH, tail=False) == [20]
    assert split_sizes(400, TAIL_PIECES, BATCH, tail=True) == [100, 50, 50, 50, 50, 25, 25, 25, 25]
    assert split_sizes(60, TAIL_PIECES, BATCH, tail=True) == [10, 25, 25]
    for records in range(1, 500, 7):
        for pieces, tail in ((HEAD_PIECES, False), (TAIL_PIECES, True)):
            sizes = split_sizes(records, pieces, BATCH, tail=tail)
            assert sum(sizes) == records and min(sizes) >= 1


async def test_a_shaped_load_loads_every_record_once(emulator: Emulator, tmp_path: Path) -> None:
    """End to end with the org's own batch size: chunks of more than a batch are shaped."""
    src = write_csv(tmp_path / "in.csv", contact_rows(36_000, bad_every=500))
    result = await asyncbulk.load(
        src,
        object="Contact",
        operation="insert",
        instance_url=emulator.instance_url,
        access_token=emulator.access_token,
        out_dir=tmp_path / "out",
        chunks=ChunkConfig(max_records=12_000),
        poll=PollConfig(initial=0.05, minimum=0.02, maximum=0.3),
    )
    sizes = [j.records for j in result.jobs]
    assert sizes[:4] == [2_500, 2_500, 5_000, 2_000]  # the first chunk, ramped
    assert sizes[-4:] == [2_500, 2_500, 2_500, 2_500]  # the last, tapered
    assert (result.records, result.succeeded, result.failed) == (36_000, 35_928, 72)
    assert emulator.org.count("Contact") == 35_928
    firsts = [j.first_record for j in sorted(result.jobs, key=lambda j: j.chunk)]
    assert firsts == sorted(firsts) and firsts[0] == 1
