"""Records of a CSV text, and their match keys, a block at a time and without the csv module.

The merge matches every result row to an input record by its values. The profile of the first
block-wise merge showed the csv module itself as the cost: about 2 us to parse one 14-field row
(a C state machine per character plus one str object per field), on both sides, for every record.
The key needs no field objects, only a text that stands for the values one to one:

* Split the block at its quotes. Blocks hold whole records, so the pieces alternate outside /
  inside quotes; an empty outside piece between two quoted ones is a doubled quote (``""``).
* Outside quotes, a delimiter becomes the two characters NUL NUL and a line end (LF or CRLF)
  ends the record; inside quotes, an LF becomes NUL SOH. A valid input holds no NUL (the
  structural pass rejects it), so after a NUL the next character always says which it was: the
  text decodes to exactly one list of values. :func:`row_key` builds the same text from values.
* The same pieces, with a NUL marker after each line end outside quotes, give every record's raw
  text (the merge writes result rows back byte for byte).

Every step is one C-level call over the block (``split``, ``map(str.replace)``, ``join``), so a
record costs a fraction of a microsecond whichever way its fields were quoted. A block with a NUL
or with quotes that do not pair up gets ``None``: the caller parses it with the csv module.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Sequence
from itertools import compress, repeat
from pathlib import Path

from .._csv import last_record_end

__all__ = ["RESULT_BLOCK_SIZE", "Block", "block_keys", "raws_of", "read_blocks", "records_of", "row_key"]

#: Bytes of a CSV file read per block. A block is split into a bytes object per record and per
#: key (about 70,000 objects for 1 MB of results), and a few merges run at once: 256 KB blocks
#: took the peak RSS of a 1,000,000-row load from 104-133 MB to 91-103 MB (benchmarks, base
#: scenario, 4 runs each) at the same CPU time, and the merge ran no slower (split-merge, 1 MB
#: blocks 124-131k records/s, 256 KB 132-149k). A record longer than a block still fits: the
#: block grows to hold the record it carries over.
RESULT_BLOCK_SIZE = 1 << 18

_FIELD = b"\x00\x01"  # between two values
_END = b"\n\x00\x00"  # a record end (no value holds a NUL, so this is never a value's)


def row_key(values: Sequence[str]) -> int:
    """The exact match key of a row's values: the same as :func:`block_keys` finds for the
    record, however its fields were quoted."""
    text = "\x00\x01".join(values)
    if text.count("\x00") != len(values) - 1:
        return hash(tuple(values))  # a value holds a NUL: not a valid input value anyway
    return hash(text.encode("utf-8", "surrogatepass"))


class Block:
    """Whole records of a CSV file's bytes.

    :param raws: each record as in the file, its line ending included (the file's last record
        may have none).
    :param canon: the bytes that stand for each record's values (see the module), or None when
        the block must be parsed with the csv module.
    :param quoted: for a block in Salesforce's result form, each record between its first and
        last quote and the block's line ending: the raws are built from them only if needed.
    """

    __slots__ = ("_raws", "canon", "data", "quoted", "tail")

    def __init__(
        self,
        data: bytes,
        raws: list[bytes] | None,
        canon: list[bytes] | None,
        quoted: tuple[list[bytes], bytes] | None = None,
        tail: bool = False,
    ) -> None:
        #: The block's bytes, as read.
        self.data = data
        self._raws = raws
        self.canon = canon
        self.quoted = quoted
        #: The block's last record ends the file without a line ending.
        self.tail = tail

    @property
    def raws(self) -> list[bytes]:
        """Each record as in the file, its line ending included (the file's last may have none)."""
        if self._raws is None:
            assert self.quoted is not None
            inner, eol = self.quoted
            self._raws = list(map((b'"%b"' + eol).__mod__, inner))
            if self.tail:
                self._raws[-1] = self._raws[-1][: -len(eol)]
        return self._raws

    def drop_first(self) -> None:
        """Forget the first record (a header)."""
        if self._raws is not None:
            del self._raws[0]
        if self.canon is not None:
            del self.canon[0]
        if self.quoted is not None:
            del self.quoted[0][0]

    def texts(self) -> list[str]:
        """The raw records as text."""
        return [raw.decode("utf-8") for raw in self.raws]


def block_keys(block: Block, skip: int = 0) -> list[int] | None:
    """The :func:`row_key` of each record's values after its first ``skip`` (the sf__ columns
    of a result row); None if the block needs the csv module."""
    canon = block.canon
    if canon is None:
        return None
    if skip == 0:
        return list(map(hash, canon))
    try:
        rest = list(map(operator.itemgetter(skip), map(bytes.split, canon, repeat(_FIELD), repeat(skip))))
    except IndexError:
        return None  # a row with fewer fields than the sf__ columns: let the csv module look
    return list(map(hash, rest))


def _block(data: bytes, delimiter: bytes, *, raws: bool) -> Block:
    if raws and data.startswith(b'"') and b"\x00" not in data:
        quoted = _all_quoted(data, delimiter)
        if quoted is not None:
            return quoted
    parts = data.split(b'"')
    if b"\x00" in data or len(parts) % 2 == 0:
        return Block(data, _lines_by_parity(data), None)
    evens = parts[0::2]
    marked = list(map(bytes.replace, evens, repeat(b"\n"), repeat(_END)))
    if raws:
        pieces = parts.copy()
        pieces[0::2] = marked
        records = b'"'.join(pieces).split(b"\x00\x00")
        if records[-1] == b"":
            records.pop()
    if b"\r" in data:
        marked = list(map(bytes.replace, marked, repeat(b"\r" + _END), repeat(_END)))
    outside = list(map(bytes.replace, marked, repeat(delimiter), repeat(_FIELD)))
    if b'""' in data:
        for i in compress(range(1, len(evens) - 1), map(operator.not_, evens[1:-1])):
            outside[i] = b'"'  # an empty piece between two quoted ones: a doubled quote
    parts[0::2] = outside
    canon = b"".join(parts).split(_END)
    if canon[-1] == b"":
        canon.pop()
    if not raws:
        records = canon  # only counted
    if len(canon) != len(records):  # pragma: no cover - both count the line ends outside quotes
        return Block(data, records, None)
    return Block(data, records, canon)


def _all_quoted(data: bytes, delimiter: bytes) -> Block | None:
    """The block ``data`` in Salesforce's result form, or None if it is not in that form.

    Every value quoted (``"a","b""c"`` LF ``"d","e"``): without the first and last quote of the
    block, values are separated by ``","`` and records by ``"`` LF ``"``, so a few replaces and
    splits of the whole block find them (the generic way replaces in each of the 30-odd pieces
    between quotes of such a record). A value that itself holds those sequences would be cut
    wrongly; that always leaves a lone quote or a different number of values per record, which
    is checked, and such a block takes the generic way.
    """
    eol = b"\r\n" if b'"\r\n"' in data or data.endswith(b'"\r\n') else b"\n"
    if data.endswith(b'"' + eol):
        body, tail = data[1 : -1 - len(eol)], False
    elif data.endswith(b'"'):
        body, tail = data[1:-1], True
    else:
        return None
    sep = b'"' + eol + b'"'
    if delimiter + sep in body:
        return None  # a value that ends with the delimiter, or is a lone line ending: look closer
    fields = body.replace(b'"' + delimiter + b'"', _FIELD)
    if b'"' in fields.replace(sep, b"\x00\x02").replace(b'""', b""):
        return None
    canon = fields.split(sep)
    per_record = canon[0].count(_FIELD)
    if fields.count(_FIELD) != len(canon) * per_record:
        return None
    if b'""' in fields:
        canon = list(map(bytes.replace, canon, repeat(b'""'), repeat(b'"')))
    inner = body.split(sep)
    if len(inner) != len(canon):
        return None
    return Block(data, None, canon, (inner, eol), tail)


def raws_of(block: Block, delimiter: str) -> list[bytes]:
    """The raw records of ``block`` (also when it was read without them)."""
    if block.canon is None or block.quoted is not None or block.raws is not block.canon:
        return block.raws
    return _block(block.data, delimiter.encode(), raws=True).raws


def _lines_by_parity(data: bytes) -> list[bytes]:
    """Raw records the slow way (only for a block the csv module will parse and judge)."""
    lines = [line + b"\n" for line in data.split(b"\n")]
    last = lines.pop()[:-1]  # what follows the last line feed
    if last:
        lines.append(last)
    out: list[bytes] = []
    pending = b""
    for line in lines:
        pending += line
        if pending.count(b'"') % 2 == 0:
            out.append(pending)
            pending = b""
    if pending:
        out.append(pending)
    return out


def read_blocks(path: Path | None, delimiter: str, *, block_size: int = RESULT_BLOCK_SIZE) -> Iterator[Block]:
    """The records of the CSV file at ``path``, a block at a time (its header first).

    Nothing is yielded for an absent or empty file.
    """
    if path is None or not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb") as handle:
        yield from records_of(handle.read, delimiter, block_size=block_size)


def records_of(
    read: Callable[[int], bytes], delimiter: str, *, raws: bool = True, block_size: int = RESULT_BLOCK_SIZE
) -> Iterator[Block]:
    """The records of the bytes that ``read(n)`` returns until it returns none, a block at a time.

    :param raws: keep each record's raw bytes (else :attr:`Block.raws` holds the keys' texts).
    """
    d = delimiter.encode()
    carry = b""
    while True:
        piece = read(max(block_size, len(carry)))
        buf = carry + piece if carry else piece
        if not piece:
            if buf:
                yield _block(buf, d, raws=raws)
            return
        end = last_record_end(buf, 0, len(buf))
        if end == 0:
            carry = buf  # one record longer than a block: read on
            continue
        carry = buf[end:]
        yield _block(buf if end == len(buf) else buf[:end], d, raws=raws)
