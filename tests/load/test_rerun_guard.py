"""Defect 4: the same load started again after a crash (not resumed) loaded every record twice.

A load knows about an unfinished load of the same file into the same org and object, and refuses
with a :class:`asyncbulk.ResumeError` naming ``asyncbulk resume DIR``; ``new=True`` (``--new``)
starts a new one anyway. The index of loads lives in ``$ASYNCBULK_STATE_DIR`` (default
``$XDG_STATE_HOME/asyncbulk``, else ``~/.local/state/asyncbulk``).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest
from _cases.org import (
    FAST_POLL,
    SMALL_CHUNKS,
    Org,
    contact_rows,
    describe_outcome,
    emulator_thread,
    load_in_child_killed_at,
    outcome_of,
    run_cli,
    run_cli_process,
    write_csv,
)

import asyncbulk

RECORDS = 600  # six chunks of 100; the child is killed at its second merge


def python_load(org: Org, src: Path, out: Path, **options: Any) -> Any:
    """The load the crashed child ran, started again the same way."""
    return asyncbulk.load(
        src,
        object="Contact",
        operation="insert",
        out_dir=out,
        chunks=SMALL_CHUNKS,
        poll=FAST_POLL,
        concurrency=1,
        **org.load_auth(),
        **options,
    )


def crashed_load(org: Org, tmp_path: Path) -> tuple[Path, Path, int]:
    """A load of ``RECORDS`` Contacts killed mid-way; returns the input, its out dir and records stored."""
    src = write_csv(tmp_path / "in.csv", contact_rows(RECORDS))
    out = tmp_path / "out"
    load_in_child_killed_at("merge:2", org, src, out, per_chunk=100)
    stored = org.count()
    assert 0 < stored < RECORDS
    return src, out, stored


async def test_same_load_again_after_a_crash_is_refused(org: Org, tmp_path: Path) -> None:
    """Defect 4: today the second run sends every record again (stored count grows)."""
    src, out, stored = crashed_load(org, tmp_path)
    jobs = org.job_count()
    outcome = await outcome_of(python_load(org, src, out))
    assert org.count() == stored, f"records were loaded again: {describe_outcome(outcome)}"
    assert org.job_count() == jobs
    assert isinstance(outcome, asyncbulk.ResumeError), outcome
    assert f"asyncbulk resume {out}" in str(outcome)


async def test_new_starts_a_new_load_anyway(org: Org, tmp_path: Path) -> None:
    """Defect 4: ``new=True`` is the user's way to say "load it again, I know"."""
    src, _, stored = crashed_load(org, tmp_path)
    result = await python_load(org, src, tmp_path / "again", new=True)
    assert result.succeeded == RECORDS
    assert org.count() == stored + RECORDS


async def test_same_file_into_another_org_is_not_refused(org: Org, tmp_path: Path) -> None:
    """Defect 4: the guard is about the same org: the same file into another org is a new load."""
    src, _, _ = crashed_load(org, tmp_path)
    with emulator_thread(workers=2) as other_emulator:
        other = Org(other_emulator)
        result = await python_load(other, src, tmp_path / "other-org")
        assert result.succeeded == RECORDS and other.count() == RECORDS


def test_the_index_of_loads_is_in_the_state_dir(
    org: Org, tmp_path: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defect 4: the index is kept in ``$ASYNCBULK_STATE_DIR``, never in the home folder."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    crashed_load(org, tmp_path)
    assert state_dir.is_dir() and any(state_dir.iterdir()), "no index of loads was kept"
    assert not any(home.iterdir())


def test_the_index_defaults_to_xdg_state_home(
    org: Org, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defect 4: without ``ASYNCBULK_STATE_DIR`` the index is in ``$XDG_STATE_HOME/asyncbulk``."""
    monkeypatch.delenv("ASYNCBULK_STATE_DIR")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    crashed_load(org, tmp_path)
    index = tmp_path / "xdg-state" / "asyncbulk"
    assert index.is_dir() and any(index.iterdir()), "no index of loads in $XDG_STATE_HOME/asyncbulk"


def cli_load(org: Org, src: Path, *extra: str) -> list[str]:
    return [
        "load",
        "insert",
        "Contact",
        str(src),
        "--chunk-records",
        "100",
        "--concurrency",
        "1",
        "--poll-interval",
        "0.05",
        "--no-progress",
        *extra,
        *org.cli_auth(),
    ]


def test_cli_same_command_again_is_refused(
    org: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect 4 through the CLI, with ``--out``: one error line naming ``asyncbulk resume DIR``."""
    src = write_csv(tmp_path / "in.csv", contact_rows(RECORDS))
    out = tmp_path / "out"
    first = run_cli_process(*cli_load(org, src, "--out", str(out)), env={"ASYNCBULK_CRASH_AT": "merge:2"})
    assert first.code == -9, first.stderr
    stored = org.count()
    again = run_cli(capsys, *cli_load(org, src, "--out", str(out)))
    assert org.count() == stored, f"records were loaded again (exit {again.code})"
    assert again.code == 4, again.stderr
    assert len(again.error_lines) == 1, again.stderr
    assert f"asyncbulk resume {out}" in again.error_lines[0]


def test_cli_default_out_folder_again_is_refused(
    org: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defect 4 through the CLI without ``--out``: each run gets a new timestamped folder, and
    today the second run loads everything again with no hint at all."""
    monkeypatch.chdir(tmp_path)
    src = write_csv(tmp_path / "in.csv", contact_rows(RECORDS))
    first = run_cli_process(*cli_load(org, src), env={"ASYNCBULK_CRASH_AT": "merge:2"}, cwd=tmp_path)
    assert first.code == -9, first.stderr
    (first_out,) = (tmp_path / "asyncbulk-results").iterdir()
    # The folder is named to the second: make sure the second run would get a folder of its own.
    while dt.datetime.now().strftime("%Y%m%d-%H%M%S") in first_out.name:
        time.sleep(0.05)
    stored = org.count()
    again = run_cli(capsys, *cli_load(org, src))
    assert org.count() == stored, f"records were loaded again (exit {again.code})"
    assert again.code == 4, again.stderr
    assert len(again.error_lines) == 1, again.stderr
    assert f"asyncbulk resume {first_out.resolve()}" in again.error_lines[0]
