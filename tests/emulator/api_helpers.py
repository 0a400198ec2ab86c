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
