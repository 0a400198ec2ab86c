"""The byte scanner under :mod:`asyncbulk._csv`: record boundaries and structural checks.

Speed comes from never looking at one field at a time in Python when the input is fine:

* A record ends at a line feed outside quotes. Inside a quoted field quotes come in pairs (``""``
  escapes one), so a line feed ends a record exactly when the number of quotes since the record
  start is even. ``bytes.count`` / ``bytes.rfind`` / ``bytes.split`` (all C loops) find boundaries.
* Structure is checked on a *skeleton* of each block: ``bytes.translate`` deletes every byte but the
  delimiter, ``"``, CR and LF, which leaves about a tenth of the data, and one compiled regular
  expression must match the whole skeleton as records of exactly the header's field count. A record
  without quotes is then just ``,,,,\\n``, which the first branch of the expression eats at memory
  speed.
* UTF-8 validity is one ``bytes.decode`` per block; blocks end at a line feed, so a multi-byte
  character never straddles two blocks. NUL is one ``in`` test.
* Only where something fails, and for the rare record longer than a field may be, does the slow
  careful parser (:func:`check_record`) walk one record to find out exactly what is wrong.
"""

# Longer than the ~400-line aim on purpose: the fast paths share their compiled patterns and
# block loop, and splitting them across modules would add lookups on the hottest loop of a load.
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from .._exceptions import InputError
from .._limits import FIELD_MAX_CHARS, RECORD_MAX_BYTES, RECORD_MAX_CHARS
from ._records import CR, LF, QUOTE, count_records, first_record_end, last_record_end, nth_newline_end

__all__ = ["Block", "Incomplete", "RecordRules", "Scanner", "check_record"]


@dataclass(frozen=True)
class RecordRules:
    """What one record must look like: the file's delimiter, line ending and field count."""

    delimiter: bytes
    crlf: bool
    fields: int | None  # None while parsing the header itself
    path: str

    @property
    def delimiter_name(self) -> str:
        """The delimiter as a human reads it."""
        return "TAB" if self.delimiter == b"\t" else repr(self.delimiter.decode())


@dataclass(frozen=True)
class Incomplete:
    """:func:`check_record` ran out of data before the record ended.

    :param open_line: the line of the quoted field still open at the end of the data, if any.
    """

    open_line: int | None


_SEPARATORS: dict[bytes, re.Pattern[bytes]] = {}


def _separators(delimiter: bytes) -> re.Pattern[bytes]:
    pattern = _SEPARATORS.get(delimiter)
    if pattern is None:
        pattern = _SEPARATORS[delimiter] = re.compile(b"[" + re.escape(delimiter) + b'"\r\n]')
    return pattern


def _chars(data: bytes) -> int:
    # Invalid UTF-8 is reported elsewhere, by its own check; here only the length matters.
    return len(data.decode("utf-8", "replace"))


