"""Chunk shaping: small jobs at the head and the tail of a large load, so the org starts and ends early.

The structural pass cuts the file into equal chunks of ``max_records``. Against a paced org, two
fixed costs come from that shape, and both are spent while the org's workers wait:

* the head: no worker starts before the first job is uploaded and parsed; a first job of 50,000
  records takes ten times longer to get there than one of 5,000;
* the tail: the org works through its queue batch by batch, and a job's results can be fetched only
  once its last batch is done. With equal jobs the last job's whole results are fetched and
  merged after the org is done, and the workers run out of work unevenly (one still runs a full
  batch while the others idle).

So the first chunk is cut into a ramp (a quarter batch, a quarter, a half, a batch, the rest) and
the last ``max_records`` records into a taper of smaller jobs down to a quarter of a batch:
whichever worker frees up takes the next small job, so they all run dry within a small job's time
of each other, and what is left to merge at the end is a few thousand records.

Shaping is a pure function of the file and the chunk limits (a resumed load plans the same chunks,
with the same checksums), and it applies only when chunks hold several of the org's batches: small
chunks are already as fine as the org works.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from pathlib import Path

from .._csv import Chunk
from .._exceptions import InputChangedError
from .._limits import RECORDS_PER_BATCH

__all__ = ["HEAD_PIECES", "TAIL_PIECES", "shape_chunks", "split_sizes"]

#: The first chunk's pieces, as fractions of the org's batch (the rest of the chunk follows).
HEAD_PIECES: tuple[float, ...] = (0.25, 0.25, 0.5, 1.0)
#: The last ``max_records`` records' pieces, as fractions of a batch, in file order (the rest of
#: those records comes first, in whole batches). Four of each size: as many as an org commonly
#: runs at once. A worker that takes a piece should find at least as much work left for the others
#: as that piece takes it (list scheduling): the last full batch starts with three workers' worth
#: of small jobs behind it, and the last wave is four jobs of a quarter batch.
TAIL_PIECES: tuple[float, ...] = (0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25)

# A record by quote parity alone: unquoted stretches and "..." sections up to a line feed outside
# quotes (a line feed inside a quoted field ends no record).
_RECORD = rb'[^"\n]*+(?:"[^"]*+"[^"\n]*+)*+\n'


def split_sizes(records: int, pieces: Sequence[float], batch: int, *, tail: bool) -> list[int]:
    """Record counts for one chunk of ``records`` cut into ``pieces`` (fractions of ``batch``).

    The remainder (whole batches) goes last for a head, first for a tail. Pieces that do not fit
    are dropped from the far end of the ramp, so a short chunk is cut less, never into empties.
    """
    sizes = [max(1, round(p * batch)) for p in pieces]
    ordered = list(reversed(sizes)) if tail else sizes  # the smallest pieces drop first at the tail
    kept: list[int] = []
    total = 0
    for size in ordered:
        if total + size >= records:
            break
        kept.append(size)
        total += size
    if tail:
        kept.reverse()
        return [records - total, *kept] if records > total else kept
    return [*kept, records - total] if records > total else kept


def _ends(data: bytes, sizes: Sequence[int]) -> list[int]:
    """Offsets just after each piece but the last (``data`` starts at a record start)."""
    ends: list[int] = []
    pos = 0
    for size in sizes[:-1]:
        match = re.compile(rb"(?:%s){%d}" % (_RECORD, size)).match(data, pos)
        if match is None:  # pragma: no cover - the pass counted these records
            raise AssertionError("fewer records than the structural pass counted")
        pos = match.end()
        ends.append(pos)
    return ends


def _split(path: Path, chunk: Chunk, sizes: Sequence[int], name: str) -> list[Chunk]:
    if len(sizes) <= 1:
        return [chunk]
    with open(path, "rb") as handle:
        handle.seek(chunk.start)
        data = handle.read(chunk.size)
    if len(data) != chunk.size or zlib.adler32(data) != chunk.checksum:
        raise InputChangedError(
            "the file changed while it was being checked (its bytes are not those the structural "
            "pass read); nothing was sent. Restore it and start again",
            path=name,
        )
    pieces: list[Chunk] = []
    pos, first_record, first_line = 0, chunk.first_record, chunk.first_line
    for size, end in zip(sizes, [*_ends(data, sizes), len(data)], strict=True):
        part = data[pos:end]
        pieces.append(
            Chunk(
                index=0,  # numbered by the caller
                start=chunk.start + pos,
                end=chunk.start + end,
                first_record=first_record,
                records=size,
                first_line=first_line,
                size=end - pos,
                checksum=zlib.adler32(part),
            )
        )
        pos, first_record, first_line = end, first_record + size, first_line + part.count(b"\n")
    return pieces


def shape_chunks(
    path: Path, chunks: Sequence[Chunk], *, max_records: int, name: str, batch: int = RECORDS_PER_BATCH
) -> tuple[Chunk, ...]:
    """``chunks`` with the first cut into a ramp and the last ``max_records`` records into a taper.

    Only the first and last chunks are read again (a few MB). Unchanged when chunks hold no more
    than one batch, or when the load is too small for both ends (then only the tail is cut).

    :raises InputChangedError: those bytes changed since the structural pass read them.
    """
    if max_records <= batch or not chunks or sum(c.records for c in chunks) <= 2 * batch:
        return tuple(chunks)
    shaped: list[Chunk] = []
    body = list(chunks)
    if len(body) >= 3:
        # The head ramp only when the load has a body of full chunks to keep the org busy meanwhile.
        head = body.pop(0)
        shaped.extend(_split(path, head, split_sizes(head.records, HEAD_PIECES, batch, tail=False), name))
    last = body.pop()
    shaped.extend(body)
    shaped.extend(_split(path, last, split_sizes(last.records, TAIL_PIECES, batch, tail=True), name))
    return tuple(
        Chunk(i, c.start, c.end, c.first_record, c.records, c.first_line, c.size, c.checksum)
        for i, c in enumerate(shaped)
    )
