"""The top-level functions: :func:`load` and :func:`extract`, each over a :class:`Connection` of its own."""

from __future__ import annotations

import os
from typing import Literal, overload

from .._auth import Auth
from .._config import (
    ChunkConfig,
    ColumnDelimiter,
    ConcurrencyConfig,
    LineEnding,
    Operation,
    PollConfig,
    RetryConfig,
)
from .._options import BadRows, Query
from .._progress import ProgressCallback
from .._result import ExtractResult, LoadPlan, LoadResult
from ._connection import DEFAULT_OUT, Connection
from ._prepare import Source

__all__ = ["extract", "load"]


@overload
async def load(
    source: Source | Query,
    *,
    object: str,
    operation: str | Operation,
    instance_url: str | None = ...,
    access_token: str | None = ...,
    auth: Auth | None = ...,
    out_dir: str | os.PathLike[str] = ...,
    external_id_field: str | None = ...,
    column_delimiter: str | ColumnDelimiter = ...,
    line_ending: str | LineEnding | None = ...,
    encoding: str = ...,
    chunks: ChunkConfig | None = ...,
    concurrency: int | ConcurrencyConfig | None = ...,
    poll: PollConfig | None = ...,
    retry: RetryConfig | None = ...,
    bad_rows: str | BadRows = ...,
    progress: ProgressCallback | None = ...,
    resume: bool = ...,
    new: bool = ...,
    dry_run: Literal[False] = ...,
    api_version: str = ...,
    ca_file: str | None = ...,
) -> LoadResult: ...


@overload
async def load(
    source: Source | Query,
    *,
    object: str,
    operation: str | Operation,
    instance_url: str | None = ...,
    access_token: str | None = ...,
    auth: Auth | None = ...,
    out_dir: str | os.PathLike[str] = ...,
    external_id_field: str | None = ...,
    column_delimiter: str | ColumnDelimiter = ...,
    line_ending: str | LineEnding | None = ...,
    encoding: str = ...,
    chunks: ChunkConfig | None = ...,
    concurrency: int | ConcurrencyConfig | None = ...,
    poll: PollConfig | None = ...,
    retry: RetryConfig | None = ...,
    bad_rows: str | BadRows = ...,
    progress: ProgressCallback | None = ...,
    resume: bool = ...,
    new: bool = ...,
    dry_run: Literal[True],
    api_version: str = ...,
    ca_file: str | None = ...,
) -> LoadPlan: ...


async def load(
    source: Source | Query,
    *,
    object: str,
    operation: str | Operation,
    instance_url: str | None = None,
    access_token: str | None = None,
    auth: Auth | None = None,
    out_dir: str | os.PathLike[str] = DEFAULT_OUT,
    external_id_field: str | None = None,
    column_delimiter: str | ColumnDelimiter = ColumnDelimiter.COMMA,
    line_ending: str | LineEnding | None = None,
    encoding: str = "utf-8",
    chunks: ChunkConfig | None = None,
    concurrency: int | ConcurrencyConfig | None = None,
    poll: PollConfig | None = None,
    retry: RetryConfig | None = None,
    bad_rows: str | BadRows = BadRows.STOP,
    progress: ProgressCallback | None = None,
    resume: bool = False,
    new: bool = False,
    dry_run: bool = False,
    api_version: str = "66.0",
    ca_file: str | None = None,
) -> LoadResult | LoadPlan:
    """Load a CSV file (or rows) into Salesforce with the Bulk API 2.0 and merge the results.

    ::

        result = await asyncbulk.load(
            "contacts.csv", object="Contact", operation="insert",
            instance_url="https://example.my.salesforce.com", access_token=token,
            out_dir="results/",
        )
        print(result.succeeded, result.failed, result.unprocessed, result.success_file)

    :param source: a CSV file path, or an iterable / async iterable of dict rows (serialised as
        they stream; the first row's keys are the header).
    :param object: the sObject, e.g. ``"Contact"``.
    :param operation: ``insert``, ``update``, ``upsert``, ``delete`` or ``hardDelete``.
    :param instance_url: the org's URL, with ``access_token`` (a token obtained elsewhere); or give
        ``auth=``.
    :param access_token: that token.
    :param auth: an auth object that can refresh an expired token (:class:`asyncbulk.JwtBearer`...).
    :param out_dir: where ``success.csv``, ``failed.csv``, ``unprocessed.csv``, ``summary.json`` and
        the journal go.
    :param external_id_field: upsert's matching field (``"Id"`` works too).
    :param column_delimiter: one of the six (``COMMA``, ``TAB``, ``PIPE``...; the character works too).
    :param line_ending: ``LF`` or ``CRLF``; detected from the header line when omitted.
    :param encoding: the file's encoding; anything but UTF-8 is transcoded (the API takes UTF-8 only).
    :param chunks: chunk limits (:class:`ChunkConfig`).
    :param concurrency: jobs in flight at most (int or :class:`ConcurrencyConfig`).
    :param poll: the poll loop's pacing (:class:`PollConfig`).
    :param retry: retries of requests and of records that failed for a passing reason.
    :param bad_rows: ``"stop"`` (a structurally bad record stops the load before any job) or
        ``"skip"`` (such records are never sent; each goes to ``failed.csv`` with its reason).
    :param progress: called (or awaited) with every :class:`ProgressEvent`.
    :param resume: continue the load journaled in ``out_dir`` after a crash.
    :param new: start a new load even though the same input has an unfinished one.
    :param dry_run: check everything and return the :class:`LoadPlan`; create nothing.
    :param api_version: the REST API version.
    :param ca_file: a CA bundle to trust (for a local TLS emulator).
    :return: counts, the result files and the jobs (a :class:`LoadPlan` with ``dry_run``).
    :raises InputError: bad input (names the file, line, record and reason); nothing was loaded.
    :raises PreflightError: the header does not fit the object; nothing was loaded.
    :raises UnfinishedLoadError: the same input has an unfinished load (resume it, or ``new=True``).
    :raises ValueError: a bad option (names the option).
    :raises AccountingError: the results do not account for every record (after writing them).
    """
    async with Connection(
        instance_url=instance_url,
        access_token=access_token,
        auth=auth,
        api_version=api_version,
        concurrency=concurrency,
        retry=retry,
        ca_file=ca_file,
    ) as connection:
        if dry_run:
            return await connection.load(
                source,
                object=object,
                operation=operation,
                external_id_field=external_id_field,
                column_delimiter=column_delimiter,
                line_ending=line_ending,
                encoding=encoding,
                chunks=chunks,
                bad_rows=bad_rows,
                dry_run=True,
            )
        return await connection.load(
            source,
            object=object,
            operation=operation,
            out_dir=out_dir,
            external_id_field=external_id_field,
            column_delimiter=column_delimiter,
            line_ending=line_ending,
            encoding=encoding,
            chunks=chunks,
            poll=poll,
            bad_rows=bad_rows,
            progress=progress,
            resume=resume,
            new=new,
        )


