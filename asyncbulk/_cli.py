"""The ``asyncbulk`` command line: parse, call the library, print, map the outcome to an exit code.

Commands: ``load``, ``resume``, ``jobs``, ``job``, ``abort``, ``results``, ``demo`` and ``emulator``
(the last one belongs to :mod:`asyncbulk.emulator._main` and gets its arguments untouched).

Errors the user can fix (a bad option, a missing file, an unknown object, a refused login) are
printed as one line, ``asyncbulk: error: <message>``, never as a traceback; and no message, JSON
output or summary ever shows a credential.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TextIO

import anyio
import orjson

from ._auth import Auth, auth_from_options
from ._client import BulkClient
from ._config import ChunkConfig, ColumnDelimiter, ConcurrencyConfig, LineEnding, Operation, PollConfig
from ._exceptions import AsyncBulkError, InputError, NotFoundError, ResumeError
from ._types import LoadResult

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_SOME_FAILED", "EXIT_USAGE", "main"]

#: Every record succeeded (or the command did what it was asked).
EXIT_OK = 0
#: The command line itself is wrong (argparse's own code: unknown option, missing argument).
EXIT_USAGE = 2
#: The load ran to its end but some records failed or were not processed.
EXIT_SOME_FAILED = 3
#: The command could not do its work: a bad option value, bad input, a refused login, an API or
#: network error.
EXIT_ERROR = 4
#: Interrupted (Ctrl-C); the shell's convention 128 + SIGINT.
EXIT_INTERRUPTED = 130

_EXIT_CODES_HELP = """\
exit codes:
  0    every record succeeded (or the command did what it was asked)
  2    usage error: unknown option, missing argument
  3    the load finished but some records failed or were not processed (see failed.csv)
  4    error: bad option value, bad input file, unknown object, login refused, API or network error
  130  interrupted (Ctrl-C); a load can be continued with `asyncbulk resume DIR`
"""

_AUTH_HELP = """\
authentication (any command that talks to an org):
  --target-org ALIAS                     an org the Salesforce CLI (sf) knows
  --instance-url URL --access-token TOK  a session you already have (or SF_INSTANCE_URL / SF_ACCESS_TOKEN)
  --client-id ID --jwt-key-file KEY --username USER                      JWT bearer flow
  --client-id ID --client-secret S --login-url https://my.my.salesforce.com  client credentials
  --client-id ID --refresh-token TOK [--client-secret S]                  refresh token flow
  --client-id ID --client-secret S --username USER --password PW         username-password flow
