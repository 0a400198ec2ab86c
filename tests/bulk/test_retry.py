"""BulkClient's retry policy and error mapping, against a scripted aiohttp server on loopback.

The emulator injects faults at random; these tests need an exact sequence (drop this request,
then answer 400 to the next), so they script a small real HTTP server instead. Real sockets,
no mocks: a dropped connection here is a closed TCP connection.
"""

from __future__ import annotations

import random
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from asyncbulk._auth import Credentials, StaticToken
from asyncbulk._bulk import (
    AmbiguousCreateError,
    BulkClient,
    FileRange,
    JobInfo,
    SubmitAttempt,
    parse_limit_info,
)
from asyncbulk._bulk._retry import Backoff, Failure, Safety, classify_exception, classify_status, may_repeat
from asyncbulk._config import RetryConfig
from asyncbulk._exceptions import (
    ApiError,
    AuthenticationError,
    InvalidJobStateError,
    NotFoundError,
    RequestLimitError,
    TransportError,
)

BASE = "/services/data/v66.0/"
TOKEN = "00Dxx!SECRET-token-value"
JOB = "750000000000001AAA"
FAST = RetryConfig(max_attempts=4, base_delay=0.001, max_delay=0.005, budget=5.0)

DROP = "drop"  # close the connection after reading the request, without answering


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-encoded unless bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    query: dict[str, str]


Step = Reply | str | Callable[[web.Request], Awaitable[web.StreamResponse]]


class Scripted:
    """A loopback server answering each (method, path) from a script; the last step repeats."""

    def __init__(self) -> None:
        self.script: dict[tuple[str, str], list[Step]] = {}
        self.seen: list[Seen] = []
        self.valid_tokens = {TOKEN}
        self.url = ""

    def on(self, method: str, path: str, *steps: Step) -> None:
        self.script[(method, BASE + path)] = list(steps)

    def count(self, method: str, path: str) -> int:
        return sum(1 for s in self.seen if s.method == method and s.path == BASE + path)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append(Seen(request.method, request.path, dict(request.headers), body, dict(request.query)))
        auth = request.headers.get("Authorization", "")
        if auth.removeprefix("Bearer ") not in self.valid_tokens:
            return web.json_response(
                [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}], status=401
            )
        steps = self.script.get((request.method, request.path))
        if not steps:
            return web.json_response(
                [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}], status=404
            )
        step = steps.pop(0) if len(steps) > 1 else steps[0]
        if step == DROP:
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if isinstance(step, Reply):
            raw = step.body if isinstance(step.body, bytes) else orjson.dumps(step.body)
            headers = {"Content-Type": "application/json", **step.headers}
            return web.Response(status=step.status, body=raw if step.status != 204 else None, headers=headers)
        assert callable(step)
        return await step(request)


@pytest.fixture
async def server() -> AsyncIterator[Scripted]:
    scripted = Scripted()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", scripted.handle)
    async with TestServer(app) as srv:
        scripted.url = str(srv.make_url("")).rstrip("/")
        yield scripted


def client_for(server: Scripted, **kwargs: Any) -> BulkClient:
    kwargs.setdefault("retry", FAST)
    return BulkClient(StaticToken(server.url, TOKEN), **kwargs)


def info(state: str = "Open") -> dict[str, Any]:
    return {"id": JOB, "object": "Contact", "operation": "insert", "state": state}


def err(code: str, message: str) -> list[dict[str, str]]:
    return [{"errorCode": code, "message": message}]


# -- the policy on its own ----------------------------------------------------------------------


