"""What real clients call around the Bulk jobs, over real loopback HTTP.

Doubled leading slashes (the Salesforce CLI's paths), JSON 404s for every unknown path, the
resources of a version, the versions list, userinfo, records by id, and one running-user id
everywhere.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from api_helpers import CONTACTS, Api

from asyncbulk.emulator import Emulator, EmulatorConfig, OAuthConfig

NOT_FOUND = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]


async def get(api: Api, path: str, **kw: Any) -> tuple[int, Any, aiohttp.ClientResponse]:
    """GET ``path`` as given (from the instance URL), with the emulator's token, no redirects."""
    async with api.session.get(api.emulator.instance_url + path, allow_redirects=False, **kw) as resp:
        body: Any = await resp.read()
        if resp.content_type == "application/json":
            body = await resp.json()
        return resp.status, body, resp


class TestDoubledSlash:
    async def test_a_whole_ingest_cycle_over_leading_double_slashes(self, api: Api) -> None:
        # What the Salesforce CLI sends after `sf org login access-token` (instance URL ending in /).
        root = api.emulator.instance_url + "//services/data/v62.0"
        s = api.session
        async with s.post(root + "/jobs/ingest", json={"object": "Contact", "operation": "insert"}) as r:
            assert r.status == 200, await r.text()
            job = await r.json()
        assert job["contentUrl"] == f"services/data/v62.0/jobs/ingest/{job['id']}/batches"
        url = f"{root}/jobs/ingest/{job['id']}"
        headers = {"Content-Type": "text/csv"}
        async with s.put(url + "/batches", data=CONTACTS, headers=headers, allow_redirects=False) as r:
            assert r.status == 201  # the body reached the job: no redirect, no loss
        async with s.patch(url, json={"state": "UploadComplete"}, allow_redirects=False) as r:
            assert r.status == 200 and (await r.json())["state"] == "UploadComplete"
        info = await api.wait(job["id"])
        assert (info["state"], info["numberRecordsProcessed"]) == ("JobComplete", 2)
        async with s.get(url + "/successfulResults/") as r:
            assert r.status == 200 and len((await r.text()).splitlines()) == 3
        assert api.emulator.org.count("Contact") == 2
        # Counted and limited like any API request.
        assert r.headers["Sforce-Limit-Info"].startswith("api-usage=")

    async def test_query_string_and_any_number_of_leading_slashes(self, api: Api) -> None:
        await api.load(CONTACTS, object="Contact", operation="insert")
        for lead in ("//", "///"):
            status, body, _ = await get(
                api, lead + "services/data/v62.0/query", params={"q": "SELECT LastName FROM Contact"}
            )
            assert status == 200 and body["totalSize"] == 2
        status, body, _ = await get(api, "//services/data")
        assert status == 200 and body[-1]["version"] == "66.0"

    async def test_the_rewrite_keeps_the_front_door(self, emulator: Emulator) -> None:
        async with aiohttp.ClientSession() as s:
            async with s.get(emulator.instance_url + "//services/data/v62.0/limits") as r:
                assert r.status == 401 and (await r.json())[0]["errorCode"] == "INVALID_SESSION_ID"
            async with s.get(emulator.instance_url + "//services/data/v25.0/limits") as r:
                assert r.status == 410

    @pytest.mark.parametrize(
        "path",
        [
            "/services/data/v62.0/jobs/ingest//750000000000000AAA",
            "/services//data/v62.0/jobs/ingest",
            "//services/data/v62.0//jobs/ingest",
            "/services/data/v62.0/nope",
            "//services/data/v62.0/nope",
            "/services/data/v62.0/sobjects/Contact/003000000000000AAA/extra",
            "/services/nope",
            "/services/oauth2/nope",
        ],
    )
    async def test_double_slash_inside_and_unknown_paths_are_json_404(self, api: Api, path: str) -> None:
        status, body, resp = await get(api, path)
        assert (status, resp.content_type, body) == (404, "application/json", NOT_FOUND)

    async def test_wrong_method_after_the_rewrite_is_405(self, api: Api) -> None:
        async with api.session.delete(api.emulator.instance_url + "//services/data/v62.0/jobs/ingest") as r:
            assert r.status == 405
            assert (await r.json())[0]["errorCode"] == "METHOD_NOT_ALLOWED"


