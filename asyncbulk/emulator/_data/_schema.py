"""The emulated org's objects and fields: builtin Account, Contact, Lead, User, plus custom objects.

Lookups by object or field name are case-insensitive, as the Bulk API's header matching is.
The schema file format is in :class:`Schema`'s docstring.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ._builtin import BUILTIN, OWNER_FIELD, SYSTEM_FIELDS, field_spec
from ._ids import BASE62

__all__ = ["FIELD_TYPES", "NUMBER_TYPES", "TEXT_TYPES", "FieldDef", "ObjectDef", "Schema", "SchemaError"]

FIELD_TYPES = frozenset(
    {
        "id",
        "string",
        "textarea",
        "email",
        "phone",
        "url",
        "picklist",
        "int",
        "double",
        "currency",
        "percent",
        "date",
        "datetime",
        "boolean",
        "reference",
    }
)
TEXT_TYPES = frozenset({"string", "textarea", "email", "phone", "url", "picklist"})
NUMBER_TYPES = frozenset({"double", "currency", "percent"})
_DEFAULT_LENGTH = {"string": 255, "textarea": 32000, "email": 80, "phone": 40, "url": 255, "picklist": 255}


class SchemaError(ValueError):
    """A schema file that cannot be used (bad JSON, unknown type, missing name...)."""


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One field of an object, with the describe attributes the emulator enforces."""

    name: str
    type: str
    label: str
    length: int = 0
    createable: bool = True
    updateable: bool = True
    nillable: bool = True
    default: object = None
    external_id: bool = False
    unique: bool = False
    id_lookup: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    precision: int = 0
    scale: int = 0
    picklist_values: tuple[str, ...] = ()
    custom: bool = False

    @property
    def required(self) -> bool:
        """Must be given on create: createable, not nillable and without a default."""
        return self.createable and not self.nillable and self.default is None

    @property
    def indexed(self) -> bool:
        """Usable to match records: as an upsert key or in a ``Relationship.Field`` column."""
        return self.external_id or self.id_lookup

    @property
    def column(self) -> str:
        """The SQLite column name (quoted lower-case API name)."""
        return '"' + self.name.lower() + '"'


@dataclass(frozen=True, slots=True)
class ObjectDef:
    """One sObject: its name, key prefix and fields (keyed by lower-case name)."""

    name: str
    label: str
    key_prefix: str
    fields: Mapping[str, FieldDef]
    custom: bool = False
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    #: For Contact/Lead: Name is the read-only join of these fields.
    compound_name: tuple[str, ...] = ()
    relationships: Mapping[str, FieldDef] = field(default_factory=dict)

    def field(self, name: str) -> FieldDef | None:
        """The field called ``name`` (any case), or ``None``."""
        return self.fields.get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        """The reference field whose relationship is called ``name`` (any case), or ``None``."""
        return self.relationships.get(name.lower())

    @property
    def table(self) -> str:
        """The SQLite table holding this object's records."""
        return '"sobj_' + self.name.lower() + '"'


