"""The commands that talk to an org: ``load``, ``resume``, ``jobs``, ``job``, ``abort``, ``results``."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import orjson

from .._auth import Auth
from .._bulk import BulkClient, JobInfo, ResultKind
from .._config import ChunkConfig, ColumnDelimiter, LineEnding, Operation, OptionError, PollConfig
from .._display import render_plan
from .._exceptions import NotFoundError
from .._load import Connection, journal_kind, stat_input
from .._options import BadRows, LoadOptions, Query
from .._progress import ProgressCallback
from .._result import LoadResult
from ._auth_options import SECRETS, auth_from_options, read_secret
from ._session import EXIT_OK, CommandError, Session, UsageError, flag_error, poll_config, retry_config

__all__ = ["COMMANDS"]


# -- auth ------------------------------------------------------------------------------------------


def auth(session: Session) -> Auth:
    """The auth method the flags, secret files and environment ask for."""
    args = session.args
    values: dict[str, str | None] = {}
    read_stdin = False
    for name, (flag, file_flag, _env) in SECRETS.items():
        value = getattr(args, name, None)
        source = getattr(args, name + "_file", None)
        if value is not None and source is not None:
            raise CommandError(f"give {flag} or {file_flag}, not both")
        if source is not None:
            if source == "-":
                if read_stdin:
                    raise CommandError("only one secret can be read from standard input")
                read_stdin = True
            value = read_secret(file_flag, source)
        values[name] = value
        if value:
            session.secrets.append(value)
    session.secrets += [os.environ[env] for _, _, env in SECRETS.values() if os.environ.get(env)]
    return auth_from_options(
        instance_url=args.instance_url,
        access_token=values["access_token"],
        target_org=args.target_org,
        client_id=args.client_id,
        client_secret=values["client_secret"],
        username=args.username,
        password=values["password"],
        jwt_key_file=args.jwt_key_file,
        login_url=args.login_url,
        refresh_token=values["refresh_token"],
        env=os.environ,
    )


def ca_file(session: Session) -> str | None:
    """``--ca-file``, checked."""
    path = session.args.ca_file
    if path and not Path(path).is_file():
        raise CommandError(f"--ca-file: no such file: {path}")
    return str(path) if path else None


def client(session: Session) -> BulkClient:
    """A Bulk API client for the job commands."""
    return BulkClient(auth(session), api_version=session.args.api_version, ca_file=ca_file(session))


def connection_for(session: Session) -> Connection:
    """A connection for the commands that load or extract."""
    args = session.args
    try:
        return Connection(
            auth=auth(session),
            api_version=args.api_version,
            concurrency=args.concurrency,
            retry=retry_config(args),
            ca_file=ca_file(session),
        )
    except OptionError as exc:
        raise flag_error(exc) from None


# -- load and resume -------------------------------------------------------------------------------


def absolute(path: Path) -> Path:
    """``path`` made absolute (printed paths then work from any directory; a resume may run from
    elsewhere). Not resolved: a symlinked folder keeps the name the user gave."""
    return path.absolute()


def _positive(option: str, value: int | None) -> None:
    if value is not None and value <= 0:
        raise CommandError(f"{option} must be a positive number, got {value}")


def load_options(session: Session) -> LoadOptions:
    """``load``'s options, checked before any login (a typo costs no request)."""
    args = session.args
    _positive("--concurrency", args.concurrency)
    _positive("--chunk-records", args.chunk_records)
    _positive("--chunk-bytes", args.chunk_bytes)
    try:
        chunks = ChunkConfig(
            **{
                key: value
                for key, value in (("max_records", args.chunk_records), ("max_bytes", args.chunk_bytes))
                if value is not None
            }
        )
        return LoadOptions(
            object=args.object,
            operation=Operation.parse(args.operation, option="operation"),
            external_id_field=args.external_id,
            column_delimiter=ColumnDelimiter.parse(args.delimiter, option="column_delimiter"),
            line_ending=None
            if args.line_ending is None
            else LineEnding.parse(args.line_ending, option="line_ending"),
            encoding=args.encoding,
            chunks=chunks,
            poll=poll_config(args) or PollConfig(),
            bad_rows=BadRows.parse(args.bad_rows, option="bad_rows"),
        )
    except OptionError as exc:
        raise flag_error(exc) from None


