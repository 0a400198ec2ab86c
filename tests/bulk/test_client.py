"""BulkClient against the real emulator over loopback: every endpoint, faults, token refresh."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import orjson
import pytest

from asyncbulk._auth import Credentials, FormPost, StaticToken
from asyncbulk._bulk import AmbiguousCreateError, BulkClient
from asyncbulk._config import RetryConfig
from asyncbulk._exceptions import (
    ApiError,
    AuthenticationError,
    InvalidJobStateError,
    NotFoundError,
    RequestLimitError,
    TransportError,
)
from asyncbulk.emulator import Emulator, EmulatorConfig, FaultConfig

FAST = RetryConfig(max_attempts=10, base_delay=0.001, max_delay=0.01, budget=10.0)
CSV = b"FirstName,LastName\nAda,Lovelace\nAlan,Turing\nGrace,Hopper\nNo,\n"
TERMINAL = {"JobComplete", "Failed", "Aborted"}


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[BulkClient]:
    async with BulkClient(StaticToken(emulator.instance_url, emulator.access_token), retry=FAST) as bulk:
        yield bulk


async def wait_done(client: BulkClient, job_id: str) -> dict[str, Any]:
    with anyio.fail_after(10):
        while True:
            info = await client.job_info(job_id)
            if info.state in TERMINAL:
                return info
            await anyio.sleep(0.02)


def seed_hitting_first_only(rate: float, clean_after: int = 8) -> int:
    """A seed whose first fault draw hits and the next ``clean_after`` miss.

    The emulator draws one number per request from ``random.Random(seed)`` for each fault rate
    above zero, so with a single fault switched on this picks "the next request only".
    """
    for seed in range(10_000):
        rng = random.Random(seed)
        draws = [rng.random() for _ in range(clean_after + 1)]
        if draws[0] < rate and all(d >= rate for d in draws[1:]):
            return seed
    raise AssertionError("no seed found")


async def test_full_job_lifecycle(client: BulkClient, emulator: Emulator, tmp_path: Path) -> None:
    job = await client.create_job(object="Contact", operation="insert")
    assert job.state == "Open" and job.id.startswith("750")
    await client.upload(job.id, CSV)
    closed = await client.close_job(job.id)
    assert closed.state == "UploadComplete"
    done = await wait_done(client, job.id)
    assert done.state == "JobComplete"
    assert (done.processed, done.failed) == (4, 1)

    sizes = {
        kind: await client.download_results(job.id, kind, tmp_path / f"{kind}.csv")
        for kind in ("successful", "failed", "unprocessed")
    }
    success = (tmp_path / "successful.csv").read_text().splitlines()
    failed = (tmp_path / "failed.csv").read_text().splitlines()
    assert success[0].startswith('"sf__Id","sf__Created"') and len(success) == 4
    assert failed[0].startswith('"sf__Id","sf__Error"') and len(failed) == 2
    assert "REQUIRED_FIELD_MISSING" in failed[1]
    assert sizes["successful"] == (tmp_path / "successful.csv").stat().st_size > 0

    await client.delete_job(job.id)
    with pytest.raises(NotFoundError) as caught:
        await client.job_info(job.id)
    assert caught.value.job_id == job.id

    # Every request is counted as the server counted it, and the last usage header was read.
    stats = emulator.stats()
    assert client.requests_made == stats["requests"]
    for kind, count in client.requests_by_kind.items():
        assert stats["requests_by_kind"][kind] == count, kind
    assert client.api_usage == (stats["api_usage"], stats["api_limit"])


async def test_multipart_create_loads_rows(client: BulkClient) -> None:
    job = await client.create_job_multipart(object="Contact", operation="insert", data=CSV)
    assert job.state == "UploadComplete" and "contentUrl" not in job.raw
    done = await wait_done(client, job.id)
    assert done.processed == 4
    result = await client.query("SELECT Id, LastName FROM Contact WHERE LastName = 'Turing'")
    assert result["totalSize"] == 1
    assert client.requests_by_kind["multipart"] == 1


async def test_list_jobs_limits_describe(client: BulkClient) -> None:
    ids = {(await client.create_job(object="Account", operation="insert")).id for _ in range(3)}
    listed = [job async for job in client.list_jobs()]
    assert ids <= {job.id for job in listed}
    limits = await client.limits()
    assert "DailyApiRequests" in limits
    describe = await client.describe("Contact")
    assert describe["name"] == "Contact"
    with pytest.raises(NotFoundError):
        await client.describe("NoSuchObject__c")


async def test_state_changes_and_their_refusals(client: BulkClient) -> None:
    job = await client.create_job(object="Contact", operation="insert")
    assert (await client.abort_job(job.id)).state == "Aborted"
    assert (await client.abort_job(job.id)).state == "Aborted"  # already where we wanted
    with pytest.raises(InvalidJobStateError) as caught:
        await client.close_job(job.id)
    assert caught.value.status == 400 and caught.value.job_id == job.id
    with pytest.raises(ApiError):
        await client.upload(job.id, CSV)

    other = await client.create_job(object="Contact", operation="insert")
    await client.upload(other.id, CSV)
    with pytest.raises(ApiError, match="Found multipe contents"):
        await client.upload(other.id, CSV)  # one upload per job, and this was no retry
    await client.close_job(other.id)
    again = await client.close_job(other.id)  # a repeated close counts as closed
    assert again.state in {"UploadComplete", "InProgress", "JobComplete"}


async def test_retries_through_injected_faults(
    client: BulkClient, emulator: Emulator, tmp_path: Path
) -> None:
    emulator.set_faults(FaultConfig(seed=3, error_500=0.1, error_503=0.15, drop_before=0.05))
    job = await client.create_job(object="Contact", operation="insert")
    await client.upload(job.id, CSV)
    await client.close_job(job.id)
    done = await wait_done(client, job.id)
    assert done.processed == 4  # loaded exactly once
    await client.download_results(job.id, "successful", tmp_path / "s.csv")
    assert len((tmp_path / "s.csv").read_text().splitlines()) == 4
    stats = emulator.stats()
    assert stats["requests"] > client.requests_by_kind["job_info"] + 4  # some requests were retried
    assert stats["requests"] == client.requests_made


async def test_upload_dropped_after_processing_is_recognised(client: BulkClient, emulator: Emulator) -> None:
    job = await client.create_job(object="Contact", operation="insert")
    emulator.set_faults(FaultConfig(seed=seed_hitting_first_only(0.5), drop_after=0.5))
    await client.upload(job.id, CSV)  # stored, but the answer was lost
    emulator.set_faults(FaultConfig())
    await client.close_job(job.id)
    done = await wait_done(client, job.id)
    assert done.processed == 4
    # The PUT was sent again after asking the job, and the second-upload refusal was taken as success.
    assert client.requests_by_kind["upload"] == 2


async def test_close_dropped_after_processing_is_recognised(client: BulkClient, emulator: Emulator) -> None:
    job = await client.create_job(object="Contact", operation="insert")
    await client.upload(job.id, CSV)
    emulator.set_faults(FaultConfig(seed=seed_hitting_first_only(0.5), drop_after=0.5))
    closed = await client.close_job(job.id)
    emulator.set_faults(FaultConfig())
    assert closed.state in {"UploadComplete", "InProgress", "JobComplete"}
    assert client.requests_by_kind["close"] == 2


async def test_multipart_dropped_after_processing_is_ambiguous(
    client: BulkClient, emulator: Emulator
) -> None:
    emulator.set_faults(FaultConfig(seed=1, drop_after=1.0))
    with pytest.raises(AmbiguousCreateError) as caught:
        await client.create_job_multipart(object="Contact", operation="insert", data=CSV)
    emulator.set_faults(FaultConfig())
    assert emulator.stats()["requests_by_kind"]["multipart"] == 1  # never sent twice
    await client.create_job(object="Contact", operation="insert")  # an Open job must not match
    [found] = await client.find_jobs(caught.value.attempt)
    done = await wait_done(client, found.id)
    assert done.processed == 4


async def test_daily_limit_fails_fast_when_used_up() -> None:
    async with (
        Emulator(EmulatorConfig(api_request_limit=2)) as emu,
        BulkClient(StaticToken(emu.instance_url, emu.access_token), retry=FAST) as bulk,
    ):
        await bulk.limits()
        await bulk.limits()
        with pytest.raises(RequestLimitError, match="TotalRequests"):
            await bulk.limits()
        assert bulk.requests_made == 3  # the refusal was not retried
        assert bulk.api_usage is not None and bulk.api_usage[0] >= bulk.api_usage[1]


async def test_limit_refusal_with_headroom_is_retried(client: BulkClient, emulator: Emulator) -> None:
    # A refusal while the same response says calls are left: the rolling window is resetting.
    emulator.set_faults(FaultConfig(seed=3, limit_exceeded=0.5))
    for _ in range(5):
        await client.limits()
    assert client.requests_made > 5


class PasswordAuth:
    """A refreshable auth that asks the emulator's token endpoint (password grant) for tokens."""

    refreshable = True

    def __init__(self, instance_url: str, first: str) -> None:
        self.instance_url = instance_url
        self.current = Credentials(instance_url, first)
        self.refreshes = 0

    async def token(
        self, post: FormPost, *, force_refresh: bool = False, stale: Credentials | None = None
    ) -> Credentials:
        if force_refresh:
            self.refreshes += 1
            form = {
                "grant_type": "password",
                "client_id": "emulator-client-id",
                "client_secret": "emulator-client-secret",
                "username": "admin@emulator.example",
                "password": "emulator-password",
            }
            status, raw = await post(f"{self.instance_url}/services/oauth2/token", form, {})
            assert status == 200
            body = orjson.loads(raw)
            self.current = Credentials(body["instance_url"], body["access_token"])
        return self.current