def _field_from_spec(spec: Mapping[str, Any], obj_name: str, custom_obj: bool) -> FieldDef:
    try:
        name = str(spec["name"])
    except KeyError:
        raise SchemaError(f"a field of {obj_name} has no name") from None
    ftype = str(spec.get("type", "string")).lower()
    if ftype not in FIELD_TYPES:
        raise SchemaError(f"field {obj_name}.{name}: unknown type {ftype!r}")
    ref = spec.get("referenceTo", ())
    reference_to = (ref,) if isinstance(ref, str) else tuple(str(r) for r in ref)
    if ftype == "reference" and not reference_to:
        raise SchemaError(f"field {obj_name}.{name}: a reference needs referenceTo")
    external = bool(spec.get("externalId", False))
    unique = bool(spec.get("unique", False))
    if ftype == "currency":
        precision, scale = int(spec.get("precision", 18)), int(spec.get("scale", 2))
    elif ftype in NUMBER_TYPES or ftype == "int":
        precision, scale = int(spec.get("precision", 18)), int(spec.get("scale", 0))
    else:
        precision, scale = 0, 0
    if ftype == "int":
        scale = 0
    default = spec.get("default")
    if ftype == "boolean" and default is None:
        default = False  # checkboxes are never null: unchecked by default
    return FieldDef(
        name=name,
        type=ftype,
        label=str(spec.get("label") or (name[:-3].replace("_", " ") if name.endswith("__c") else name)),
        length=int(spec.get("length", _DEFAULT_LENGTH.get(ftype, 18 if ftype in ("id", "reference") else 0))),
        createable=bool(spec.get("createable", True)),
        updateable=bool(spec.get("updateable", True)),
        nillable=bool(spec.get("nillable", ftype != "boolean")),
        default=default,
        external_id=external,
        unique=unique,
        id_lookup=bool(spec.get("idLookup", external or unique)),
        reference_to=reference_to,
        relationship_name=spec.get("relationshipName"),
        precision=precision,
        scale=scale,
        picklist_values=tuple(str(v) for v in spec.get("picklistValues", ())),
        custom=bool(spec.get("custom", custom_obj or name.endswith("__c"))),
    )


def _make_object(spec: Mapping[str, Any], key_prefix: str, custom: bool) -> ObjectDef:
    name = str(spec["name"])
    field_specs: list[Mapping[str, Any]] = list(SYSTEM_FIELDS)
    if custom:
        field_specs.append(
            field_spec(
                "Name",
                "string",
                f"{spec.get('label') or name[:-3]} Name",
                length=80,
                nillable=bool(spec.get("autoNumber", False)),
                createable=not spec.get("autoNumber", False),
                updateable=not spec.get("autoNumber", False),
                idLookup=True,
            )
        )
        field_specs.append(OWNER_FIELD)
    field_specs.extend(spec.get("fields", ()))
    fields: dict[str, FieldDef] = {}
    for fspec in field_specs:
        fdef = _field_from_spec(fspec, name, custom)
        fields[fdef.name.lower()] = fdef
    return _with_relationships(
        ObjectDef(
            name=name,
            label=str(spec.get("label") or (name[:-3].replace("_", " ") if name.endswith("__c") else name)),
            key_prefix=key_prefix,
            fields=fields,
            custom=custom,
            createable=bool(spec.get("createable", True)),
            updateable=bool(spec.get("updateable", True)),
            deletable=bool(spec.get("deletable", True)),
            compound_name=tuple(spec.get("compoundName", ())),
        )
    )


def _with_relationships(obj: ObjectDef) -> ObjectDef:
    rels = {f.relationship_name.lower(): f for f in obj.fields.values() if f.relationship_name}
    return replace(obj, relationships=rels)