async def load_command(session: Session) -> int:
    """``asyncbulk load OPERATION OBJECT FILE``."""
    args = session.args
    options = load_options(session)
    if (args.file is None) == (args.query is None):
        raise UsageError("give the FILE to load, or --query SOQL (the records it finds), not both")
    if args.query_all and args.query is None:
        raise CommandError("--query-all goes with --query")
    if args.query is not None:
        if args.dry_run:
            raise CommandError("--dry-run needs a file: extract the query first (asyncbulk extract)")
        if not args.out:
            raise CommandError("--query needs --out DIR: the records it finds are extracted there first")
    else:
        # The file first, before any login: a typo in its name costs no request.
        stat_input(Path(args.file), args.file)
    if args.resume and not args.out:
        raise CommandError("--resume needs --out DIR: the directory of the load to continue")
    if args.dry_run and (args.resume or args.new):
        raise CommandError("--dry-run creates nothing, so --resume and --new make no sense with it")
    if args.out:
        out_dir = Path(args.out)
    else:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        out_dir = Path("asyncbulk-results") / f"{options.object}-{options.operation.value}-{stamp}"
    # Absolute paths: the journal records the input's path, and a resume may run from elsewhere.
    out_dir = absolute(out_dir)
    source: Path | Query = (
        Query(args.query, query_all=args.query_all) if args.query is not None else absolute(Path(args.file))
    )
    connection = connection_for(session)
    if args.dry_run:
        assert isinstance(source, Path)
        async with connection:
            plan = await connection.plan(source, options)
        if args.json:
            sys.stdout.write(orjson.dumps(plan.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
        else:
            print(render_plan(plan))
        return EXIT_OK
    session.resume_dir = out_dir
    shown = f"the records of {args.query!r}" if args.query is not None else str(source)
    session.status(f"asyncbulk: {'resuming' if args.resume else 'loading'} {shown} -> {out_dir}")

    async def work(progress: ProgressCallback | None) -> LoadResult:
        async with connection:
            return await connection.load_with(
                source, options, out_dir=out_dir, progress=progress, resume=args.resume, new=args.new
            )

    title = f"{options.object} {options.operation.value}"
    return session.report(await session.run_load(title, work))


async def resume_command(session: Session) -> int:
    """``asyncbulk resume DIR``: the input and options come from the journal."""
    args = session.args
    _positive("--concurrency", args.concurrency)
    out_dir = absolute(Path(args.dir))
    if journal_kind(out_dir) == "extract":
        from ._extract import resume_extract_command

        return await resume_extract_command(session, out_dir)
    connection = connection_for(session)
    session.resume_dir = out_dir
    session.status(f"asyncbulk: resuming the load in {out_dir}")

    async def work(progress: ProgressCallback | None) -> LoadResult:
        async with connection:
            return await connection.resume(out_dir, progress=progress, poll=poll_config(args))

    return session.report(await session.run_load("resume", work))


# -- job commands ----------------------------------------------------------------------------------

_JOB_COLUMNS = ("ID", "OBJECT", "OPERATION", "STATE", "CREATED")


def _row(job: JobInfo) -> list[str]:
    created = str(job.raw.get("createdDate") or "")
    return [job.id, job.object, job.operation, str(job.state), created]


async def jobs_command(session: Session) -> int:
    """``asyncbulk jobs``: the org's ingest jobs, newest first."""
    args = session.args
    if args.limit < 0:
        raise CommandError(f"--limit must be zero or more, got {args.limit}")
    async with client(session) as bulk:
        jobs = [job async for job in bulk.list_jobs()]
    # The API returns jobs in no set order; newest first is what "recent" means.
    jobs.sort(key=lambda job: str(job.raw.get("createdDate") or ""), reverse=True)
    if args.limit:
        jobs = jobs[: args.limit]
    if args.json:
        sys.stdout.write(
            orjson.dumps([dict(j.raw) for j in jobs], option=orjson.OPT_INDENT_2).decode() + "\n"
        )
        return EXIT_OK
    if not jobs:
        print("no ingest jobs")
        return EXIT_OK
    print(_table([list(_JOB_COLUMNS), *(_row(job) for job in jobs)]))
    return EXIT_OK


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def _print_job(info: JobInfo, as_json: bool) -> None:
    raw = dict(info.raw)
    if as_json:
        sys.stdout.write(orjson.dumps(raw, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    width = max((len(key) for key in raw), default=0)
    for key, value in raw.items():
        text = value if isinstance(value, str) else orjson.dumps(value).decode()
        print(f"{key:<{width}}  {text}")


async def job_command(session: Session) -> int:
    """``asyncbulk job ID``: every field of one job."""
    async with client(session) as bulk:
        info = await bulk.job_info(session.args.job_id)
    _print_job(info, session.args.json)
    return EXIT_OK


async def abort_command(session: Session) -> int:
    """``asyncbulk abort ID``."""
    async with client(session) as bulk:
        info = await bulk.abort_job(session.args.job_id)
    if session.args.json:
        _print_job(info, True)
    else:
        print(f"job {info.id or session.args.job_id}: {info.state}")
    return EXIT_OK


async def results_command(session: Session) -> int:
    """``asyncbulk results ID``: the job's three result files, as Salesforce returns them."""
    args = session.args
    out_dir = absolute(Path(args.out or f"results-{args.job_id}"))
    files: dict[str, dict[str, Any]] = {}
    async with client(session) as bulk:
        # Ask for the job first: an unknown id then fails with one clear error and no empty dir.
        info = await bulk.job_info(args.job_id)
        await anyio.to_thread.run_sync(lambda: out_dir.mkdir(parents=True, exist_ok=True))
        for kind in ResultKind:
            dest = out_dir / f"{kind.value}.csv"
            try:
                size = await bulk.download_results(args.job_id, kind, dest)
            except NotFoundError as exc:
                # A job that never got data (Open, or Failed at upload) has no result files yet.
                files[kind.value] = {"path": None, "bytes": 0, "error": exc.message}
                continue
            files[kind.value] = {"path": str(dest), "bytes": size}
    if args.json:
        data = {"job_id": args.job_id, "state": str(info.state), "files": files}
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
        return EXIT_OK
    print(f"job {args.job_id}: {info.state}, {info.processed} processed, {info.failed} failed")
    for kind_name, entry in files.items():
        if entry["path"] is None:
            print(f"  {kind_name:<12} not available: {entry['error']}")
        else:
            print(f"  {kind_name:<12} {entry['path']} ({entry['bytes']:,} bytes)")
    return EXIT_OK


async def demo_command(session: Session) -> int:
    """``asyncbulk demo`` (the emulator is imported only for it)."""
    from ._demo import run_demo

    args = session.args
    _positive("--records", args.records)
    _positive("--chunk-records", args.chunk_records)
    _positive("--concurrency", args.concurrency)
    if args.records_per_second is not None and args.records_per_second < 0:
        raise CommandError(f"--records-per-second must be zero or more, got {args.records_per_second}")
    return await run_demo(session)


async def extract_command(session: Session) -> int:
    """``asyncbulk extract SOQL --out FILE``."""
    from ._extract import extract_command as run

    return await run(session)


COMMANDS: dict[str, Callable[[Session], Awaitable[int]]] = {
    "load": load_command,
    "resume": resume_command,
    "jobs": jobs_command,
    "job": job_command,
    "abort": abort_command,
    "results": results_command,
    "extract": extract_command,
    "demo": demo_command,
}
