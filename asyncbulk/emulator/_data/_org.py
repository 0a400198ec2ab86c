"""The emulated org: the data layer's one face to the layers above."""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any

from .._vocab import LATEST_VERSION
from ._batch import BatchApply, block_len
from ._builtin import ADMIN_USERNAME, ORG_ID
from ._checks import LockFail
from ._describe import describe_object
from ._errors import HeaderError
from ._extract import BulkQuery, compile_bulk, snapshot
from ._ids import IdGenerator
from ._jobstore import JobStore, JobWrite
from ._plan import JobSpec, PlanCache
from ._querystore import QueryJobStore
from ._records import fetch_record
from ._rest_query import column_metadata, run_query
from ._results import BatchResults
from ._schema import Schema
from ._store import Store

__all__ = ["Org"]


class Org:
    """The emulated org's records and stored jobs: everything the ingest and HTTP layers ask of the data.

    Every method is thread-safe; :meth:`apply` is one transaction.

    .. code-block:: python

        org = Org()  # the built-in objects, in memory
        org.apply(JobSpec("Contact", "insert"), ["LastName"], [("Lovelace", "Turing")])
        org.count("Contact")  # 2

    :param schema: the objects; ``None`` is the built-in Account, Contact, Lead, User and Organization.
    :param path: an SQLite file that keeps records and jobs across restarts; ``None`` keeps all in memory.
    :param admin_username: the Username of the running user, who owns and creates what the APIs write
        (a User record, seeded if the database has none of that name).
    :param org_id: the Id of the org's Organization record (the org id of its tokens).
    """

    def __init__(
        self,
        schema: Schema | None = None,
        path: str | None = None,
        *,
        admin_username: str = ADMIN_USERNAME,
        org_id: str = ORG_ID,
    ) -> None:
        self._store = Store(schema if schema is not None else Schema(), path, admin_username, org_id)
        self._plans = PlanCache(self._store.schema)
        #: The Bulk jobs kept in the org's database (their records, uploads and result files).
        self.jobs = JobStore(self._store)
        #: The Bulk API 2.0 query jobs kept in the org's database (their records and result rows).
        self.query_jobs = QueryJobStore(self._store)

    @property
    def schema(self) -> Schema:
        """The org's objects and fields."""
        return self._store.schema

    @property
    def ids(self) -> IdGenerator:
        """The id generator shared by records and jobs (its counter survives a restart with a file)."""
        return self._store.ids

    @property
    def admin_user_id(self) -> str:
        """The running user: owner and creator of the records the Bulk API writes, of every job."""
        return self._store.admin_user_id

    def check_header(self, spec: JobSpec, header: Sequence[str]) -> str | None:
        """``None`` if a batch with this header can be applied, else the failed job's ``errorMessage``."""
        try:
            self._plans.get(spec, header)
        except HeaderError as exc:
            return str(exc)
        return None

    def apply(
        self,
        spec: JobSpec,
        header: Sequence[str],
        columns: Sequence[Sequence[str]],
        lock_fail: LockFail | None = None,
        *,
        row_errors: Mapping[int, str] | None = None,
        commit: Callable[[BatchResults], JobWrite] | None = None,
    ) -> BatchResults:
        """Apply one batch, given column-wise (``columns[j][i]`` is row i's cell j); one result per row.

        :param lock_fail: called with each row index still fine before the write; True makes that row
            fail ``UNABLE_TO_LOCK_ROW`` (fault injection).
        :param row_errors: rows that fail with these ``sf__Error`` texts whatever their cells hold
            (rows the CSV parser could not read); nothing of theirs is checked or written.
        :param commit: given the batch's results, what to write about its job in the same
            transaction (result rows, the job's record): all of it commits, or none.
        :raises HeaderError: (a ``ValueError``) if the header is not usable, see :meth:`check_header`.
        """
        plan = self._plans.get(spec, header)
        count = block_len(columns)
        with self._store.transaction() as tx:
            results = BatchApply(tx, plan, columns, count, lock_fail, row_errors or {}).run()
            if commit is not None:
                self.jobs.write(tx, commit(results))
            return results

    def query(
        self, soql: str, *, version: str = LATEST_VERSION, include_deleted: bool = False
    ) -> dict[str, Any]:
        """Run a SOQL query (a subset); the REST API's answer. Raises :class:`QueryError`.

        :param version: the API version of the request (records' ``attributes.url`` carry it).
        :param include_deleted: ``queryAll``: deleted records (``IsDeleted`` true) too.
        """
        return run_query(self._store, soql, version=version, include_deleted=include_deleted)

    def query_columns(self, soql: str) -> dict[str, Any]:
        """``query?columns=true``: the query's column metadata. Raises :class:`QueryError`."""
        return column_metadata(self.schema, soql)

    def compile_bulk_query(self, soql: str, *, include_deleted: bool = False) -> BulkQuery:
        """Compile a query job's SOQL as Bulk API 2.0 does. Raises :class:`QueryError` (the 400 texts)."""
        return compile_bulk(self.schema, soql, include_deleted=include_deleted)

    def snapshot(self, query: BulkQuery, chunk_rows: int) -> Generator[list[list[str]], None, None]:
        """The query's rows as of the first ``next()``, ``chunk_rows`` at a time, rendered, column-wise.

        Iterate it in a worker thread; close it to drop the snapshot early.
        """
        return snapshot(self._store, query, chunk_rows)

    def record(
        self, object_name: str, record_id: str, fields: Sequence[str] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """The object's API name and one live record's field values (``fields``: only those, and Id).

        :raises RecordError: (a :class:`QueryError`) for an unknown object, id or field, or a deleted record.
        """
        obj, values = fetch_record(self._store, object_name, record_id, fields)
        return obj.name, values

    def describe(self, object_name: str, *, version: str = LATEST_VERSION) -> dict[str, Any] | None:
        """The object's describe, shaped like ``GET /sobjects/X/describe`` (a subset), or ``None``."""
        obj = self.schema.get(object_name)
        return None if obj is None else describe_object(obj, version)

    def count(self, object_name: str, include_deleted: bool = False) -> int:
        """How many records the object has (live ones unless ``include_deleted``).

        :raises KeyError: for an object the schema does not have.
        """
        obj = self.schema.get(object_name)
        if obj is None:
            raise KeyError(object_name)
        where = "" if include_deleted else ' WHERE "isdeleted" = 0'
        return int(self._store.fetchall(f"SELECT count(*) FROM {obj.table}{where}")[0][0])

    def close(self) -> None:
        """Close the database (and remove an in-memory org's uploads)."""
        self._store.close()
        self.jobs.close()
