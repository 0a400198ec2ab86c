"""A small SOQL subset: compiled to SQLite and run against the store (``GET query?q=``).

Supported::

    SELECT COUNT() FROM X [WHERE ...]
    SELECT f1, f2 FROM X [WHERE cond [AND cond ...]] [ORDER BY f [ASC|DESC]] [LIMIT n]
    cond := field (= | != | <> | < | <= | > | >=) literal | field [NOT] IN (literal, ...)
    literal := 'text' (\\' escapes) | number | true | false | null | 2024-01-31 | 2024-01-31T10:00:00Z

Text comparisons are case-insensitive, as in SOQL. Deleted records are never returned
(``queryAll`` is not emulated). Errors raise ``QueryError`` with the platform's codes and texts:
``MALFORMED_QUERY`` (``unexpected token: X``), ``INVALID_TYPE`` (``sObject type 'Foo' is not
supported. If you are attempting to use a custom object, be sure to append the '__c' after the
entity name. Please reference your WSDL or the describe call for the appropriate names.``) and
``INVALID_FIELD`` (``No such column 'Foo' on entity 'Contact'. If you are attempting to use a
custom field, be sure to append the '__c' after the custom field name. Please reference your
WSDL or the describe call for the appropriate names.``), each preceded, as Salesforce does, by
the query line, a caret under the offending token and ``ERROR at Row:1:Column:N``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .._vocab import LATEST_VERSION
from ._errors import QueryError
from ._ids import is_valid_id, to_18
from ._schema import FieldDef, ObjectDef, Schema
from ._store import Store
from ._values import rest_value, to_utc_text

__all__ = ["CompiledQuery", "compile_query", "run_query"]

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<dt>\d{4}-\d{2}-\d{2}(?:T[0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?)"
    r"|(?P<num>[+-]?\d+(?:\.\d+)?)|(?P<op><=|>=|!=|<>|=|<|>|\(|\)|,)|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)


@dataclass(frozen=True)
class CompiledQuery:
    """A query ready for SQLite: the SQL, its parameters and how to shape the records."""

    obj: ObjectDef
    fields: tuple[FieldDef, ...]
    count_only: bool
    sql: str
    params: tuple[object, ...]


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _tokens(soql: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(soql):
        if soql[pos:].strip() == "":
            break
        m = _TOKEN.match(soql, pos)
        if m is None or m.lastgroup is None:
            start = len(soql) - len(soql[pos:].lstrip())
            raise _error(soql, start, "MALFORMED_QUERY", f"unexpected token: {soql[start:].split()[0]}")
        out.append(_Tok(m.lastgroup, m.group(m.lastgroup), m.start(m.lastgroup)))
        pos = m.end()
    return out


def _error(soql: str, pos: int, code: str, message: str) -> QueryError:
    # Salesforce echoes the query, a caret under the problem and its 1-based position.
    return QueryError(code, f"\n{soql}\n{' ' * pos}^\nERROR at Row:1:Column:{pos + 1}\n{message}")


class _Parser:
    def __init__(self, schema: Schema, soql: str) -> None:
        self.schema = schema
        self.soql = soql
        self.toks = _tokens(soql)
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def word(self, *expected: str) -> bool:
        t = self.peek()
        if t is not None and t.kind == "word" and t.text.lower() in expected:
            self.i += 1
            return True
        return False

    def take(self) -> _Tok:
        t = self.peek()
        if t is None:
            raise _error(self.soql, len(self.soql), "MALFORMED_QUERY", "unexpected token: <EOF>")
        self.i += 1
        return t

    def fail(self, t: _Tok) -> QueryError:
        return _error(self.soql, t.pos, "MALFORMED_QUERY", f"unexpected token: {t.text}")

    def expect(self, text: str) -> None:
        t = self.take()
        if t.text.lower() != text:
            raise self.fail(t)

    def parse(self) -> CompiledQuery:
        self.expect("select")
        count_only = False
        names: list[_Tok] = []
        if self.word("count"):
            self.expect("(")
            self.expect(")")
            count_only = True
        else:
            while True:
                t = self.take()
                if t.kind != "word" or t.text.lower() == "from":
                    raise self.fail(t)
                names.append(t)
                if not (self.peek() and self.peek().text == ","):  # type: ignore[union-attr]
                    break
                self.i += 1
        self.expect("from")
        obj_tok = self.take()
        if obj_tok.kind != "word":
            raise self.fail(obj_tok)
        obj = self.schema.get(obj_tok.text)
        if obj is None:
            raise _error(
                self.soql,
                obj_tok.pos,
                "INVALID_TYPE",
                f"sObject type '{obj_tok.text}' is not supported. If you are attempting to use a custom "
                "object, be sure to append the '__c' after the entity name. Please reference your WSDL "
                "or the describe call for the appropriate names.",
            )
        fields = tuple(self.field(obj, t) for t in names)
        where = ['"isdeleted" = 0']
        params: list[object] = []
        if self.word("where"):
            while True:
                sql, p = self.condition(obj)
                where.append(sql)
                params.extend(p)
                if not self.word("and"):
                    break
        order = ""
        if self.word("order"):
            self.expect("by")
            f = self.field(obj, self.take())
            direction = "ASC"
            if self.word("desc"):
                direction = "DESC"
            else:
                self.word("asc")
            order = f" ORDER BY {f.column} {direction}"
        limit = ""
        if self.word("limit"):
            t = self.take()
            if t.kind != "num" or int(float(t.text)) < 0:
                raise self.fail(t)
            limit = f" LIMIT {int(t.text)}"
        rest = self.peek()
        if rest is not None:
            raise self.fail(rest)
        if count_only:
            sql = f"SELECT count(*) FROM {obj.table} WHERE {' AND '.join(where)}{limit}"
        else:
            cols = ", ".join(["id", *(f.column for f in fields)])
            sql = (
                f"SELECT {cols} FROM {obj.table} WHERE {' AND '.join(where)}{order or ' ORDER BY id'}{limit}"
            )
        return CompiledQuery(obj, fields, count_only, sql, tuple(params))

    def field(self, obj: ObjectDef, t: _Tok) -> FieldDef:
        fdef = obj.field(t.text) if t.kind == "word" else None
        if fdef is None:
            raise _error(
                self.soql,
                t.pos,
                "INVALID_FIELD",
                f"No such column '{t.text}' on entity '{obj.name}'. If you are attempting to use a custom "
                "field, be sure to append the '__c' after the custom field name. Please reference your "
                "WSDL or the describe call for the appropriate names.",
            )
        return fdef

    def condition(self, obj: ObjectDef) -> tuple[str, list[object]]:
        fdef = self.field(obj, self.take())
        negate = self.word("not")
        if self.word("in"):
            self.expect("(")
            values = [self.literal(fdef)]
            while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                self.i += 1
                values.append(self.literal(fdef))
            self.expect(")")
            marks = ", ".join("?" * len(values))
            return f"{fdef.column} {'NOT IN' if negate else 'IN'} ({marks})", values
        if negate:
            raise self.fail(self.toks[self.i - 1])
        op_tok = self.take()
        if op_tok.kind != "op" or op_tok.text in ("(", ")", ","):
            raise self.fail(op_tok)
        value = self.literal(fdef)
        op = {"<>": "!="}.get(op_tok.text, op_tok.text)
        if value is None:
            if op == "=":
                return f"{fdef.column} IS NULL", []
            if op == "!=":
                return f"{fdef.column} IS NOT NULL", []
            raise self.fail(op_tok)
        if op == "!=":
            # SOQL's != also matches nulls
            return f"({fdef.column} IS NULL OR {fdef.column} != ?)", [value]
        return f"{fdef.column} {op} ?", [value]

    def literal(self, fdef: FieldDef) -> object:
        t = self.take()
        if t.kind == "str":
            text = re.sub(r"\\(.)", r"\1", t.text[1:-1])
            if fdef.type in ("id", "reference") and len(text) == 15:
                return to_18(text) if is_valid_id(text) else text
            return text
        if t.kind == "num":
            return float(t.text) if "." in t.text else int(t.text)
        if t.kind == "dt":
            if fdef.type == "datetime":
                stored = to_utc_text(t.text)
                if stored is None:
                    raise self.fail(t)
                return stored
            return t.text
        if t.kind == "word" and t.text.lower() in ("true", "false"):
            return 1 if t.text.lower() == "true" else 0
        if t.kind == "word" and t.text.lower() == "null":
            return None
        raise self.fail(t)


def compile_query(schema: Schema, soql: str) -> CompiledQuery:
    """Parse ``soql`` against ``schema``; raises ``QueryError`` for what the subset rejects."""
    return _Parser(schema, soql.strip()).parse()


def run_query(store: Store, soql: str) -> dict[str, Any]:
    """Run ``soql``; the REST API's query answer (``totalSize``, ``done``, ``records``).

    :raises QueryError: for what the subset rejects.
    """
    q = compile_query(store.schema, soql)
    rows = store.fetchall(q.sql, q.params)
    if q.count_only:
        return {"totalSize": rows[0][0], "done": True, "records": []}
    url = f"/services/data/v{LATEST_VERSION}/sobjects/{q.obj.name}/"
    records = []
    for row in rows:
        rec: dict[str, Any] = {"attributes": {"type": q.obj.name, "url": url + row[0]}}
        for fdef, value in zip(q.fields, row[1:], strict=True):
            rec[fdef.name] = rest_value(fdef, value)
        records.append(rec)
    return {"totalSize": len(records), "done": True, "records": records}
