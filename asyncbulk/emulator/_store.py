"""The emulator's record store: Salesforce-faithful insert/update/upsert/delete over SQLite.

One table per object (``sobj_<name>``, one column per field, lower-case names), in memory or
in a WAL-mode file, plus three tables that keep Bulk jobs across restarts (``jobs``,
``job_data``, ``job_results``). One connection behind one lock: SQLite serialises writers
anyway, and a batch is one transaction.

``process_batch`` works column by column: each column of a batch is parsed by one call (see
``_values``), so the per-record Python work of the common case is a handful of list
comprehensions and one ``executemany``. A compiled plan per (object, operation, external id
field, header) is cached. ``process_columns`` takes the batch already column-wise (as the HTTP
layer keeps uploads) and both return a :class:`BatchResults`, a lazy sequence of ``RowResult``.

Per-record errors and the decisions behind them (``sf__Error`` = ``CODE:message:fields --``):

* A row gets one error, the first found, in this order: non-writable column with a value
  (``INVALID_FIELD_FOR_INSERT_UPDATE``), Id problems, bad cell values (parse errors, too long,
  bad email), references and relationship columns, upsert key matching, required fields, unique
  fields, then ``UNABLE_TO_LOCK_ROW``. Field binding happens before validation on the platform,
  so a Contact row with a ``Name`` value and no ``LastName`` (the multipart walkthrough's CSV in
  older guides) fails ``INVALID_FIELD_FOR_INSERT_UPDATE:Unable to create/update fields: Name.
  Please check the security settings of this field and verify that it is read/write for your
  profile or permission set.:Name --``; an *empty* Name cell is not a value and does not fail
  (CumulusCI's Bulk API notes: empty the Person Account Name or the load fails with that text).
* Update without an Id value: ``MISSING_ARGUMENT:Id not specified in an update call:--``
  (the platform's text; delete likewise says "a delete call").
* Bad id: ``MALFORMED_ID:malformed id <v>:--`` (Data Loader's tests against the Bulk API);
  an id of another object: ``MALFORMED_ID:<Object> ID: id value of incorrect type: <v>:Id --``.
  A reference field given another object's id: ``FIELD_INTEGRITY_EXCEPTION:<Label>: id value of
  incorrect type: <v>:<Field> --``; an unknown id: ``INVALID_CROSS_REFERENCE_KEY:invalid cross
  reference id:--`` (seen in real CLI output); a deleted record: ``ENTITY_IS_DELETED:entity is
  deleted:--``.
* ``Relationship.Field`` columns: no match -> ``INVALID_FIELD:Foreign key external ID: <v> not
  found for field <Field> in entity <Object>:--`` (REST/Bulk captures); several matches ->
  ``DUPLICATE_EXTERNAL_ID:<Label>: more than one record found for external id field: [<ids>]:
  <Field> --`` (the platform's upsert text, reused).
* Upsert: several records with the key -> the same ``DUPLICATE_EXTERNAL_ID`` text; the same key
  on several rows of one batch -> every such row fails ``DUPLICATE_VALUE:Duplicate external id
  specified: <v>:<Field> --``; an empty key -> ``MISSING_ARGUMENT:<Field> not specified:--``.
  Upsert on ``Id`` with an empty Id creates (jsforce's live test).
* Unique fields: ``DUPLICATE_VALUE:duplicate value found: <Field> duplicates value on record with
  id: <Id>:--``; a value repeated inside the batch: ``duplicate value found: <unknown>
  duplicates value on record with id: <unknown>`` (what the platform says within one DML call).
* Matching on text keys (external ids, idLookup fields, unique values) is case-insensitive, as
  on the platform by default.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, NamedTuple, overload

from . import _values as V
from ._ids import POD, IdGenerator, counter_of, is_valid_id, to_18
from ._schema import ADMIN_USERNAME, CURRENT_USER, SEED_USERS, TEXT_TYPES, FieldDef, ObjectDef, Schema

__all__ = ["OPERATIONS", "BatchResults", "QueryError", "RowResult", "Store"]

OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
_CHUNK = 500  # ids or keys per "IN (...)" lookup, under SQLite's parameter limit


class QueryError(Exception):
    """A SOQL query the emulator rejects, with Salesforce's error code (MALFORMED_QUERY...)."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message


class RowResult(NamedTuple):
    """The outcome of one CSV row.

    ``values`` are, for a success, the row's values re-rendered from the stored types (header
    order); for a failure, the values as uploaded.
    """

    ok: bool
    sf_id: str
    created: bool
    error: str
    values: list[str]


class BatchResults(Sequence[RowResult]):
    """The outcome of a batch: a read-only sequence of :class:`RowResult`, one per row, in order.

    Kept column-wise (ids, errors, value columns) and built into ``RowResult`` objects only when
    indexed: a million-row load would otherwise create a million tuples and lists that nobody
    reads, as the HTTP layer renders result files straight from the columns.
    """

    __slots__ = ("created", "errors", "ids", "n", "raw", "values")

    def __init__(
        self,
        n: int,
        ids: Sequence[str],
        created: Sequence[bool],
        errors: dict[int, str],
        values: Sequence[Sequence[str]],
        raw: Sequence[Sequence[str]],
    ) -> None:
        self.n = n
        #: ``sf_id`` of every row (successes and failures), "" where there is none.
        self.ids = ids
        #: ``created`` of every successful row (ignored for failures).
        self.created = created
        #: Row index -> ``sf__Error`` text, for the failed rows only.
        self.errors = errors
        #: Columns in header order: successful rows' re-rendered values.
        self.values = values
        #: Columns in header order: the values as uploaded (what failed rows echo).
        self.raw = raw

    def __len__(self) -> int:
        return self.n

    @overload
    def __getitem__(self, index: int) -> RowResult: ...

    @overload
    def __getitem__(self, index: slice) -> list[RowResult]: ...

    def __getitem__(self, index: int | slice) -> RowResult | list[RowResult]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.n))]
        i = index + self.n if index < 0 else index
        if not 0 <= i < self.n:
            raise IndexError("result index out of range")
        err = self.errors.get(i)
        if err is None:
            return RowResult(True, self.ids[i], self.created[i], "", [c[i] for c in self.values])
        return RowResult(False, self.ids[i], False, err, [c[i] for c in self.raw])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"BatchResults({list(self)!r})"

    @property
    def failed(self) -> int:
        """How many rows failed."""
        return len(self.errors)


