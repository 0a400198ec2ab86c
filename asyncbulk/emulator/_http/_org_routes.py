"""What clients ask an org before and around their Bulk jobs: who am I, what is here, one record.

- ``GET /services/data/vXX.X``: the resources of a version. The Salesforce CLI checks a session with
  it (``Connection.refreshAuth``) before ``sf org display`` and every page of ``sf data export bulk``.
- ``GET /services/oauth2/userinfo``: the OpenID Connect user of the token. ``sf org login
  access-token`` reads ``user_id`` and ``organization_id`` there, then the User record's
  ``Username`` from the next resource.
- ``GET /services/data/vXX.X/sobjects/{object}/{id}[?fields=A,B]``: one record (``sf data get
  record``, aiosalesforce's ``sobject.get``); ``POST .../sobjects/{object}`` creates one
  (aiosalesforce's ``sobject.create``), through the same checks as a Bulk insert.

Every id here is the running user's (:attr:`EmulatorState.user_id`), as in token responses and
every job's ``createdById``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from .._data import JobSpec, RecordError
from .._ingest import ApiError
from .._vocab import API_VERSIONS, Operation
from ._body import parse_json_object
from ._oauth import bearer_token
from ._state import EmulatorState, state_of

__all__ = ["create_record", "resources", "sobject_record", "userinfo"]

# The resources of "List Available REST Resources", in its example's order
# (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_discoveryresource.htm).
# Most are not served by the emulator; a client that follows one gets a 404, as for any resource an
# org's edition or licences lack.
_RESOURCES = (
    "tooling",
    "metadata",
    "eclair",
    "folders",
    "prechatForms",
    "contact-tracing",
    "jsonxform",
    "chatter",
    "payments",
    "tabs",
    "appMenu",
    "quickActions",
    "queryAll",
    "commerce",
    "wave",
    "iot",
    "analytics",
    "search",
    "smartdatadiscovery",
    "identity",
    "composite",
    "parameterizedSearch",
    "fingerprint",
    "theme",
    "nouns",
    "domino",
    "event",
    "serviceTemplates",
    "recent",
    "connect",
    "licensing",
    "limits",
    "process",
    "dedupe",
    "async-queries",
    "query",
    "jobs",
    "match",
    "localizedvalue",
    "mobile",
    "emailConnect",
    "consent",
    "tokenizer",
    "compactLayouts",
    "knowledgeManagement",
    "sobjects",
    "actions",
    "support",
)


def _identity_url(state: EmulatorState) -> str:
    return f"{state.instance_url().rstrip('/')}/id/{state.config.oauth.org_id}/{state.user_id}"


async def resources(request: web.Request) -> web.Response:
    """``GET /services/data/vXX.X``: resource name -> URL in the version asked for."""
    state = state_of(request)
    version = request.match_info["version"]
    out: dict[str, str] = {}
    for name in _RESOURCES:
        if name == "identity":
            out[name] = _identity_url(state)
        elif name != "jobs" or version in API_VERSIONS:
            out[name] = f"/services/data/v{version}/{name}"
    return web.json_response(out)


def _record_error(exc: RecordError) -> ApiError:
    return ApiError(400 if exc.error_code == "INVALID_FIELD" else 404, exc.error_code, exc.message)


async def sobject_record(request: web.Request) -> web.Response:
    """``GET sobjects/{object}/{id}``: the record's fields after its ``attributes``."""
    org = state_of(request).org
    version = request.match_info["version"]
    fields_param = request.query.get("fields", "")
    fields = [f.strip() for f in fields_param.split(",") if f.strip()] or None
    try:
        name, values = await asyncio.to_thread(
            org.record, request.match_info["object"], request.match_info["record_id"], fields
        )
    except RecordError as exc:
        raise _record_error(exc) from None
    url = f"/services/data/v{version}/sobjects/{name}/{values['Id']}"
    return web.json_response({"attributes": {"type": name, "url": url}, **values})


def _cell(value: Any) -> str:
    # A JSON value as the CSV cell a Bulk insert would carry: null leaves the field empty.
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise ApiError(400, "JSON_PARSER_ERROR", f"Cannot deserialize a field value from {type(value).__name__}")


def _rest_errors(bulk_error: str) -> list[dict[str, Any]]:
    # A Bulk sf__Error "CODE:message:Field1 Field2 --" as the REST API's error entry.
    code, _, rest = bulk_error.partition(":")
    message, _, fields = rest.rpartition(":")
    return [{"message": message, "errorCode": code, "fields": fields.removesuffix("--").split()}]


