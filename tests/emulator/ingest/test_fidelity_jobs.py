"""Jobs behave as a real org's do, including the parts that hurt, over real loopback HTTP.

Covered: line endings that are not the job's fail it; unreadable rows fail alone; results come
interleaved across batches in a seeded order; InProgress timing fields; the job list with other
tenants' jobs in no set order; the realistic profile (queue wait, progress in 200-record steps,
lagging limit counters) and the clock (allocations roll over, Open jobs expire, old jobs go).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from api_helpers import Api, rows

from asyncbulk.emulator import Emulator, EmulatorConfig
from asyncbulk.emulator._config import Profile


@asynccontextmanager
async def running(config: EmulatorConfig) -> AsyncIterator[Api]:
    async with Emulator(config) as emu:
        headers = {"Authorization": f"Bearer {emu.access_token}"}
        async with aiohttp.ClientSession(headers=headers) as session:
            yield Api(emu, session)


def contacts(n: int, eol: str = "\n") -> bytes:
    return ("LastName,Title" + eol + "".join(f"L{i},T{i}{eol}" for i in range(n))).encode()


class TestLineEndings:
    @pytest.mark.parametrize(("ending", "eol"), [("LF", "\r\n"), ("CRLF", "\n")])
    async def test_data_with_other_line_endings_fails_the_job(self, api: Api, ending: str, eol: str) -> None:
        data = contacts(3, eol)
        info = await api.load(data, object="Contact", operation="insert", lineEnding=ending)
        assert info["state"] == "Failed"
        assert info["errorMessage"] == (
            f"ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is {ending}"
        )
        assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (0, 0)
        assert api.emulator.org.count("Contact") == 0
        # Nothing was processed: the unprocessed records are the upload, as uploaded.
        assert (await api.results(info["id"], "unprocessedrecords")).encode() == data

    async def test_line_breaks_inside_quotes_are_the_values(self, api: Api) -> None:
        data = b'LastName,Title\r\n"A","two\nlines"\r\n'
        info = await api.load(data, object="Contact", operation="insert", lineEnding="CRLF")
        assert (info["state"], info["numberRecordsProcessed"]) == ("JobComplete", 1)


class TestRowErrors:
    async def test_unreadable_rows_fail_alone(self, api: Api) -> None:
        data = (
            b"LastName,Title\n"
            b"Good1,a\n"
            b"Wide,b,extra\n"  # more columns than the header
            b"Narrow\n"  # fewer
            b'"Quoted" x,c\n'  # text after a closing quote
            b'Bare"quote,d\n'  # a quote in an unquoted value
            b"Good2,e\n"
        )
        info = await api.load(data, object="Contact", operation="insert")
        assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (
            "JobComplete",
            6,
            4,
        )
        ok = rows(await api.results(info["id"], "successfulResults"))
        assert sorted(r[2] for r in ok[1:]) == ["Good1", "Good2"]
        failed = {r[2]: r[1] for r in rows(await api.results(info["id"], "failedResults"))[1:]}
        assert failed == {
            "Wide": "INVALID_FIELD:Failed to parse CSV. Row has 3 columns but the header has 2:--",
            "Narrow": "INVALID_FIELD:Failed to parse CSV. Row has 1 columns but the header has 2:--",
            # what cannot be read is echoed as it was, to the end of its line
            "Quoted x,c": "INVALID_FIELD:Failed to parse CSV. Not expecting more text after end quote:--",
            'Bare"quote,d': "INVALID_FIELD:Failed to parse CSV. Found unescaped quote. A value with quote "
            "should be within a quote:--",
        }
        assert api.emulator.org.count("Contact") == 2


def _profile(**changes: Any) -> Profile:
    return dataclasses.replace(Profile(), **changes)


class TestResultOrder:
    async def _names(self, seed: int) -> tuple[list[str], list[str]]:
        config = EmulatorConfig(workers=2, batch_size=40, seed=seed, profile=_profile(result_chunk=10))
        async with running(config) as api:
            info = await api.load(contacts(200), object="Contact", operation="insert")
            ok = rows(await api.results(info["id"], "successfulResults"))[1:]
            again = rows(await api.results(info["id"], "successfulResults"))[1:]
        assert ok == again  # one job's file is the same every time it is read
        return [r[2] for r in ok], [r[0] for r in ok]

    async def test_batches_interleave_in_a_seeded_order(self) -> None:
        names, ids = await self._names(seed=1)
        expected = [f"L{i}" for i in range(200)]
        assert sorted(names, key=lambda n: int(n[1:])) == expected and names != expected
        # chunks of 10 rows keep their order; batches of 40 rows are interleaved
        assert all(int(names[i][1:]) % 10 == 0 for i in range(0, 200, 10))
        firsts = [int(names[i][1:]) // 40 for i in range(0, 200, 10)]
        assert firsts != sorted(firsts)
        assert (await self._names(seed=1))[0] == names
        assert (await self._names(seed=2))[0] != names
        assert len(set(ids)) == 200

    async def test_identical_rows_can_come_back_in_another_order(self) -> None:
        config = EmulatorConfig(workers=2, batch_size=10, seed=3, profile=_profile(result_chunk=5))
        async with running(config) as api:
            data = b"LastName,Title\n" + b"Same,x\n" * 60
            info = await api.load(data, object="Contact", operation="insert")
            ok = rows(await api.results(info["id"], "successfulResults"))[1:]
        ids = [r[0] for r in ok]
        assert len(set(ids)) == 60 and ids != sorted(ids)  # ids were handed out in input order


class TestTimings:
    async def test_in_progress_reports_api_active_time_not_total(self) -> None:
        config = EmulatorConfig(workers=1, batch_size=100, records_per_second=1_500)
        async with running(config) as api:
            job = await api.create(object="Contact", operation="insert")
            await api.upload(job["id"], contacts(300))
            await api.close(job["id"])
            seen = []
            async with asyncio.timeout(10):
                while (info := await api.info(job["id"]))["state"] != "JobComplete":
                    if info["state"] == "InProgress":
                        seen.append((info["totalProcessingTime"], info["apiActiveProcessingTime"]))
                    await asyncio.sleep(0.05)
        assert seen and all(total == 0 for total, _ in seen)
        assert seen[-1][1] > 0 and seen[-1][1] >= seen[0][1]
        assert info["totalProcessingTime"] > 0


class TestJobList:
    async def test_other_tenants_jobs_in_no_set_order(self) -> None:
        config = EmulatorConfig(seed=5, profile=_profile(foreign_jobs=30))
        async with running(config) as api:
            own = [(await api.create(object="Contact", operation="insert"))["id"] for _ in range(10)]
            _, listing, _ = await api.call("GET", "/jobs/ingest")
            records = listing["records"]
            assert len(records) == 40
            listed_own = [r["id"] for r in records if r["id"] in own]
            assert sorted(listed_own) == sorted(own) and listed_own != own  # not creation order
            kinds = {r["jobType"] for r in records}
            assert {"Classic", "V2Ingest"} <= kinds
            classic = [r for r in records if r["jobType"] == "Classic"]
            assert {r["state"] for r in classic} <= {"Open", "Closed", "Aborted", "Failed"}
            assert all("lineEnding" not in r for r in classic)
            users = {r["createdById"] for r in records}
            assert len(users) > 2  # other users' jobs too
            _, again, _ = await api.call("GET", "/jobs/ingest")
            assert [r["id"] for r in again["records"]] == [r["id"] for r in records]  # pages stay stable
            _, only, _ = await api.call("GET", "/jobs/ingest", params={"jobType": "Classic"})
            assert [r["id"] for r in only["records"]] == [r["id"] for r in classic]
            other_v2 = next(r for r in records if r["jobType"] == "V2Ingest" and r["id"] not in own)
            status, info, _ = await api.call("GET", f"/jobs/ingest/{other_v2['id']}")
            assert status == 200 and "numberRecordsProcessed" in info
            status, _, _ = await api.call("GET", f"/jobs/ingest/{classic[0]['id']}")
            assert status == 404
            status, _, _ = await api.call(
                "PATCH", f"/jobs/ingest/{other_v2['id']}", json={"state": "Aborted"}
            )
            assert status == 404

    async def test_fast_profile_lists_only_our_jobs(self, api: Api) -> None:
        await api.create(object="Contact", operation="insert")
        _, listing, _ = await api.call("GET", "/jobs/ingest")
        assert [r["jobType"] for r in listing["records"]] == ["V2Ingest"]


class TestRealisticProfile:
    async def test_queue_wait_then_progress_in_small_steps(self) -> None:
        profile = dataclasses.replace(Profile.named("realistic"), queue_delay=(30.0, 40.0), foreign_jobs=0)
        config = EmulatorConfig(workers=1, batch_size=1_000, records_per_second=4_000, profile=profile)
        async with running(config) as api:
            job = await api.create(object="Contact", operation="insert")
            await api.upload(job["id"], contacts(1_000))
            await api.close(job["id"])
            await asyncio.sleep(0.3)
            assert (await api.info(job["id"]))["state"] == "UploadComplete"  # queued behind others
            api.emulator.advance_clock(60)  # ... until the clock says its turn has come
            counts = []
            async with asyncio.timeout(10):
                while (info := await api.info(job["id"]))["state"] != "JobComplete":
                    counts.append(info["numberRecordsProcessed"])
                    await asyncio.sleep(0.02)
        steps = sorted(set(counts) - {0})
        assert steps and all(c % 200 == 0 for c in steps) and len(steps) >= 3
        assert info["numberRecordsProcessed"] == 1_000

    async def test_queue_wait_is_seeded(self) -> None:
        config = EmulatorConfig(seed=9, profile="realistic")
        async with running(config) as one, running(config) as two:
            waits = []
            for api in (one, two):
                job = await api.create(object="Contact", operation="insert")
                waits.append(
                    api.emulator.state.jobs.workers.queue_wait(api.emulator.state.jobs.get(job["id"]))
                )  # type: ignore[union-attr]
        assert waits[0] == waits[1] and 1.0 <= waits[0] <= 8.0

    async def test_limit_counters_lag(self) -> None:
        async with running(EmulatorConfig(profile="realistic")) as api:
            seen = {(await api.call("GET", "/jobs/ingest"))[2].headers["Sforce-Limit-Info"] for _ in range(5)}
            assert seen == {"api-usage=1/100000"}  # the first value, not refreshed yet
            _, limits, _ = await api.call("GET", "/limits")
            api.emulator.advance_clock(61)
            _, _, r = await api.call("GET", "/jobs/ingest")
            assert r.headers["Sforce-Limit-Info"] == "api-usage=7/100000"
            _, later, _ = await api.call("GET", "/limits")
            assert later["DailyApiRequests"] == limits["DailyApiRequests"]  # /limits lags 5 minutes
            api.emulator.advance_clock(300)
            _, latest, _ = await api.call("GET", "/limits")
            assert latest["DailyApiRequests"]["Remaining"] == 100_000 - 9


class TestClock:
    async def test_allocations_roll_over_in_24_hours(self) -> None:
        async with running(EmulatorConfig(daily_batch_limit=2, batch_size=10)) as api:
            info = await api.load(contacts(20), object="Contact", operation="insert")
            assert info["state"] == "JobComplete"
            status, err, _ = await api.call(
                "POST", "/jobs/ingest", json={"object": "Contact", "operation": "insert"}
            )
            assert status == 400 and err[0]["errorCode"] == "LIMIT_EXCEEDED"
            api.emulator.advance_clock(23 * 3600)
            status, _, _ = await api.call(
                "POST", "/jobs/ingest", json={"object": "Contact", "operation": "insert"}
            )
            assert status == 400
            api.emulator.advance_clock(3600 + 60)
            await api.create(object="Contact", operation="insert")
            _, limits, _ = await api.call("GET", "/limits")
            assert limits["DailyBulkApiBatches"]["Remaining"] == 2
            # the load's requests rolled off; those of the last 24 hours count
            assert limits["DailyApiRequests"]["Remaining"] == 100_000 - 3

    async def test_open_jobs_are_aborted_after_24_hours(self, api: Api) -> None:
        job = await api.create(object="Contact", operation="insert")
        api.emulator.advance_clock(24 * 3600 + 1)
        assert (await api.info(job["id"]))["state"] == "Aborted"
        status, err, _ = await api.call(
            "PATCH", f"/jobs/ingest/{job['id']}", json={"state": "UploadComplete"}
        )
        assert (status, err[0]["message"]) == (400, "Closing already Aborted Job not allowed")
        assert await api.results(job["id"], "unprocessedrecords") == ""  # it never had data

    async def test_jobs_and_results_are_deleted_after_7_days(self, api: Api) -> None:
        info = await api.load(contacts(3), object="Contact", operation="insert")
        api.emulator.advance_clock(6 * 86_400)
        assert (await api.call("GET", f"/jobs/ingest/{info['id']}/successfulResults/"))[0] == 200
        api.emulator.advance_clock(86_400)
        assert (await api.call("GET", f"/jobs/ingest/{info['id']}/successfulResults/"))[0] == 404
        assert (await api.call("GET", f"/jobs/ingest/{info['id']}"))[0] == 404
        _, listing, _ = await api.call("GET", "/jobs/ingest")
        assert listing["records"] == []