_UNWRITABLE = (
    "Unable to create/update fields: {}. Please check the security settings of this field and "
    "verify that it is read/write for your profile or permission set."
)


def _sql_type(fdef: FieldDef) -> str:
    if fdef.type in TEXT_TYPES:
        return "TEXT COLLATE NOCASE"
    if fdef.type in ("int", "boolean"):
        return "INTEGER"
    if fdef.type in ("double", "currency", "percent"):
        return "REAL"
    return "TEXT"  # id, reference, date, datetime: compared exactly


def _quote(name: str) -> str:
    return '"' + name + '"'


def _now() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _key(fdef: FieldDef, value: object) -> object:
    """How a key value compares: case-insensitively for text, as the NOCASE columns do."""
    return value.lower() if isinstance(value, str) and fdef.type in TEXT_TYPES else value


@dataclass(frozen=True, slots=True)
class _Col:
    """One CSV column of a compiled plan."""

    index: int
    kind: str  # "id", "field", "rel", "ignore"
    fdef: FieldDef | None = None  # the field written ("rel": the reference field)
    parent: ObjectDef | None = None  # "rel": the parent object
    parent_field: FieldDef | None = None  # "rel": the parent's matching field


@dataclass(frozen=True, slots=True)
class _Plan:
    obj: ObjectDef
    operation: str
    cols: tuple[_Col, ...]
    id_col: int | None
    key: FieldDef | None  # upsert key field
    key_col: int | None


def _parse_column(fdef: FieldDef, values: Sequence[str], col: int) -> V.ColumnResult:
    t = fdef.type
    if t == "email":
        return V.parse_email(values, col, fdef.name, fdef.label, fdef.length)
    if t in TEXT_TYPES:
        return V.parse_string(values, col, fdef.name, fdef.label, fdef.length)
    if t == "int":
        return V.parse_int(values, col, fdef.name, fdef.label)
    if t in ("double", "currency", "percent"):
        return V.parse_double(values, col, fdef.name, fdef.label, fdef.precision or 18, fdef.scale)
    if t == "boolean":
        return V.parse_boolean(values, col, fdef.name, fdef.label)
    if t == "date":
        return V.parse_date(values, col, fdef.name, fdef.label)
    if t == "datetime":
        return V.parse_datetime(values, col, fdef.name, fdef.label)
    # id / reference: checked against the database by the caller
    return [None if (not v or v == V.NULL_MARKER) else v for v in values], {}


def _sql_literal(value: object) -> str | None:
    """``value`` as an SQL literal, for ints and strings (``None``: bind it as a parameter)."""
    if type(value) is int:
        return str(value)
    if type(value) is str:
        return "'" + value.replace("'", "''") + "'"
    return None


def _render(fdef: FieldDef, value: object) -> str:
    t = fdef.type
    if t in ("double", "currency", "percent"):
        return V.java_double(float(value))  # type: ignore[arg-type]
    if t == "boolean":
        return "true" if value else "false"
    return str(value)