def check_record(
    data: bytes, pos: int, end: int, *, final: bool, rules: RecordRules, line: int, record: int | None
) -> int | Incomplete:
    """Walk the record starting at ``data[pos]`` field by field; return the offset just after it.

    This is the slow, exact path. It raises :class:`InputError` naming the first problem, or
    returns :class:`Incomplete` when ``data[:end]`` ends inside the record and ``final`` is false.
    With ``final`` true, ``end`` is the end of the file: a record may end there without a line
    ending, and a quoted field still open there is an unterminated quote.

    :param line: the physical line ``data[pos]`` is on. :param record: its 1-based record number
        (None for the header).
    """
    delim = rules.delimiter[0]
    separators = _separators(rules.delimiter)
    start = pos
    cur_line = line
    fields = 0

    def fail(reason: str, at_line: int | None = None) -> InputError:
        return InputError(reason, path=rules.path, line=at_line or cur_line, record=record)

    if final and pos >= end:  # pragma: no cover - callers never ask for an empty tail
        raise AssertionError("empty record")
    if pos < end and data[pos] in (LF, CR):
        if data[pos] == LF or (pos + 1 < end and data[pos + 1] == LF):
            raise fail(
                "blank line: a record cannot be empty (remove empty lines, also at the end of the file)"
            )
    while True:
        fields += 1
        if pos < end and data[pos] == QUOTE:
            open_line = cur_line
            q = pos + 1
            while True:
                j = data.find(b'"', q, end)
                if j == -1:
                    if not final:
                        return Incomplete(open_line)
                    raise fail(
                        f"unterminated quoted field: the quote that opens field {fields} on line "
                        f"{open_line} is never closed",
                        open_line,
                    )
                if j + 1 < end and data[j + 1] == QUOTE:
                    q = j + 2  # a doubled quote inside the field
                    continue
                if j + 1 >= end and not final:
                    return Incomplete(open_line)  # cannot tell "..." from "...""" yet
                break
            content = data[pos + 1 : j]
            cur_line += content.count(b"\n")
            if len(content) > FIELD_MAX_CHARS:
                chars = _chars(content) - content.count(b'""')
                if chars > FIELD_MAX_CHARS:
                    raise fail(
                        f"field {fields} has {chars} characters; Salesforce allows at most {FIELD_MAX_CHARS}",
                        open_line,
                    )
            pos = j + 1
            if pos >= end:
                break  # final: the record ends at the end of the file
            c = data[pos]
            if c == delim:
                pos += 1
                continue
            if c not in (LF, CR):
                shown = data[pos : pos + 10].decode("utf-8", "replace")
                raise fail(
                    f"unexpected text {shown!r} after the closing quote of field {fields}; a quoted field "
                    f"must be followed by the delimiter or the line end (quotes inside it must be doubled)"
                )
        else:
            m = separators.search(data, pos, end)
            j = end if m is None else m.start()
            if j - pos > FIELD_MAX_CHARS:
                chars = _chars(data[pos:j])
                if chars > FIELD_MAX_CHARS:
                    # Without the field's end in view, only a lower bound is known.
                    count = f"at least {chars}" if m is None and not final else str(chars)
                    raise fail(
                        f"field {fields} has {count} characters; Salesforce allows at most {FIELD_MAX_CHARS}"
                    )
            if m is None:
                if not final:
                    return Incomplete(None)
                pos = end
                break
            c = data[j]
            if c == QUOTE:
                raise fail(
                    f'a quote (") inside unquoted field {fields}; a field that contains quotes must be '
                    f'enclosed in quotes, with each inner quote doubled ("")'
                )
            pos = j
            if c == delim:
                pos += 1
                continue
        # data[pos] is CR or LF: the line ending.
        if data[pos] == LF:
            if rules.crlf:
                raise fail(
                    "this line ends with LF, but the file's line ending is CRLF (set by the header line)"
                )
            pos += 1
        else:
            if pos + 1 >= end and not final:
                return Incomplete(None)
            if pos + 1 < end and data[pos + 1] == LF:
                if not rules.crlf:
                    raise fail(
                        "this line ends with CRLF, but the file's line ending is LF (set by the header line)"
                    )
                pos += 2
            else:
                raise fail(
                    f"a carriage return (CR) in unquoted field {fields}: either a lone-CR line ending, which "
                    "Salesforce does not accept, or a CR that belongs in a quoted field"
                )
        break
    if rules.fields is not None and fields != rules.fields:
        raise fail(f"record has {fields} fields, the header has {rules.fields}", line)
    # The line ending is not part of the record's characters.
    content_end = pos - (
        2 if pos >= 2 and data[pos - 2 : pos] == b"\r\n" else 1 if data[pos - 1 : pos] == b"\n" else 0
    )
    if content_end - start > RECORD_MAX_CHARS:
        chars = _chars(data[start:content_end])
        if chars > RECORD_MAX_CHARS:
            raise fail(f"record has {chars} characters; Salesforce allows at most {RECORD_MAX_CHARS}", line)
    return pos


