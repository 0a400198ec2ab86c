"""The ``extract`` command, and ``resume`` of an extract."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson

from .._config import OptionError
from .._display import format_count, format_duration
from .._progress import ProgressCallback
from .._result import ExtractResult
from ._commands import absolute, connection_for
from ._session import EXIT_OK, CommandError, Session, flag_error, poll_config

__all__ = ["extract_command", "render_extract", "resume_extract_command"]


def render_extract(result: ExtractResult) -> str:
    """What an extract prints at the end."""
    mode = "in parallel" if result.parallel else "one after another"
    rows = [
        ("rows", format_count(result.rows)),
        ("pages", f"{result.pages} ({mode})"),
        ("time", f"{format_duration(result.seconds)} ({format_count(int(result.rate))} rows/s)"),
        ("bytes", format_count(result.bytes)),
        ("API requests", format_count(result.api_requests)),
        ("job", f"{result.job_id} ({'deleted' if result.job_deleted else 'kept'})"),
        ("file", str(result.path)),
    ]
    width = max(len(key) for key, _ in rows)
    lines = [f"extract: {format_count(result.rows)} rows written" + (" (resumed)" if result.resumed else "")]
    lines += [f"  {key:<{width}}  {value}" for key, value in rows]
    return "\n".join(lines)


def _report(session: Session, result: ExtractResult) -> int:
    if session.args.json:
        sys.stdout.write(orjson.dumps(result.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(render_extract(result))
    return EXIT_OK


async def extract_command(session: Session) -> int:
    """``asyncbulk extract SOQL --out FILE``."""
    args = session.args
    if args.pages_at_once is not None and args.pages_at_once <= 0:
        raise CommandError(f"--pages-at-once must be a positive number, got {args.pages_at_once}")
    out = absolute(Path(args.out))
    connection = connection_for(session)
    # A journal beside the file: an interrupted extract continues with `asyncbulk resume FILE`.
    session.resume_dir = out.with_name(out.name + ".asyncbulk")
    session.status(f"asyncbulk: {'resuming the extract into' if args.resume else 'extracting to'} {out}")

    async def work(progress: ProgressCallback | None) -> ExtractResult:
        async with connection:
            try:
                return await connection.extract(
                    args.soql,
                    out,
                    query_all=args.all,
                    column_delimiter=args.delimiter,
                    line_ending=args.line_ending,
                    max_records=args.max_records,
                    concurrency=args.pages_at_once,
                    keep_job=args.keep_job,
                    progress=progress,
                    resume=args.resume,
                    poll=poll_config(args),
                )
            except OptionError as exc:
                raise flag_error(exc) from None

    return _report(session, await session.run_load("extract", work))


async def resume_extract_command(session: Session, path: Path) -> int:
    """``asyncbulk resume FILE`` for an extract."""
    connection = connection_for(session)
    session.status(f"asyncbulk: resuming the extract in {path}")

    async def work(progress: ProgressCallback | None) -> ExtractResult:
        async with connection:
            return await connection.resume_extract(path, progress=progress)

    return _report(session, await session.run_load("extract", work))
