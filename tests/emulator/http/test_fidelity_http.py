"""The HTTP layer answers as a real org does, over real loopback HTTP.

Covered: 415 for a wrong or missing Content-Type on create and upload; JSON errors everywhere
under /services/; the documented multipart request file with LF line breaks; gzip for result
files and larger JSON; closing twice; whole-second dates; bodies refused before they are read
(by Content-Length, while streaming, before auth); the control routes' token and the clock.
"""

from __future__ import annotations

import gzip
import json
import re

import aiohttp
import pytest
from api_helpers import CONTACTS, Api, rows

from asyncbulk.emulator import Emulator, EmulatorConfig

#: The request file of "Walkthrough for Bulk Insert With a Multipart Request", as the docs print it
#: (LF line breaks), sent as is: what ``curl --data-binary @request.txt`` sends.
DOCUMENTED_MULTIPART = b"""--BOUNDARY
Content-Type: application/json
Content-Disposition: form-data; name="job"

{
  "object":"Contact",
  "contentType":"CSV",
  "operation":"insert",
  "lineEnding":"LF"
}

--BOUNDARY
Content-Type: text/csv
Content-Disposition: form-data; name="content"; filename="content"

FirstName,LastName,MailingCity
Astro,Nomical,San Francisco
Hootie,McOwl,San Francisco
--BOUNDARY--
"""


class TestMediaTypes:
    @pytest.mark.parametrize("ctype", [None, "text/plain", "application/xml", "text/csv"])
    async def test_create_wants_json(self, api: Api, ctype: str | None) -> None:
        headers = {"Content-Type": ctype} if ctype else {}
        body = json.dumps({"object": "Contact", "operation": "insert"}).encode()
        status, err, _ = await api.call("POST", "/jobs/ingest", data=body, headers=headers)
        expected = ctype or "application/octet-stream"
        assert (status, err) == (
            415,
            [
                {
                    "errorCode": "UNSUPPORTED_MEDIA_TYPE",
                    "message": f"MediaType of '{expected}' is not supported by this resource",
                }
            ],
        )
        assert api.emulator.stats()["jobs_created"] == 0

    @pytest.mark.parametrize("ctype", [None, "application/json", "application/octet-stream"])
    async def test_upload_wants_csv(self, api: Api, ctype: str | None) -> None:
        job = await api.create(object="Contact", operation="insert")
        headers = {"Content-Type": ctype} if ctype else {}
        status, err, _ = await api.call(
            "PUT", f"/jobs/ingest/{job['id']}/batches", data=CONTACTS, headers=headers
        )
        assert status == 415 and err[0]["errorCode"] == "UNSUPPORTED_MEDIA_TYPE"
        # Nothing was taken: the job still takes its one upload.
        await api.upload(job["id"], CONTACTS)

    async def test_charset_parameters_are_fine(self, api: Api) -> None:
        body = json.dumps({"object": "Contact", "operation": "insert"}).encode()
        status, job, _ = await api.call(
            "POST", "/jobs/ingest", data=body, headers={"Content-Type": "application/json; charset=UTF-8"}
        )
        assert status == 200
        status, _, _ = await api.call(
            "PUT",
            f"/jobs/ingest/{job['id']}/batches",
            data=CONTACTS,
            headers={"Content-Type": "text/csv; charset=UTF-8"},
        )
        assert status == 201

    async def test_unknown_content_encoding_is_415(self, api: Api) -> None:
        status, err, _ = await api.call(
            "POST",
            "/jobs/ingest",
            data=b"{}",
            headers={"Content-Type": "application/json", "Content-Encoding": "zip"},
        )
        assert status == 415 and err[0]["errorCode"] == "UNSUPPORTED_MEDIA_TYPE"


