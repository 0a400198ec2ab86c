"""Separate the structurally bad records of a file from the good ones (``bad_rows="skip"``).

The fast scanner stops at the first bad record, because quote parity, which it finds record ends
by, cannot be trusted past a stray quote. This slow path, run only when a file has bad records and
the user asked to skip them, reads record by record as a lenient CSV reader does (a quote inside an
unquoted field is text, text after a closing quote is text), checks each record with the exact
rules, and copies the good ones byte for byte to a clean file. One record that never ends (an
unterminated quote) cannot be told apart from the records after it: that still stops the load.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass

from .._config import LineEnding
from .._exceptions import InputError
from .._limits import RECORD_MAX_BYTES
from ._layout import CsvLayout
from ._scanner import RecordRules, check_record

__all__ = ["BadRecord", "separate_bad_records"]


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A record left out of the clean file.

    :param record: its 1-based number among the file's records.
    :param line: the line it starts on.
    :param values: its fields, as a lenient reader sees them.
    :param reason: what is wrong with it.
    """

    record: int
    line: int
    values: tuple[str, ...]
    reason: str


def separate_bad_records(
    path: str | os.PathLike[str], layout: CsvLayout, dest: str | os.PathLike[str], *, name: str | None = None
) -> list[BadRecord]:
    """Copy the good records of ``path`` (after its header) to ``dest``; return the bad ones.

    ``dest`` starts with the header line and keeps every good record's bytes as they are.

    :raises InputError: a record that cannot be delimited (an unterminated quote), naming it.
    """
    shown = name or str(path)
    rules = RecordRules(layout.delimiter, layout.line_ending is LineEnding.CRLF, len(layout.columns), shown)
    bad: list[BadRecord] = []
    line = 1 + layout.header.count(b"\n") + 1
    with open(path, "rb") as source, open(dest, "wb") as out:
        out.write(layout.header_line)
        source.seek(layout.data_start)
        for number, (values, raw) in enumerate(_records(source, layout.delimiter.decode()), start=1):
            reason = _problem(raw, rules, line, number)
            if reason is None:
                out.write(raw)
            else:
                if reason.startswith("unterminated quoted field"):
                    raise InputError(
                        f"{reason}; the records after it cannot be told apart from it, so it cannot be "
                        "skipped: fix the quote",
                        path=shown,
                        line=line,
                        record=number,
                    )
                bad.append(BadRecord(number, line, tuple(_printable(v) for v in values), reason))
            line += raw.count(b"\n")
    return bad


def _printable(value: str) -> str:
    """A field as text that can be written again (invalid UTF-8 shown as U+FFFD)."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _problem(raw: bytes, rules: RecordRules, line: int, record: int) -> str | None:
    """What is wrong with one record (its bytes, line ending included), or ``None``."""
    if len(raw) > RECORD_MAX_BYTES:
        return f"record is longer than {RECORD_MAX_BYTES} bytes"
    if b"\x00" in raw:
        return "a NUL byte in the record"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"invalid UTF-8 at byte {exc.start} of the record ({exc.reason})"
    try:
        check_record(raw, 0, len(raw), final=True, rules=rules, line=line, record=record)
    except InputError as exc:
        return exc.reason
    return None


def _records(source: object, delimiter: str) -> Iterator[tuple[list[str], bytes]]:
    """Each record with its raw bytes, as a lenient CSV reader delimits them."""
    buffer: list[bytes] = []

    def lines() -> Iterator[str]:
        for raw_line in source:  # type: ignore[attr-defined]
            buffer.append(raw_line)
            # surrogateescape: invalid UTF-8 survives the reader and is reported per record.
            yield raw_line.decode("utf-8", "surrogateescape")

    for values in csv.reader(lines(), delimiter=delimiter, strict=False):
        raw = b"".join(buffer)
        buffer.clear()
        yield values, raw
