"""Result files out: a batch's results rendered in chunks, unprocessed rows, the header lines.

Every value of a result row is quoted (quotes doubled), as in Salesforce's example ("Get Job
Successful Record Results",
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/get_job_successful_results.htm).
A batch's results are cut into chunks of ``chunk`` input rows (the 200-record chunks a real org
processes a batch in), stored apart, so that a result file can interleave the chunks of the job's
batches the way a real org's results come: "in batch-completion order, not input order".
Rendering is column-wise with a few C-level joins instead of a call per value.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from .._data import BatchResults, Block
from .._vocab import ResultKind

__all__ = ["render_blocks", "render_results", "result_header"]


def _quoted_lines(columns: Sequence[Sequence[str]], delimiter: str, eol: str, *, safe: int) -> bytes:
    """Rows given as columns, every value quoted, one line each (``eol`` after every line).

    Quotes are doubled column by column (only in columns that have any; the first ``safe``
    columns never do), then every row is joined with ``"<delimiter>"`` and the rows with ``"<eol>"``.
    """
    cols = list(columns)
    for j in range(safe, len(cols)):
        if '"' in "".join(cols[j]):
            cols[j] = [v.replace('"', '""') for v in cols[j]]
    lines = map(f'"{delimiter}"'.join, zip(*cols, strict=True))
    return ('"' + f'"{eol}"'.join(lines) + '"' + eol).encode()


def render_results(
    res: BatchResults, batch: int, delimiter: str, eol: str, chunk: int
) -> list[tuple[ResultKind, int, bytes]]:
    """A batch's results as ``(kind, batch, rows)`` to store: success and failed rows, per chunk."""
    out: list[tuple[ResultKind, int, bytes]] = []
    errors = res.errors
    ids, created = res.ids, res.created
    for start in range(0, res.n, chunk):
        stop = min(start + chunk, res.n)
        if not errors:
            flags = created[start:stop]
            ok_cols: list[Sequence[str]] = [
                ids[start:stop],
                ["true"] * (stop - start)
                if False not in flags
                else ["true" if c else "false" for c in flags],
                *(col[start:stop] for col in res.values),
            ]
            out.append((ResultKind.SUCCESS, batch, _quoted_lines(ok_cols, delimiter, eol, safe=2)))
            continue
        ok = [i for i in range(start, stop) if i not in errors]
        bad = [i for i in range(start, stop) if i in errors]
        if ok:
            ok_cols = [
                [ids[i] for i in ok],
                ["true" if created[i] else "false" for i in ok],
                *([col[i] for i in ok] for col in res.values),
            ]
            out.append((ResultKind.SUCCESS, batch, _quoted_lines(ok_cols, delimiter, eol, safe=2)))
        if bad:
            bad_cols: list[Sequence[str]] = [
                [ids[i] for i in bad],
                [errors[i] for i in bad],
                *([col[i] for i in bad] for col in res.raw),
            ]
            out.append((ResultKind.FAILED, batch, _quoted_lines(bad_cols, delimiter, eol, safe=1)))
    return out


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
