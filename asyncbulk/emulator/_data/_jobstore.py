"""Bulk jobs kept across restarts: their records and result rows in SQLite, their uploads in files.

An upload is streamed to a file as it arrives (``<db>.uploads/<job id>.csv``, or a temporary
directory for an in-memory org), so no upload is ever held in memory whole; batches are parsed
from the file. A batch commits its records, its result rows and its job's record in one
transaction (:meth:`JobStore.write`, called by ``Org.apply``): after a crash the job resumes
after the last committed batch, and no batch is applied twice.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from .._vocab import ResultKind
from ._store import Store, Transaction

__all__ = ["JobStore", "JobWrite", "UploadWriter"]

#: A job's record, or a function that makes it (called with the store's lock held).
Record = dict[str, Any] | Callable[[], dict[str, Any]]

_READ_GROUP = 256  # result chunks fetched per query (about 50,000 rows) while streaming a result file


@dataclass
class JobWrite:
    """What one transaction writes about a job: result rows, then the job's record.

    :param job_id: the job.
    :param results: ``(kind, batch index, rendered rows)`` to append, in order.
    :param update: run inside the transaction before the record is made (the in-memory counters
        move only if the data they count is committed with them).
    :param record: the job's record to store, made after ``update``; ``None`` keeps the stored one.
    """

    job_id: str
    results: Sequence[tuple[ResultKind, int, bytes]] = ()
    update: Callable[[], None] | None = None
    record: Callable[[], dict[str, Any]] | None = None


class UploadWriter:
    """One upload being streamed to its file; :meth:`commit` makes it the job's data.

    :param path: the file the upload becomes.
    :param durable: fsync before the rename (a database file that must survive a crash).
    """

    def __init__(self, path: str, *, durable: bool) -> None:
        self._path = path
        self._part = path + ".part"
        #: Whether :meth:`commit` syncs to disk (then better called off the event loop).
        self.durable = durable
        self._file: IO[bytes] | None = open(self._part, "wb")
        #: Bytes written so far.
        self.size = 0

    def write(self, data: bytes) -> None:
        """Append a chunk."""
        assert self._file is not None, "the upload is finished"
        self._file.write(data)
        self.size += len(data)

    def commit(self) -> None:
        """Finish the file and make it the job's upload."""
        assert self._file is not None, "the upload is finished"
        self._file.flush()
        if self.durable:
            os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        os.replace(self._part, self._path)

    def discard(self) -> None:
        """Throw the partial upload away."""
        if self._file is not None:
            self._file.close()
            self._file = None
        try:
            os.unlink(self._part)
        except FileNotFoundError:
            pass


