"""A seeded corpus of malformed and hostile requests against the emulator in a child process.

Every client error must get a 4xx (or, for broken framing, a closed connection), never a 500 and
never a hang; afterwards the emulator still answers, loads a file, and its memory is back near
where it started (large bodies are refused before they are read, never buffered).
"""

from __future__ import annotations

import asyncio
import gzip
import random
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import aiohttp

from asyncbulk.emulator import EmulatorConfig, EmulatorProcess

SEED = 20260101
CORPUS = 320
#: Seconds any one request may take, the emulator's timeouts included (header and body 0.5 s).
PER_REQUEST = 4.0

JSON_BODIES: list[bytes] = [
    b"[]",
    b"null",
    b"42",
    b'"text"',
    b"true",
    b"{",
    b"",
    b"{}" * 3,
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b'{"object": "Contact", "operation": "insert", "operation": "upsert"}',
    b'{"object": "Contact", "operation": ' + b"9" * 6000 + b"}",
    b'{"object": "Contact", "operation": 1e999, "lineEnding": -1e999}',
    b'{"object": null, "operation": null, "contentType": null, "lineEnding": null}',
    b'{"object": [], "operation": {}, "columnDelimiter": [1]}',
    b'{"object": "Contact", "operation": "upsert", "externalIdFieldName": {"x": [1]}}',
    b'{"object": "\xff\xfe\xfd", "operation": "insert"}',
    b'\xef\xbb\xbf{"object": "Contact", "operation": "insert"}',
    b'{"state": "UploadComplete"}',
    b'{"state": ["Aborted"]}',
    b'{"state": null}',
    b'{"state": "\\ud800"}',
    b'{"object": "Contact\\u0000", "operation": "insert"}',
    b'{"seed": 1e308, "error_500": "x"}',
]
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=nope",
    "application/json; charset=utf-16",
    "text/plain",
    "",
    "multipart/form-data",
    "multipart/form-data; boundary=",
    'multipart/form-data; boundary="' + "B" * 300 + '"',
    "text/csv",
    "application/x-www-form-urlencoded; charset=bogus",
    "\xff/\xfe",
]


def _request(
    method: str,
    path: str,
    token: str | None,
    *,
    ctype: str | None,
    body: bytes,
    extra: str = "",
    length: int | None = None,
) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    if token is not None:
        head += f"Authorization: Bearer {token}\r\n"
    if ctype is not None:
        head += f"Content-Type: {ctype}\r\n"
    head += f"Content-Length: {len(body) if length is None else length}\r\n{extra}\r\n"
    return head.encode("latin-1", "replace") + body


