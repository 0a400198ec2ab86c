"""Request bodies, read the way a front end must: capped, with a timeout, never trusted.

A body is refused by its ``Content-Length`` before a byte of it is read, or as soon as a chunked
one passes the cap; a body that stops arriving times out; one that cannot be decoded (a bad
``Content-Encoding``, a connection closed halfway) is a client error, never a server fault.
Handlers stream uploads chunk by chunk (:func:`body_chunks`) and read small bodies whole
(:func:`read_body`), and JSON bodies are parsed by :func:`parse_json_object`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import http_exceptions, web

from .._ingest import ApiError

__all__ = ["CHUNK", "SMALL_BODY", "body_chunks", "parse_json_object", "read_body", "too_large"]

#: Bytes gathered before an upload chunk is handed on.
CHUNK = 1 << 20
#: The cap of a JSON (or form) body: job bodies are a few hundred bytes.
SMALL_BODY = 1 << 20


def too_large(limit: int) -> ApiError:
    """The answer to a body over ``limit`` (the connection is closed after it)."""
    # Salesforce's text for an oversized request body is not documented.
    return ApiError(
        413,
        "REQUEST_ENTITY_TOO_LARGE",
        f"The request body exceeds the maximum size of {limit} bytes",
        close=True,
    )


async def body_chunks(
    request: web.Request,
    limit: int,
    *,
    idle: float,
    refuse: Callable[[], ApiError] | None = None,
) -> AsyncIterator[bytes]:
    """The body in chunks of about :data:`CHUNK` bytes, at most ``limit`` bytes in all.

    :param idle: seconds the body may pause before it is given up (408).
    :param refuse: the answer to a body over the limit (:func:`too_large` if ``None``).
    :raises ApiError: over the limit, too slow, or undecodable.
    """
    refusal = refuse or (lambda: too_large(limit))
    if request.content_length is not None and request.content_length > limit:
        raise refusal()
    size = 0
    buffer = bytearray()
    while True:
        try:
            async with asyncio.timeout(idle):
                data = await request.content.readany()
        except TimeoutError:
            raise ApiError(
                408, "REQUEST_TIMEOUT", "The request body did not arrive in time", close=True
            ) from None
        except (http_exceptions.HttpProcessingError, web.RequestPayloadError, ConnectionError) as exc:
            # A bad Content-Encoding, a truncated or malformed chunked body, a reset connection.
            raise ApiError(
                400, "API_ERROR", f"The request body could not be read: {type(exc).__name__}", close=True
            ) from None
        if not data:
            break
        size += len(data)
        if size > limit:
            raise refusal()
        buffer += data
        if len(buffer) >= CHUNK:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


async def read_body(request: web.Request, limit: int = SMALL_BODY, *, idle: float) -> bytes:
    """The whole body (a small one: JSON, a form, a multipart create)."""
    return b"".join([chunk async for chunk in body_chunks(request, limit, idle=idle)])


def _scalar_text(value: Any) -> Any:
    # Jackson (Salesforce's JSON binding) turns a JSON number or boolean into the string it spells.
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return value


def parse_json_object(raw: bytes, *, strings: tuple[str, ...] = ()) -> dict[str, Any]:
    """A JSON object body, or 400 ``JSON_PARSER_ERROR`` naming line and column as Salesforce does.

    :param strings: properties that are strings in Salesforce's binding: a number or boolean there
        becomes its text, an array or object is refused (Jackson's "Cannot deserialize" wording).
    """
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ApiError(
            400, "JSON_PARSER_ERROR", f"{exc.msg} at [line:{exc.lineno}, column:{exc.colno}]"
        ) from None
    except (ValueError, RecursionError) as exc:
        # Invalid UTF-8, a number too long to read, nesting too deep.
        reason = "Nesting too deep" if isinstance(exc, RecursionError) else str(exc).split(":")[0]
        raise ApiError(400, "JSON_PARSER_ERROR", f"{reason} at [line:1, column:1]") from None
    if not isinstance(body, dict):
        raise ApiError(
            400, "JSON_PARSER_ERROR", "Cannot deserialize instance of JobInfo from a non-object JSON value"
        )
    for name in strings:
        if name not in body:
            continue
        value = body[name]
        if isinstance(value, list | dict):
            token = "START_ARRAY" if isinstance(value, list) else "START_OBJECT"
            raise ApiError(
                400,
                "JSON_PARSER_ERROR",
                f"Cannot deserialize instance of `java.lang.String` out of {token} token",
            )
        body[name] = _scalar_text(value)
    return body
