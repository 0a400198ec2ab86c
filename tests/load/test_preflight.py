"""Pre-flight (issue 9, and defect 8): a header the object cannot take costs one describe, no job.

The checks, before any job: unknown fields (with the closest real name), fields not createable
(insert, upsert) or not updateable (update, upsert), relationship columns, the upsert key, and
``Id`` for delete / hardDelete; all problems in one :class:`asyncbulk.PreflightError`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from _cases.org import FAST_POLL, Org, describe_outcome, outcome_of, run_cli, write_csv

import asyncbulk
from asyncbulk import ChunkConfig

ROWS = 500  # five chunks of 100


def rows_for(header: list[str], count: int = ROWS) -> list[list[str]]:
    """Plausible values for each column of ``header`` (the pre-flight never looks at them)."""
    values = {
        "id": lambda i: f"003EM{i:010d}AAA",
        "firstname": lambda i: f"First{i}",
        "lastname": lambda i: f"Last{i}",
        "email": lambda i: f"user{i}@example.com",
        "external_id__c": lambda i: f"EXT-{i}",
    }
    return [[values.get(c.lower(), lambda i: f"v{i}")(i) for c in header] for i in range(1, count + 1)]


async def preflight(
    org: Org, tmp_path: Path, header: list[str], operation: str = "insert", **options: Any
) -> Any:
    """Load a five-chunk file with ``header``; return what ``load()`` returned or raised."""
    src = write_csv(tmp_path / "in.csv", rows_for(header), header=header)
    return await outcome_of(
        asyncbulk.load(
            src,
            object="Contact",
            operation=operation,
            out_dir=tmp_path / "out",
            chunks=ChunkConfig(max_records=100),
            poll=FAST_POLL,
            **org.load_auth(),
            **options,
        )
    )


def names(field: str, text: str) -> bool:
    """Whether ``text`` names ``field`` as a word of its own (``Name``, not ``LastName``)."""
    return re.search(rf"(?<![A-Za-z0-9_.]){re.escape(field)}(?![A-Za-z0-9_])", text) is not None


def assert_preflight_error(outcome: Any, org: Org) -> Any:
    """Nothing was sent but the describe, and the error is a PreflightError; return it."""
    assert org.job_count() == 0, (
        f"jobs were created for a header the pre-flight must stop: {describe_outcome(outcome)}"
    )
    assert isinstance(outcome, asyncbulk.InputError), outcome
    assert isinstance(outcome, asyncbulk.PreflightError), outcome
    assert isinstance(outcome.problems, tuple) and outcome.problems
    for problem in outcome.problems:
        assert problem in str(outcome)
    return outcome


async def test_unknown_column_creates_no_job(org: Org, tmp_path: Path) -> None:
    """Defect 8: today an unknown column sends one failing job per chunk (five here)."""
    outcome = await preflight(org, tmp_path, ["FirstName", "LastName", "Shoe_Size__c"])
    error = assert_preflight_error(outcome, org)
    assert len(error.problems) == 1
    assert "Shoe_Size__c" in error.problems[0]


async def test_misspelt_field_suggests_the_real_name(org: Org, tmp_path: Path) -> None:
    """Pre-flight: an unknown field's problem names the closest real field."""
    error = assert_preflight_error(await preflight(org, tmp_path, ["FirstName", "LastNme", "Email"]), org)
    assert len(error.problems) == 1
    assert "LastNme" in error.problems[0] and "LastName" in error.problems[0]


async def test_field_names_compare_case_insensitively(org: Org, tmp_path: Path) -> None:
    """Pre-flight: ``lastname`` is LastName, as Salesforce matches headers; the load goes ahead."""
    outcome = await preflight(org, tmp_path, ["firstname", "LASTNAME", "eMail"])
    assert isinstance(outcome, asyncbulk.LoadResult), outcome
    assert outcome.succeeded == ROWS
    assert org.count() == ROWS


