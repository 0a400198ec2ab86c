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

from asyncbulk.emulator import EmulatorConfig, EmulatorProcess, FaultConfig

from . import _data, _report

__all__ = ["CONTENDERS", "SCENARIOS", "Contender", "Run", "Scenario", "main"]

RESULTS_DIR = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Contender:
    """One way of loading the file.

    :param kind: ``library`` (``asyncbulk.load``), ``cli`` (the ``asyncbulk`` command),
        ``simple-salesforce`` (its ``bulk2``), ``split-merge`` (asyncbulk's client work, no HTTP).
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
    )
}

#: Stands for the faster simple-salesforce variant of the ``base`` scenario (or ``--sf-best``).
SF_BEST = "sf-best"


@dataclass(frozen=True)
class Scenario:
    """One workload: a size, an operation and an emulator setting.

    :param scale: records as a multiple of ``--records``.
    :param rate: the emulator's records per second per worker (``None``: unthrottled).
    """

    name: str
    description: str
    scale: float
    contenders: tuple[str, ...]
    operation: str = "insert"
    rate: float | None = None
    workers: int = 4
    lock_failure: float = 0.0

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
            ("asyncbulk", "asyncbulk-cli", "sf-default", "sf-batch10k", "split-merge"),
        ),
        Scenario(
            "large", "insert, 5x records, unthrottled (memory flatness)", 5, ("asyncbulk", "split-merge")
        ),
        Scenario(
            "throttled",
            "insert, 1x records, emulator at 5,000 records/s per worker x 4 workers",
            1,
            ("asyncbulk", SF_BEST),
            rate=5_000,
        ),
        Scenario(
            "upsert", "upsert on External_Id__c, 1x records, unthrottled", 1, ("asyncbulk", SF_BEST), "upsert"
        ),
        Scenario(
            "locks", "insert, 1x records, 1% UNABLE_TO_LOCK_ROW", 1, ("asyncbulk", SF_BEST), lock_failure=0.01
        ),
    )
}


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
        """Job status requests (one job's info, or a page of the job list)."""
        return self.requests_by_kind.get("job_info", 0) + self.requests_by_kind.get("job_list", 0)


# -- measuring a child process -------------------------------------------------------------------


def _vm_hwm_kb(pid: int) -> int | None:
    """The process's peak resident set (VmHWM), from /proc; None once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


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
    every contender. CPU comes from ``wait4``'s rusage of that one child.
    """
    with log.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        peak = 0
        done = threading.Event()

        def poll() -> None:
            nonlocal peak
            while not done.is_set():
                value = _vm_hwm_kb(proc.pid)
                if value is not None:
                    peak = max(peak, value)
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


def _emulator_config(scenario: Scenario, settings: _Settings) -> EmulatorConfig:
    return EmulatorConfig(
        workers=scenario.workers,
        records_per_second=scenario.rate,
        tls=settings.tls,
        faults=FaultConfig(seed=settings.seed, lock_failure=scenario.lock_failure),
    )


def _command(contender: Contender, spec_path: Path, spec: dict[str, Any]) -> list[str]:
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
    if scenario.rate:
        run.ideal_seconds = records / (scenario.rate * scenario.workers)
    spec: dict[str, Any] = {
        "kind": contender.kind,
        "file": str(data.path),
        "operation": scenario.operation,
        "external_id_field": "External_Id__c" if scenario.operation == "upsert" else None,
        "out_dir": str(run_dir / "out"),
        "result_path": str(run_dir / "result.json"),
        "batch_size": contender.batch_size,
        "concurrency": 10,
        "sf_wait": settings.sf_wait,
    }
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(Path(__file__).parent.parent), env.get("PYTHONPATH")) if p
    )
    emulator = EmulatorProcess(_emulator_config(scenario, settings)) if contender.needs_emulator else None
    try:
        if emulator is not None:
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
            before = emulator.stats()
        spec_path = run_dir / "spec.json"
        spec_path.write_text(json.dumps(spec))
        measured = _measure(
            _command(contender, spec_path, spec),
            env=env,
            log=run_dir / "output.log",
            # A run that hangs (a job that never finishes: simple-salesforce waits up to 24 h) is
            # killed and reported as failed instead of stalling the whole benchmark.
            timeout=settings.timeout or 300 + records / 500,
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
    used: dict[str, Any] = {"sf_best": settings.sf_best, "data": {}}
    for scenario in scenarios:
        contenders = _resolve(scenario.contenders, settings, wanted)
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
        for round_no in range(1, settings.rounds + 1):
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
    if args.records < 1 or args.rounds < 1:
        raise SystemExit("--records and --rounds must be at least 1")
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
    )
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
