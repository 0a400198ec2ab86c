"""A parsed SOQL query as one SQLite statement: parent relationships as LEFT JOINs, SOQL's null rules.

SOQL's ``!=`` and ``NOT IN`` match records whose field is null, and ``NOT`` negates a condition that
is false for a null field; SQL's three-valued logic does neither, so those forms are spelled out. Text
columns are ``COLLATE NOCASE``, which makes ``=``, ``IN`` and ``ORDER BY`` case-insensitive as in SOQL.
Rows without ``ORDER BY`` come in Id order (creation order), and Id breaks ties of an ``ORDER BY``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ._soql_ast import And, Compare, Cond, DaySpan, FieldPath, InList, Like, Not, Or, SoqlQuery

__all__ = ["SqlPlan", "to_sql"]


@dataclass(frozen=True)
class SqlPlan:
    """The statement, its parameters, and where each selected field's values are in a result row.

    ``layout[k]`` are the row indexes of the query's k-th field (several for a compound field).
    With ``with_ids``, row[0] is the record's Id and ``parent_ids[prefix]`` the index of the Id of the
    parent reached by that relationship prefix (lower-case names), null when there is none.
    """

    sql: str
    params: tuple[object, ...]
    layout: tuple[tuple[int, ...], ...]
    parent_ids: dict[tuple[str, ...], int] = field(default_factory=dict)


class _Joins:
    """Table aliases: ``t0`` for the FROM object, one LEFT JOIN per relationship prefix used."""

    def __init__(self, q: SoqlQuery) -> None:
        self.aliases: dict[tuple[str, ...], str] = {(): "t0"}
        self.clauses: list[str] = [f"{q.obj.table} t0"]

    def alias(self, path: FieldPath, depth: int | None = None) -> str:
        depth = len(path.hops) if depth is None else depth
        key = tuple(r.lower() for r in path.relationships[:depth])
        if key not in self.aliases:
            parent = self.alias(path, depth - 1)
            name = f"t{len(self.aliases)}"
            hop = path.hops[depth - 1]
            target = path.objects[depth - 1]
            self.clauses.append(f'LEFT JOIN {target.table} {name} ON {name}."id" = {parent}.{hop.column}')
            self.aliases[key] = name
        return self.aliases[key]

    def column(self, path: FieldPath) -> str:
        return f"{self.alias(path)}.{path.field.column}"


def _bound(fdef_type: str, d: date) -> str:
    # Stored forms: dates "2024-01-31", datetimes "2024-01-31T00:00:00.000Z" (UTC).
    return d.isoformat() if fdef_type == "date" else d.isoformat() + "T00:00:00.000Z"


class _Where:
    def __init__(self, joins: _Joins) -> None:
        self.joins = joins
        self.params: list[object] = []

    def cond(self, c: Cond) -> str:
        if isinstance(c, And | Or):
            word = " AND " if isinstance(c, And) else " OR "
            return "(" + word.join(self.cond(x) for x in c.conds) + ")"
        if isinstance(c, Not):
            return f"NOT IFNULL({self.cond(c.cond)}, 0)"
        if isinstance(c, Like):
            self.params.append(c.pattern)
            return f"{self.joins.column(c.path)} LIKE ? ESCAPE '\\'"
        if isinstance(c, InList):
            return self.in_list(c)
        return self.compare(c)

    def compare(self, c: Compare) -> str:
        col = self.joins.column(c.path)
        value = c.value
        if value is None:
            return f"{col} IS NULL" if c.op == "=" else f"{col} IS NOT NULL"
        if isinstance(value, DaySpan):
            first = _bound(c.path.field.type, value.first)
            end = _bound(c.path.field.type, value.end)
            sql = {
                "=": f"({col} >= ? AND {col} < ?)",
                "!=": f"({col} IS NULL OR {col} < ? OR {col} >= ?)",
                "<": f"{col} < ?",
                "<=": f"{col} < ?",
                ">": f"{col} >= ?",
                ">=": f"{col} >= ?",
            }[c.op]
            bounds = {
                "=": [first, end],
                "!=": [first, end],
                "<": [first],
                "<=": [end],
                ">": [end],
                ">=": [first],
            }
            self.params.extend(bounds[c.op])
            return sql
        self.params.append(value)
        if c.op == "!=":
            return f"({col} IS NULL OR {col} != ?)"
        return f"{col} {c.op} ?"

    def in_list(self, c: InList) -> str:
        if any(isinstance(v, DaySpan) for v in c.values):
            any_of = Or(tuple(Compare(c.path, "=", v) for v in c.values))
            return f"NOT IFNULL({self.cond(any_of)}, 0)" if c.negate else self.cond(any_of)
        col = self.joins.column(c.path)
        plain = [v for v in c.values if v is not None]
        has_null = len(plain) < len(c.values)
        self.params.extend(plain)
        marks = ", ".join("?" * len(plain))
        if c.negate:
            inner = f"{col} NOT IN ({marks})" if plain else "1"
            return f"({inner} AND {col} IS NOT NULL)" if has_null else f"({col} IS NULL OR {inner})"
        inner = f"{col} IN ({marks})" if plain else "0"
        return f"({inner} OR {col} IS NULL)" if has_null else inner


def to_sql(q: SoqlQuery, *, include_deleted: bool = False, with_ids: bool = False) -> SqlPlan:
    """The statement for ``q``; ``include_deleted`` for queryAll, ``with_ids`` for REST records."""
    joins = _Joins(q)
    cols: list[str] = []
    parent_ids: dict[tuple[str, ...], int] = {}
    if with_ids:
        cols.append('t0."id"')
        for f in q.fields:
            for depth in range(1, len(f.hops) + 1):
                key = tuple(r.lower() for r in f.relationships[:depth])
                if key not in parent_ids:
                    parent_ids[key] = len(cols)
                    cols.append(f'{joins.alias(f, depth)}."id"')
    layout: list[tuple[int, ...]] = []
    for f in q.fields:
        alias = joins.alias(f)
        first = len(cols)
        if f.parts:
            cols.extend(f"{alias}.{p.column}" for p in f.parts)
        else:
            cols.append(f"{alias}.{f.field.column}")
        layout.append(tuple(range(first, len(cols))))
    where_sql = _Where(joins)
    conds = [] if include_deleted else ['t0."isdeleted" = 0']
    if q.where is not None:
        conds.append(where_sql.cond(q.where))
    order = [
        f"{joins.column(k.path)} {'DESC' if k.desc else 'ASC'} NULLS {'FIRST' if k.nulls_first else 'LAST'}"
        for k in q.order
    ]
    order.append('t0."id"')
    tail = ""
    if q.limit is not None or q.offset is not None:
        tail = f" LIMIT {q.limit if q.limit is not None else -1}"
        if q.offset:
            tail += f" OFFSET {q.offset}"
    body = " ".join(joins.clauses)
    where = f" WHERE {' AND '.join(conds)}" if conds else ""
    if q.count_only:
        sql = f"SELECT count(*) FROM (SELECT 1 FROM {body}{where}{tail})"
    else:
        # Named c0, c1...: unique names, so the rows can be copied into a table (a query job's snapshot).
        named = ", ".join(f"{c} AS c{i}" for i, c in enumerate(cols)) or "1 AS c0"
        sql = f"SELECT {named} FROM {body}{where} ORDER BY {', '.join(order)}{tail}"
    return SqlPlan(sql, tuple(where_sql.params), tuple(layout), parent_ids)
