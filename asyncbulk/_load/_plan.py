"""The dry run: a load's plan, from the same preparation a load makes, and the org's allocations."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from .._bulk import BulkClient
from .._exceptions import ApiError
from .._limits import RECORDS_PER_BATCH
from .._options import LoadOptions
from .._result import LoadPlan
from ._files import FileWork, Folders
from ._prepare import Source, prepare

__all__ = ["plan_load"]


async def plan_load(client: BulkClient, source: Source, options: LoadOptions) -> LoadPlan:
    """What loading ``source`` would do (a dry run): the input is checked, the header held against
    the object, the org's remaining allocations read; nothing is created, nothing is written but
    scratch files in a temporary folder."""
    notes: list[str] = []
    requests_before = client.requests_made
    with tempfile.TemporaryDirectory(prefix="asyncbulk-plan-") as scratch:
        folders = Folders(Path(scratch))
        files = FileWork()
        await files.run(lambda: folders.work.mkdir(parents=True, exist_ok=True))
        prepared = await prepare(source, options, folders, client, files, notes)
    limit = options.chunks.multipart_max_chars
    header = len(prepared.layout.header_line)
    # Bytes bound characters from above: a chunk this small is certain to go multipart; one a
    # little over may still qualify (multi-byte text), so this count is a lower bound.
    multipart = sum(1 for c in prepared.chunks if header + c.size <= limit)
    batches = sum(math.ceil(c.records / RECORDS_PER_BATCH) for c in prepared.chunks)
    jobs = len(prepared.chunks)
    # Per job: its submission (1 multipart, or 3), about two status requests, two result files;
    # plus the describe calls already made.
    requests = multipart + 3 * (jobs - multipart) + 2 * jobs + 2 * jobs
    requests += client.requests_made - requests_before  # the describes made already
    remaining: dict[str, int | None] = {}
    try:
        limits = await client.limits()
    except ApiError as exc:
        notes.append(f"/limits was refused ({exc.message}); the org's allocations are unknown")
        limits = {}
    for key, name in (
        ("DailyBulkApiBatches", "batches"),
        ("DailyBulkApiRecords", "records"),
        ("DailyApiRequests", "api"),
    ):
        entry = limits.get(key)
        remaining[name] = (
            int(entry["Remaining"]) if isinstance(entry, dict) and "Remaining" in entry else None
        )
    if remaining["batches"] is not None and batches > remaining["batches"]:
        notes.append(
            f"the load needs {batches} batches but the org has {remaining['batches']} left for "
            "the rolling 24 hours: jobs past that point fail"
        )
    if remaining["records"] is not None and prepared.records > remaining["records"]:
        notes.append(
            f"the load has {prepared.records} records but the org may load {remaining['records']} more today"
        )
    return LoadPlan(
        object=options.object,
        operation=options.operation.value,
        records=prepared.records + len(prepared.skipped),
        chunks=jobs,
        jobs=jobs,
        multipart_chunks=multipart,
        batches=batches,
        api_requests=requests,
        daily_batches_remaining=remaining["batches"],
        daily_records_remaining=remaining["records"],
        daily_api_requests_remaining=remaining["api"],
        columns=tuple(prepared.layout.columns),
        skipped=len(prepared.skipped),
        notes=tuple(notes),
    )
