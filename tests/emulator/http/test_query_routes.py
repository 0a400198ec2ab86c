"""Bulk API 2.0 query jobs over real loopback HTTP: shapes, states, pages, locators, errors."""

from __future__ import annotations

import asyncio
import csv
import gzip
import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from api_helpers import QueryApi, rows

from asyncbulk.emulator import Emulator, EmulatorConfig, JobSpec

CREATE_KEYS = [
    "id",
    "operation",
    "object",
    "createdById",
    "createdDate",
    "systemModstamp",
    "state",
    "concurrencyMode",
    "contentType",
    "apiVersion",
    "lineEnding",
    "columnDelimiter",
]
INFO_KEYS = [
    *CREATE_KEYS[:10],
    "jobType",
    "lineEnding",
    "columnDelimiter",
    "numberRecordsProcessed",
    "retries",
    "totalProcessingTime",
    "isPkChunkingSupported",
]


@asynccontextmanager
async def running(**config: Any) -> AsyncIterator[QueryApi]:
    async with Emulator(EmulatorConfig(workers=2, **config)) as emu:
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {emu.access_token}"}) as s:
            yield QueryApi(emu, s)


def seed(emu: Emulator, n: int, object_name: str = "Contact") -> None:
    emu.org.apply(JobSpec(object_name, "insert"), ["LastName"], [tuple(f"Name {i:04d}" for i in range(n))])


def body_rows(pages: list[tuple[str, str, int]], delimiter: str = ",") -> list[list[str]]:
    """The data rows of every page, each page's header checked and dropped."""
    out: list[list[str]] = []
    header = None
    for text, _, count in pages:
        page = rows(text, delimiter)
        header = header or page[0]
        assert page[0] == header
        assert len(page) - 1 == count
        out.extend(page[1:])
    return out


async def test_create_info_list_shapes_and_states(qapi: QueryApi) -> None:
    seed(qapi.emulator, 3)
    created = await qapi.query_job("select lastname from contact")
    assert list(created) == CREATE_KEYS
    assert created["state"] == "UploadComplete" and created["object"] == "Contact"
    assert created["id"].startswith("750") and len(created["id"]) == 18
    assert (created["apiVersion"], created["lineEnding"], created["columnDelimiter"]) == (66.0, "LF", "COMMA")
    info = await qapi.wait_query(created["id"])
    assert list(info) == INFO_KEYS
    assert (info["state"], info["jobType"], info["numberRecordsProcessed"], info["retries"]) == (
        "JobComplete",
        "V2Query",
        3,
        0,
    )
    assert info["isPkChunkingSupported"] is True and info["totalProcessingTime"] >= 0
    status, _, resp = await qapi.call("GET", f"/jobs/query/{created['id']}")
    assert status == 200 and "Sforce-Locator" not in resp.headers  # jsforce reads it off any answer
    status, listed, _ = await qapi.call("GET", "/jobs/query")
    assert listed["done"] is True and listed["nextRecordsUrl"] is None
    assert [list(r) for r in listed["records"]] == [INFO_KEYS[:13]]
    status, listed, _ = await qapi.call("GET", "/jobs/query", params={"jobType": "V2Ingest"})
    assert listed["records"] == []


async def test_pages_follow_the_locator_chain_and_are_refetchable() -> None:
    async with running(query_page_records=4) as api:
        seed(api.emulator, 10)
        created = await api.query_job("SELECT LastName FROM Contact")
        await api.wait_query(created["id"])
        pages = await api.pages(created["id"])
        assert [(n, loc == "null") for _, loc, n in pages] == [(4, False), (4, False), (2, True)]
        assert [r[0] for r in body_rows(pages)] == [f"Name {i:04d}" for i in range(10)]
        assert pages[0][0].startswith('"LastName"\n"Name 0000"\n')
        # the same locator gives the same page, as often as asked
        assert await api.page(created["id"], pages[0][1]) == pages[1]
        assert await api.page(created["id"], pages[0][1]) == pages[1]
        # maxRecords: smaller pages; above the cap, pages of the cap
        assert [n for _, _, n in await api.pages(created["id"], max_records=3)] == [3, 3, 3, 1]
        assert [n for _, _, n in await api.pages(created["id"], max_records=100)] == [4, 4, 2]
        # a chain may change maxRecords as it goes: pages continue where the last stopped
        _, loc, _ = await api.page(created["id"], None, 2)
        second, _, n = await api.page(created["id"], loc, 5)
        assert n == 4 and rows(second)[1] == ["Name 0002"]


