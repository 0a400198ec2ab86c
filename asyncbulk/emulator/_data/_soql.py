"""The SOQL subset the emulator understands, parsed and resolved against the schema.

Supported (REST ``query``/``queryAll`` and Bulk API 2.0 query jobs alike)::

    SELECT path, ... | COUNT()  FROM Object
        [WHERE cond] [ORDER BY path [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]
    path  := Field | Relationship.Field | Rel.Rel.Field ...   (``Account.Name``, ``Owner.Email``)
    cond  := NOT cond | (cond) | cond AND cond ... | cond OR cond ...
           | path (= | != | <> | < | <= | > | >=) literal | path [NOT] IN (literal, ...)
           | path LIKE 'pattern'
    literal := 'text' | number | true | false | null | 2024-01-31 | 2024-01-31T10:00:00Z
             | TODAY | LAST_N_DAYS:30 | ...   (see :mod:`._soql_dates`)

Keywords, objects and fields are case-insensitive; text comparisons too, as in SOQL. Errors raise
``QueryError`` with the platform's codes and texts (``MALFORMED_QUERY``, ``INVALID_TYPE``,
``INVALID_FIELD``) behind Salesforce's caret prefix (:mod:`._soql_lex`). With ``bulk=True`` the query
is compiled for a Bulk API 2.0 query job: once it is otherwise valid, what that engine refuses
(compound fields, subqueries, aggregates, ``GROUP BY``, ``OFFSET``, ``TYPEOF``, ``FIELDS()``) is an
``API_ERROR``. Without it, those (which the emulator's REST query does not implement, except
``COUNT()`` and ``OFFSET``) are ``MALFORMED_QUERY`` at their token.
"""

from __future__ import annotations

from ._errors import QueryError
from ._schema import FieldDef, ObjectDef, Schema
from ._soql_ast import And, Compare, Cond, DaySpan, FieldPath, InList, Like, Not, Or, OrderKey, SoqlQuery
from ._soql_dates import DAY_SPANS, date_span, takes_number
from ._soql_lex import Tok, bulk_error, compile_error, tokenize
from ._soql_rules import (
    AGGREGATES,
    COMPOUND,
    FIELDS,
    LONG_TEXT,
    MAX_OFFSET,
    OFFSET,
    RELATIONSHIPS,
    TYPEOF,
    WSDL,
    LiteralError,
    compound_parts,
    literal_value,
    unescape,
)

__all__ = ["parse_query"]