async def create_record(request: web.Request) -> web.Response:
    """``POST sobjects/{object}``: 201 ``{"id", "success": true, "errors": []}`` or the field errors.

    "Create a Record",
    https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_sobject_create.htm.
    """
    org = state_of(request).org
    obj = org.schema.get(request.match_info["object"])
    if obj is None:
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    body = parse_json_object(await request.read())
    for name in body:
        if obj.field(name) is None:
            raise ApiError(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}")
    header = list(body)
    spec = JobSpec(obj.name, Operation.INSERT)
    refused = org.check_header(spec, header)
    if refused is not None:
        raise ApiError(400, "INVALID_FIELD", refused)
    columns = [[_cell(value)] for value in body.values()]
    [result] = await asyncio.to_thread(org.apply, spec, header, columns)
    if not result.ok:
        return web.json_response(_rest_errors(result.error), status=400)
    return web.json_response({"id": result.sf_id, "success": True, "errors": []}, status=201)


def _forbidden(text: str) -> web.Response:
    # The identity service answers a token it does not accept with a 403 and one word of plain
    # text, where the data API answers 401 INVALID_SESSION_ID (the Salesforce extension for VS Code
    # reports "Bad_OAuth_Token" from `sf org login access-token` for a stale session id).
    return web.Response(status=403, text=text, content_type="text/plain")


async def userinfo(request: web.Request) -> web.Response:
    """``GET /services/oauth2/userinfo``: the token's user as OpenID Connect claims.

    The claims and their order are those of Salesforce's UserInfo endpoint ("Query for User
    Information", https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_using_userinfo_endpoint.htm);
    the URLs keep the ``{version}`` placeholder, as real answers do.
    """
    state = state_of(request)
    token = bearer_token(request)
    if token is None:
        return _forbidden("Missing_OAuth_Token")
    user_id = state.tokens.user_of(token)
    if user_id is None:
        return _forbidden("Bad_OAuth_Token")
    try:
        _, user = await asyncio.to_thread(state.org.record, "User", user_id)
    except RecordError:
        return _forbidden("Bad_OAuth_Token")
    return web.json_response(_claims(state, user_id, user))


def _claims(state: EmulatorState, user_id: str, user: dict[str, Any]) -> dict[str, Any]:
    base = state.instance_url().rstrip("/")
    org_id = state.config.oauth.org_id
    data = f"{base}/services/data/v{{version}}"
    photo = f"{base}/profilephoto/005/"
    modified = str(user.get("LastModifiedDate") or "")
    return {
        "sub": _identity_url(state),
        "user_id": user_id,
        "organization_id": org_id,
        "preferred_username": user["Username"],
        "nickname": user.get("Alias"),
        "name": user.get("Name"),
        "email": user.get("Email"),
        "email_verified": True,
        "given_name": user.get("FirstName"),
        "family_name": user.get("LastName"),
        "zoneinfo": "America/Los_Angeles",
        "photos": {"picture": photo + "F", "thumbnail": photo + "T"},
        "profile": f"{base}/{user_id}",
        "picture": photo + "F",
        "address": {},
        "is_salesforce_integration_user": False,
        "urls": {
            "enterprise": f"{base}/services/Soap/c/{{version}}/{org_id}",
            "metadata": f"{base}/services/Soap/m/{{version}}/{org_id}",
            "partner": f"{base}/services/Soap/u/{{version}}/{org_id}",
            "rest": f"{data}/",
            "sobjects": f"{data}/sobjects/",
            "search": f"{data}/search/",
            "query": f"{data}/query/",
            "recent": f"{data}/recent/",
            "tooling_soap": f"{base}/services/Soap/T/{{version}}/{org_id}",
            "tooling_rest": f"{data}/tooling/",
            "profile": f"{base}/{user_id}",
            "feeds": f"{data}/chatter/feeds",
            "groups": f"{data}/chatter/groups",
            "users": f"{data}/chatter/users",
            "feed_items": f"{data}/chatter/feed-items",
            "feed_elements": f"{data}/chatter/feed-elements",
            "custom_domain": base,
        },
        "active": bool(user.get("IsActive", True)),
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": -28800000,
        # "2026-01-02T03:04:05Z": the record's LastModifiedDate without milliseconds and offset.
        "updated_at": modified[:19] + "Z" if modified else None,
        "is_app_installed": True,
    }
