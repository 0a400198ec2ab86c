"""The ``asyncbulk`` command line: parse, call the library, print, map the outcome to an exit code.

Commands: ``load``, ``resume``, ``jobs``, ``job``, ``abort``, ``results``, ``demo`` and ``emulator``
(the last one belongs to :mod:`asyncbulk.emulator` and gets its arguments untouched).

Errors the user can fix (a bad option, a missing file, an unknown object, a refused login) are
printed as one line, ``asyncbulk: error: <message>``, never as a traceback; and no message, JSON
output or summary ever shows a credential.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable

from .._exceptions import AsyncBulkError
from .._load import resumable
from ._parser import build_parser
from ._session import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    CommandError,
    Session,
    UsageError,
    unwrap,
)

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_SOME_FAILED", "EXIT_USAGE", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code (the console script exits with it)."""
    args_list = sys.argv[1:] if argv is None else list(argv)
    if args_list and args_list[0] == "emulator":
        from ..emulator._main import main as emulator_main

        return emulator_main(args_list[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # --help, --version, or a usage error (already printed by argparse)
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    from ._commands import COMMANDS

    session = Session(args)
    try:
        return asyncio.run(_guarded(COMMANDS[args.command](session)))
    except KeyboardInterrupt:
        # The load has already aborted its queued jobs and written summary.json on the way out.
        hint = f"; continue with: asyncbulk resume {session.resume_dir}" if _journaled(session) else ""
        print(f"asyncbulk: interrupted{hint}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except UsageError as exc:
        session.error(str(exc))
        return EXIT_USAGE
    except (CommandError, ValueError, AsyncBulkError, OSError) as exc:
        message = _message(exc)
        session.error(message)
        if _journaled(session) and resumable(exc) and "asyncbulk resume" not in message:
            # Jobs may have run before the error: say where their results are and how to go on.
            print(
                f"asyncbulk: results so far in {session.resume_dir}; continue with: "
                f"asyncbulk resume {session.resume_dir}",
                file=sys.stderr,
            )
        return EXIT_ERROR


def _journaled(session: Session) -> bool:
    return session.resume_dir is not None and (session.resume_dir / "journal.jsonl").exists()


def _message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_message(e) for e in exc.exceptions)
    return str(exc) or type(exc).__name__


async def _guarded(coro: Awaitable[int]) -> int:
    try:
        return await coro
    except BaseExceptionGroup as group:
        inner = unwrap(group)
        if inner is group:
            raise
        raise inner from None
