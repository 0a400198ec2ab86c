"""The record checks of a batch: unwritable fields, required fields, unique values, row locks.

Each takes the batch's columns and its ``errors`` (row index -> ``sf__Error`` text) and adds to
them; a row keeps the first error it gets, except that an unwritable field wins over every other
(field binding comes first on the platform).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ._plan import ColKind, Plan
from ._schema import FieldDef, ObjectDef
from ._store import Transaction, match_key
from ._values import format_error

__all__ = ["LockFail", "check_locks", "check_required", "check_unique", "check_unwritable"]

#: Decides, row by row, which rows lose their lock (fault injection): True for a row that fails.
LockFail = Callable[[int], bool]

_UNWRITABLE = (
    "Unable to create/update fields: {}. Please check the security settings of this field and "
    "verify that it is read/write for your profile or permission set."
)


def check_unwritable(
    plan: Plan, raw: Sequence[Sequence[str]], creating: Sequence[bool], errors: dict[int, str]
) -> None:
    """A value in a column the row may not write (not createable on create, not updateable on update)."""
    bad: dict[int, list[str]] = {}
    for c in plan.cols:
        fdef = c.fdef
        if c.kind not in (ColKind.FIELD, ColKind.RELATIONSHIP) or fdef is None:
            continue
        if fdef.createable and fdef.updateable:
            continue
        for i, v in enumerate(raw[c.index]):
            if v and not (fdef.createable if creating[i] else fdef.updateable):
                bad.setdefault(i, []).append(fdef.name)
    for i, names in bad.items():
        # field binding comes before everything else on the platform: this error wins
        errors[i] = format_error(
            "INVALID_FIELD_FOR_INSERT_UPDATE", _UNWRITABLE.format(", ".join(names)), names
        )


def check_required(
    obj: ObjectDef,
    values: dict[str, list[object]],
    present: dict[str, Sequence[str]],
    creating: Sequence[bool],
    errors: dict[int, str],
) -> None:
    """A required field with no value on create, or set to null (``#N/A``) on update."""
    n = len(creating)
    missing: dict[int, list[str]] = {}
    for fdef in obj.fields.values():
        if not (fdef.createable and not fdef.nillable):
            continue
        name = fdef.name.lower()
        vals = values.get(name)
        # Fast paths (C-level scans): a full column, or no column and nothing to create or a default.
        if vals is not None and None not in vals:
            continue
        if vals is None and (fdef.default is not None or True not in creating):
            continue
        for i in range(n):
            if creating[i]:
                if fdef.default is None and (vals is None or vals[i] is None):
                    missing.setdefault(i, []).append(fdef.name)
            elif vals is not None and vals[i] is None and present[name][i]:
                # "#N/A" on a required field of an existing record
                missing.setdefault(i, []).append(fdef.name)
    for i, names in missing.items():
        errors.setdefault(
            i,
            format_error(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(names)}]", names
            ),
        )


def check_unique(
    tx: Transaction,
    obj: ObjectDef,
    key: FieldDef | None,
    values: dict[str, list[object]],
    ids: Sequence[str | None],
    errors: dict[int, str],
) -> None:
    """A unique field's value held by another record, or repeated inside the batch.

    The upsert ``key`` is left out: its matching is the upsert's own check.
    """
    for fdef in obj.fields.values():
        name = fdef.name.lower()
        if not fdef.unique or name not in values or fdef is key:
            continue
        vals = values[name]
        rows_by_key: dict[object, list[int]] = {}
        for i, v in enumerate(vals):
            if v is not None and i not in errors:
                rows_by_key.setdefault(match_key(fdef, v), []).append(i)
        if not rows_by_key:
            continue
        matches = tx.match(obj, fdef, list(rows_by_key))
        for k, idxs in rows_by_key.items():
            others = matches.get(k, [])
            for n_, i in enumerate(idxs):
                holders = [rid for rid in others if rid != ids[i]]
                if holders:
                    errors.setdefault(
                        i,
                        format_error(
                            "DUPLICATE_VALUE",
                            f"duplicate value found: {fdef.name} duplicates value on record "
                            f"with id: {holders[0]}",
                        ),
                    )
                elif n_ > 0:
                    errors.setdefault(
                        i,
                        format_error(
                            "DUPLICATE_VALUE",
                            "duplicate value found: <unknown> duplicates value on record with id: <unknown>",
                        ),
                    )


def check_locks(lock_fail: LockFail | None, n: int, errors: dict[int, str]) -> None:
    """Rows still fine that lose their lock (``UNABLE_TO_LOCK_ROW``), as ``lock_fail`` decides."""
    if lock_fail is None:
        return
    for i in range(n):
        if i not in errors and lock_fail(i):
            errors[i] = format_error("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")
