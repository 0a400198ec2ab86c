"""Defect 6: a field of 131,072 characters (Salesforce's limit, accepted by the splitter) crashed the
merge after the job ran (``_csv.Error: field larger than field limit (131072)``, no result files).

Every field the splitter accepts must survive the whole round trip, and result files can hold
longer fields than the input: ``STRING_TOO_LONG``'s message quotes the value ("Title: data value
too large: <value> (max length=128)"), so a failed row's ``sf__Error`` is longer than 131,072.
Contact's own long text area (Description) holds 32,000 characters, so the org gets custom long
text areas of the largest size Salesforce allows, 131,072 characters.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from _cases.org import FAST_POLL, Org, outcome_of, read_result, run_cli

import asyncbulk
from asyncbulk.emulator import EmulatorConfig, EmulatorThread

FIELD_LIMIT = 131_072
NOTES = ["Notes__c", "Notes2__c", "Notes3__c"]


@pytest.fixture
def org_with_long_text(tmp_path: Path) -> Iterator[Org]:
    """An org whose Contact has three long text areas of 131,072 characters."""
    schema = {
        "objects": [
            {
                "name": "Contact",
                "fields": [{"name": name, "type": "textarea", "length": FIELD_LIMIT} for name in NOTES],
            }
        ]
    }
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema))
    with EmulatorThread(EmulatorConfig(workers=2, schema_path=str(path))) as emulator:
        yield Org(emulator)


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def long_value(seed: str) -> str:
    """Exactly ``FIELD_LIMIT`` characters."""
    return (seed * (FIELD_LIMIT // len(seed) + 1))[:FIELD_LIMIT]


async def load_file(org: Org, src: Path, out: Path) -> object:
    return await outcome_of(
        asyncbulk.load(
            src, object="Contact", operation="insert", out_dir=out, poll=FAST_POLL, **org.load_auth()
        )
    )


async def test_one_field_at_the_limit_loads_and_is_in_success_csv(
    org_with_long_text: Org, tmp_path: Path
) -> None:
    """Defect 6: a stored value at the limit comes back in success.csv, and the summary is ok."""
    value = long_value("x")
    rows = [["Short", "", "EXT-1"], ["Long", value, "EXT-2"], ["After", "", "EXT-3"]]
    src = write_rows(tmp_path / "in.csv", ["LastName", "Notes__c", "External_Id__c"], rows)
    result = await load_file(org_with_long_text, src, tmp_path / "out")
    assert isinstance(result, asyncbulk.LoadResult), result
    assert result.succeeded == 3 and result.ok
    success = {r["LastName"]: r for r in read_result(tmp_path / "out" / "success.csv")}
    assert success["Long"]["Notes__c"] == value
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["ok"] is True


async def test_quotes_newlines_and_accents_at_the_limit(org_with_long_text: Org, tmp_path: Path) -> None:
    """Defect 6: 131,072 characters counted as characters (not bytes, not escaped quotes)."""
    value = long_value('Zoë said "hi",\nthen left. ')
    src = write_rows(tmp_path / "in.csv", ["LastName", "Notes__c"], [["Quoted", value]])
    result = await load_file(org_with_long_text, src, tmp_path / "out")
    assert isinstance(result, asyncbulk.LoadResult), result
    assert result.succeeded == 1
    assert read_result(tmp_path / "out" / "success.csv")[0]["Notes__c"] == value


async def test_several_fields_at_the_limit_in_one_record(org_with_long_text: Org, tmp_path: Path) -> None:
    """Defect 6: three such fields in one record (393,216 characters, under the 400,000 record limit)."""
    values = [long_value(c) for c in "abc"]
    src = write_rows(tmp_path / "in.csv", ["LastName", *NOTES], [["Wide", *values]])
    result = await load_file(org_with_long_text, src, tmp_path / "out")
    assert isinstance(result, asyncbulk.LoadResult), result
    assert result.succeeded == 1
    (row,) = read_result(tmp_path / "out" / "success.csv")
    assert [row[name] for name in NOTES] == values


async def test_a_failed_row_at_the_limit_is_in_failed_csv(org: Org, tmp_path: Path) -> None:
    """Defect 6: today the merge raises ``_csv.Error: field larger than field limit (131072)``:
    the failed result's sf__Error quotes the 131,072-character value (Title takes 128)."""
    value = long_value("y")
    src = write_rows(tmp_path / "in.csv", ["LastName", "Title"], [["Fine", "CEO"], ["TooLong", value]])
    result = await load_file(org, src, tmp_path / "out")
    assert isinstance(result, asyncbulk.LoadResult), result
    assert (result.succeeded, result.failed) == (1, 1)
    (failed,) = read_result(tmp_path / "out" / "failed.csv")
    assert failed["Title"] == value and failed["sf__Error"].startswith("STRING_TOO_LONG")


def test_cli_no_traceback(org: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Defect 6 through the CLI: today a traceback; now exit 3 (a row failed) and the result files."""
    src = write_rows(tmp_path / "in.csv", ["LastName", "Title"], [["TooLong", long_value("z")]])
    run = run_cli(
        capsys,
        "load",
        "insert",
        "Contact",
        str(src),
        "--out",
        str(tmp_path / "out"),
        "--no-progress",
        "--poll-interval",
        "0.05",
        *org.cli_auth(),
    )
    assert "Traceback" not in run.stderr, run.stderr[-300:]
    assert run.code == 3, run.stderr[-500:]
    assert len(read_result(tmp_path / "out" / "failed.csv")) == 1
