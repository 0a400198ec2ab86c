"""Where a paced load's time goes: ``python -m benchmarks.throttle_probe --records 200000``.

Runs ``asyncbulk.load`` in a child process (timed from its spawn, as the harness times it) against a
throttled emulator (5,000 records/s per worker x 4 workers by default), and prints a timeline:
the child's own events (validated, each job created, uploaded, seen finished, merged) next to the
org's (each job's ``createdDate`` and ``systemModstamp``, its completion), the org's busy span, the
start-up and tail costs, and the status requests per job. Not part of the reference run; a tool
for tuning the pipeline's scheduling.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["main"]


def _child(spec_path: str) -> None:
    """The load itself, writing its progress events with wall-clock times."""
    import anyio

    import asyncbulk

    spec = json.loads(Path(spec_path).read_text())
    events: list[dict[str, Any]] = []

    def on_progress(event: asyncbulk.ProgressEvent) -> None:
        events.append(
            {
                "t": time.time(),
                "kind": event.kind,
                "job": event.job_id,
                "chunk": event.chunk,
                "state": event.state,
            }
        )

    async def run() -> Any:
        extra: dict[str, Any] = {}
        if spec.get("poll"):
            extra["poll"] = asyncbulk.PollConfig(**json.loads(spec["poll"]))
        return await asyncbulk.load(
            spec["file"],
            object="Contact",
            operation="insert",
            instance_url=spec["instance_url"],
            access_token=spec["access_token"],
            out_dir=spec["out_dir"],
            ca_file=spec.get("ca_file"),
            progress=on_progress,
            **extra,
        )

    result = anyio.run(run)
    Path(spec["events"]).write_text(json.dumps({"events": events, "jobs": len(result.jobs)}))


def _get(url: str, token: str, ctx: ssl.SSLContext | None) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, context=ctx) as response:
        return json.loads(response.read())


def _when(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def main(argv: list[str] | None = None) -> None:
    """Run one probed load and print its timeline."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.throttle_probe")
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=5_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--work-dir", default=None)
    parser.add_argument("--profile", default=None, help="an emulator profile name, if the emulator has them")
    parser.add_argument("--poll", default=None, help="PollConfig fields as JSON, to try other pacing")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child)
        return

    from asyncbulk.emulator import EmulatorConfig, EmulatorProcess

    from . import _data

    work = Path(args.work_dir or tempfile.mkdtemp(prefix="asyncbulk-probe-"))
    data = _data.generate(work / "data", args.records)
    config_args: dict[str, Any] = {"workers": args.workers, "records_per_second": args.rate, "tls": True}
    if args.profile:
        from asyncbulk.emulator import Profile

        config_args["profile"] = Profile.named(args.profile)
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=work))
    with EmulatorProcess(EmulatorConfig(**config_args)) as emulator:
        spec = {
            "file": str(data.path),
            "out_dir": str(run_dir / "out"),
            "events": str(run_dir / "events.json"),
            "instance_url": emulator.instance_url,
            "access_token": emulator.access_token,
            "ca_file": emulator.ca_file,
            "poll": args.poll,
        }
        spec_path = run_dir / "spec.json"
        spec_path.write_text(json.dumps(spec))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(Path(__file__).parent.parent), env.get("PYTHONPATH")) if p
        )
        before = emulator.stats()
        t0 = time.time()
        subprocess.run(
            [sys.executable, "-m", "benchmarks.throttle_probe", "--child", str(spec_path)],
            env=env,
            check=True,
        )
        t_exit = time.time()
        after = emulator.stats()
        ctx = ssl.create_default_context(cafile=emulator.ca_file) if emulator.ca_file else None
        base = f"{emulator.instance_url}/services/data/v{emulator.api_version}/jobs/ingest"
        listed = _get(base, emulator.access_token, ctx)["records"]
        got = json.loads(Path(spec["events"]).read_text())
        ours = {e["job"] for e in got["events"] if e["job"]}
        # The realistic profile lists other users' and Bulk 1.0 jobs too: only the load's own.
        jobs = [_get(f"{base}/{j['id']}", emulator.access_token, ctx) for j in listed if j["id"] in ours]
    events = got["events"]
    kinds = {
        k: after["requests_by_kind"].get(k, 0) - before["requests_by_kind"].get(k, 0)
        for k in after["requests_by_kind"]
    }
    status = kinds.get("job_info", 0) + kinds.get("job_list", 0)
    ideal = args.records / (args.rate * args.workers)
    wall = t_exit - t0
    first = {e["kind"]: e["t"] for e in reversed(events)}
    print(
        f"records {args.records}  jobs {len(jobs)}  wall {wall:.2f}s  ideal {ideal:.2f}s  "
        f"overhead {wall / ideal - 1:+.1%}"
    )
    print(
        f"status requests {status} ({status / max(len(jobs), 1):.2f}/job)  "
        f"requests { {k: v for k, v in kinds.items() if v} }"
    )
    print(f"validated at {first.get('validated', t0) - t0:.2f}s")
    ends = []
    by_job: dict[str, dict[str, float]] = {}
    for e in events:
        if e["job"]:
            slot = by_job.setdefault(e["job"], {})
            key = e["kind"] if e["kind"] != "job_state" else f"state:{e['state']}"
            slot.setdefault(key, e["t"])
    for job in sorted(jobs, key=lambda j: j["createdDate"]):
        done = _when(job["systemModstamp"])
        ends.append(done)
        mine = by_job.get(job["id"], {})
        seen = next((v for k, v in mine.items() if k.startswith("state:JobComplete")), None)
        print(
            f"  {job['id']} n={job['numberRecordsProcessed']:>6}"
            f" created {_when(job['createdDate']) - t0:6.2f}"
            f" uploaded {mine.get('job_uploaded', t0) - t0:6.2f} org-done {done - t0:6.2f}"
            f" seen {(seen or t0) - t0:6.2f} (+{(seen or done) - done:.2f})"
            f" merged {mine.get('results_merged', t0) - t0:6.2f}"
        )
    org_end = max(ends)
    first_up = min((v.get("job_uploaded", t_exit) for v in by_job.values()), default=t0)
    print(
        f"first upload closed at {first_up - t0:.2f}s; org done at {org_end - t0:.2f}s "
        f"(busy span {org_end - first_up:.2f}s vs ideal {ideal:.2f}s); "
        f"finished event {first.get('finished', t_exit) - t0:.2f}s; exit {wall:.2f}s; "
        f"tail {t_exit - org_end:.2f}s"
    )


if __name__ == "__main__":
    main()
