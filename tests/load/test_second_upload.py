"""Defect 1: the second-upload reconciliation looked for "multiple contents"; Salesforce's real text
is "Found multipe contents for job: <id>, please 'Close' / 'Abort' / 'Delete' the current Job then
create a new Job and make sure you only do 'PUT' once on a given Job." (its own typo,
``BULK_API_ERROR``). After an upload whose outcome is unknown, the loader PUTs again and must take
that refusal as "the first upload arrived".

Both ways of getting there are checked: a PUT whose reply is lost after the emulator processed it,
and a resume after a crash right after the upload (``maybe_sent``). On an emulator that still
sends "multiple" these pass today; with the real text they fail until the client is fixed.
"""

from __future__ import annotations

from pathlib import Path

from _cases.org import (
    FAST_POLL,
    KEYED_HEADER,
    SMALL_CHUNKS,
    Org,
    assert_each_record_once,
    keyed_rows,
    load_in_child_killed_at,
    write_csv,
)

import asyncbulk
from asyncbulk import ProgressEvent, RetryConfig
from asyncbulk.emulator import FaultConfig

RECORDS = 100  # one create/upload/close job
#: With only ``drop_after`` on, the emulator draws one number per request from Random(seed): for
#: seed 36 the first draw (the PUT) is below 0.5 and the next five are above, so exactly the
#: upload is processed and its reply lost.
LOST_UPLOAD_REPLY = FaultConfig(seed=36, drop_after=0.5)
FAST_RETRY = RetryConfig(base_delay=0.01, max_delay=0.1)


async def test_upload_reply_lost_then_second_put_refused(org: Org, tmp_path: Path) -> None:
    """Defect 1: the reply to the PUT is lost after the data arrived; the second PUT is refused
    with the "contents for job" text, which must count as success."""
    src = write_csv(tmp_path / "in.csv", keyed_rows(RECORDS), header=KEYED_HEADER)
    out = tmp_path / "out"

    def lose_the_upload_reply(event: ProgressEvent) -> None:
        if event.kind == "job_created":
            org.emulator.set_faults(LOST_UPLOAD_REPLY)
        elif event.kind == "job_uploaded":
            org.emulator.set_faults(FaultConfig())

    result = await asyncbulk.load(
        src,
        object="Contact",
        operation="insert",
        out_dir=out,
        chunks=SMALL_CHUNKS,
        poll=FAST_POLL,
        retry=FAST_RETRY,
        concurrency=1,
        progress=lose_the_upload_reply,
        **org.load_auth(),
    )
    stats = org.emulator.stats()
    assert stats["faults_injected"].get("drop_after") == 1, stats["faults_injected"]
    assert stats["requests_by_kind"].get("upload") == 2, "the lost reply did not hit the upload"
    assert result.succeeded == RECORDS
    assert_each_record_once(out, org, RECORDS)


async def test_resume_after_a_crash_right_after_the_upload(org: Org, tmp_path: Path) -> None:
    """Defect 1 on resume: the crashed run uploaded the data (``maybe_sent``); the resumed run's
    second PUT is refused, which must count as success."""
    src = write_csv(tmp_path / "in.csv", keyed_rows(RECORDS), header=KEYED_HEADER)
    out = tmp_path / "out"
    load_in_child_killed_at("uploaded:1", org, src, out, per_chunk=RECORDS)
    result = await asyncbulk.load(
        src,
        object="Contact",
        operation="insert",
        out_dir=out,
        chunks=SMALL_CHUNKS,
        poll=FAST_POLL,
        resume=True,
        **org.load_auth(),
    )
    assert org.emulator.stats()["requests_by_kind"].get("upload") == 2
    assert result.succeeded == RECORDS
    assert_each_record_once(out, org, RECORDS)
