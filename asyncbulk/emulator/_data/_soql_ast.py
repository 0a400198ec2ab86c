"""A compiled SOQL query: the resolved field paths, the condition tree, the order, the limits.

The parser (:mod:`._soql`) builds these against the schema; :mod:`._soql_sql` turns them into SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ._schema import FieldDef, ObjectDef

__all__ = [
    "And",
    "Compare",
    "Cond",
    "DaySpan",
    "FieldPath",
    "InList",
    "Like",
    "Not",
    "Or",
    "OrderKey",
    "SoqlQuery",
]


@dataclass(frozen=True, slots=True)
class FieldPath:
    """A field of the FROM object or of a parent reached through relationships (``Account.Owner.Name``).

    ``hops`` are the reference fields followed, ``objects`` the object reached after each hop.
    ``parts`` is set for a compound field (``MailingAddress``: its Street, City... fields).
    """

    root: ObjectDef
    hops: tuple[FieldDef, ...]
    objects: tuple[ObjectDef, ...]
    field: FieldDef
    parts: tuple[FieldDef, ...] = ()

    @property
    def owner(self) -> ObjectDef:
        """The object the final field belongs to."""
        return self.objects[-1] if self.objects else self.root

    @property
    def relationships(self) -> tuple[str, ...]:
        """The canonical relationship names along the path (``("Account", "Owner")``)."""
        return tuple(h.relationship_name or h.name for h in self.hops)

    @property
    def name(self) -> str:
        """The canonical dotted name: a result column's header, a JSON key path (``Account.Name``)."""
        return ".".join((*self.relationships, self.field.name))

    @property
    def compound(self) -> bool:
        """An address or geolocation field (its value is a structure)."""
        return bool(self.parts)


@dataclass(frozen=True, slots=True)
class DaySpan:
    """A date literal's days ``[first, end)`` (``TODAY``, ``LAST_N_DAYS:7``...)."""

    first: date
    end: date


@dataclass(frozen=True, slots=True)
class Compare:
    """``path op value``; ``op`` is one of ``= != < <= > >=``; ``value`` ``None`` for null."""

    path: FieldPath
    op: str
    value: object


@dataclass(frozen=True, slots=True)
class InList:
    """``path [NOT] IN (values)``."""

    path: FieldPath
    values: tuple[object, ...]
    negate: bool


@dataclass(frozen=True, slots=True)
class Like:
    """``path LIKE 'pattern'`` (``%`` and ``_`` wildcards, ``\\`` escapes them)."""

    path: FieldPath
    pattern: str


@dataclass(frozen=True, slots=True)
class Not:
    """``NOT cond``."""

    cond: Cond


@dataclass(frozen=True, slots=True)
class And:
    """``a AND b AND ...``."""

    conds: tuple[Cond, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """``a OR b OR ...``."""

    conds: tuple[Cond, ...]


Cond = Compare | InList | Like | Not | And | Or


@dataclass(frozen=True, slots=True)
class OrderKey:
    """One ``ORDER BY`` key: the path, descending or not, nulls first or last."""

    path: FieldPath
    desc: bool
    nulls_first: bool


@dataclass(frozen=True)
class SoqlQuery:
    """A parsed and resolved query.

    ``bulk_problem`` is the first thing in it the Bulk API's query engine refuses (a compound field,
    a subquery, an aggregate...), as the ``API_ERROR`` message Salesforce gives, or ``None``.
    """

    text: str
    obj: ObjectDef
    fields: tuple[FieldPath, ...]
    where: Cond | None
    order: tuple[OrderKey, ...]
    limit: int | None
    offset: int | None
    count_only: bool
    bulk_problem: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """The result columns' names, in SELECT order."""
        return tuple(f.name for f in self.fields)
