"""The emulator's REST surface over real loopback HTTP: endpoints, shapes, error paths."""

from __future__ import annotations

import asyncio
import csv
import io

import aiohttp
import pytest
from api_helpers import Api

from asyncbulk.emulator import Emulator, EmulatorConfig, FaultConfig

CONTACTS = b"FirstName,LastName,MailingCity\nAstro,Nomical,San Francisco\nHootie,McOwl,San Francisco\n"

# The multipart request of Salesforce's "Walkthrough for Bulk Insert With A Multipart Request" (API
# docs 228.0-236.0: job part without lineEnding, a blank line before the next boundary), byte for byte
# but for the CSV header, which is a parameter here.
MULTIPART_TEMPLATE = (
    "--BOUNDARY\r\n"
    "Content-Type: application/json\r\n"
    'Content-Disposition: form-data; name="job"\r\n'
    "\r\n"
    "{\r\n"
    '  "object":"Contact",\r\n'
    '  "contentType":"CSV",\r\n'
    '  "operation": "insert"\r\n'
    "}\r\n"
    "\r\n"
    "--BOUNDARY\r\n"
    "Content-Type: text/csv\r\n"
    'Content-Disposition: form-data; name="content"; filename="content"\r\n'
    "\r\n"
    "{csv}"
    "\r\n--BOUNDARY--\r\n"
)
SF_NAME_CSV = (
    "Name,MailingCity\r\n"
    "Astro Nomical,San Francisco\r\n"
    "Hootie McOwl,San Francisco\r\n"
    "Appy Camper,San Francisco\r\n"
    "Earnie Badger,San Francisco"
)
SF_FIRSTLAST_CSV = (
    "FirstName,LastName,MailingCity\r\n"
    "Astro,Nomical,San Francisco\r\n"
    "Hootie,McOwl,San Francisco\r\n"
    "Appy,Camper,San Francisco\r\n"
    "Earnie,Badger,San Francisco"
)


