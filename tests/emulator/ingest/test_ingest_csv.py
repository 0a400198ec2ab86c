"""Uploads in, result files out (``_ingest/_csv.py``, ``_ingest/_render.py``).

Covered: the batches ``BlockReader`` cuts from an upload file (against the csv module for
well-formed files; row by row for broken rows: the row fails, the batch goes on); the careful
parser's reasons; ``UploadCheck`` (line endings outside quotes, UTF-8, across chunk boundaries);
result files rendered per chunk from a batch's columns against the csv module; unprocessed rows.
"""

from __future__ import annotations

import csv
import io

import pytest
from org_helpers import batch

from asyncbulk.emulator import Org
from asyncbulk.emulator._data import BatchResults
from asyncbulk.emulator._ingest._csv import BlockReader, CsvParseError, UploadCheck, careful_records
from asyncbulk.emulator._ingest._render import render_blocks, render_results
from asyncbulk.emulator._vocab import LineEnding, ResultKind


def _batches(
    data: bytes, size: int, delimiter: str = ","
) -> tuple[list[str], list[tuple[list[list[str]], dict[int, str]]]]:
    reader = BlockReader(io.BytesIO(data), delimiter, size)
    out = []
    while (b := reader.next_batch()) is not None:
        block, errors = b
        out.append(([list(row) for row in zip(*block, strict=True)], errors))
    reader.close()
    return reader.header, out


def _reference(data: bytes) -> tuple[list[str], list[list[str]]]:
    rows = [r for r in csv.reader(io.StringIO(data.decode(), newline=""), strict=True) if r]
    return (rows[0], rows[1:]) if rows else ([], [])


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
def test_batches_hold_the_rows_the_csv_module_reads(size: int) -> None:
    for data in _csv_samples():
        header, rows = _reference(data)
        bheader, batches = _batches(data, size)
        assert bheader == header
        assert [row for rows_, _ in batches for row in rows_] == rows
        assert all(not errors for _, errors in batches)
        # every batch but the last is full: the batches are the same as slicing the rows
        assert [len(r) for r, _ in batches] == [min(size, len(rows) - s) for s in range(0, len(rows), size)]


def test_batches_other_delimiter() -> None:
    assert _batches(b"A|B\n1|x,y\n", 10, "|") == (["A", "B"], [([["1", "x,y"]], {})])


def test_broken_rows_fail_alone_and_keep_their_place() -> None:
    data = (
        b"A,B\n"
        + b"1,2\n" * 700
        + b"1,2,3\n"  # too many columns
        + b"x\n"  # too few
        + b'"B" ,2\n'  # a space after a closing quote
        + b'"A" x,2\n'  # text after a closing quote
        + b'B"x,2\n'  # a quote inside an unquoted value
        + b' "Smith",2\n'  # a space before an opening quote
        + b'"ok ""quoted""",3\n'
        + b"4,5\n"
    )
    header, batches = _batches(data, 703)
    assert header == ["A", "B"]
    rows = [row for rows_, _ in batches for row in rows_]
    errors = {i + 703 * n: e for n, (_, errs) in enumerate(batches) for i, e in errs.items()}
    assert len(rows) == 708 and rows[-2:] == [['ok "quoted"', "3"], ["4", "5"]]
    assert rows[700] == ["1", "2"] and rows[701] == ["x", ""]  # cut or padded to the header
    assert errors == {
        700: "INVALID_FIELD:Failed to parse CSV. Row has 3 columns but the header has 2:--",
        701: "INVALID_FIELD:Failed to parse CSV. Row has 1 columns but the header has 2:--",
        702: "INVALID_FIELD:Failed to parse CSV. Not expecting more text after end quote:--",
        703: "INVALID_FIELD:Failed to parse CSV. Not expecting more text after end quote:--",
        704: "INVALID_FIELD:Failed to parse CSV. Found unescaped quote. A value with quote should be "
        "within a quote:--",
        705: "INVALID_FIELD:Failed to parse CSV. Found unescaped quote. A value with quote should be "
        "within a quote:--",
    }


def test_unterminated_quote_fails_the_last_row() -> None:
    _, batches = _batches(b'A,B\n1,2\n3,"open\n4,5\n', 10)
    [(rows, errors)] = batches
    assert rows[0] == ["1", "2"] and len(rows) == 2
    assert errors == {1: "INVALID_FIELD:Failed to parse CSV. EOF reached before closing an opened quote:--"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'\xef\xbb\xbf"Name"\nx\n', "Found unescaped quote. A value with quote should be within a quote"),
        (b'"A" x,B\n1,2\n', "Not expecting more text after end quote"),
    ],
)
def test_an_unreadable_header_fails_the_job(data: bytes, message: str) -> None:
    with pytest.raises(CsvParseError) as info:
        BlockReader(io.BytesIO(data), ",", 10)
    assert str(info.value) == f"InvalidBatch : Failed to parse CSV. {message}"


def test_careful_records_agree_with_the_csv_module_on_good_rows() -> None:
    text = 'a,"b,c"\r\n"x\ny",""\n\n,\n"q""q",z'
    assert list(careful_records(text, ",")) == [
        (["a", "b,c"], None),
        (["x\ny", ""], None),
        (["", ""], None),
        (['q"q', "z"], None),
    ]