class Corpus:
    """Hostile requests, drawn from a seeded generator: (name, bytes to send, then half-close?)."""

    def __init__(self, token: str, admin: str, jobs: list[str], rng: random.Random) -> None:
        self.token, self.admin, self.jobs, self.rng = token, admin, jobs, rng
        self.makers: list[Callable[[], tuple[str, bytes, bool]]] = [
            self.json_create,
            self.json_patch,
            self.content_types,
            self.encodings,
            self.paths,
            self.queries,
            self.framing,
            self.truncated,
            self.oversized,
            self.control,
            self.oauth,
            self.multipart,
            self.methods,
        ]

    def draw(self) -> tuple[str, bytes, bool]:
        return self.rng.choice(self.makers)()

    def json_create(self) -> tuple[str, bytes, bool]:
        body = self.rng.choice(JSON_BODIES)
        return (
            "json_create",
            _request(
                "POST", "/services/data/v66.0/jobs/ingest", self.token, ctype="application/json", body=body
            ),
            False,
        )

    def json_patch(self) -> tuple[str, bytes, bool]:
        body = self.rng.choice(JSON_BODIES)
        path = f"/services/data/v66.0/jobs/ingest/{self.rng.choice(self.jobs)}"
        return "json_patch", _request("PATCH", path, self.token, ctype="application/json", body=body), False

    def content_types(self) -> tuple[str, bytes, bool]:
        ctype = self.rng.choice(CONTENT_TYPES)
        body = self.rng.choice(
            [b'{"object":"Contact","operation":"insert"}', b"LastName\nX\n", b"\xff\x00" * 50]
        )
        if self.rng.random() < 0.5:
            path = "/services/data/v66.0/jobs/ingest"
            method = "POST"
        else:
            path, method = f"/services/data/v66.0/jobs/ingest/{self.rng.choice(self.jobs)}/batches", "PUT"
        return "content_type", _request(method, path, self.token, ctype=ctype, body=body), False

    def encodings(self) -> tuple[str, bytes, bool]:
        coding = self.rng.choice(["gzip", "deflate", "br", "zstd", "bogus", "gzip, gzip", "identity"])
        valid = gzip.compress(b'{"object":"Contact","operation":"insert"}')
        body = self.rng.choice([b"not compressed at all", valid, valid[:10], b"\x1f\x8b" + b"\x00" * 40])
        return (
            "encoding",
            _request(
                "POST",
                "/services/data/v66.0/jobs/ingest",
                self.token,
                ctype="application/json",
                body=body,
                extra=f"Content-Encoding: {coding}\r\n",
            ),
            False,
        )

    def paths(self) -> tuple[str, bytes, bool]:
        job = self.rng.choice(self.jobs)
        path = self.rng.choice(
            [
                "/services/data/v66.0/jobs/ingest/%FF%FE",
                "/services/data/v66.0/jobs/ingest/" + "A" * 4000,
                f"/services/data/v66.0/jobs/ingest/{job[:15]}",
                f"/services/data/v66.0/jobs/ingest/{job}/%FFResults",
                f"/services/data/v66.0/jobs/ingest/{job}/successfulResults/",
                "/services/data/v99999999999999999999.0/jobs/ingest",
                "/services/data/v66.0/sobjects/%00/describe",
                "/services/data/v66.0/../../etc/passwd",
                "/services//data//v66.0//jobs",
                "/services/data/v66.0/jobs/ingest/\x7f",
                "/services/oauth2/%FF",
            ]
        )
        return "path", _request("GET", path, self.token, ctype=None, body=b""), False

    def queries(self) -> tuple[str, bytes, bool]:
        query = self.rng.choice(
            [
                "jobType=%FF%FE",
                "queryLocator=" + "9" * 5000,
                "queryLocator=01g-%FF",
                "queryLocator=-1",
                "isPkChunkingEnabled=" + "x" * 3000,
                "concurrencyMode=%00",
            ]
        )
        if self.rng.random() < 0.5:
            return (
                "query",
                _request(
                    "GET", f"/services/data/v66.0/jobs/ingest?{query}", self.token, ctype=None, body=b""
                ),
                False,
            )
        soql = self.rng.choice(
            ["SELECT", "SELECT Id FROM", "SELECT Id FROM Contact WHERE Name = '", "\xff", "(" * 5000]
        )
        return (
            "soql",
            _request(
                "GET",
                "/services/data/v66.0/query?q=" + urllib.parse.quote(soql, safe=""),
                self.token,
                ctype=None,
                body=b"",
            ),
            False,
        )

    def framing(self) -> tuple[str, bytes, bool]:
        raw = self.rng.choice(
            [
                b"\r\n\r\n",
                b"GET /\r\n",
                b"GET /services/data\r\n\r\n",
                b"GARBAGE\r\n\r\n",
                b"GET /services/data HTTP/9.9\r\n\r\n",
                b"GET /services/data HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n",
                b"GET /services/data HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n",
                b"POST /services/data/v66.0/jobs/ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                b"Content-Length: 6\r\n\r\nabcdef",
                b"POST /services/data/v66.0/jobs/ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                b"POST /services/data/v66.0/jobs/ingest HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                b"\r\nZZ\r\nabc\r\n",
                b"POST /services/data/v66.0/jobs/ingest HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                b"POST /services/data/v66.0/jobs/ingest HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
                b"GET /services/data HTTP/1.1\r\nHost: x\r\n",  # headers never end (slow)
                b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,  # TLS to a plain port
                b"",  # connect and say nothing
            ]
        )
        return "framing", raw, self.rng.random() < 0.5

    def truncated(self) -> tuple[str, bytes, bool]:
        body = b'{"object": "Contact", "operation": "insert"}'
        cut = body[: self.rng.randrange(len(body))]
        method, path, ctype = self.rng.choice(
            [
                ("POST", "/services/data/v66.0/jobs/ingest", "application/json"),
                ("PUT", f"/services/data/v66.0/jobs/ingest/{self.rng.choice(self.jobs)}/batches", "text/csv"),
                ("POST", "/services/oauth2/token", "application/x-www-form-urlencoded"),
            ]
        )
        # Content-Length promises more than is sent; then the client stops (half-closes or stalls).
        return (
            "truncated",
            _request(method, path, self.token, ctype=ctype, body=cut, length=len(body) + 100),
            self.rng.random() < 0.5,
        )

    def oversized(self) -> tuple[str, bytes, bool]:
        token = self.token if self.rng.random() < 0.5 else None
        method, path = self.rng.choice(
            [
                ("PATCH", f"/services/data/v66.0/jobs/ingest/{self.rng.choice(self.jobs)}"),
                ("POST", "/services/data/v66.0/jobs/ingest"),
                ("PUT", f"/services/data/v66.0/jobs/ingest/{self.rng.choice(self.jobs)}/batches"),
            ]
        )
        # 120 MB promised, 1 MB sent: the answer must not wait for (or keep) the rest.
        return (
            "oversized",
            _request(method, path, token, ctype="text/csv", body=b"x" * (1 << 20), length=120_000_000),
            False,
        )

    def control(self) -> tuple[str, bytes, bool]:
        token = self.rng.choice([None, "wrong", self.admin])
        route = self.rng.choice(["stats", "faults", "clock", "expire-tokens-not-really", "clock"])
        method = "GET" if route == "stats" else "POST"
        body = self.rng.choice(
            [*JSON_BODIES[:8], b'{"advance": -5}', b'{"advance": 1e999}', b'{"slow_seconds": 1e400}']
        )
        return (
            "control",
            _request(method, f"/__emulator/{route}", token, ctype="application/json", body=body),
            False,
        )

    def oauth(self) -> tuple[str, bytes, bool]:
        body = self.rng.choice(
            [
                b"grant_type=password&username=\xff",
                b"%%%%",
                b"grant_type=" + b"x" * 70_000,
                b"\x00\x01",
                b"a=b&" * 500,
            ]
        )
        ctype = self.rng.choice(
            [
                "application/x-www-form-urlencoded",
                "application/x-www-form-urlencoded; charset=nope",
                "text/plain",
            ]
        )
        return "oauth", _request("POST", "/services/oauth2/token", None, ctype=ctype, body=body), False

    def multipart(self) -> tuple[str, bytes, bool]:
        body = self.rng.choice(
            [
                b"--B\r\n\r\n--B--\r\n",
                b"--B\nContent-Disposition: form-data; name=job\n\n{}\n--B\n"
                b"Content-Disposition: form-data; name=content\n\nx\n--B--\n",
                b'--B\r\nContent-Disposition: form-data; name="job"\r\n\r\n[]\r\n--B\r\n'
                b'Content-Disposition: form-data; name="content"\r\n\r\n\xff\xfe\r\n--B--\r\n',
                b"--B" * 10_000,
                b"no boundary at all",
            ]
        )
        return (
            "multipart",
            _request(
                "POST",
                "/services/data/v66.0/jobs/ingest",
                self.token,
                ctype="multipart/form-data; boundary=B",
                body=body,
            ),
            False,
        )

    def methods(self) -> tuple[str, bytes, bool]:
        method = self.rng.choice(["OPTIONS", "TRACE", "CONNECT", "FOO", "PROPFIND", "HEAD", "DELETE"])
        return (
            "method",
            _request(
                method,
                f"/services/data/v66.0/jobs/ingest/{self.rng.choice(self.jobs)}",
                self.token,
                ctype=None,
                body=b"",
            ),
            False,
        )