def rows(text: str, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


class TestFrontDoor:
    async def test_versions_list_needs_no_auth_and_is_not_counted(self, emu: Emulator) -> None:
        async with aiohttp.ClientSession() as s, s.get(emu.instance_url + "/services/data/") as r:
            assert r.status == 200
            versions = await r.json()
            assert "Sforce-Limit-Info" not in r.headers
        assert versions[-1] == {"label": "Spring '26", "url": "/services/data/v66.0", "version": "66.0"}
        assert versions[0]["version"] == "41.0" and versions[0]["label"] == "Winter '18"
        assert emu.stats()["api_usage"] == 0

    async def test_missing_or_bad_token_is_401(self, emu: Emulator) -> None:
        async with aiohttp.ClientSession() as s:
            for headers in ({}, {"Authorization": "Bearer nope"}):
                async with s.get(emu.base_url + "/limits", headers=headers) as r:
                    assert r.status == 401
                    assert await r.json() == [
                        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
                    ]

    async def test_expire_tokens_endpoint(self, api: Api) -> None:
        assert (await api.call("GET", "/limits"))[0] == 200
        async with api.session.post(api.emu.instance_url + "/__emulator/expire-tokens") as r:
            assert r.status == 200
        status, body, _ = await api.call("GET", "/limits")
        assert status == 401 and body[0]["errorCode"] == "INVALID_SESSION_ID"

    @pytest.mark.parametrize(("version", "status"), [("v40.0", 404), ("v67.0", 404), ("v25.0", 410)])
    async def test_unsupported_versions(self, api: Api, version: str, status: int) -> None:
        url = f"{api.emu.instance_url}/services/data/{version}/jobs/ingest"
        async with api.session.get(url) as r:
            assert r.status == status
            body = await r.json()
        assert body[0]["errorCode"] == ("NOT_FOUND" if status == 404 else "GONE")

    async def test_oldest_version_works(self, api: Api) -> None:
        async with api.session.get(f"{api.emu.instance_url}/services/data/v41.0/jobs/ingest") as r:
            assert r.status == 200

    async def test_limit_info_header_counts_requests(self, api: Api) -> None:
        _, _, r1 = await api.call("GET", "/jobs/ingest")
        _, _, r2 = await api.call("GET", "/jobs/ingest/750000000000000AAA")
        assert r1.headers["Sforce-Limit-Info"] == "api-usage=1/15000000"
        assert r2.headers["Sforce-Limit-Info"] == "api-usage=2/15000000"

    async def test_request_limit_exceeded(self) -> None:
        async with (
            Emulator(EmulatorConfig(api_request_limit=2)) as emu,
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {emu.access_token}"}) as s,
        ):
            statuses = []
            for _ in range(3):
                async with s.get(emu.base_url + "/limits") as r:
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


class TestCreate:
    async def test_create_shape(self, api: Api) -> None:
        job = await api.create(object="Contact", operation="insert")
        assert list(job) == [
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
            "contentUrl",
            "lineEnding",
            "columnDelimiter",
        ]
        assert job["id"].startswith("750") and len(job["id"]) == 18
        assert job["state"] == "Open" and job["apiVersion"] == 66.0
        assert job["contentUrl"] == f"services/data/v66.0/jobs/ingest/{job['id']}/batches"
        assert job["createdDate"].endswith("+0000") and job["createdDate"][19] == "."

    async def test_trailing_slash_and_upsert_shape(self, api: Api) -> None:
        status, job, _ = await api.call(
            "POST",
            "/jobs/ingest/",
            json={"object": "Contact", "operation": "upsert", "externalIdFieldName": "Id"},
        )
        assert status == 200
        assert list(job)[7] == "externalIdFieldName" and job["externalIdFieldName"] == "Id"

    @pytest.mark.parametrize(
        ("body", "code", "message"),
        [
            (
                {"object": "Contact", "operation": "INSERT"},
                "API_ERROR",
                "Invalid value: 'INSERT' supplied for property: 'operation'",
            ),
            (
                {"object": "Nope__c", "operation": "insert"},
                "INVALIDJOB",
                "InvalidJob : Unable to find object: Nope__c",
            ),
            (
                {"object": "Contact", "operation": "upsert"},
                "INVALIDJOB",
                "InvalidJob : External ID was blank for Contact. "
                "An External ID must be specified for upsert.",
            ),
            (
                {"object": "Contact", "operation": "insert", "contentType": "JSON"},
                "API_ERROR",
                "Invalid value: 'JSON' supplied for property: 'contentType'",
            ),
            (
                {"object": "Contact", "operation": "insert", "columnDelimiter": "COLON"},
                "API_ERROR",
                "Invalid value: 'COLON' supplied for property: 'columnDelimiter'",
            ),
            (
                {"object": "Contact", "operation": "insert", "lineEnding": "CR"},
                "API_ERROR",
                "Invalid value: 'CR' supplied for property: 'lineEnding'",
            ),
        ],
    )
    async def test_invalid_create(self, api: Api, body: dict[str, str], code: str, message: str) -> None:
        status, err, _ = await api.call("POST", "/jobs/ingest", json=body)
        assert status == 400
        assert err == [{"errorCode": code, "message": message}]

    async def test_upsert_key_must_be_indexed(self, api: Api) -> None:
        status, err, _ = await api.call(
            "POST",
            "/jobs/ingest",
            json={"object": "Contact", "operation": "upsert", "externalIdFieldName": "Title"},
        )
        assert status == 400 and err[0]["errorCode"] == "INVALIDJOB"
        assert "Field name provided, Title does not match an External ID" in err[0]["message"]

    async def test_bad_json(self, api: Api) -> None:
        status, err, _ = await api.call(
            "POST", "/jobs/ingest", data=b"{nope", headers={"Content-Type": "application/json"}
        )
        assert status == 400 and err[0]["errorCode"] == "JSON_PARSER_ERROR"
        assert "[line:1, column:2]" in err[0]["message"]


class TestMultipart:
    async def _post(self, api: Api, csv_text: str) -> tuple[int, object]:
        body = MULTIPART_TEMPLATE.replace("{csv}", csv_text).encode()
        status, data, _ = await api.call(
            "POST",
            "/jobs/ingest/",
            data=body,
            headers={"Content-Type": "multipart/form-data; boundary=BOUNDARY", "Accept": "application/json"},
        )
        return status, data

    async def test_salesforce_example_with_name_column(self, api: Api) -> None:
        status, job = await self._post(api, SF_NAME_CSV)
        assert status == 200
        assert isinstance(job, dict)
        assert job["state"] == "UploadComplete" and "contentUrl" not in job
        assert list(job)[-2:] == ["lineEnding", "columnDelimiter"]
        info = await api.wait(job["id"])
        assert info["state"] == "JobComplete"
        assert info["numberRecordsProcessed"] == 4 and info["numberRecordsFailed"] == 4
        failed = rows(await api.results(job["id"], "failedResults"))
        assert failed[0] == ["sf__Id", "sf__Error", "Name", "MailingCity"]
        assert [r[2] for r in failed[1:]] == ["Astro Nomical", "Hootie McOwl", "Appy Camper", "Earnie Badger"]
        assert all(r[1] for r in failed[1:])
        assert rows(await api.results(job["id"], "successfulResults")) == [
            ["sf__Id", "sf__Created", "Name", "MailingCity"]
        ]

    async def test_salesforce_example_first_last(self, api: Api) -> None:
        status, job = await self._post(api, SF_FIRSTLAST_CSV)
        assert status == 200 and isinstance(job, dict)
        info = await api.wait(job["id"])
        assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (
            "JobComplete",
            4,
            0,
        )
        text = await api.results(job["id"], "successfulResults")
        assert text.startswith('"sf__Id","sf__Created",FirstName,LastName,MailingCity\r\n') is False
        lines = text.split("\n")
        assert lines[0] == '"sf__Id","sf__Created",FirstName,LastName,MailingCity'
        ok = rows(text)[1:]
        assert len(ok) == 4 and all(r[0].startswith("003") and len(r[0]) == 18 and r[1] == "true" for r in ok)
        assert lines[1].endswith('"true","Astro","Nomical","San Francisco"')

    async def test_over_100000_characters_is_refused(self, api: Api) -> None:
        big = "FirstName,LastName\r\n" + "x,y\r\n" * 25_000
        status, err = await self._post(api, big)
        assert status == 400 and isinstance(err, list)
        assert "100000 characters" in err[0]["message"]
        assert api.emu.stats()["jobs_created"] == 0


class TestLifecycle:
    async def test_full_job_info_key_order(self, api: Api) -> None:
        info = await api.load(CONTACTS, object="Contact", operation="insert")
        assert list(info) == [
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
            "jobType",
            "lineEnding",
            "columnDelimiter",
            "numberRecordsProcessed",
            "numberRecordsFailed",
            "retries",
            "totalProcessingTime",
            "apiActiveProcessingTime",
            "apexProcessingTime",
        ]
        assert info["state"] == "JobComplete" and info["numberRecordsProcessed"] == 2

    async def test_open_job_info_has_content_url_and_counts(self, api: Api) -> None:
        job = await api.create(object="Contact", operation="insert")
        info = await api.info(job["id"])
        assert info["contentUrl"] == job["contentUrl"]
        assert info["numberRecordsProcessed"] == 0 and info["retries"] == 0

    async def test_close_response_shape(self, api: Api) -> None:
        job = await api.create(object="Contact", operation="insert")
        await api.upload(job["id"], CONTACTS)
        closed = await api.close(job["id"])
        assert closed["state"] == "UploadComplete"
        assert list(closed)[-3:] == ["concurrencyMode", "contentType", "apiVersion"]

    async def test_second_upload_is_refused(self, api: Api) -> None:
        job = await api.create(object="Contact", operation="insert")
        await api.upload(job["id"], CONTACTS)
        status, err, _ = await api.call("PUT", f"/jobs/ingest/{job['id']}/batches", data=CONTACTS)
        assert (status, err) == (
            400,
            [
                {
                    "errorCode": "BULK_API_ERROR",
                    "message": f"Found multipe contents for job: <{job['id'][:15]}>, please 'Close' / "
                    "'Abort' / 'Delete' the current Job then create a new Job and make sure you only do "
                    "'PUT' once on a given Job.",
                }
            ],
        )

    async def test_wrong_transitions(self, api: Api) -> None:
        info = await api.load(CONTACTS, object="Contact", operation="insert")
        job_id = info["id"]
        status, err, _ = await api.call("PATCH", f"/jobs/ingest/{job_id}", json={"state": "Aborted"})
        assert status == 400
        assert err == [
            {"errorCode": "INVALIDJOBSTATE", "message": "Aborting already Completed Job not allowed"}
        ]
        status, err, _ = await api.call("PATCH", f"/jobs/ingest/{job_id}", json={"state": "UploadComplete"})
        assert status == 400 and err[0]["errorCode"] == "INVALIDJOBSTATE"
        status, err, _ = await api.call("PATCH", f"/jobs/ingest/{job_id}", json={"state": "Bogus"})
        assert status == 400 and err[0]["errorCode"] == "API_ERROR"
        status, err, _ = await api.call("PUT", f"/jobs/ingest/{job_id}/batches", data=CONTACTS)
        assert status == 400

    async def test_abort_open_job_with_data_leaves_rows_unprocessed(self, api: Api) -> None:
        job = await api.create(object="Contact", operation="insert")
        await api.upload(job["id"], CONTACTS)
        status, aborted, _ = await api.call("PATCH", f"/jobs/ingest/{job['id']}", json={"state": "Aborted"})
        assert status == 200 and aborted["state"] == "Aborted"
        assert rows(await api.results(job["id"], "unprocessedrecords")) == rows(CONTACTS.decode())
        assert (await api.info(job["id"]))["numberRecordsProcessed"] == 0

    async def test_delete(self, api: Api) -> None:
        job = await api.create(object="Contact", operation="insert")
        status, err, _ = await api.call("DELETE", f"/jobs/ingest/{job['id']}")
        assert status == 400
        assert err == [
            {
                "errorCode": "API_ERROR",
                "message": "Error encountered when deleting the job because the job is not terminated",
            }
        ]
        info = await api.load(CONTACTS, object="Contact", operation="insert")
        status, body, _ = await api.call("DELETE", f"/jobs/ingest/{info['id']}/")
        assert status == 204 and body == b""
        status, err, _ = await api.call("GET", f"/jobs/ingest/{info['id']}")
        assert status == 404
        assert err == [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]

    async def test_results_before_terminal_state(self, api: Api) -> None:
        job = await api.create(object="Contact", operation="insert")
        status, err, _ = await api.call("GET", f"/jobs/ingest/{job['id']}/successfulResults/")
        assert status == 400 and err[0]["errorCode"] == "INVALIDJOBSTATE"

    async def test_result_paths_and_types(self, api: Api) -> None:
        info = await api.load(CONTACTS, object="Contact", operation="insert")
        for kind in ("successfulResults", "failedResults/", "unprocessedrecords", "unprocessedRecords/"):
            status, _, resp = await api.call("GET", f"/jobs/ingest/{info['id']}/{kind}")
            assert status == 200
            assert resp.headers["Content-Type"] == "text/csv; charset=UTF-8"
            assert "Sforce-Limit-Info" in resp.headers
        failed = await api.results(info["id"], "failedResults")
        assert failed == '"sf__Id","sf__Error",FirstName,LastName,MailingCity\n'
        assert await api.results(info["id"], "unprocessedrecords") == "FirstName,LastName,MailingCity\n"

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

    async def test_malformed_csv_fails_job(self, api: Api) -> None:
        info = await api.load(b'LastName,Title\n"A"x,b\n', object="Contact", operation="insert")
        assert info["state"] == "Failed"
        assert info["errorMessage"].startswith("InvalidBatch : Failed to parse CSV.")

    async def test_empty_upload_completes_with_zero_records(self, api: Api) -> None:
        info = await api.load(b"LastName\n", object="Contact", operation="insert")
        assert (info["state"], info["numberRecordsProcessed"]) == ("JobComplete", 0)


@pytest.mark.parametrize("delimiter", ["BACKQUOTE", "CARET", "COMMA", "PIPE", "SEMICOLON", "TAB"])
async def test_delimiters_with_crlf(api: Api, delimiter: str) -> None:
    char = {"BACKQUOTE": "`", "CARET": "^", "COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "TAB": "\t"}[
        delimiter
    ]
    data = f'FirstName{char}LastName\r\nAda{char}Lovelace\r\nAlan{char}"Tu{char}ring"\r\n'.encode()
    info = await api.load(
        data, object="Contact", operation="insert", columnDelimiter=delimiter, lineEnding="CRLF"
    )
    assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (
        "JobComplete",
        2,
        0,
    )
    text = await api.results(info["id"], "successfulResults")
    lines = text.split("\r\n")
    assert lines[0] == f'"sf__Id"{char}"sf__Created"{char}FirstName{char}LastName'
    assert lines[2].endswith(f'"true"{char}"Alan"{char}"Tu{char}ring"') and lines[3] == ""
    assert (
        await api.results(info["id"], "failedResults")
    ) == f'"sf__Id"{char}"sf__Error"{char}FirstName{char}LastName\r\n'


async def test_job_list_paging(api: Api) -> None:
    sem = asyncio.Semaphore(16)

    async def one() -> None:
        async with sem:
            await api.create(object="Account", operation="insert")

    await asyncio.gather(*(one() for _ in range(1003)))
    status, page, _ = await api.call("GET", "/jobs/ingest")
    assert status == 200 and page["done"] is False and len(page["records"]) == 1000
    assert page["records"][0]["jobType"] == "V2Ingest"
    assert page["nextRecordsUrl"].startswith("/services/data/v66.0/jobs/ingest?queryLocator=")
    async with api.session.get(api.emu.instance_url + page["nextRecordsUrl"]) as r:
        second = await r.json()
    assert second["done"] is True and len(second["records"]) == 3 and second["nextRecordsUrl"] is None
    ids = {j["id"] for j in page["records"]} | {j["id"] for j in second["records"]}
    assert len(ids) == 1003
    for query in ("jobType=Classic", "isPkChunkingEnabled=true", "concurrencyMode=serial"):
        status, filtered, _ = await api.call("GET", f"/jobs/ingest?{query}")
        assert filtered == {"done": True, "records": [], "nextRecordsUrl": None}
    status, parallel, _ = await api.call("GET", "/jobs/ingest?concurrencyMode=parallel&jobType=V2Ingest")
    assert len(parallel["records"]) == 1000


async def test_limits_and_batch_accounting() -> None:
    async with (
        Emulator(EmulatorConfig(batch_size=2, workers=2)) as emu,
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {emu.access_token}"}) as s,
    ):
        api = Api(emu, s)
        data = b"LastName\n" + b"".join(b"L%d\n" % i for i in range(5))
        info = await api.load(data, object="Contact", operation="insert")
        assert info["numberRecordsProcessed"] == 5
        _, limits, _ = await api.call("GET", "/limits")
        assert limits["DailyBulkApiBatches"] == {"Max": 15000, "Remaining": 15000 - 3}
        assert limits["DailyBulkApiRecords"]["Remaining"] == 150_000_000 - 5
        assert limits["DailyApiRequests"]["Max"] == 15_000_000
        assert limits["DailyApiRequests"]["Remaining"] == 15_000_000 - emu.stats()["api_usage"]
        assert emu.stats()["batches_used"] == 3


async def test_record_allocation_exhausted_mid_job() -> None:
    async with (
        Emulator(EmulatorConfig(batch_size=2, workers=1, daily_record_limit=3)) as emu,
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {emu.access_token}"}) as s,
    ):
        api = Api(emu, s)
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
        Emulator(config) as emu,
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {emu.access_token}"}) as s,
    ):
        api = Api(emu, s)
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


