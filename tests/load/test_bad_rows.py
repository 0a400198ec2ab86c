"""Bad rows (issue 9): ``bad_rows="stop"`` (the default) or ``"skip"`` structurally bad records.

Skipped records are never sent; each is in failed.csv with its record number, an empty job id,
``asyncbulk__match`` = ``skipped: <reason>`` and empty ``sf__Id`` / ``sf__Error``; the rest loads;
``LoadResult.skipped`` and summary.json's ``"skipped"`` count them; the CLI exits 3.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _cases.org import FAST_POLL, Org, outcome_of, read_result, run_cli

import asyncbulk
from asyncbulk import ChunkConfig

RECORDS = 20
#: Record number -> a structurally bad line (none of them spans lines, so record n is line n + 1).
BAD = {
    3: "Ada,Lovelace,ada@example.com,extra field",  # one field too many
    7: 'Alan,Tu"ring,alan@example.com',  # a quote inside an unquoted field
    12: "Grace,Hopper",  # one field too few
}


def file_with_bad_rows(path: Path) -> Path:
    """``RECORDS`` records, three of them structurally bad (see ``BAD``)."""
    lines = ["FirstName,LastName,Email"]
    lines += [BAD.get(n, f"First{n},Last{n},user{n}@example.com") for n in range(1, RECORDS + 1)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def load_with(org: Org, tmp_path: Path, **options: Any) -> Any:
    return await outcome_of(
        asyncbulk.load(
            file_with_bad_rows(tmp_path / "in.csv"),
            object="Contact",
            operation="insert",
            out_dir=tmp_path / "out",
            chunks=ChunkConfig(max_records=5),
            poll=FAST_POLL,
            **org.load_auth(),
            **options,
        )
    )


async def test_default_stops_before_any_job(org: Org, tmp_path: Path) -> None:
    """Bad rows, default policy: the first bad record stops the load before any job (as today)."""
    outcome = await load_with(org, tmp_path)
    assert org.job_count() == 0
    assert isinstance(outcome, asyncbulk.InputError), outcome
    assert outcome.record == 3


async def test_skip_loads_the_rest_and_reports_each_skipped_record(org: Org, tmp_path: Path) -> None:
    """Bad rows, ``skip``: good records stored, bad ones reported in failed.csv, never sent."""
    result = await load_with(org, tmp_path, bad_rows="skip")
    assert isinstance(result, asyncbulk.LoadResult), result
    assert org.count() == RECORDS - len(BAD)
    stored = {r["LastName"] for r in org.query("SELECT LastName FROM Contact")}
    assert stored == {f"Last{n}" for n in range(1, RECORDS + 1) if n not in BAD}
    failed = read_result(tmp_path / "out" / "failed.csv")
    assert sorted(int(r["asyncbulk__record"]) for r in failed) == sorted(BAD)
    for row in failed:
        assert row["asyncbulk__job_id"] == ""
        assert row["asyncbulk__match"].startswith("skipped: ")
        assert len(row["asyncbulk__match"]) > len("skipped: ")  # with the reason
        assert row["sf__Id"] == "" and row["sf__Error"] == ""
    assert (result.succeeded, result.failed, result.unprocessed, result.skipped) == (17, 0, 0, 3)
    assert result.succeeded + result.failed + result.unprocessed + result.skipped == result.records == 20


async def test_skip_is_counted_in_the_summary(org: Org, tmp_path: Path) -> None:
    """Bad rows, ``skip``: summary.json says how many were skipped, and the load is not ok."""
    result = await load_with(org, tmp_path, bad_rows="skip")
    assert isinstance(result, asyncbulk.LoadResult), result
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["skipped"] == 3
    assert summary["ok"] is False


def test_cli_skip_exits_3(org: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Bad rows through the CLI: ``--bad-rows skip`` loads the rest and exits 3 (some skipped)."""
    src = file_with_bad_rows(tmp_path / "in.csv")
    run = run_cli(
        capsys,
        "load",
        "insert",
        "Contact",
        str(src),
        "--out",
        str(tmp_path / "out"),
        "--bad-rows",
        "skip",
        "--json",
        "--no-progress",
        "--poll-interval",
        "0.05",
        *org.cli_auth(),
    )
    assert run.code == 3, run.stderr
    summary = json.loads(run.stdout)
    assert (summary["succeeded"], summary["skipped"]) == (17, 3)
    assert org.count() == 17