"""

_SECRET_OPTIONS = ("access_token", "client_secret", "password", "refresh_token")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keep the hand-written examples as they are, and show defaults."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=110)


class _CommandError(Exception):
    """A one-line error the CLI itself detects (before calling the library)."""


# -- parser ----------------------------------------------------------------------------------------


def _auth_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group(
        "authentication (also SF_INSTANCE_URL / SF_ACCESS_TOKEN from the environment)"
    )
    add = group.add_argument
    add(
        "--target-org",
        metavar="ALIAS",
        help="use an org the Salesforce CLI knows, e.g. --target-org my-sandbox",
    )
    add(
        "--instance-url",
        metavar="URL",
        help="the org's URL with --access-token, e.g. https://acme.my.salesforce.com (env SF_INSTANCE_URL)",
    )
    add("--access-token", metavar="TOKEN", help="a session id / access token (env SF_ACCESS_TOKEN)")
    add("--client-id", metavar="ID", help="a connected app's consumer key, e.g. --client-id 3MVG9...")
    add("--client-secret", metavar="SECRET", help="the connected app's consumer secret")
    add("--username", metavar="USER", help="the user to log in as (JWT and password flows), e.g. me@acme.com")
    add("--password", metavar="PASSWORD", help="the password flow's password (+ security token)")
    add("--jwt-key-file", metavar="FILE", help="the private key (PEM) that signs the JWT, e.g. server.key")
    add(
        "--login-url",
        metavar="URL",
        help="the OAuth login host: https://login.salesforce.com (default), https://test.salesforce.com, "
        "or your My Domain URL",
    )
    add("--refresh-token", metavar="TOKEN", help="a refresh token from an earlier OAuth web flow")
    add(
        "--api-version", metavar="VERSION", default="66.0", help="the REST API version (default: %(default)s)"
    )
    add(
        "--ca-file",
        metavar="FILE",
        help="trust the CA certificates in this PEM file, e.g. the local TLS emulator's certificate",
    )
    return parent


def _load_options(parser: argparse.ArgumentParser) -> None:
    """The options ``load`` and ``demo`` share: how the work runs and how it reports."""
    parser.add_argument(
        "--concurrency",
        metavar="N",
        type=int,
        help=f"jobs in flight at once (default: {ConcurrencyConfig().max_concurrent_jobs}), "
        "e.g. --concurrency 5",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the summary as JSON on stdout (progress still goes to stderr)",
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="do not show progress on stderr",
    )
    parser.add_argument(
        "--poll-interval",
        metavar="SECONDS",
        type=float,
        help=f"first wait between two job status checks (default: {PollConfig().initial}; later "
        f"waits follow the org's pace, up to {PollConfig().maximum:g}), e.g. --poll-interval 0.5",
    )


def _build_parser() -> argparse.ArgumentParser:
    auth = _auth_parent()
    parser = argparse.ArgumentParser(
        prog="asyncbulk",
        description="Load huge CSV files into Salesforce with the Bulk API 2.0: streaming, concurrent, "
        "resumable.",
        epilog="examples:\n"
        "  asyncbulk demo                                   # no setup: a local emulated org\n"
        "  asyncbulk load insert Contact contacts.csv --target-org my-org\n"
        "  asyncbulk jobs --target-org my-org\n\n"
        "Run `asyncbulk COMMAND --help` for a command's options.\n\n" + _EXIT_CODES_HELP,
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"asyncbulk {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    load = sub.add_parser(
        "load",
        parents=[auth],
        formatter_class=_Formatter,
        help="load a CSV file into an object",
        description="Load a CSV file into a Salesforce object with Bulk API 2.0 ingest jobs. The file is "
        "split into jobs, submitted concurrently, and the results merged into success.csv, failed.csv "
        "and unprocessed.csv (each row with its input record number), plus summary.json.",
        epilog="examples:\n"
        "  asyncbulk load insert Contact contacts.csv --target-org my-org\n"
        "  asyncbulk load upsert Account accounts.csv --external-id External_Id__c --out results/\n"
        "  asyncbulk load delete Lead ids.csv --instance-url https://acme.my.salesforce.com "
        "--access-token $TOKEN\n"
        "  asyncbulk load update Contact data.tsv --delimiter TAB --encoding cp1252 --json\n"
        "  asyncbulk load insert Contact contacts.csv --out results/ --resume   # after a crash\n\n"
        + _EXIT_CODES_HELP
        + "\n"
        + _AUTH_HELP,
    )
    load.add_argument(
        "operation",
        metavar="OPERATION",
        help="insert, update, upsert, delete or hardDelete",
    )
    load.add_argument("object", metavar="OBJECT", help="the sObject's API name, e.g. Contact or Invoice__c")
    load.add_argument("file", metavar="FILE", help="the CSV file, with a header line of field names")
    load.add_argument(
        "--external-id",
        metavar="FIELD",
        help="upsert's matching field, e.g. --external-id External_Id__c (or Id)",
    )
    load.add_argument(
        "--out",
        metavar="DIR",
        help="where result files, summary.json and the journal go "
        "(default: asyncbulk-results/OBJECT-OPERATION-TIMESTAMP), e.g. --out results/",
    )
    load.add_argument(
        "--chunk-records",
        metavar="N",
        type=int,
        help=f"records per job at most (default: {ChunkConfig().max_records}), e.g. --chunk-records 100000",
    )
    load.add_argument(
        "--chunk-bytes",
        metavar="N",
        type=int,
        help=f"bytes of CSV per job at most (default: {ChunkConfig().max_bytes}), "
        "e.g. --chunk-bytes 20000000",
    )
    load.add_argument(
        "--delimiter",
        metavar="NAME",
        default="COMMA",
        help="the column delimiter: COMMA (default), TAB, PIPE, SEMICOLON, CARET or BACKQUOTE "
        "(or the character), e.g. --delimiter TAB",
    )
    load.add_argument(
        "--line-ending",
        metavar="LF|CRLF",
        help="the file's line ending (default: detected from the header line), e.g. --line-ending CRLF",
    )
    load.add_argument(
        "--encoding",
        metavar="NAME",
        default="utf-8",
        help="the file's encoding (default: utf-8; others are converted), e.g. --encoding cp1252",
    )
    load.add_argument(
        "--resume",
        action="store_true",
        help="continue the load journaled in --out after a crash, without loading a record twice",
    )
    _load_options(load)

    resume = sub.add_parser(
        "resume",
        parents=[auth],
        formatter_class=_Formatter,
        help="continue an interrupted load from its results directory",
        description="Continue a load that was interrupted (crash, Ctrl-C, lost network), with the file "
        "and options recorded in DIR/journal.jsonl. Jobs already merged are kept, jobs in flight are "
        "re-attached, the rest are submitted: no record is loaded twice.",
        epilog="example:\n"
        "  asyncbulk resume asyncbulk-results/Contact-insert-20250101-120000 --target-org my-org\n\n"
        + _EXIT_CODES_HELP
        + "\n"
        + _AUTH_HELP,
    )
    resume.add_argument("dir", metavar="DIR", help="the results directory of the load (its --out)")
    _load_options(resume)

    jobs = sub.add_parser(
        "jobs",
        parents=[auth],
        formatter_class=_Formatter,
        help="list the org's recent ingest jobs",
        description="List the org's Bulk API 2.0 ingest jobs, newest first.",
        epilog="examples:\n  asyncbulk jobs --target-org my-org\n  asyncbulk jobs --limit 5 --json\n\n"
        + _EXIT_CODES_HELP,
    )
    jobs.add_argument(
        "--limit",
        metavar="N",
        type=int,
        default=50,
        help="show the N newest jobs (default: %(default)s; 0: all)",
    )
    jobs.add_argument("--json", action="store_true", help="print the jobs as a JSON array")

    job = sub.add_parser(
        "job",
        parents=[auth],
        formatter_class=_Formatter,
        help="show one job",
        description="Show every field of one ingest job (state, records processed and failed, times...).",
        epilog="example:\n  asyncbulk job 750R0000000zlh9IAA --target-org my-org\n\n" + _EXIT_CODES_HELP,
    )
    job.add_argument("job_id", metavar="ID", help="the job id (750...)")
    job.add_argument("--json", action="store_true", help="print the job as JSON")

    abort = sub.add_parser(
        "abort",
        parents=[auth],
        formatter_class=_Formatter,
        help="abort a job",
        description="Abort an ingest job that is Open or UploadComplete; records already processed stay.",
        epilog="example:\n  asyncbulk abort 750R0000000zlh9IAA --target-org my-org\n\n" + _EXIT_CODES_HELP,
    )
    abort.add_argument("job_id", metavar="ID", help="the job id (750...)")
    abort.add_argument("--json", action="store_true", help="print the job as JSON after the abort")

    results = sub.add_parser(
        "results",
        parents=[auth],
        formatter_class=_Formatter,
        help="download a job's three result files",
        description="Download a job's successful, failed and unprocessed records as "
        "DIR/successful.csv, DIR/failed.csv and DIR/unprocessed.csv (as Salesforce returns them: "
        "sf__Id, sf__Created / sf__Error columns first).",
        epilog="examples:\n  asyncbulk results 750R0000000zlh9IAA --target-org my-org\n"
        "  asyncbulk results 750R0000000zlh9IAA --out job-results/\n\n" + _EXIT_CODES_HELP,
    )
    results.add_argument("job_id", metavar="ID", help="the job id (750...)")
    results.add_argument("--out", metavar="DIR", help="where to write them (default: results-ID)")
    results.add_argument("--json", action="store_true", help="print the file paths and sizes as JSON")

    demo = sub.add_parser(
        "demo",
        formatter_class=_Formatter,
        help="load a generated Contact file into a local emulated org (no setup, no network)",
        description="Generate a realistic Contact CSV (quoted commas and line breaks, accents, and a few "
        "rows that fail on purpose: a missing LastName, a bad Email, a too-long Title), start the "
        "Bulk API 2.0 emulator in this process, load the file with live progress and print the "
        "summary and where the result files are.",
        epilog="examples:\n  asyncbulk demo\n  asyncbulk demo --records 200000 --out /tmp/demo\n"
        "  asyncbulk demo --records 10000 --records-per-second 0   # as fast as the machine goes\n\n"
        "exit codes: 0 when exactly the rows meant to fail failed, 3 otherwise, 4 on an error.",
    )
    demo.add_argument(
        "--records", metavar="N", type=int, default=50_000, help="rows to generate (default: %(default)s)"
    )
    demo.add_argument(
        "--out",
        metavar="DIR",
        default="asyncbulk-demo",
        help="where the generated file and the results go (default: %(default)s)",
    )
    demo.add_argument(
        "--records-per-second",
        metavar="N",
        type=float,
        help="the emulated org's speed per worker (4 workers); default: paced so the processing "
        "takes about 8 seconds; 0: as fast as possible",
    )
    demo.add_argument(
        "--chunk-records",
        metavar="N",
        type=int,
        default=10_000,
        help="records per job (default: %(default)s, so that several jobs run at once)",
    )
    demo.add_argument("--seed", metavar="N", type=int, default=1, help="the generator's seed (default: 1)")
    _load_options(demo)

    sub.add_parser(
        "emulator",
        add_help=False,
        help="run the local Bulk API 2.0 emulator (see `asyncbulk emulator --help`)",
    )
    return parser


def _version() -> str:
    from . import __version__

    return __version__


# -- entry point -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code (the console script exits with it)."""
    args_list = sys.argv[1:] if argv is None else list(argv)
    if args_list and args_list[0] == "emulator":
        from .emulator._main import main as emulator_main

        return emulator_main(args_list[1:])
    parser = _build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # --help, --version, or a usage error (already printed by argparse)
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    secrets = [str(getattr(args, name)) for name in _SECRET_OPTIONS if getattr(args, name, None)]
    secrets += [os.environ[name] for name in ("SF_ACCESS_TOKEN",) if os.environ.get(name)]
    handler = _COMMANDS[args.command]
    try:
        return asyncio.run(handler(args))
    except KeyboardInterrupt:
        # The load has already aborted its queued jobs and written summary.json on the way out.
        out_dir = getattr(args, "resolved_out", None)
        hint = f"; continue with: asyncbulk resume {out_dir}" if out_dir is not None else ""
        print(f"asyncbulk: interrupted{hint}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (_CommandError, ValueError, AsyncBulkError, OSError) as exc:
        _error(_message(exc), secrets)
        out_dir = getattr(args, "resolved_out", None)
        if (
            isinstance(exc, AsyncBulkError)
            and not isinstance(exc, InputError | ResumeError)
            and out_dir is not None
            and (out_dir / "journal.jsonl").exists()
        ):
            # Jobs may have run before the error: say where their results are and how to go on.
            print(
                f"asyncbulk: results so far in {out_dir}; continue with: asyncbulk resume {out_dir}",
                file=sys.stderr,
            )
        return EXIT_ERROR


def _message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_message(e) for e in exc.exceptions)
    return str(exc) or type(exc).__name__


