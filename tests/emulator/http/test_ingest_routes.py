"""The ``jobs/ingest`` routes over real loopback HTTP: create validation, multipart, shapes, paths, paging."""

from __future__ import annotations

import asyncio

import pytest
from api_helpers import CONTACTS, Api, rows

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
    '  "operation": "insert",\r\n'
    '  "lineEnding": "CRLF"\r\n'
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
                "InvalidJob : Field name provided,  does not match an External ID for Contact",
            ),
            (
                {"object": "Account", "operation": "upsert", "externalIdFieldName": "Nope__c"},
                "INVALIDJOB",
                "InvalidJob : Field name provided, Nope__c does not match an External ID for Account",
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
        # An existing field that is no key: the long form, its name lower-cased (a real answer).
        assert status == 400
        assert err == [
            {
                "errorCode": "INVALIDJOB",
                "message": "InvalidJob : Field name provided, title does not match an External ID, "
                "Salesforce Id, or indexed field for Contact",
            }
        ]

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
        # A CRLF job's result files end their lines with CRLF too.
        lines = text.split("\r\n")
        assert lines[0] == '"sf__Id","sf__Created",FirstName,LastName,MailingCity'
        ok = rows(text)[1:]
        assert len(ok) == 4 and all(r[0].startswith("003") and len(r[0]) == 18 and r[1] == "true" for r in ok)
        assert lines[1].endswith('"true","Astro","Nomical","San Francisco"')

    async def test_over_100000_characters_is_refused(self, api: Api) -> None:
        big = "FirstName,LastName\r\n" + "x,y\r\n" * 25_000
        status, err = await self._post(api, big)
        assert status == 400 and isinstance(err, list)
        assert "100000 characters" in err[0]["message"]
        assert api.emulator.stats()["jobs_created"] == 0


class TestRequests:
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
        status, err, _ = await api.call(
            "PUT", f"/jobs/ingest/{job['id']}/batches", data=CONTACTS, headers={"Content-Type": "text/csv"}
        )
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
        status, err, _ = await api.call(
            "PUT", f"/jobs/ingest/{job_id}/batches", data=CONTACTS, headers={"Content-Type": "text/csv"}
        )
        assert status == 400

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
    async with api.session.get(api.emulator.instance_url + page["nextRecordsUrl"]) as r:
        second = await r.json()
    assert second["done"] is True and len(second["records"]) == 3 and second["nextRecordsUrl"] is None
    ids = {j["id"] for j in page["records"]} | {j["id"] for j in second["records"]}
    assert len(ids) == 1003
    for query in ("jobType=Classic", "isPkChunkingEnabled=true", "concurrencyMode=serial"):
        status, filtered, _ = await api.call("GET", f"/jobs/ingest?{query}")
        assert filtered == {"done": True, "records": [], "nextRecordsUrl": None}
    status, parallel, _ = await api.call("GET", "/jobs/ingest?concurrencyMode=parallel&jobType=V2Ingest")
    assert len(parallel["records"]) == 1000
