"""Helpers for the emulator's HTTP tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import aiohttp

from asyncbulk.emulator import Emulator

CONTACTS = b"FirstName,LastName,MailingCity\nAstro,Nomical,San Francisco\nHootie,McOwl,San Francisco\n"


def rows(text: str, delimiter: str = ",") -> list[list[str]]:
    """A CSV text's rows."""
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


class Api:
    """A thin aiohttp helper bound to one emulator: paths are relative to ``/services/data/v66.0``."""

    def __init__(self, emulator: Emulator, session: aiohttp.ClientSession) -> None:
        self.emulator = emulator
        self.session = session

    def url(self, path: str) -> str:
        return self.emulator.base_url + path

    async def call(self, method: str, path: str, **kw: Any) -> tuple[int, Any, aiohttp.ClientResponse]:
        async with self.session.request(method, self.url(path), **kw) as resp:
            raw = await resp.read()
            body: Any = raw
            if resp.content_type == "application/json" and raw:
                body = await resp.json()
            elif resp.content_type == "text/csv":
                body = raw.decode()
            return resp.status, body, resp

    async def create(self, **job: Any) -> dict[str, Any]:
        status, body, _ = await self.call("POST", "/jobs/ingest", json={"contentType": "CSV", **job})
        assert status == 200, body
        return dict(body)

    async def upload(self, job_id: str, data: bytes) -> None:
        status, body, _ = await self.call(
            "PUT", f"/jobs/ingest/{job_id}/batches", data=data, headers={"Content-Type": "text/csv"}
        )
        assert status == 201, body

    async def close(self, job_id: str) -> dict[str, Any]:
        status, body, _ = await self.call("PATCH", f"/jobs/ingest/{job_id}", json={"state": "UploadComplete"})
        assert status == 200, body
        return dict(body)

    async def info(self, job_id: str) -> dict[str, Any]:
        status, body, _ = await self.call("GET", f"/jobs/ingest/{job_id}")
        assert status == 200, body
        return dict(body)

    async def wait(self, job_id: str) -> dict[str, Any]:
        """Poll until the job is terminal (at most 10 s)."""
        async with asyncio.timeout(10):
            while True:
                info = await self.info(job_id)
                if info["state"] in ("JobComplete", "Failed", "Aborted"):
                    return info
                await asyncio.sleep(0.02)

    async def results(self, job_id: str, kind: str) -> str:
        status, body, _ = await self.call("GET", f"/jobs/ingest/{job_id}/{kind}/")
        assert status == 200, body
        return str(body)

    async def load(self, data: bytes, **job: Any) -> dict[str, Any]:
        """create + PUT + close + wait."""
        created = await self.create(**job)
        await self.upload(created["id"], data)
        await self.close(created["id"])
        return await self.wait(created["id"])


class QueryApi(Api):
    """:class:`Api` with helpers for Bulk API 2.0 query jobs."""

    async def query_job(self, soql: str, **job: Any) -> dict[str, Any]:
        """Create a query job (``operation`` defaults to ``query``); assert the 200."""
        body = {"operation": "query", "query": soql, **job}
        status, created, _ = await self.call("POST", "/jobs/query", json=body)
        assert status == 200, created
        return dict(created)

    async def wait_query(self, job_id: str) -> dict[str, Any]:
        """Poll until the query job is terminal (at most 10 s)."""
        async with asyncio.timeout(10):
            while True:
                status, info, _ = await self.call("GET", f"/jobs/query/{job_id}")
                assert status == 200, info
                if info["state"] in ("JobComplete", "Failed", "Aborted"):
                    return dict(info)
                await asyncio.sleep(0.01)

    async def page(
        self, job_id: str, locator: str | None = None, max_records: int | None = None, **kw: Any
    ) -> tuple[str, str, int]:
        """One results page: (body, next locator, Sforce-NumberOfRecords)."""
        params = {k: str(v) for k, v in (("locator", locator), ("maxRecords", max_records)) if v is not None}
        status, body, resp = await self.call("GET", f"/jobs/query/{job_id}/results", params=params, **kw)
        assert status == 200, body
        assert resp.headers["Content-Type"] == "text/csv; charset=UTF-8"
        return str(body), resp.headers["Sforce-Locator"], int(resp.headers["Sforce-NumberOfRecords"])

    async def pages(self, job_id: str, max_records: int | None = None) -> list[tuple[str, str, int]]:
        """Every page of the locator chain."""
        out = [await self.page(job_id, None, max_records)]
        while out[-1][1] != "null":
            out.append(await self.page(job_id, out[-1][1], max_records))
        return out

    async def extract(
        self, soql: str, max_records: int | None = None, **job: Any
    ) -> list[tuple[str, str, int]]:
        """create + wait + every page."""
        created = await self.query_job(soql, **job)
        info = await self.wait_query(created["id"])
        assert info["state"] == "JobComplete", info
        return await self.pages(created["id"], max_records)
