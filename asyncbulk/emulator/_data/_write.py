"""The SQL a batch ends with: its inserts, its updates and its deletes, a statement per group of rows.

Inserts are one ``executemany`` whose parameter tuples ``zip`` builds in C; constants (defaults
that are the same on every row, the timestamps and the admin user id) are SQL literals, so each
tuple holds only what differs between rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter

from ._builtin import CURRENT_USER
from ._schema import FieldDef, ObjectDef
from ._store import Transaction

__all__ = ["delete_rows", "insert_rows", "update_rows"]

_SYSTEM_COLUMNS = (
    '"isdeleted"',
    '"createddate"',
    '"createdbyid"',
    '"lastmodifieddate"',
    '"lastmodifiedbyid"',
    '"systemmodstamp"',
)


def _sql_literal(value: object) -> str | None:
    """``value`` as an SQL literal, for ints and strings (``None``: bind it as a parameter)."""
    if type(value) is int:
        return str(value)
    if type(value) is str:
        return "'" + value.replace("'", "''") + "'"
    return None


def insert_rows(
    tx: Transaction, obj: ObjectDef, rows: list[int], n: int, values: dict[str, list[object]], now: str
) -> list[str]:
    """Create one record for each row index of ``rows`` (of a batch of ``n``); their new ids, in order."""
    admin = tx.admin_user_id
    new_ids = tx.ids.next_ids(obj.key_prefix, len(rows))
    names: list[str] = []
    columns: list[list[object]] = []
    literal_names: list[str] = []
    literals: list[str] = []
    pick = itemgetter(*rows)
    all_rows = len(rows) == n
    for fdef in obj.fields.values():
        name = fdef.name.lower()
        if not fdef.createable:
            continue
        vals = values.get(name)
        default = admin if fdef.default == CURRENT_USER else fdef.default
        if isinstance(default, bool):
            default = int(default)
        if vals is None:
            if default is None:
                continue
            literal = _sql_literal(default)
            if literal is not None:
                # the same default on every row: an SQL literal, one parameter fewer per row
                literal_names.append(fdef.column)
                literals.append(literal)
                continue
            col: list[object] = [default] * len(rows)
        else:
            col = vals if all_rows else ([pick(vals)] if len(rows) == 1 else list(pick(vals)))
            if default is not None and None in col:
                col = [default if v is None else v for v in col]
        names.append(fdef.column)
        columns.append(col)
    # constants as SQL literals (our own timestamp and id: no quoting issue) keep the
    # parameter tuples short; zip builds them in C
    consts = ", ".join([*literals, "0", f"'{now}'", f"'{admin}'", f"'{now}'", f"'{admin}'", f"'{now}'"])
    sql = (
        f'INSERT INTO {obj.table} ("id", {", ".join(names + literal_names + list(_SYSTEM_COLUMNS))}) '
        f"VALUES ({', '.join('?' * (1 + len(names)))}, {consts})"
    )
    tx.executemany(sql, zip(new_ids, *columns, strict=True))
    return new_ids


def _update_value(fdef: FieldDef, value: object) -> object:
    if value is None and fdef.type == "boolean":
        return 0  # checkboxes are never null: "#N/A" unchecks
    return value


def update_rows(
    tx: Transaction,
    obj: ObjectDef,
    rows: list[int],
    ids: Sequence[str | None],
    values: dict[str, list[object]],
    present: dict[str, Sequence[str]],
    now: str,
) -> None:
    """Update the records of ``rows``: the fields whose cells are not empty (``#N/A`` sets null)."""
    admin = tx.admin_user_id
    writable = [
        (fdef.name.lower(), fdef)
        for fdef in obj.fields.values()
        if fdef.updateable and fdef.name.lower() in values
    ]
    # one statement per set of non-empty columns: rows that change the same fields share it
    groups: dict[tuple[bool, ...], list[int]] = {}
    for i in rows:
        mask = tuple(bool(present[name][i]) for name, _ in writable)
        groups.setdefault(mask, []).append(i)
    for mask, idxs in groups.items():
        chosen = [(name, fdef) for (name, fdef), on in zip(writable, mask, strict=True) if on]
        sets = [f"{fdef.column} = ?" for _, fdef in chosen]
        sets += ['"lastmodifieddate" = ?', '"lastmodifiedbyid" = ?', '"systemmodstamp" = ?']
        sql = f"UPDATE {obj.table} SET {', '.join(sets)} WHERE id = ?"
        params = []
        for i in idxs:
            row = [_update_value(fdef, values[name][i]) for name, fdef in chosen]
            params.append((*row, now, admin, now, ids[i]))
        tx.executemany(sql, params)


def delete_rows(tx: Transaction, obj: ObjectDef, ids: list[str], *, hard: bool, now: str) -> None:
    """Delete records: to the recycle bin (``IsDeleted``), or for good with ``hard``."""
    if hard:
        tx.executemany(f"DELETE FROM {obj.table} WHERE id = ?", [(sid,) for sid in ids])
    else:
        tx.executemany(
            f'UPDATE {obj.table} SET "isdeleted" = 1, "lastmodifieddate" = ?, "systemmodstamp" = ? '
            "WHERE id = ?",
            [(now, now, sid) for sid in ids],
        )