async def send(host: str, port: int, raw: bytes, half_close: bool) -> tuple[int | None, float]:
    """Send ``raw``; the status answered (``None``: closed without an answer) and the time taken."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(raw)
        await writer.drain()
        if half_close and writer.can_write_eof():
            writer.write_eof()
        async with asyncio.timeout(PER_REQUEST):
            answer = await reader.read(-1)
    except (ConnectionError, OSError):
        answer = b""
    finally:
        writer.close()
    status = None
    if answer.startswith(b"HTTP/"):
        status = int(answer.split(b" ", 2)[1])
    return status, time.monotonic() - started


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def test_hostile_corpus_gets_4xx_never_500_never_a_hang() -> None:
    config = EmulatorConfig(header_timeout=0.5, idle_timeout=1.0, body_timeout=0.5, workers=2)
    with EmulatorProcess(config) as emu:
        assert emu.process is not None
        host, port = emu.instance_url.removeprefix("http://").split(":")
        headers = {"Authorization": f"Bearer {emu.access_token}"}
        async with aiohttp.ClientSession(headers=headers) as http:
            jobs = []
            for upload in (None, b"LastName\nA\n", b"LastName\nB\n"):
                async with http.post(
                    emu.base_url + "/jobs/ingest", json={"object": "Contact", "operation": "insert"}
                ) as r:
                    job = (await r.json())["id"]
                jobs.append(job)
                if upload is not None:
                    async with http.put(
                        f"{emu.base_url}/jobs/ingest/{job}/batches",
                        data=upload,
                        headers={"Content-Type": "text/csv"},
                    ):
                        pass
            # junk uploads, parsed by the workers: they must end their jobs, never crash a worker
            rng = random.Random(SEED)
            for junk in (
                bytes(rng.randrange(256) for _ in range(3000)),
                b'LastName\n"' * 200,
                b"\r\n" * 500,
                b",,,\n" * 300,
            ):
                async with http.post(
                    emu.base_url + "/jobs/ingest", json={"object": "Contact", "operation": "insert"}
                ) as r:
                    job = (await r.json())["id"]
                async with http.put(
                    f"{emu.base_url}/jobs/ingest/{job}/batches",
                    data=junk,
                    headers={"Content-Type": "text/csv"},
                ) as r:
                    assert r.status == 201
                async with http.patch(
                    f"{emu.base_url}/jobs/ingest/{job}", json={"state": "UploadComplete"}
                ) as r:
                    assert r.status == 200
                jobs.append(job)
            before = rss_kb(emu.process.pid)
            # the corpus aims at the first three jobs only: the junk jobs must be left to finish
            corpus = Corpus(emu.access_token, emu.admin_token, jobs[:3], random.Random(SEED))
            drawn = [corpus.draw() for _ in range(CORPUS)]
            gate = asyncio.Semaphore(24)

            async def one(item: tuple[str, bytes, bool]) -> tuple[str, int | None, float]:
                async with gate:
                    status, took = await send(host, int(port), item[1], item[2])
                    return item[0], status, took

            started = time.monotonic()
            answers = await asyncio.gather(*(one(item) for item in drawn))
            elapsed = time.monotonic() - started
            after = rss_kb(emu.process.pid)
            # still healthy: it answers, and it still loads data
            async with http.get(emu.instance_url + "/services/data/") as r:
                assert r.status == 200
            async with http.get(f"{emu.base_url}/jobs/ingest") as r:
                listed = {j["id"]: j for j in (await r.json())["records"]}
            for job in jobs[3:]:
                for _ in range(100):
                    async with http.get(f"{emu.base_url}/jobs/ingest/{job}") as r:
                        info = await r.json()
                    if info["state"] in ("JobComplete", "Failed"):
                        break
                    await asyncio.sleep(0.05)
                assert info["state"] in ("JobComplete", "Failed"), info
                assert not info.get("errorMessage", "").startswith("InternalServerError"), info
            assert set(jobs) <= set(listed)
            # An accepted upload streams to disk: 40 MB sent, nowhere near that kept in memory.
            async with http.post(
                emu.base_url + "/jobs/ingest", json={"object": "Contact", "operation": "insert"}
            ) as r:
                big_job = (await r.json())["id"]
            rss_before_upload = rss_kb(emu.process.pid)

            async def forty_mb():  # type: ignore[no-untyped-def]
                yield b"LastName,Title\n"
                line = b"Lovelace,Countess of computing\n" * 32_768  # 1 MB
                for _ in range(40):
                    yield line

            url = f"{emu.base_url}/jobs/ingest/{big_job}/batches"
            async with http.put(url, data=forty_mb(), headers={"Content-Type": "text/csv"}) as r:
                assert r.status == 201
            rss_after_upload = rss_kb(emu.process.pid)
    server_errors = [(name, status) for name, status, _ in answers if status is not None and status >= 500]
    slow = [(name, round(took, 1)) for name, _, took in answers if took > PER_REQUEST - 0.5]
    kinds = Counter(name for name, _, _ in answers)
    assert server_errors == [], server_errors
    assert slow == [], slow
    assert len(kinds) >= len(corpus.makers)  # every kind of hostility was sent
    assert sum(1 for _, s, _ in answers if s is not None and 400 <= s < 500) > CORPUS // 2
    assert elapsed < 20
    # 120 MB bodies were refused unread: memory is back near where it started (not +350 MB).
    upload_growth = rss_after_upload - rss_before_upload
    print(f"emulator RSS before {before} kB, after {after} kB; 40 MB upload: {upload_growth:+} kB")
    assert after - before < 40_000, (before, after)
    assert rss_after_upload - rss_before_upload < 15_000, (rss_before_upload, rss_after_upload)