class Store:
    """Records of the emulated org plus persisted Bulk jobs; every method is thread-safe."""

    def __init__(self, schema: Schema, path: str | None = None) -> None:
        self.schema = schema
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path or ":memory:", check_same_thread=False, isolation_level=None)
        # Larger pages: ~7% faster bulk inserts (fewer B-tree splits); only a new database takes it.
        self._conn.execute("PRAGMA page_size=16384")
        if path:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._plans: dict[tuple[str, str, str | None, tuple[str, ...]], _Plan] = {}
        self.ids = IdGenerator()
        with self._lock:
            self._create_tables()
            self._seed_counter()
            self.admin_user_id = self._seed_users()

    # ------------------------------------------------------------------ setup
    def _create_tables(self) -> None:
        c = self._conn
        c.execute("CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, info TEXT NOT NULL)")
        c.execute("CREATE TABLE IF NOT EXISTS job_data (id TEXT PRIMARY KEY, data BLOB NOT NULL)")
        c.execute(
            "CREATE TABLE IF NOT EXISTS job_results (job_id TEXT NOT NULL, kind TEXT NOT NULL, "
            "seq INTEGER PRIMARY KEY AUTOINCREMENT, data BLOB NOT NULL)"
        )
        c.execute("CREATE INDEX IF NOT EXISTS job_results_job ON job_results (job_id, kind, seq)")
        for obj in self.schema:
            existing = {row[1] for row in c.execute(f"PRAGMA table_xinfo({obj.table})")}
            defs = []
            for fdef in obj.fields.values():
                if fdef.name.lower() == "name" and obj.compound_name:
                    parts = " || ' ' || ".join(f"coalesce(\"{p.lower()}\", '')" for p in obj.compound_name)
                    defs.append(f'"name" TEXT GENERATED ALWAYS AS (trim({parts})) VIRTUAL')
                elif fdef.name.lower() == "id":
                    defs.append('"id" TEXT PRIMARY KEY')
                else:
                    defs.append(f"{fdef.column} {_sql_type(fdef)}")
            if not existing:
                c.execute(f"CREATE TABLE {obj.table} ({', '.join(defs)})")
            else:
                # a schema file may add fields to an existing database
                for fdef, ddl in zip(obj.fields.values(), defs, strict=True):
                    if fdef.name.lower() not in existing:
                        c.execute(f"ALTER TABLE {obj.table} ADD COLUMN {ddl}")
            for fdef in obj.fields.values():
                if fdef.indexed and fdef.type != "id":
                    # Partial: lookups are by value (=, IN, LIKE imply NOT NULL, so SQLite uses the
                    # index), and leaving the many empty values out makes inserts cheaper.
                    c.execute(
                        f'CREATE INDEX IF NOT EXISTS "ix_{obj.name.lower()}_{fdef.name.lower()}" '
                        f"ON {obj.table} ({fdef.column}) WHERE {fdef.column} IS NOT NULL"
                    )

    def _seed_counter(self) -> None:
        # base-62 digits sort in ASCII order, so ordering the fixed-width counter text orders ids
        tables = [obj.table for obj in self.schema] + ["jobs"]
        for table in tables:
            # the greatest counter, whatever the key prefix
            row = self._conn.execute(
                f"SELECT id FROM {table} WHERE substr(id, 4, 3) = ? ORDER BY substr(id, 7, 9) DESC LIMIT 1",
                (POD,),
            ).fetchone()
            if row is not None:
                self.ids.seed(counter_of(row[0]))

    def _seed_users(self) -> str:
        user = self.schema.get("User")
        assert user is not None
        row = self._conn.execute(
            f'SELECT id FROM {user.table} WHERE "username" = ?', (ADMIN_USERNAME,)
        ).fetchone()
        if row is not None:
            return str(row[0])
        now = _now()
        ids = self.ids.next_ids(user.key_prefix, len(SEED_USERS))
        admin = ids[0]
        for uid, spec in zip(ids, SEED_USERS, strict=True):
            cols = ["id", *(k.lower() for k in spec), "isactive", "isdeleted"]
            cols += ["createddate", "createdbyid", "lastmodifieddate", "lastmodifiedbyid", "systemmodstamp"]
            vals = [uid, *spec.values(), 1, 0, now, admin, now, admin, now]
            self._conn.execute(
                f"INSERT INTO {user.table} ({', '.join(_quote(c) for c in cols)}) "
                f"VALUES ({', '.join('?' * len(vals))})",
                vals,
            )
        return admin

    def new_id(self, key_prefix: str) -> str:
        """A new unique 18-character id (e.g. ``new_id("750")`` for a Bulk job)."""
        return self.ids.next_id(key_prefix)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    # ------------------------------------------------------------------ header
    def check_header(
        self, object_name: str, operation: str, external_id_field: str | None, header: list[str]
    ) -> str | None:
        """``None`` if the batch header is usable, else the job's ``errorMessage``.

        Unknown column: ``InvalidBatch : Field name not found : X`` (the first only; real
        capture). A relationship column whose field is not indexed, or an upsert key that is
        not an external id / idLookup field: ``InvalidBatch : Field name provided, X is not an
        External ID or indexed field for Y`` (the platform's wording for that mistake).
        """
        try:
            self._plan(object_name, operation, external_id_field, tuple(header))
        except _HeaderError as exc:
            return str(exc)
        return None

    def _plan(self, object_name: str, operation: str, ext: str | None, header: tuple[str, ...]) -> _Plan:
        cache_key = (object_name.lower(), operation, ext.lower() if ext else None, header)
        plan = self._plans.get(cache_key)
        if plan is None:
            plan = self._compile(object_name, operation, ext, header)
            self._plans[cache_key] = plan
        return plan

    def _compile(self, object_name: str, operation: str, ext: str | None, header: tuple[str, ...]) -> _Plan:
        obj = self.schema.get(object_name)
        if obj is None:
            raise _HeaderError(f"InvalidJob : Unable to find object: {object_name}")
        if operation not in OPERATIONS:
            raise _HeaderError(f"InvalidJob : Invalid operation: {operation}")
        allowed = {
            "insert": obj.createable,
            "update": obj.updateable,
            "upsert": obj.createable and obj.updateable,
            "delete": obj.deletable,
            "hardDelete": obj.deletable,
        }[operation]
        if not allowed:
            # Decision (emulator limitation, documented in _schema): e.g. User is read-only here.
            raise _HeaderError(f"InvalidJob : Entity '{obj.name}' does not support the {operation} operation")
        cols: list[_Col] = []
        seen: set[str] = set()
        id_col = None
        for index, name in enumerate(header):
            low = name.strip().lower()
            if low in seen:
                raise _HeaderError(f"InvalidBatch : Duplicate field name: {name}")
            seen.add(low)
            fdef = obj.field(name.strip())
            if fdef is not None:
                if fdef.type == "id":
                    id_col = index
                    cols.append(_Col(index, "id", fdef))
                elif operation in ("delete", "hardDelete"):
                    cols.append(_Col(index, "ignore", fdef))
                else:
                    cols.append(_Col(index, "field", fdef))
                continue
            rel, dot, target = name.strip().rpartition(".")
            if dot and rel:
                rel = rel.rpartition(":")[2]  # polymorphic "Type:Relationship.Field"
                ref = obj.relationship(rel)
                if ref is not None:
                    parent = self.schema.get(ref.reference_to[0])
                    assert parent is not None
                    pfield = parent.field(target)
                    if pfield is None:
                        raise _HeaderError(f"InvalidBatch : Field name not found : {name}")
                    if not pfield.indexed:
                        raise _HeaderError(
                            f"InvalidBatch : Field name provided, {pfield.name} is not an External ID "
                            f"or indexed field for {parent.name}"
                        )
                    kind = "ignore" if operation in ("delete", "hardDelete") else "rel"
                    cols.append(_Col(index, kind, ref, parent, pfield))
                    continue
            raise _HeaderError(f"InvalidBatch : Field name not found : {name}")
        key = None
        key_col = None
        if operation == "upsert":
            key = obj.field(ext or "")
            if key is None:
                raise _HeaderError(f"InvalidJob : Field name not found : {ext}")
            if not key.indexed:
                raise _HeaderError(
                    f"InvalidJob : Field name provided, {key.name} is not an External ID or indexed field "
                    f"for {obj.name}"
                )
            key_col = next((c.index for c in cols if c.fdef is key and c.kind in ("field", "id")), None)
        return _Plan(obj, operation, tuple(cols), id_col, key, key_col)

    # ------------------------------------------------------------------ batches
    def process_batch(
        self,
        object_name: str,
        operation: str,
        external_id_field: str | None,
        header: list[str],
        rows: list[list[str]],
        lock_fail: Callable[[int], bool] | None = None,
    ) -> BatchResults:
        """Apply one batch; one :class:`RowResult` per row, in order. One transaction per batch.

        :raises ValueError: if the header is not usable (see :meth:`check_header`).
        """
        width = len(header)
        if set(map(len, rows)) - {width}:
            rows = [(list(r) + [""] * width)[:width] for r in rows]
        columns: list[tuple[str, ...]] = list(zip(*rows, strict=True)) if rows else []
        if not columns:
            columns = [() for _ in header]
        return self.process_columns(
            object_name, operation, external_id_field, header, columns, len(rows), lock_fail
        )

    def process_columns(
        self,
        object_name: str,
        operation: str,
        external_id_field: str | None,
        header: Sequence[str],
        columns: Sequence[Sequence[str]],
        count: int,
        lock_fail: Callable[[int], bool] | None = None,
    ) -> BatchResults:
        """:meth:`process_batch` for a batch given column-wise: ``columns[j][i]`` is row i's cell j.

        ``count`` is the number of rows (each column's length). The HTTP layer keeps uploads in
        this form: tuples of strings are not tracked by the garbage collector, whose full passes
        over a million row lists would stall the event loop for a few hundred milliseconds.

        :raises ValueError: if the header is not usable (see :meth:`check_header`).
        """
        try:
            plan = self._plan(object_name, operation, external_id_field, tuple(header))
        except _HeaderError as exc:
            raise ValueError(str(exc)) from None
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                results = _Batch(self, plan, columns, count, lock_fail).run()
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return results

    # lookups used by _Batch (caller holds the lock)
    def _existing(self, obj: ObjectDef, ids: Sequence[str]) -> dict[str, bool]:
        """id -> is deleted, for those of ``ids`` that exist."""
        found: dict[str, bool] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            sql = f'SELECT id, "isdeleted" FROM {obj.table} WHERE id IN ({",".join("?" * len(chunk))})'
            for rid, deleted in self._conn.execute(sql, chunk):
                found[rid] = bool(deleted)
        return found

    def _match(self, obj: ObjectDef, fdef: FieldDef, values: Sequence[object]) -> dict[object, list[str]]:
        """Key (case-folded for text) -> ids of live records whose ``fdef`` equals it."""
        out: dict[object, list[str]] = {}
        distinct = list(dict.fromkeys(values))
        for start in range(0, len(distinct), _CHUNK):
            chunk = distinct[start : start + _CHUNK]
            sql = (
                f"SELECT id, {fdef.column} FROM {obj.table} WHERE {fdef.column} IN "
                f'({",".join("?" * len(chunk))}) AND "isdeleted" = 0 ORDER BY id'
            )
            for rid, value in self._conn.execute(sql, chunk):
                out.setdefault(_key(fdef, value), []).append(rid)
        return out

    # ------------------------------------------------------------------ describe / query
    def describe(self, object_name: str) -> dict[str, Any] | None:
        """The object's describe, shaped like ``GET /sobjects/X/describe`` (a subset), or ``None``."""
        obj = self.schema.get(object_name)
        if obj is None:
            return None
        fields = [_describe_field(f) for f in obj.fields.values()]
        return {
            "name": obj.name,
            "label": obj.label,
            "labelPlural": obj.label + "s",
            "keyPrefix": obj.key_prefix,
            "custom": obj.custom,
            "createable": obj.createable,
            "updateable": obj.updateable,
            "deletable": obj.deletable,
            "queryable": True,
            "fields": fields,
            "urls": {
                "sobject": f"/services/data/v66.0/sobjects/{obj.name}",
                "describe": f"/services/data/v66.0/sobjects/{obj.name}/describe",
            },
        }

    def query(self, soql: str) -> dict[str, Any]:
        """Run a SOQL query (the subset of ``_soql``); raises :class:`QueryError`."""
        from ._soql import compile_query

        q = compile_query(self.schema, soql)
        with self._lock:
            rows = self._conn.execute(q.sql, q.params).fetchall()
        if q.count_only:
            return {"totalSize": rows[0][0], "done": True, "records": []}
        records = []
        for row in rows:
            rec: dict[str, Any] = {
                "attributes": {
                    "type": q.obj.name,
                    "url": f"/services/data/v66.0/sobjects/{q.obj.name}/{row[0]}",
                }
            }
            for fdef, value in zip(q.fields, row[1:], strict=True):
                rec[fdef.name] = _json_value(fdef, value)
            records.append(rec)
        return {"totalSize": len(records), "done": True, "records": records}

    def count(self, object_name: str, include_deleted: bool = False) -> int:
        """How many records the object has (live ones unless ``include_deleted``)."""
        obj = self.schema.get(object_name)
        if obj is None:
            raise KeyError(object_name)
        where = "" if include_deleted else ' WHERE "isdeleted" = 0'
        with self._lock:
            return int(self._conn.execute(f"SELECT count(*) FROM {obj.table}{where}").fetchone()[0])

    # ------------------------------------------------------------------ jobs
    def save_job(self, job_id: str, info: dict[str, Any]) -> None:
        """Store (or replace) a job's JobInfo."""
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO jobs (id, info) VALUES (?, ?)", (job_id, json.dumps(info))
            )

    def load_jobs(self) -> list[dict[str, Any]]:
        """Every stored JobInfo, in the order the jobs were first saved."""
        with self._lock:
            rows = self._conn.execute("SELECT info FROM jobs ORDER BY rowid").fetchall()
        return [json.loads(r[0]) for r in rows]

    def delete_job(self, job_id: str) -> None:
        """Forget a job, its data and its results."""
        with self._lock:
            self._conn.execute("BEGIN")
            for sql in (
                "DELETE FROM jobs WHERE id = ?",
                "DELETE FROM job_data WHERE id = ?",
                "DELETE FROM job_results WHERE job_id = ?",
            ):
                self._conn.execute(sql, (job_id,))
            self._conn.execute("COMMIT")

    def save_job_data(self, job_id: str, data: bytes) -> None:
        """Keep a job's uploaded CSV."""
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO job_data (id, data) VALUES (?, ?)", (job_id, data))

    def load_job_data(self, job_id: str) -> bytes | None:
        """A job's uploaded CSV, or ``None``."""
        with self._lock:
            row = self._conn.execute("SELECT data FROM job_data WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else bytes(row[0])

    def append_results(self, job_id: str, kind: str, data: bytes) -> None:
        """Add rendered result rows (CSV bytes, no header) of ``kind`` success/failed/unprocessed."""
        if kind not in ("success", "failed", "unprocessed"):
            raise ValueError(f"unknown result kind {kind!r}")
        with self._lock:
            self._conn.execute(
                "INSERT INTO job_results (job_id, kind, data) VALUES (?, ?, ?)", (job_id, kind, data)
            )

    def read_results(self, job_id: str, kind: str) -> Iterator[bytes]:
        """The result chunks of ``kind`` in the order they were appended."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT data FROM job_results WHERE job_id = ? AND kind = ? ORDER BY seq", (job_id, kind)
            ).fetchall()
        for (data,) in rows:
            yield bytes(data)


class _HeaderError(Exception):
    pass


def _describe_field(f: FieldDef) -> dict[str, Any]:
    return {
        "name": f.name,
        "label": f.label,
        "type": {"id": "id", "datetime": "datetime", "int": "int"}.get(f.type, f.type),
        "length": f.length if f.type in TEXT_TYPES or f.type in ("id", "reference") else 0,
        "precision": f.precision,
        "scale": f.scale,
        "createable": f.createable,
        "updateable": f.updateable,
        "nillable": f.nillable,
        "defaultedOnCreate": f.default is not None or not f.createable,
        "defaultValue": None if f.default in (None, CURRENT_USER) else f.default,
        "externalId": f.external_id,
        "idLookup": f.id_lookup,
        "unique": f.unique,
        "custom": f.custom,
        "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship_name,
        "picklistValues": [
            {"active": True, "defaultValue": v == f.default, "label": v, "value": v}
            for v in f.picklist_values
        ],
    }


def _json_value(fdef: FieldDef, value: object) -> object:
    if value is None:
        return None
    if fdef.type == "boolean":
        return bool(value)
    if fdef.type == "datetime":
        return V.render_datetime_rest(str(value))
    return value


class _Batch:
    """One batch being applied (the caller holds the store lock and the transaction)."""

    def __init__(
        self,
        store: Store,
        plan: _Plan,
        columns: Sequence[Sequence[str]],
        count: int,
        lock_fail: Callable[[int], bool] | None,
    ) -> None:
        self.store = store
        self.conn = store._conn
        self.plan = plan
        self.obj = plan.obj
        self.n = count
        self.lock_fail = lock_fail
        self.errors: dict[int, str] = {}
        #: The batch's cells column by column, in header order.
        self.raw: Sequence[Sequence[str]] = columns
        self.ids: list[str | None] = [None] * self.n
        self.creating: list[bool] = [plan.operation == "insert"] * self.n

    def fail(self, errors: dict[int, str]) -> None:
        for i, err in errors.items():
            self.errors.setdefault(i, err)

    # ---------------------------------------------------------------- driver
    def run(self) -> BatchResults:
        op = self.plan.operation
        if not self.n:
            return BatchResults(0, [], [], {}, self.raw, self.raw)
        if op in ("delete", "hardDelete"):
            return self._delete(op == "hardDelete")
        if op == "update":
            self._resolve_ids(self.plan.id_col, "update")
        elif op == "insert":
            if self.plan.id_col is not None:
                col = self.raw[self.plan.id_col]
                self.fail(
                    {
                        i: V.format_error(
                            "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ("Id",)
                        )
                        for i, v in enumerate(col)
                        if v
                    }
                )
        values, present = self._parse()
        if op == "upsert":
            self._match_upsert_keys(values)
        self._check_unwritable()
        self._check_required(values, present)
        self._check_unique(values, present)
        if self.lock_fail is not None:
            for i in range(self.n):
                if i not in self.errors and self.lock_fail(i):
                    self.errors[i] = V.format_error(
                        "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"
                    )
        self._write(values, present)
        return self._results(values)

    # ---------------------------------------------------------------- ids
    def _resolve_ids(self, col: int | None, verb: str, skip_empty: bool = False) -> None:
        """Fill self.ids from the Id column (update/delete), failing rows with a bad id."""
        article = "an" if verb == "update" else "a"
        missing = V.format_error("MISSING_ARGUMENT", f"Id not specified in {article} {verb} call")
        if col is None:
            self.fail(dict.fromkeys(range(self.n), missing))
            return
        prefix = self.obj.key_prefix
        wanted: dict[str, list[int]] = {}
        for i, v in enumerate(self.raw[col]):
            if not v:
                if not skip_empty:
                    self.errors.setdefault(i, missing)
            elif not is_valid_id(v):
                self.errors.setdefault(i, V.format_error("MALFORMED_ID", f"malformed id {v}"))
            elif v[:3] != prefix:
                self.errors.setdefault(
                    i,
                    V.format_error(
                        "MALFORMED_ID", f"{self.obj.label} ID: id value of incorrect type: {v}", ("Id",)
                    ),
                )
            else:
                sid = to_18(v)
                self.ids[i] = sid
                wanted.setdefault(sid, []).append(i)
        found = self.store._existing(self.obj, list(wanted))
        for sid, idxs in wanted.items():
            deleted = found.get(sid)
            if deleted is None:
                err = V.format_error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
            elif deleted and verb != "hardDelete":
                err = V.format_error("ENTITY_IS_DELETED", "entity is deleted")
            else:
                continue
            for i in idxs:
                self.errors.setdefault(i, err)

    # ---------------------------------------------------------------- values
    def _parse(self) -> tuple[dict[str, list[object]], dict[str, Sequence[str]]]:
        """Parse field and relationship columns -> (field -> values, field -> raw cells)."""
        values: dict[str, list[object]] = {}
        present: dict[str, Sequence[str]] = {}
        for c in self.plan.cols:
            fdef = c.fdef
            if c.kind == "field" and fdef is not None:
                raw = self.raw[c.index]
                parsed, errs = _parse_column(fdef, raw, c.index + 1)
                self.fail(errs)
                if fdef.type == "reference":
                    parsed = self._check_references(fdef, parsed)
                values[fdef.name.lower()] = parsed
                present[fdef.name.lower()] = raw
            elif c.kind == "rel" and fdef is not None:
                raw = self.raw[c.index]
                values[fdef.name.lower()] = self._resolve_relationship(c, raw)
                present[fdef.name.lower()] = raw
        return values, present

    def _check_references(self, fdef: FieldDef, parsed: list[object]) -> list[object]:
        prefixes = {}
        for target in fdef.reference_to:
            t = self.store.schema.get(target)
            if t is not None:
                prefixes[t.key_prefix] = t
        out: list[object] = list(parsed)
        wanted: dict[str, list[int]] = {}
        for i, v in enumerate(parsed):
            if v is None:
                continue
            s = str(v)
            if not is_valid_id(s):
                self.errors.setdefault(
                    i,
                    V.format_error(
                        "MALFORMED_ID", f"{fdef.label}: id value of incorrect type: {s}", (fdef.name,)
                    ),
                )
                out[i] = None
            elif s[:3] not in prefixes:
                self.errors.setdefault(
                    i,
                    V.format_error(
                        "FIELD_INTEGRITY_EXCEPTION",
                        f"{fdef.label}: id value of incorrect type: {s}",
                        (fdef.name,),
                    ),
                )
                out[i] = None
            else:
                sid = to_18(s)
                out[i] = sid
                wanted.setdefault(sid, []).append(i)
        by_prefix: dict[str, list[str]] = {}
        for sid in wanted:
            by_prefix.setdefault(sid[:3], []).append(sid)
        for prefix, sids in by_prefix.items():
            found = self.store._existing(prefixes[prefix], sids)
            for sid in sids:
                deleted = found.get(sid)
                if deleted is None:
                    err = V.format_error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
                elif deleted:
                    err = V.format_error("ENTITY_IS_DELETED", "entity is deleted")
                else:
                    continue
                for i in wanted[sid]:
                    self.errors.setdefault(i, err)
        return out

    def _resolve_relationship(self, c: _Col, raw: Sequence[str]) -> list[object]:
        parent, pfield = c.parent, c.parent_field
        assert parent is not None and pfield is not None
        keys: list[object] = []
        for v in raw:
            if not v or v == V.NULL_MARKER:
                keys.append(None)
            elif pfield.type == "id":
                keys.append(to_18(v) if is_valid_id(v) else v)
            else:
                keys.append(_key(pfield, v))
        matches = self.store._match(parent, pfield, [k for k in keys if k is not None])
        out: list[object] = []
        for i, k in enumerate(keys):
            if k is None:
                out.append(None)
                continue
            ids = matches.get(k, [])
            if len(ids) == 1:
                out.append(ids[0])
                continue
            out.append(None)
            if not ids:
                err = V.format_error(
                    "INVALID_FIELD",
                    f"Foreign key external ID: {raw[i]} not found for field {pfield.name} "
                    f"in entity {parent.name}",
                )
            else:
                err = V.format_error(
                    "DUPLICATE_EXTERNAL_ID",
                    f"{pfield.label}: more than one record found for external id field: [{', '.join(ids)}]",
                    (pfield.name,),
                )
            self.errors.setdefault(i, err)
        return out

    def _match_upsert_keys(self, values: dict[str, list[object]]) -> None:
        key = self.plan.key
        assert key is not None
        if key.type == "id":
            if self.plan.key_col is None:
                self.creating = [True] * self.n
                return
            col = self.raw[self.plan.key_col]
            # rows with an Id update that record; rows without one create
            self.creating = [not v for v in col]
            self._resolve_ids(self.plan.key_col, "update", skip_empty=True)
            return
        name = key.name.lower()
        if self.plan.key_col is None:
            missing = V.format_error("MISSING_ARGUMENT", f"{key.name} not specified")
            self.fail(dict.fromkeys(range(self.n), missing))
            return
        keys = values[name]
        seen: dict[object, list[int]] = {}
        for i, k in enumerate(keys):
            if k is None:
                self.errors.setdefault(i, V.format_error("MISSING_ARGUMENT", f"{key.name} not specified"))
            else:
                seen.setdefault(_key(key, k), []).append(i)
        for idxs in seen.values():
            if len(idxs) > 1:
                for i in idxs:
                    self.errors.setdefault(
                        i,
                        V.format_error(
                            "DUPLICATE_VALUE",
                            f"Duplicate external id specified: {self.raw[self.plan.key_col][i]}",
                            (key.name,),
                        ),
                    )
        matches = self.store._match(self.obj, key, list(seen))
        creating = [True] * self.n
        for k, idxs in seen.items():
            ids = matches.get(k, [])
            if len(ids) > 1:
                err = V.format_error(
                    "DUPLICATE_EXTERNAL_ID",
                    f"{key.label}: more than one record found for external id field: [{', '.join(ids)}]",
                    (key.name,),
                )
                for i in idxs:
                    self.errors.setdefault(i, err)
            elif ids:
                for i in idxs:
                    creating[i] = False
                    self.ids[i] = ids[0]
        self.creating = creating

    # ---------------------------------------------------------------- checks
    def _check_unwritable(self) -> None:
        bad: dict[int, list[str]] = {}
        for c in self.plan.cols:
            fdef = c.fdef
            if c.kind not in ("field", "rel") or fdef is None:
                continue
            if fdef.createable and fdef.updateable:
                continue
            for i, v in enumerate(self.raw[c.index]):
                if v and not (fdef.createable if self.creating[i] else fdef.updateable):
                    bad.setdefault(i, []).append(fdef.name)
        for i, names in bad.items():
            # field binding comes before everything else on the platform: this error wins
            self.errors[i] = V.format_error(
                "INVALID_FIELD_FOR_INSERT_UPDATE", _UNWRITABLE.format(", ".join(names)), names
            )

    def _check_required(self, values: dict[str, list[object]], present: dict[str, Sequence[str]]) -> None:
        missing: dict[int, list[str]] = {}
        for fdef in self.obj.fields.values():
            if not (fdef.createable and not fdef.nillable):
                continue
            name = fdef.name.lower()
            vals = values.get(name)
            # Fast paths (C-level scans): a full column, or no column and nothing to create or a default.
            if vals is not None and None not in vals:
                continue
            if vals is None and (fdef.default is not None or True not in self.creating):
                continue
            for i in range(self.n):
                if self.creating[i]:
                    if fdef.default is None and (vals is None or vals[i] is None):
                        missing.setdefault(i, []).append(fdef.name)
                elif vals is not None and vals[i] is None and present[name][i]:
                    # "#N/A" on a required field of an existing record
                    missing.setdefault(i, []).append(fdef.name)
        for i, names in missing.items():
            self.errors.setdefault(
                i,
                V.format_error(
                    "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(names)}]", names
                ),
            )

    def _check_unique(self, values: dict[str, list[object]], present: dict[str, Sequence[str]]) -> None:
        key = self.plan.key
        for fdef in self.obj.fields.values():
            name = fdef.name.lower()
            if not fdef.unique or name not in values or fdef is key:
                continue
            vals = values[name]
            rows_by_key: dict[object, list[int]] = {}
            for i, v in enumerate(vals):
                if v is not None and i not in self.errors:
                    rows_by_key.setdefault(_key(fdef, v), []).append(i)
            if not rows_by_key:
                continue
            matches = self.store._match(self.obj, fdef, list(rows_by_key))
            for k, idxs in rows_by_key.items():
                others = matches.get(k, [])
                for n_, i in enumerate(idxs):
                    holders = [rid for rid in others if rid != self.ids[i]]
                    if holders:
                        self.errors.setdefault(
                            i,
                            V.format_error(
                                "DUPLICATE_VALUE",
                                f"duplicate value found: {fdef.name} duplicates value on record "
                                f"with id: {holders[0]}",
                            ),
                        )
                    elif n_ > 0:
                        self.errors.setdefault(
                            i,
                            V.format_error(
                                "DUPLICATE_VALUE",
                                "duplicate value found: <unknown> duplicates value on record "
                                "with id: <unknown>",
                            ),
                        )

    # ---------------------------------------------------------------- writes
    def _write(self, values: dict[str, list[object]], present: dict[str, Sequence[str]]) -> None:
        errors = self.errors
        create = [i for i in range(self.n) if self.creating[i] and i not in errors]
        update = [i for i in range(self.n) if not self.creating[i] and i not in errors]
        now = _now()
        admin = self.store.admin_user_id
        obj = self.obj
        if create:
            new_ids = self.store.ids.next_ids(obj.key_prefix, len(create))
            for i, sid in zip(create, new_ids, strict=True):
                self.ids[i] = sid
            names: list[str] = []
            columns: list[list[object]] = []
            literal_names: list[str] = []
            literals: list[str] = []
            pick = itemgetter(*create)
            all_rows = len(create) == self.n
            for fdef in obj.fields.values():
                name = fdef.name.lower()
                if not fdef.createable:
                    continue
                vals = values.get(name)
                default = admin if fdef.default == CURRENT_USER else fdef.default
                if isinstance(default, bool):
                    default = int(default)
                if vals is None:
                    if default is None:
                        continue
                    literal = _sql_literal(default)
                    if literal is not None:
                        # the same default on every row: an SQL literal, one parameter fewer per row
                        literal_names.append(fdef.column)
                        literals.append(literal)
                        continue
                    col: list[object] = [default] * len(create)
                else:
                    col = vals if all_rows else ([pick(vals)] if len(create) == 1 else list(pick(vals)))
                    if default is not None and None in col:
                        col = [default if v is None else v for v in col]
                names.append(fdef.column)
                columns.append(col)
            system = [
                '"isdeleted"',
                '"createddate"',
                '"createdbyid"',
                '"lastmodifieddate"',
                '"lastmodifiedbyid"',
                '"systemmodstamp"',
            ]
            # constants as SQL literals (our own timestamp and id: no quoting issue) keep the
            # parameter tuples short; zip builds them in C
            consts = ", ".join(
                [*literals, "0", f"'{now}'", f"'{admin}'", f"'{now}'", f"'{admin}'", f"'{now}'"]
            )
            sql = (
                f'INSERT INTO {obj.table} ("id", {", ".join(names + literal_names + system)}) '
                f"VALUES ({', '.join('?' * (1 + len(names)))}, {consts})"
            )
            self.conn.executemany(sql, zip(new_ids, *columns, strict=True))
        if update:
            writable = [
                (fdef.name.lower(), fdef)
                for fdef in obj.fields.values()
                if fdef.updateable and fdef.name.lower() in values
            ]
            groups: dict[tuple[bool, ...], list[int]] = {}
            for i in update:
                mask = tuple(bool(present[name][i]) for name, _ in writable)
                groups.setdefault(mask, []).append(i)
            for mask, idxs in groups.items():
                chosen = [(name, fdef) for (name, fdef), on in zip(writable, mask, strict=True) if on]
                sets = [f"{fdef.column} = ?" for _, fdef in chosen]
                sets += ['"lastmodifieddate" = ?', '"lastmodifiedbyid" = ?', '"systemmodstamp" = ?']
                sql = f"UPDATE {obj.table} SET {', '.join(sets)} WHERE id = ?"
                params = []
                for i in idxs:
                    row = [self._update_value(fdef, values[name][i], admin) for name, fdef in chosen]
                    params.append((*row, now, admin, now, self.ids[i]))
                self.conn.executemany(sql, params)

    @staticmethod
    def _update_value(fdef: FieldDef, value: object, admin: str) -> object:
        if value is None and fdef.type == "boolean":
            return 0  # checkboxes are never null: "#N/A" unchecks
        return value

    def _delete(self, hard: bool) -> BatchResults:
        self._resolve_ids(self.plan.id_col, "hardDelete" if hard else "delete")
        if self.lock_fail is not None:
            for i in range(self.n):
                if i not in self.errors and self.lock_fail(i):
                    self.errors[i] = V.format_error(
                        "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"
                    )
        ok = [(self.ids[i],) for i in range(self.n) if i not in self.errors]
        table = self.obj.table
        if hard:
            self.conn.executemany(f"DELETE FROM {table} WHERE id = ?", ok)
        else:
            now = _now()
            self.conn.executemany(
                f'UPDATE {table} SET "isdeleted" = 1, "lastmodifieddate" = ?, "systemmodstamp" = ? '
                "WHERE id = ?",
                [(now, now, r[0]) for r in ok],
            )
        ids = [sid or "" for sid in self.ids]
        return BatchResults(self.n, ids, [False] * self.n, self.errors, self.raw, self.raw)

    # ---------------------------------------------------------------- results
    def _results(self, values: dict[str, list[object]]) -> BatchResults:
        rendered: list[Sequence[str]] = []
        for c in self.plan.cols:
            raw = self.raw[c.index]
            fdef = c.fdef
            if c.kind == "field" and fdef is not None and fdef.type in ("date", "datetime"):
                # stored as their canonical text already
                vals = values[fdef.name.lower()]
                rendered.append([r if v is None else v for r, v in zip(raw, vals, strict=True)])  # type: ignore[misc]
            elif (
                c.kind == "field"
                and fdef is not None
                and fdef.type in ("int", "double", "currency", "percent", "boolean")
            ):
                vals = values[fdef.name.lower()]
                rendered.append(
                    [r if v is None else _render(fdef, v) for r, v in zip(raw, vals, strict=True)]
                )
            else:
                rendered.append(raw)
        errors = self.errors
        creating = self.creating
        ids = self.ids
        sf_ids: list[str]
        if not errors and None not in ids:
            sf_ids = ids  # type: ignore[assignment]  # no None left
        else:
            # a failed row that would have created a record has no id
            sf_ids = [
                ("" if creating[i] else (sid or "")) if i in errors else (sid or "")
                for i, sid in enumerate(ids)
            ]
        return BatchResults(self.n, sf_ids, creating, errors, rendered, self.raw)