async def extract(
    soql: str,
    out: str | os.PathLike[str],
    *,
    instance_url: str | None = None,
    access_token: str | None = None,
    auth: Auth | None = None,
    query_all: bool = False,
    column_delimiter: str | ColumnDelimiter = ColumnDelimiter.COMMA,
    line_ending: str | LineEnding = LineEnding.LF,
    max_records: int | None = None,
    concurrency: int = 4,
    keep_job: bool = False,
    work_dir: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
    resume: bool = False,
    poll: PollConfig | None = None,
    retry: RetryConfig | None = None,
    api_version: str = "66.0",
    ca_file: str | None = None,
) -> ExtractResult:
    """Run a Bulk API 2.0 query and stream its records to one CSV file.

    ::

        result = await asyncbulk.extract(
            "SELECT Id, Name, Account.Name FROM Contact WHERE CreatedDate = LAST_N_DAYS:30",
            "contacts.csv", instance_url=url, access_token=token,
        )
        print(result.rows, result.pages, result.path)

    Every page goes to disk as it arrives (memory does not grow with the result); pages download in
    parallel where the org allows (``resultPages``, API v58.0+) and are written in the server's
    order, under one header. Each page's rows are checked against ``Sforce-NumberOfRecords``, the
    total against the job's ``numberRecordsProcessed``. The file appears at ``out`` only when it is
    complete (``out.partial`` until then); the job is deleted at the end.

    :param soql: the SOQL query. A query Salesforce refuses is an :class:`ApiError` before any job.
    :param out: the CSV file to write.
    :param instance_url: the org's URL, with ``access_token``; or give ``auth=``.
    :param access_token: that token.
    :param auth: an auth object that can refresh an expired token.
    :param query_all: ``queryAll``: deleted and archived records too.
    :param column_delimiter: the file's delimiter.
    :param line_ending: the file's line ending.
    :param max_records: rows per page to ask for (Salesforce's default when ``None``).
    :param concurrency: pages downloaded at once.
    :param keep_job: keep the query job (and its copy of the results) when done.
    :param work_dir: the journal and downloaded pages (``OUT.asyncbulk`` by default).
    :param progress: called (or awaited) with every :class:`ProgressEvent`.
    :param resume: continue the extract journaled in ``work_dir``, from the first page not written.
    :param poll: how often to ask whether the job is done.
    :param retry: retries of transient failures (a page cut short is fetched again by its locator).
    :param api_version: the REST API version.
    :param ca_file: a CA bundle to trust (for a local TLS emulator).
    :return: rows, pages, bytes, the job, the requests made and the file.
    :raises ApiError: Salesforce refused the query (one line, with its own error).
    :raises ResumeError: nothing to resume, or the options changed.
    :raises AccountingError: the pages do not hold the job's number of rows.
    """
    async with Connection(
        instance_url=instance_url,
        access_token=access_token,
        auth=auth,
        api_version=api_version,
        retry=retry,
        ca_file=ca_file,
    ) as connection:
        return await connection.extract(
            soql,
            out,
            query_all=query_all,
            column_delimiter=column_delimiter,
            line_ending=line_ending,
            max_records=max_records,
            concurrency=concurrency,
            keep_job=keep_job,
            work_dir=work_dir,
            progress=progress,
            resume=resume,
            poll=poll,
        )
