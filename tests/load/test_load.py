"""End-to-end tests of ``asyncbulk.load`` against the emulator over loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import anyio
import orjson
import pytest
from _cases.contacts import HEADER, contact_rows, read_result, write_csv

import asyncbulk
from asyncbulk import ChunkConfig, ConcurrencyConfig, PollConfig, ProgressEvent
from asyncbulk.emulator import Emulator, EmulatorConfig, FaultConfig

FAST_POLL = PollConfig(initial=0.05, minimum=0.02, maximum=0.3)


async def soql(emu: Emulator, query: str) -> dict[str, Any]:
    """Run a query through the emulator's REST endpoint (what a user would do to check)."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{emu.base_url}/query",
            params={"q": query},
            headers={"Authorization": f"Bearer {emu.access_token}"},
        ) as response,
    ):
        assert response.status == 200, await response.text()
        return orjson.loads(await response.read())  # type: ignore[no-any-return]


async def count(emu: Emulator, sobject: str, where: str = "") -> int:
    return int((await soql(emu, f"SELECT COUNT() FROM {sobject} {where}".strip()))["totalSize"])


def run_load(emu: Emulator, source: Any, out: Path, **kwargs: Any) -> Any:
    kwargs.setdefault("object", "Contact")
    kwargs.setdefault("operation", "insert")
    kwargs.setdefault("poll", FAST_POLL)
    return asyncbulk.load(
        source, instance_url=emu.instance_url, access_token=emu.access_token, out_dir=out, **kwargs
    )


async def test_insert_merges_results_with_record_numbers(emulator: Emulator, tmp_path: Path) -> None:
    rows = contact_rows(2_500, bad_every=100)
    src = write_csv(tmp_path / "contacts.csv", rows)
    result = await run_load(emulator, src, tmp_path / "out", chunks=ChunkConfig(max_records=1_000))
    assert (result.records, result.succeeded, result.failed, result.unprocessed) == (2_500, 2_475, 25, 0)
    assert len(result.jobs) == 3
    assert await count(emulator, "Contact") == 2_475

    success = read_result(result.success_file)
    failed = read_result(result.failed_file)
    assert len(success) == 2_475 and len(failed) == 25
    # Every merged row names the input record it came from, and it is the right one.
    for row in success:
        record = int(row["asyncbulk__record"])
        assert row["asyncbulk__match"] == "exact"
        assert row["Email"] == f"user{record}@example.com"
        assert row["sf__Id"].startswith("003") and len(row["sf__Id"]) == 18
        assert row["MailingStreet"] == rows[record - 1][5]  # quoted newline and quotes intact
    assert sorted(int(r["asyncbulk__record"]) for r in failed) == list(range(100, 2_501, 100))
    assert all(r["sf__Error"].startswith("REQUIRED_FIELD_MISSING:") for r in failed)
    assert {r["asyncbulk__job_id"] for r in success} == {j.job_id for j in result.jobs}
    # One header per merged file, however many jobs fed it.
    lines = result.success_file.read_text(encoding="utf-8").splitlines()
    assert sum(line.startswith("asyncbulk__record,") for line in lines) == 1

    summary = orjson.loads(result.summary_file.read_bytes())
    assert summary["succeeded"] == 2_475 and summary["failed"] == 25
    assert [j["state"] for j in summary["jobs"]] == ["JobComplete"] * 3
    assert summary["api_requests"] == result.api_requests > 0


async def test_tiny_file_goes_multipart_and_large_goes_create_upload_close(
    emulator: Emulator, tmp_path: Path
) -> None:
    tiny = write_csv(tmp_path / "tiny.csv", contact_rows(10))
    result = await run_load(emulator, tiny, tmp_path / "a")
    assert [j.submit for j in result.jobs] == ["multipart"]
    assert result.succeeded == 10

    big = write_csv(tmp_path / "big.csv", contact_rows(1_500, seed=3))
    assert big.stat().st_size > 100_000  # over the multipart limit
    before = emulator.stats()["requests_by_kind"]
    result = await run_load(emulator, big, tmp_path / "b")
    after = emulator.stats()["requests_by_kind"]
    assert [j.submit for j in result.jobs] == ["create-upload-close"]
    assert result.succeeded == 1_500
    assert after["upload"] - before["upload"] == 1 and after["close"] - before["close"] == 1


