"""Defect 13: messages that mislead. Each message names the user's own file and the real cause.

A UTF-32 file was called UTF-16; a transcoding error named the internal
``.asyncbulk/input.utf8.csv``; a symlink loop said "no such file"; a full disk said "No space
left on device" without naming the file or folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from _cases.org import FAST_POLL, Org, contact_rows, outcome_of, run_cli, write_csv

import asyncbulk

INTERNAL_COPY = "input.utf8.csv"


async def load(org: Org, src: Path, out: Path, **options: Any) -> Any:
    return await outcome_of(
        asyncbulk.load(
            src,
            object="Contact",
            operation="insert",
            out_dir=out,
            poll=FAST_POLL,
            **org.load_auth(),
            **options,
        )
    )


def utf32_file(path: Path) -> Path:
    """A small Contact file in UTF-32 with its byte order mark (Python's "utf-32" codec)."""
    path.write_bytes("FirstName,LastName\nZoë,Müller\nJosé,García\n".encode("utf-32"))
    return path


async def test_utf32_is_called_utf32(org: Org, tmp_path: Path) -> None:
    """Defect 13: a UTF-32 file (with BOM) loaded as UTF-8 is reported as UTF-32, not UTF-16."""
    src = utf32_file(tmp_path / "contacts.csv")
    outcome = await load(org, src, tmp_path / "out")
    assert isinstance(outcome, asyncbulk.InputError), outcome
    assert "UTF-32" in str(outcome) and "UTF-16" not in str(outcome), outcome
    assert org.job_count() == 0


async def test_utf32_file_loads_with_its_encoding(org: Org, tmp_path: Path) -> None:
    """Defect 13, the advice followed: ``encoding="utf-32"`` loads the file."""
    result = await load(org, utf32_file(tmp_path / "contacts.csv"), tmp_path / "out", encoding="utf-32")
    assert isinstance(result, asyncbulk.LoadResult), result
    assert result.succeeded == 2
    assert {r["LastName"] for r in org.query("SELECT LastName FROM Contact")} == {"Müller", "García"}


async def test_wrong_encoding_names_the_users_file(org: Org, tmp_path: Path) -> None:
    """Defect 13: following the UTF-16 advice for a UTF-32 file, the error named the internal copy."""
    src = utf32_file(tmp_path / "contacts.csv")
    outcome = await load(org, src, tmp_path / "out", encoding="utf-16")
    assert isinstance(outcome, asyncbulk.InputError), outcome
    assert str(src) in str(outcome) and INTERNAL_COPY not in str(outcome), outcome


async def test_undecodable_byte_names_the_users_file(org: Org, tmp_path: Path) -> None:
    """Defect 13: a byte cp1252 does not define (0x81) is reported against the user's file."""
    src = tmp_path / "contacts.csv"
    src.write_bytes(b"FirstName,LastName\nAda,Lovelace\nBad,Byte\x81\n")
    outcome = await load(org, src, tmp_path / "out", encoding="cp1252")
    assert isinstance(outcome, asyncbulk.InputError), outcome
    assert str(src) in str(outcome) and INTERNAL_COPY not in str(outcome), outcome
    assert org.job_count() == 0


def symlink_loop(tmp_path: Path) -> Path:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.symlink_to(b)
    b.symlink_to(a)
    return a


LOOP = re.compile(r"symlink loop|symbolic link loop|too many levels of symbolic links", re.I)


async def test_symlink_loop_is_not_no_such_file(org: Org, tmp_path: Path) -> None:
    """Defect 13: a symlink loop as input says so (today: "no such file")."""
    outcome = await load(org, symlink_loop(tmp_path), tmp_path / "out")
    assert isinstance(outcome, asyncbulk.InputError | OSError), outcome
    assert LOOP.search(str(outcome)) and "no such file" not in str(outcome).lower(), outcome


def test_cli_symlink_loop_is_not_no_such_file(
    org: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect 13 through the CLI, which checks the file itself before the library does."""
    src = symlink_loop(tmp_path)
    run = run_cli(
        capsys, "load", "insert", "Contact", str(src), "--out", str(tmp_path / "out"), *org.cli_auth()
    )
    assert run.code == 4
    assert len(run.error_lines) == 1, run.stderr
    assert LOOP.search(run.error_lines[0]) and "no such file" not in run.error_lines[0].lower(), run.stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
async def test_full_disk_names_the_file(org: Org, tmp_path: Path) -> None:
    """Defect 13: a write that fails with ENOSPC names the file it was writing (success.csv is
    made a link to /dev/full, which refuses every write with "No space left on device")."""
    src = write_csv(tmp_path / "contacts.csv", contact_rows(20))
    out = tmp_path / "out"
    out.mkdir()
    (out / "success.csv").symlink_to("/dev/full")
    outcome = await load(org, src, out)
    assert isinstance(outcome, Exception), outcome
    text = str(outcome)
    assert re.search(r"no space left on device|disk (is )?full", text, re.I), text
    assert "success.csv" in text or str(out) in text, text


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_cli_full_disk_names_the_file(org: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Defect 13 through the CLI: one error line naming the file and the cause."""
    src = write_csv(tmp_path / "contacts.csv", contact_rows(20))
    out = tmp_path / "out"
    out.mkdir()
    (out / "success.csv").symlink_to("/dev/full")
    run = run_cli(
        capsys,
        "load",
        "insert",
        "Contact",
        str(src),
        "--out",
        str(out),
        "--no-progress",
        "--poll-interval",
        "0.05",
        *org.cli_auth(),
    )
    assert run.code == 4, run.stderr
    assert len(run.error_lines) == 1, run.stderr
    line = run.error_lines[0]
    assert re.search(r"no space left on device|disk (is )?full", line, re.I), line
    assert "success.csv" in line or str(out) in line, line
