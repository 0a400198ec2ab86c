"""Helpers for tests that drive a whole load: an emulated org in a thread, CLI runs, record checks.

Everything here goes through public names (``asyncbulk``, ``asyncbulk.emulator``, the CLI's
``main``) and through the org's REST API over real loopback HTTP, the way a user would look at a
real org: records through ``/query``, jobs through ``/jobs/ingest``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

# The shared test data, imported in this one place only (it moves to tests/_cases/ later).
from _cases.contacts import HEADER, contact_rows, read_result, write_csv
from asyncbulk import ChunkConfig, LoadResult, PollConfig
from asyncbulk._cli import main as cli_main
from asyncbulk.emulator import EmulatorThread

__all__ = [
    "API",
    "FAST_POLL",
    "HEADER",
    "KEYED_HEADER",
    "LOAD_CHILD",
    "SMALL_CHUNKS",
    "CliRun",
    "Org",
    "assert_each_record_once",
    "contact_rows",
    "describe_outcome",
    "each_record_once",
    "emulator_thread",
    "free_port",
    "keyed_rows",
    "load_in_child_killed_at",
    "outcome_of",
    "read_result",
    "run_cli",
    "run_cli_process",
    "write_csv",
]

API = "/services/data/v66.0"
FAST_POLL = PollConfig(initial=0.05, minimum=0.02, maximum=0.3)
#: Many small create/upload/close jobs: the loader's steps come one by one.
SMALL_CHUNKS = ChunkConfig(max_records=100, multipart_max_chars=0)
KEYED_HEADER = [*HEADER, "External_Id__c"]

T = TypeVar("T")


def keyed_rows(count: int, *, seed: int = 1, bad_every: int = 0) -> list[list[str]]:
    """Contact rows with a unique ``External_Id__c`` (``EXT-<record number>``), to count in the org."""
    rows = contact_rows(count, seed=seed, bad_every=bad_every)
    return [[*row, f"EXT-{i}"] for i, row in enumerate(rows, 1)]


def free_port() -> int:
    """A loopback port nobody listens on right now (for an emulator that must come back on it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def outcome_of(awaitable: Awaitable[T]) -> T | Exception:
    """What ``awaitable`` returned, or the exception it raised (to check side effects first)."""
    try:
        return await awaitable
    except Exception as exc:
        return exc


def describe_outcome(outcome: object) -> str:
    """A short account of what a load returned or raised, for assertion messages."""
    if isinstance(outcome, LoadResult):
        return (
            f"LoadResult(records={outcome.records}, succeeded={outcome.succeeded}, "
            f"failed={outcome.failed}, unprocessed={outcome.unprocessed}, jobs={len(outcome.jobs)})"
        )
    return f"{type(outcome).__name__}: {outcome}"


class Org:
    """An emulated org looked at over its REST API (real HTTP, the bearer token, no internals).

    Works with an :class:`EmulatorThread` (or :class:`EmulatorProcess`): the emulator runs outside
    the test's event loop, so these blocking calls may be made from async tests too.
    """

    def __init__(self, emulator: Any, *, access_token: str | None = None) -> None:
        self.emulator = emulator
        self._access_token = access_token

    @property
    def instance_url(self) -> str:
        return str(self.emulator.instance_url)

    @property
    def access_token(self) -> str:
        return self._access_token or str(self.emulator.access_token)

    def with_client_credentials(self, client_id: str, client_secret: str) -> Org:
        """This org seen with a fresh token from the OAuth client credentials flow."""
        form = urllib.parse.urlencode(
            {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
        ).encode()
        request = urllib.request.Request(f"{self.instance_url}/services/oauth2/token", data=form)
        with urllib.request.urlopen(request, timeout=10) as response:
            token = json.loads(response.read())["access_token"]
        return Org(self.emulator, access_token=token)

    def get(self, path_or_url: str) -> Any:
        """GET a JSON resource with the bearer token."""
        url = path_or_url if path_or_url.startswith("http") else self.instance_url + path_or_url
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.access_token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def jobs(self) -> list[dict[str, Any]]:
        """Every ingest job the org has, page after page."""
        jobs: list[dict[str, Any]] = []
        url: str | None = f"{API}/jobs/ingest"
        while url:
            page = self.get(url)
            jobs += page["records"]
            url = None if page.get("done") else page.get("nextRecordsUrl")
        return jobs

    def job_count(self) -> int:
        return len(self.jobs())

    def query(self, soql: str) -> list[dict[str, Any]]:
        """The records a SOQL query returns."""
        body = self.get(f"{API}/query?q={urllib.parse.quote_plus(soql)}")
        return list(body["records"])

    def count(self, sobject: str = "Contact") -> int:
        """How many records of ``sobject`` are stored."""
        body = self.get(f"{API}/query?q={urllib.parse.quote_plus(f'SELECT COUNT() FROM {sobject}')}")
        return int(body["totalSize"])

    def external_ids(self) -> Counter[str]:
        """Every stored Contact ``External_Id__c``, with how often it is stored."""
        return Counter(r["External_Id__c"] for r in self.query("SELECT External_Id__c FROM Contact"))

    def expire_tokens(self) -> None:
        """Make every token issued so far stop working (the emulator's test-only control route)."""
        request = urllib.request.Request(
            f"{self.instance_url}/__emulator/expire-tokens",
            method="POST",
            data=b"",
            headers={"Authorization": f"Bearer {self.emulator.admin_token}"},
        )
        with urllib.request.urlopen(request, timeout=10):
            pass

    def cli_auth(self) -> list[str]:
        """The CLI options that connect to this org with its token."""
        return ["--instance-url", self.instance_url, "--access-token", self.access_token]

    def load_auth(self) -> dict[str, Any]:
        """``load()``'s keyword arguments that connect to this org with its token."""
        return {"instance_url": self.instance_url, "access_token": self.access_token}


def each_record_once(out: Path) -> Counter[int]:
    """How often each input record appears across the three merged result files."""
    seen: Counter[int] = Counter()
    for name in ("success.csv", "failed.csv", "unprocessed.csv"):
        path = out / name
        if path.exists():
            seen.update(int(r["asyncbulk__record"]) for r in read_result(path))
    return seen


def assert_each_record_once(out: Path, org: Org, total: int) -> None:
    """Every input record is in the result files exactly once, and stored in the org exactly once."""
    seen = each_record_once(out)
    missing = sorted(set(range(1, total + 1)) - set(seen))
    twice = sorted(r for r, n in seen.items() if n > 1)
    assert not missing and not twice, f"result files: missing {missing[:10]}, twice {twice[:10]}"
    stored = org.external_ids()
    doubled = sorted(k for k, n in stored.items() if n > 1)
    assert not doubled, f"stored twice: {doubled[:10]}"
    succeeded = {r["External_Id__c"] for r in read_result(out / "success.csv")}
    assert set(stored) == succeeded, "the org's records are not the rows success.csv reports"


@dataclass(frozen=True)
class CliRun:
    """One run of the ``asyncbulk`` command line."""

    code: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("asyncbulk: error:")]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> CliRun:
    """Run the CLI in this process, as the console script does, capturing its output."""
    capsys.readouterr()
    code = cli_main(list(argv))
    out, err = capsys.readouterr()
    return CliRun(code, out, err)


def run_cli_process(
    *argv: str, env: dict[str, str] | None = None, stdin: str | None = None, cwd: Path | None = None
) -> CliRun:
    """Run ``python -m asyncbulk ARGV`` in a child process (for stdin, crash hooks, a fresh process)."""
    done = subprocess.run(
        [sys.executable, "-m", "asyncbulk", *argv],
        env={**os.environ, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )
    return CliRun(done.returncode, done.stdout, done.stderr)


#: A child process that runs one ``load()`` (for the crash hook ``ASYNCBULK_CRASH_AT``): argv is
#: instance URL, token, input, out dir, records per chunk, concurrency.
LOAD_CHILD = textwrap.dedent(
    """
    import sys, anyio, asyncbulk
    from asyncbulk import ChunkConfig, PollConfig
    url, token, src, out, per_chunk, concurrency = sys.argv[1:7]
    anyio.run(lambda: asyncbulk.load(
        src, object="Contact", operation="insert", instance_url=url, access_token=token, out_dir=out,
        chunks=ChunkConfig(max_records=int(per_chunk), multipart_max_chars=0),
        poll=PollConfig(initial=0.05, minimum=0.02, maximum=0.3), concurrency=int(concurrency)))
    """
)


def load_in_child_killed_at(
    crash_at: str, org: Org, src: Path, out: Path, *, per_chunk: int, concurrency: int = 1
) -> subprocess.CompletedProcess[bytes]:
    """Run a load in a child process that SIGKILLs itself at crash point ``crash_at``."""
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            LOAD_CHILD,
            org.instance_url,
            org.access_token,
            str(src),
            str(out),
            str(per_chunk),
            str(concurrency),
        ],
        env={**os.environ, "ASYNCBULK_CRASH_AT": crash_at},
        capture_output=True,
        timeout=60,
    )
    assert child.returncode == -9, "the child was meant to be killed: " + child.stderr.decode()[-2000:]
    return child


def emulator_thread(**config: Any) -> EmulatorThread:
    """A fresh emulator in its own thread."""
    from asyncbulk.emulator import EmulatorConfig

    return EmulatorThread(EmulatorConfig(**config))