class _Parser:
    def __init__(self, schema: Schema, soql: str, bulk: bool) -> None:
        self.schema = schema
        self.soql = soql
        self.bulk = bulk
        self.toks = tokenize(soql)
        self.i = 0
        self.problem: str | None = None

    # ----- tokens ----------------------------------------------------------------------------
    def peek(self) -> Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def at(self, *words: str) -> bool:
        t = self.peek()
        return t is not None and t.is_word(*words)

    def at_op(self, text: str) -> bool:
        t = self.peek()
        return t is not None and t.kind == "op" and t.text == text

    def take(self) -> Tok:
        t = self.peek()
        if t is None:
            raise self.unexpected(None)
        self.i += 1
        return t

    def error(self, pos: int, code: str, message: str) -> QueryError:
        return compile_error(self.soql, self.toks, pos, code, message)

    def unexpected(self, t: Tok | None) -> QueryError:
        # Quoted since Summer '24 ("unexpected token: 'OR'", release notes' SOQL changed error messages,
        # https://help.salesforce.com/s/articleView?id=release-notes.salesforce_release_notes.htm&release=250).
        if t is None:
            return self.error(len(self.soql), "MALFORMED_QUERY", "unexpected token: '<EOF>'")
        return self.error(t.pos, "MALFORMED_QUERY", f"unexpected token: '{t.text}'")

    def expect_word(self, word: str) -> Tok:
        t = self.take()
        if not t.is_word(word):
            raise self.unexpected(t)
        return t

    def expect_op(self, text: str) -> None:
        t = self.take()
        if t.kind != "op" or t.text != text:
            raise self.unexpected(t)

    def refuse(self, t: Tok, bulk_message: str) -> None:
        """Something only Bulk's engine knows to refuse (later); the emulator's REST query refuses it now."""
        if not self.bulk:
            raise self.unexpected(t)
        if self.problem is None:
            self.problem = bulk_message

    def skip_group(self) -> None:
        """Skip to the ``)`` that closes an opening ``(`` just taken."""
        depth = 1
        while depth:
            t = self.take()
            if t.kind == "op" and t.text in "()":
                depth += 1 if t.text == "(" else -1

    # ----- the query -------------------------------------------------------------------------
    def parse(self) -> SoqlQuery:
        self.expect_word("select")
        items, count_only = self.select_items()
        self.expect_word("from")
        obj_tok = self.take()
        if obj_tok.kind != "word":
            raise self.unexpected(obj_tok)
        obj = self.schema.get(obj_tok.text)
        if obj is None:
            raise self.error(
                obj_tok.pos,
                "INVALID_TYPE",
                f"sObject type '{obj_tok.text}' is not supported. If you are attempting to use a custom "
                f"object, be sure to append the '__c' after the entity name. {WSDL}",
            )
        fields = tuple(self.path(obj, t) for t in items)
        seen: set[str] = set()
        for tok, f in zip(items, fields, strict=True):
            if f.name.lower() in seen:
                # Salesforce's answer, without the caret prefix ("FIELDS()", SOQL and SOSL reference,
                # https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_fields.htm).
                raise QueryError("INVALID_FIELD", f"duplicate field selected: {f.name}")
            seen.add(f.name.lower())
            if f.compound and self.bulk:
                self.refuse(tok, COMPOUND)  # the REST API returns compound fields as structures
        where = None
        if self.at("where"):
            self.take()
            where = self.condition(obj)
        if self.at("group"):
            group = self.take()
            self.expect_word("by")
            self.path(obj, self.take())
            while self.at_op(","):
                self.take()
                self.path(obj, self.take())
            self.refuse(group, RELATIONSHIPS)
        order = self.order_by(obj) if self.at("order") else ()
        limit = offset = None
        if self.at("limit"):
            self.take()
            limit = self.count()
        if self.at("offset"):
            off = self.take()
            offset = self.count()
            if offset > MAX_OFFSET:
                raise QueryError("NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}")
            if self.bulk:
                self.refuse(off, OFFSET)
        rest = self.peek()
        if rest is not None:
            raise self.unexpected(rest)
        if self.problem is not None:
            raise bulk_error(self.problem)
        return SoqlQuery(self.soql, obj, fields, where, order, limit, offset, count_only)

    def select_items(self) -> tuple[list[Tok], bool]:
        items: list[Tok] = []
        count_only = False
        while True:
            t = self.take()
            if t.kind == "op" and t.text == "(":
                self.skip_group()  # a parent-to-child subquery
                self.refuse(t, RELATIONSHIPS)
            elif t.is_word("typeof"):
                while not self.take().is_word("end"):
                    pass
                self.refuse(t, TYPEOF)
            elif t.kind == "word" and self.at_op("(") and t.low in AGGREGATES | {"fields"}:
                self.take()
                arg = None if self.at_op(")") else self.take()
                self.expect_op(")")
                if t.low == "fields":
                    self.refuse(t, FIELDS)
                elif t.low == "count" and arg is None and not items and not count_only:
                    count_only = True
                    if self.bulk:
                        self.refuse(t, RELATIONSHIPS)
                else:
                    self.refuse(t, RELATIONSHIPS)
                    alias = self.peek()
                    if alias is not None and alias.kind == "word" and not alias.is_word("from"):
                        self.take()
            elif t.kind == "word" and not t.is_word("from"):
                items.append(t)
            else:
                raise self.unexpected(t)
            if not self.at_op(","):
                return items, count_only
            self.take()

    def count(self) -> int:
        t = self.take()
        if t.kind != "num" or not t.text.isdigit():
            raise self.unexpected(t)
        return int(t.text)

    def path(self, obj: ObjectDef, t: Tok) -> FieldPath:
        """Resolve a field path against ``obj`` (INVALID_FIELD for what does not exist)."""
        if t.kind != "word":
            raise self.unexpected(t)
        parts = t.text.split(".")
        if len(parts) > 1 and parts[0].lower() == obj.name.lower():
            parts = parts[1:]  # "Contact.LastName" FROM Contact
        hops: list[FieldDef] = []
        objects: list[ObjectDef] = []
        cur = obj
        for rel in parts[:-1]:
            ref = cur.relationship(rel)
            target = self.schema.get(ref.reference_to[0]) if ref is not None else None
            if ref is None or target is None:
                raise self.error(
                    t.pos,
                    "INVALID_FIELD",
                    f"Didn't understand relationship '{rel}' in field path. If you are attempting to use a "
                    "custom relationship, be sure to append the '__r' after the custom relationship name. "
                    + WSDL,
                )
            hops.append(ref)
            objects.append(target)
            cur = target
        name = parts[-1]
        fdef = cur.field(name)
        parts_of: tuple[FieldDef, ...] = ()
        if fdef is None:
            compound = compound_parts(cur, name)
            if compound is None:
                raise self.error(
                    t.pos,
                    "INVALID_FIELD",
                    f"No such column '{name}' on entity '{cur.name}'. If you are attempting to use a custom "
                    f"field, be sure to append the '__c' after the custom field name. {WSDL}",
                )
            canonical, kind, parts_of = compound
            fdef = FieldDef(canonical, kind, canonical, createable=False, updateable=False)
        return FieldPath(obj, tuple(hops), tuple(objects), fdef, parts_of)

    def usable_path(self, obj: ObjectDef, verb: str) -> FieldPath:
        """A path in WHERE or ORDER BY: compound fields and long text areas cannot be used there."""
        t = self.take()
        path = self.path(obj, t)
        f = path.field
        if path.compound or (f.type == "textarea" and f.length > LONG_TEXT):
            # The platform's text, e.g. "field 'Description' can not be filtered in query call".
            raise self.error(t.pos, "INVALID_FIELD", f"field '{f.name}' can not be {verb} in query call")
        return path

    # ----- WHERE -----------------------------------------------------------------------------
    def condition(self, obj: ObjectDef) -> Cond:
        """``a AND b ...`` or ``a OR b ...``; mixing the two needs parentheses, as in SOQL."""
        first = self.unary(obj)
        if not self.at("and", "or"):
            return first
        joiner = self.peek().low  # type: ignore[union-attr]
        conds = [first]
        while self.at(joiner):
            self.take()
            conds.append(self.unary(obj))
        if self.at("or" if joiner == "and" else "and"):
            raise self.unexpected(self.peek())
        return And(tuple(conds)) if joiner == "and" else Or(tuple(conds))

    def unary(self, obj: ObjectDef) -> Cond:
        if self.at("not"):
            self.take()
            return Not(self.unary(obj))
        if self.at_op("("):
            self.take()
            cond = self.condition(obj)
            self.expect_op(")")
            return cond
        return self.simple(obj)

    def simple(self, obj: ObjectDef) -> Cond:
        path = self.usable_path(obj, "filtered")
        negate = False
        if self.at("not"):
            self.take()
            if not self.at("in"):
                raise self.unexpected(self.peek())
            negate = True
        if self.at("in"):
            self.take()
            self.expect_op("(")
            values = [self.literal(path)]
            while self.at_op(","):
                self.take()
                values.append(self.literal(path))
            self.expect_op(")")
            return InList(path, tuple(values), negate)
        if self.at("like"):
            self.take()
            pattern = self.take()
            if pattern.kind != "str":
                raise self.unexpected(pattern)
            return Like(path, unescape(pattern.text, keep_wildcards=True))
        op = self.take()
        if op.kind != "op" or op.text in ("(", ")", ",", ":"):
            raise self.unexpected(op)
        value = self.literal(path)
        if value is None and op.text not in ("=", "!=", "<>"):
            raise self.unexpected(op)
        return Compare(path, "!=" if op.text == "<>" else op.text, value)

    def literal(self, path: FieldPath) -> object:
        """A literal typed for the field: Salesforce refuses a quoted number, an unquoted text..."""
        t = self.take()
        fdef = path.field
        if t.kind == "word" and t.low in DAY_SPANS and fdef.type in ("date", "datetime"):
            n = None
            if takes_number(t.low):
                self.expect_op(":")
                n = self.count()
            return DaySpan(*date_span(t.low, n))
        try:
            return literal_value(t, fdef)
        except LiteralError as exc:
            if exc.unexpected:
                raise self.unexpected(t) from None
            raise self.error(t.pos, exc.code, exc.message) from None

    # ----- ORDER BY --------------------------------------------------------------------------
    def order_by(self, obj: ObjectDef) -> tuple[OrderKey, ...]:
        self.take()
        self.expect_word("by")
        keys = []
        while True:
            path = self.usable_path(obj, "sorted")
            desc = False
            if self.at("desc", "asc"):
                desc = self.take().low == "desc"
            # SOQL's default: nulls first when ascending, last when descending.
            nulls_first = not desc
            if self.at("nulls"):
                self.take()
                which = self.take()
                if not which.is_word("first", "last"):
                    raise self.unexpected(which)
                nulls_first = which.low == "first"
            keys.append(OrderKey(path, desc, nulls_first))
            if not self.at_op(","):
                return tuple(keys)
            self.take()


def parse_query(schema: Schema, soql: str, *, bulk: bool = False) -> SoqlQuery:
    """Parse ``soql`` against ``schema``; raises ``QueryError`` for what is refused (see the module)."""
    return _Parser(schema, soql.strip(), bulk).parse()