def _error(message: str, secrets: Sequence[str]) -> None:
    for secret in secrets:
        # The library never puts a credential in a message; this is a second, cheap safety net.
        if len(secret) >= 4:
            message = message.replace(secret, "***")
    message = " ".join(message.split())  # one line, whatever the server's text held
    print(f"asyncbulk: error: {message}", file=sys.stderr)


def _unwrap(exc: BaseException) -> BaseException:
    """The one real error inside task-group exception groups, if there is just one."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def _absolute(path: str | os.PathLike[str]) -> Path:
    """``path`` made absolute (printed paths then work from any directory)."""
    return Path(path).resolve()


async def _guarded(coro: Awaitable[int]) -> int:
    try:
        return await coro
    except BaseExceptionGroup as group:
        inner = _unwrap(group)
        if inner is group:
            raise
        raise inner from None


# -- auth ------------------------------------------------------------------------------------------


def _auth(args: argparse.Namespace) -> Auth:
    return auth_from_options(
        instance_url=args.instance_url,
        access_token=args.access_token,
        target_org=args.target_org,
        client_id=args.client_id,
        client_secret=args.client_secret,
        username=args.username,
        password=args.password,
        jwt_key_file=args.jwt_key_file,
        login_url=args.login_url,
        refresh_token=args.refresh_token,
        env=os.environ,
    )


def _client(args: argparse.Namespace) -> BulkClient:
    return BulkClient(_auth(args), api_version=args.api_version, ca_file=_ca_file(args))


# -- load and resume -------------------------------------------------------------------------------


def _positive(option: str, value: int | None) -> None:
    if value is not None and value <= 0:
        raise _CommandError(f"{option} must be a positive number, got {value}")


async def _cmd_load(args: argparse.Namespace) -> int:
    source, out_dir, options = _load_plan(args)
    return await _run_load(args, source, out_dir, options, resume=args.resume)


def _load_plan(args: argparse.Namespace) -> tuple[Path, Path, dict[str, Any]]:
    """Check ``load``'s options and file; return the input, the out dir and load()'s options."""
    # Check everything that needs no org first, so a typo costs no login and creates no job.
    operation = Operation.parse(args.operation, option="OPERATION")
    delimiter = ColumnDelimiter.parse(args.delimiter, option="--delimiter")
    line_ending = (
        None if args.line_ending is None else LineEnding.parse(args.line_ending, option="--line-ending")
    )
    _positive("--concurrency", args.concurrency)
    _positive("--chunk-records", args.chunk_records)
    _positive("--chunk-bytes", args.chunk_bytes)
    if operation is Operation.UPSERT and not args.external_id:
        raise _CommandError("upsert needs --external-id FIELD (e.g. --external-id External_Id__c, or Id)")
    if operation is not Operation.UPSERT and args.external_id:
        raise _CommandError(f"--external-id is only for upsert, not {operation.value}")
    try:
        "".encode(args.encoding)
    except LookupError:
        raise _CommandError(f"--encoding: unknown encoding {args.encoding!r}") from None
    path = Path(args.file)
    if not path.exists():
        raise _CommandError(f"{args.file}: no such file")
    if not path.is_file():
        raise _CommandError(f"{args.file}: not a file")
    if args.resume and not args.out:
        raise _CommandError("--resume needs --out DIR: the directory of the load to continue")
    chunks = ChunkConfig(
        **{
            key: value
            for key, value in (("max_records", args.chunk_records), ("max_bytes", args.chunk_bytes))
            if value is not None
        }
    )
    if args.out:
        out_dir = Path(args.out)
    else:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        out_dir = Path("asyncbulk-results") / f"{args.object}-{operation.value}-{stamp}"
    options: dict[str, Any] = {
        "object": args.object,
        "operation": operation,
        "external_id_field": args.external_id,
        "column_delimiter": delimiter,
        "line_ending": line_ending,
        "encoding": args.encoding,
        "chunks": chunks,
    }
    # Absolute paths: the journal records the input's path, and a resume may run from elsewhere.
    return path.resolve(), out_dir.resolve(), options


async def _cmd_resume(args: argparse.Namespace) -> int:
    source, out_dir, options = _resume_plan(args)
    return await _run_load(args, source, out_dir, options, resume=True)


def _resume_plan(args: argparse.Namespace) -> tuple[Path, Path, dict[str, Any]]:
    """The input, out dir and options of the load journaled in ``args.dir``."""
    from ._journal import Journal

    out_dir = Path(args.dir).resolve()
    _positive("--concurrency", args.concurrency)
    start = Journal.read(out_dir)[0]
    recorded = start.get("options") or {}
    source = (start.get("input") or {}).get("path")
    if not source or not recorded.get("object") or not recorded.get("operation"):
        raise _CommandError(f"{out_dir / 'journal.jsonl'}: the start record names no input file or options")
    chunk_values = {
        key: recorded[key]
        for key in ("max_records", "max_bytes", "multipart_max_chars")
        if recorded.get(key) is not None
    }
    options: dict[str, Any] = {
        "object": recorded["object"],
        "operation": recorded["operation"],
        "external_id_field": recorded.get("external_id_field"),
        "column_delimiter": recorded.get("column_delimiter") or "COMMA",
        "line_ending": recorded.get("line_ending"),
        "encoding": recorded.get("encoding") or "utf-8",
        "chunks": ChunkConfig(**chunk_values),
    }
    return Path(source), out_dir, options


async def _run_load(
    args: argparse.Namespace, source: Path, out_dir: Path, options: dict[str, Any], *, resume: bool
) -> int:
    from ._load import Connection

    args.resolved_out = out_dir
    poll = _poll_config(args)
    if poll is not None:
        options["poll"] = poll
    connection = Connection(
        auth=_auth(args),
        api_version=args.api_version,
        concurrency=args.concurrency,
        ca_file=_ca_file(args),
    )
    operation = Operation.parse(options["operation"])
    title = f"{options['object']} {operation.value}"
    if not args.no_progress:
        print(f"asyncbulk: {'resuming' if resume else 'loading'} {source} -> {out_dir}", file=sys.stderr)

    async def work(progress: Callable[..., Any] | None) -> LoadResult:
        async with connection:
            result: LoadResult = await connection.load(
                source, out_dir=out_dir, progress=progress, resume=resume, **options
            )
            return result

    result = await _with_display(args, title, work)
    return _report(args, result)


def _poll_config(args: argparse.Namespace) -> PollConfig | None:
    interval = args.poll_interval
    if interval is None:
        return None
    if interval <= 0:
        raise _CommandError(f"--poll-interval must be a positive number, got {interval}")
    defaults = PollConfig()
    return PollConfig(
        initial=interval,
        minimum=min(defaults.minimum, interval),
        maximum=max(defaults.maximum, interval),
    )


def _ca_file(args: argparse.Namespace) -> str | None:
    if args.ca_file and not Path(args.ca_file).is_file():
        raise _CommandError(f"--ca-file: no such file: {args.ca_file}")
    return str(args.ca_file) if args.ca_file else None


async def _with_display(
    args: argparse.Namespace,
    title: str,
    work: Callable[[Callable[..., Any] | None], Awaitable[LoadResult]],
    stream: TextIO | None = None,
) -> LoadResult:
    """Run ``work(progress)`` with a live display on stderr (unless --no-progress)."""
    from ._display import ProgressDisplay

    if args.no_progress:
        return await work(None)
    display = ProgressDisplay(stream or sys.stderr, title=title)
    outcome: list[LoadResult] = []

    async def ticker() -> None:
        while True:
            await anyio.sleep(0.25)
            display.tick()

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(ticker)
            try:
                outcome.append(await work(display))
            finally:
                tg.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        inner = _unwrap(group)
        if inner is group:
            raise
        raise inner from None
    finally:
        display.close()
    return outcome[0]


def _report(args: argparse.Namespace, result: LoadResult, *, expected_failures: int | None = None) -> int:
    from ._display import render_summary, summary_dict

    if expected_failures is None:
        code = EXIT_OK if result.ok else EXIT_SOME_FAILED
    else:
        fine = result.failed == expected_failures and result.unprocessed == 0 and not result.cancelled
        code = EXIT_OK if fine else EXIT_SOME_FAILED
    if args.json:
        data = summary_dict(result, exit_code=code)
        if expected_failures is not None:
            data["expected_failures"] = expected_failures
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(render_summary(result))
    return code


# -- job commands ----------------------------------------------------------------------------------

_JOB_COLUMNS = ("id", "object", "operation", "state", "createdDate")


async def _cmd_jobs(args: argparse.Namespace) -> int:
    if args.limit < 0:
        raise _CommandError(f"--limit must be zero or more, got {args.limit}")
    async with _client(args) as client:
        jobs = [job async for job in client.list_jobs()]
    # The API returns jobs in no set order; newest first is what "recent" means.
    jobs.sort(key=lambda job: str(job.get("createdDate") or ""), reverse=True)
    if args.limit:
        jobs = jobs[: args.limit]
    if args.json:
        sys.stdout.write(orjson.dumps(jobs, option=orjson.OPT_INDENT_2).decode() + "\n")
        return EXIT_OK
    if not jobs:
        print("no ingest jobs")
        return EXIT_OK
    rows = [["ID", "OBJECT", "OPERATION", "STATE", "CREATED"]]
    rows += [[str(job.get(col) or "") for col in _JOB_COLUMNS] for job in jobs]
    print(_table(rows))
    return EXIT_OK


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def _print_job(info: dict[str, Any], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(orjson.dumps(info, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    width = max((len(key) for key in info), default=0)
    for key, value in info.items():
        text = value if isinstance(value, str) else orjson.dumps(value).decode()
        print(f"{key:<{width}}  {text}")


async def _cmd_job(args: argparse.Namespace) -> int:
    async with _client(args) as client:
        info = await client.job_info(args.job_id)
    _print_job(info, args.json)
    return EXIT_OK


async def _cmd_abort(args: argparse.Namespace) -> int:
    async with _client(args) as client:
        info = await client.abort_job(args.job_id)
    if args.json:
        _print_job(info, True)
    else:
        print(f"job {info.get('id', args.job_id)}: {info.get('state', 'Aborted')}")
    return EXIT_OK


async def _cmd_results(args: argparse.Namespace) -> int:
    out_dir = _absolute(args.out or f"results-{args.job_id}")
    files: dict[str, dict[str, Any]] = {}
    async with _client(args) as client:
        # Ask for the job first: an unknown id then fails with one clear error and no empty dir.
        info = await client.job_info(args.job_id)
        await anyio.to_thread.run_sync(lambda: out_dir.mkdir(parents=True, exist_ok=True))
        for kind in ("successful", "failed", "unprocessed"):
            dest = out_dir / f"{kind}.csv"
            try:
                size = await client.download_results(args.job_id, kind, dest)
            except NotFoundError as exc:
                # A job that never got data (Open, or Failed at upload) has no result files yet.
                files[kind] = {"path": None, "bytes": 0, "error": exc.message}
                continue
            files[kind] = {"path": str(dest), "bytes": size}
    if args.json:
        data = {"job_id": args.job_id, "state": info.get("state"), "files": files}
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
        return EXIT_OK
    print(
        f"job {args.job_id}: {info.get('state')}, {info.get('numberRecordsProcessed', 0)} processed, "
        f"{info.get('numberRecordsFailed', 0)} failed"
    )
    for kind, entry in files.items():
        if entry["path"] is None:
            print(f"  {kind:<12} not available: {entry['error']}")
        else:
            print(f"  {kind:<12} {entry['path']} ({entry['bytes']:,} bytes)")
    return EXIT_OK


async def _cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    _positive("--records", args.records)
    _positive("--chunk-records", args.chunk_records)
    _positive("--concurrency", args.concurrency)
    if args.records_per_second is not None and args.records_per_second < 0:
        raise _CommandError(f"--records-per-second must be zero or more, got {args.records_per_second}")
    return await run_demo(args)


_COMMANDS: dict[str, Callable[[argparse.Namespace], Coroutine[Any, Any, int]]] = {
    "load": lambda a: _guarded(_cmd_load(a)),
    "resume": lambda a: _guarded(_cmd_resume(a)),
    "jobs": lambda a: _guarded(_cmd_jobs(a)),
    "job": lambda a: _guarded(_cmd_job(a)),
    "abort": lambda a: _guarded(_cmd_abort(a)),
    "results": lambda a: _guarded(_cmd_results(a)),
    "demo": lambda a: _guarded(_cmd_demo(a)),
}
