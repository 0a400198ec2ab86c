"""Uploads in, result files out (``_ingest/_csv.py``): the column-wise fast paths give the plain answers.

Covered: ``parse_csv_blocks`` (upload cut into column-wise batches) against ``parse_csv``; result
files rendered from a batch's columns against the csv module writing every row, all values quoted;
unprocessed rows written back.
"""

from __future__ import annotations

import csv
import io

import pytest
from org_helpers import batch

from asyncbulk.emulator import Org
from asyncbulk.emulator._data import BatchResults
from asyncbulk.emulator._ingest._csv import (
    CsvParseError,
    parse_csv,
    parse_csv_blocks,
    render_blocks,
    render_results,
)


def _rows_of(blocks: list[tuple[tuple[str, ...], ...]]) -> list[list[str]]:
    return [list(row) for block in blocks for row in zip(*block, strict=True)]


def _error(fn: object, *args: object) -> str:
    with pytest.raises(CsvParseError) as info:
        fn(*args)  # type: ignore[operator]
    return str(info.value)


def _csv_samples() -> list[bytes]:
    many = "".join(f"a{i},b{i}\n" + ("\n" if i % 97 == 0 else "") for i in range(1_234))
    return [
        b"",
        b"\n\n",
        b"A,B\n",
        b"\nA,B\n1,2",
        b"A,B\r\n1,2\r\n\r\n3,4\r\n",
        b'A,B\n"multi\nline","say ""hi"""\n,\n',
        ("A,B\n" + many).encode(),
        ("A,B\n" + "\n" * 600 + "x,y\n").encode(),  # a whole chunk of blank lines
    ]


@pytest.mark.parametrize("size", [1, 2, 3, 499, 500, 501, 10_000])
def test_blocks_hold_the_rows_parse_csv_gives(size: int) -> None:
    for data in _csv_samples():
        header, rows = parse_csv(data, ",")
        bheader, blocks = parse_csv_blocks(data, ",", size)
        assert bheader == header
        assert _rows_of(blocks) == rows
        # every block but the last is full: the batches are the same as slicing the rows
        assert [len(b[0]) for b in blocks] == [min(size, len(rows) - s) for s in range(0, len(rows), size)]
        assert all(isinstance(col, tuple) for b in blocks for col in b)


def test_blocks_other_delimiter() -> None:
    data = b"A|B\n1|x,y\n"
    assert parse_csv_blocks(data, "|", 10) == (["A", "B"], [(("1",), ("x,y",))])


@pytest.mark.parametrize(
    "data",
    [
        b"A,B\n" + b"1,2\n" * 1_100 + b"1,2,3\n",  # width error late in the file
        b"A,B\n1,2\n1\n" + b'x,"bad"quote\n',  # width error before a quoting error, same chunk
        b'A,B\n1,2\nx,"bad"quote\n1\n',  # quoting error first
        b"A,B\n\xff,1\n",  # not UTF-8
    ],
)
def test_blocks_report_the_first_error_as_parse_csv_does(data: bytes) -> None:
    expected = _error(parse_csv, data, ",")
    assert expected.startswith("InvalidBatch : Failed to parse CSV.")
    assert _error(parse_csv_blocks, data, ",", 10_000) == expected
    assert _error(parse_csv_blocks, data, ",", 2) == expected


def _mixed_results(org: Org) -> BatchResults:
    header = ["LastName", "Email", "Title", "Birthdate"]
    rows = [
        ['Quote "me"', "a@x.com", "x,y", "2000-01-31"],
        ["Bad", "not-an-email", "t", ""],
        ["Line\nbreak", "", "", "1999-12-31Z"],
        ["", "b@x.com", "no last name", ""],
    ]
    return batch(org, "Contact", "insert", None, header, rows)


def _row_by_row(res: BatchResults, delimiter: str, eol: str) -> tuple[bytes, bytes, int]:
    """What the result files must hold: each row written by the csv module, every value quoted."""
    ok, bad = io.StringIO(), io.StringIO()
    ok_rows = csv.writer(ok, delimiter=delimiter, lineterminator=eol, quoting=csv.QUOTE_ALL)
    bad_rows = csv.writer(bad, delimiter=delimiter, lineterminator=eol, quoting=csv.QUOTE_ALL)
    for r in res:
        if r.ok:
            ok_rows.writerow([r.sf_id, "true" if r.created else "false", *r.values])
        else:
            bad_rows.writerow([r.sf_id, r.error, *r.values])
    return ok.getvalue().encode(), bad.getvalue().encode(), res.failed


@pytest.mark.parametrize(("delimiter", "eol"), [(",", "\n"), ("\t", "\r\n"), ("|", "\n")])
def test_result_files_rendered_from_columns(delimiter: str, eol: str) -> None:
    org = Org()
    res = _mixed_results(org)
    assert render_results(res, delimiter, eol) == _row_by_row(res, delimiter, eol)
    ok, bad, failed = render_results(res, delimiter, eol)
    assert failed == 2 and ok.count(b'"true"') == 2
    assert b'"Quote ""me"""' in ok and b'"not-an-email"' in bad
    # updates (ids on failures too) and deletes take other paths
    ids = [r.sf_id for r in res if r.ok]
    upd = batch(org, "Contact", "update", None, ["Id", "Title"], [[ids[0], '"t"'], ["003bad", "x"]])
    assert render_results(upd, delimiter, eol) == _row_by_row(upd, delimiter, eol)
    gone = batch(org, "Contact", "delete", None, ["Id"], [[ids[1]], [ids[1][:3] + "x" * 15]])
    assert render_results(gone, delimiter, eol) == _row_by_row(gone, delimiter, eol)
    all_ok = batch(org, "Contact", "insert", None, ["LastName"], [["A"], ["B"]])
    assert render_results(all_ok, delimiter, eol) == _row_by_row(all_ok, delimiter, eol)
    assert render_results(batch(org, "Contact", "insert", None, ["LastName"], []), ",", "\n") == (b"", b"", 0)


def test_unprocessed_rows_written_back_quoted_only_where_needed() -> None:
    blocks = [(("a", 'say "hi"'), ("x,y", "")), (("last",), ("z",))]
    assert render_blocks(blocks, ",", "\r\n") == b'a,"x,y"\r\n"say ""hi""",\r\nlast,z\r\n'
    assert render_blocks([], ",", "\n") == b""
