"""``asyncbulk demo``: the generated file, and a whole small demo run through the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from asyncbulk._cli import EXIT_OK, main
from asyncbulk._cli._demo import HEADER, demo_pace, write_contacts


def test_generated_file_is_realistic_and_counts_its_planted_failures(tmp_path: Path) -> None:
    demo = write_contacts(tmp_path / "contacts.csv", 2_000, seed=3)
    with demo.path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == HEADER and len(rows) == 2_000
    assert demo.missing_last_name == sum(1 for r in rows if not r["LastName"]) == 7
    assert demo.bad_email == sum(1 for r in rows if "@" not in r["Email"]) == 5
    assert demo.too_long_title == sum(1 for r in rows if len(r["Title"]) > 128) == 4
    assert demo.failures == 16
    assert any("\n" in r["MailingStreet"] and '"Blue"' in r["MailingStreet"] for r in rows)
    assert any("," in r["Description"] and "\n" in r["Description"] for r in rows)
    text = demo.path.read_text(encoding="utf-8")
    assert any(ch in text for ch in "éöüøłñ")  # accents survive as UTF-8
    assert len({r["External_Id__c"] for r in rows}) == 2_000
    # Same seed, same file: a demo run can be compared with another.
    again = write_contacts(tmp_path / "again.csv", 2_000, seed=3)
    assert again.path.read_bytes() == demo.path.read_bytes()


def test_pace_keeps_the_demo_short() -> None:
    assert demo_pace(10_000, 0) is None  # 0: as fast as possible
    assert demo_pace(10_000, 123.0) == 123.0
    # 50,000 records in 5 jobs on 4 workers: 2 rounds of 10,000 records in about 8 seconds.
    assert demo_pace(50_000, None) == pytest.approx(2_500)
    # A tiny demo takes well under a second of emulated processing.
    small = demo_pace(1_200, None)
    assert small is not None and 1_200 / small <= 0.25


def test_demo_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    code = main(["demo", "--records", "1500", "--chunk-records", "500", "--out", str(out), "--json"])
    stdout, stderr = capsys.readouterr()
    assert code == EXIT_OK, stderr
    summary = json.loads(stdout)
    expected = write_contacts(tmp_path / "same.csv", 1_500, seed=1).failures
    assert summary["expected_failures"] == expected == summary["failed"] > 0
    assert summary["succeeded"] == 1_500 - expected and summary["unprocessed"] == 0
    assert len(summary["jobs"]) == 3 and {j["state"] for j in summary["jobs"]} == {"JobComplete"}
    with (out / "failed.csv").open(newline="", encoding="utf-8") as handle:
        errors = {row["sf__Error"].split(":", 1)[0] for row in csv.DictReader(handle)}
    assert errors == {"REQUIRED_FIELD_MISSING", "INVALID_EMAIL_ADDRESS", "STRING_TOO_LONG"}
    assert (out / "contacts.csv").exists() and (out / "summary.json").exists()
    # Progress went to stderr (plain lines: this is not a terminal), the JSON alone to stdout.
    assert "emulated org at http://127.0.0.1:" in stderr
    assert "Contact insert (demo): 100% | read 1,500/1,500" in stderr


def test_demo_human_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--records", "300", "--out", str(tmp_path), "--no-progress"])
    stdout, stderr = capsys.readouterr()
    assert code == EXIT_OK and stderr == ""
    assert "records failed" in stdout and str(tmp_path / "failed.csv") in stdout
    assert "rows were meant to fail" in stdout and "asyncbulk load insert Contact" in stdout
