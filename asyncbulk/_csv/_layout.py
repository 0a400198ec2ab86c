"""The header line of a CSV file: its delimiter, line ending and column names."""

from __future__ import annotations

import codecs
import csv
import os
from dataclasses import dataclass

from .._config import ColumnDelimiter, LineEnding
from .._exceptions import InputError
from .._limits import HEADER_MAX_CHARS, MAX_FIELDS
from ._records import first_record_end
from ._scanner import RecordRules, check_record

__all__ = ["CsvLayout", "inspect_layout"]

_BOM = codecs.BOM_UTF8
# The header may be up to 32,000 characters, i.e. up to 128,000 bytes of UTF-8.
_HEADER_READ = 4 * HEADER_MAX_CHARS + 8


@dataclass(frozen=True)
class CsvLayout:
    """The shape of a CSV file, read from its header line.

    :param delimiter: the column delimiter, one byte. :param line_ending: the file's line ending.
    :param header: the header line without its line ending (and without a BOM).
    :param columns: the decoded header names. :param data_start: file offset of the first record
        (the file size for a header-only file). :param bom: the file starts with a UTF-8 BOM
        (never uploaded: :func:`read_chunk` sends :attr:`header`).
    """

    delimiter: bytes
    line_ending: LineEnding
    header: bytes
    columns: list[str]
    data_start: int
    bom: bool

    @property
    def column_delimiter(self) -> ColumnDelimiter:
        """The delimiter as the job option Salesforce wants."""
        return ColumnDelimiter.parse(self.delimiter.decode())

    @property
    def header_line(self) -> bytes:
        """The header plus its line ending: what goes in front of every chunk."""
        return self.header + self.line_ending.chars.encode()


def inspect_layout(
    path: str | os.PathLike[str],
    *,
    delimiter: ColumnDelimiter | str = ColumnDelimiter.COMMA,
    line_ending: LineEnding | str | None = None,
    encoding: str = "utf-8",
    name: str | None = None,
) -> CsvLayout:
    """Read the header line of a UTF-8 CSV file and check it.

    :param line_ending: the line ending the job will declare; None takes the header line's.
        If given and the file's differs, that is an :class:`InputError` (Salesforce requires
        them to match).
    :param encoding: only ``utf-8`` (or ``utf-8-sig``) is read here; convert other encodings
        first with :func:`transcode_to_utf8`.
    :param name: the file's name in messages (the user's file, when ``path`` is a converted copy).
    :raises InputError: an empty file, a bad header (blank or duplicate names, too long, too many
        fields, broken quoting, not UTF-8) or a delimiter or line ending that does not fit the file.
    """
    name = name or str(path)
    delim = ColumnDelimiter.parse(delimiter)
    wanted = None if line_ending is None else LineEnding.parse(line_ending)
    if codecs.lookup(encoding).name not in ("utf-8", "utf-8-sig"):
        raise ValueError(f"encoding: inspect_layout reads UTF-8 only; transcode {encoding!r} input first")
    with open(path, "rb") as f:
        head = f.read(_HEADER_READ)
        at_eof = not f.read(1)
    # UTF-32's little-endian BOM starts with UTF-16's: look for the longer one first.
    for bom_bytes, family in (
        (codecs.BOM_UTF32_LE, "UTF-32"),
        (codecs.BOM_UTF32_BE, "UTF-32"),
        (codecs.BOM_UTF16_LE, "UTF-16"),
        (codecs.BOM_UTF16_BE, "UTF-16"),
    ):
        if head.startswith(bom_bytes):
            option = family.lower()
            raise InputError(
                f"the file is {family} encoded (it starts with a {family} byte order mark); "
                f"pass encoding='{option}' (CLI: --encoding {option}) to have it converted",
                path=name,
                line=1,
            )
    bom = head.startswith(_BOM)
    begin = len(_BOM) if bom else 0
    if len(head) <= begin:
        raise InputError("the file is empty (no header line)", path=name)
    if b"\x00" in head[begin : head.find(b"\n", begin) if b"\n" in head else len(head)]:
        raise InputError(
            "the header line contains NUL bytes: the file looks UTF-16 or UTF-32 without a byte order "
            "mark, or binary (pass encoding='utf-16-le', 'utf-16-be', 'utf-32-le'... if it is text)",
            path=name,
            line=1,
        )
    end = first_record_end(head, begin)
    if end is None:
        if not at_eof:
            raise InputError(
                f"the header line is longer than {HEADER_MAX_CHARS} characters (no line end found)",
                path=name,
                line=1,
            )
        end = len(head)  # a header-only file without a line ending
    header_with_end = head[begin:end]
    if header_with_end.endswith(b"\r\n"):
        found: LineEnding | None = LineEnding.CRLF
        header = header_with_end[:-2]
    elif header_with_end.endswith(b"\n"):
        found = LineEnding.LF
        header = header_with_end[:-1]
    else:
        found = None
        header = header_with_end
    if b"\r" in header:
        raise InputError(
            "the header line contains a carriage return (CR): lone-CR line endings (old Mac) are not "
            "accepted by Salesforce; convert the file to LF or CRLF",
            path=name,
            line=1,
        )
    if wanted is not None and found is not None and wanted is not found:
        raise InputError(
            f"line_ending={wanted.value} was given but the file's lines end with {found.value}",
            path=name,
            line=1,
        )
    ending = wanted or found or LineEnding.LF
    columns = _parse_header(name, header, delim, ending)
    return CsvLayout(
        delimiter=delim.char.encode(),
        line_ending=ending,
        header=header,
        columns=columns,
        data_start=end,
        bom=bom,
    )


