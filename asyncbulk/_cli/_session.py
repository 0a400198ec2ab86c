"""What every command that runs a load shares: the live display, the report, the exit code.

:class:`Session` is imported by the commands and by the demo, and imports neither: it is the CLI's
service, not a command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO, TypeVar

import anyio
import orjson

from .._config import OptionError, PollConfig, RetryConfig
from .._display import ProgressDisplay, render_summary
from .._progress import ProgressCallback
from .._result import LoadResult

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_SOME_FAILED",
    "EXIT_USAGE",
    "FLAGS",
    "CommandError",
    "Session",
    "UsageError",
    "poll_config",
    "retry_config",
    "unwrap",
]

T = TypeVar("T")

#: Every record succeeded (or the command did what it was asked).
EXIT_OK = 0
#: The command line itself is wrong (argparse's own code: unknown option, missing argument).
EXIT_USAGE = 2
#: The load ran to its end but some records failed, were skipped or were not processed.
EXIT_SOME_FAILED = 3
#: The command could not do its work: a bad option value, bad input, a refused login, an API or
#: network error.
EXIT_ERROR = 4
#: Interrupted (Ctrl-C); the shell's convention 128 + SIGINT.
EXIT_INTERRUPTED = 130

#: The flag of each library option, so an :class:`OptionError` names what the user typed.
FLAGS = {
    "object": "OBJECT",
    "operation": "OPERATION",
    "external_id_field": "--external-id",
    "column_delimiter": "--delimiter",
    "line_ending": "--line-ending",
    "encoding": "--encoding",
    "bad_rows": "--bad-rows",
    "out_dir": "--out",
    "max_records (chunk records)": "--chunk-records",
    "max_bytes (chunk bytes)": "--chunk-bytes",
    "max_concurrent_jobs (concurrency)": "--concurrency",
    "soql": "SOQL",
    "max_records": "--max-records",
    "concurrency": "--pages-at-once",
}


class CommandError(Exception):
    """A one-line error the CLI itself detects (before calling the library)."""


class UsageError(CommandError):
    """The command line itself is incomplete or contradictory (exit code 2, as argparse's own)."""


def unwrap(exc: BaseException) -> BaseException:
    """The one real error inside task-group exception groups, if there is just one."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def flag_error(exc: OptionError) -> CommandError:
    """An option error, with the option named as the command line spells it."""
    flag = FLAGS.get(exc.option, exc.option)
    return CommandError(f"{flag}: {exc.detail}")


def poll_config(args: argparse.Namespace) -> PollConfig | None:
    """The ``--poll-interval`` pacing, if given."""
    interval = args.poll_interval
    if interval is None:
        return None
    if interval <= 0:
        raise CommandError(f"--poll-interval must be a positive number, got {interval}")
    defaults = PollConfig()
    return PollConfig(
        initial=interval,
        minimum=min(defaults.minimum, interval),
        maximum=max(defaults.maximum, interval),
    )


def retry_config(args: argparse.Namespace) -> RetryConfig | None:
    """The ``--retry-budget`` retries, if given."""
    budget = getattr(args, "retry_budget", None)
    if budget is None:
        return None
    if budget <= 0:
        raise CommandError(f"--retry-budget must be a positive number of seconds, got {budget}")
    return RetryConfig(budget=budget)


@dataclass
class Session:
    """One command's run: its arguments, where its load writes, and how it reports.

    :param args: the parsed command line.
    :param stream: where progress goes (stderr; stdout is kept for the summary and JSON).
    """

    args: argparse.Namespace
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    #: The out folder of the load the command runs, once known (for the "continue with" hint).
    resume_dir: Path | None = None
    #: Secrets to mask in any message (a second, cheap safety net: the library never prints one).
    secrets: list[str] = field(default_factory=list)

    def status(self, text: str) -> None:
        """A line on stderr, unless ``--no-progress``."""
        if not self.args.no_progress:
            print(text, file=self.stream)

    async def run_load(self, title: str, work: Callable[[ProgressCallback | None], Awaitable[T]]) -> T:
        """Run ``work(progress)`` (a load or an extract) with a live display on stderr (unless
        ``--no-progress``)."""
        if self.args.no_progress:
            return await work(None)
        display = ProgressDisplay(self.stream, title=title)
        outcome: list[T] = []

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
            inner = unwrap(group)
            if inner is group:
                raise
            raise inner from None
        finally:
            display.close()
        return outcome[0]

    def report(self, result: LoadResult, *, expected_failures: int | None = None) -> int:
        """Print the summary (a table, or ``--json``); return the exit code it deserves."""
        if expected_failures is None:
            code = EXIT_OK if result.ok else EXIT_SOME_FAILED
        else:
            fine = (
                result.failed == expected_failures
                and result.unprocessed == 0
                and result.skipped == 0
                and not result.cancelled
            )
            code = EXIT_OK if fine else EXIT_SOME_FAILED
        if self.args.json:
            data = {**result.to_dict(), "exit_code": code}
            if expected_failures is not None:
                data["expected_failures"] = expected_failures
            sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
        else:
            print(render_summary(result))
        return code

    def error(self, message: str) -> None:
        """Print ``asyncbulk: error: <message>`` as one line, with any secret masked."""
        print(f"asyncbulk: error: {mask(message, self.secrets)}", file=sys.stderr)


def mask(message: str, secrets: Sequence[str]) -> str:
    """``message`` on one line, with every secret of four characters or more replaced by ``***``."""
    for secret in secrets:
        if len(secret) >= 4:
            message = message.replace(secret, "***")
    return " ".join(message.split())