class JobStore:
    """A job's JobInfo record, its upload and its result rows, kept with the org.

    Every method is thread-safe (each takes the store's lock for its statements).
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        for sql in (
            "CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, info TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS job_results (job_id TEXT NOT NULL, kind TEXT NOT NULL, "
            "seq INTEGER PRIMARY KEY AUTOINCREMENT, data BLOB NOT NULL, batch INTEGER NOT NULL DEFAULT 0)",
            "CREATE INDEX IF NOT EXISTS job_results_job ON job_results (job_id, kind, seq)",
        ):
            store.execute(sql)
        columns = {row[1] for row in store.fetchall("PRAGMA table_info(job_results)")}
        if "batch" not in columns:  # a database made before results were kept per batch
            store.execute("ALTER TABLE job_results ADD COLUMN batch INTEGER NOT NULL DEFAULT 0")
        # Job ids share the records' counter: never hand out a job id twice across restarts.
        store.seed_ids("jobs")
        #: Whether uploads are synced to disk (a database file that must survive a crash).
        self.durable = store.path is not None
        if store.path is not None:
            self._dir = store.path + ".uploads"
            os.makedirs(self._dir, exist_ok=True)
            self._temporary = False
        else:
            self._dir = tempfile.mkdtemp(prefix="asyncbulk-emulator-uploads-")
            self._temporary = True

    def close(self) -> None:
        """Remove the uploads of an in-memory org (a database's stay with it)."""
        if self._temporary:
            shutil.rmtree(self._dir, ignore_errors=True)

    # ----- records ----------------------------------------------------------------------------
    def save(self, job_id: str, record: Record) -> None:
        """Store (or replace) a job's record; a function is called with the lock held."""
        with self._store.transaction() as tx:
            self._put_record(tx, job_id, record() if callable(record) else record)

    @staticmethod
    def _put_record(tx: Transaction, job_id: str, record: dict[str, Any]) -> None:
        tx.executemany("INSERT OR REPLACE INTO jobs (id, info) VALUES (?, ?)", [(job_id, json.dumps(record))])

    def load_all(self) -> list[dict[str, Any]]:
        """Every stored record, in the order the jobs were first saved."""
        rows = self._store.fetchall("SELECT info FROM jobs ORDER BY rowid")
        return [json.loads(r[0]) for r in rows]

    def delete(self, job_id: str) -> None:
        """Forget a job, its upload and its results."""
        with self._store.transaction() as tx:
            for sql in ("DELETE FROM jobs WHERE id = ?", "DELETE FROM job_results WHERE job_id = ?"):
                tx.executemany(sql, [(job_id,)])
        for path in (self._upload_path(job_id), self._upload_path(job_id) + ".part"):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    # ----- uploads ----------------------------------------------------------------------------
    def _upload_path(self, job_id: str) -> str:
        return os.path.join(self._dir, f"{job_id}.csv")

    def begin_upload(self, job_id: str) -> UploadWriter:
        """A writer that streams the job's upload to its file (nothing kept until ``commit``)."""
        return UploadWriter(self._upload_path(job_id), durable=self.durable)

    def save_data(self, job_id: str, data: bytes) -> None:
        """Keep a whole upload given at once (a multipart create's CSV)."""
        writer = self.begin_upload(job_id)
        writer.write(data)
        writer.commit()

    def open_upload(self, job_id: str) -> IO[bytes] | None:
        """The job's upload opened for reading, or ``None`` if it has none."""
        try:
            return open(self._upload_path(job_id), "rb")
        except FileNotFoundError:
            return None

    def load_data(self, job_id: str) -> bytes | None:
        """A job's whole upload, or ``None`` (small uploads and tests only)."""
        f = self.open_upload(job_id)
        if f is None:
            return None
        with f:
            return f.read()

    # ----- results ----------------------------------------------------------------------------
    def append_results(self, job_id: str, kind: ResultKind, data: bytes, batch: int = 0) -> None:
        """Add rendered result rows (CSV bytes, no header) of one batch to one result file."""
        self.write_job(JobWrite(job_id, [(kind, batch, data)]))

    def write_job(self, write: JobWrite) -> None:
        """One transaction of :meth:`write` alone (no records of the org change with it)."""
        with self._store.transaction() as tx:
            self.write(tx, write)

    def write(self, tx: Transaction, write: JobWrite) -> None:
        """Inside ``tx``: append the result rows, run ``update``, store the record."""
        kinds = [ResultKind(kind) for kind, _, _ in write.results]
        rows = [
            (write.job_id, k, b, data) for k, (_, b, data) in zip(kinds, write.results, strict=True) if data
        ]
        if rows:
            tx.executemany("INSERT INTO job_results (job_id, kind, batch, data) VALUES (?, ?, ?, ?)", rows)
        if write.update is not None:
            write.update()
        if write.record is not None:
            self._put_record(tx, write.job_id, write.record())

    def result_index(self, job_id: str, kind: ResultKind) -> list[tuple[int, int]]:
        """``(chunk number, batch index)`` of every stored chunk of one result file, as appended."""
        rows = self._store.fetchall(
            "SELECT seq, batch FROM job_results WHERE job_id = ? AND kind = ? ORDER BY seq",
            (job_id, ResultKind(kind)),
        )
        return [(int(seq), int(batch)) for seq, batch in rows]

    def read_chunks(self, seqs: Sequence[int]) -> Iterator[bytes]:
        """The stored chunks with these numbers, in the order given, a few at a time."""
        for start in range(0, len(seqs), _READ_GROUP):
            group = seqs[start : start + _READ_GROUP]
            rows = self._store.fetchall(
                f"SELECT seq, data FROM job_results WHERE seq IN ({','.join('?' * len(group))})", group
            )
            data = {int(seq): bytes(blob) for seq, blob in rows}
            for seq in group:
                if seq in data:
                    yield data[seq]

    def read_results(self, job_id: str, kind: ResultKind) -> Iterator[bytes]:
        """The result chunks of ``kind`` in the order they were appended."""
        yield from self.read_chunks([seq for seq, _ in self.result_index(job_id, kind)])
