"""The front door over real loopback HTTP: versions, tokens, the API allocation, injected request faults."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from api_helpers import Api

from asyncbulk.emulator import Emulator, EmulatorConfig, FaultConfig


class TestFrontDoor:
    async def test_versions_list_needs_no_auth_and_is_not_counted(self, emulator: Emulator) -> None:
        async with aiohttp.ClientSession() as s, s.get(emulator.instance_url + "/services/data/") as r:
            assert r.status == 200
            versions = await r.json()
            assert "Sforce-Limit-Info" not in r.headers
        assert versions[-1] == {"label": "Spring '26", "url": "/services/data/v66.0", "version": "66.0"}
        # Real orgs list every version since v31.0, Summer '14 (the first one not retired).
        assert versions[0] == {"label": "Summer '14", "url": "/services/data/v31.0", "version": "31.0"}
        assert [v["version"] for v in versions] == [f"{n}.0" for n in range(31, 67)]
        assert emulator.stats()["api_usage"] == 0

    async def test_missing_or_bad_token_is_401(self, emulator: Emulator) -> None:
        async with aiohttp.ClientSession() as s:
            for headers in ({}, {"Authorization": "Bearer nope"}):
                async with s.get(emulator.base_url + "/limits", headers=headers) as r:
                    assert r.status == 401
                    assert await r.json() == [
                        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
                    ]

    async def test_expire_tokens_endpoint(self, api: Api) -> None:
        assert (await api.call("GET", "/limits"))[0] == 200
        async with api.session.post(api.emulator.instance_url + "/__emulator/expire-tokens") as r:
            assert r.status == 200
        status, body, _ = await api.call("GET", "/limits")
        assert status == 401 and body[0]["errorCode"] == "INVALID_SESSION_ID"

    @pytest.mark.parametrize(("version", "status"), [("v40.0", 404), ("v67.0", 404), ("v25.0", 410)])
    async def test_unsupported_versions(self, api: Api, version: str, status: int) -> None:
        url = f"{api.emulator.instance_url}/services/data/{version}/jobs/ingest"
        async with api.session.get(url) as r:
            assert r.status == status
            body = await r.json()
        assert body[0]["errorCode"] == ("NOT_FOUND" if status == 404 else "GONE")

    async def test_oldest_version_works(self, api: Api) -> None:
        async with api.session.get(f"{api.emulator.instance_url}/services/data/v41.0/jobs/ingest") as r:
            assert r.status == 200

    async def test_limit_info_header_counts_requests(self, api: Api) -> None:
        _, _, r1 = await api.call("GET", "/jobs/ingest")
        _, _, r2 = await api.call("GET", "/jobs/ingest/750000000000000AAA")
        assert r1.headers["Sforce-Limit-Info"] == "api-usage=1/100000"
        assert r2.headers["Sforce-Limit-Info"] == "api-usage=2/100000"

    async def test_request_limit_exceeded(self) -> None:
        async with (
            Emulator(EmulatorConfig(api_request_limit=2)) as emulator,
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {emulator.access_token}"}) as s,
        ):
            statuses = []
            for _ in range(3):
                async with s.get(emulator.base_url + "/limits") as r:
                    statuses.append(r.status)
                    last = await r.json()
            assert statuses == [200, 200, 403]
            assert last == [
                {"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}
            ]

    async def test_unknown_path_and_method(self, api: Api) -> None:
        status, body, _ = await api.call("GET", "/nothing/here")
        assert status == 404 and body[0]["errorCode"] == "NOT_FOUND"
        status, body, _ = await api.call("POST", "/limits")
        assert status == 405 and body[0]["errorCode"] == "METHOD_NOT_ALLOWED"


class TestRequestFaults:
    async def test_500_503_and_limit(self, emulator: Emulator, api: Api) -> None:
        for faults, status, code in (
            (FaultConfig(error_500=1), 500, "UNKNOWN_EXCEPTION"),
            (FaultConfig(error_503=1), 503, "SERVER_UNAVAILABLE"),
            (FaultConfig(limit_exceeded=1), 403, "REQUEST_LIMIT_EXCEEDED"),
        ):
            emulator.set_faults(faults)
            got, err, _ = await api.call(
                "POST", "/jobs/ingest", json={"object": "Contact", "operation": "insert"}
            )
            assert (got, err[0]["errorCode"]) == (status, code)
        assert emulator.stats()["jobs_created"] == 0
        # Test-only endpoints are never faulted.
        async with api.session.get(emulator.instance_url + "/__emulator/stats") as r:
            assert r.status == 200

    async def test_drop_before_does_nothing(self, emulator: Emulator, api: Api) -> None:
        emulator.set_faults(FaultConfig(drop_before=1))
        with pytest.raises(aiohttp.ClientError):
            await api.call("POST", "/jobs/ingest", json={"object": "Contact", "operation": "insert"})
        assert emulator.stats()["jobs_created"] == 0

    async def test_drop_after_does_the_work(self, emulator: Emulator, api: Api) -> None:
        emulator.set_faults(FaultConfig(drop_after=1))
        with pytest.raises(aiohttp.ClientError):
            await api.call("POST", "/jobs/ingest", json={"object": "Contact", "operation": "insert"})
        emulator.set_faults(FaultConfig())
        assert emulator.stats()["jobs_created"] == 1
        _, page, _ = await api.call("GET", "/jobs/ingest")
        assert len(page["records"]) == 1

    async def test_slow(self, emulator: Emulator, api: Api) -> None:
        emulator.set_faults(FaultConfig(slow=1, slow_seconds=0.3))
        loop = asyncio.get_running_loop()
        start = loop.time()
        assert (await api.call("GET", "/limits"))[0] == 200
        assert loop.time() - start >= 0.3

    async def test_faults_are_seeded(self) -> None:
        async def run() -> list[int]:
            config = EmulatorConfig(faults=FaultConfig(error_500=0.5, seed=42))
            async with (
                Emulator(config) as emulator,
                aiohttp.ClientSession(headers={"Authorization": f"Bearer {emulator.access_token}"}) as s,
            ):
                out = []
                for _ in range(20):
                    async with s.get(emulator.base_url + "/limits") as r:
                        out.append(r.status)
                return out

        first = await run()
        assert first == await run() and {200, 500} == set(first)