def _skeleton_pattern(rules: RecordRules) -> re.Pattern[bytes]:
    """A pattern that matches, on a skeleton, a run of well-formed records (possessively)."""
    assert rules.fields is not None
    d = re.escape(rules.delimiter)
    end = rb"\r\n" if rules.crlf else rb"\n"
    # In the skeleton an unquoted field is empty (its bytes were deleted) and a quoted field keeps
    # only its quotes, delimiters and line breaks.
    quoted = rb'"[^"]*+(?:""[^"]*+)*+"'
    field = rb"(?:%s)?+" % quoted
    n = rules.fields - 1
    general = field + (rb"(?:%s%s){%d}" % (d, field, n) if n else b"") + end
    plain = (rb"%s{%d}" % (d, n) if n else b"") + end
    return re.compile(rb"(?:(?:%s)++|%s)*+" % (plain, general))


def _quote_pairs_pattern(delimiter: bytes) -> re.Pattern[bytes]:
    """A pattern for a run of text whose quoted sections all sit right.

    The skeleton cannot see ordinary text next to a quote (``"ab"x`` and ``x"ab"`` both look like a
    quoted field there), so the raw bytes get this second fast check: taken in pairs from a record
    start, every opening quote follows a delimiter, a line feed, another quote or the start, and
    every closing quote is followed by a delimiter, CR, LF, another quote (``""``) or the end.
    """
    d = re.escape(delimiter)
    return re.compile(rb'(?:[^"]*+(?<![^%s\n"])"[^"]*+"(?![^%s\r\n"]))*+[^"]*+' % (d, d))


def _deleted_bytes(delimiter: bytes) -> bytes:
    keep = {delimiter[0], QUOTE, CR, LF}
    return bytes(b for b in range(256) if b not in keep)


@dataclass(frozen=True)
class Block:
    """A run of whole records read from the file.

    :param offset: file offset of ``data[0]``. :param records_before: data records before it.
    :param lines_before: line feeds in the file before it. :param tail: ``data`` is the last record,
        which has no line ending.
    """

    offset: int
    data: bytes
    records: int
    records_before: int
    lines_before: int
    tail: bool


