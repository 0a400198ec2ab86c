"""The newer contenders' runs, each in its own process: ``python -m benchmarks._peers SPEC.json``.

Like ``benchmarks._child`` (same spec, same result file), for:

- ``sf-cli``: the Salesforce CLI, ``sf data import bulk --file F --sobject Contact --wait N``, then
  ``sf data bulk results --job-id ID`` for the success and failure files (the import alone only
  prints counts). The org was logged in beforehand (``sf org login access-token``, not timed).
  A file over the per-job limit was cut into parts beforehand (untimed); each part is imported
  by its own command, all at once. This process only waits for the ``sf`` processes; the
  harness measures the whole tree.
- ``extract``: ``asyncbulk.extract(soql, out, ...)`` with default settings.
- ``sf-download``: simple-salesforce's ``sf.bulk2.Contact.download(soql, path=DIR)`` with its
  default page size (50,000 records) and ``wait=``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["main"]


def _json_of(text: str) -> dict[str, Any]:
    start = text.find("{")
    if start < 0:
        return {}
    try:
        found: dict[str, Any] = json.loads(text[start:])
    except ValueError:
        return {}
    return found


def _job_of(answer: dict[str, Any]) -> str | None:
    # Exit 1 with FailedRecordDetailsError when some records failed (as ~3% must here): the job
    # id is then under "data" instead of "result".
    for key in ("result", "data"):
        value = answer.get(key)
        if isinstance(value, dict) and isinstance(value.get("jobId"), str):
            return str(value["jobId"])
    return None


def _sf_cli(spec: dict[str, Any]) -> dict[str, Any]:
    """Each part (the file, or the parts it was cut into) by its own ``sf data import bulk``, all
    at once; then ``sf data bulk results`` for every job, all at once."""
    home = Path(spec["sf_home"])
    sf = spec["sf"]
    base = ["--target-org", "emu", "--json"]
    wait = str(spec.get("sf_cli_wait", 120))

    def start(args: list[str]) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sf, *args, *base], cwd=home, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    imports = [
        start(["data", "import", "bulk", "--file", part, "--sobject", "Contact", "--wait", wait])
        for part in spec.get("parts") or [spec["file"]]
    ]
    jobs = []
    for proc in imports:
        out, err = proc.communicate()
        answer = _json_of(out)
        job = _job_of(answer)
        if job is None:
            said = f"{answer.get('name')}: {answer.get('message')}" if answer else err.strip()[-600:]
            raise RuntimeError(f"sf data import bulk exited {proc.returncode} without a job id: {said}")
        jobs.append(job)
    totals = {"records": 0, "succeeded": 0, "failed": 0, "unprocessed": 0, "jobs": len(jobs)}
    for proc in [start(["data", "bulk", "results", "--job-id", job]) for job in jobs]:
        out, _ = proc.communicate()
        got = _json_of(out).get("result")
        if proc.returncode != 0 or not isinstance(got, dict):
            raise RuntimeError(f"sf data bulk results exited {proc.returncode}: {out[-600:]}")
        totals["records"] += int(got.get("processedRecords", 0))
        totals["succeeded"] += int(got.get("successfulRecords", 0))
        totals["failed"] += int(got.get("failedRecords", 0))
    return totals


def _extract(spec: dict[str, Any]) -> dict[str, Any]:
    import anyio

    import asyncbulk

    out = Path(spec["out_dir"])
    out.mkdir(parents=True, exist_ok=True)

    async def run() -> Any:
        return await asyncbulk.extract(
            spec["soql"],
            out / "extract.csv",
            instance_url=spec["instance_url"],
            access_token=spec["access_token"],
            ca_file=spec.get("ca_file"),
        )

    result = anyio.run(run)
    return {
        "records": result.rows,
        "succeeded": result.rows,
        "failed": 0,
        "unprocessed": 0,
        "pages": result.pages,
        "bytes": result.bytes,
        "parallel": result.parallel,
        "jobs": 1,
        "client_requests": result.api_requests,
    }


def _sf_download(spec: dict[str, Any]) -> dict[str, Any]:
    # requests reads REQUESTS_CA_BUNDLE (set by the parent) to trust the emulator's certificate.
    from simple_salesforce.api import Salesforce

    sf = Salesforce(
        instance_url=spec["instance_url"], session_id=spec["access_token"], version=spec["api_version"]
    )
    handler: Any = sf.bulk2
    out = Path(spec["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    pages: list[dict[str, Any]] = handler.Contact.download(spec["soql"], path=str(out), wait=spec["sf_wait"])
    rows = sum(int(p.get("number_of_records", 0)) for p in pages)
    size = sum(Path(p["file"]).stat().st_size for p in pages if p.get("file"))
    return {
        "records": rows,
        "succeeded": rows,
        "failed": 0,
        "unprocessed": 0,
        "pages": len(pages),
        "bytes": size,
        "jobs": 1,
    }


_KINDS = {"sf-cli": _sf_cli, "extract": _extract, "sf-download": _sf_download}


def main(argv: list[str] | None = None) -> int:
    """Run the contender described by the JSON file ``argv[0]``; write its result next to it."""
    args = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(args[0]).read_text())
    started = time.perf_counter()
    result = _KINDS[spec["kind"]](spec)
    result["work_seconds"] = time.perf_counter() - started
    Path(spec["result_path"]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
