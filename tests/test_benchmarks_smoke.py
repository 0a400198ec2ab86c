"""The benchmark harness, end to end at a tiny size: real emulator process, real contenders.

No timing is asserted (the figures at 2,000 records mean nothing); what is checked is that the
harness runs every piece, measures each child process, and writes the table it promises.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from benchmarks import _data, _harness, _report


def _table_rows(markdown: str) -> list[list[str]]:
    section = markdown.split("## Results", 1)[1].split("## Targets", 1)[0]
    lines = [ln for ln in section.splitlines() if ln.startswith("|")]
    return [[cell.strip() for cell in ln.strip("|").split("|")] for ln in lines]


@pytest.mark.slow
def test_harness_end_to_end_writes_the_table(tmp_path: Path) -> None:
    out = tmp_path / "results"
    code = _harness.main(
        [
            "--records",
            "2000",
            "--rounds",
            "1",
            "--scenarios",
            "base",
            "--contenders",
            "asyncbulk,sf-batch10k",
            "--out",
            str(out),
            "--work-dir",
            str(tmp_path / "work"),
            "--no-chart",
        ]
    )
    assert code == 0
    rows = _table_rows((out / "results.md").read_text(encoding="utf-8"))
    assert rows[0] == list(_report.TABLE_COLUMNS)
    body = {row[1]: dict(zip(rows[0], row, strict=True)) for row in rows[2:]}
    assert set(body) == {"asyncbulk", "sf-batch10k"}
    data = json.loads((out / "results.json").read_text())
    bad = data["settings"]["data"]["base"]["bad_rows"]
    assert 0 < bad < 200  # a few per cent of 2,000 rows fail validation on purpose
    for name, row in body.items():
        assert row["Scenario"] == "base" and row["Records"] == "2,000" and row["Runs"] == "1/1"
        assert float(row["Wall s"]) > 0 and float(row["CPU s"]) > 0 and float(row["Peak RSS MB"]) > 10
        assert int(row["Requests"]) >= 4, name  # create, upload, close, status, results at least
        assert row["Batches"] == "1" and row["Jobs"] == "1"
        # Both did the same work: every row is accounted for, the bad ones as failures.
        assert row["Notes"] == f"{2000 - bad:,} ok / {bad} failed", name
    assert body["asyncbulk"]["Wall / asyncbulk (per round)"] == "1.00"
    assert "## Targets" in (out / "results.md").read_text(encoding="utf-8")


def test_data_is_seeded_and_realistic(tmp_path: Path) -> None:
    first = _data.generate(tmp_path / "a", 500, seed=7)
    second = _data.generate(tmp_path / "b", 500, seed=7)
    assert first.path.read_bytes() == second.path.read_bytes()
    text = first.path.read_text(encoding="utf-8")
    assert '"' in text and "é" in text  # quoted fields (commas, newlines, quotes) and accents
    assert text.count("\n") > 501  # newlines inside quoted fields
    assert first.bad_rows > 0


def test_measure_sees_the_child_memory_and_cpu(tmp_path: Path) -> None:
    # 150 MB held, then a little CPU: the figures must come from the child, not from this process.
    code = "b = bytearray(150 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); sum(range(3_000_000))"
    measured = _harness._measure([sys.executable, "-c", code], env={}, log=tmp_path / "log", timeout=30)
    assert measured.returncode == 0
    assert measured.peak_rss_kb > 140 * 1024
    assert measured.cpu > 0.01
    assert measured.wall >= measured.cpu * 0.5


def _run(scenario: str, contender: str, wall: float, rss: float, cpu: float, **extra: object) -> _harness.Run:
    run = _harness.Run(
        scenario, contender, 1, 1000, True, wall_seconds=wall, peak_rss_mb=rss, cpu_seconds=cpu
    )
    for key, value in extra.items():
        setattr(run, key, value)
    return run


def test_targets_pass_and_miss() -> None:
    paced = {"jobs": 10, "requests_by_kind": {"job_info": 25}}
    runs = [
        _run("base", "asyncbulk", 10, 50, 3),
        _run("base", "sf-default", 20, 400, 10),
        _run("large", "asyncbulk", 50, 55, 15),
        _run("huge", "asyncbulk", 100, 65, 30),
        _run("throttled", "asyncbulk", 51, 50, 3, ideal_seconds=50.0, **paced),
        _run("throttled-small", "asyncbulk", 11, 50, 1, ideal_seconds=10.0, **paced),
        _run(
            "realistic",
            "asyncbulk",
            60,
            50,
            3,
            ideal_seconds=54.5,
            jobs=10,
            requests_by_kind={"job_info": 40},
        ),
        _run(
            "base",
            "split-merge",
            1,
            40,
            1,
            child={"validate_mb_per_s": 650.0, "merge_records_per_s": 400_000.0},
        ),
        _run("extract", "asyncbulk", 10, 50, 2, requests=10),
        _run("extract", "sf-download", 15, 60, 2, requests=8),
        _run("extract-large", "asyncbulk", 50, 52, 10),
    ]
    found = [(t.name.split(" (")[0], t.verdict) for t in _report.targets(runs, "sf-default")]
    assert found == [
        ("throttled: asyncbulk wall within 3% of the ideal", "PASS"),  # +2%
        ("throttled-small: asyncbulk wall within 8% of the ideal", "MISS"),  # +10%
        ("realistic: overhead over its ideal", "MISS"),  # 4 status requests per job
        ("base: asyncbulk >= 2x faster than sf-default", "PASS"),  # 20 / 10
        ("base: client CPU <= 1/2 of sf-default's", "PASS"),  # 0.3x
        ("split-merge: validation pass >= 600 MB/s", "PASS"),
        ("split-merge: merge >= 500,000 records/s", "MISS"),
        ("base: asyncbulk peak RSS <= 64 MB", "PASS"),
        ("peak RSS flat: large", "PASS"),  # +10%
        ("peak RSS flat: huge", "MISS"),  # +30%
        ("extract: asyncbulk wall <= sf-download's", "PASS"),
        ("extract: asyncbulk peak RSS <= sf-download's", "PASS"),
        ("extract: peak RSS flat: extract-large", "PASS"),
        ("extract: API requests <= sf-download's", "MISS"),
    ]
    none = {t.verdict for t in _report.targets([], "sf-default")}
    assert none == {"n/a"}


def test_parts_cut_at_record_ends(tmp_path: Path) -> None:
    import csv

    data = _data.generate(tmp_path, 2000, seed=3)
    parts = _harness.cut_parts(data, 50_000)
    assert len(parts) > 5 and all(p.stat().st_size <= 50_000 for p in parts)
    header, *rows = list(csv.reader(data.path.open(newline="", encoding="utf-8")))
    seen: list[list[str]] = []
    for part in parts:
        first, *body = list(csv.reader(part.open(newline="", encoding="utf-8")))
        assert first == header
        seen += body
    assert seen == rows
    assert _harness.cut_parts(data, 50_000) == parts  # made once, then reused
    assert _harness.cut_parts(data, 10**9) == [data.path]
