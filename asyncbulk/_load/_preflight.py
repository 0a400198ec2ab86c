"""The pre-flight: the header checked against the object before any job spends the org's allocations.

One describe call (``GET /sobjects/{object}/describe``, plus one per object a relationship column
points at) tells which fields exist, which can be written on insert or update, and which can match
records; every problem is collected and reported at once. Field names compare case-insensitively,
as Salesforce does ("Prepare CSV Files",
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/datafiles_prepare_csv.htm:
relationship columns are ``RelationshipName.IndexedField``, or ``ObjectType:RelationshipName.IndexedField``
for polymorphic ones, and the parent field must be an external id or idLookup field).
"""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._config import Operation

__all__ = ["Describe", "FieldInfo", "check_header", "check_key_columns"]


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """What the pre-flight needs of one field of a describe."""

    name: str
    type: str
    createable: bool
    updateable: bool
    external_id: bool
    id_lookup: bool
    relationship: str | None
    reference_to: tuple[str, ...]

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> FieldInfo:
        """One entry of a describe's ``fields``."""
        relationship = data.get("relationshipName")
        return cls(
            name=str(data.get("name") or ""),
            type=str(data.get("type") or ""),
            createable=bool(data.get("createable")),
            updateable=bool(data.get("updateable")),
            external_id=bool(data.get("externalId")),
            id_lookup=bool(data.get("idLookup")),
            relationship=str(relationship) if relationship else None,
            reference_to=tuple(str(r) for r in data.get("referenceTo") or ()),
        )

    @property
    def matches_records(self) -> bool:
        """Whether the field can identify a record (an upsert key, a relationship's parent field)."""
        return self.external_id or self.id_lookup or self.name.lower() == "id"


@dataclass(frozen=True)
class Describe:
    """An object's fields, by lower-case name and by lower-case relationship name."""

    name: str
    fields: Mapping[str, FieldInfo]
    relationships: Mapping[str, FieldInfo]

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Describe:
        """A describe answer."""
        parsed = [FieldInfo.parse(f) for f in data.get("fields") or () if isinstance(f, Mapping)]
        return cls(
            name=str(data.get("name") or ""),
            fields={f.name.lower(): f for f in parsed},
            relationships={f.relationship.lower(): f for f in parsed if f.relationship},
        )

    @property
    def field_types(self) -> dict[str, str]:
        """Lower-case field name -> describe type (for matching re-rendered results)."""
        return {name: f.type for name, f in self.fields.items()}

    def suggest(self, name: str) -> str:
        """`` (did you mean X?)`` for a misspelt field name, or nothing."""
        names = {f.name.lower(): f.name for f in self.fields.values()}
        close = difflib.get_close_matches(name.lower(), list(names), n=2, cutoff=0.75)
        if not close:
            return ""
        shown = " or ".join(names[c] for c in close)
        return f" (did you mean {shown}?)"


def check_key_columns(
    columns: Sequence[str], operation: Operation, external_id_field: str | None
) -> list[str]:
    """The problems with the columns the operation itself needs (no org needed to tell)."""
    lower = {c.lower() for c in columns}
    problems = []
    if operation is Operation.UPSERT and external_id_field and external_id_field.lower() not in lower:
        problems.append(
            f"upsert on {external_id_field!r} needs a column {external_id_field!r}; "
            f"the header has {', '.join(columns)}"
        )
    if operation in (Operation.UPDATE, Operation.DELETE, Operation.HARD_DELETE) and "id" not in lower:
        problems.append(f"{operation.value} needs an 'Id' column; the header has {', '.join(columns)}")
    return problems


