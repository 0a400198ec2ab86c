"""An object's describe, shaped like ``GET /sobjects/{object}/describe`` (the part clients read)."""

from __future__ import annotations

from typing import Any

from .._vocab import LATEST_VERSION
from ._builtin import CURRENT_USER
from ._schema import TEXT_TYPES, FieldDef, ObjectDef

__all__ = ["describe_object"]


def describe_object(obj: ObjectDef, version: str = LATEST_VERSION) -> dict[str, Any]:
    """The describe of ``obj``: its flags, its fields and their attributes; URLs at ``version``."""
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
        "fields": [_describe_field(f) for f in obj.fields.values()],
        "urls": {
            "sobject": f"/services/data/v{version}/sobjects/{obj.name}",
            "describe": f"/services/data/v{version}/sobjects/{obj.name}/describe",
        },
    }


def _describe_field(f: FieldDef) -> dict[str, Any]:
    return {
        "name": f.name,
        "label": f.label,
        "type": f.type,
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