async def test_fields_not_createable_on_insert(org: Org, tmp_path: Path) -> None:
    """Pre-flight: read-only fields (Contact.Name, a system field) cannot be inserted."""
    error = assert_preflight_error(
        await preflight(org, tmp_path, ["LastName", "Name", "CreatedDate"], "insert"), org
    )
    assert len(error.problems) == 2
    assert any(names("Name", p) for p in error.problems)
    assert any(names("CreatedDate", p) for p in error.problems)


async def test_field_not_updateable_on_update(org: Org, tmp_path: Path) -> None:
    """Pre-flight: a field that is not updateable cannot be in an update's header."""
    error = assert_preflight_error(
        await preflight(org, tmp_path, ["Id", "LastName", "SystemModstamp"], "update"), org
    )
    assert len(error.problems) == 1
    assert "SystemModstamp" in error.problems[0]


async def test_upsert_key_must_be_an_external_id(org: Org, tmp_path: Path) -> None:
    """Pre-flight: upsert matches on an external id or idLookup field, not on any field."""
    outcome = await preflight(org, tmp_path, ["LastName", "Title"], "upsert", external_id_field="Title")
    error = assert_preflight_error(outcome, org)
    assert len(error.problems) == 1
    assert "Title" in error.problems[0]


async def test_upsert_checks_createable_and_updateable(org: Org, tmp_path: Path) -> None:
    """Pre-flight: upsert may create or update, so a read-only field is a problem either way."""
    header = ["External_Id__c", "LastName", "Name"]
    outcome = await preflight(org, tmp_path, header, "upsert", external_id_field="External_Id__c")
    error = assert_preflight_error(outcome, org)
    assert len(error.problems) == 1
    assert names("Name", error.problems[0])


async def test_relationship_columns(org: Org, tmp_path: Path) -> None:
    """Pre-flight: ``Rel.Field`` needs a real relationship and an external id / idLookup target."""
    header = [
        "LastName",
        "Account.External_Id__c",  # fine: Account's external id
        "ReportsTo.Email",  # fine: Contact.Email is an idLookup field
        "Account.Phone",  # the target field is not an external id
        "Manager.External_Id__c",  # Contact has no relationship called Manager
    ]
    error = assert_preflight_error(await preflight(org, tmp_path, header), org)
    assert len(error.problems) == 2, error.problems
    assert any("Account.Phone" in p for p in error.problems)
    assert any("Manager.External_Id__c" in p for p in error.problems)
    assert not any("Account.External_Id__c" in p or "ReportsTo.Email" in p for p in error.problems)


@pytest.mark.parametrize("operation", ["delete", "hardDelete"])
async def test_delete_needs_id(org: Org, tmp_path: Path, operation: str) -> None:
    """Pre-flight: delete and hardDelete carry ``Id`` (today an InputError, not a PreflightError)."""
    error = assert_preflight_error(await preflight(org, tmp_path, ["External_Id__c"], operation), org)
    assert any(names("Id", p) for p in error.problems)


async def test_every_problem_in_one_message(org: Org, tmp_path: Path) -> None:
    """Pre-flight: all problems at once, not the first one per run."""
    header = ["LastNme", "Shoe_Size__c", "Name", "Account.Phone"]
    error = assert_preflight_error(await preflight(org, tmp_path, header), org)
    assert len(error.problems) == 4, error.problems
    for column in header:
        assert column in str(error)


def test_cli_exit_4_with_every_problem_on_one_line(
    org: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Pre-flight through the CLI: exit 4, one ``asyncbulk: error:`` line naming every problem."""
    header = ["LastNme", "Shoe_Size__c", "CreatedDate"]
    src = write_csv(tmp_path / "in.csv", rows_for(header), header=header)
    run = run_cli(
        capsys,
        "load",
        "insert",
        "Contact",
        str(src),
        "--out",
        str(tmp_path / "out"),
        "--chunk-records",
        "100",
        "--no-progress",
        "--poll-interval",
        "0.05",
        *org.cli_auth(),
    )
    jobs = org.job_count()
    assert jobs == 0, f"{jobs} jobs were created (exit {run.code})"
    assert run.code == 4, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert len(run.error_lines) == 1
    for column in ("LastNme", "LastName", "Shoe_Size__c", "CreatedDate"):
        assert column in run.error_lines[0]