@pytest.mark.parametrize("delimiter", ["BACKQUOTE", "CARET", "COMMA", "PIPE", "SEMICOLON", "TAB"])
async def test_every_delimiter(emulator: Emulator, tmp_path: Path, delimiter: str) -> None:
    char = asyncbulk.ColumnDelimiter.parse(delimiter).char
    rows = contact_rows(300, seed=11, bad_every=50)
    src = write_csv(tmp_path / "in.csv", rows, delimiter=char)
    result = await run_load(
        emulator, src, tmp_path / "out", column_delimiter=delimiter, chunks=ChunkConfig(max_records=120)
    )
    assert (result.succeeded, result.failed) == (294, 6)
    failed = read_result(result.failed_file, delimiter=char)
    assert sorted(int(r["asyncbulk__record"]) for r in failed) == [50, 100, 150, 200, 250, 300]


async def test_crlf_bom_and_quoted_newlines_across_chunks(emulator: Emulator, tmp_path: Path) -> None:
    rows = contact_rows(400, seed=5)
    rows[99][5] = "line one\r\nline two, with comma"  # a CRLF inside a field, at a chunk edge
    src = write_csv(tmp_path / "in.csv", rows, line_ending="\r\n", bom=True)
    result = await run_load(emulator, src, tmp_path / "out", chunks=ChunkConfig(max_records=100))
    assert result.succeeded == 400 and len(result.jobs) == 4
    by_record = {int(r["asyncbulk__record"]): r for r in read_result(result.success_file)}
    assert by_record[100]["MailingStreet"] == "line one\r\nline two, with comma"
    assert "FirstName" in by_record[1]  # the BOM did not stick to the first header name
    stored = await soql(emulator, "SELECT MailingStreet FROM Contact WHERE Email = 'user100@example.com'")
    assert stored["records"][0]["MailingStreet"] == "line one\r\nline two, with comma"


async def test_latin1_input_is_sent_as_utf8(emulator: Emulator, tmp_path: Path) -> None:
    rows = [["Zoë", "Müller", "zoe@example.com", "", "Zürich", "Bahnhofstraße 1", "Señor"]]
    src = write_csv(tmp_path / "latin1.csv", rows, encoding="latin-1")
    result = await run_load(emulator, src, tmp_path / "out", encoding="latin-1")
    assert result.succeeded == 1
    stored = await soql(emulator, "SELECT FirstName, LastName, MailingCity FROM Contact")
    assert stored["records"][0]["LastName"] == "Müller"
    assert stored["records"][0]["MailingCity"] == "Zürich"


async def test_all_five_operations(emulator: Emulator, tmp_path: Path) -> None:
    header = [*HEADER, "External_Id__c"]
    rows = [[*r, f"EXT-{i}"] for i, r in enumerate(contact_rows(200, seed=9), start=1)]
    src = write_csv(tmp_path / "ins.csv", rows, header=header)
    inserted = await run_load(emulator, src, tmp_path / "ins")
    assert inserted.succeeded == 200
    ids = {int(r["asyncbulk__record"]): r["sf__Id"] for r in read_result(inserted.success_file)}

    # update: change titles of the first 50 by Id
    upd = write_csv(
        tmp_path / "upd.csv", [[ids[i], f"Updated {i}"] for i in range(1, 51)], header=["Id", "Title"]
    )
    updated = await run_load(emulator, upd, tmp_path / "upd", operation="update")
    assert updated.succeeded == 50
    assert await count(emulator, "Contact", "WHERE Title = 'Updated 7'") == 1

    # upsert on the external id: 20 existing, 10 new
    ups_rows = [[f"EXT-{i}", f"Last{i}", f"Upserted {i}"] for i in range(181, 211)]
    ups = write_csv(tmp_path / "ups.csv", ups_rows, header=["External_Id__c", "LastName", "Title"])
    upserted = await run_load(
        emulator, ups, tmp_path / "ups", operation="upsert", external_id_field="External_Id__c"
    )
    assert upserted.succeeded == 30
    created = [r["sf__Created"] for r in read_result(upserted.success_file)]
    assert created.count("true") == 10 and created.count("false") == 20
    assert await count(emulator, "Contact") == 210

    # delete 10, hardDelete 10
    dele = write_csv(tmp_path / "del.csv", [[ids[i]] for i in range(1, 11)], header=["Id"])
    deleted = await run_load(emulator, dele, tmp_path / "del", operation="delete")
    hard = write_csv(tmp_path / "hard.csv", [[ids[i]] for i in range(11, 21)], header=["Id"])
    hard_deleted = await run_load(emulator, hard, tmp_path / "hard", operation="hardDelete")
    assert deleted.succeeded == 10 and hard_deleted.succeeded == 10
    assert await count(emulator, "Contact") == 190


