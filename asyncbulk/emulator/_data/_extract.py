"""What a Bulk API 2.0 query job reads: its query compiled for Bulk, and a snapshot of its rows as text.

The snapshot copies the result rows into a temporary table in one statement (one point in time, the
store's lock held only for that copy), then hands them out in chunks, each cell already rendered the
way Bulk query results write it ("Get Results for a Query Job",
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_job_results.htm):
booleans ``true``/``false``, dates ``2024-01-31``, datetimes ``2024-01-31T10:00:00.000Z`` (UTC),
doubles, currency and percent as Java's ``Double.toString`` (``100.0``, ``9.12260031E8``, as the
platform renders doubles in Bulk results), ints as digits, nulls as the empty string.
"""

from __future__ import annotations

import itertools
from collections.abc import Generator
from dataclasses import dataclass

from ._schema import NUMBER_TYPES, Schema
from ._soql import parse_query
from ._soql_sql import SqlPlan, to_sql
from ._store import Store
from ._values import java_double

__all__ = ["BulkQuery", "compile_bulk", "snapshot"]

# Standard objects that support PK chunking ("Bulk API 2.0 Query", the list of objects,
# https://developer.salesforce.com/docs/atlas.en-us.242.0.api_asynch.meta/api_asynch/queries.htm);
# every custom object does. Of the emulator's built-in objects, Organization does not.
_PK_CHUNKED = frozenset({"account", "contact", "lead", "user"})
_names = itertools.count()


@dataclass(frozen=True)
class BulkQuery:
    """A query compiled for a Bulk API 2.0 query job.

    :ivar object: the canonical name of the FROM object (JobInfo's ``object``).
    :ivar columns: the result header, in SELECT order (``Account.Name`` for parent fields).
    :ivar pk_chunking: JobInfo's ``isPkChunkingSupported`` for that object.
    """

    object: str
    columns: tuple[str, ...]
    pk_chunking: bool
    types: tuple[str, ...]
    plan: SqlPlan


def compile_bulk(schema: Schema, soql: str, *, include_deleted: bool) -> BulkQuery:
    """Compile ``soql`` as Bulk's query engine would (``queryAll``: ``include_deleted``).

    :raises QueryError: REST-style compile errors first, then Bulk's refusals (``API_ERROR``).
    """
    q = parse_query(schema, soql, bulk=True)
    return BulkQuery(
        object=q.obj.name,
        columns=q.columns,
        pk_chunking=q.obj.custom or q.obj.name.lower() in _PK_CHUNKED,
        types=tuple(f.field.type for f in q.fields),
        plan=to_sql(q, include_deleted=include_deleted),
    )


def _render(ftype: str, values: tuple[object, ...]) -> list[str]:
    if ftype == "boolean":
        return ["" if v is None else "true" if v else "false" for v in values]
    if ftype in NUMBER_TYPES:
        return ["" if v is None else java_double(float(v)) for v in values]  # type: ignore[arg-type]
    return ["" if v is None else str(v) for v in values]  # text, ids, dates, datetimes, ints


def snapshot(store: Store, query: BulkQuery, chunk_rows: int) -> Generator[list[list[str]], None, None]:
    """The query's rows as of now, ``chunk_rows`` at a time, column-wise (``chunk[j][i]``: row i, column j).

    Closing the iterator early drops the snapshot.
    """
    table = f"temp.query_snapshot_{next(_names)}"
    store.execute(f"CREATE TABLE {table} AS {query.plan.sql}", query.plan.params)
    try:
        last = 0
        while True:
            rows = store.fetchall(
                f"SELECT rowid, * FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?", (last, chunk_rows)
            )
            if not rows:
                return
            last = rows[-1][0]
            columns = list(zip(*rows, strict=True))[1:]
            yield [_render(t, col) for t, col in zip(query.types, columns, strict=True)]
    finally:
        store.execute(f"DROP TABLE IF EXISTS {table}")
