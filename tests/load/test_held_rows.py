"""Defect 3: resume lost the rows held back for a retry round.

Rows that fail with a retryable code (UNABLE_TO_LOCK_ROW) are held for a retry round, but the
journal's "merged" event did not record them, so after a crash between two merges the rows held
by the jobs merged before the crash were gone: ``AccountingError: the result files account for
1164 of 1200 records``. The reproduction: 1,200 Contacts, chunks of 300, one job at a time, lock
failures on 5 % of rows (seed 5), the loader killed at its third merge, then a resume with the
faults off: every record must be in the result files and in the org exactly once.
"""

from __future__ import annotations

from pathlib import Path

from _cases.org import (
    FAST_POLL,
    KEYED_HEADER,
    Org,
    assert_each_record_once,
    describe_outcome,
    emulator_thread,
    keyed_rows,
    load_in_child_killed_at,
    outcome_of,
    write_csv,
)

import asyncbulk
from asyncbulk import ChunkConfig
from asyncbulk.emulator import FaultConfig

RECORDS = 1_200


async def test_rows_held_for_a_retry_round_survive_a_crash(tmp_path: Path) -> None:
    """Defect 3: design.md's reproduction; today the resume raises AccountingError (1164 of 1200)."""
    src = write_csv(tmp_path / "in.csv", keyed_rows(RECORDS, seed=3), header=KEYED_HEADER)
    out = tmp_path / "out"
    with emulator_thread(
        workers=1, batch_size=300, faults=FaultConfig(seed=5, lock_failure=0.05)
    ) as emulator:
        org = Org(emulator)
        load_in_child_killed_at("merge:3", org, src, out, per_chunk=300)
        assert emulator.stats()["faults_injected"].get("lock_failure", 0) > 0, "no row was held back"
        emulator.set_faults(FaultConfig())
        outcome = await outcome_of(
            asyncbulk.load(
                src,
                object="Contact",
                operation="insert",
                out_dir=out,
                chunks=ChunkConfig(max_records=300, multipart_max_chars=0),
                poll=FAST_POLL,
                resume=True,
                **org.load_auth(),
            )
        )
        assert isinstance(outcome, asyncbulk.LoadResult), describe_outcome(outcome)
        assert (outcome.succeeded, outcome.failed, outcome.unprocessed) == (RECORDS, 0, 0)
        assert outcome.records_retried > 0
        assert_each_record_once(out, org, RECORDS)
