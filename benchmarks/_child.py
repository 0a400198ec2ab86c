"""One contender's run, in its own process: ``python -m benchmarks._child SPEC.json``.

The parent measures the process from outside (wall time, CPU and peak RSS of this process, the
emulator's request counters); this side only does the work and writes a small JSON file with
what it can see from the inside (record counts, the time spent working after imports).

Each contender does the same work end to end: load the file and write every success and failure
to files on disk. For simple-salesforce that means fetching each job's results with
``get_successful_records`` / ``get_failed_records(job_id, file=...)``, since that is what a user
must do to learn which rows failed.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["main"]


def _library(spec: dict[str, Any]) -> dict[str, Any]:
    import anyio

    import asyncbulk

    async def run() -> Any:
        return await asyncbulk.load(
            spec["file"],
            object="Contact",
            operation=spec["operation"],
            external_id_field=spec.get("external_id_field"),
            instance_url=spec["instance_url"],
            access_token=spec["access_token"],
            out_dir=spec["out_dir"],
            ca_file=spec.get("ca_file"),
        )

    result = anyio.run(run)
    return {
        "records": result.records,
        "succeeded": result.succeeded,
        "failed": result.failed,
        "unprocessed": result.unprocessed,
        "records_retried": result.records_retried,
        "jobs": len(result.jobs),
        "client_requests": result.api_requests,
    }


def _simple_salesforce(spec: dict[str, Any]) -> dict[str, Any]:
    # requests reads REQUESTS_CA_BUNDLE (set by the parent) to trust the emulator's certificate.
    from simple_salesforce.api import Salesforce

    sf = Salesforce(
        instance_url=spec["instance_url"], session_id=spec["access_token"], version=spec["api_version"]
    )
    # Typed loosely: simple-salesforce's hints make sf.bulk2 a union of its handlers.
    handler: Any = sf.bulk2
    bulk: Any = handler.Contact
    options: dict[str, Any] = {"csv_file": spec["file"], "wait": spec["sf_wait"]}
    if spec.get("batch_size"):
        options["batch_size"] = spec["batch_size"]
    if spec["operation"] == "upsert":
        # simple-salesforce's upsert takes no concurrency: it runs its jobs one after another.
        jobs: list[dict[str, Any]] = bulk.upsert(external_id_field=spec["external_id_field"], **options)
    else:
        jobs = bulk.insert(concurrency=spec["concurrency"], **options)
    out = Path(spec["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    for job in jobs:
        job_id = job["job_id"]
        bulk.get_successful_records(job_id, file=str(out / f"{job_id}-success.csv"))
        bulk.get_failed_records(job_id, file=str(out / f"{job_id}-failed.csv"))
    failed = sum(int(j["numberRecordsFailed"]) for j in jobs)
    total = sum(int(j["numberRecordsTotal"]) for j in jobs)
    return {
        "records": total,
        "succeeded": sum(int(j["numberRecordsProcessed"]) for j in jobs) - failed,
        "failed": failed,
        "unprocessed": total - sum(int(j["numberRecordsProcessed"]) for j in jobs),
        "jobs": len(jobs),
    }


def _split_merge(spec: dict[str, Any]) -> dict[str, Any]:
    """asyncbulk's own client-side work with no HTTP: validate and chunk, read, then merge results.

    The results a job would return are made up from each chunk's rows (every row succeeds but the
    first of each 33, which fails) and written to disk untimed; only asyncbulk's matching and
    merging of them is timed, exactly as ``load()`` does it after a download.
    """
    import csv

    from asyncbulk import ResultKind
    from asyncbulk import _csv as _split
    from asyncbulk._config import ChunkConfig
    from asyncbulk._load._match import Normalizer, RowIndex, iter_range_rows
    from asyncbulk._load._merge import ResultMerger

    path = Path(spec["file"])
    out = Path(spec["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    config = ChunkConfig()
    # What load() does before any HTTP: one pass that validates and plans the chunks; then each
    # chunk is read (streamed) for its upload.
    t0 = time.perf_counter()
    layout = _split.inspect_layout(path)
    planned = _split.plan_chunks(path, layout, max_records=config.max_records, max_bytes=config.max_bytes)
    report, chunks = planned.report, list(planned.chunks)
    t1 = time.perf_counter()
    # Chunking alone (no checks), measured for the "splitting >= 500 MB/s" target; load() does
    # it inside the one pass above, so it is left out of split_seconds.
    list(_split.iter_chunks(path, layout, max_records=config.max_records, max_bytes=config.max_bytes))
    t2 = time.perf_counter()
    read = 0
    for chunk in chunks:
        read += len(_split.read_chunk(path, layout, chunk))
    t3 = time.perf_counter()
    split_seconds = (t1 - t0) + (t3 - t2)
    rss_after_split = _peak_rss_mb()

    merger = ResultMerger(out, columns=layout.columns, delimiter=",", line_terminator="\n")
    merger.open()
    normalizer = Normalizer(layout.columns, {})
    merge_seconds = 0.0
    merged = 0
    for chunk in chunks:
        success, failed = out / "job-success.csv", out / "job-failed.csv"
        # Untimed: the result files a job would return, streamed from the chunk's rows so that
        # making them up does not set the peak RSS. Every value quoted, as Salesforce (and the
        # emulator) write result files.
        with (
            success.open("w", newline="", encoding="utf-8") as s,
            failed.open("w", newline="", encoding="utf-8") as f,
        ):
            ws = csv.writer(s, lineterminator="\n", quoting=csv.QUOTE_ALL)
            wf = csv.writer(f, lineterminator="\n", quoting=csv.QUOTE_ALL)
            ws.writerow(["sf__Id", "sf__Created", *layout.columns])
            wf.writerow(["sf__Id", "sf__Error", *layout.columns])
            rows = iter_range_rows(path, chunk.start, chunk.size, ",")
            for n, row in enumerate(rows):
                if n % 33 == 0:
                    wf.writerow(
                        [
                            "",
                            "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --",
                            *row,
                        ]
                    )
                else:
                    ws.writerow([f"003{n:015d}", "true", *row])
        began = time.perf_counter()
        index = RowIndex(normalizer)
        index.extend(
            iter_range_rows(path, chunk.start, chunk.size, ","),
            range(chunk.first_record, chunk.first_record + chunk.records),
        )
        counts = merger.merge_job(
            job_id=f"750{chunk.index:015d}",
            index=index,
            delimiter=",",
            paths={ResultKind.SUCCESSFUL: success, ResultKind.FAILED: failed},
        )
        merger.flush()
        merge_seconds += time.perf_counter() - began
        merged += counts.total
    merger.close()
    return {
        "records": report.records,
        "succeeded": merged,
        "failed": 0,
        "unprocessed": 0,
        "jobs": len(chunks),
        "split_seconds": split_seconds,
        "validate_mb_per_s": report.bytes / 1e6 / (t1 - t0) if t1 > t0 else 0.0,
        "chunk_mb_per_s": report.bytes / 1e6 / (t2 - t1) if t2 > t1 else 0.0,
        "read_mb_per_s": read / 1e6 / (t3 - t2) if t3 > t2 else 0.0,
        "peak_rss_mb_after_split": rss_after_split,
        "split_mb_per_s": report.bytes / 1e6 / split_seconds if split_seconds else 0.0,
        "bytes_read": read,
        "merge_seconds": merge_seconds,
        "merge_records_per_s": merged / merge_seconds if merge_seconds else 0.0,
    }


def _peak_rss_mb() -> float:
    """This process's peak resident set so far (VmHWM), in MB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


_KINDS = {"library": _library, "simple-salesforce": _simple_salesforce, "split-merge": _split_merge}


def main(argv: list[str] | None = None) -> int:
    """Run the contender described by the JSON file ``argv[0]``; write its result next to it."""
    args = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(args[0]).read_text())
    started = time.perf_counter()
    result = _KINDS[spec["kind"]](spec)
    result["work_seconds"] = time.perf_counter() - started
    result["peak_rss_mb"] = _peak_rss_mb()
    Path(spec["result_path"]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