@pytest.mark.parametrize(
    ("ending", "chunks", "ok"),
    [
        (LineEnding.LF, [b"A,B\n1,2\n"], True),
        (LineEnding.LF, [b"A,B\r\n1,2\r\n"], False),
        (LineEnding.LF, [b'A,B\n"x\r\ny",2\n'], True),  # a CRLF inside quotes is the value's
        (LineEnding.LF, [b"A,B\r", b"\n1,2\n"], False),  # split across chunks
        (LineEnding.CRLF, [b"A,B\r\n1,2\r\n"], True),
        (LineEnding.CRLF, [b"A,B\n1,2\n"], False),
        (LineEnding.CRLF, [b"A,B\r\n1,2\n"], False),  # mixed
        (LineEnding.CRLF, [b"A,B\r", b"\n1,2\r", b"\n"], True),
        (LineEnding.CRLF, [b'A,B\r\n"x\ny",2\r\n'], True),
    ],
)
def test_upload_check_line_endings(ending: LineEnding, chunks: list[bytes], ok: bool) -> None:
    check = UploadCheck(ending)
    for chunk in chunks:
        check.feed(chunk)
    expected = (
        f"ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is {ending}"
    )
    assert check.finish() == (None if ok else expected)


def test_upload_check_utf8_across_chunks() -> None:
    check = UploadCheck(LineEnding.LF)
    check.feed("A\né".encode()[:-1])
    check.feed("A\né".encode()[-1:] + b"\n")
    assert check.finish() is None
    bad = UploadCheck(LineEnding.LF)
    bad.feed(b"A\n\xff\n")
    assert bad.finish() == "InvalidBatch : Failed to parse CSV. Invalid UTF-8 at byte 2"


def _mixed_results(org: Org) -> BatchResults:
    header = ["LastName", "Email", "Title", "Birthdate"]
    rows = [
        ['Quote "me"', "a@x.com", "x,y", "2000-01-31"],
        ["Bad", "not-an-email", "t", ""],
        ["Line\nbreak", "", "", "1999-12-31Z"],
        ["", "b@x.com", "no last name", ""],
    ]
    return batch(org, "Contact", "insert", None, header, rows)


def _row_by_row(res: BatchResults, delimiter: str, eol: str) -> tuple[bytes, bytes]:
    """What the result files must hold: each row written by the csv module, every value quoted."""
    ok, bad = io.StringIO(), io.StringIO()
    ok_rows = csv.writer(ok, delimiter=delimiter, lineterminator=eol, quoting=csv.QUOTE_ALL)
    bad_rows = csv.writer(bad, delimiter=delimiter, lineterminator=eol, quoting=csv.QUOTE_ALL)
    for r in res:
        if r.ok:
            ok_rows.writerow([r.sf_id, "true" if r.created else "false", *r.values])
        else:
            bad_rows.writerow([r.sf_id, r.error, *r.values])
    return ok.getvalue().encode(), bad.getvalue().encode()


def _joined(res: BatchResults, delimiter: str, eol: str, chunk: int = 200) -> tuple[bytes, bytes]:
    parts = render_results(res, 7, delimiter, eol, chunk)
    assert all(b == 7 for _, b, _ in parts)
    ok = b"".join(d for k, _, d in parts if k is ResultKind.SUCCESS)
    bad = b"".join(d for k, _, d in parts if k is ResultKind.FAILED)
    return ok, bad


@pytest.mark.parametrize(("delimiter", "eol"), [(",", "\n"), ("\t", "\r\n"), ("|", "\n")])
def test_result_files_rendered_from_columns(delimiter: str, eol: str) -> None:
    org = Org()
    res = _mixed_results(org)
    assert _joined(res, delimiter, eol) == _row_by_row(res, delimiter, eol)
    assert _joined(res, delimiter, eol, chunk=1) == _row_by_row(res, delimiter, eol)
    ok, bad = _joined(res, delimiter, eol)
    assert ok.count(b'"true"') == 2
    assert b'"Quote ""me"""' in ok and b'"not-an-email"' in bad
    # updates (ids on failures too) and deletes take other paths
    ids = [r.sf_id for r in res if r.ok]
    upd = batch(org, "Contact", "update", None, ["Id", "Title"], [[ids[0], '"t"'], ["003bad", "x"]])
    assert _joined(upd, delimiter, eol) == _row_by_row(upd, delimiter, eol)
    gone = batch(org, "Contact", "delete", None, ["Id"], [[ids[1]], [ids[1][:3] + "x" * 15]])
    assert _joined(gone, delimiter, eol) == _row_by_row(gone, delimiter, eol)
    all_ok = batch(org, "Contact", "insert", None, ["LastName"], [["A"], ["B"], ["C"]])
    assert _joined(all_ok, delimiter, eol, chunk=2) == _row_by_row(all_ok, delimiter, eol)
    assert len(render_results(all_ok, 0, delimiter, eol, 2)) == 2  # one stored chunk per 2 rows
    assert render_results(batch(org, "Contact", "insert", None, ["LastName"], []), 0, ",", "\n", 200) == []


def test_unprocessed_rows_written_back_quoted_only_where_needed() -> None:
    blocks = [(("a", 'say "hi"'), ("x,y", "")), (("last",), ("z",))]
    assert render_blocks(blocks, ",", "\r\n") == b'a,"x,y"\r\n"say ""hi""",\r\nlast,z\r\n'
    assert render_blocks([], ",", "\n") == b""