class TestJsonEverywhere:
    @pytest.mark.parametrize(
        ("method", "path", "status"),
        [
            ("GET", "/services/nope", 404),
            ("GET", "/services/oauth2/nope", 404),
            ("GET", "/services/oauth2/token", 405),
            ("GET", "/services/data/v66.0/nope", 404),
            ("DELETE", "/services/data/v66.0/jobs/ingest", 405),
        ],
    )
    async def test_errors_are_salesforce_json(self, api: Api, method: str, path: str, status: int) -> None:
        async with api.session.request(method, api.emulator.instance_url + path) as r:
            assert r.status == status
            assert r.content_type == "application/json"
            body = await r.json()
        assert isinstance(body, list) and set(body[0]) == {"errorCode", "message"}

    @pytest.mark.parametrize(
        "body",
        [
            b"[]",
            b"42",
            b"null",
            b'"x"',
            b'{"object": ["Contact"], "operation": "insert"}',
            b'{"object": {"a": 1}, "operation": "insert"}',
            b'{"object": "Contact", "operation": null, "lineEnding": []}',
            b'{"object": "Contact", "operation": 1e999}',
            b'{"object": "Contact", "operation": ' + b"9" * 5000 + b"}",
            b'{"object": "\xff\xfe", "operation": "insert"}',
            b"[" * 50_000 + b"]" * 50_000,
            b'{"object": "Contact"',
            b"",
        ],
    )
    async def test_json_of_any_shape_is_a_4xx(self, api: Api, body: bytes) -> None:
        status, err, _ = await api.call(
            "POST", "/jobs/ingest", data=body, headers={"Content-Type": "application/json"}
        )
        assert status == 400, err
        assert err[0]["errorCode"] in ("JSON_PARSER_ERROR", "API_ERROR", "INVALIDJOB")

    async def test_scalar_values_are_read_as_text_and_duplicate_keys_take_the_last(self, api: Api) -> None:
        body = b'{"object": "Contact", "operation": "delete", "operation": "insert", "lineEnding": 5}'
        status, err, _ = await api.call(
            "POST", "/jobs/ingest", data=body, headers={"Content-Type": "application/json"}
        )
        assert (status, err) == (
            400,
            [{"errorCode": "API_ERROR", "message": "Invalid value: '5' supplied for property: 'lineEnding'"}],
        )


class TestMultipart:
    async def test_the_documented_request_file_with_lf_line_breaks(self, api: Api) -> None:
        status, job, _ = await api.call(
            "POST",
            "/jobs/ingest",
            data=DOCUMENTED_MULTIPART,
            headers={"Content-Type": 'multipart/form-data; boundary="BOUNDARY"'},
        )
        assert status == 200, job
        assert job["state"] == "UploadComplete"
        info = await api.wait(job["id"])
        assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (
            "JobComplete",
            2,
            0,
        )

    @pytest.mark.parametrize(
        ("ctype", "body"),
        [
            ("multipart/form-data", DOCUMENTED_MULTIPART),  # no boundary
            ("multipart/form-data; boundary=BOUNDARY", DOCUMENTED_MULTIPART[:-12]),  # no closing boundary
            ("multipart/form-data; boundary=BOUNDARY", b"--BOUNDARY\nno headers here--BOUNDARY--\n"),
            ("multipart/form-data; boundary=BOUNDARY", b"\xff" * 100),
        ],
    )
    async def test_broken_multipart_is_a_4xx(self, api: Api, ctype: str, body: bytes) -> None:
        status, err, _ = await api.call("POST", "/jobs/ingest", data=body, headers={"Content-Type": ctype})
        assert status == 400, err
        assert api.emulator.stats()["jobs_created"] == 0