class Schema:
    """All objects of the emulated org; lookups are case-insensitive.

    ``Schema()`` has the builtin objects (Account, Contact, Lead, User); ``Schema.load(path)`` adds
    the objects of a JSON schema file (``EmulatorConfig.schema_path``, ``asyncbulk emulator
    --schema FILE``).

    Schema file format (``EmulatorConfig.schema_path``), JSON::

        {
          "objects": [
            {
              "name": "Invoice__c",              # API name (required)
              "label": "Invoice",                # default: the name without __c
              "keyPrefix": "a01",                # 3 characters; default: a0X-style, one per object
              "autoNumber": false,               # true: Name is read-only (not createable/updateable)
              "fields": [
                {"name": "Number__c", "type": "string", "length": 40, "externalId": true, "unique": true},
                {"name": "Amount__c", "type": "currency", "precision": 18, "scale": 2},
                {"name": "Due__c", "type": "date", "nillable": false},
                {"name": "Status__c", "type": "picklist", "default": "Draft",
                 "picklistValues": ["Draft", "Sent"]},
                {"name": "Account__c", "type": "reference", "referenceTo": "Account",
                 "relationshipName": "Account__r"}
              ]
            },
            {"name": "Contact", "fields": [{"name": "Shoe_Size__c", "type": "double"}]}
          ]
        }

    Field keys: ``name``, ``type`` (id, string, textarea, email, phone, url, picklist, int, double,
    currency, percent, date, datetime, boolean, reference), ``label``, ``length`` (text types; default
    255, textarea 32000, email 80, phone 40), ``precision``/``scale`` (numbers; default 18/0, currency
    18/2), ``createable``/``updateable``/``nillable`` (default true), ``default``, ``externalId``,
    ``unique``, ``idLookup`` (default: true for externalId and unique fields), ``referenceTo``
    (object name or list), ``relationshipName``, ``picklistValues``. A field is *required* when it is
    createable, not nillable and has no default (Salesforce's rule). An entry naming a builtin object
    adds fields to it. Every custom object gets the system fields (Id, IsDeleted, CreatedDate,
    CreatedById, LastModifiedDate, LastModifiedById, SystemModstamp), OwnerId and a Name (text 80,
    required unless ``autoNumber``).
    """

    def __init__(self, extra: Iterable[Mapping[str, Any]] = ()) -> None:
        self._objects: dict[str, ObjectDef] = {}
        for spec in BUILTIN:
            self._objects[spec["name"].lower()] = _make_object(spec, spec["keyPrefix"], custom=False)
        used = {o.key_prefix for o in self._objects.values()}
        next_custom = 0
        for ospec in extra:
            if "name" not in ospec:
                raise SchemaError("an object in the schema file has no name")
            key = str(ospec["name"]).lower()
            if key in self._objects:
                base = self._objects[key]
                fields = dict(base.fields)
                for fspec in ospec.get("fields", ()):
                    fdef = _field_from_spec(fspec, base.name, False)
                    fields[fdef.name.lower()] = fdef
                self._objects[key] = _with_relationships(replace(base, fields=fields))
                continue
            prefix = ospec.get("keyPrefix")
            if prefix is None:
                while True:
                    next_custom += 1
                    # a0X-style prefixes, as orgs give custom objects (a00, a01, ... a0z, a10...).
                    prefix = f"a{BASE62[next_custom // 62]}{BASE62[next_custom % 62]}"
                    if prefix not in used:
                        break
            prefix = str(prefix)
            if len(prefix) != 3 or prefix in used:
                raise SchemaError(
                    f"object {ospec['name']}: key prefix {prefix!r} is not 3 characters or is taken"
                )
            used.add(prefix)
            self._objects[key] = _make_object(ospec, prefix, custom=True)
        for obj in self._objects.values():
            for fdef in obj.fields.values():
                for target in fdef.reference_to:
                    if target.lower() not in self._objects:
                        raise SchemaError(f"field {obj.name}.{fdef.name} refers to unknown object {target}")

    @classmethod
    def load(cls, path: str | Path | None) -> Schema:
        """The builtin objects plus those of the JSON schema file at ``path`` (if any)."""
        if path is None:
            return cls()
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SchemaError(f"cannot read schema file {path}: {exc}") from exc
        objects = data.get("objects") if isinstance(data, dict) else None
        if not isinstance(objects, list):
            raise SchemaError(f"schema file {path}: expected an object with an 'objects' list")
        return cls(objects)

    def get(self, name: str) -> ObjectDef | None:
        """The object called ``name`` (any case), or ``None``."""
        return self._objects.get(name.lower())

    def by_prefix(self, key_prefix: str) -> ObjectDef | None:
        """The object whose ids start with ``key_prefix``, or ``None``."""
        for obj in self._objects.values():
            if obj.key_prefix == key_prefix:
                return obj
        return None

    def __iter__(self) -> Iterator[ObjectDef]:
        return iter(self._objects.values())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._objects
