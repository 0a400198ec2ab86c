"""Bulk jobs kept across restarts: the ``jobs``, ``job_data`` and ``job_results`` tables."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .._vocab import ResultKind
from ._store import Store

__all__ = ["JobStore"]


class JobStore:
    """A job's JobInfo record, its uploaded CSV and its result rows, in the org's database.

    Every method is thread-safe (each takes the store's lock for its statements).
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        for sql in (
            "CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, info TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS job_data (id TEXT PRIMARY KEY, data BLOB NOT NULL)",
            "CREATE TABLE IF NOT EXISTS job_results (job_id TEXT NOT NULL, kind TEXT NOT NULL, "
            "seq INTEGER PRIMARY KEY AUTOINCREMENT, data BLOB NOT NULL)",
            "CREATE INDEX IF NOT EXISTS job_results_job ON job_results (job_id, kind, seq)",
        ):
            store.execute(sql)
        # Job ids share the records' counter: never hand out a job id twice across restarts.
        store.seed_ids("jobs")

    def save(self, job_id: str, record: dict[str, Any]) -> None:
        """Store (or replace) a job's record."""
        self._store.execute(
            "INSERT OR REPLACE INTO jobs (id, info) VALUES (?, ?)", (job_id, json.dumps(record))
        )

    def load_all(self) -> list[dict[str, Any]]:
        """Every stored record, in the order the jobs were first saved."""
        rows = self._store.fetchall("SELECT info FROM jobs ORDER BY rowid")
        return [json.loads(r[0]) for r in rows]

    def delete(self, job_id: str) -> None:
        """Forget a job, its data and its results."""
        with self._store.transaction() as tx:
            for sql in (
                "DELETE FROM jobs WHERE id = ?",
                "DELETE FROM job_data WHERE id = ?",
                "DELETE FROM job_results WHERE job_id = ?",
            ):
                tx.executemany(sql, [(job_id,)])

    def save_data(self, job_id: str, data: bytes) -> None:
        """Keep a job's uploaded CSV."""
        self._store.execute("INSERT OR REPLACE INTO job_data (id, data) VALUES (?, ?)", (job_id, data))

    def load_data(self, job_id: str) -> bytes | None:
        """A job's uploaded CSV, or ``None``."""
        rows = self._store.fetchall("SELECT data FROM job_data WHERE id = ?", (job_id,))
        return bytes(rows[0][0]) if rows else None

    def append_results(self, job_id: str, kind: ResultKind, data: bytes) -> None:
        """Add rendered result rows (CSV bytes, no header) to one of the job's result files."""
        self._store.execute(
            "INSERT INTO job_results (job_id, kind, data) VALUES (?, ?, ?)", (job_id, ResultKind(kind), data)
        )

    def read_results(self, job_id: str, kind: ResultKind) -> Iterator[bytes]:
        """The result chunks of ``kind`` in the order they were appended."""
        rows = self._store.fetchall(
            "SELECT data FROM job_results WHERE job_id = ? AND kind = ? ORDER BY seq", (job_id, kind)
        )
        for (data,) in rows:
            yield bytes(data)