class TestPolicy:
    def test_status_classification(self) -> None:
        assert classify_status(503, None, "") is Failure.REFUSED
        assert classify_status(500, "UNKNOWN_EXCEPTION", "boom") is Failure.UNKNOWN
        assert classify_status(502, None, "") is Failure.UNKNOWN
        assert classify_status(504, None, "") is Failure.UNKNOWN
        assert classify_status(400, "INVALIDJOBSTATE", "x") is None
        assert classify_status(404, "NOT_FOUND", "x") is None
        # The daily allocation is used up: no retry. The concurrent-request limit clears: retry.
        assert classify_status(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.") is None
        assert (
            classify_status(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")
            is Failure.REFUSED
        )

    def test_exception_classification(self) -> None:
        assert classify_exception(aiohttp.ServerDisconnectedError()) is Failure.UNKNOWN
        assert classify_exception(aiohttp.SocketTimeoutError()) is Failure.UNKNOWN
        assert classify_exception(aiohttp.ConnectionTimeoutError()) is Failure.NOT_SENT
        assert classify_exception(TimeoutError()) is Failure.UNKNOWN
        assert classify_exception(aiohttp.ClientPayloadError("cut")) is Failure.UNKNOWN
        assert classify_exception(aiohttp.InvalidURL("x")) is None

    def test_may_repeat(self) -> None:
        for safety in Safety:
            assert may_repeat(safety, Failure.NOT_SENT)
            assert may_repeat(safety, Failure.REFUSED)
        assert may_repeat(Safety.IDEMPOTENT, Failure.UNKNOWN)
        assert not may_repeat(Safety.RECONCILE, Failure.UNKNOWN)
        assert not may_repeat(Safety.ONCE, Failure.UNKNOWN)

    async def test_backoff_full_jitter_capped_and_budgeted(self) -> None:
        now = [0.0]
        slept: list[float] = []

        async def sleep(seconds: float) -> None:
            slept.append(seconds)
            now[0] += seconds

        config = RetryConfig(max_attempts=50, base_delay=1.0, max_delay=8.0, budget=30.0)
        backoff = Backoff(config, clock=lambda: now[0], sleep=sleep, rng=random.Random(7))
        budget = backoff.start()
        while await budget.wait():
            pass
        caps = [min(8.0, 2.0**i) for i in range(len(slept))]
        assert all(0 <= d <= cap for d, cap in zip(slept, caps, strict=True))
        assert len(set(slept)) == len(slept)  # jittered, not a fixed ladder
        assert sum(slept) <= 30.0  # the budget holds
        assert budget.attempts == len(slept) + 1 < 50

    async def test_backoff_stops_at_max_attempts_and_honours_retry_after(self) -> None:
        slept: list[float] = []

        async def sleep(seconds: float) -> None:
            slept.append(seconds)

        config = RetryConfig(max_attempts=3, base_delay=0.1, max_delay=5.0, budget=100.0)
        budget = Backoff(config, clock=lambda: 0.0, sleep=sleep).start()
        assert await budget.wait(at_least=2.0)
        assert await budget.wait(at_least=60.0)  # capped at max_delay
        assert not await budget.wait()
        assert slept[0] >= 2.0 and slept[1] == 5.0
        assert budget.attempts == 3

    def test_parse_limit_info(self) -> None:
        assert parse_limit_info("api-usage=10018/100000") == (10018, 100000)
        assert parse_limit_info("api-usage=25/15000; api-bursts=1/750") == (25, 15000)
        assert parse_limit_info("per-app-api-usage=17/250(appName=sample-app)") is None
        assert parse_limit_info("per-app-api-usage=17/250(appName=a), api-usage=3/9") == (3, 9)
        assert parse_limit_info(None) is None
        assert parse_limit_info("garbage") is None

    def test_submit_attempt_matches(self) -> None:
        start = datetime(2026, 1, 2, 21, 33, tzinfo=UTC)
        attempt = SubmitAttempt(
            object="Contact",
            operation="insert",
            external_id_field=None,
            column_delimiter="COMMA",
            line_ending="LF",
            multipart=True,
            started=start,
            ended=start + timedelta(seconds=30),
        )
        job = {
            "id": JOB,
            "object": "Contact",
            "operation": "insert",
            "state": "UploadComplete",
            "createdDate": "2026-01-02T21:33:20.000+0000",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        }
        parse = JobInfo.parse
        assert attempt.matches(parse(job))
        assert not attempt.matches(parse({**job, "operation": "update"}))
        assert not attempt.matches(parse({**job, "object": "Account"}))
        assert not attempt.matches(parse({**job, "state": "Open"}))  # a multipart job is never Open
        assert not attempt.matches(parse({**job, "columnDelimiter": "PIPE"}))
        assert not attempt.matches(parse({**job, "createdDate": "2026-01-02T23:00:00.000+0000"}))
        # A real org's list holds Bulk API 1.0 jobs and other users' jobs: never ours.
        assert not attempt.matches(parse({**job, "jobType": "Classic"}))
        mine, theirs = "005000000000001AAA", "005000000000002AAA"
        assert attempt.matches(parse({**job, "createdById": mine}), user_id=mine)
        assert not attempt.matches(parse({**job, "createdById": theirs}), user_id=mine)


# -- retries ------------------------------------------------------------------------------------


async def test_get_retried_on_503_500_and_drops(server: Scripted) -> None:
    server.on(
        "GET",
        f"jobs/ingest/{JOB}",
        Reply(503, err("SERVER_UNAVAILABLE", "down")),
        Reply(500, err("UNKNOWN_EXCEPTION", "boom")),
        DROP,
        Reply(200, info("InProgress")),
    )
    async with client_for(server) as client:
        got = await client.job_info(JOB)
    assert got.state == "InProgress"
    assert server.count("GET", f"jobs/ingest/{JOB}") == 4
    assert client.requests_made == 4
    assert client.requests_by_kind["job_info"] == 4


async def test_no_retry_on_400_and_server_text_kept(server: Scripted) -> None:
    server.on("PATCH", f"jobs/ingest/{JOB}", Reply(400, err("INVALIDREQUEST", "Bad state value: Foo")))
    async with client_for(server) as client:
        with pytest.raises(ApiError) as caught:
            await client.abort_job(JOB)
    exc = caught.value
    assert (exc.status, exc.error_code, exc.job_id) == (400, "INVALIDREQUEST", JOB)
    assert "Bad state value: Foo" in str(exc)
    assert server.count("PATCH", f"jobs/ingest/{JOB}") == 1


async def test_retries_give_up_with_last_error(server: Scripted) -> None:
    server.on("GET", "limits", Reply(503, b"<html>Service Unavailable</html>", {"Content-Type": "text/html"}))
    async with client_for(server) as client:
        with pytest.raises(ApiError) as caught:
            await client.limits()
    assert caught.value.status == 503
    assert "Service Unavailable" in caught.value.message  # a non-JSON body is still shown
    assert server.count("GET", "limits") == FAST.max_attempts


async def test_connection_refused_is_retried_then_transport_error() -> None:
    # A port nobody listens on: connect fails before anything is sent, for every request kind,
    # so even the never-repeated multipart create may try again.
    probe = TestServer(web.Application())
    await probe.start_server()
    url = str(probe.make_url("")).rstrip("/")
    await probe.close()
    async with BulkClient(StaticToken(url, TOKEN), retry=FAST) as client:
        with pytest.raises(TransportError) as caught:
            await client.create_job_multipart(object="Contact", operation="insert", data=b"LastName\nX\n")
    message = str(caught.value)
    assert "could not connect" in message and f"gave up after {FAST.max_attempts} tries" in message
    assert not isinstance(caught.value, AmbiguousCreateError)
    assert TOKEN not in message
    assert client.requests_made == 0  # nothing reached a server


async def test_read_timeout_is_retried(server: Scripted) -> None:
    calls = 0

    async def slow_once(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            import anyio

            await anyio.sleep(3.0)
        return web.json_response(info("JobComplete"))

    server.on("GET", f"jobs/ingest/{JOB}", slow_once)
    async with client_for(server, timeout=0.5) as client:
        got = await client.job_info(JOB)
    assert got.state == "JobComplete" and calls == 2


async def test_daily_request_limit_fails_fast(server: Scripted) -> None:
    server.on(
        "GET",
        f"jobs/ingest/{JOB}",
        Reply(
            403,
            err("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
            {"Sforce-Limit-Info": "api-usage=15001/15000"},
        ),
    )
    async with client_for(server) as client:
        with pytest.raises(RequestLimitError) as caught:
            await client.job_info(JOB)
    assert "TotalRequests Limit exceeded." in str(caught.value)
    assert "24 hours" in str(caught.value)
    assert server.count("GET", f"jobs/ingest/{JOB}") == 1
    assert client.api_usage == (15001, 15000)


async def test_concurrent_request_limit_is_retried(server: Scripted) -> None:
    server.on(
        "GET",
        f"jobs/ingest/{JOB}",
        Reply(403, err("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")),
        Reply(200, info()),
    )
    async with client_for(server) as client:
        assert (await client.job_info(JOB)).state == "Open"
    assert server.count("GET", f"jobs/ingest/{JOB}") == 2


# -- multipart ambiguity ------------------------------------------------------------------------


async def test_multipart_body_matches_the_documented_shape(server: Scripted) -> None:
    server.on("POST", "jobs/ingest", Reply(200, info("UploadComplete")))
    data = b"FirstName,LastName\nAstro,Nomical\n"
    async with client_for(server) as client:
        got = await client.create_job_multipart(object="Contact", operation="insert", data=data)
    assert got.state == "UploadComplete"
    [seen] = server.seen
    content_type = seen.headers["Content-Type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    boundary = content_type.split("boundary=", 1)[1].encode()
    parts = seen.body.split(b"--" + boundary)
    assert parts[0] == b"" and parts[-1] == b"--\r\n"
    job_head, job_body = parts[1].split(b"\r\n\r\n", 1)
    assert b"Content-Type: application/json" in job_head
    assert b'Content-Disposition: form-data; name="job"' in job_head
    assert orjson.loads(job_body.strip()) == {
        "object": "Contact",
        "contentType": "CSV",
        "operation": "insert",
        "lineEnding": "LF",
        "columnDelimiter": "COMMA",
    }
    content_head, content_body = parts[2].split(b"\r\n\r\n", 1)
    assert b"Content-Type: text/csv" in content_head
    assert b'name="content"; filename="content"' in content_head
    assert content_body == data + b"\r\n"
    assert client.requests_by_kind["multipart"] == 1


@pytest.mark.parametrize("fault", [DROP, Reply(500, err("UNKNOWN_EXCEPTION", "boom"))], ids=["drop", "500"])
async def test_multipart_never_repeated_after_send(server: Scripted, fault: Step) -> None:
    server.on("POST", "jobs/ingest", fault, Reply(200, info("UploadComplete")))
    before = datetime.now(UTC)
    async with client_for(server) as client:
        with pytest.raises(AmbiguousCreateError) as caught:
            await client.create_job_multipart(
                object="Contact", operation="upsert", external_id_field="Ext__c", data=b"Ext__c\n1\n"
            )
    assert server.count("POST", "jobs/ingest") == 1  # sent exactly once
    attempt = caught.value.attempt
    assert (attempt.object, attempt.operation, attempt.external_id_field) == ("Contact", "upsert", "Ext__c")
    assert attempt.multipart and attempt.data_bytes == len(b"Ext__c\n1\n")
    assert before <= attempt.started <= attempt.ended <= datetime.now(UTC)
    assert "not sent again" in str(caught.value).lower()


async def test_multipart_retried_when_server_refused(server: Scripted) -> None:
    server.on("POST", "jobs/ingest", Reply(503, err("SERVER_UNAVAILABLE", "maintenance")), Reply(200, info()))
    async with client_for(server) as client:
        await client.create_job_multipart(object="Contact", operation="insert", data=b"LastName\nX\n")
    assert server.count("POST", "jobs/ingest") == 2


async def test_json_create_retried_after_a_drop(server: Scripted) -> None:
    """An empty Open job loads nothing, so a create that may have been processed is sent again."""
    server.on("POST", "jobs/ingest", DROP, Reply(200, info()))
    async with client_for(server) as client:
        got = await client.create_job(object="Contact", operation="insert")
        assert got.id == JOB
    assert server.count("POST", "jobs/ingest") == 2


# -- upload, close, delete: repeats that must be recognised -------------------------------------


async def test_upload_drop_then_multiple_contents_is_success(server: Scripted) -> None:
    server.on(
        "PUT",
        f"jobs/ingest/{JOB}/batches",
        DROP,
        Reply(
            400,
            err(
                "BULK_API_ERROR",
                f"Found multipe contents for job: <{JOB[:15]}>, please 'Close' / 'Abort' / 'Delete' the "
                "current Job then create a new Job and make sure you only do 'PUT' once on a given Job.",
            ),
        ),
    )
    server.on("GET", f"jobs/ingest/{JOB}", Reply(200, info("Open")))
    async with client_for(server) as client:
        await client.upload(JOB, b"LastName\nX\n")
    assert server.count("PUT", f"jobs/ingest/{JOB}/batches") == 2
    # Asked before sending again, and again to confirm the refusal: the job is ours and still takes
    # no other upload.
    assert server.count("GET", f"jobs/ingest/{JOB}") == 2


async def test_upload_drop_then_job_closed_means_done(server: Scripted) -> None:
    server.on("PUT", f"jobs/ingest/{JOB}/batches", DROP, Reply(201))
    server.on("GET", f"jobs/ingest/{JOB}", Reply(200, info("UploadComplete")))
    async with client_for(server) as client:
        await client.upload(JOB, b"LastName\nX\n")
    assert server.count("PUT", f"jobs/ingest/{JOB}/batches") == 1


#: Salesforce's text for a second PUT (its own typo, "multipe"), seen in real-org captures.
SECOND_PUT = (
    f"Found multipe contents for job: <{JOB[:15]}>, please 'Close' / 'Abort' / 'Delete' the current Job "
    "then create a new Job and make sure you only do 'PUT' once on a given Job."
)


async def test_upload_multiple_contents_on_first_try_is_an_error(server: Scripted) -> None:
    server.on("PUT", f"jobs/ingest/{JOB}/batches", Reply(400, err("BULK_API_ERROR", SECOND_PUT)))
    server.on("GET", f"jobs/ingest/{JOB}", Reply(200, info("Open")))
    async with client_for(server) as client:
        with pytest.raises(ApiError, match="Found multipe contents"):
            await client.upload(JOB, b"LastName\nX\n")
        # Resuming after a crash: the caller says an earlier run may have uploaded it already.
        await client.upload(JOB, b"LastName\nX\n", maybe_sent=True)


async def test_upload_file_range_streams_with_length(server: Scripted, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(b"LastName\nA\nB\nC\nD\n")
    server.on("PUT", f"jobs/ingest/{JOB}/batches", DROP, Reply(201))
    server.on("GET", f"jobs/ingest/{JOB}", Reply(200, info("Open")))
    async with client_for(server) as client:
        await client.upload(JOB, FileRange(source, 11, 17, prefix=b"LastName\n", chunk_size=2))
    puts = [s for s in server.seen if s.method == "PUT"]
    assert len(puts) == 2  # the range was read again for the retry
    for put in puts:
        assert put.body == b"LastName\nB\nC\nD\n"
        assert put.headers["Content-Length"] == str(len(put.body))
        assert "Transfer-Encoding" not in put.headers
        assert put.headers["Content-Type"] == "text/csv"


async def test_upload_one_shot_stream_not_repeated(server: Scripted) -> None:
    server.on("PUT", f"jobs/ingest/{JOB}/batches", DROP, Reply(201))
    server.on("GET", f"jobs/ingest/{JOB}", Reply(200, info("Open")))

    async def stream() -> AsyncIterator[bytes]:
        yield b"LastName\n"
        yield b"X\n"

    async with client_for(server) as client:
        with pytest.raises(TransportError, match="cannot be sent twice"):
            await client.upload(JOB, stream())
    assert server.count("PUT", f"jobs/ingest/{JOB}/batches") == 1


async def test_close_repeated_after_500_sees_job_already_closed(server: Scripted) -> None:
    server.on(
        "PATCH",
        f"jobs/ingest/{JOB}",
        Reply(500, err("UNKNOWN_EXCEPTION", "boom")),
        Reply(400, err("INVALIDJOBSTATE", "Closing already UploadComplete Job not allowed")),
    )
    server.on("GET", f"jobs/ingest/{JOB}", Reply(200, info("InProgress")))
    async with client_for(server) as client:
        got = await client.close_job(JOB)
    assert got.state == "InProgress"
    patch = next(s for s in server.seen if s.method == "PATCH")
    assert orjson.loads(patch.body) == {"state": "UploadComplete"}


async def test_abort_of_completed_job_is_invalid_state(server: Scripted) -> None:
    server.on(
        "PATCH",
        f"jobs/ingest/{JOB}",
        Reply(400, err("INVALIDJOBSTATE", "Aborting already Completed Job not allowed")),
    )
    server.on("GET", f"jobs/ingest/{JOB}", Reply(200, info("JobComplete")))
    async with client_for(server) as client:
        with pytest.raises(InvalidJobStateError) as caught:
            await client.abort_job(JOB)
    assert caught.value.job_id == JOB and "Aborting already Completed" in str(caught.value)


async def test_delete_drop_then_404_is_success(server: Scripted) -> None:
    server.on("DELETE", f"jobs/ingest/{JOB}", DROP, Reply(404, err("NOT_FOUND", "gone")))
    async with client_for(server) as client:
        await client.delete_job(JOB)
        with pytest.raises(NotFoundError):  # but a plain 404 is an error
            await client.job_info(JOB)
    assert server.count("DELETE", f"jobs/ingest/{JOB}") == 2


# -- auth ---------------------------------------------------------------------------------------


class SwapAuth:
    """A refreshable auth whose refresh hands out the next token of a list."""

    refreshable = True

    def __init__(self, url: str, tokens: list[str]) -> None:
        self.url, self.tokens, self.index, self.refreshes = url, tokens, 0, 0

    async def token(
        self, session: aiohttp.ClientSession, *, force_refresh: bool = False, stale: Credentials | None = None
    ) -> Credentials:
        if force_refresh:
            self.refreshes += 1
            self.index += 1
        return Credentials(self.url, self.tokens[self.index])


async def test_401_refreshes_once_and_retries(server: Scripted) -> None:
    server.on("GET", f"jobs/ingest/{JOB}", Reply(200, info()))
    auth = SwapAuth(server.url, ["expired-token", TOKEN])
    async with BulkClient(auth, retry=FAST) as client:
        # Many requests see the old token expire at once; one refresh serves them all.
        import anyio

        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(client.job_info, JOB)
    assert auth.refreshes == 1
    assert [s.headers["Authorization"] for s in server.seen].count(f"Bearer {TOKEN}") == 5


async def test_401_after_refresh_is_authentication_error(server: Scripted) -> None:
    auth = SwapAuth(server.url, ["bad-1", "bad-2", "bad-3"])
    async with BulkClient(auth, retry=FAST) as client:
        with pytest.raises(AuthenticationError):
            await client.job_info(JOB)
    assert auth.refreshes == 1 and len(server.seen) == 2


async def test_401_static_token_message_has_fix_and_no_token(server: Scripted) -> None:
    secret = "00Dxx!never-show-this"
    async with BulkClient(StaticToken(server.url, secret), retry=FAST) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.job_info(JOB)
        text = f"{caught.value} {caught.value!r} {client!r} {StaticToken(server.url, secret)!r}"
    assert "Session expired or invalid" in text and "refreshable" in text
    assert secret not in text
    assert caught.value.status == 401 and caught.value.error_code == "INVALID_SESSION_ID"
    assert len(server.seen) == 1


# -- other endpoints ----------------------------------------------------------------------------


async def test_list_jobs_follows_next_records_url(server: Scripted) -> None:
    locator = f"{BASE}jobs/ingest?queryLocator=01gXX-2"
    server.on(
        "GET",
        "jobs/ingest",
        Reply(
            200,
            {
                "done": False,
                "records": [{"id": "1"}, {"id": "2"}],
                "nextRecordsUrl": locator,
            },
        ),
    )

    async def page2(request: web.Request) -> web.StreamResponse:
        assert request.query["queryLocator"] == "01gXX-2"
        return web.json_response({"done": True, "records": [{"id": "3"}], "nextRecordsUrl": None})

    server.script[("GET", BASE + "jobs/ingest")].append(page2)
    async with client_for(server) as client:
        ids = [job.id async for job in client.list_jobs()]
    assert ids == ["1", "2", "3"]
    assert server.seen[0].query == {"jobType": "V2Ingest"}
    assert client.requests_by_kind["job_list"] == 2


async def test_limit_info_header_parsed_on_every_response(server: Scripted) -> None:
    server.on(
        "GET",
        "limits",
        Reply(
            200,
            {"DailyApiRequests": {"Max": 15000, "Remaining": 14990}},
            {"Sforce-Limit-Info": "api-usage=10/15000"},
        ),
    )
    server.on(
        "GET",
        "query",
        Reply(
            200,
            {"totalSize": 0, "done": True, "records": []},
            {"Sforce-Limit-Info": "api-usage=11/15000; api-bursts=1/750"},
        ),
    )
    async with client_for(server) as client:
        assert client.api_usage is None
        await client.limits()
        assert client.api_usage == (10, 15000)
        result = await client.query("SELECT Id FROM Contact WHERE LastName = 'O''Brien & co'")
        assert client.api_usage == (11, 15000)
    assert result["done"] is True
    assert server.seen[-1].query["q"] == "SELECT Id FROM Contact WHERE LastName = 'O''Brien & co'"


async def test_download_streams_to_disk_in_chunks(server: Scripted, tmp_path: Path) -> None:
    row = b'"001000000000001AAA","true","Some Name","Some City"\n'
    chunks = 160  # 8 MB in 50 KB pieces
    piece = row * (50_000 // len(row))

    async def stream(request: web.Request) -> web.StreamResponse:
        assert request.headers["Accept"] == "text/csv"
        response = web.StreamResponse(headers={"Content-Type": "text/csv; charset=UTF-8"})
        await response.prepare(request)
        for _ in range(chunks):
            await response.write(piece)
        await response.write_eof()
        return response

    server.on("GET", f"jobs/ingest/{JOB}/successfulResults/", stream)
    dest = tmp_path / "success.csv"
    async with client_for(server) as client:
        tracemalloc.start()
        try:
            size = await client.download_results(JOB, "successful", dest)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert size == len(piece) * chunks == dest.stat().st_size
    # Server and client buffers together stay far below the 8 MB body: it was never held whole.
    assert peak < size / 4
    with dest.open("rb") as file:
        assert file.read(len(piece)) == piece
    assert not (tmp_path / "success.csv.part").exists()


async def test_download_cut_mid_body_is_retried_and_paths_are_documented(
    server: Scripted, tmp_path: Path
) -> None:
    body = (
        b'"sf__Id","sf__Error",LastName\n"","REQUIRED_FIELD_MISSING:Required fields are missing:--",\n' * 50
    )
    cuts = 0

    async def cut_once(request: web.Request) -> web.StreamResponse:
        nonlocal cuts
        response = web.StreamResponse(headers={"Content-Type": "text/csv"})
        response.content_length = len(body)
        await response.prepare(request)
        if cuts == 0:
            cuts += 1
            await response.write(body[:100])
            assert request.transport is not None
            request.transport.close()
            return response
        await response.write(body)
        await response.write_eof()
        return response

    server.on("GET", f"jobs/ingest/{JOB}/failedResults/", cut_once)
    server.on(
        "GET",
        f"jobs/ingest/{JOB}/unprocessedrecords/",
        Reply(200, b"LastName\nX\n", {"Content-Type": "text/csv"}),
    )
    server.on("GET", f"jobs/ingest/{JOB}/successfulResults/", Reply(204))
    async with client_for(server) as client:
        assert await client.download_results(JOB, "failed", tmp_path / "f.csv") == len(body)
        assert await client.download_results(JOB, "unprocessed", tmp_path / "u.csv") == 11
        assert await client.download_results(JOB, "successful", tmp_path / "s.csv") == 0
        with pytest.raises(ValueError, match="kind"):
            await client.download_results(JOB, "unprocessedRecords", tmp_path / "x.csv")
    assert (tmp_path / "f.csv").read_bytes() == body
    assert (tmp_path / "u.csv").read_bytes() == b"LastName\nX\n"
    assert (tmp_path / "s.csv").read_bytes() == b""
    assert cuts == 1


async def test_download_failure_leaves_no_file(server: Scripted, tmp_path: Path) -> None:
    server.on("GET", f"jobs/ingest/{JOB}/failedResults/", Reply(404, err("NOT_FOUND", "no such job")))
    async with client_for(server) as client:
        with pytest.raises(NotFoundError):
            await client.download_results(JOB, "failed", tmp_path / "f.csv")
    assert not (tmp_path / "f.csv").exists()
    assert not (tmp_path / "f.csv.part").exists()


async def test_non_json_success_body_is_api_error(server: Scripted) -> None:
    server.on("GET", f"jobs/ingest/{JOB}", Reply(200, b"<html>login</html>", {"Content-Type": "text/html"}))
    async with client_for(server) as client:
        with pytest.raises(ApiError, match="expected JSON"):
            await client.job_info(JOB)


def test_bad_options() -> None:
    auth = StaticToken("http://127.0.0.1:1", TOKEN)
    with pytest.raises(ValueError, match="connections"):
        BulkClient(auth, connections=0)
    with pytest.raises(ValueError, match="timeout"):
        BulkClient(auth, timeout=0)
    with pytest.raises(ValueError, match="start <= end"):
        FileRange("x", 5, 2)


async def test_client_not_open() -> None:
    client = BulkClient(StaticToken("http://127.0.0.1:1", TOKEN))
    with pytest.raises(RuntimeError, match="async with"):
        await client.job_info(JOB)


async def test_upsert_needs_external_id(server: Scripted) -> None:
    async with client_for(server) as client:
        with pytest.raises(ValueError, match="external_id_field"):
            await client.create_job(object="Contact", operation="upsert")
    assert server.seen == []
