"""Mapping result rows back to input records: exact, re-rendered, ambiguous, unmatched, missing."""

from __future__ import annotations

import csv
from pathlib import Path

from asyncbulk import ResultKind
from asyncbulk._load._match import Normalizer, RowIndex
from asyncbulk._load._merge import ResultMerger, RetryRow, SkippedRecord


def write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def merged(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_identical_rows_are_ambiguous_missing_and_unmatched_are_reported(tmp_path: Path) -> None:
    columns = ["LastName", "NumberOfEmployees"]
    index = RowIndex(Normalizer(columns, {"numberofemployees": "int"}))
    # Records 10..14; 11 and 12 are identical rows.
    index.extend([["A", "1"], ["B", "2"], ["B", "2"], ["C", "3"], ["D", "4"]], range(10, 15))
    success = write(
        tmp_path / "s.csv",
        ["sf__Id", "sf__Created", *columns],
        [["001A", "true", "A", "1"], ["001B", "true", "B", "2"], ["001C", "true", "C", "3.0"]],
    )
    failed = write(
        tmp_path / "f.csv",
        ["sf__Id", "sf__Error", *columns],
        [["", "X:bad:--", "B", "2"], ["", "Y", "Z", "9"]],
    )
    merger = ResultMerger(tmp_path, columns=columns, delimiter=",", line_terminator="\n")
    merger.open()
    counts = merger.merge_job(
        job_id="750X",
        index=index,
        delimiter=",",
        paths={ResultKind.SUCCESSFUL: success, ResultKind.FAILED: failed},
    )
    merger.close()
    assert (counts.succeeded, counts.failed, counts.ambiguous, counts.unmatched) == (3, 2, 2, 1)
    assert counts.missing == [14]  # D never came back
    rows = merged(tmp_path / "success.csv")
    assert [(r["asyncbulk__record"], r["asyncbulk__match"]) for r in rows] == [
        ("10", "exact"),
        ("", "ambiguous: 11 12"),  # never one of the two numbers
        ("13", "exact"),  # "3.0" re-rendered from "3"
    ]
    failed_rows = merged(tmp_path / "failed.csv")
    assert [r["asyncbulk__match"] for r in failed_rows] == ["ambiguous: 11 12", "unmatched"]
    assert failed_rows[0]["sf__Error"] == "X:bad:--"


def test_retryable_failures_are_held_back_with_their_record(tmp_path: Path) -> None:
    columns = ["LastName"]
    index = RowIndex(Normalizer(columns))
    index.extend([["A"], ["B"], ["C"]], [1, 2, 3])
    success = write(tmp_path / "s.csv", ["sf__Id", "sf__Created", *columns], [["001A", "true", "A"]])
    failed = write(
        tmp_path / "f.csv",
        ["sf__Id", "sf__Error", *columns],
        [
            ["", "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--", "B"],
            ["", "REQUIRED_FIELD_MISSING:x:--", "C"],
        ],
    )
    merger = ResultMerger(tmp_path, columns=columns, delimiter=",", line_terminator="\n")
    merger.open()
    held: list[RetryRow] = []
    counts = merger.merge_job(
        job_id="750X",
        index=index,
        delimiter=",",
        paths={ResultKind.SUCCESSFUL: success, ResultKind.FAILED: failed},
        retry_codes=frozenset({"UNABLE_TO_LOCK_ROW"}),
        retry_rows=held,
    )
    merger.close()
    assert (counts.succeeded, counts.failed, counts.held_for_retry, counts.missing) == (1, 1, 1, [])
    assert [(r.record, r.values) for r in held] == [(2, ("B",))]
    assert [r["LastName"] for r in merged(tmp_path / "failed.csv")] == ["C"]


def test_reopen_cuts_back_to_the_journaled_sizes(tmp_path: Path) -> None:
    merger = ResultMerger(tmp_path, columns=["A"], delimiter=",", line_terminator="\n")
    merger.open()
    sizes = merger.flush()
    merger.close()
    with (tmp_path / "success.csv").open("a") as handle:
        handle.write("7,750X,exact,001,true,half-writ")  # what a crash left behind
    again = ResultMerger(tmp_path, columns=["A"], delimiter=",", line_terminator="\n")
    again.open(sizes=sizes)
    again.close()
    assert (
        tmp_path / "success.csv"
    ).read_text() == "asyncbulk__record,asyncbulk__job_id,asyncbulk__match,sf__Id,sf__Created,A\n"


def test_a_field_of_131072_characters_survives_the_merge(tmp_path: Path) -> None:
    """Salesforce's field limit; its error text may quote it whole, making sf__Error longer still."""
    long = "x" * 131_072
    columns = ["LastName", "Title"]
    index = RowIndex(Normalizer(columns))
    index.extend([["A", long]], [1])
    failed = write(
        tmp_path / "f.csv",
        ["sf__Id", "sf__Error", *columns],
        [["", f"STRING_TOO_LONG:Title: data value too large: {long} (max length=128):Title --", "A", long]],
    )
    merger = ResultMerger(tmp_path, columns=columns, delimiter=",", line_terminator="\n")
    merger.open()
    counts = merger.merge_job(job_id="750X", index=index, delimiter=",", paths={ResultKind.FAILED: failed})
    merger.close()
    assert (counts.failed, counts.missing) == (1, [])
    [row] = merged(tmp_path / "failed.csv")
    assert row["asyncbulk__record"] == "1" and row["Title"] == long


def test_skipped_records_name_their_reason_in_our_column_only(tmp_path: Path) -> None:
    merger = ResultMerger(tmp_path, columns=["A", "B"], delimiter=",", line_terminator="\n")
    merger.open()
    merger.write_skipped([SkippedRecord(3, 4, ("x", 'y"z'), "record has 3 fields, the header has 2")])
    merger.close()
    [row] = merged(tmp_path / "failed.csv")
    assert row["asyncbulk__record"] == "3" and row["asyncbulk__job_id"] == ""
    assert row["asyncbulk__match"] == "skipped: record has 3 fields, the header has 2"
    assert (row["sf__Id"], row["sf__Error"]) == ("", "")  # Salesforce never saw it
    assert (row["A"], row["B"]) == ("x", 'y"z')
