"""The splitter: layout detection, chunk boundaries, byte-exactness, encodings and rows to CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from asyncbulk import ColumnDelimiter, InputChangedError, InputError, LineEnding
from asyncbulk._csv import (
    Chunk,
    CsvLayout,
    inspect_layout,
    iter_chunks,
    plan_chunks,
    read_chunk,
    rows_to_csv,
    rows_to_csv_sync,
    transcode_to_utf8,
    validate,
)

HEADER = ["Id", "Name", "Description"]
# Quoted delimiters, doubled quotes, LF and CRLF inside fields, and non-ASCII text.
ROWS = [
    [str(i), f'Name "{i}"' if i % 3 == 0 else f"Nä{i}", ["", "a,b", "x\ny", "p\r\nq", 'say ""hi""'][i % 5]]
    for i in range(40)
]


def write_csv(
    path: Path,
    rows: Sequence[Sequence[str]],
    *,
    header: Sequence[str] = HEADER,
    ending: str = "\n",
    delimiter: str = ",",
    bom: bool = False,
) -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator=ending)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode())
    return path


def parse_chunk(data: bytes, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(), newline=""), delimiter=delimiter))


def check_chunks(
    path: Path,
    layout: CsvLayout,
    chunks: Sequence[Chunk],
    *,
    max_records: int,
    max_bytes: int,
    rows: Sequence[Sequence[str]],
    delimiter: str = ",",
) -> None:
    """Every invariant the loader relies on."""
    raw = path.read_bytes()
    assert b"".join(raw[c.start : c.end] for c in chunks) == raw[layout.data_start :]
    back: list[list[str]] = []
    for i, chunk in enumerate(chunks):
        assert chunk.index == i
        assert chunk.size == chunk.end - chunk.start
        assert 1 <= chunk.records <= max_records
        assert len(layout.header_line) + chunk.size <= max_bytes
        assert chunk.first_record == len(back) + 1
        assert chunk.first_line == raw[: chunk.start].count(b"\n") + 1
        data = read_chunk(path, layout, chunk)
        assert data.startswith(layout.header_line)
        parsed = parse_chunk(data, delimiter)
        assert parsed[0] == list(layout.columns)
        assert len(parsed) - 1 == chunk.records
        back.extend(parsed[1:])
    assert back == [list(r) for r in rows]


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
@pytest.mark.parametrize("block_size", [1, 2, 5, 17, 64, 1 << 20])
def test_chunks_across_block_boundaries(tmp_path: Path, ending: str, block_size: int) -> None:
    path = write_csv(tmp_path / "in.csv", ROWS, ending=ending)
    layout = inspect_layout(path)
    assert layout.line_ending is (LineEnding.CRLF if ending == "\r\n" else LineEnding.LF)
    report = validate(path, layout, block_size=block_size)
    assert report.records == len(ROWS)
    assert report.lines == path.read_bytes().count(b"\n")
    for max_records, max_bytes in [(1, 10**6), (7, 10**6), (40, 10**6), (10**6, 80), (3, 60), (10**6, 10**6)]:
        result = plan_chunks(
            path, layout, max_records=max_records, max_bytes=max_bytes, block_size=block_size
        )
        check_chunks(path, layout, result.chunks, max_records=max_records, max_bytes=max_bytes, rows=ROWS)
        assert result.report.records == len(ROWS)
        streamed = list(
            iter_chunks(path, layout, max_records=max_records, max_bytes=max_bytes, block_size=block_size)
        )
        assert tuple(streamed) == result.chunks


def test_record_limit_makes_exact_chunks(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "in.csv", ROWS)
    layout = inspect_layout(path)
    chunks = list(iter_chunks(path, layout, max_records=10, max_bytes=10**6))
    assert [c.records for c in chunks] == [10, 10, 10, 10]
    assert [c.first_record for c in chunks] == [1, 11, 21, 31]


def test_byte_limit_counts_the_header(tmp_path: Path) -> None:
    rows = [[str(i), "n", "d"] for i in range(10)]  # each record "i,n,d\n" is 6 bytes
    path = write_csv(tmp_path / "in.csv", rows)
    layout = inspect_layout(path)
    assert layout.header_line == b"Id,Name,Description\n"  # 21 bytes
    chunks = list(iter_chunks(path, layout, max_records=100, max_bytes=21 + 18))
    assert [c.records for c in chunks] == [3, 3, 3, 1]
    assert all(len(read_chunk(path, layout, c)) <= 39 for c in chunks)


def test_record_larger_than_max_bytes(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "in.csv", [["1", "n", "short"], ["2", "n", "x" * 100]])
    layout = inspect_layout(path)
    with pytest.raises(InputError) as info:
        list(iter_chunks(path, layout, max_records=100, max_bytes=60))
    assert (info.value.record, info.value.line) == (2, 3)
    assert "max_bytes=60" in info.value.reason
    with pytest.raises(ValueError, match="max_bytes"):
        list(iter_chunks(path, layout, max_records=100, max_bytes=10))


def test_last_record_without_line_ending(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b'a,b\n1,2\n3,"x\ny"')
    layout = inspect_layout(path)
    for block_size in (1, 3, 100):
        report = validate(path, layout, block_size=block_size)
        assert (report.records, report.lines, report.ends_with_line_ending) == (2, 4, False)
        chunks = list(iter_chunks(path, layout, max_records=1, max_bytes=1000, block_size=block_size))
        assert [(c.start, c.end, c.first_line) for c in chunks] == [(4, 8, 2), (8, 15, 3)]
        assert read_chunk(path, layout, chunks[1]) == b'a,b\n3,"x\ny"'


def test_bom_is_stripped(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "in.csv", ROWS, bom=True)
    layout = inspect_layout(path)
    assert layout.bom and layout.header == b"Id,Name,Description" and layout.columns == HEADER
    assert layout.data_start == 3 + len(b"Id,Name,Description\n")
    chunks = plan_chunks(path, layout, max_records=15, max_bytes=10**6).chunks
    check_chunks(path, layout, chunks, max_records=15, max_bytes=10**6, rows=ROWS)
    assert not read_chunk(path, layout, chunks[0]).startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize("delimiter", list(ColumnDelimiter))
def test_all_six_delimiters(tmp_path: Path, delimiter: ColumnDelimiter) -> None:
    char = delimiter.char
    rows = [[str(i), f"a{char}b" if i % 2 else "plain", f'q"{char}\n"'] for i in range(25)]
    path = write_csv(tmp_path / "in.csv", rows, delimiter=char, ending="\r\n")
    layout = inspect_layout(path, delimiter=delimiter)
    assert layout.delimiter == char.encode() and layout.column_delimiter is delimiter
    assert validate(path, layout, block_size=7).records == 25
    chunks = plan_chunks(path, layout, max_records=4, max_bytes=10**6, block_size=7).chunks
    check_chunks(path, layout, chunks, max_records=4, max_bytes=10**6, rows=rows, delimiter=char)


def test_header_only(tmp_path: Path) -> None:
    for content, lines in [(b"Id,Name\n", 1), (b"Id,Name", 1), (b"Id,Name\r\n", 1)]:
        path = tmp_path / "h.csv"
        path.write_bytes(content)
        layout = inspect_layout(path)
        report = validate(path, layout)
        assert report.header_only and report.records == 0 and report.lines == lines
        assert "header line but no records" in report.header_only_message
        assert list(iter_chunks(path, layout, max_records=10, max_bytes=1000)) == []


def test_line_ending_detection_and_override(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "in.csv", ROWS, ending="\r\n")
    assert inspect_layout(path, line_ending="CRLF").line_ending is LineEnding.CRLF
    with pytest.raises(InputError, match="line_ending=LF was given but the file's lines end with CRLF"):
        inspect_layout(path, line_ending=LineEnding.LF)


def test_quoted_header_names(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b'"Id","Name"\n1,x\n')
    layout = inspect_layout(path)
    assert layout.columns == ["Id", "Name"] and layout.header == b'"Id","Name"'
    assert validate(path, layout).records == 1


def test_read_chunk_refuses_a_chunk_that_changed_since_it_was_planned(tmp_path: Path) -> None:
    """Each chunk carries the checksum of its bytes as planned: a rewrite of the same size is seen."""
    path = write_csv(tmp_path / "in.csv", ROWS)
    layout = inspect_layout(path)
    chunks = list(iter_chunks(path, layout, max_records=5, max_bytes=10**6))
    data = read_chunk(path, layout, chunks[1])
    assert data.startswith(layout.header_line)
    raw = bytearray(path.read_bytes())
    raw[chunks[1].start + 1] ^= 0x01  # one bit, same size
    path.write_bytes(bytes(raw))
    assert read_chunk(path, layout, chunks[0])  # an untouched chunk still reads
    with pytest.raises(InputChangedError, match="changed while it was being loaded"):
        read_chunk(path, layout, chunks[1])


def test_transcode_latin1(tmp_path: Path) -> None:
    src = tmp_path / "latin.csv"
    src.write_bytes('Id,Name\r\n1,Zoë Müller\r\n2,"Çà, va"\r\n'.encode("latin-1"))
    dest = tmp_path / "utf8.csv"
    transcode_to_utf8(src, dest, "latin-1", block_size=3)
    assert dest.read_bytes() == 'Id,Name\r\n1,Zoë Müller\r\n2,"Çà, va"\r\n'.encode()
    layout = inspect_layout(dest)
    assert layout.line_ending is LineEnding.CRLF and validate(dest, layout).records == 2


def test_transcode_utf16_drops_bom_and_reports_bad_bytes(tmp_path: Path) -> None:
    src = tmp_path / "u16.csv"
    src.write_bytes("Id,Name\n1,日本\n".encode("utf-16"))
    dest = tmp_path / "out.csv"
    transcode_to_utf8(src, dest, "utf-16")
    assert dest.read_bytes() == "Id,Name\n1,日本\n".encode()
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"Id\n1\n\x81\n")
    with pytest.raises(InputError, match=r"not valid cp1252 near byte offset 5") as info:
        transcode_to_utf8(bad, dest, "cp1252")
    assert info.value.line == 3


DICT_ROWS: list[dict[str, object]] = [
    {"Name": "Acme, Inc.", "Active__c": True, "Since__c": dt.date(2024, 2, 29), "Note": 'say "hi"\nbye'},
    {
        "Name": "Zed",
        "Active__c": False,
        "Since__c": None,
        "Seen__c": dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    },
    {"Name": "CR\ronly", "Active__c": None},
]
COLUMNS = ["Name", "Active__c", "Since__c", "Note", "Seen__c"]
EXPECTED = [
    COLUMNS,
    ["Acme, Inc.", "true", "2024-02-29", 'say "hi"\nbye', ""],
    ["Zed", "false", "", "", "2024-01-02T01:04:05.678Z"],
    ["CR\ronly", "", "", "", ""],
]


def test_rows_to_csv_sync(tmp_path: Path) -> None:
    dest = tmp_path / "rows.csv"
    layout = rows_to_csv_sync(iter(DICT_ROWS), dest, columns=COLUMNS, line_ending="CRLF")
    assert layout.columns == COLUMNS and layout.line_ending is LineEnding.CRLF
    assert parse_chunk(dest.read_bytes()) == EXPECTED
    assert validate(dest, layout).records == 3  # the lone CR was quoted, so the file is valid


async def test_rows_to_csv_async(tmp_path: Path) -> None:
    async def agen() -> AsyncIterator[dict[str, object]]:
        for row in DICT_ROWS:
            yield row

    dest = tmp_path / "rows.csv"
    layout = await rows_to_csv(agen(), dest, columns=COLUMNS, delimiter="PIPE", batch=2)
    assert layout.delimiter == b"|"
    assert list(csv.reader(io.StringIO(dest.read_bytes().decode(), newline=""), delimiter="|")) == EXPECTED
    assert validate(dest, layout).records == 3
    with pytest.raises(TypeError, match="await rows_to_csv"):
        rows_to_csv_sync(agen(), dest)  # type: ignore[arg-type]


async def test_rows_to_csv_header_from_first_row_and_unknown_keys(tmp_path: Path) -> None:
    dest = tmp_path / "rows.csv"
    layout = await rows_to_csv([{"A": 1, "B": 2.5}, {"B": None}], dest)
    assert layout.columns == ["A", "B"] and dest.read_bytes() == b"A,B\n1,2.5\n,\n"
    with pytest.raises(InputError, match="not in the columns") as info:
        rows_to_csv_sync([{"A": 1}, {"A": 2, "C": 3}], dest)
    assert info.value.record == 2
    with pytest.raises(ValueError, match="no rows and no columns"):
        rows_to_csv_sync([], dest)


@pytest.mark.parametrize("seed", range(12))
def test_random_csvs_round_trip(tmp_path: Path, seed: int) -> None:
    """Property-style: random CSVs, random limits and block sizes, parsed back equal."""
    rng = random.Random(seed)
    delimiter = rng.choice(list(ColumnDelimiter))
    ending = rng.choice(["\n", "\r\n"])
    alphabet = ["a", "Z", "é", "日", " ", '"', "\n", "\r\n", delimiter.char, ",", "x" * 5]
    ncols = rng.randint(1, 6)
    header = [f"F{i}" for i in range(ncols)]

    def value() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))

    rows = [[value() for _ in range(ncols)] for _ in range(rng.randint(1, 60))]
    path = write_csv(tmp_path / "r.csv", rows, header=header, ending=ending, delimiter=delimiter.char)
    layout = inspect_layout(path, delimiter=delimiter)
    block_size = rng.choice([1, 3, 8, 50, 4096])
    assert validate(path, layout, block_size=block_size).records == len(rows)
    longest = max(len(path.read_bytes()) // len(rows), 64) * 4
    max_bytes = len(layout.header_line) + rng.randint(longest, longest * 3)
    max_records = rng.randint(1, 20)
    try:
        chunks = plan_chunks(
            path, layout, max_records=max_records, max_bytes=max_bytes, block_size=block_size
        ).chunks
    except InputError as exc:  # a random record may be longer than the random byte budget
        assert "larger than max_bytes" in exc.reason
        return
    check_chunks(
        path,
        layout,
        chunks,
        max_records=max_records,
        max_bytes=max_bytes,
        rows=rows,
        delimiter=delimiter.char,
    )
