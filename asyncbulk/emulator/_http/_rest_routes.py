"""The REST resources beside the Bulk jobs: the versions list, limits, describe and query."""

from __future__ import annotations

import asyncio

from aiohttp import web

from .._data import QueryError
from .._ingest import ApiError, not_found
from .._vocab import DAILY_QUERY_FILE_STORAGE_MB, LATEST_VERSION, REST_VERSIONS
from ._state import state_of

__all__ = ["describe", "limits", "query", "query_all", "release_name", "versions"]


def release_name(version: str) -> str:
    """The release an API version belongs to: ``"66.0"`` -> ``"Spring '26"``."""
    # v66.0 is Spring '26; each earlier version steps back one release (Spring, Winter, Summer...).
    back = int(float(LATEST_VERSION)) - int(float(version))
    season = ("Spring", "Winter", "Summer")[back % 3]
    year = 26 - back // 3 - (1 if back % 3 == 2 else 0)
    return f"{season} '{year:02d}"


async def versions(request: web.Request) -> web.Response:
    """``GET /services/data/``: the supported versions (no auth, no usage header)."""
    return web.json_response(
        [{"label": release_name(v), "url": f"/services/data/v{v}", "version": v} for v in REST_VERSIONS]
    )


async def limits(request: web.Request) -> web.Response:
    """``GET limits``: the allocations in Salesforce's ``{"Max","Remaining"}`` shape.

    Usage is over the rolling 24 hours; in the realistic profile it lags behind, as "accurate
    within five minutes" (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_limits.htm).
    """
    state = state_of(request)
    cfg = state.config
    allocations = state.jobs.allocations
    api, batches, records = state.limits_view.read(
        (state.api_usage, allocations.batches_used, allocations.records_used)
    )
    return web.json_response(
        {
            "DailyApiRequests": {
                "Max": cfg.api_request_limit,
                "Remaining": cfg.api_request_limit - api,
            },
            "DailyBulkApiBatches": {
                "Max": cfg.daily_batch_limit,
                "Remaining": cfg.daily_batch_limit - batches,
            },
            # Not a real key: Salesforce publishes no records allocation in /limits; ours is here for tests.
            "DailyBulkApiRecords": {
                "Max": cfg.daily_record_limit,
                "Remaining": cfg.daily_record_limit - records,
            },
            "DailyBulkV2QueryJobs": {
                "Max": cfg.daily_query_job_limit,
                "Remaining": max(0, cfg.daily_query_job_limit - state.queries.created),
            },
            "DailyBulkV2QueryFileStorageMB": {
                "Max": DAILY_QUERY_FILE_STORAGE_MB,
                "Remaining": DAILY_QUERY_FILE_STORAGE_MB,
            },
        }
    )


async def describe(request: web.Request) -> web.Response:
    """``GET sobjects/{object}/describe``."""
    org = state_of(request).org
    info = await asyncio.to_thread(
        lambda: org.describe(request.match_info["object"], version=request.match_info["version"])
    )
    if info is None:
        raise not_found()
    return web.json_response(info)


async def _query(request: web.Request, include_deleted: bool) -> web.Response:
    soql = request.query.get("q")
    if not soql:
        raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
    org = state_of(request).org
    version = request.match_info["version"]
    try:
        if request.query.get("columns", "").lower() == "true":
            # The column metadata instead of the records (what `sf data query` asks for to lay out
            # its output; salesforcecli/plugin-data, src/commands/data/query.ts).
            return web.json_response(await asyncio.to_thread(org.query_columns, soql))
        answer = await asyncio.to_thread(
            lambda: org.query(soql, version=version, include_deleted=include_deleted)
        )
    except QueryError as exc:
        raise ApiError(400, exc.error_code, exc.message) from None
    return web.json_response(answer)


async def query(request: web.Request) -> web.Response:
    """``GET query?q=SOQL[&columns=true]`` (a subset of SOQL)."""
    return await _query(request, include_deleted=False)


async def query_all(request: web.Request) -> web.Response:
    """``GET queryAll?q=SOQL``: deleted records too ("QueryAll",
    https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_queryall.htm)."""
    return await _query(request, include_deleted=True)