class TestVersions:
    async def test_resources_of_a_version_echo_it(self, api: Api, emulator: Emulator) -> None:
        status, body, resp = await get(api, "/services/data/v62.0")
        assert status == 200 and "Sforce-Limit-Info" in resp.headers
        assert list(body)[:3] == ["tooling", "metadata", "eclair"]
        for name in ("sobjects", "query", "queryAll", "limits", "jobs", "composite"):
            assert body[name] == f"/services/data/v62.0/{name}"
        assert body["identity"] == (
            f"{emulator.instance_url}/id/{emulator.config.oauth.org_id}/{emulator.org.admin_user_id}"
        )
        # With a trailing slash too, and without jobs where Bulk API 2.0 does not exist yet.
        status, old, _ = await get(api, "/services/data/v40.0/")
        assert status == 200 and old["query"] == "/services/data/v40.0/query" and "jobs" not in old

    async def test_resources_need_a_token(self, emulator: Emulator) -> None:
        async with aiohttp.ClientSession() as s, s.get(emulator.instance_url + "//services/data/v66.0") as r:
            assert r.status == 401 and (await r.json())[0]["errorCode"] == "INVALID_SESSION_ID"

    async def test_rest_serves_v31_on_but_bulk_jobs_start_at_v41(self, api: Api) -> None:
        assert (await get(api, "/services/data/v31.0/limits"))[0] == 200
        assert (await get(api, "/services/data/v30.0/limits"))[0] == 410
        status, body, _ = await get(api, "/services/data/v40.0/jobs/ingest")
        assert (status, body) == (404, NOT_FOUND)
        assert (await get(api, "/services/data/v41.0/jobs/ingest"))[0] == 200


class TestRecords:
    async def test_full_record_and_fields(self, api: Api) -> None:
        await api.load(CONTACTS, object="Contact", operation="insert")
        _, found, _ = await api.call("GET", "/query", params={"q": "SELECT Id FROM Contact ORDER BY Id"})
        rid = found["records"][0]["Id"]
        status, rec, _ = await get(api, f"/services/data/v62.0/sobjects/Contact/{rid}")
        assert status == 200
        assert list(rec)[:2] == ["attributes", "Id"]
        assert rec["attributes"] == {"type": "Contact", "url": f"/services/data/v62.0/sobjects/Contact/{rid}"}
        assert (rec["FirstName"], rec["LastName"], rec["Name"]) == ("Astro", "Nomical", "Astro Nomical")
        assert rec["IsDeleted"] is False and rec["OwnerId"] == api.emulator.org.admin_user_id
        assert rec["CreatedDate"].endswith("+0000") and rec["Email"] is None
        # fields= limits the answer to those (any case, given order), and the Id after them.
        status, some, _ = await get(
            api, f"//services/data/v51.0/sobjects/contact/{rid[:15]}", params={"fields": "lastname, Email"}
        )
        assert status == 200
        assert some == {
            "attributes": {"type": "Contact", "url": f"/services/data/v51.0/sobjects/Contact/{rid}"},
            "LastName": "Nomical",
            "Email": None,
            "Id": rid,
        }

    async def test_refusals(self, api: Api) -> None:
        info = await api.load(b"LastName\nGone\n", object="Contact", operation="insert")
        gone = (await api.results(info["id"], "successfulResults")).splitlines()[1].split(",")[0].strip('"')
        await api.load(f"Id\n{gone}\n".encode(), object="Contact", operation="delete")
        base = "/services/data/v62.0/sobjects"
        cases = {
            f"{base}/Contact/003000000000000AAA": (404, "NOT_FOUND", "The requested resource does not exist"),
            f"{base}/Nope__c/003000000000000AAA": (404, "NOT_FOUND", "The requested resource does not exist"),
            f"{base}/Contact/xyz": (
                404,
                "NOT_FOUND",
                "Provided external ID field does not exist or is not accessible: xyz",
            ),
            # An Account id on Contact is no id of Contact either.
            f"{base}/Contact/001000000000000AAA": (
                404,
                "NOT_FOUND",
                "Provided external ID field does not exist or is not accessible: 001000000000000AAA",
            ),
            f"{base}/Contact/{gone}": (404, "ENTITY_IS_DELETED", "entity is deleted"),
        }
        for path, (want_status, code, message) in cases.items():
            status, body, _ = await get(api, path)
            assert (status, body) == (want_status, [{"errorCode": code, "message": message}]), path
        status, body, _ = await get(api, f"{base}/User/{api.emulator.org.admin_user_id}?fields=Nope")
        assert status == 400 and body[0]["errorCode"] == "INVALID_FIELD"
        assert body[0]["message"].startswith("No such column 'Nope' on entity 'User'.")


