"""Match keys from raw CSV bytes equal the keys of the csv module's values, however quoted."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import pytest

from asyncbulk._load._match import Normalizer, RowIndex, iter_range_rows
from asyncbulk._load._rawcsv import block_keys, raws_of, read_blocks, records_of, row_key

ROWS = [
    ["plain", "row", "1"],
    ["with, comma", 'a "quote"', ""],
    ["multi\nline", "", "x"],
    ["", "", ""],
    ['""', '"', "end\r\nwith crlf inside"],
    ["Nguyễn — ü", "tab\there", "semi;colon"],
    ["trailing space ", " lead", "#N/A"],
]


def render(rows: list[list[str]], *, quoting: int, eol: str, delimiter: str = ",") -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator=eol, quoting=quoting).writerows(rows)
    return out.getvalue().encode()


def keys_of(data: bytes, delimiter: str = ",", skip: int = 0, block_size: int = 1 << 20) -> list[int]:
    keys: list[int] = []
    stream = io.BytesIO(data)
    for block in records_of(stream.read, delimiter, block_size=block_size):
        found = block_keys(block, skip)
        assert found is not None
        keys += found
    return keys


@pytest.mark.parametrize("quoting", [csv.QUOTE_MINIMAL, csv.QUOTE_ALL])
@pytest.mark.parametrize("eol", ["\n", "\r\n"])
@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_raw_keys_equal_value_keys(quoting: int, eol: str, delimiter: str) -> None:
    data = render(ROWS, quoting=quoting, eol=eol, delimiter=delimiter)
    assert keys_of(data, delimiter) == [row_key(row) for row in ROWS]
    # The file's last record without a line ending.
    assert keys_of(data[: -len(eol)], delimiter) == [row_key(row) for row in ROWS]


def test_quoting_styles_meet_and_sf_columns_are_skipped() -> None:
    minimal = render(ROWS, quoting=csv.QUOTE_MINIMAL, eol="\n")
    results = render([["001", 'E:"x", y', *row] for row in ROWS], quoting=csv.QUOTE_ALL, eol="\n")
    assert keys_of(results, skip=2) == keys_of(minimal)


def test_different_values_get_different_keys() -> None:
    rows = [["a,b"], ["a", "b"], ["a\nb"], ['a"b'], ["ab"], ["a", "", "b"], ["a", "\nb"], ["a\n", "b"]]
    keys = keys_of(render(rows, quoting=csv.QUOTE_MINIMAL, eol="\n"))
    assert len(set(keys)) == len(rows)
    assert keys == [row_key(row) for row in rows]


def test_small_blocks_cut_only_at_record_ends() -> None:
    rng = random.Random(3)
    rows = [[rng.choice(["x", "a,b", 'q"q', "l\nl", "", "é"]) for _ in range(4)] for _ in range(300)]
    data = render(rows, quoting=csv.QUOTE_MINIMAL, eol="\r\n")
    for size in (1, 7, 64, 1000):
        assert keys_of(data, block_size=size) == [row_key(row) for row in rows]


def test_raws_are_the_records_byte_for_byte(tmp_path: Path) -> None:
    data = render(ROWS, quoting=csv.QUOTE_MINIMAL, eol="\r\n")
    path = tmp_path / "r.csv"
    path.write_bytes(data)
    raws = [raw for block in read_blocks(path, ",") for raw in raws_of(block, ",")]
    assert b"".join(raws) == data
    assert [next(csv.reader([raw.decode()])) for raw in raws] == ROWS


def test_a_nul_byte_takes_the_csv_module_path() -> None:
    [block] = records_of(io.BytesIO(b'a,"b\x00"\nc,d\n').read, ",")
    assert block_keys(block) is None
    assert block.raws == [b'a,"b\x00"\n', b"c,d\n"]


def test_index_of_a_range_matches_parsed_rows(tmp_path: Path) -> None:
    data = b"H1,H2,H3\n" + render(ROWS, quoting=csv.QUOTE_MINIMAL, eol="\n")
    path = tmp_path / "in.csv"
    path.write_bytes(data)
    start = data.index(b"\n") + 1
    index = RowIndex(Normalizer(["H1", "H2", "H3"]))
    index.extend(iter_range_rows(path, start, len(data) - start, ","), range(1, 100))
    assert [index.lookup(row) for row in ROWS] == list(range(1, len(ROWS) + 1))
    assert index.count == len(ROWS) and index.unique
    assert index.lookup(["", "", "", ""]) is None
    # The same range, parsed row by row as before.
    assert list(iter_range_rows(path, start, len(data) - start, ",")) == ROWS


TRICKY = [",", "\n", "\r\n", '","', '"\n"', 'a","b', '"', '""', "a,", ",a", "\na", "a\n", "", "x"]


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
@pytest.mark.parametrize("value", TRICKY)
@pytest.mark.parametrize("position", [0, 1, 2])
def test_salesforce_quoted_results_with_tricky_values(eol: str, value: str, position: int) -> None:
    """Every value quoted, as Salesforce writes results: keys and raws agree with the csv module."""
    rows = [["001", "true", "a", "b", "c"] for _ in range(3)]
    rows[1][2 + position] = value
    data = render(rows, quoting=csv.QUOTE_ALL, eol=eol)
    for cut in (data, data[: -len(eol)]):
        blocks = list(records_of(io.BytesIO(cut).read, ","))
        raws = [raw for block in blocks for raw in block.raws]
        assert keys_of(cut, skip=2) == [row_key(row[2:]) for row in rows]
        assert b"".join(raws) == cut
        assert [next(csv.reader([raw.decode()])) for raw in raws] == rows


def test_salesforce_quoted_results_take_the_fast_way() -> None:
    from asyncbulk._load._rawcsv import _all_quoted

    rows = [["001", "true", *row] for row in ROWS]
    data = render(rows, quoting=csv.QUOTE_ALL, eol="\n")
    found = _all_quoted(data, b",")
    assert found is not None and found.quoted is not None
    assert b"".join(found.raws) == data


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
@pytest.mark.parametrize("quoting", [csv.QUOTE_MINIMAL, csv.QUOTE_ALL])
def test_merged_rows_are_the_result_rows_byte_for_byte(tmp_path: Path, eol: str, quoting: int) -> None:
    from asyncbulk import ResultKind
    from asyncbulk._load._merge import ResultMerger

    columns = ["A", "B", "C"]
    index = RowIndex(Normalizer(columns))
    index.extend(ROWS, range(1, len(ROWS) + 1))
    results = [["001", "true", *row] for row in reversed(ROWS)]
    data = render([["sf__Id", "sf__Created", *columns], *results], quoting=quoting, eol=eol)
    success = tmp_path / "s.csv"
    success.write_bytes(data[: -len(eol)])  # the last row without its line ending
    merger = ResultMerger(tmp_path, columns=columns, delimiter=",", line_terminator=eol)
    merger.open()
    counts = merger.merge_job(
        job_id="750X", index=index, delimiter=",", paths={ResultKind.SUCCESSFUL: success}
    )
    merger.close()
    assert (counts.succeeded, counts.missing) == (len(ROWS), [])
    merged = (tmp_path / "success.csv").read_bytes()
    body = merged.split(eol.encode(), 1)[1]
    # Each row exactly as the result file had it, after the loader's three columns; the last
    # one gets the line ending it lacked.
    expected = b"".join(
        b"%d,750X,exact," % number + render([row], quoting=quoting, eol=eol)
        for number, row in zip(range(len(ROWS), 0, -1), results, strict=True)
    )
    assert body == expected
