"""The bad-input corpus: malformed CSV files, each with the line, record and reason to report."""

from __future__ import annotations

from dataclasses import dataclass

from asyncbulk import ColumnDelimiter
from asyncbulk._limits import RECORD_MAX_BYTES

__all__ = ["CASES", "Case"]


@dataclass(frozen=True)
class Case:
    name: str
    content: bytes
    line: int | None
    record: int | None
    reason: str  # a substring of the reason
    delimiter: ColumnDelimiter = ColumnDelimiter.COMMA


CASES = [
    Case(
        "unterminated_quote",
        b'a,b\n1,2\n3,"abc\ndef\n',
        3,
        2,
        "unterminated quoted field: the quote that opens field 2 on line 3 is never closed",
    ),
    Case("quote_in_unquoted_field", b'a,b\n1,2\n1,ab"c\n', 3, 2, 'a quote (") inside unquoted field 2'),
    Case(
        "text_after_closing_quote",
        b'a,b\n1,"ab"x,\n',
        2,
        1,
        "unexpected text 'x,\\n' after the closing quote of field 2",
    ),
    Case(
        "space_after_closing_quote",
        b'a,b\n"1" ,2\n',
        2,
        1,
        "unexpected text ' ,2\\n' after the closing quote",
    ),
    Case("text_before_opening_quote", b'a,b\n1,x"ab"\n', 2, 1, 'a quote (") inside unquoted field 2'),
    Case(
        "junk_after_quote_same_count",
        b'a,b\n1,2\n"ab"x,2\n',
        3,
        2,
        "unexpected text 'x,2\\n' after the closing",
    ),
    Case("undoubled_inner_quote", b'a,b\n1,"say "hi" now"\n', 2, 1, "unexpected text 'hi\" now\"\\n'"),
    Case("too_many_fields", b"a,b\n1,2\n1,2,3\n", 3, 2, "record has 3 fields, the header has 2"),
    Case("too_few_fields", b'a,b,c\n1,2,3\n"x\ny",2\n', 3, 2, "record has 2 fields, the header has 3"),
    Case("invalid_utf8", b"a,b\n1,2\n3,\xff\n", 3, 2, "invalid UTF-8 at byte offset 10 (invalid start byte)"),
    Case("nul_byte", b"a,b\n1,\x002\n", 2, 1, "NUL byte at byte offset 6"),
    Case("lone_cr_in_lf_file", b"a,b\n1,2\r3,4\n", 2, 1, "a carriage return (CR) in unquoted field 2"),
    Case("cr_only_file", b"a,b\r1,2\r", 1, None, "lone-CR line endings (old Mac)"),
    Case(
        "lf_in_crlf_file",
        b"a,b\r\n1,2\r\n1,2\n3,4\r\n",
        3,
        2,
        "this line ends with LF, but the file's line ending is CRLF",
    ),
    Case(
        "crlf_in_lf_file", b"a,b\n1,2\r\n", 2, 1, "this line ends with CRLF, but the file's line ending is LF"
    ),
    Case("empty_file", b"", None, None, "the file is empty"),
    Case("bom_only_file", b"\xef\xbb\xbf", None, None, "the file is empty"),
    Case("empty_header_line", b"\n1\n", 1, None, "the header line is empty"),
    Case(
        "duplicate_header",
        b"Id,Name,NAME\n1,2,3\n",
        1,
        None,
        "duplicate header name 'NAME' (columns 2 and 3; Salesforce field names are case-insensitive)",
    ),
    Case("blank_header_name", b"a,,b\n1,2,3\n", 1, None, "header column 2 has a blank name"),
    Case("header_bad_quote", b'a,"b\n1,2\n', 1, None, "unterminated quoted field"),
    Case(
        "field_too_long",
        b"a,b\n1,2\n1," + b"x" * 131_073 + b"\n",
        3,
        2,
        "field 2 has 131073 characters; Salesforce allows at most 131072",
    ),
    Case(
        "quoted_field_too_long", b'a,b\n1,"' + b"x\n" * 65_537 + b'"\n', 2, 1, "field 2 has 131074 characters"
    ),
    Case(
        "record_too_long",
        b"a,b,c,d\n" + b",".join([b"y" * 100_001] * 4) + b"\n",
        2,
        1,
        "record has 400007 characters; Salesforce allows at most 400000",
    ),
    Case("header_too_long", b"a" * 32_001 + b"\n1\n", 1, None, "the header line has 32001 characters"),
    Case(
        "too_many_fields_header",
        b",".join(b"F%d" % i for i in range(5_001)) + b"\n",
        1,
        None,
        "the header has 5001 fields; Salesforce allows at most 5000",
    ),
    Case(
        "wrong_delimiter",
        b"a,b,c\n1,2,3\n",
        1,
        None,
        "the file looks COMMA-delimited (column_delimiter=COMMA)",
        ColumnDelimiter.PIPE,
    ),
    Case("wrong_delimiter_semicolon", b"a;b;c\n1;2;3\n", 1, None, "the file looks SEMICOLON-delimited"),
    Case("blank_line", b"a,b\n1,2\n\n3,4\n", 3, 2, "blank line"),
    Case("blank_line_at_end", b"a,b\r\n1,2\r\n\r\n", 3, 2, "blank line"),
    Case("blank_line_one_column", b'Id\n1\n"x\n\ny"\n\n2\n', 6, 3, "blank line"),
    Case("utf16_file", "Id,Name\n1,x\n".encode("utf-16"), 1, None, "UTF-16 encoded (it starts with a UTF-16"),
    Case("utf32_file", "Id,Name\n1,x\n".encode("utf-32"), 1, None, "UTF-32 encoded (it starts with a UTF-32"),
    Case("utf16_without_bom", "Id,Name\n1,x\n".encode("utf-16-le"), 1, None, "looks UTF-16 or UTF-32"),
    Case("structure_before_nul", b"a,b\n1,2,3\n\x00,1\n", 2, 1, "record has 3 fields"),
    Case("nul_before_structure", b"a,b\n\x00,1\n1,2,3\n", 2, 1, "NUL byte"),
    Case(
        "unterminated_quote_huge",
        b'a,b\n1,2\n1,"' + b"x" * (RECORD_MAX_BYTES + 10),
        3,
        2,
        "unterminated quoted field",
    ),
]
