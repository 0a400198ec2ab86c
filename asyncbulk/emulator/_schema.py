"""The emulated org's objects and fields: builtin Account, Contact, Lead, User, plus custom objects.

Lookups by object or field name are case-insensitive, as the Bulk API's header matching is.

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

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ._ids import BASE62

__all__ = ["ADMIN_USERNAME", "FIELD_TYPES", "FieldDef", "ObjectDef", "Schema", "SchemaError"]

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

#: Username of the emulator's own admin user (the jobs' ``createdById``); the same default as
#: ``OAuthConfig.username``.
ADMIN_USERNAME = "admin@emulator.example"

#: Marker default of OwnerId: "the running user" (the admin user).
CURRENT_USER = "$User.Id"


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


def _f(name: str, ftype: str, label: str | None = None, **kw: Any) -> dict[str, Any]:
    return {"name": name, "type": ftype, "label": label or name, **kw}


def _ro(name: str, ftype: str, label: str | None = None, **kw: Any) -> dict[str, Any]:
    return _f(name, ftype, label, createable=False, updateable=False, **kw)


_SYSTEM_FIELDS: list[dict[str, Any]] = [
    _ro("Id", "id", "Record ID", length=18, nillable=False, idLookup=True),
    _ro("IsDeleted", "boolean", "Deleted", nillable=False, default=False),
    _ro("CreatedDate", "datetime", "Created Date", nillable=False),
    _ro("CreatedById", "reference", "Created By ID", referenceTo="User", relationshipName="CreatedBy"),
    _ro("LastModifiedDate", "datetime", "Last Modified Date", nillable=False),
    _ro(
        "LastModifiedById",
        "reference",
        "Last Modified By ID",
        referenceTo="User",
        relationshipName="LastModifiedBy",
    ),
    _ro("SystemModstamp", "datetime", "System Modstamp", nillable=False),
]
_OWNER = _f(
    "OwnerId",
    "reference",
    "Owner ID",
    referenceTo="User",
    relationshipName="Owner",
    nillable=False,
    default=CURRENT_USER,
)


def _address(prefix: str, label: str) -> list[dict[str, Any]]:
    # Real lengths: Street textarea 255, City 40, State 80, PostalCode 20, Country 80.
    return [
        _f(f"{prefix}Street", "textarea", f"{label} Street", length=255),
        _f(f"{prefix}City", "string", f"{label} City", length=40),
        _f(f"{prefix}State", "string", f"{label} State/Province", length=80),
        _f(f"{prefix}PostalCode", "string", f"{label} Zip/Postal Code", length=20),
        _f(f"{prefix}Country", "string", f"{label} Country", length=80),
        _f(f"{prefix}Latitude", "double", f"{label} Latitude", precision=18, scale=15),
        _f(f"{prefix}Longitude", "double", f"{label} Longitude", precision=18, scale=15),
    ]


def _external_id(label: str = "External Id") -> dict[str, Any]:
    return _f("External_Id__c", "string", label, length=255, externalId=True, unique=True, custom=True)


# Field names, types and lengths follow Salesforce's standard object reference (Account,
# Contact, Lead, User). Email is idLookup on Contact and Lead (so "ReportsTo.Email" works, as in
# the Bulk guide's sample CSV); Username is unique and idLookup on User.
BUILTIN: list[dict[str, Any]] = [
    {
        "name": "Account",
        "label": "Account",
        "keyPrefix": "001",
        "fields": [
            _f("Name", "string", "Account Name", length=255, nillable=False, idLookup=False),
            _f("AccountNumber", "string", "Account Number", length=40),
            _f("Site", "string", "Account Site", length=80),
            _f(
                "Type",
                "picklist",
                "Account Type",
                picklistValues=["Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other"],
            ),
            _f(
                "Industry",
                "picklist",
                "Industry",
                picklistValues=["Agriculture", "Banking", "Technology", "Other"],
            ),
            _f("Phone", "phone", "Account Phone"),
            _f("Fax", "phone", "Account Fax"),
            _f("Website", "url", "Website"),
            _f("NumberOfEmployees", "int", "Employees", precision=8),
            _f("AnnualRevenue", "currency", "Annual Revenue", precision=18, scale=0),
            *_address("Billing", "Billing"),
            *_address("Shipping", "Shipping"),
            _f("Description", "textarea", "Account Description", length=32000),
            _f(
                "ParentId", "reference", "Parent Account ID", referenceTo="Account", relationshipName="Parent"
            ),
            _f("Rating", "picklist", "Account Rating", picklistValues=["Hot", "Warm", "Cold"]),
            _f("AccountSource", "picklist", "Account Source"),
            _OWNER,
            _external_id(),
        ],
    },
    {
        "name": "Contact",
        "label": "Contact",
        "keyPrefix": "003",
        "compoundName": ["FirstName", "LastName"],
        "fields": [
            _f("FirstName", "string", "First Name", length=40),
            _f("LastName", "string", "Last Name", length=80, nillable=False),
            _ro("Name", "string", "Full Name", length=121),
            _f(
                "Salutation",
                "picklist",
                "Salutation",
                length=40,
                picklistValues=["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."],
            ),
            _f("Email", "email", "Email", length=80, idLookup=True),
            _f("Phone", "phone", "Business Phone"),
            _f("MobilePhone", "phone", "Mobile Phone"),
            _f("HomePhone", "phone", "Home Phone"),
            _f("Fax", "phone", "Business Fax"),
            _f("Title", "string", "Title", length=128),
            _f("Department", "string", "Department", length=80),
            _f("Birthdate", "date", "Birthdate"),
            *_address("Mailing", "Mailing"),
            *_address("Other", "Other"),
            _f("AccountId", "reference", "Account ID", referenceTo="Account", relationshipName="Account"),
            _f(
                "ReportsToId",
                "reference",
                "Reports To ID",
                referenceTo="Contact",
                relationshipName="ReportsTo",
            ),
            _f("HasOptedOutOfEmail", "boolean", "Email Opt Out", nillable=False, default=False),
            _f("DoNotCall", "boolean", "Do Not Call", nillable=False, default=False),
            _f(
                "LeadSource",
                "picklist",
                "Lead Source",
                length=40,
                picklistValues=["Web", "Phone Inquiry", "Other"],
            ),
            _f("Description", "textarea", "Contact Description", length=32000),
            _OWNER,
            _external_id(),
            _f("Last_Contacted__c", "datetime", "Last Contacted", custom=True),
        ],
    },
    {
        "name": "Lead",
        "label": "Lead",
        "keyPrefix": "00Q",
        "compoundName": ["FirstName", "LastName"],
        "fields": [
            _f("FirstName", "string", "First Name", length=40),
            _f("LastName", "string", "Last Name", length=80, nillable=False),
            _ro("Name", "string", "Full Name", length=121),
            _f("Salutation", "picklist", "Salutation", length=40),
            _f("Title", "string", "Title", length=128),
            _f("Company", "string", "Company", length=255, nillable=False),
            _f("Email", "email", "Email", length=80, idLookup=True),
            _f("Phone", "phone", "Phone"),
            _f("MobilePhone", "phone", "Mobile Phone"),
            _f("Website", "url", "Website"),
            _f(
                "Status",
                "picklist",
                "Status",
                length=40,
                nillable=False,
                default="Open - Not Contacted",
                picklistValues=["Open - Not Contacted", "Working - Contacted", "Closed - Converted"],
            ),
            _f("LeadSource", "picklist", "Lead Source", length=40),
            _f("Rating", "picklist", "Rating", length=40, picklistValues=["Hot", "Warm", "Cold"]),
            _f("Industry", "picklist", "Industry", length=40),
            _f("AnnualRevenue", "currency", "Annual Revenue", precision=18, scale=0),
            _f("NumberOfEmployees", "int", "Employees", precision=8),
            *_address("", "Address")[:5],
            _f("Description", "textarea", "Description", length=32000),
            _f("HasOptedOutOfEmail", "boolean", "Email Opt Out", nillable=False, default=False),
            _f(
                "IsConverted",
                "boolean",
                "Converted",
                nillable=False,
                default=False,
                createable=False,
                updateable=False,
            ),
            _OWNER,
            _external_id(),
        ],
    },
    {
        # Decision: User records exist (seeded) so that Owner.Username / OwnerId resolve and
        # queries work, but the emulator does not create, change or delete users through the
        # Bulk API (real orgs need licences, profiles and much more for that).
        "name": "User",
        "label": "User",
        "keyPrefix": "005",
        "createable": False,
        "updateable": False,
        "deletable": False,
        "compoundName": ["FirstName", "LastName"],
        "fields": [
            _f("Username", "string", "Username", length=80, nillable=False, unique=True, idLookup=True),
            _f("Email", "email", "Email", length=128, nillable=False),
            _f("FirstName", "string", "First Name", length=40),
            _f("LastName", "string", "Last Name", length=80, nillable=False),
            _ro("Name", "string", "Full Name", length=121),
            _f("Alias", "string", "Alias", length=8, nillable=False),
            _f("IsActive", "boolean", "Active", nillable=False, default=True),
            _f("FederationIdentifier", "string", "SAML Federation ID", length=512, idLookup=True),
        ],
    },
]

#: Users seeded into a new database; the first is the admin user who owns records and jobs.
SEED_USERS: list[dict[str, str]] = [
    {
        "Username": ADMIN_USERNAME,
        "Email": ADMIN_USERNAME,
        "FirstName": "Emulator",
        "LastName": "Admin",
        "Alias": "eadmin",
    },
    {
        "Username": "integration@emulator.example",
        "Email": "integration@emulator.example",
        "FirstName": "Integration",
        "LastName": "User",
        "Alias": "integ",
    },
    {
        "Username": "jane.doe@emulator.example",
        "Email": "jane.doe@emulator.example",
        "FirstName": "Jane",
        "LastName": "Doe",
        "Alias": "jdoe",
    },
]


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
    field_specs: list[Mapping[str, Any]] = list(_SYSTEM_FIELDS)
    if custom:
        field_specs.append(
            _f(
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
        field_specs.append(_OWNER)
    field_specs.extend(spec.get("fields", ()))
    fields: dict[str, FieldDef] = {}
    for fspec in field_specs:
        fdef = _field_from_spec(fspec, name, custom)
        fields[fdef.name.lower()] = fdef
    return _finish(
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


def _finish(obj: ObjectDef) -> ObjectDef:
    rels = {f.relationship_name.lower(): f for f in obj.fields.values() if f.relationship_name}
    return replace(obj, relationships=rels)


class Schema:
    """All objects of the emulated org; lookups are case-insensitive.

    ``Schema()`` has the builtin objects; ``Schema.load(path)`` adds a JSON schema file's
    objects (format in the module docstring).
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
                self._objects[key] = _finish(replace(base, fields=fields))
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