class TestShapes:
    async def test_close_twice_is_refused(self, api: Api) -> None:
        # Decision: no source says a real org takes a second close; refused like every other
        # transition from a state that is not Open (the client can read the job to reconcile).
        job = await api.create(object="Contact", operation="insert")
        await api.upload(job["id"], CONTACTS)
        await api.close(job["id"])
        status, err, _ = await api.call(
            "PATCH", f"/jobs/ingest/{job['id']}", json={"state": "UploadComplete"}
        )
        assert status == 400 and err[0]["errorCode"] == "INVALIDJOBSTATE"
        assert re.fullmatch(
            r"Closing already (UploadComplete|InProgress|Completed) Job not allowed", err[0]["message"]
        )

    async def test_dates_are_whole_seconds(self, api: Api) -> None:
        job = await api.create(object="Contact", operation="insert")
        for key in ("createdDate", "systemModstamp"):
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000\+0000", job[key]), job[key]

    async def test_failed_job_has_error_message_last(self, api: Api) -> None:
        info = await api.load(b"LastName,Nope__c\nA,1\n", object="Contact", operation="insert")
        assert list(info)[-1] == "errorMessage"


class TestGzip:
    async def test_result_files_are_gzipped_when_asked(self, api: Api) -> None:
        data = b"LastName\n" + b"".join(b"L%d\n" % i for i in range(2_000))
        info = await api.load(data, object="Contact", operation="insert")
        url = api.url(f"/jobs/ingest/{info['id']}/successfulResults/")
        headers = {"Authorization": f"Bearer {api.emulator.access_token}", "Accept-Encoding": "gzip"}
        async with aiohttp.ClientSession(auto_decompress=False) as raw, raw.get(url, headers=headers) as r:
            assert r.status == 200 and r.headers["Content-Encoding"] == "gzip"
            assert r.headers["Content-Type"] == "text/csv; charset=UTF-8"
            body = await r.read()
        text = gzip.decompress(body).decode()
        assert len(rows(text)) == 2_001 and len(body) < len(text) / 2
        async with (
            aiohttp.ClientSession(auto_decompress=False) as raw,
            raw.get(
                url, headers={"Authorization": headers["Authorization"], "Accept-Encoding": "identity"}
            ) as r,
        ):
            assert "Content-Encoding" not in r.headers and (await r.read()).decode() == text

    async def test_larger_json_is_gzipped_small_json_is_not(self, api: Api) -> None:
        for _ in range(8):
            await api.create(object="Contact", operation="insert")
        headers = {"Authorization": f"Bearer {api.emulator.access_token}", "Accept-Encoding": "gzip, deflate"}
        async with aiohttp.ClientSession(auto_decompress=False) as raw:
            async with raw.get(api.url("/jobs/ingest"), headers=headers) as r:
                assert r.headers.get("Content-Encoding") == "gzip"
                listing = json.loads(gzip.decompress(await r.read()))
            assert len(listing["records"]) == 8
            async with raw.get(api.url(f"/jobs/ingest/{listing['records'][0]['id']}"), headers=headers) as r:
                assert "Content-Encoding" not in r.headers


class TestBodies:
    async def test_oversized_upload_refused_by_content_length_unread(self, api: Api) -> None:
        job = await api.create(object="Contact", operation="insert")
        reader, writer = await _connect(api.emulator)
        writer.write(
            f"PUT /services/data/v66.0/jobs/ingest/{job['id']}/batches HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {api.emulator.access_token}\r\nContent-Type: text/csv\r\n"
            "Content-Length: 200000000\r\n\r\nLastName\n".encode()
        )
        head = await reader.read(4096)  # answered at once, without the 200 MB
        writer.close()
        assert head.startswith(b"HTTP/1.1 400") and b"Exceeded max size limit of 150 MB" in head
        assert b"Connection: close" in head
        await api.upload(job["id"], CONTACTS)  # nothing of it was kept

    async def test_oversized_chunked_body_refused_while_streaming(self, api: Api) -> None:
        # No Content-Length (chunked, as jsforce and the CLI upload): refused once past the cap,
        # here a JSON body's 1 MB (an upload's 112.5 MB goes the same way), without the rest.
        async def body():  # type: ignore[no-untyped-def]
            yield b'{"object": "Contact", "operation": "insert", "pad": "'
            for _ in range(50):
                yield b"x" * (1 << 20)  # 50 MB
            yield b'"}'

        try:
            async with api.session.post(
                api.url("/jobs/ingest"), data=body(), headers={"Content-Type": "application/json"}
            ) as r:
                assert r.status == 413 and r.headers["Connection"] == "close"
                assert (await r.json())[0]["errorCode"] == "REQUEST_ENTITY_TOO_LARGE"
        except aiohttp.ClientError:
            pass  # the emulator closed while the client was still sending: refused either way
        assert api.emulator.stats()["jobs_created"] == 0

    async def test_auth_is_checked_before_the_body(self, api: Api) -> None:
        reader, writer = await _connect(api.emulator)
        writer.write(
            b"PATCH /services/data/v66.0/jobs/ingest/750000000000000AAA HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{"
        )
        head = await reader.read(4096)
        writer.close()
        assert head.startswith(b"HTTP/1.1 401")


