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
        assert limits["DailyApiRequests"]["Max"] == 15_000_000
        assert limits["DailyApiRequests"]["Remaining"] == 15_000_000 - emulator.stats()["api_usage"]
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