async def test_a_page_stays_under_the_byte_cap() -> None:
    async with running(query_page_bytes=60) as api:
        seed(api.emulator, 5)  # header 11 bytes, rows 12 bytes each
        pages = await api.extract("SELECT LastName FROM Contact", max_records=100)
        assert [n for _, _, n in pages] == [4, 1]
        assert all(len(text.encode()) <= 60 for text, _, _ in pages)
    async with running(query_page_bytes=5) as api:  # smaller than one row: still one row a page
        seed(api.emulator, 2)
        assert [n for _, _, n in await api.extract("SELECT LastName FROM Contact")] == [1, 1]


async def test_zero_rows_is_a_header_only_page(qapi: QueryApi) -> None:
    pages = await qapi.extract("SELECT Id, Account.Name FROM Contact WHERE LastName = 'nobody'")
    assert pages == [('"Id","Account.Name"\n', "null", 0)]


@pytest.mark.parametrize("delimiter", ["BACKQUOTE", "CARET", "COMMA", "PIPE", "SEMICOLON", "TAB"])
@pytest.mark.parametrize("line_ending", ["LF", "CRLF"])
async def test_delimiters_and_line_endings_round_trip(
    qapi: QueryApi, delimiter: str, line_ending: str
) -> None:
    char = {"BACKQUOTE": "`", "CARET": "^", "COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "TAB": "\t"}[
        delimiter
    ]
    tricky = [f'a{char}b "q" c', "line\nbreak", "", "plain"]
    qapi.emulator.org.apply(
        JobSpec("Contact", "insert"), ["FirstName", "LastName"], [tuple(tricky), ("t",) * 4]
    )
    created = await qapi.query_job(
        "SELECT FirstName, LastName FROM Contact", columnDelimiter=delimiter, lineEnding=line_ending
    )
    assert (created["columnDelimiter"], created["lineEnding"]) == (delimiter, line_ending)
    await qapi.wait_query(created["id"])
    [(text, _, _)] = await qapi.pages(created["id"])
    eol = "\r\n" if line_ending == "CRLF" else "\n"
    assert text.startswith(f'"FirstName"{char}"LastName"{eol}') and text.endswith(eol)
    got = list(csv.reader(io.StringIO(text, newline=""), delimiter=char))
    assert [r[0] for r in got[1:]] == tricky  # the empty one is a null, written ""
    assert f'""{char}"t"{eol}' in text


async def test_values_and_parent_columns(qapi: QueryApi) -> None:
    emu = qapi.emulator
    [acme] = emu.org.apply(JobSpec("Account", "insert"), ["Name", "AnnualRevenue"], [("Acme",), ("2500",)])
    emu.org.apply(
        JobSpec("Contact", "insert"),
        ["LastName", "AccountId", "DoNotCall", "Birthdate"],
        [("Lovelace", "Orphan"), (acme.sf_id, ""), ("true", ""), ("1815-12-10", "")],
    )
    pages = await qapi.extract(
        "SELECT LastName, Account.Name, Account.AnnualRevenue, DoNotCall, Birthdate, Owner.Username, "
        "CreatedDate FROM Contact ORDER BY LastName"
    )
    header, lovelace, orphan = rows(pages[0][0])
    assert header == [
        "LastName",
        "Account.Name",
        "Account.AnnualRevenue",
        "DoNotCall",
        "Birthdate",
        "Owner.Username",
        "CreatedDate",
    ]
    assert lovelace[:6] == ["Lovelace", "Acme", "2500.0", "true", "1815-12-10", "admin@emulator.example"]
    assert orphan[:5] == ["Orphan", "", "", "false", ""]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", lovelace[6])
    assert '"Orphan","","","false",""' in pages[0][0]  # nulls are "" (every cell quoted)