class TestControlRoutes:
    async def test_they_need_a_token(self, emulator: Emulator) -> None:
        async with aiohttp.ClientSession() as s:
            for method, path in (
                ("GET", "stats"),
                ("POST", "expire-tokens"),
                ("POST", "faults"),
                ("POST", "clock"),
            ):
                async with s.request(method, f"{emulator.instance_url}/__emulator/{path}") as r:
                    assert r.status == 401, path
            headers = {"Authorization": f"Bearer {emulator.admin_token}"}
            async with s.post(f"{emulator.instance_url}/__emulator/expire-tokens", headers=headers) as r:
                assert r.status == 200
            # the admin token outlives the access tokens it expired
            async with s.get(f"{emulator.instance_url}/__emulator/stats", headers=headers) as r:
                assert r.status == 200 and (await r.json())["tokens_issued"] >= 1

    async def test_clock_route(self, emulator: Emulator) -> None:
        headers = {"Authorization": f"Bearer {emulator.admin_token}"}
        async with aiohttp.ClientSession(headers=headers) as s:
            async with s.post(f"{emulator.instance_url}/__emulator/clock", json={"advance": 3600}) as r:
                assert r.status == 200 and (await r.json())["offset"] == 3600
            for bad in ({"advance": -1}, {"advance": "1"}, {"advance": 1e999}, [1]):
                async with s.post(f"{emulator.instance_url}/__emulator/clock", json=bad) as r:
                    assert r.status == 400, bad
            async with s.post(
                f"{emulator.instance_url}/__emulator/faults", json={"slow_seconds": 1e308}
            ) as r:
                assert r.status == 400


async def _connect(emulator: Emulator):  # type: ignore[no-untyped-def]
    import asyncio

    host, port = emulator.instance_url.removeprefix("http://").split(":")
    return await asyncio.open_connection(host, int(port))


class TestConnectionTimeouts:
    async def test_slow_headers_and_idle_connections_are_closed(self) -> None:
        import asyncio

        async with Emulator(EmulatorConfig(header_timeout=0.5, idle_timeout=0.5)) as emu:
            slow = [await _connect(emu) for _ in range(30)]
            for _, writer in slow:
                writer.write(b"GET /services/data HTTP/1.1\r\nHost: x\r\n")  # never the blank line
            idle_reader, idle_writer = await _connect(emu)
            idle_writer.write(b"GET /services/data HTTP/1.1\r\nHost: x\r\n\r\n")  # keep-alive
            async with asyncio.timeout(5):
                answers = [await reader.read() for reader, _ in slow]  # EOF: closed by the emulator
                head = await idle_reader.read(4096)
                rest = await idle_reader.read()  # then closed once idle
            for _, writer in [*slow, (idle_reader, idle_writer)]:
                writer.close()
        assert answers == [b""] * 30
        assert head.startswith(b"HTTP/1.1 200") and not rest.startswith(b"HTTP/")