async def test_job_that_fails_reports_error_and_unprocessed(tmp_path: Path) -> None:
    """A job the org fails leaves its rows unprocessed, with the job's error in the report."""
    src = write_csv(tmp_path / "c.csv", contact_rows(2))
    config = EmulatorConfig(workers=1, faults=FaultConfig(job_failed=1.0, seed=1))
    async with Emulator(config) as emu:
        result = await run_load(emu, src, tmp_path / "out", retry=asyncbulk.RetryConfig(record_rounds=0))
    assert (result.succeeded, result.failed, result.unprocessed) == (0, 0, 2)
    assert result.jobs[0].state == "Failed"
    assert (result.jobs[0].error_message or "").startswith("InternalServerError")
    assert not result.ok
    unprocessed = read_result(result.unprocessed_file)
    assert sorted(int(r["asyncbulk__record"]) for r in unprocessed) == [1, 2]


async def test_unknown_column_stops_before_any_job(emulator: Emulator, tmp_path: Path) -> None:
    """The pre-flight names the unknown field; the org gets no job (it would fail each chunk)."""
    src = write_csv(
        tmp_path / "bad.csv",
        [["Ann", "Lee", "x"], ["Bo", "Li", "y"]],
        header=["FirstName", "LastName", "Nope__c"],
    )
    with pytest.raises(asyncbulk.PreflightError, match="'Nope__c' is not a field of Contact"):
        await run_load(emulator, src, tmp_path / "out")
    assert emulator.stats()["requests_by_kind"].get("create", 0) == 0


async def test_operation_checks_before_any_job(emulator: Emulator, tmp_path: Path) -> None:
    src = write_csv(tmp_path / "c.csv", contact_rows(3))
    with pytest.raises(asyncbulk.InputError, match="needs a column 'External_Id__c'"):
        await run_load(emulator, src, tmp_path / "o", operation="upsert", external_id_field="External_Id__c")
    with pytest.raises(asyncbulk.InputError, match="needs an 'Id' column"):
        await run_load(emulator, src, tmp_path / "o", operation="delete")
    with pytest.raises(asyncbulk.InputError, match="update needs an 'Id' column"):
        await run_load(emulator, src, tmp_path / "o", operation="update")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(asyncbulk.InputError, match="empty"):
        await run_load(emulator, empty, tmp_path / "o")
    header_only = write_csv(tmp_path / "h.csv", [])
    with pytest.raises(asyncbulk.InputError, match="no records"):
        await run_load(emulator, header_only, tmp_path / "o")
    with pytest.raises(ValueError, match="object"):
        await run_load(emulator, src, tmp_path / "o", object="NoSuchThing__c")
    with pytest.raises(ValueError, match="operation"):
        await run_load(emulator, src, tmp_path / "o", operation="merge")
    assert emulator.stats()["jobs_created"] == 0


async def test_rows_from_iterables(emulator: Emulator, tmp_path: Path) -> None:
    def rows() -> Any:
        for i in range(50):
            yield {"FirstName": "Iter", "LastName": f"L{i}", "Email": f"it{i}@example.com"}

    async def arows() -> Any:
        for i in range(30):
            yield {"LastName": f"A{i}", "Title": 'line1\nline2, "q"'}

    first = await run_load(emulator, rows(), tmp_path / "sync")
    second = await run_load(emulator, arows(), tmp_path / "async")
    assert first.succeeded == 50 and second.succeeded == 30
    stored = await soql(emulator, "SELECT Title FROM Contact WHERE LastName = 'A3'")
    assert stored["records"][0]["Title"] == 'line1\nline2, "q"'
    assert await count(emulator, "Contact") == 80