async def check_header(
    columns: Sequence[str],
    operation: Operation,
    external_id_field: str | None,
    described: Describe,
    describe: Callable[[str], Awaitable[Describe | None]],
) -> list[str]:
    """Every problem of the header against the object, in header order.

    :param described: the object's describe.
    :param describe: describes another object (a relationship's parent); ``None`` if it cannot.
    """
    problems: list[str] = []
    obj = described.name
    if operation is Operation.UPSERT and external_id_field:
        key = described.fields.get(external_id_field.lower())
        if key is None:
            hint = described.suggest(external_id_field)
            problems.append(f"the upsert key {external_id_field!r} is not a field of {obj}{hint}")
        elif not key.matches_records:
            problems.append(
                f"the upsert key {key.name} is not an external id or idLookup field of {obj}, so it cannot "
                "match records (mark it External ID, or choose another key)"
            )
    if operation in (Operation.DELETE, Operation.HARD_DELETE):
        return problems  # only Id counts; the key columns were checked already
    writes = (
        "insert" if operation is Operation.INSERT else "update" if operation is Operation.UPDATE else "upsert"
    )
    parents: dict[str, Describe | None] = {}
    for column in columns:
        name = column.strip()
        lower = name.lower()
        if lower == "id" and operation in (Operation.UPDATE, Operation.UPSERT):
            continue  # the record's key, not a value written
        if "." in name:
            problems += await _check_relationship(name, described, operation, describe, parents)
            continue
        info = described.fields.get(lower)
        if info is None:
            problems.append(f"{name!r} is not a field of {obj}{described.suggest(name)}")
            continue
        if operation is Operation.UPSERT and external_id_field and lower == external_id_field.lower():
            continue
        problems += _writable(info, operation, writes, obj)
    return problems


def _writable(info: FieldInfo, operation: Operation, writes: str, obj: str) -> list[str]:
    if operation in (Operation.INSERT, Operation.UPSERT) and not info.createable:
        return [f"{info.name} cannot be set on {writes}: it is not a createable field of {obj}"]
    if operation in (Operation.UPDATE, Operation.UPSERT) and not info.updateable:
        return [f"{info.name} cannot be changed on {writes}: it is not an updateable field of {obj}"]
    return []


async def _check_relationship(
    column: str,
    described: Describe,
    operation: Operation,
    describe: Callable[[str], Awaitable[Describe | None]],
    parents: dict[str, Describe | None],
) -> list[str]:
    """``Account.External_Id__c`` or ``Lead:Who.Email``: the relationship, and its parent field."""
    obj = described.name
    head, _, target_field = column.partition(".")
    target_type, _, relationship = head.rpartition(":")
    if not relationship or not target_field or "." in target_field:
        return [
            f"{column!r} is not a relationship column (RelationshipName.Field, or "
            "ObjectType:RelationshipName.Field for a polymorphic one; one level only)"
        ]
    ref = described.relationships.get(relationship.lower())
    if ref is None:
        hint = ""
        custom = relationship.lower().removesuffix("__c")
        if f"{custom}__r" in described.relationships:
            hint = f" (did you mean {described.relationships[f'{custom}__r'].relationship}?)"
        elif relationship.lower() in described.fields:
            hint = (
                " (that is the id field; the relationship name is what its describe calls relationshipName)"
            )
        return [f"{relationship!r} in {column!r} is not a relationship of {obj}{hint}"]
    problems = _writable(ref, operation, operation.value, obj)
    if target_type:
        targets = [t for t in ref.reference_to if t.lower() == target_type.lower()]
        if not targets:
            allowed = ", ".join(ref.reference_to) or "nothing"
            return [*problems, f"{column!r}: {relationship} points at {allowed}, not {target_type}"]
        parent_name = targets[0]
    elif len(ref.reference_to) == 1:
        parent_name = ref.reference_to[0]
    else:
        return [
            *problems,
            f"{column!r}: {relationship} is polymorphic ({', '.join(ref.reference_to)}); "
            f"name the object, e.g. {ref.reference_to[0]}:{column}",
        ]
    key = parent_name.lower()
    if key not in parents:
        parents[key] = await describe(parent_name)
    parent = parents[key]
    if parent is None:
        return problems  # the parent cannot be described: its field goes unchecked
    field = parent.fields.get(target_field.lower())
    if field is None:
        return [
            *problems,
            f"{target_field!r} in {column!r} is not a field of {parent_name}{parent.suggest(target_field)}",
        ]
    if not field.matches_records:
        return [
            *problems,
            f"{parent_name}.{field.name} in {column!r} is not an external id or idLookup field, so it "
            "cannot find the parent record",
        ]
    return problems
