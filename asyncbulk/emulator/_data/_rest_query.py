"""The REST API's query resources: ``query`` / ``queryAll`` records, and ``columns=true`` metadata.

Records are shaped as the REST API returns them ("Execute a SOQL Query",
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_query.htm): an
``attributes`` entry, fields in SELECT order, parent fields nested under the relationship name (itself
with ``attributes``, or ``null`` without a parent), compound fields as structures. The column metadata
has the keys Salesforce's CLI reads (``salesforcecli/plugin-data``, ``src/commands/data/query.ts`` and
its ``test/test-files/queryFields.exemplars.ts``).
"""

from __future__ import annotations

from typing import Any

from .._vocab import LATEST_VERSION
from ._schema import NUMBER_TYPES, TEXT_TYPES, FieldDef, Schema
from ._soql import parse_query
from ._soql_ast import FieldPath
from ._soql_sql import to_sql
from ._store import Store
from ._values import rest_value

__all__ = ["column_metadata", "run_query"]

_APEX_TYPES = {
    "id": "Id",
    "reference": "Id",
    "boolean": "Boolean",
    "int": "Integer",
    "double": "Double",
    "percent": "Double",
    "currency": "Decimal",
    "date": "Date",
    "datetime": "Datetime",
    "address": "Address",
    "location": "Location",
}


def _key(part: FieldDef, kind: str) -> str:
    """A compound field's key for a component: ``MailingPostalCode`` -> ``postalCode``."""
    name = part.name
    if kind == "location":
        name = "latitude" if name.endswith("__Latitude__s") else "longitude"
        return name
    for suffix in (
        "GeocodeAccuracy",
        "PostalCode",
        "Street",
        "City",
        "State",
        "Country",
        "Latitude",
        "Longitude",
    ):
        if name.endswith(suffix):
            return suffix[0].lower() + suffix[1:]
    return name


def _compound(path: FieldPath, values: list[object]) -> dict[str, object] | None:
    if all(v is None for v in values):
        return None
    pairs = [(_key(p, path.field.type), rest_value(p, v)) for p, v in zip(path.parts, values, strict=True)]
    return dict(sorted(pairs))


def run_query(
    store: Store, soql: str, *, version: str = LATEST_VERSION, include_deleted: bool = False
) -> dict[str, Any]:
    """Run ``soql``; the REST API's answer (``totalSize``, ``done``, ``records``), URLs at ``version``.

    :raises QueryError: for what the subset rejects.
    """
    q = parse_query(store.schema, soql)
    plan = to_sql(q, include_deleted=include_deleted, with_ids=not q.count_only)
    rows = store.fetchall(plan.sql, plan.params)
    if q.count_only:
        return {"totalSize": rows[0][0], "done": True, "records": []}
    base = f"/services/data/v{version}/sobjects/"
    records = []
    for row in rows:
        rec: dict[str, Any] = {"attributes": {"type": q.obj.name, "url": f"{base}{q.obj.name}/{row[0]}"}}
        for path, where in zip(q.fields, plan.layout, strict=True):
            target: dict[str, Any] | None = rec
            for depth, (rel, obj) in enumerate(zip(path.relationships, path.objects, strict=True), 1):
                parent_id = row[plan.parent_ids[tuple(r.lower() for r in path.relationships[:depth])]]
                assert target is not None
                if parent_id is None:
                    target.setdefault(rel, None)
                    target = None
                    break
                if target.get(rel) is None:
                    target[rel] = {"attributes": {"type": obj.name, "url": f"{base}{obj.name}/{parent_id}"}}
                target = target[rel]
            if target is None:
                continue
            values = [row[i] for i in where]
            if path.compound:
                target[path.field.name] = _compound(path, values)
            else:
                target[path.field.name] = rest_value(path.field, values[0])
        records.append(rec)
    return {"totalSize": len(records), "done": True, "records": records}


def _meta(fdef: FieldDef) -> dict[str, Any]:
    t = fdef.type
    return {
        "aggregate": False,
        "apexType": _APEX_TYPES.get(t, "String"),
        "booleanType": t == "boolean",
        "columnName": fdef.name,
        "custom": fdef.custom,
        "displayName": fdef.name,
        "foreignKeyName": None,
        "insertable": fdef.createable,
        "joinColumns": [],
        "numberType": t == "int" or t in NUMBER_TYPES,
        "textType": t in TEXT_TYPES,
        "updatable": fdef.updateable,
    }


def _relationship_meta(hop: FieldDef) -> dict[str, Any]:
    name = hop.relationship_name or hop.name
    return {
        **_meta(hop),
        "apexType": None,
        "columnName": name,
        "displayName": name,
        "foreignKeyName": hop.name,
        "insertable": False,
        "updatable": False,
    }


def column_metadata(schema: Schema, soql: str) -> dict[str, Any]:
    """``GET query?q=...&columns=true``: the columns a query returns, without its records.

    A parent field is one column named after the relationship whose ``joinColumns`` hold the parent's
    fields (``Owner`` -> ``[Name]``); several fields of one relationship share that column.

    :raises QueryError: for what the subset rejects.
    """
    q = parse_query(schema, soql)
    top: list[dict[str, Any]] = []
    for path in q.fields:
        level = top
        for hop in path.hops:
            name = hop.relationship_name or hop.name
            found = next((c for c in level if c["columnName"] == name and c["foreignKeyName"]), None)
            if found is None:
                found = _relationship_meta(hop)
                level.append(found)
            level = found["joinColumns"]
        level.append(_meta(path.field))
    return {
        "columnMetadata": top,
        "entityName": q.obj.name,
        "groupBy": False,
        "idSelected": any(not p.hops and p.field.name == "Id" for p in q.fields),
        "keyPrefix": q.obj.key_prefix,
    }