async def test_concurrency_bound_is_never_exceeded(emulator: Emulator, tmp_path: Path) -> None:
    src = write_csv(tmp_path / "in.csv", contact_rows(1_200, seed=2))
    in_flight = 0
    peak = 0

    def spy(event: ProgressEvent) -> None:
        nonlocal in_flight, peak
        if event.kind == "job_created":
            in_flight += 1
            peak = max(peak, in_flight)
        elif event.kind == "results_merged":
            in_flight -= 1

    result = await run_load(
        emulator,
        src,
        tmp_path / "out",
        chunks=ChunkConfig(max_records=50),
        concurrency=ConcurrencyConfig(max_concurrent_jobs=3),
        progress=spy,
    )
    assert result.succeeded == 1_200 and len(result.jobs) == 24
    assert 1 < peak <= 3
    assert in_flight == 0


async def test_cancellation_aborts_queued_jobs_and_writes_summary(tmp_path: Path) -> None:
    from asyncbulk.emulator import EmulatorConfig

    # A slow org: 200 records/s per worker, one worker, so jobs queue behind each other.
    async with Emulator(EmulatorConfig(workers=1, batch_size=100, records_per_second=200)) as emu:
        src = write_csv(tmp_path / "in.csv", contact_rows(2_000, seed=4))
        with anyio.move_on_after(1.5) as scope:
            await run_load(emu, src, tmp_path / "out", chunks=ChunkConfig(max_records=200))
        assert scope.cancelled_caught
        summary = orjson.loads((tmp_path / "out" / "summary.json").read_bytes())
        assert summary["cancelled"] is True
        states = {j["state"] for j in summary["jobs"] if j["job_id"]}
        assert "Aborted" in states
        # Nothing aborted is left queued on the server.
        for job in summary["jobs"]:
            if job["state"] == "Aborted":
                async with (
                    aiohttp.ClientSession() as session,
                    session.get(
                        f"{emu.base_url}/jobs/ingest/{job['job_id']}",
                        headers={"Authorization": f"Bearer {emu.access_token}"},
                    ) as response,
                ):
                    assert (await response.json())["state"] == "Aborted"


async def test_rerendered_values_map_back_to_their_records(emulator: Emulator, tmp_path: Path) -> None:
    # Salesforce echoes saved values re-rendered from their type; the mapping must see through it.
    header = ["LastName", "Birthdate", "HasOptedOutOfEmail", "Last_Contacted__c", "DoNotCall"]
    rows = [
        [
            f"Typed{i}",
            f"19{50 + i % 40}-0{1 + i % 9}-1{i % 10}",
            ["1", "0", "TRUE", "false"][i % 4],
            f"2024-01-05T10:{i % 60:02d}:00+02:00",
            ["true", ""][i % 2],
        ]
        for i in range(1, 301)
    ]
    src = write_csv(tmp_path / "typed.csv", rows, header=header)
    result = await run_load(emulator, src, tmp_path / "out", chunks=ChunkConfig(max_records=100))
    assert result.succeeded == 300 and result.unmatched == 0
    success = read_result(result.success_file)
    assert {r["asyncbulk__match"] for r in success} == {"exact"}
    for row in success:
        assert row["LastName"] == f"Typed{row['asyncbulk__record']}"
    # The echo really was re-rendered (otherwise this test would prove nothing).
    assert any(
        r["HasOptedOutOfEmail"] in ("true", "false")
        and r["HasOptedOutOfEmail"] != rows[int(r["asyncbulk__record"]) - 1][2]
        for r in success
    )


async def test_polling_spends_few_requests_per_job(tmp_path: Path) -> None:
    from asyncbulk.emulator import EmulatorConfig

    # A paced org: 2 workers x 4,000 records/s, 20 jobs queued 8 at a time. One poll loop for all
    # of them must cost a small multiple of the job count, not one request per job per tick.
    async with Emulator(EmulatorConfig(workers=2, batch_size=500, records_per_second=4_000)) as emu:
        src = write_csv(tmp_path / "in.csv", contact_rows(10_000, seed=21))
        result = await run_load(
            emu,
            src,
            tmp_path / "out",
            chunks=ChunkConfig(max_records=500),
            concurrency=8,
            poll=PollConfig(initial=0.1, minimum=0.05, maximum=1.0),
        )
        by_kind = emu.stats()["requests_by_kind"]
    assert result.succeeded == 10_000 and len(result.jobs) == 20
    status = by_kind["job_info"] + by_kind["job_list"]
    assert by_kind["job_list"] > 0  # the job list served several jobs at once
    print(f"\nstatus requests: {status} for {len(result.jobs)} jobs ({by_kind})")
    assert status <= 4 * len(result.jobs), by_kind
