"""Bulk API 2.0 query jobs kept across restarts: the ``query_jobs`` and ``query_results`` tables.

A job's result rows are stored as rendered CSV in chunks of a fixed number of rows (the last one may
be shorter), each with the end offset of every row in it, so that a page of any size can be cut out of
them without parsing CSV.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ._store import Store

__all__ = ["QueryJobStore"]


class QueryJobStore:
    """A query job's record and its result chunks, in the org's database; every method is thread-safe."""

    def __init__(self, store: Store) -> None:
        self._store = store
        for sql in (
            "CREATE TABLE IF NOT EXISTS query_jobs (id TEXT PRIMARY KEY, info TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS query_results (job_id TEXT NOT NULL, seq INTEGER NOT NULL, "
            "data BLOB NOT NULL, ends BLOB NOT NULL, PRIMARY KEY (job_id, seq)) WITHOUT ROWID",
        ):
            store.execute(sql)
        # Job ids share the records' counter: never hand out a job id twice across restarts.
        store.seed_ids("query_jobs")

    def save(self, job_id: str, record: dict[str, Any]) -> None:
        """Store (or replace) a job's record."""
        self._store.execute(
            "INSERT OR REPLACE INTO query_jobs (id, info) VALUES (?, ?)", (job_id, json.dumps(record))
        )

    def load_all(self) -> list[dict[str, Any]]:
        """Every stored record, in the order the jobs were first saved."""
        return [json.loads(r[0]) for r in self._store.fetchall("SELECT info FROM query_jobs ORDER BY rowid")]

    def delete(self, job_id: str) -> None:
        """Forget a job and its results."""
        with self._store.transaction() as tx:
            tx.executemany("DELETE FROM query_jobs WHERE id = ?", [(job_id,)])
            tx.executemany("DELETE FROM query_results WHERE job_id = ?", [(job_id,)])

    def clear_results(self, job_id: str) -> None:
        """Drop a job's result chunks (before it is run again)."""
        self._store.execute("DELETE FROM query_results WHERE job_id = ?", (job_id,))

    def append_chunk(self, job_id: str, seq: int, data: bytes, ends: bytes) -> None:
        """Store chunk ``seq``: its CSV lines and the packed end offsets of its rows."""
        self._store.execute(
            "INSERT OR REPLACE INTO query_results (job_id, seq, data, ends) VALUES (?, ?, ?, ?)",
            (job_id, seq, data, ends),
        )

    def chunk_ends(self, job_id: str, first: int, last: int) -> list[bytes]:
        """The packed row end offsets of chunks ``first`` to ``last`` (inclusive), in order."""
        rows = self._store.fetchall(
            "SELECT ends FROM query_results WHERE job_id = ? AND seq BETWEEN ? AND ? ORDER BY seq",
            (job_id, first, last),
        )
        return [bytes(r[0]) for r in rows]

    def read_chunks(self, job_id: str, first: int, last: int) -> Iterator[bytes]:
        """The CSV of chunks ``first`` to ``last`` (inclusive), one chunk at a time."""
        for seq in range(first, last + 1):
            rows = self._store.fetchall(
                "SELECT data FROM query_results WHERE job_id = ? AND seq = ?", (job_id, seq)
            )
            if rows:
                yield bytes(rows[0][0])
