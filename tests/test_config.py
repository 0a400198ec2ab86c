"""Option objects reject bad values with a message naming the option."""

from __future__ import annotations

import pytest

from asyncbulk import ChunkConfig, ColumnDelimiter, ConcurrencyConfig, LineEnding, Operation


def test_operation_parse_accepts_wire_and_cli_spellings() -> None:
    assert Operation.parse("hardDelete") is Operation.HARD_DELETE
    assert Operation.parse("hard-delete") is Operation.HARD_DELETE
    assert Operation.parse("INSERT") is Operation.INSERT
    with pytest.raises(ValueError, match="operation: unknown operation 'merge'"):
        Operation.parse("merge")


@pytest.mark.parametrize(
    ("name", "char"),
    [("BACKQUOTE", "`"), ("CARET", "^"), ("COMMA", ","), ("PIPE", "|"), ("SEMICOLON", ";"), ("TAB", "\t")],
)
def test_all_six_delimiters(name: str, char: str) -> None:
    assert ColumnDelimiter.parse(name).char == char
    assert ColumnDelimiter.parse(char).value == name


def test_bad_delimiter_and_line_ending_name_the_option() -> None:
    with pytest.raises(ValueError, match="column_delimiter"):
        ColumnDelimiter.parse("COLON")
    with pytest.raises(ValueError, match="line_ending"):
        LineEnding.parse("CR")


def test_chunk_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="max_records"):
        ChunkConfig(max_records=0)
    with pytest.raises(ValueError, match="150 MB"):
        ChunkConfig(max_bytes=200_000_000)
    with pytest.raises(ValueError, match="max_connections"):
        ConcurrencyConfig(max_concurrent_jobs=10, max_connections=3)
    assert ConcurrencyConfig(max_concurrent_jobs=10).connections >= 10
