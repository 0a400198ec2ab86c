"""Defect 5: an input file inside the out folder was overwritten by the load's results.

An out folder whose result, summary or journal paths would touch the input is refused (a
``ValueError`` or :class:`asyncbulk.InputError` naming both); the input is left byte for byte as
it was and no job is created.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _cases.org import FAST_POLL, Org, contact_rows, describe_outcome, outcome_of, run_cli, write_csv

import asyncbulk


@pytest.mark.parametrize(
    "name", ["success.csv", "failed.csv", "unprocessed.csv", "summary.json", "journal.jsonl"]
)
async def test_input_among_the_result_files_is_refused(org: Org, tmp_path: Path, name: str) -> None:
    """Defect 5: ``load out/failed.csv --out out`` truncated the user's input to a result header."""
    out = tmp_path / "out"
    out.mkdir()
    src = write_csv(out / name, contact_rows(30))
    original = src.read_bytes()
    outcome = await outcome_of(
        asyncbulk.load(
            src, object="Contact", operation="insert", out_dir=out, poll=FAST_POLL, **org.load_auth()
        )
    )
    assert src.read_bytes() == original, f"the input was overwritten: {describe_outcome(outcome)}"
    assert org.job_count() == 0
    assert isinstance(outcome, ValueError | asyncbulk.InputError), outcome
    assert str(src) in str(outcome) and str(out) in str(outcome)


async def test_result_file_linked_to_the_input_is_refused(org: Org, tmp_path: Path) -> None:
    """Defect 5: the same file under another name (a symlink in the out folder) is the input too."""
    src = write_csv(tmp_path / "contacts.csv", contact_rows(30))
    original = src.read_bytes()
    out = tmp_path / "out"
    out.mkdir()
    (out / "success.csv").symlink_to(src)
    outcome = await outcome_of(
        asyncbulk.load(
            src, object="Contact", operation="insert", out_dir=out, poll=FAST_POLL, **org.load_auth()
        )
    )
    assert src.read_bytes() == original, f"the input was overwritten: {describe_outcome(outcome)}"
    assert org.job_count() == 0
    assert isinstance(outcome, ValueError | asyncbulk.InputError), outcome
    assert str(src) in str(outcome) and "success.csv" in str(outcome)


def test_cli_input_in_out_folder_is_refused(
    org: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defect 5 through the CLI, as the issue reproduced it: exit 4 and one line naming both."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    src = write_csv(tmp_path / "out" / "failed.csv", contact_rows(30))
    original = src.read_bytes()
    run = run_cli(
        capsys,
        "load",
        "insert",
        "Contact",
        "out/failed.csv",
        "--out",
        "out",
        "--no-progress",
        "--poll-interval",
        "0.05",
        *org.cli_auth(),
    )
    assert src.read_bytes() == original, f"the input was overwritten (exit {run.code})"
    assert org.job_count() == 0
    assert run.code == 4, run.stderr
    assert len(run.error_lines) == 1, run.stderr
    assert "failed.csv" in run.error_lines[0] and "out" in run.error_lines[0]