async def expire_tokens(emulator: Emulator) -> None:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {emulator.admin_token}"}) as session:
        async with session.post(f"{emulator.instance_url}/__emulator/expire-tokens") as response:
            assert response.status == 200


async def test_expired_token_is_refreshed_once(emulator: Emulator) -> None:
    auth = PasswordAuth(emulator.instance_url, emulator.access_token)
    async with BulkClient(auth, retry=FAST) as client:
        job = await client.create_job(object="Contact", operation="insert")
        await expire_tokens(emulator)
        assert (await client.job_info(job.id)).id == job.id
    assert auth.refreshes == 1


async def test_expired_static_token_explains_the_fix(emulator: Emulator) -> None:
    async with BulkClient(StaticToken(emulator.instance_url, emulator.access_token), retry=FAST) as client:
        await expire_tokens(emulator)
        with pytest.raises(AuthenticationError) as caught:
            await client.create_job(object="Contact", operation="insert")
    assert "refreshable" in str(caught.value)
    assert emulator.access_token not in str(caught.value)


async def test_tls_emulator_with_ca_file() -> None:
    async with Emulator(EmulatorConfig(tls=True, workers=1)) as emu:
        assert emu.instance_url.startswith("https://") and emu.ca_file is not None
        auth = StaticToken(emu.instance_url, emu.access_token)
        async with BulkClient(auth, retry=FAST, ca_file=emu.ca_file) as client:
            job = await client.create_job(object="Contact", operation="insert")
            assert job.state == "Open"
        # Without trusting the self-signed certificate: a clear error at once, no retry loop.
        async with BulkClient(auth, retry=FAST) as client:
            with pytest.raises(TransportError, match="ca_file"):
                await client.job_info(job.id)
        assert emu.stats()["requests"] == 1
