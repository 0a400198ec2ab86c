"""The public entry points: :class:`Connection` (many loads over one session) and :func:`load`."""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import Literal, overload

from .._auth import Auth, StaticToken
from .._bulk import BulkClient
from .._config import (
    BadRows,
    ChunkConfig,
    ColumnDelimiter,
    ConcurrencyConfig,
    LineEnding,
    LoadOptions,
    Operation,
    PollConfig,
    RetryConfig,
)
from .._exceptions import ResumeError
from .._progress import ProgressCallback
from .._result import LoadPlan, LoadResult
from ._files import FileWork, Folders
from ._journal import replay
from ._plan import plan_load
from ._prepare import Source
from ._run import LoadRun

__all__ = ["Connection", "load"]

_DEFAULT_OUT = "asyncbulk-results"


class Connection:
    """A long-lived connection to one org: one HTTP session for many loads.

    ::

        async with asyncbulk.Connection(instance_url=url, access_token=token) as sf:
            accounts = await sf.load("accounts.csv", object="Account", operation="insert")
            contacts = await sf.load("contacts.csv", object="Contact", operation="insert")

    :param instance_url: the org's URL, with ``access_token``: a token obtained elsewhere.
    :param access_token: that token.
    :param auth: an auth object instead (:class:`asyncbulk.JwtBearer`, :class:`asyncbulk.SfCli`...),
        which can refresh an expired token.
    :param api_version: the REST API version, e.g. ``"66.0"``.
    :param concurrency: jobs in flight (an int, or a :class:`ConcurrencyConfig`).
    :param retry: retries of transient failures, and rounds of records that failed for a passing reason.
    :param ca_file: a CA bundle to trust (a local TLS emulator); the system store otherwise.
    """

    def __init__(
        self,
        *,
        instance_url: str | None = None,
        access_token: str | None = None,
        auth: Auth | None = None,
        api_version: str = "66.0",
        concurrency: int | ConcurrencyConfig | None = None,
        retry: RetryConfig | None = None,
        ca_file: str | None = None,
    ) -> None:
        if auth is None:
            if not instance_url or not access_token:
                raise ValueError("give auth=, or both instance_url= and access_token=")
            auth = StaticToken(instance_url, access_token)
        elif instance_url or access_token:
            raise ValueError("give either auth= or instance_url=/access_token=, not both")
        if isinstance(concurrency, int):
            concurrency = ConcurrencyConfig(max_concurrent_jobs=concurrency)
        self.concurrency = concurrency or ConcurrencyConfig()
        self.retry = retry or RetryConfig()
        #: The Bulk API client the loads share (its request counts cover every load).
        self.client = BulkClient(
            auth,
            api_version=api_version,
            connections=self.concurrency.connections,
            retry=self.retry,
            ca_file=ca_file,
        )

    async def __aenter__(self) -> Connection:
        await self.client.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.client.__aexit__(exc_type, exc, tb)

    @overload
    async def load(
        self,
        source: Source,
        *,
        object: str,
        operation: str | Operation,
        out_dir: str | os.PathLike[str] = ...,
        external_id_field: str | None = ...,
        column_delimiter: str | ColumnDelimiter = ...,
        line_ending: str | LineEnding | None = ...,
        encoding: str = ...,
        chunks: ChunkConfig | None = ...,
        poll: PollConfig | None = ...,
        bad_rows: str | BadRows = ...,
        progress: ProgressCallback | None = ...,
        resume: bool = ...,
        new: bool = ...,
        dry_run: Literal[False] = ...,
    ) -> LoadResult: ...

    @overload
    async def load(
        self,
        source: Source,
        *,
        object: str,
        operation: str | Operation,
        out_dir: str | os.PathLike[str] = ...,
        external_id_field: str | None = ...,
        column_delimiter: str | ColumnDelimiter = ...,
        line_ending: str | LineEnding | None = ...,
        encoding: str = ...,
        chunks: ChunkConfig | None = ...,
        poll: PollConfig | None = ...,
        bad_rows: str | BadRows = ...,
        progress: ProgressCallback | None = ...,
        resume: bool = ...,
        new: bool = ...,
        dry_run: Literal[True],
    ) -> LoadPlan: ...

    async def load(
        self,
        source: Source,
        *,
        object: str,
        operation: str | Operation,
        out_dir: str | os.PathLike[str] = _DEFAULT_OUT,
        external_id_field: str | None = None,
        column_delimiter: str | ColumnDelimiter = ColumnDelimiter.COMMA,
        line_ending: str | LineEnding | None = None,
        encoding: str = "utf-8",
        chunks: ChunkConfig | None = None,
        poll: PollConfig | None = None,
        bad_rows: str | BadRows = BadRows.STOP,
        progress: ProgressCallback | None = None,
        resume: bool = False,
        new: bool = False,
        dry_run: bool = False,
    ) -> LoadResult | LoadPlan:
        """Load ``source`` into ``object``; see :func:`asyncbulk.load` for every parameter."""
        options = LoadOptions(
            object=object,
            operation=Operation.parse(operation),
            external_id_field=external_id_field,
            column_delimiter=ColumnDelimiter.parse(column_delimiter),
            line_ending=None if line_ending is None else LineEnding.parse(line_ending),
            encoding=encoding,
            chunks=chunks or ChunkConfig(),
            poll=poll or PollConfig(),
            bad_rows=BadRows.parse(bad_rows),
        )
        if dry_run:
            return await self.plan(source, options)
        return await self.load_with(
            source, options, out_dir=out_dir, progress=progress, resume=resume, new=new
        )

    async def load_with(
        self,
        source: Source,
        options: LoadOptions,
        *,
        out_dir: str | os.PathLike[str] = _DEFAULT_OUT,
        progress: ProgressCallback | None = None,
        resume: bool = False,
        new: bool = False,
    ) -> LoadResult:
        """Load ``source`` with options built already (what the CLI does)."""
        run = LoadRun(
            self.client,
            source,
            options,
            Path(out_dir),
            progress,
            resume=resume,
            new=new,
            retry=self.retry,
            concurrency=self.concurrency.max_concurrent_jobs,
        )
        return await run.run()

    async def resume(
        self,
        out_dir: str | os.PathLike[str],
        *,
        progress: ProgressCallback | None = None,
        poll: PollConfig | None = None,
    ) -> LoadResult:
        """Continue the load journaled in ``out_dir`` (after a crash, Ctrl-C or a dead network).

        The input and the options are read from the journal, so they need not be given again; no
        record is loaded twice.

        :raises ResumeError: nothing to resume there, or the input changed since.
        """
        folders = Folders(Path(out_dir))
        history = await FileWork().run(lambda: replay(folders.journal))
        start = history.start
        options = LoadOptions.from_journal(start.options, poll=poll)
        path = start.input.get("path")
        source: Path
        if path:
            source = Path(str(path))
        elif "rows_sha256" in start.input:
            source = folders.work / "input.csv"  # rows serialised by the first run
        else:
            raise ResumeError(f"{folders.journal}: the start record names no input")
        return await self.load_with(source, options, out_dir=out_dir, progress=progress, resume=True)

    async def plan(self, source: Source, options: LoadOptions) -> LoadPlan:
        """What loading ``source`` would do (a dry run): the input is checked, the header held
        against the object, the org's remaining allocations read; no job is created."""
        return await plan_load(self.client, source, options)


@overload
async def load(
    source: Source,
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
    source: Source,
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
    source: Source,
    *,
    object: str,
    operation: str | Operation,
    instance_url: str | None = None,
    access_token: str | None = None,
    auth: Auth | None = None,
    out_dir: str | os.PathLike[str] = _DEFAULT_OUT,
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