async def test_query_all_and_the_snapshot(qapi: QueryApi) -> None:
    emu = qapi.emulator
    keep, gone = emu.org.apply(JobSpec("Contact", "insert"), ["LastName"], [("Keep", "Gone")])
    emu.org.apply(JobSpec("Contact", "delete"), ["Id"], [(gone.sf_id,)])
    live = await qapi.extract("SELECT Id, LastName, IsDeleted FROM Contact")
    assert body_rows(live) == [[keep.sf_id, "Keep", "false"]]
    created = await qapi.query_job("SELECT Id, LastName, IsDeleted FROM Contact", operation="queryAll")
    assert created["operation"] == "queryAll"
    await qapi.wait_query(created["id"])
    every = await qapi.pages(created["id"])
    assert body_rows(every) == [[keep.sf_id, "Keep", "false"], [gone.sf_id, "Gone", "true"]]
    # rows are taken when the job runs: a later insert does not change a finished job's pages
    emu.org.apply(JobSpec("Contact", "insert"), ["LastName"], [("Later",)])
    assert await qapi.pages(created["id"]) == every


async def test_gzip_only_when_asked(qapi: QueryApi) -> None:
    seed(qapi.emulator, 50)
    created = await qapi.query_job("SELECT LastName FROM Contact")
    await qapi.wait_query(created["id"])
    url = qapi.url(f"/jobs/query/{created['id']}/results")
    for accept, encoded in (
        ("gzip, deflate", True),
        ("deflate, br", False),
        ("gzip;q=0", False),
        ("", False),
    ):
        async with qapi.session.get(url, headers={"Accept-Encoding": accept}, auto_decompress=False) as resp:
            raw = await resp.read()
            assert (resp.headers.get("Content-Encoding") == "gzip") is encoded, accept
            text = gzip.decompress(raw).decode() if encoded else raw.decode()
            assert text.count("\n") == 51 and resp.headers["Sforce-NumberOfRecords"] == "50"


async def test_result_pages_list_the_serial_pages() -> None:
    async with running(query_page_records=2) as api:
        seed(api.emulator, 13)
        created = await api.query_job("SELECT LastName FROM Contact")
        await api.wait_query(created["id"])
        serial = await api.pages(created["id"])
        status, group, _ = await api.call("GET", f"/jobs/query/{created['id']}/resultPages")
        assert status == 200 and group["done"] is False and len(group["resultPages"]) == 5
        urls = [p["resultUrl"] for p in group["resultPages"]]
        status, group2, _ = await api.call(
            "GET", group["nextRecordsUrl"].removeprefix("/services/data/v66.0")
        )
        assert status == 200 and group2["done"] is True and group2["nextRecordsUrl"] is None
        urls += [p["resultUrl"] for p in group2["resultPages"]]
        assert all(
            u.startswith(f"/services/data/v66.0/jobs/query/{created['id']}/results?locator=") for u in urls
        )
        fetched = []
        for url in urls:
            async with api.session.get(api.emulator.instance_url + url) as resp:
                fetched.append(
                    (
                        await resp.text(),
                        resp.headers["Sforce-Locator"],
                        int(resp.headers["Sforce-NumberOfRecords"]),
                    )
                )
        assert fetched == serial and len(serial) == 7
        status, sized, _ = await api.call(
            "GET", f"/jobs/query/{created['id']}/resultpages", params={"maxRecords": "1"}
        )
        assert [u["resultUrl"].endswith("&maxRecords=1") for u in sized["resultPages"]] == [True] * 5