class Scanner:
    """Reads the data part of a CSV file as blocks of whole records, optionally checking them.

    Memory stays at about two blocks plus the longest record (capped: a record over
    :data:`asyncbulk._limits.RECORD_MAX_BYTES` is an error).
    """

    def __init__(
        self,
        path: str,
        *,
        name: str | None = None,
        data_start: int,
        lines_before: int,
        rules: RecordRules,
        validate: bool,
        block_size: int,
    ) -> None:
        if block_size <= 0:
            raise ValueError(f"block_size must be positive, got {block_size!r}")
        self.path = path
        #: The file's name in messages: the user's file, when ``path`` is a converted copy of it.
        self.name = name or path
        self.rules = rules
        self.validate = validate
        self.block_size = block_size
        self.data_start = data_start
        self.records = 0
        self.lines = lines_before  # line feeds seen so far, the header's included
        self.chars = 0
        self.data_bytes = 0
        self.ended_with_newline = True
        self._pattern = _skeleton_pattern(rules) if validate else None
        self._pairs = _quote_pairs_pattern(rules.delimiter)
        self._deleted = _deleted_bytes(rules.delimiter)

    def blocks(self) -> Iterator[Block]:
        """Yield the file's records block by block; raise InputError on the first problem."""
        with open(self.path, "rb") as f:
            f.seek(self.data_start)
            offset = self.data_start
            carry = b""
            while True:
                # A record longer than a block: read more at once, so that growing the carry
                # stays linear in the record's length rather than quadratic.
                piece = f.read(max(self.block_size, len(carry)))
                if not piece:
                    break
                buf = carry + piece if carry else piece
                skeleton = buf.translate(None, self._deleted)
                cut = _skeleton_cut(skeleton)
                if cut is None:
                    carry = buf
                    if len(carry) > RECORD_MAX_BYTES + self.block_size:
                        self._overflow(carry, f)
                    continue
                sk_cut, records, feeds, feeds_after = cut
                j = len(buf)
                for _ in range(feeds_after + 1):
                    j = buf.rfind(b"\n", 0, j)
                data = buf if j + 1 == len(buf) else buf[: j + 1]
                carry = buf[j + 1 :]
                sk = skeleton if sk_cut == len(skeleton) else skeleton[:sk_cut]
                yield self._complete(offset, data, sk, records, feeds)
                offset += len(data)
            if carry:
                yield self._tail(offset, carry)

    # -- helpers -----------------------------------------------------------------------------

    def _where(self, data: bytes, pos: int) -> tuple[int, int]:
        """(line, record) of the record that contains ``data[pos]``; data starts at a record."""
        line = self.lines + data.count(b"\n", 0, pos) + 1
        return line, self.records + count_records(data, 0, pos) + 1

    def _complete(self, offset: int, data: bytes, skeleton: bytes, records: int, feeds: int) -> Block:
        if self.validate:
            self._check_block(data, skeleton)
        block = Block(offset, data, records, self.records, self.lines, tail=False)
        self.records += records
        self.lines += feeds
        self.data_bytes += len(data)
        return block

    def _tail(self, offset: int, data: bytes) -> Block:
        """The end of the file: whatever follows the last line ending outside quotes."""
        # This runs even without validation: an unterminated quote cannot be cut into chunks.
        if self.validate:
            self._check_bytes(data)
        pos = 0
        line = self.lines + 1
        record = self.records + 1
        while True:
            result = check_record(
                data, pos, len(data), final=True, rules=self.rules, line=line, record=record
            )
            assert isinstance(result, int)
            if result == len(data):
                break
            # Only reachable when quote parity and structure disagree; check_record raises first.
            line += data.count(b"\n", pos, result)  # pragma: no cover
            record += 1  # pragma: no cover
            pos = result  # pragma: no cover
        block = Block(offset, data, 1, self.records, self.lines, tail=True)
        self.records += 1
        self.lines += data.count(b"\n")
        self.data_bytes += len(data)
        self.ended_with_newline = False
        return block

    def _overflow(self, carry: bytes, f: BinaryIO) -> None:
        """No record boundary in more than a record's worth of bytes: find out why, and raise."""
        pos = 0
        line, record = self.lines + 1, self.records + 1
        while True:
            result = check_record(
                carry, pos, len(carry), final=False, rules=self.rules, line=line, record=record
            )
            if isinstance(result, Incomplete):
                open_line = result.open_line
                break
            line += carry.count(b"\n", pos, result)
            record += 1
            pos = result
        # The record at pos is longer than any valid record. If its quotes never balance up to the
        # end of the file, the real mistake is an unterminated quote; say so rather than "too long".
        quotes = carry.count(b'"', pos)
        while piece := f.read(self.block_size):
            quotes += piece.count(b'"')
        if quotes % 2 and open_line is not None:
            raise InputError(
                f"unterminated quoted field: the quote opened on line {open_line} is never closed",
                path=self.name,
                line=open_line,
                record=record,
            )
        raise InputError(
            f"record is longer than {RECORD_MAX_CHARS} characters (Salesforce's limit)",
            path=self.name,
            line=line,
            record=record,
        )

    def _check_bytes(self, data: bytes) -> None:
        nul = data.find(b"\x00")
        bad = self._utf8_error(data)
        first = min((p for p in (nul, bad[0] if bad else -1) if p >= 0), default=-1)
        if first < 0:
            return
        line, record = self._where(data, first)
        offset = self.data_bytes + self.data_start + first
        if first == nul:
            raise InputError(
                f"NUL byte at byte offset {offset} (a binary or UTF-16 file? pass encoding=)",
                path=self.name,
                line=line,
                record=record,
            )
        raise InputError(
            f"invalid UTF-8 at byte offset {offset} ({bad[1] if bad else ''}); Salesforce needs UTF-8: "
            "pass the file's encoding= (for example 'cp1252' or 'latin-1') to have it converted",
            path=self.name,
            line=line,
            record=record,
        )

    def _utf8_error(self, data: bytes) -> tuple[int, str] | None:
        if data.isascii():  # several times faster than decoding, and common
            self.chars += len(data)
            return None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            return exc.start, exc.reason
        self.chars += len(text)
        return None

    def _check_block(self, data: bytes, skeleton: bytes) -> None:
        """Check a run of whole records (``skeleton`` is their skeleton)."""
        assert self._pattern is not None
        # Byte-level problems first but only report them if no structural problem comes earlier;
        # the careful parser below reports the first problem of a record in reading order.
        nul = data.find(b"\x00")
        bad = self._utf8_error(data)
        byte_problem = min((p for p in (nul, bad[0] if bad else -1) if p >= 0), default=len(data))

        matched = self._pattern.match(skeleton)
        good_end = len(data)  # raw offset up to which the structure is known to be right
        if matched is not None and matched.end() < len(skeleton):
            # The possessive pattern stops at the start of the first bad record.
            feeds = skeleton.count(b"\n", 0, matched.end())
            good_end = nth_newline_end(data, feeds)
        if b'"' in skeleton:
            pairs = self._pairs.match(data)
            if pairs is not None and pairs.end() < len(data):
                bad_quote = data.find(b'"', pairs.end())
                good_end = min(good_end, last_record_end(data, 0, max(bad_quote, 0)))
        if self.rules.fields == 1:
            # One column: a blank line has the same skeleton as a record, so look for it directly.
            good_end = min(good_end, self._first_blank_line(data, good_end))
        first_problem = min(byte_problem, good_end)

        # Records too long to be trivially within the field limit, before any other problem.
        for start in _long_record_starts(data, first_problem):
            line, record = self._where(data, start)
            check_record(data, start, len(data), final=False, rules=self.rules, line=line, record=record)

        if good_end < len(data) and good_end <= byte_problem:
            line, record = self._where(data, good_end)
            check_record(data, good_end, len(data), final=False, rules=self.rules, line=line, record=record)
            raise InputError(  # pragma: no cover - check_record names the problem
                "malformed record", path=self.name, line=line, record=record
            )
        if byte_problem < len(data):
            self._check_bytes(data)

    @staticmethod
    def _first_blank_line(data: bytes, hi: int) -> int:
        """Offset of the first blank record in ``data[:hi]``, else ``hi`` (one-column files only)."""
        if data.startswith((b"\n", b"\r\n")):
            return 0  # data starts at a record boundary
        search = 0
        while True:
            found = [x for x in (data.find(b"\n\n", search, hi), data.find(b"\n\r\n", search, hi)) if x >= 0]
            if not found:
                return hi
            pos = min(found) + 1
            # A blank line inside a quoted field is data, not a blank record.
            if data.count(b'"', 0, pos) % 2 == 0:
                return pos
            search = pos


