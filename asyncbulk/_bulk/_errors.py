"""Salesforce's error answers and aiohttp's exceptions, mapped to asyncbulk's exceptions.

The one translation table (as httpx's ``map_httpcore_exceptions``): what an error response or a
failed connection becomes, with the server's own text and where it happened.
"""

from __future__ import annotations

import re
import socket
from urllib.parse import urlsplit

import aiohttp
import orjson

from .._exceptions import (
    ApiError,
    AuthenticationError,
    InvalidJobStateError,
    NotFoundError,
    RequestLimitError,
)

__all__ = ["api_error_from", "describe_exception", "is_name_error", "origin", "parse_limit_info", "where"]

_LIMIT_INFO = re.compile(r"(?:^|[;,\s])api-usage=(\d+)/(\d+)")


def parse_limit_info(value: str | None) -> tuple[int, int] | None:
    """``(used, max)`` from a ``Sforce-Limit-Info`` header such as ``api-usage=25/15000``.

    Other parts (``api-bursts=1/750``, ``per-app-api-usage=17/250(appName=...)``, see "Limit Info
    Header", https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm)
    are ignored; ``per-app-api-usage`` is not mistaken for ``api-usage``.
    """
    if not value:
        return None
    match = _LIMIT_INFO.search(value)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


def origin(url: str) -> tuple[str, str, int | None]:
    """The scheme, host and port of ``url`` (the port made explicit)."""
    parts = urlsplit(url)
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _snippet(raw: bytes, limit: int = 300) -> str:
    text = raw.decode("utf-8", "replace").strip()
    return text if len(text) <= limit else text[:limit] + "..."


async def api_error_from(
    response: aiohttp.ClientResponse, method: str, path: str, job_id: str | None
) -> ApiError:
    """Map an error response to the most specific :class:`ApiError`, with the server's own text."""
    status = response.status
    raw = await response.read()
    code: str | None = None
    message = ""
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        body = None
    # Salesforce: a JSON array of {"errorCode", "message"[, "fields"]} ("Status Codes and Error
    # Responses", https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm);
    # the OAuth endpoint and some gateways use {"error", "error_description"}.
    if isinstance(body, list) and body and all(isinstance(item, dict) for item in body):
        code = str(body[0].get("errorCode") or "") or None
        message = "; ".join(str(item.get("message", "")) for item in body if item.get("message"))
    elif isinstance(body, dict):
        code = str(body.get("errorCode") or body.get("error") or "") or None
        message = str(body.get("message") or body.get("error_description") or "")
    if not message:
        message = _snippet(raw) if raw else (response.reason or "no error text")
    cls: type[ApiError] = ApiError
    if status == 401 or code == "INVALID_SESSION_ID":
        cls = AuthenticationError
        message = (
            f"{message} -- the access token expired or is invalid; get a new token, or use a "
            "refreshable auth method (JWT bearer, client credentials, refresh token, --target-org)"
        )
    elif code == "REQUEST_LIMIT_EXCEEDED":
        cls = RequestLimitError
        if "concurrent" not in message.lower():
            message = (
                f"{message} -- the org's API request allocation for the rolling 24 hours is used up; "
                "wait for it to recover or ask Salesforce for a higher limit"
            )
    elif status == 404 or code == "NOT_FOUND":
        cls = NotFoundError
    elif code is not None and code.replace("_", "").upper() == "INVALIDJOBSTATE":
        cls = InvalidJobStateError
    return cls(status, code, message, method=method, path=path, job_id=job_id)


def where(method: str, path: str, job_id: str | None) -> str:
    """``GET /services/... (job 750...)``: where an error happened."""
    return f"{method} {path}" + (f" (job {job_id})" if job_id else "")


def is_name_error(exc: BaseException) -> bool:
    """A host name that does not resolve: a wrong URL, not an outage (before the first contact)."""
    os_error = getattr(exc, "os_error", None)
    return isinstance(os_error, socket.gaierror)


def describe_exception(exc: BaseException, timeout: aiohttp.ClientTimeout) -> str:
    """A user's sentence for a failed connection or a timeout."""
    if isinstance(exc, aiohttp.ClientSSLError):
        return f"TLS failed: {exc}; pass ca_file= or ssl_context= to trust the server's certificate"
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        return f"could not connect: {exc}"
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout.sock_read}s"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection without answering"
    return f"{type(exc).__name__}: {exc}"
