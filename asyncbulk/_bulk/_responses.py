"""Reading successful responses: JSON objects and job info, or a clear error when they are not."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson

from .._exceptions import ApiError
from ._jobinfo import JobInfo

__all__ = ["JsonDict", "ignore", "read_job_info", "read_json"]

JsonDict = dict[str, Any]


async def read_json(response: aiohttp.ClientResponse) -> JsonDict:
    """A response's JSON object, or an ``INVALID_RESPONSE`` error saying what came instead."""
    raw = await response.read()
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ApiError(
            response.status,
            "INVALID_RESPONSE",
            f"expected JSON, got {response.content_type}: {_snippet(raw)}",
            method=response.method,
            path=response.url.path,
        ) from None
    if not isinstance(value, dict):
        raise ApiError(
            response.status,
            "INVALID_RESPONSE",
            f"expected a JSON object, got {type(value).__name__}",
            method=response.method,
            path=response.url.path,
        )
    return value


async def read_job_info(response: aiohttp.ClientResponse) -> JobInfo:
    """A response's job info, parsed."""
    data = await read_json(response)
    if not data.get("id"):
        raise ApiError(
            response.status,
            "INVALID_RESPONSE",
            "expected job info, got a JSON object without an id",
            method=response.method,
            path=response.url.path,
        )
    return JobInfo.parse(data)


async def ignore(response: aiohttp.ClientResponse) -> None:
    """Read and drop a response's body (a 201 or 204)."""
    await response.read()


def _snippet(raw: bytes, limit: int = 300) -> str:
    text = raw.decode("utf-8", "replace").strip()
    return text if len(text) <= limit else text[:limit] + "..."