async def test_refusals_at_create(qapi: QueryApi) -> None:
    async def refused(body: dict[str, Any]) -> tuple[int, str, str]:
        status, err, _ = await qapi.call("POST", "/jobs/query", json=body)
        return status, err[0]["errorCode"], err[0]["message"]

    compound = await refused({"operation": "query", "query": "SELECT MailingAddress FROM Contact"})
    assert compound == (400, "API_ERROR", "Selecting compound data not supported in Bulk Query")
    sub = await refused(
        {"operation": "query", "query": "SELECT Name, (SELECT Id FROM Contacts) FROM Account"}
    )
    assert sub[2] == "Aggregate Relationships not supported in Bulk V2 Query with CSV content type"
    status, code, message = await refused({"operation": "query", "query": "SELECT Id FROM Accout"})
    assert (status, code) == (400, "INVALID_TYPE") and "sObject type 'Accout' is not supported." in message
    status, code, message = await refused({"operation": "query", "query": "SELECT Nope FROM Account"})
    assert (status, code) == (400, "INVALID_FIELD") and message.startswith(
        "\nSELECT Nope FROM Account\n       ^"
    )
    assert (await refused({"operation": "query", "query": "SELECT FROM Account"}))[1] == "MALFORMED_QUERY"
    assert await refused({"operation": "insert", "query": "SELECT Id FROM Account"}) == (
        400,
        "API_ERROR",
        "Invalid value: 'insert' supplied for property: 'operation'",
    )
    assert (await refused({"operation": "query"}))[2] == "Invalid value: '' supplied for property: 'query'"
    assert (await refused({"operation": "query", "query": "SELECT Id FROM Account", "lineEnding": "CR"}))[
        2
    ] == ("Invalid value: 'CR' supplied for property: 'lineEnding'")
    status, err, _ = await qapi.call(
        "POST", "/jobs/query", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert status == 400 and err[0]["errorCode"] == "JSON_PARSER_ERROR"
    assert qapi.emulator.stats()["query_jobs"]["UploadComplete"] == 0  # no job made


async def test_state_rules_and_results_preconditions() -> None:
    async with running(query_rate=50.0) as api:  # 100 rows take about 2 s
        seed(api.emulator, 100)
        created = await api.query_job("SELECT LastName FROM Contact")
        job = created["id"]
        status, err, _ = await api.call("GET", f"/jobs/query/{job}/results")
        assert status == 412 and err[0]["errorCode"] == "JOB_NOT_COMPLETE"
        assert err[0]["message"].startswith(
            "can only download query results of successfully completed bulk job"
        )
        status, err, _ = await api.call("DELETE", f"/jobs/query/{job}")
        assert status == 400 and err[0]["message"].endswith("because the job is not terminated")
        status, aborted, _ = await api.call("PATCH", f"/jobs/query/{job}", json={"state": "Aborted"})
        assert status == 200 and aborted["state"] == "Aborted" and list(aborted) == CREATE_KEYS[:10]
        status, err, _ = await api.call("PATCH", f"/jobs/query/{job}", json={"state": "Aborted"})
        assert (status, err[0]["errorCode"]) == (400, "INVALIDJOBSTATE")
        status, err, _ = await api.call("GET", f"/jobs/query/{job}/results")
        assert status == 412 and err[0]["message"].endswith("Current status: ABORTED")
        assert (await api.wait_query(job))["state"] == "Aborted"
        status, _, _ = await api.call("DELETE", f"/jobs/query/{job}")
        assert status == 204
        for method, path in (("GET", ""), ("GET", "/results"), ("DELETE", "")):
            status, err, _ = await api.call(method, f"/jobs/query/{job}{path}")
            assert (status, err[0]["errorCode"]) == (404, "NOT_FOUND")


async def test_version_locator_and_max_records_errors(qapi: QueryApi) -> None:
    seed(qapi.emulator, 3)
    created = await qapi.query_job("SELECT LastName FROM Contact")
    job = created["id"]
    await qapi.wait_query(job)
    base = qapi.emulator.instance_url + "/services/data"
    async with qapi.session.get(f"{base}/v62.0/jobs/query/{job}/results") as resp:
        assert resp.status == 409 and "66.0" in (await resp.json())[0]["message"]
    async with qapi.session.get(f"{base}/v46.0/jobs/query/{job}") as resp:
        assert resp.status == 404  # query jobs exist from v47.0
    async with qapi.session.post(
        f"{base}/v57.0/jobs/query", json={"operation": "query", "query": "SELECT Id FROM User"}
    ) as resp:
        old = (await resp.json())["id"]
    async with qapi.session.get(f"{base}/v57.0/jobs/query/{old}/resultPages") as resp:
        assert resp.status == 404  # resultPages exist from v58.0
    for params in ({"locator": "garbage!"}, {"locator": "MDo3NTBFTTAwMDAwMDAwMDAwMDA"}):
        status, err, _ = await qapi.call("GET", f"/jobs/query/{job}/results", params=params)
        assert (status, err[0]["errorCode"]) == (400, "INVALID_QUERY_LOCATOR")
    for bad in ("0", "-1", "ten"):
        status, err, _ = await qapi.call("GET", f"/jobs/query/{job}/results", params={"maxRecords": bad})
        assert (
            status == 400
            and err[0]["message"] == f"Invalid value: '{bad}' supplied for parameter: 'maxRecords'"
        )


async def test_job_list_pages_and_the_daily_limit() -> None:
    async with running(daily_query_job_limit=3) as api:
        for _ in range(3):
            await api.query_job("SELECT Id FROM User")
        status, err, _ = await api.call(
            "POST", "/jobs/query", json={"operation": "query", "query": "SELECT Id FROM User"}
        )
        assert (status, err[0]["errorCode"]) == (400, "LIMIT_EXCEEDED")
        assert err[0]["message"] == "Max bulk v2 query jobs (3) per 24 hrs has been reached (3)"
        _, limits, _ = await api.call("GET", "/limits")
        assert limits["DailyBulkV2QueryJobs"] == {"Max": 3, "Remaining": 0}
        status, listed, _ = await api.call("GET", "/jobs/query", params={"jobType": "V2Query"})
        assert len(listed["records"]) == 3 and listed["done"] is True


async def test_load_then_extract_in_parallel_pages_gives_each_record_once(qapi: QueryApi) -> None:
    data = b"FirstName,LastName\n" + b"".join(b"F%d,L%d\n" % (i, i) for i in range(1200))
    assert (await qapi.load(data, object="Contact", operation="insert"))["numberRecordsProcessed"] == 1200
    created = await qapi.query_job("SELECT Id, FirstName, LastName FROM Contact")
    job = created["id"]
    assert (await qapi.wait_query(job))["numberRecordsProcessed"] == 1200
    urls: list[str] = []
    next_url: str | None = f"/services/data/v66.0/jobs/query/{job}/resultPages?maxRecords=100"
    while next_url:
        async with qapi.session.get(qapi.emulator.instance_url + next_url) as resp:
            group = await resp.json()
        urls += [p["resultUrl"] for p in group["resultPages"]]
        next_url = group["nextRecordsUrl"]
    assert len(urls) == 12

    async def fetch(url: str) -> tuple[str, str, int]:
        async with qapi.session.get(qapi.emulator.instance_url + url) as resp:
            return (
                await resp.text(),
                resp.headers["Sforce-Locator"],
                int(resp.headers["Sforce-NumberOfRecords"]),
            )

    pages = await asyncio.gather(*(fetch(u) for u in urls))
    extracted = body_rows(list(pages))
    stored = qapi.emulator.org.query("SELECT Id, FirstName, LastName FROM Contact")["records"]
    assert extracted == [[r["Id"], r["FirstName"], r["LastName"]] for r in stored]  # in order, each once
