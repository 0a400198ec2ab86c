"""Query jobs when things go wrong: page faults, failed jobs, restarts."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from api_helpers import QueryApi

from asyncbulk.emulator import Emulator, EmulatorConfig, FaultConfig, JobSpec


def seed(emu: Emulator, n: int) -> None:
    emu.org.apply(JobSpec("Contact", "insert"), ["LastName"], [tuple(f"N{i:03d}" for i in range(n))])


async def completed(api: QueryApi, soql: str = "SELECT LastName FROM Contact") -> str:
    job = (await api.query_job(soql))["id"]
    assert (await api.wait_query(job))["state"] == "JobComplete"
    return job


async def test_a_503_and_a_cut_body_hit_each_page_once() -> None:
    faults = FaultConfig(result_503=1.0, result_cut=0.0)
    async with (
        Emulator(EmulatorConfig(query_page_records=10, faults=faults)) as emu,
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {emu.access_token}"}) as s,
    ):
        api = QueryApi(emu, s)
        seed(emu, 25)
        job = await completed(api)
        status, err, _ = await api.call("GET", f"/jobs/query/{job}/results")
        assert (status, err[0]["errorCode"]) == (503, "SERVER_UNAVAILABLE")
        first = await api.page(job)  # the retry of the same page is served
        status, _, _ = await api.call("GET", f"/jobs/query/{job}/results", params={"locator": first[1]})
        assert status == 503  # the next page fails once too
        emu.set_faults(FaultConfig(result_cut=1.0))
        url = api.url(f"/jobs/query/{job}/results?locator={first[1]}")
        with pytest.raises(aiohttp.ClientPayloadError):
            async with s.get(url) as resp:
                assert resp.status == 200 and resp.headers["Sforce-NumberOfRecords"] == "10"
                await resp.read()
        second = await api.page(job, first[1])  # retried with the same locator: whole
        assert second[2] == 10 and second[0].count("\n") == 11
        assert emu.stats()["faults_injected"] == {"result_503": 2, "result_cut": 1}


async def test_a_cut_gzip_body_is_an_error_too() -> None:
    async with (
        Emulator(EmulatorConfig(faults=FaultConfig(result_cut=1.0))) as emu,
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {emu.access_token}"}) as s,
    ):
        api = QueryApi(emu, s)
        seed(emu, 2000)
        job = await completed(api)
        with pytest.raises(aiohttp.ClientPayloadError):
            async with s.get(
                api.url(f"/jobs/query/{job}/results"), headers={"Accept-Encoding": "gzip"}
            ) as resp:
                await resp.read()
        text, locator, n = await api.page(job, headers={"Accept-Encoding": "gzip"})
        assert (n, locator, text.count("\n")) == (2000, "null", 2001)


async def test_the_token_expires_between_pages() -> None:
    async with (
        Emulator(EmulatorConfig(query_page_records=5, faults=FaultConfig(result_token_expiry=1.0))) as emu,
        aiohttp.ClientSession() as s,
    ):
        seed(emu, 8)
        api = QueryApi(emu, s)
        s.headers["Authorization"] = f"Bearer {emu.access_token}"
        job = await completed(api)
        _, locator, _ = await api.page(job)
        status, err, _ = await api.call("GET", f"/jobs/query/{job}/results", params={"locator": locator})
        assert (status, err[0]["errorCode"]) == (401, "INVALID_SESSION_ID")
        oauth = emu.config.oauth
        form = {
            "grant_type": "client_credentials",
            "client_id": oauth.client_id,
            "client_secret": oauth.client_secret,
        }
        async with s.post(emu.instance_url + "/services/oauth2/token", data=form) as resp:
            token = (await resp.json())["access_token"]
        s.headers["Authorization"] = f"Bearer {token}"
        assert (await api.page(job, locator))[1:] == ("null", 3)


async def test_a_failed_job_and_its_results() -> None:
    async with (
        Emulator(EmulatorConfig(faults=FaultConfig(job_failed=1.0))) as emu,
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {emu.access_token}"}) as s,
    ):
        api = QueryApi(emu, s)
        job = (await api.query_job("SELECT Id FROM Contact"))["id"]
        info = await api.wait_query(job)
        assert (info["state"], info["errorMessage"], info["retries"]) == (
            "Failed",
            "InternalServerError : Retried more than 15 times",
            15,
        )
        status, err, _ = await api.call("GET", f"/jobs/query/{job}/results")
        assert status == 412 and err[0]["message"].endswith("Current status: FAILED")
        status, _, _ = await api.call("DELETE", f"/jobs/query/{job}")
        assert status == 204


async def test_jobs_and_pages_survive_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "org.db")
    async with (
        Emulator(EmulatorConfig(db_path=db, access_token="tok", query_page_records=4)) as emu,
        aiohttp.ClientSession(headers={"Authorization": "Bearer tok"}) as s,
    ):
        api = QueryApi(emu, s)
        seed(emu, 10)
        done = await completed(api)
        before = await api.pages(done)
        running = (await api.query_job("SELECT LastName FROM Contact"))["id"]
    # the second job was still queued or running: it runs again from the start after the restart
    async with (
        Emulator(EmulatorConfig(db_path=db, access_token="tok", query_page_records=4)) as emu,
        aiohttp.ClientSession(headers={"Authorization": "Bearer tok"}) as s,
    ):
        api = QueryApi(emu, s)
        assert await api.pages(done) == before
        info = await api.wait_query(running)
        assert (info["state"], info["numberRecordsProcessed"]) == ("JobComplete", 10)
        # the same pages (their locators name their own job)
        assert [(t, n) for t, _, n in await api.pages(running)] == [(t, n) for t, _, n in before]
        new = (await api.query_job("SELECT Id FROM User"))["id"]
        assert new not in (done, running)
