"""The emulator's aiohttp application: the route table, startup and cleanup."""

from __future__ import annotations

from aiohttp import web

from . import _ingest_routes as ingest
from . import _org_routes as org
from . import _query_routes as queries
from . import _rest_routes as rest
from ._body import SMALL_BODY
from ._front_door import add_limit_header, salesforce_front_door
from ._oauth import oauth_routes
from ._paths import LeadingSlashes
from ._state import STATE_KEY, EmulatorState
from ._test_routes import emulator_routes

__all__ = ["build_app"]


def build_app(state: EmulatorState) -> web.Application:
    """The aiohttp application over a prepared :class:`EmulatorState`.

    Route names are the request kinds counted in ``stats()["requests_by_kind"]``.

    :raises ValueError: if the OAuth configuration's JWT key is not an RSA public key or certificate.
    """
    # Uploads are streamed with their own cap; every other body is small, and read with this one.
    app = web.Application(
        middlewares=[state.connections.middleware, salesforce_front_door], client_max_size=SMALL_BODY
    )
    app[STATE_KEY] = state
    app.on_response_prepare.append(add_limit_header)
    base = r"/services/data/v{version:\d+\.\d+}"
    jobs = base + "/jobs/ingest"
    job = jobs + "/{job_id:[0-9A-Za-z]+}"
    result_kinds = "|".join(ingest.RESULT_PATHS)
    query_jobs = base + "/jobs/query"
    query_job = query_jobs + "/{job_id:[0-9A-Za-z]+}"
    app.add_routes(
        [
            web.get("/services/data", rest.versions, name="versions"),
            web.get("/services/data/", rest.versions, name="versions_slash"),
            web.get(base + "{slash:/?}", org.resources, name="resources"),
            web.post(jobs + "{slash:/?}", ingest.create_job, name="create"),
            web.get(jobs + "{slash:/?}", ingest.list_jobs, name="job_list"),
            web.get(job + "{slash:/?}", ingest.job_info, name="job_info"),
            web.patch(job + "{slash:/?}", ingest.set_state, name="state"),
            web.delete(job + "{slash:/?}", ingest.delete_job, name="delete"),
            web.put(job + "/batches{slash:/?}", ingest.upload, name="upload"),
            web.get(job + "/{kind:" + result_kinds + "}{slash:/?}", ingest.results, name="results"),
            web.get(base + "/limits{slash:/?}", rest.limits, name="limits"),
            web.get(base + "/sobjects/{object}/describe{slash:/?}", rest.describe, name="describe"),
            web.get(base + "/sobjects/{object}/{record_id}{slash:/?}", org.sobject_record, name="record"),
            web.post(base + "/sobjects/{object}{slash:/?}", org.create_record, name="record_create"),
            web.get(base + "/query{slash:/?}", rest.query, name="query"),
            web.get(base + "/queryAll{slash:/?}", rest.query_all, name="query_all"),
            web.post(query_jobs + "{slash:/?}", queries.create_job, name="query_create"),
            web.get(query_jobs + "{slash:/?}", queries.list_jobs, name="query_list"),
            web.get(query_job + "{slash:/?}", queries.job_info, name="query_info"),
            web.patch(query_job + "{slash:/?}", queries.abort_job, name="query_abort"),
            web.delete(query_job + "{slash:/?}", queries.delete_job, name="query_delete"),
            web.get(query_job + "/results{slash:/?}", queries.results, name="query_results"),
            # The guide's example spells the next group's URL "resultpages".
            web.get(
                query_job + "/{pages:resultPages|resultpages}{slash:/?}",
                queries.result_pages,
                name="query_pages",
            ),
            *emulator_routes(),
            web.get("/services/oauth2/userinfo", org.userinfo, name="userinfo"),
            web.post("/services/oauth2/userinfo", org.userinfo, name="userinfo_post"),
            *oauth_routes(state.tokens, state.config, instance_url=state.instance_url, user_id=state.user_id),
        ]
    )

    async def start_jobs(app: web.Application) -> None:
        await state.jobs.start()
        await state.queries.start()

    async def stop_jobs(app: web.Application) -> None:
        await state.queries.close()
        await state.jobs.close()

    # Last: it is tried only for paths nothing else matches.
    app.router.register_resource(LeadingSlashes(app.router))

    app.on_startup.append(start_jobs)
    app.on_cleanup.append(stop_jobs)
    return app
