"""``Connection``: one org, one HTTP session, many loads and extracts."""

# Slightly over the ~400-line aim: the public face of loads and extracts (docstrings are most of it).
from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import Literal, overload

from .._auth import Auth, StaticToken
from .._bulk import BulkClient
from .._config import (
    ChunkConfig,
    ColumnDelimiter,
    ConcurrencyConfig,
    LineEnding,
    Operation,
    OptionError,
    PollConfig,
    RetryConfig,
)
from .._exceptions import ResumeError
from .._extract import default_work_dir, extract_options, is_extract, replay_extract, run_extract
from .._journal import JOURNAL_NAME, JournalFile
from .._options import BadRows, ExtractOptions, LoadOptions, Query
from .._progress import ProgressCallback
from .._result import ExtractResult, LoadPlan, LoadResult
from ._files import FileWork, Folders
from ._journal import replay
from ._plan import plan_load
from ._prepare import Source
from ._run import LoadRun

__all__ = ["DEFAULT_OUT", "Connection", "journal_kind", "resolve_extract_dir"]

DEFAULT_OUT = "asyncbulk-results"
#: A load by query: the records the query found, extracted into the out folder before the load.
QUERY_FILE = "query.csv"


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
        source: Source | Query,
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
        source: Source | Query,
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
        source: Source | Query,
        *,
        object: str,
        operation: str | Operation,
        out_dir: str | os.PathLike[str] = DEFAULT_OUT,
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
            if isinstance(source, Query):
                raise OptionError(
                    "dry_run",
                    "a load by query has no file to check before its query runs; extract it "
                    "first (asyncbulk extract), then dry-run the load of that file",
                )
            return await self.plan(source, options)
        return await self.load_with(
            source, options, out_dir=out_dir, progress=progress, resume=resume, new=new
        )

    async def load_with(
        self,
        source: Source | Query,
        options: LoadOptions,
        *,
        out_dir: str | os.PathLike[str] = DEFAULT_OUT,
        progress: ProgressCallback | None = None,
        resume: bool = False,
        new: bool = False,
    ) -> LoadResult:
        """Load ``source`` with options built already (what the CLI does).

        A :class:`asyncbulk.Query` source is extracted to ``out_dir/query.csv`` first (resumable on
        its own), then loaded.
        """
        if isinstance(source, Query):
            found = await self._query_source(source, options, Path(out_dir), progress, resume=resume, new=new)
            if found is None:
                return _nothing_found(options, Path(out_dir))
            source = found
            # Resuming a load by query whose load half never began: it begins now.
            resume = resume and Folders(Path(out_dir)).journal.exists()
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

    async def _query_source(
        self,
        query: Query,
        options: LoadOptions,
        out_dir: Path,
        progress: ProgressCallback | None,
        *,
        resume: bool,
        new: bool,
    ) -> Path | None:
        """Extract the query's records into ``out_dir`` (or find them there); ``None``: none found."""
        folders = Folders(out_dir)
        found = out_dir / QUERY_FILE
        work = folders.work / "extract"
        if (folders.journal).exists() and not new:
            return found  # the load itself began: its input is what the extract wrote
        journal = work / JOURNAL_NAME
        finished = False
        if journal.exists() and not new:
            history = await FileWork().run(lambda: replay_extract(journal))
            finished = history.finished is not None
            if history.start.options.get("soql") != query.soql:
                raise ResumeError(
                    f"{out_dir} holds the extract of another query ({history.start.options.get('soql')!r}); "
                    "choose another out folder, or pass new=True (--new)"
                )
        if not finished:
            extract_opts = ExtractOptions(
                soql=query.soql,
                query_all=query.query_all,
                column_delimiter=options.column_delimiter,
                line_ending=options.line_ending or LineEnding.LF,
            )
            then = {**options.to_journal(), "out_dir": str(out_dir)}
            resumed = journal.exists() and not new
            await run_extract(
                self.client,
                extract_opts,
                found,
                work_dir=work,
                resume=resumed,
                poll=options.poll,
                then_load=then,
            )
        rows = await FileWork().run(lambda: replay_extract(journal))
        if rows.finished is not None and rows.finished.rows == 0:
            return None
        return found

    async def resume(
        self,
        out_dir: str | os.PathLike[str],
        *,
        progress: ProgressCallback | None = None,
        poll: PollConfig | None = None,
    ) -> LoadResult:
        """Continue the load journaled in ``out_dir`` (after a crash, Ctrl-C or a dead network).

        The input and the options are read from the journal, so they need not be given again; no
        record is loaded twice. A load by query whose extract was cut short finishes the extract
        first.

        :raises ResumeError: nothing to resume there, or the input changed since.
        """
        folders = Folders(Path(out_dir))
        files = FileWork()
        extract_journal = folders.work / "extract" / JOURNAL_NAME
        if not folders.journal.exists() and extract_journal.exists():
            history = await files.run(lambda: replay_extract(extract_journal))
            then = dict(history.start.then_load or {})
            if not then:
                raise ResumeError(f"{extract_journal}: an extract with no load after it")
            options = LoadOptions.from_journal(then, poll=poll)
            query = Query(
                str(history.start.options.get("soql")), bool(history.start.options.get("query_all"))
            )
            # The extract is continued (from its journal); the load after it starts afresh: it
            # never began, or its journal would be there.
            return await self.load_with(query, options, out_dir=out_dir, progress=progress, resume=True)
        history_load = await files.run(lambda: replay(folders.journal))
        start = history_load.start
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

    async def extract(
        self,
        soql: str,
        out: str | os.PathLike[str],
        *,
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
    ) -> ExtractResult:
        """Extract ``soql``'s records to the CSV file ``out``; see :func:`asyncbulk.extract`."""
        options = extract_options(
            soql,
            query_all=query_all,
            column_delimiter=column_delimiter,
            line_ending=line_ending,
            max_records=max_records,
            concurrency=concurrency,
            keep_job=keep_job,
        )
        return await run_extract(
            self.client, options, out, work_dir=work_dir, progress=progress, resume=resume, poll=poll
        )

    async def resume_extract(
        self,
        work_dir: str | os.PathLike[str],
        *,
        progress: ProgressCallback | None = None,
        concurrency: int = 4,
        keep_job: bool = False,
    ) -> ExtractResult:
        """Continue the extract journaled in ``work_dir`` (``OUT.asyncbulk``, or ``OUT`` itself):
        from the first page not written, never from page 1.

        :raises ResumeError: nothing to resume there.
        """
        work = resolve_extract_dir(Path(work_dir))
        history = await FileWork().run(lambda: replay_extract(work / JOURNAL_NAME))
        options = ExtractOptions.from_journal(
            history.start.options, concurrency=concurrency, keep_job=keep_job
        )
        return await run_extract(
            self.client, options, history.start.out, work_dir=work, progress=progress, resume=True
        )

    async def plan(self, source: Source, options: LoadOptions) -> LoadPlan:
        """What loading ``source`` would do (a dry run): the input is checked, the header held
        against the object, the org's remaining allocations read; no job is created."""
        return await plan_load(self.client, source, options)


def resolve_extract_dir(path: Path) -> Path:
    """The work folder of an extract named by itself or by its output file."""
    if (path / JOURNAL_NAME).exists():
        return path
    beside = default_work_dir(path)
    if (beside / JOURNAL_NAME).exists():
        return beside
    return path


def journal_kind(path: Path) -> str | None:
    """``load``, ``extract``, or ``None``: what the journal in (or beside) ``path`` belongs to."""
    for candidate in (path / JOURNAL_NAME, default_work_dir(path) / JOURNAL_NAME):
        if candidate.exists():
            lines = JournalFile.read(candidate)
            return "extract" if is_extract(lines) else "load"
    return None


def _nothing_found(options: LoadOptions, out_dir: Path) -> LoadResult:
    """The result of a load by query whose query found no record: nothing to load, nothing wrong."""
    return LoadResult(
        object=options.object,
        operation=options.operation.value,
        records=0,
        succeeded=0,
        failed=0,
        unprocessed=0,
        success_file=out_dir / "success.csv",
        failed_file=out_dir / "failed.csv",
        unprocessed_file=out_dir / "unprocessed.csv",
        summary_file=out_dir / "summary.json",
        notes=("the query found no records: nothing was loaded",),
    )
