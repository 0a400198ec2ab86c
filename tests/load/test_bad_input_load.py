"""Every case of the bad-input corpus, through ``load()``: a clear error and no job created."""

from __future__ import annotations

from pathlib import Path

import pytest
from _cases.bad_inputs import CASES, Case

import asyncbulk
from asyncbulk.emulator import Emulator


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_bad_input_stops_the_load_before_any_job(
    emulator: Emulator, tmp_path: Path, case: Case
) -> None:
    src = tmp_path / f"{case.name}.csv"
    src.write_bytes(case.content)
    with pytest.raises(asyncbulk.InputError) as caught:
        await asyncbulk.load(
            src,
            object="Contact",
            operation="insert",
            instance_url=emulator.instance_url,
            access_token=emulator.access_token,
            out_dir=tmp_path / "out",
            column_delimiter=case.delimiter,
        )
    error = caught.value
    assert case.reason in error.reason
    assert str(src) in str(error)  # names the file...
    if case.line is not None:
        assert error.line == case.line  # ...the line...
    if case.record is not None:
        assert error.record == case.record  # ...and the record
    stats = emulator.stats()
    assert stats["jobs_created"] == 0 and stats["requests"] == 0  # nothing sent, nothing half-loaded
