"""The REST routes beside the jobs over real loopback HTTP: limits, describe, query."""

from __future__ import annotations

import aiohttp
from api_helpers import CONTACTS, Api

from asyncbulk.emulator import Emulator, EmulatorConfig


async def test_limits_and_batch_accounting() -> None:
    async with (
        Emulator(EmulatorConfig(batch_size=2, workers=2)) as emulator,
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {emulator.access_token}"}) as s,
    ):
        api = Api(emulator, s)
        data = b"LastName\n" + b"".join(b"L%d\n" % i for i in range(5))
        info = await api.load(data, object="Contact", operation="insert")
        assert info["numberRecordsProcessed"] == 5
        _, limits, _ = await api.call("GET", "/limits")
        assert limits["DailyBulkApiBatches"] == {"Max": 15000, "Remaining": 15000 - 3}
        assert limits["DailyBulkApiRecords"]["Remaining"] == 150_000_000 - 5
        assert limits["DailyApiRequests"]["Max"] == 100_000
        assert limits["DailyApiRequests"]["Remaining"] == 100_000 - emulator.stats()["api_usage"]
        assert emulator.stats()["batches_used"] == 3


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


async def test_query_extras_the_cli_uses(api: Api) -> None:
    info = await api.load(CONTACTS, object="Contact", operation="insert")
    assert info["numberRecordsProcessed"] == 2
    base = api.emulator.instance_url + "/services/data"
    async with api.session.get(
        f"{base}/v51.0/query", params={"q": "SELECT Id, Owner.Name FROM Contact"}
    ) as resp:
        records = (await resp.json())["records"]
    assert records[0]["attributes"]["url"].startswith("/services/data/v51.0/sobjects/Contact/")
    assert records[0]["Owner"]["Name"] == "Emulator Admin"
    status, meta, _ = await api.call(
        "GET", "/query", params={"q": "SELECT Id, Owner.Name FROM Contact", "columns": "true"}
    )
    assert status == 200 and "records" not in meta
    assert [c["columnName"] for c in meta["columnMetadata"]] == ["Id", "Owner"]
    assert meta["columnMetadata"][1]["joinColumns"][0]["columnName"] == "Name"
    soql = (
        "SELECT Name, InstanceName, IsSandbox, TrialExpirationDate, NamespacePrefix, OrganizationType "
        "FROM Organization"
    )
    status, org, _ = await api.call("GET", "/query", params={"q": soql})
    assert status == 200 and org["totalSize"] == 1
    assert org["records"][0]["attributes"]["url"].endswith(api.emulator.config.oauth.org_id)
    async with api.session.get(f"{base}/v60.0/sobjects/Contact/describe") as resp:
        assert (await resp.json())["urls"]["describe"] == "/services/data/v60.0/sobjects/Contact/describe"


async def test_query_all_returns_deleted_records(api: Api) -> None:
    await api.load(CONTACTS, object="Contact", operation="insert")
    _, live, _ = await api.call("GET", "/query", params={"q": "SELECT Id FROM Contact"})
    gone = live["records"][0]["Id"]
    await api.load(f"Id\n{gone}\n".encode(), object="Contact", operation="delete")
    _, after, _ = await api.call("GET", "/query", params={"q": "SELECT Id FROM Contact"})
    status, every, _ = await api.call("GET", "/queryAll", params={"q": "SELECT Id, IsDeleted FROM Contact"})
    assert after["totalSize"] == 1 and status == 200 and every["totalSize"] == 2
    assert {r["Id"]: r["IsDeleted"] for r in every["records"]}[gone] is True
