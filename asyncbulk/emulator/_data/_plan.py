"""A batch header compiled against the schema: which column writes which field, or why none can.

A :class:`Plan` is made once per (object, operation, external id field, header) and cached, so the
thousands of batches of a large load share it. Header problems raise :class:`~._errors.HeaderError`
with the text Salesforce puts in the failed job's ``errorMessage``:

* an unknown column: ``InvalidBatch : Field name not found : X`` (only the first is named, as in a
  real org's job info);
* a relationship column whose parent field is not indexed, or an upsert key that is not an external
  id or idLookup field: ``InvalidBatch : Field name provided, X is not an External ID or indexed
  field for Y`` (the platform's wording for that mistake).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from .._vocab import Operation
from ._errors import HeaderError
from ._schema import FieldDef, ObjectDef, Schema

__all__ = ["Col", "ColKind", "JobSpec", "Plan", "PlanCache", "compile_plan"]


@dataclass(frozen=True, slots=True)
class JobSpec:
    """What a batch is for: the object, the operation and (upsert only) the external id field.

    :param object_name: the sObject's API name, in any case.
    :param operation: the job's operation; a plain string such as ``"insert"`` is accepted.
    :param external_id_field: the upsert key (``externalIdFieldName``); ignored for other operations.
    """

    object_name: str
    operation: Operation
    external_id_field: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.operation, Operation):
            object.__setattr__(self, "operation", Operation(self.operation))


class ColKind(enum.Enum):
    """What one CSV column of a batch does."""

    #: The record's Id (update, upsert on Id, delete).
    ID = "id"
    #: A field of the object, written from the cell.
    FIELD = "field"
    #: ``Relationship.Field``: the reference field, set to the parent found by one of its fields.
    RELATIONSHIP = "relationship"
    #: Read and echoed, never written (field columns of a delete batch).
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class Col:
    """One CSV column of a compiled plan.

    :param index: its 0-based position in the header.
    :param kind: what it does.
    :param fdef: the field written (for a relationship column: the reference field).
    :param parent: for a relationship column, the parent object.
    :param parent_field: for a relationship column, the parent's field the cell is matched with.
    """

    index: int
    kind: ColKind
    fdef: FieldDef | None = None
    parent: ObjectDef | None = None
    parent_field: FieldDef | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """A usable batch header: the object, the operation and what each column does.

    :param id_col: the Id column's index, if there is one.
    :param key: the upsert key field (upsert only).
    :param key_col: the upsert key's column index, if the header has it.
    """

    obj: ObjectDef
    operation: Operation
    cols: tuple[Col, ...]
    id_col: int | None
    key: FieldDef | None
    key_col: int | None


def _allowed(obj: ObjectDef, operation: Operation) -> bool:
    if operation is Operation.INSERT:
        return obj.createable
    if operation is Operation.UPDATE:
        return obj.updateable
    if operation is Operation.UPSERT:
        return obj.createable and obj.updateable
    return obj.deletable


def compile_plan(schema: Schema, spec: JobSpec, header: Sequence[str]) -> Plan:
    """The plan of ``header`` for ``spec``; raises :class:`~._errors.HeaderError` if it is unusable."""
    obj = schema.get(spec.object_name)
    if obj is None:
        raise HeaderError(f"InvalidJob : Unable to find object: {spec.object_name}")
    operation = spec.operation
    if not _allowed(obj, operation):
        # An emulator limitation (see the built-in User object): some objects are read-only here.
        raise HeaderError(f"InvalidJob : Entity '{obj.name}' does not support the {operation} operation")
    cols: list[Col] = []
    seen: set[str] = set()
    id_col = None
    for index, name in enumerate(header):
        low = name.strip().lower()
        if low in seen:
            raise HeaderError(f"InvalidBatch : Duplicate field name: {name}")
        seen.add(low)
        fdef = obj.field(name.strip())
        if fdef is not None:
            if fdef.type == "id":
                id_col = index
                cols.append(Col(index, ColKind.ID, fdef))
            elif operation.deletes:
                cols.append(Col(index, ColKind.IGNORED, fdef))
            else:
                cols.append(Col(index, ColKind.FIELD, fdef))
            continue
        rel, dot, target = name.strip().rpartition(".")
        if dot and rel:
            rel = rel.rpartition(":")[2]  # polymorphic "Type:Relationship.Field"
            ref = obj.relationship(rel)
            if ref is not None:
                parent = schema.get(ref.reference_to[0])
                assert parent is not None
                pfield = parent.field(target)
                if pfield is None:
                    raise HeaderError(f"InvalidBatch : Field name not found : {name}")
                if not pfield.indexed:
                    raise HeaderError(
                        f"InvalidBatch : Field name provided, {pfield.name} is not an External ID "
                        f"or indexed field for {parent.name}"
                    )
                kind = ColKind.IGNORED if operation.deletes else ColKind.RELATIONSHIP
                cols.append(Col(index, kind, ref, parent, pfield))
                continue
        raise HeaderError(f"InvalidBatch : Field name not found : {name}")
    key = None
    key_col = None
    if operation is Operation.UPSERT:
        ext = spec.external_id_field
        key = obj.field(ext or "")
        if key is None:
            raise HeaderError(f"InvalidJob : Field name not found : {ext}")
        if not key.indexed:
            raise HeaderError(
                f"InvalidJob : Field name provided, {key.name} is not an External ID or indexed field "
                f"for {obj.name}"
            )
        key_col = next(
            (c.index for c in cols if c.fdef is key and c.kind in (ColKind.FIELD, ColKind.ID)), None
        )
    return Plan(obj, operation, tuple(cols), id_col, key, key_col)


class PlanCache:
    """Compiled plans by (object, operation, external id field, header), all case-folded but the header.

    A header that cannot be used is compiled again each time it is asked for (it fails its job once).
    """

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self._plans: dict[tuple[str, Operation, str | None, tuple[str, ...]], Plan] = {}

    def get(self, spec: JobSpec, header: Sequence[str]) -> Plan:
        """The plan of ``header`` for ``spec``; raises :class:`~._errors.HeaderError`."""
        ext = spec.external_id_field
        key = (spec.object_name.lower(), spec.operation, ext.lower() if ext else None, tuple(header))
        plan = self._plans.get(key)
        if plan is None:
            plan = compile_plan(self.schema, spec, header)
            self._plans[key] = plan
        return plan
