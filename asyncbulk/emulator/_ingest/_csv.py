"""Uploads in, result files out: CSV parsed into column-wise blocks, results rendered from columns.

Performance notes: an upload is parsed once per job into blocks of ``batch_size`` rows kept
column-wise as tuples of strings, which the garbage collector stops tracking (a million row lists
made its full passes hold the GIL for 100-400 ms, the worst job-status latencies seen). Result
files are rendered column-wise from :class:`~.._data.BatchResults` with a few C-level joins.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from itertools import islice

from .._data import BatchResults, Block
from .._vocab import ResultKind

__all__ = [
    "CsvParseError",
    "parse_csv",
    "parse_csv_blocks",
    "render_blocks",
    "render_results",
    "result_header",
]

_PARSE_CHUNK = 500  # rows read at a time by parse_csv_blocks


class CsvParseError(Exception):
    """Uploaded CSV that Salesforce cannot parse; the message is the job's ``errorMessage``."""


def parse_csv(data: bytes, delimiter: str) -> tuple[list[str], list[list[str]]]:
    """Split uploaded CSV into header and rows, the way Salesforce reads it.

    Blank lines are skipped. A decoding error, a quoting error or a row whose field count differs
    from the header's fails the whole job (``InvalidBatch : Failed to parse CSV. ...``; the
    "Found unescaped quote" wording is reported from real orgs). The csv module's default field
    limit, 131,072 characters, is also Salesforce's field limit.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CsvParseError(
            f"InvalidBatch : Failed to parse CSV. Invalid UTF-8 at byte {exc.start}"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header: list[str] | None = None
        rows: list[list[str]] = []
        append = rows.append
        for row in reader:
            if not row:
                continue
            if header is None:
                header = row
                width = len(row)
                continue
            if len(row) != width:
                raise CsvParseError(
                    f"InvalidBatch : Failed to parse CSV. Row {reader.line_num - 1} has {len(row)} "
                    f"columns but the header has {width}"
                )
            append(row)
    except csv.Error as exc:
        raise _csv_error(exc) from None
    return header or [], rows


def _csv_error(exc: csv.Error) -> CsvParseError:
    reason = str(exc)
    if "expected after" in reason or "quote" in reason:
        reason = "Found unescaped quote. A value with quote should be within a quote"
    return CsvParseError(f"InvalidBatch : Failed to parse CSV. {reason}")


def parse_csv_blocks(data: bytes, delimiter: str, size: int) -> tuple[list[str], list[Block]]:
    """:func:`parse_csv`, with the rows cut into blocks of ``size`` (one per batch), column-wise.

    Same rules and errors as :func:`parse_csv`, which is re-run on a bad file to word its first
    error (with its line number). Rows are read a few hundred at a time and checked with C-level
    calls; each block is a tuple of column tuples (see :data:`Block`).
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        parse_csv(data, delimiter)  # raises the decoding error
        raise
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    blocks: list[Block] = []
    try:
        header = next((row for row in reader if row), None)
        if header is None:
            return [], []
        width = len(header)
        # Column lists filled a few hundred rows at a time: row lists die young that way, before
        # the garbage collector promotes them, and full collections stay rare (half the parse
        # time otherwise, and pauses of the event loop thread).
        columns: list[list[str]] = [[] for _ in range(width)]
        filled = 0
        while chunk := list(islice(reader, _PARSE_CHUNK)):
            widths = set(map(len, chunk))
            if widths != {width}:
                if 0 in widths:  # blank lines are skipped
                    chunk = [row for row in chunk if row]
                    widths.discard(0)
                if widths - {width}:
                    parse_csv(data, delimiter)  # raises the error naming the row
                    raise AssertionError("parse_csv accepted a row of the wrong width")
                if not chunk:
                    continue
            for column, part in zip(columns, zip(*chunk, strict=True), strict=True):
                column.extend(part)
            filled += len(chunk)
            while filled >= size:
                blocks.append(tuple(tuple(column[:size]) for column in columns))
                for column in columns:
                    del column[:size]
                filled -= size
        if filled:
            blocks.append(tuple(tuple(column) for column in columns))
    except csv.Error:
        pass
    else:
        return header, blocks
    # A quoting error: parse_csv reports the first problem of the file (a row of the wrong width
    # may come before it in the same chunk).
    parse_csv(data, delimiter)
    raise AssertionError("parse_csv accepted what the csv module refused")


def _quoted_lines(columns: list[Sequence[str]], delimiter: str, eol: str, *, safe: int) -> bytes:
    """Rows given as columns, every value quoted, one line each (``eol`` after every line).

    Built with C-level joins instead of a call per value: quotes are doubled column by column
    (only in columns that have any; the first ``safe`` columns never do), then every row is
    joined with ``"<delimiter>"`` and the rows with ``"<eol>"``.
    """
    cols = list(columns)
    for j in range(safe, len(cols)):
        if '"' in "".join(cols[j]):
            cols[j] = [v.replace('"', '""') for v in cols[j]]
    lines = map(f'"{delimiter}"'.join, zip(*cols, strict=True))
    return ('"' + f'"{eol}"'.join(lines) + '"' + eol).encode()


def render_results(res: BatchResults, delimiter: str, eol: str) -> tuple[bytes, bytes, int]:
    """A batch's results rendered: (successfulResults rows, failedResults rows, number failed).

    Every value is quoted (quotes doubled), as in Salesforce's result example ("Get Job Successful
    Record Results",
    https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/get_job_successful_results.htm).
    """
    if not res.n:
        return b"", b"", 0
    errors = res.errors
    ids, created = res.ids, res.created
    ok_cols: list[Sequence[str]]
    if not errors:
        flags = ["true"] * res.n if False not in created else ["true" if c else "false" for c in created]
        ok_cols = [ids, flags, *res.values]
    else:
        ok = [i for i in range(res.n) if i not in errors]
        ok_cols = [
            [ids[i] for i in ok],
            ["true" if created[i] else "false" for i in ok],
            *([col[i] for i in ok] for col in res.values),
        ]
    ok_bytes = _quoted_lines(ok_cols, delimiter, eol, safe=2) if ok_cols[0] else b""
    bad_bytes = b""
    if errors:
        bad = sorted(errors)
        bad_cols: list[Sequence[str]] = [
            [ids[i] for i in bad],
            [errors[i] for i in bad],
            *([col[i] for i in bad] for col in res.raw),
        ]
        bad_bytes = _quoted_lines(bad_cols, delimiter, eol, safe=1)
    return ok_bytes, bad_bytes, len(errors)


def render_blocks(blocks: Sequence[Block], delimiter: str, eol: str) -> bytes:
    """Blocks' rows written back as CSV (unprocessed records), quoting only where needed."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=eol)
    for block in blocks:
        writer.writerows(zip(*block, strict=True))
    return out.getvalue().encode()


def result_header(kind: ResultKind, header: Sequence[str], delimiter: str, eol: str) -> bytes:
    """The header line of a result file: ``sf__`` names quoted, uploaded names echoed as uploaded."""
    if kind is ResultKind.SUCCESS:
        names = ['"sf__Id"', '"sf__Created"', *header]
    elif kind is ResultKind.FAILED:
        names = ['"sf__Id"', '"sf__Error"', *header]
    else:
        names = list(header)
    return (delimiter.join(names) + eol).encode()
