"""Defect 10: the access token went to whatever host a job list's ``nextRecordsUrl`` named.

The emulator never names another host, so two tiny aiohttp servers stand in: the "org" serves a
first page of the job list whose ``nextRecordsUrl`` points at a second server, which records the
``Authorization`` headers it receives. The token must never reach it, and the client must stop
with an :class:`asyncbulk.AsyncBulkError` naming the foreign URL.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import anyio
import pytest
from _cases.org import CliRun
from aiohttp import web

import asyncbulk

TOKEN = "00DEM!foreign-host-test-token"
JOBS = "/services/data/v66.0/jobs/ingest"


@dataclass
class Servers:
    """The org and the foreign server, with what the foreign one heard."""

    org_url: str = ""
    foreign_url: str = ""
    next_url: str = ""
    foreign_auth: list[str | None] = field(default_factory=list)


def job(n: int) -> dict[str, object]:
    return {
        "id": f"7505f00000000{n:02d}AAA",
        "object": "Contact",
        "operation": "insert",
        "state": "JobComplete",
    }


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def servers() -> AsyncIterator[Servers]:
    state = Servers()

    async def org_jobs(request: web.Request) -> web.Response:
        if "queryLocator" in request.query:  # a second page on the org itself
            return web.json_response({"done": True, "records": [job(2)], "nextRecordsUrl": None})
        return web.json_response({"done": False, "records": [job(1)], "nextRecordsUrl": state.next_url})

    async def foreign_jobs(request: web.Request) -> web.Response:
        state.foreign_auth.append(request.headers.get("Authorization"))
        return web.json_response({"done": True, "records": [job(3)], "nextRecordsUrl": None})

    org_app = web.Application()
    org_app.router.add_get(JOBS, org_jobs)
    foreign_app = web.Application()
    foreign_app.router.add_get(JOBS, foreign_jobs)
    org_runner, state.org_url = await serve(org_app)
    foreign_runner, state.foreign_url = await serve(foreign_app)
    try:
        yield state
    finally:
        await org_runner.cleanup()
        await foreign_runner.cleanup()


async def list_jobs(url: str) -> list[asyncbulk.JobInfo] | Exception:
    try:
        async with asyncbulk.Connection(instance_url=url, access_token=TOKEN) as connection:
            return [j async for j in connection.client.list_jobs()]
    except Exception as exc:
        return exc


NEXT_URLS: dict[str, Callable[[Servers], str]] = {
    "other-port": lambda s: s.foreign_url + JOBS + "?queryLocator=01gEM-1000",
    "other-host-name": lambda s: (
        s.foreign_url.replace("127.0.0.1", "localhost") + JOBS + "?queryLocator=x-1000"
    ),
}


@pytest.mark.parametrize("where", list(NEXT_URLS))
async def test_token_never_goes_to_another_host(servers: Servers, where: str) -> None:
    """Defect 10: today the second page is fetched from the foreign server with the bearer token."""
    servers.next_url = NEXT_URLS[where](servers)
    outcome = await list_jobs(servers.org_url)
    assert all(TOKEN not in (auth or "") for auth in servers.foreign_auth), "the token went to another host"
    assert not servers.foreign_auth, "a request went to another host"
    assert isinstance(outcome, asyncbulk.AsyncBulkError), outcome
    assert servers.next_url in str(outcome) or servers.next_url.split("?")[0] in str(outcome)
    assert TOKEN not in str(outcome)


async def test_absolute_url_on_the_same_instance_is_followed(servers: Servers) -> None:
    """Defect 10, the other side: an absolute ``nextRecordsUrl`` on the org itself is fine."""
    servers.next_url = servers.org_url + JOBS + "?queryLocator=01gEM-1000"
    outcome = await list_jobs(servers.org_url)
    assert not isinstance(outcome, Exception), outcome
    assert [j.id for j in outcome] == [job(1)["id"], job(2)["id"]]
    assert not servers.foreign_auth


async def test_cli_jobs_refuses_the_foreign_page(servers: Servers) -> None:
    """Defect 10 through ``asyncbulk jobs``: exit 4, one line naming the foreign URL, no token sent."""
    servers.next_url = NEXT_URLS["other-port"](servers)
    argv = ["jobs", "--instance-url", servers.org_url, "--access-token", TOKEN]
    # A child process: the servers run in this test's event loop, which must keep serving.
    run = await run_cli_async(argv)
    assert not servers.foreign_auth, "a request went to another host"
    assert run.code == 4, run.stderr
    assert len(run.error_lines) == 1 and servers.foreign_url in run.error_lines[0], run.stderr
    assert TOKEN not in run.stdout + run.stderr


async def run_cli_async(argv: list[str]) -> CliRun:
    """``python -m asyncbulk ARGV`` in a child process, awaited (this loop keeps serving meanwhile)."""
    done = await anyio.run_process([sys.executable, "-m", "asyncbulk", *argv], check=False)
    return CliRun(done.returncode, done.stdout.decode(), done.stderr.decode())
