"""The body of a multipart create request, read as Salesforce's own documentation writes one.

The documented request file ("Walkthrough for Bulk Insert With a Multipart Request",
https://developer.salesforce.com/docs/atlas.en-us.250.0.api_asynch.meta/api_asynch/walkthrough_upload_multipart_data.htm)
has LF line breaks, not the CRLF of RFC 2046, and is sent as is with ``curl --data-binary``:
both are accepted here (aiohttp's reader takes only CRLF). The line break before a boundary
belongs to the boundary; parts are ``job`` (JSON) and ``content`` (CSV).
"""

from __future__ import annotations

import re

from .._ingest import ApiError

__all__ = ["multipart_boundary", "multipart_parts"]

_BOUNDARY = re.compile(r'boundary=(?:"([^"]*)"|([^;\s]+))', re.IGNORECASE)
_NAME = re.compile(rb'(?:^|;)\s*name\s*=\s*(?:"([^"]*)"|([^;\s]+))', re.IGNORECASE)


def _malformed(reason: str) -> ApiError:
    # Salesforce's answer to a malformed multipart body is not documented.
    return ApiError(400, "API_ERROR", f"Malformed multipart request: {reason}")


def multipart_boundary(content_type: str) -> str:
    """The boundary of a ``multipart/form-data`` Content-Type header (quoted or not)."""
    m = _BOUNDARY.search(content_type)
    boundary = (m.group(1) or m.group(2)) if m else None
    if not boundary or len(boundary) > 200:
        raise _malformed("no boundary")
    return boundary


def multipart_parts(body: bytes, boundary: str) -> dict[str, bytes]:
    """The parts of a multipart body by their ``name``; the first part of each name wins.

    :raises ApiError: 400 if the body has no closing boundary or a part has no headers.
    """
    delimiter = re.compile(rb"(?:\A|\r?\n)--" + re.escape(boundary.encode()) + rb"(--)?[ \t]*(?:\r?\n|\Z)")
    parts: dict[str, bytes] = {}
    start: int | None = None
    closed = False
    for m in delimiter.finditer(body):
        if start is not None:
            _add_part(parts, body[start : m.start()])
        if m.group(1):
            closed = True
            break
        start = m.end()
    if not closed:
        raise _malformed("no closing boundary")
    return parts


def _add_part(parts: dict[str, bytes], raw: bytes) -> None:
    crlf, lf = raw.find(b"\r\n\r\n"), raw.find(b"\n\n")
    if crlf < 0 and lf < 0:
        raise _malformed("a part without headers")
    if lf < 0 or (0 <= crlf < lf):
        head, content = raw[:crlf], raw[crlf + 4 :]
    else:
        head, content = raw[:lf], raw[lf + 2 :]
    name = None
    for line in head.splitlines():
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-disposition":
            m = _NAME.search(value)
            if m:
                name = (m.group(1) or m.group(2)).decode("utf-8", "replace")
    if name is not None and name not in parts:
        parts[name] = content
