"""One batch applied to the org: :class:`BatchApply`, column by column, in one transaction.

Each column of a batch is parsed by one call (see ``_values``), so the per-record Python work of the
common case is a handful of list comprehensions and one ``executemany``. The batch arrives
column-wise, as the ingest layer keeps uploads (tuples of strings, which the garbage collector does
not track), and leaves as a :class:`~._results.BatchResults` built from columns too.

Per-record errors and the decisions behind them (``sf__Error`` = ``CODE:message:fields --``):

* A row gets one error, the first found, in this order: non-writable column with a value
  (``INVALID_FIELD_FOR_INSERT_UPDATE``), Id problems, bad cell values (parse errors, too long,
  bad email), references and relationship columns, upsert key matching, required fields, unique
  fields, then ``UNABLE_TO_LOCK_ROW``. Field binding happens before validation on the platform,
  so a Contact row with a ``Name`` value and no ``LastName`` (the multipart walkthrough's CSV in
  older guides) fails ``INVALID_FIELD_FOR_INSERT_UPDATE:Unable to create/update fields: Name.
  Please check the security settings of this field and verify that it is read/write for your
  profile or permission set.:Name --``; an *empty* Name cell is not a value and does not fail
  (CumulusCI's Bulk API notes: empty the Person Account Name or the load fails with that text).
* Update without an Id value: ``MISSING_ARGUMENT:Id not specified in an update call:--``
  (the platform's text; delete likewise says "a delete call").
* Bad id: ``MALFORMED_ID:malformed id <v>:--`` (Data Loader's tests against the Bulk API);
  an id of another object: ``MALFORMED_ID:<Object> ID: id value of incorrect type: <v>:Id --``.
  A reference field given another object's id: ``FIELD_INTEGRITY_EXCEPTION:<Label>: id value of
  incorrect type: <v>:<Field> --``; an unknown id: ``INVALID_CROSS_REFERENCE_KEY:invalid cross
  reference id:--`` (seen in real CLI output); a deleted record: ``ENTITY_IS_DELETED:entity is
  deleted:--``.
* ``Relationship.Field`` columns: no match -> ``INVALID_FIELD:Foreign key external ID: <v> not
  found for field <Field> in entity <Object>:--`` (REST/Bulk captures); several matches ->
  ``DUPLICATE_EXTERNAL_ID:<Label>: more than one record found for external id field: [<ids>]:
  <Field> --`` (the platform's upsert text, reused).
* Upsert: several records with the key -> the same ``DUPLICATE_EXTERNAL_ID`` text; the same key
  on several rows of one batch -> every such row fails ``DUPLICATE_VALUE:Duplicate external id
  specified: <v>:<Field> --``; an empty key -> ``MISSING_ARGUMENT:<Field> not specified:--``.
  Upsert on ``Id`` with an empty Id creates (jsforce's live test).
* Unique fields: ``DUPLICATE_VALUE:duplicate value found: <Field> duplicates value on record with
  id: <Id>:--``; a value repeated inside the batch: ``duplicate value found: <unknown>
  duplicates value on record with id: <unknown>`` (what the platform says within one DML call).
* Matching on text keys (external ids, idLookup fields, unique values) is case-insensitive, as
  on the platform by default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .._vocab import Operation
from ._checks import LockFail, check_locks, check_required, check_unique, check_unwritable
from ._ids import is_valid_id, to_18
from ._plan import Col, ColKind, Plan
from ._results import BatchResults
from ._schema import FieldDef
from ._store import Transaction, match_key
from ._values import NULL_MARKER, format_error, now_text, parse_column, render_value
from ._write import delete_rows, insert_rows, update_rows

__all__ = ["BatchApply", "Block", "block_len"]

#: One batch, column-wise: ``block[j][i]`` is row i's cell j (header order).
Block = tuple[tuple[str, ...], ...]

_RENDERED_TYPES = frozenset({"int", "double", "currency", "percent", "boolean"})


def block_len(block: Sequence[Sequence[str]]) -> int:
    """How many rows a block holds."""
    return len(block[0]) if block else 0


class BatchApply:
    """One batch being applied, inside a :class:`~._store.Transaction`.

    :param tx: the open transaction (the store's lock is held).
    :param plan: the compiled header.
    :param columns: the batch's cells column by column, in header order.
    :param count: the number of rows (each column's length).
    :param lock_fail: which rows lose their lock, or ``None``.
    :param preset: rows that fail with these errors whatever they hold (unreadable CSV rows):
        they take part in no check (an upsert key they seem to hold matches nothing).
    """

    def __init__(
        self,
        tx: Transaction,
        plan: Plan,
        columns: Sequence[Sequence[str]],
        count: int,
        lock_fail: LockFail | None,
        preset: Mapping[int, str] | None = None,
    ) -> None:
        self.tx = tx
        self.plan = plan
        self.obj = plan.obj
        self.n = count
        self.lock_fail = lock_fail
        #: Row index -> ``sf__Error`` text: a row keeps the first error found.
        self.errors: dict[int, str] = dict(preset or {})
        self.preset: Mapping[int, str] = preset or {}
        self.raw: Sequence[Sequence[str]] = columns
        #: The record each row writes (known before the write for updates and matched upserts).
        self.ids: list[str | None] = [None] * self.n
        #: Whether each row creates a record.
        self.creating: list[bool] = [plan.operation is Operation.INSERT] * self.n

    def fail(self, errors: dict[int, str]) -> None:
        """Give these rows these errors, unless they have one already."""
        for i, err in errors.items():
            self.errors.setdefault(i, err)

    # ---------------------------------------------------------------- driver
    def run(self) -> BatchResults:
        """Check every row, write the good ones, return one result per row."""
        op = self.plan.operation
        if not self.n:
            return BatchResults(0, [], [], {}, self.raw, self.raw)
        if op.deletes:
            return self._delete(op is Operation.HARD_DELETE)
        if op is Operation.UPDATE:
            self._resolve_ids(self.plan.id_col, Operation.UPDATE)
        elif op is Operation.INSERT and self.plan.id_col is not None:
            cannot = format_error(
                "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ("Id",)
            )
            self.fail({i: cannot for i, v in enumerate(self.raw[self.plan.id_col]) if v})
        values, present = self._parse()
        if op is Operation.UPSERT:
            self._match_upsert_keys(values)
        check_unwritable(self.plan, self.raw, self.creating, self.errors)
        self.errors.update(self.preset)  # an unreadable row's error wins over every other
        check_required(self.obj, values, present, self.creating, self.errors)
        check_unique(self.tx, self.obj, self.plan.key, values, self.ids, self.errors)
        check_locks(self.lock_fail, self.n, self.errors)
        self._write(values, present)
        return self._results(values)

    def _write(self, values: dict[str, list[object]], present: dict[str, Sequence[str]]) -> None:
        errors, creating = self.errors, self.creating
        create = [i for i in range(self.n) if creating[i] and i not in errors]
        update = [i for i in range(self.n) if not creating[i] and i not in errors]
        now = now_text()
        if create:
            new_ids = insert_rows(self.tx, self.obj, create, self.n, values, now)
            for i, sid in zip(create, new_ids, strict=True):
                self.ids[i] = sid
        if update:
            update_rows(self.tx, self.obj, update, self.ids, values, present, now)

    def _delete(self, hard: bool) -> BatchResults:
        self._resolve_ids(self.plan.id_col, Operation.HARD_DELETE if hard else Operation.DELETE)
        check_locks(self.lock_fail, self.n, self.errors)
        ok = [sid for i, sid in enumerate(self.ids) if i not in self.errors]
        delete_rows(self.tx, self.obj, ok, hard=hard, now=now_text())  # type: ignore[arg-type]
        ids = [sid or "" for sid in self.ids]
        return BatchResults(self.n, ids, [False] * self.n, self.errors, self.raw, self.raw)

    # ---------------------------------------------------------------- ids
    def _resolve_ids(self, col: int | None, verb: Operation, skip_empty: bool = False) -> None:
        """Fill ``self.ids`` from the Id column (update/delete), failing rows with a bad id."""
        article = "an" if verb is Operation.UPDATE else "a"
        missing = format_error("MISSING_ARGUMENT", f"Id not specified in {article} {verb} call")
        if col is None:
            self.fail(dict.fromkeys(range(self.n), missing))
            return
        prefix = self.obj.key_prefix
        wanted: dict[str, list[int]] = {}
        for i, v in enumerate(self.raw[col]):
            if not v:
                if not skip_empty:
                    self.errors.setdefault(i, missing)
            elif not is_valid_id(v):
                self.errors.setdefault(i, format_error("MALFORMED_ID", f"malformed id {v}"))
            elif v[:3] != prefix:
                self.errors.setdefault(
                    i,
                    format_error(
                        "MALFORMED_ID", f"{self.obj.label} ID: id value of incorrect type: {v}", ("Id",)
                    ),
                )
            else:
                sid = to_18(v)
                self.ids[i] = sid
                wanted.setdefault(sid, []).append(i)
        found = self.tx.existing(self.obj, list(wanted))
        for sid, idxs in wanted.items():
            deleted = found.get(sid)
            if deleted is None:
                err = format_error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
            elif deleted and verb is not Operation.HARD_DELETE:
                err = format_error("ENTITY_IS_DELETED", "entity is deleted")
            else:
                continue
            for i in idxs:
                self.errors.setdefault(i, err)

    # ---------------------------------------------------------------- values
    def _parse(self) -> tuple[dict[str, list[object]], dict[str, Sequence[str]]]:
        """Parse field and relationship columns -> (field -> values, field -> raw cells)."""
        values: dict[str, list[object]] = {}
        present: dict[str, Sequence[str]] = {}
        for c in self.plan.cols:
            fdef = c.fdef
            if c.kind is ColKind.FIELD and fdef is not None:
                raw = self.raw[c.index]
                parsed, errs = parse_column(fdef, raw, c.index)
                self.fail(errs)
                if fdef.type == "reference":
                    parsed = self._check_references(fdef, parsed)
                values[fdef.name.lower()] = parsed
                present[fdef.name.lower()] = raw
            elif c.kind is ColKind.RELATIONSHIP and fdef is not None:
                raw = self.raw[c.index]
                values[fdef.name.lower()] = self._resolve_relationship(c, raw)
                present[fdef.name.lower()] = raw
        return values, present

    def _check_references(self, fdef: FieldDef, parsed: list[object]) -> list[object]:
        """A reference column's ids: well formed, of a referenced object, naming a live record."""
        prefixes = {}
        for target in fdef.reference_to:
            t = self.tx.schema.get(target)
            if t is not None:
                prefixes[t.key_prefix] = t
        out: list[object] = list(parsed)
        wanted: dict[str, list[int]] = {}
        for i, v in enumerate(parsed):
            if v is None:
                continue
            s = str(v)
            if not is_valid_id(s):
                self.errors.setdefault(
                    i,
                    format_error(
                        "MALFORMED_ID", f"{fdef.label}: id value of incorrect type: {s}", (fdef.name,)
                    ),
                )
                out[i] = None
            elif s[:3] not in prefixes:
                self.errors.setdefault(
                    i,
                    format_error(
                        "FIELD_INTEGRITY_EXCEPTION",
                        f"{fdef.label}: id value of incorrect type: {s}",
                        (fdef.name,),
                    ),
                )
                out[i] = None
            else:
                sid = to_18(s)
                out[i] = sid
                wanted.setdefault(sid, []).append(i)
        by_prefix: dict[str, list[str]] = {}
        for sid in wanted:
            by_prefix.setdefault(sid[:3], []).append(sid)
        for prefix, sids in by_prefix.items():
            found = self.tx.existing(prefixes[prefix], sids)
            for sid in sids:
                deleted = found.get(sid)
                if deleted is None:
                    err = format_error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
                elif deleted:
                    err = format_error("ENTITY_IS_DELETED", "entity is deleted")
                else:
                    continue
                for i in wanted[sid]:
                    self.errors.setdefault(i, err)
        return out

    def _resolve_relationship(self, c: Col, raw: Sequence[str]) -> list[object]:
        """A ``Relationship.Field`` column: the parent record each cell names, found by that field."""
        parent, pfield = c.parent, c.parent_field
        assert parent is not None and pfield is not None
        keys: list[object] = []
        for v in raw:
            if not v or v == NULL_MARKER:
                keys.append(None)
            elif pfield.type == "id":
                keys.append(to_18(v) if is_valid_id(v) else v)
            else:
                keys.append(match_key(pfield, v))
        matches = self.tx.match(parent, pfield, [k for k in keys if k is not None])
        out: list[object] = []
        for i, k in enumerate(keys):
            if k is None:
                out.append(None)
                continue
            ids = matches.get(k, [])
            if len(ids) == 1:
                out.append(ids[0])
                continue
            out.append(None)
            if not ids:
                err = format_error(
                    "INVALID_FIELD",
                    f"Foreign key external ID: {raw[i]} not found for field {pfield.name} "
                    f"in entity {parent.name}",
                )
            else:
                err = format_error(
                    "DUPLICATE_EXTERNAL_ID",
                    f"{pfield.label}: more than one record found for external id field: [{', '.join(ids)}]",
                    (pfield.name,),
                )
            self.errors.setdefault(i, err)
        return out

    def _match_upsert_keys(self, values: dict[str, list[object]]) -> None:
        """Upsert: which rows update an existing record (found by the key) and which create one."""
        key, key_col = self.plan.key, self.plan.key_col
        assert key is not None
        if key.type == "id":
            if key_col is None:
                self.creating = [True] * self.n
                return
            # rows with an Id update that record; rows without one create
            self.creating = [not v for v in self.raw[key_col]]
            self._resolve_ids(key_col, Operation.UPDATE, skip_empty=True)
            return
        if key_col is None:
            self.fail(
                dict.fromkeys(range(self.n), format_error("MISSING_ARGUMENT", f"{key.name} not specified"))
            )
            return
        seen: dict[object, list[int]] = {}
        for i, k in enumerate(values[key.name.lower()]):
            if i in self.preset:
                continue
            if k is None:
                self.errors.setdefault(i, format_error("MISSING_ARGUMENT", f"{key.name} not specified"))
            else:
                seen.setdefault(match_key(key, k), []).append(i)
        for idxs in seen.values():
            if len(idxs) > 1:
                for i in idxs:
                    self.errors.setdefault(
                        i,
                        format_error(
                            "DUPLICATE_VALUE",
                            f"Duplicate external id specified: {self.raw[key_col][i]}",
                            (key.name,),
                        ),
                    )
        matches = self.tx.match(self.obj, key, list(seen))
        creating = [True] * self.n
        for k, idxs in seen.items():
            ids = matches.get(k, [])
            if len(ids) > 1:
                err = format_error(
                    "DUPLICATE_EXTERNAL_ID",
                    f"{key.label}: more than one record found for external id field: [{', '.join(ids)}]",
                    (key.name,),
                )
                for i in idxs:
                    self.errors.setdefault(i, err)
            elif ids:
                for i in idxs:
                    creating[i] = False
                    self.ids[i] = ids[0]
        self.creating = creating

    # ---------------------------------------------------------------- results
    def _results(self, values: dict[str, list[object]]) -> BatchResults:
        """Successful rows echo their values re-rendered from the stored types; failed ones as uploaded."""
        rendered: list[Sequence[str]] = []
        for c in self.plan.cols:
            raw = self.raw[c.index]
            fdef = c.fdef
            if c.kind is ColKind.FIELD and fdef is not None and fdef.type in ("date", "datetime"):
                # stored as their canonical text already
                vals = values[fdef.name.lower()]
                rendered.append([r if v is None else v for r, v in zip(raw, vals, strict=True)])  # type: ignore[misc]
            elif c.kind is ColKind.FIELD and fdef is not None and fdef.type in _RENDERED_TYPES:
                vals = values[fdef.name.lower()]
                rendered.append(
                    [r if v is None else render_value(fdef, v) for r, v in zip(raw, vals, strict=True)]
                )
            else:
                rendered.append(raw)
        errors, creating, ids = self.errors, self.creating, self.ids
        sf_ids: list[str]
        if not errors and None not in ids:
            sf_ids = ids  # type: ignore[assignment]  # no None left
        else:
            # a failed row that would have created a record has no id
            sf_ids = [
                ("" if creating[i] else (sid or "")) if i in errors else (sid or "")
                for i, sid in enumerate(ids)
            ]
        return BatchResults(self.n, sf_ids, creating, errors, rendered, self.raw)
