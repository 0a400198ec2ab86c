"""The bad-input corpus: every malformed file gives an InputError naming file, line, record, reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from _cases.bad_inputs import CASES, Case

from asyncbulk import InputError
from asyncbulk._csv import inspect_layout, iter_chunks, plan_chunks, validate
from asyncbulk._limits import RECORD_MAX_BYTES


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("block_size", [3, 65_536, 4 << 20])
def test_bad_input(tmp_path: Path, case: Case, block_size: int) -> None:
    path = tmp_path / f"{case.name}.csv"
    path.write_bytes(case.content)
    with pytest.raises(InputError) as info:
        layout = inspect_layout(path, delimiter=case.delimiter)
        validate(path, layout, block_size=block_size)
    error = info.value
    assert case.reason in error.reason
    assert (error.path, error.line, error.record) == (str(path), case.line, case.record)
    assert str(error).startswith(str(path))
    # The one-pass split reports the same problem.
    if error.record is not None:
        with pytest.raises(InputError) as again:
            plan_chunks(path, layout, max_records=2, max_bytes=10**7, block_size=block_size)
        assert (again.value.reason, again.value.line) == (error.reason, error.line)


def test_multibyte_field_under_the_char_limit_is_fine(tmp_path: Path) -> None:
    # 70,000 characters but 140,000 bytes: only characters count.
    path = tmp_path / "ok.csv"
    path.write_bytes(b'a,b\n1,"' + "é".encode() * 70_000 + b'"\n2,' + "日".encode() * 50_000 + b"\n")
    layout = inspect_layout(path)
    report = validate(path, layout)
    data = path.read_bytes()[layout.data_start :]
    assert (report.records, report.chars, report.data_bytes) == (2, len(data.decode()), len(data))


def test_overlong_record_across_many_blocks(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_bytes(b"a\n1\n" + b"z" * (RECORD_MAX_BYTES + 70_000) + b"\n2\n")
    layout = inspect_layout(path)
    with pytest.raises(InputError, match="field 1 has 1670002 characters") as info:
        validate(path, layout, block_size=65_536)
    assert (info.value.line, info.value.record) == (3, 2)


def test_unterminated_quote_stops_chunking_without_validation(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_bytes(b'a,b\n1,2\n3,"open\n')
    layout = inspect_layout(path)
    with pytest.raises(InputError, match="unterminated quoted field") as info:
        list(iter_chunks(path, layout, max_records=10, max_bytes=1000))
    assert info.value.line == 3


def test_header_line_without_end_in_a_big_file(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_bytes(b"x" * 200_000)
    with pytest.raises(InputError, match="longer than 32000 characters"):
        inspect_layout(path)