def _skeleton_cut(sk: bytes) -> tuple[int, int, int, int] | None:
    """Where the last whole record of a skeleton ends (the skeleton starts at a record start).

    Returns (offset in the skeleton just after that record, records before it, line feeds before
    it, line feeds after it), or None if the skeleton holds no record end.
    """
    last = sk.rfind(b"\n")
    if last < 0:
        return None
    total = sk.count(b"\n")
    if sk.find(b'"') < 0:
        return last + 1, total, total, 0
    parts = sk.split(b'"')
    # Even pieces lie outside quotes; the last even piece with a line feed holds the cut.
    i = len(parts) - 1 if len(parts) % 2 else len(parts) - 2
    while i >= 0 and b"\n" not in parts[i]:
        i -= 2
    if i < 0:
        return None
    after_piece = sum(map(len, parts[i + 1 :])) + (len(parts) - 1 - i)  # quotes included
    piece_start = len(sk) - after_piece - len(parts[i])
    cut = piece_start + parts[i].rfind(b"\n") + 1
    feeds_after = sk.count(b"\n", cut)
    inside = b"".join(parts[1:i:2]).count(b"\n")
    feeds = total - feeds_after
    return cut, feeds - inside, feeds, feeds_after


def _long_record_starts(data: bytes, hi: int) -> Iterator[int]:
    """Starts of the records in ``data[:hi]`` longer than :data:`FIELD_MAX_CHARS` bytes.

    Shorter records cannot break the field or record limits. Jumping from record start ``b`` to the
    last record end within ``FIELD_MAX_CHARS`` bytes touches each byte about twice.
    """
    limit = FIELD_MAX_CHARS
    b = 0
    while hi - b > limit:
        nxt = last_record_end(data, b, b + limit)
        if nxt > b:
            b = nxt
            continue
        yield b
        # Skip to this long record's end: the first line feed at even parity after b + limit.
        end = first_record_end(data, b, b + limit)
        if end is None:
            return
        b = end
