"""What the client sends: file ranges streamed as upload bodies, the job body, the multipart body."""

from __future__ import annotations

import os
import zlib
from collections.abc import AsyncIterable
from dataclasses import dataclass
from typing import IO, Any

import anyio
import anyio.to_thread

from .._config import ColumnDelimiter, LineEnding, Operation

__all__ = ["FileRange", "RangeStream", "UploadData", "job_body", "multipart_body"]


@dataclass(frozen=True)
class FileRange:
    """Bytes ``start`` to ``end`` (exclusive) of a file, sent after ``prefix`` (e.g. the CSV header).

    Unlike a bare async iterable, a file range can be read again, so an upload of one can be
    retried; it is streamed, never read whole into memory.

    :param path: the file.
    :param start: the first byte.
    :param end: the byte after the last one.
    :param prefix: bytes sent before the range.
    :param chunk_size: bytes per read.
    """

    path: str | os.PathLike[str]
    start: int
    end: int
    prefix: bytes = b""
    #: 256 KB: up to ten uploads stream at once, each holding a read and its TLS copy; 1 MB reads
    #: cost about 10 MB more peak RSS in a 1,000,000-row load, for no speed.
    chunk_size: int = 1 << 18

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"FileRange needs 0 <= start <= end, got {self.start}..{self.end}")

    @property
    def size(self) -> int:
        """Bytes this range sends, prefix included."""
        return len(self.prefix) + self.end - self.start

    def chunks(self, limiter: anyio.CapacityLimiter | None = None) -> RangeStream:
        """The prefix, then the range in chunks of at most ``chunk_size`` bytes (a fresh stream).

        :param limiter: the worker threads the file reads may use (anyio's default otherwise).
        """
        return RangeStream(self, limiter)


class RangeStream:
    """Streams a :class:`FileRange`; closing it is safe at any moment.

    An async generator would do, but aiohttp may still be iterating it (in its writer task) when
    a dropped connection makes the request fail, and ``aclose()`` on a running generator raises.
    This stream just closes its file; a read already under way then ends the writer with an error
    nobody waits for.

    It keeps the Adler-32 of the range's bytes (the prefix excluded) as they go by, so the caller
    can check, after the upload, that what was sent is what was planned: :attr:`checksum` is set
    once the whole range was read.
    """

    def __init__(self, source: FileRange, limiter: anyio.CapacityLimiter | None = None) -> None:
        self._source = source
        self._limiter = limiter
        self._left = source.end - source.start
        self._prefix: bytes | None = source.prefix or None
        self._file: IO[bytes] | None = None
        self._closed = False
        self._running = 1
        #: Adler-32 of the range's bytes, once all were read (``None`` before).
        self.checksum: int | None = None

    def __aiter__(self) -> RangeStream:
        return self

    async def __anext__(self) -> bytes:
        if self._prefix is not None:
            prefix, self._prefix = self._prefix, None
            return prefix
        if self._closed or self._left <= 0:
            if self._left <= 0 and not self._closed:
                self.checksum = self._running
            await self.aclose()
            raise StopAsyncIteration
        if self._file is None:
            self._file = await anyio.to_thread.run_sync(open, self._source.path, "rb", limiter=self._limiter)
            await anyio.to_thread.run_sync(self._file.seek, self._source.start, limiter=self._limiter)
        size = min(self._source.chunk_size, self._left)
        chunk = await anyio.to_thread.run_sync(self._file.read, size, limiter=self._limiter)
        if not chunk:
            await self.aclose()
            raise OSError(f"{self._source.path}: file ended {self._left} bytes before the range did")
        self._left -= len(chunk)
        self._running = zlib.adler32(chunk, self._running)
        return chunk

    async def aclose(self) -> None:
        """Stop streaming and close the file (idempotent)."""
        self._closed = True
        if self._file is not None:
            self._file.close()
            self._file = None


#: What :meth:`BulkClient.upload` sends. A bare async iterable can be read once only, so its
#: upload is retried only when the connection failed before anything was sent.
UploadData = bytes | FileRange | AsyncIterable[bytes]


def job_body(
    object_name: str,
    operation: Operation | str,
    external_id_field: str | None,
    column_delimiter: ColumnDelimiter | str,
    line_ending: LineEnding | str,
    assignment_rule_id: str | None,
) -> dict[str, Any]:
    """The JSON body of an ingest job create request."""
    op = Operation.parse(operation)
    body: dict[str, Any] = {
        "object": object_name,
        "contentType": "CSV",
        "operation": op.value,
        "lineEnding": LineEnding.parse(line_ending).value,
        "columnDelimiter": ColumnDelimiter.parse(column_delimiter).value,
    }
    if external_id_field:
        body["externalIdFieldName"] = external_id_field
    elif op is Operation.UPSERT:
        raise ValueError("external_id_field is required for upsert")
    if assignment_rule_id:
        body["assignmentRuleId"] = assignment_rule_id
    return body


def multipart_body(boundary: str, job: bytes, data: bytes) -> bytes:
    """The multipart body as the Bulk API 2.0 docs show it (job part, then content part).

    https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/walkthrough_upload_multipart_data.htm
    """
    b = boundary.encode()
    return b"".join(
        (
            b"--" + b + b"\r\n",
            b"Content-Type: application/json\r\n",
            b'Content-Disposition: form-data; name="job"\r\n\r\n',
            job,
            b"\r\n--" + b + b"\r\n",
            b"Content-Type: text/csv\r\n",
            b'Content-Disposition: form-data; name="content"; filename="content"\r\n\r\n',
            data,
            b"\r\n--" + b + b"--\r\n",
        )
    )
