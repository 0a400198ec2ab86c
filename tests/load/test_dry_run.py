"""Dry run (issue 9): validate, pre-flight and plan the load, and create nothing.

``load(..., dry_run=True)`` returns an :class:`asyncbulk.LoadPlan`; ``asyncbulk load --dry-run``
prints it (``--json``: as a JSON object).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _cases.org import FAST_POLL, Org, contact_rows, outcome_of, run_cli, write_csv

import asyncbulk
from asyncbulk import ChunkConfig
from asyncbulk.emulator import EmulatorConfig, EmulatorThread

RECORDS = 1_050  # six chunks of at most 200
PLAN_KEYS = {
    "records",
    "chunks",
    "jobs",
    "multipart_chunks",
    "batches",
    "api_requests",
    "daily_batches_remaining",
    "daily_records_remaining",
}
RESULT_FILES = ("success.csv", "failed.csv", "unprocessed.csv", "summary.json")


@pytest.fixture
def limited_org() -> Iterator[Org]:
    """An org whose remaining daily allocations are not the defaults (so they must come from /limits)."""
    config = EmulatorConfig(workers=2, daily_batch_limit=1_234, daily_record_limit=567_890)
    with EmulatorThread(config) as emulator:
        yield Org(emulator)


def how_many(chunks: Any) -> int:
    """``multipart_chunks`` as a count, whether the plan gives a count or the chunks themselves."""
    return chunks if isinstance(chunks, int) else len(chunks)


async def plan_of(org: Org, src: Path, out: Path, chunks: ChunkConfig, **options: Any) -> Any:
    return await outcome_of(
        asyncbulk.load(
            src,
            object="Contact",
            operation="insert",
            out_dir=out,
            chunks=chunks,
            poll=FAST_POLL,
            dry_run=True,
            **org.load_auth(),
            **options,
        )
    )


async def test_dry_run_returns_the_plan_and_creates_nothing(limited_org: Org, tmp_path: Path) -> None:
    """Dry run: the plan's figures, the org's remaining allocations, zero jobs, no result file."""
    src = write_csv(tmp_path / "in.csv", contact_rows(RECORDS))
    out = tmp_path / "out"
    plan = await plan_of(limited_org, src, out, ChunkConfig(max_records=200, multipart_max_chars=0))
    assert limited_org.job_count() == 0, "a dry run created jobs"
    assert limited_org.count() == 0
    assert not [name for name in RESULT_FILES if (out / name).exists()]
    assert isinstance(plan, asyncbulk.LoadPlan), plan
    assert (plan.records, plan.chunks, plan.jobs, plan.batches) == (RECORDS, 6, 6, 6)
    assert how_many(plan.multipart_chunks) == 0
    assert plan.api_requests >= 3 * plan.jobs  # at least create, upload and close per job
    assert (plan.daily_batches_remaining, plan.daily_records_remaining) == (1_234, 567_890)
    assert PLAN_KEYS <= set(plan.to_dict())
    json.dumps(plan.to_dict())  # plain JSON types
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.records = 0


async def test_dry_run_says_which_chunks_go_multipart(org: Org, tmp_path: Path) -> None:
    """Dry run: small chunks go multipart (one request each), so the plan expects fewer requests."""
    src = write_csv(tmp_path / "in.csv", contact_rows(RECORDS))
    multipart = await plan_of(org, src, tmp_path / "a", ChunkConfig(max_records=200))
    separate = await plan_of(org, src, tmp_path / "b", ChunkConfig(max_records=200, multipart_max_chars=0))
    assert org.job_count() == 0
    assert isinstance(multipart, asyncbulk.LoadPlan), multipart
    assert how_many(multipart.multipart_chunks) == multipart.chunks == 6
    assert how_many(separate.multipart_chunks) == 0
    assert multipart.api_requests < separate.api_requests


async def test_dry_run_runs_the_preflight(org: Org, tmp_path: Path) -> None:
    """Dry run: a header the object cannot take is reported as it would be by a real run."""
    header = ["FirstName", "LastNme", "Email", "Phone", "MailingCity", "MailingStreet", "Title"]
    src = write_csv(tmp_path / "in.csv", contact_rows(50), header=header)
    outcome = await plan_of(org, src, tmp_path / "out", ChunkConfig(max_records=200))
    assert org.job_count() == 0
    assert isinstance(outcome, asyncbulk.PreflightError), outcome
    assert "LastName" in str(outcome)


async def test_dry_run_validates_the_file(org: Org, tmp_path: Path) -> None:
    """Dry run: a structurally bad record is found, with its line, as by a real run."""
    src = tmp_path / "in.csv"
    src.write_text("FirstName,LastName\nAda,Lovelace\nAlan,Turing,extra\n", encoding="utf-8")
    outcome = await plan_of(org, src, tmp_path / "out", ChunkConfig(max_records=200))
    assert org.job_count() == 0
    assert isinstance(outcome, asyncbulk.InputError), outcome
    assert outcome.line == 3


def dry_run_cli(org: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> Any:
    src = write_csv(tmp_path / "in.csv", contact_rows(RECORDS))
    return run_cli(
        capsys,
        "load",
        "insert",
        "Contact",
        str(src),
        "--out",
        str(tmp_path / "out"),
        "--chunk-records",
        "200",
        "--dry-run",
        "--no-progress",
        *extra,
        *org.cli_auth(),
    )


def test_cli_dry_run_prints_the_plan(org: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Dry run through the CLI: exit 0, the plan on stdout, nothing created."""
    run = dry_run_cli(org, tmp_path, capsys)
    assert run.code == 0, run.stderr
    assert org.job_count() == 0
    assert "1,050" in run.stdout or "1050" in run.stdout, run.stdout
    assert not [name for name in RESULT_FILES if (tmp_path / "out" / name).exists()]


def test_cli_dry_run_json(limited_org: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Dry run through the CLI with --json: the plan as one JSON object on stdout."""
    run = dry_run_cli(limited_org, tmp_path, capsys, "--json")
    assert run.code == 0, run.stderr
    assert limited_org.job_count() == 0
    plan = json.loads(run.stdout)
    assert PLAN_KEYS <= set(plan), plan
    assert (plan["records"], plan["chunks"], plan["jobs"]) == (RECORDS, 6, 6)
    assert (plan["daily_batches_remaining"], plan["daily_records_remaining"]) == (1_234, 567_890)
