"""``extract()``: a Bulk API 2.0 query, streamed to one CSV file, resumable."""

from __future__ import annotations

import os
from pathlib import Path

from .._bulk import BulkClient
from .._config import ColumnDelimiter, LineEnding, PollConfig
from .._options import ExtractOptions
from .._progress import ProgressCallback
from .._result import ExtractResult
from ._run import ExtractRun

__all__ = ["default_work_dir", "extract_options", "run_extract"]


def default_work_dir(out: str | os.PathLike[str]) -> Path:
    """Where an extract keeps its journal and downloaded pages: ``OUT.asyncbulk`` beside the file."""
    path = Path(out)
    return path.with_name(path.name + ".asyncbulk")


async def run_extract(
    client: BulkClient,
    options: ExtractOptions,
    out: str | os.PathLike[str],
    *,
    work_dir: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
    resume: bool = False,
    poll: PollConfig | None = None,
    then_load: dict[str, object] | None = None,
) -> ExtractResult:
    """Run one extract over an open client (what ``extract()`` and ``Connection.extract`` do)."""
    work = Path(work_dir) if work_dir is not None else default_work_dir(out)
    run = ExtractRun(
        client, options, Path(out), work, progress, resume=resume, poll=poll, then_load=then_load
    )
    return await run.run()


def extract_options(
    soql: str,
    *,
    query_all: bool,
    column_delimiter: str | ColumnDelimiter,
    line_ending: str | LineEnding,
    max_records: int | None,
    concurrency: int,
    keep_job: bool,
) -> ExtractOptions:
    """The options of an extract, checked."""
    return ExtractOptions(
        soql=soql,
        query_all=query_all,
        column_delimiter=ColumnDelimiter.parse(column_delimiter),
        line_ending=LineEnding.parse(line_ending),
        max_records=max_records,
        concurrency=concurrency,
        keep_job=keep_job,
    )