class TestRunningUser:
    async def test_one_id_everywhere(self, api: Api, emulator: Emulator) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": emulator.config.oauth.client_id,
            "client_secret": emulator.config.oauth.client_secret,
        }
        async with aiohttp.ClientSession() as s:
            async with s.post(emulator.instance_url + "/services/oauth2/token", data=form) as r:
                token = await r.json()
            headers = {"Authorization": f"Bearer {token['access_token']}"}
            async with s.get(emulator.instance_url + "/services/oauth2/userinfo", headers=headers) as r:
                assert r.status == 200
                claims = await r.json()
        org_id, token_user = token["id"].rsplit("/", 2)[-2:]
        job = await api.create(object="Contact", operation="insert")
        _, users, _ = await api.call(
            "GET", "/query", params={"q": "SELECT Id FROM User WHERE Username = 'admin@emulator.example'"}
        )
        [row] = users["records"]
        assert token_user == claims["user_id"] == job["createdById"] == row["Id"]
        assert org_id == claims["organization_id"] == emulator.config.oauth.org_id
        assert token["access_token"].startswith(org_id[:15] + "!")
        # The CLI's next call: the User record, for its Username.
        status, user, _ = await get(api, f"/services/data/v51.0/sobjects/User/{claims['user_id']}")
        assert status == 200 and user["Username"] == claims["preferred_username"] == "admin@emulator.example"

    async def test_userinfo_claims(self, api: Api, emulator: Emulator) -> None:
        status, claims, _ = await get(api, "//services/oauth2/userinfo")
        assert status == 200
        base = emulator.instance_url
        user_id, org_id = emulator.org.admin_user_id, emulator.config.oauth.org_id
        assert list(claims)[:4] == ["sub", "user_id", "organization_id", "preferred_username"]
        assert claims["sub"] == f"{base}/id/{org_id}/{user_id}"
        assert (claims["name"], claims["given_name"], claims["family_name"]) == (
            "Emulator Admin",
            "Emulator",
            "Admin",
        )
        assert claims["email"] == "admin@emulator.example" and claims["email_verified"] is True
        assert claims["active"] is True and claims["user_type"] == "STANDARD"
        assert claims["urls"]["rest"] == f"{base}/services/data/v{{version}}/"
        assert claims["urls"]["enterprise"] == f"{base}/services/Soap/c/{{version}}/{org_id}"
        assert claims["updated_at"].endswith("Z") and len(claims["updated_at"]) == 20
        async with api.session.post(base + "/services/oauth2/userinfo") as r:
            assert r.status == 200 and (await r.json())["user_id"] == user_id

    async def test_userinfo_refusals_are_the_identity_service_s(self, emulator: Emulator) -> None:
        url = emulator.instance_url + "/services/oauth2/userinfo"
        async with aiohttp.ClientSession() as s:
            for headers, text in (
                ({}, "Missing_OAuth_Token"),
                ({"Authorization": "Bearer nope"}, "Bad_OAuth_Token"),
            ):
                async with s.get(url, headers=headers) as r:
                    assert (r.status, r.content_type, await r.text()) == (403, "text/plain", text)

    async def test_another_running_user(self) -> None:
        oauth = OAuthConfig(username="me@corp.example", org_id="00D5f000000ABCDEAA")
        async with (
            Emulator(EmulatorConfig(oauth=oauth)) as emulator,
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {emulator.access_token}"}) as s,
        ):
            api = Api(emulator, s)
            _, claims, _ = await get(api, "/services/oauth2/userinfo")
            job = await api.create(object="Account", operation="insert")
            assert claims["preferred_username"] == "me@corp.example"
            assert claims["user_id"] == job["createdById"] == emulator.org.admin_user_id
            assert claims["organization_id"] == "00D5f000000ABCDEAA"
            assert emulator.access_token.startswith("00D5f000000ABCD!")


class TestCreate:
    async def test_create_then_read_back(self, api: Api) -> None:
        url = api.emulator.instance_url + "/services/data/v62.0/sobjects/Contact/"
        body = {"LastName": "Rest", "FirstName": None, "DoNotCall": True, "Email": "rest@example.com"}
        async with api.session.post(url, json=body) as r:
            assert r.status == 201
            created = await r.json()
        assert list(created) == ["id", "success", "errors"] and created["success"] is True
        assert created["errors"] == [] and created["id"].startswith("003")
        status, rec, _ = await get(api, f"/services/data/v62.0/sobjects/Contact/{created['id']}")
        assert status == 200
        assert (rec["LastName"], rec["FirstName"], rec["DoNotCall"]) == ("Rest", None, True)
        assert rec["OwnerId"] == rec["CreatedById"] == api.emulator.org.admin_user_id

    async def test_create_refusals(self, api: Api) -> None:
        base = api.emulator.instance_url + "/services/data/v62.0/sobjects"
        cases: list[tuple[str, Any, int, list[dict[str, Any]]]] = [
            (
                "/Contact",
                {"FirstName": "No last name"},
                400,
                [
                    {
                        "message": "Required fields are missing: [LastName]",
                        "errorCode": "REQUIRED_FIELD_MISSING",
                        "fields": ["LastName"],
                    }
                ],
            ),
            (
                "/Contact",
                {"LastName": "X", "Nope__c": 1},
                400,
                [
                    {
                        "errorCode": "INVALID_FIELD",
                        "message": "No such column 'Nope__c' on sobject of type Contact",
                    }
                ],
            ),
            ("/Nope__c", {"Name": "X"}, 404, NOT_FOUND),
        ]
        for path, body, want_status, want in cases:
            async with api.session.post(base + path, json=body) as r:
                assert (r.status, await r.json()) == (want_status, want), path
        async with api.session.post(base + "/Contact", data=b"[1]") as r:
            assert r.status == 400 and (await r.json())[0]["errorCode"] == "JSON_PARSER_ERROR"
        assert api.emulator.org.count("Contact") == 0