async def test_describe_and_query(api: Api) -> None:
    await api.load(CONTACTS, object="Contact", operation="insert")
    status, desc, _ = await api.call("GET", "/sobjects/Contact/describe/")
    assert status == 200 and desc["name"] == "Contact"
    status, err, _ = await api.call("GET", "/sobjects/Nope__c/describe")
    assert status == 404 and err[0]["errorCode"] == "NOT_FOUND"
    status, result, _ = await api.call("GET", "/query", params={"q": "SELECT LastName FROM Contact"})
    assert status == 200 and result["totalSize"] >= 2
    status, err, _ = await api.call("GET", "/query", params={"q": "SELEKT nothing"})
    assert status == 400 and isinstance(err, list) and err[0]["errorCode"]


class TestFaults:
    async def test_500_503_and_limit(self, emu: Emulator, api: Api) -> None:
        for faults, status, code in (
            (FaultConfig(error_500=1), 500, "UNKNOWN_EXCEPTION"),
            (FaultConfig(error_503=1), 503, "SERVER_UNAVAILABLE"),
            (FaultConfig(limit_exceeded=1), 403, "REQUEST_LIMIT_EXCEEDED"),
        ):
            emu.set_faults(faults)
            got, err, _ = await api.call(
                "POST", "/jobs/ingest", json={"object": "Contact", "operation": "insert"}
            )
            assert (got, err[0]["errorCode"]) == (status, code)
        assert emu.stats()["jobs_created"] == 0
        # Test-only endpoints are never faulted.
        async with api.session.get(emu.instance_url + "/__emulator/stats") as r:
            assert r.status == 200

    async def test_drop_before_does_nothing(self, emu: Emulator, api: Api) -> None:
        emu.set_faults(FaultConfig(drop_before=1))
        with pytest.raises(aiohttp.ClientError):
            await api.call("POST", "/jobs/ingest", json={"object": "Contact", "operation": "insert"})
        assert emu.stats()["jobs_created"] == 0

    async def test_drop_after_does_the_work(self, emu: Emulator, api: Api) -> None:
        emu.set_faults(FaultConfig(drop_after=1))
        with pytest.raises(aiohttp.ClientError):
            await api.call("POST", "/jobs/ingest", json={"object": "Contact", "operation": "insert"})
        emu.set_faults(FaultConfig())
        assert emu.stats()["jobs_created"] == 1
        _, page, _ = await api.call("GET", "/jobs/ingest")
        assert len(page["records"]) == 1

    async def test_slow(self, emu: Emulator, api: Api) -> None:
        emu.set_faults(FaultConfig(slow=1, slow_seconds=0.3))
        loop = asyncio.get_running_loop()
        start = loop.time()
        assert (await api.call("GET", "/limits"))[0] == 200
        assert loop.time() - start >= 0.3

    async def test_job_failed_keeps_rows_done(self) -> None:
        config = EmulatorConfig(batch_size=2, workers=1, faults=FaultConfig(job_failed=1, seed=3))
        async with (
            Emulator(config) as emu,
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {emu.access_token}"}) as s,
        ):
            api = Api(emu, s)
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
            Emulator(config) as emu,
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {emu.access_token}"}) as s,
        ):
            api = Api(emu, s)
            info = await api.load(CONTACTS, object="Contact", operation="insert")
            assert (info["state"], info["numberRecordsFailed"]) == ("JobComplete", 2)
            failed = rows(await api.results(info["id"], "failedResults"))[1:]
            assert all(r[1].startswith("UNABLE_TO_LOCK_ROW") for r in failed)

    async def test_faults_are_seeded(self) -> None:
        async def run() -> list[int]:
            config = EmulatorConfig(faults=FaultConfig(error_500=0.5, seed=42))
            async with (
                Emulator(config) as emu,
                aiohttp.ClientSession(headers={"Authorization": f"Bearer {emu.access_token}"}) as s,
            ):
                out = []
                for _ in range(20):
                    async with s.get(emu.base_url + "/limits") as r:
                        out.append(r.status)
                return out

        first = await run()
        assert first == await run() and {200, 500} == set(first)
