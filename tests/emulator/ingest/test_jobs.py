"""How jobs are processed, seen over real loopback HTTP: failures, aborts, allocations, injected faults."""

from __future__ import annotations

import asyncio

import aiohttp
from api_helpers import CONTACTS, Api, rows

from asyncbulk.emulator import Emulator, EmulatorConfig, FaultConfig


class TestProcessing:
    async def test_abort_open_job_with_data_leaves_rows_unprocessed(self, api: Api) -> None:
        job = await api.create(object="Contact", operation="insert")
        await api.upload(job["id"], CONTACTS)
        status, aborted, _ = await api.call("PATCH", f"/jobs/ingest/{job['id']}", json={"state": "Aborted"})
        assert status == 200 and aborted["state"] == "Aborted"
        assert rows(await api.results(job["id"], "unprocessedrecords")) == rows(CONTACTS.decode())
        assert (await api.info(job["id"]))["numberRecordsProcessed"] == 0

    async def test_quotes_are_doubled_in_results(self, api: Api) -> None:
        data = b'LastName,Description\n"Say ""hi""","a, b\nc"\n'
        info = await api.load(data, object="Contact", operation="insert")
        text = await api.results(info["id"], "successfulResults")
        assert text.endswith('"true","Say ""hi""","a, b\nc"\n')

    async def test_unknown_header_field_fails_job(self, api: Api) -> None:
        info = await api.load(b"LastName,Foo__c\nA,1\nB,2\n", object="Contact", operation="insert")
        assert info["state"] == "Failed"
        assert info["errorMessage"] == "InvalidBatch : Field name not found : Foo__c"
        assert info["numberRecordsProcessed"] == 0
        assert rows(await api.results(info["id"], "unprocessedrecords")) == [
            ["LastName", "Foo__c"],
            ["A", "1"],
            ["B", "2"],
        ]

    async def test_malformed_row_fails_alone(self, api: Api) -> None:
        info = await api.load(b'LastName,Title\n"A"x,b\nB,c\n', object="Contact", operation="insert")
        assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (
            "JobComplete",
            2,
            1,
        )

    async def test_malformed_header_fails_job(self, api: Api) -> None:
        info = await api.load(b'"LastName"x,Title\nA,b\n', object="Contact", operation="insert")
        assert info["state"] == "Failed"
        assert (
            info["errorMessage"]
            == "InvalidBatch : Failed to parse CSV. Not expecting more text after end quote"
        )

    async def test_empty_upload_completes_with_zero_records(self, api: Api) -> None:
        info = await api.load(b"LastName\n", object="Contact", operation="insert")
        assert (info["state"], info["numberRecordsProcessed"]) == ("JobComplete", 0)


async def test_record_allocation_exhausted_mid_job() -> None:
    async with (
        Emulator(EmulatorConfig(batch_size=2, workers=1, daily_record_limit=3)) as emulator,
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {emulator.access_token}"}) as s,
    ):
        api = Api(emulator, s)
        info = await api.load(b"LastName\nA\nB\nC\nD\n", object="Contact", operation="insert")
        assert info["state"] == "Failed" and info["errorMessage"].startswith("ExceededQuota")
        assert info["numberRecordsProcessed"] == 2
        assert rows(await api.results(info["id"], "unprocessedrecords")) == [["LastName"], ["C"], ["D"]]
        status, err, _ = await api.call(
            "POST", "/jobs/ingest", json={"object": "Contact", "operation": "insert"}
        )
        assert status == 200  # 2 of 3 records used: still room for a new job
        await api.load(b"LastName\nE\n", object="Contact", operation="insert")
        status, err, _ = await api.call(
            "POST", "/jobs/ingest", json={"object": "Contact", "operation": "insert"}
        )
        assert status == 400 and err[0]["errorCode"] == "LIMIT_EXCEEDED"


async def test_abort_in_progress_job_stops_processing() -> None:
    config = EmulatorConfig(batch_size=100, workers=1, records_per_second=1000)
    async with (
        Emulator(config) as emulator,
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {emulator.access_token}"}) as s,
    ):
        api = Api(emulator, s)
        data = b"LastName\n" + b"".join(b"L%d\n" % i for i in range(1000))
        job = await api.create(object="Contact", operation="insert")
        await api.upload(job["id"], data)
        await api.close(job["id"])
        for _ in range(500):  # until the first batch is done
            if (await api.info(job["id"]))["numberRecordsProcessed"]:
                break
            await asyncio.sleep(0.02)
        status, body, _ = await api.call("PATCH", f"/jobs/ingest/{job['id']}", json={"state": "Aborted"})
        assert status == 200 and body["state"] == "Aborted"
        unprocessed = rows(await api.results(job["id"], "unprocessedrecords"))[1:]
        done = rows(await api.results(job["id"], "successfulResults"))[1:]
        info = await api.info(job["id"])
        assert 0 < len(done) < 1000 and len(done) + len(unprocessed) == 1000
        assert info["numberRecordsProcessed"] == len(done)


class TestJobFaults:
    async def test_job_failed_keeps_rows_done(self) -> None:
        config = EmulatorConfig(batch_size=2, workers=1, faults=FaultConfig(job_failed=1, seed=3))
        async with (
            Emulator(config) as emulator,
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {emulator.access_token}"}) as s,
        ):
            api = Api(emulator, s)
            data = b"LastName\n" + b"".join(b"L%d\n" % i for i in range(10))
            info = await api.load(data, object="Contact", operation="insert")
            assert info["state"] == "Failed"
            assert info["errorMessage"] == "InternalServerError : Retried more than 20 times"
            done = rows(await api.results(info["id"], "successfulResults"))[1:]
            unprocessed = rows(await api.results(info["id"], "unprocessedrecords"))[1:]
            assert len(done) == info["numberRecordsProcessed"]
            assert len(done) + len(unprocessed) == 10 and unprocessed

    async def test_lock_failure(self) -> None:
        config = EmulatorConfig(faults=FaultConfig(lock_failure=1))
        async with (
            Emulator(config) as emulator,
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {emulator.access_token}"}) as s,
        ):
            api = Api(emulator, s)
            info = await api.load(CONTACTS, object="Contact", operation="insert")
            assert (info["state"], info["numberRecordsFailed"]) == ("JobComplete", 2)
            failed = rows(await api.results(info["id"], "failedResults"))[1:]
            assert all(r[1].startswith("UNABLE_TO_LOCK_ROW") for r in failed)