def _parse_header(path: str, header: bytes, delim: ColumnDelimiter, ending: LineEnding) -> list[str]:
    try:
        text = header.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"the header line is not valid UTF-8 (byte offset {exc.start}: {exc.reason}); "
            "pass the file's encoding= to have it converted",
            path=path,
            line=1,
        ) from None
    if len(text) > HEADER_MAX_CHARS:
        raise InputError(
            f"the header line has {len(text)} characters; Salesforce allows at most {HEADER_MAX_CHARS}",
            path=path,
            line=1,
        )
    if not header:
        raise InputError("the header line is empty", path=path, line=1)
    rules = RecordRules(delim.char.encode(), ending is LineEnding.CRLF, None, path)
    # Structure first (quotes), with the careful parser; then the csv module decodes the names.
    check_record(header, 0, len(header), final=True, rules=rules, line=1, record=None)
    columns = next(csv.reader([text], delimiter=delim.char, strict=True))
    if len(columns) == 1:
        _check_delimiter(path, text, delim)
    if len(columns) > MAX_FIELDS:
        raise InputError(
            f"the header has {len(columns)} fields; Salesforce allows at most {MAX_FIELDS}", path=path, line=1
        )
    seen: dict[str, int] = {}
    for number, column in enumerate(columns, 1):
        if not column.strip():
            raise InputError(f"header column {number} has a blank name", path=path, line=1)
        # Salesforce field names are case-insensitive: Name and NAME are the same field.
        key = column.casefold()
        if key in seen:
            raise InputError(
                f"duplicate header name {column!r} (columns {seen[key]} and {number}; "
                "Salesforce field names are case-insensitive)",
                path=path,
                line=1,
            )
        seen[key] = number
    return columns


def _check_delimiter(path: str, text: str, delim: ColumnDelimiter) -> None:
    """A one-column header holding another delimiter's character means the wrong delimiter."""
    # Field API names are letters, digits, _ . and : -- never a delimiter character.
    counts = {d: text.count(d.char) for d in ColumnDelimiter if d is not delim}
    likely = max(counts, key=lambda d: counts[d])
    if counts[likely]:
        raise InputError(
            f"the header has no {delim.value} ({delim.char!r}) delimiter but contains {counts[likely]} "
            f"{likely.char!r}: the file looks {likely.value}-delimited (column_delimiter={likely.value})",
            path=path,
            line=1,
        )
