"""One record by id: the fields of ``GET /sobjects/{object}/{id}`` ("sObject Rows").

https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_get_field_values.htm:
without ``fields`` the answer holds every field the object's describe lists, in that order; with
``fields`` only those (and ``Id``, which real answers add after them); a field that does not exist
is a 400. The REST layer adds ``attributes``, which names the API version asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._errors import QueryError
from ._ids import is_valid_id, to_18
from ._schema import FieldDef, ObjectDef, Schema
from ._store import Store
from ._values import rest_value

__all__ = ["RecordError", "fetch_record"]


class RecordError(QueryError):
    """A record that cannot be read, with Salesforce's ``errorCode`` and ``message``.

    ``NOT_FOUND`` and ``ENTITY_IS_DELETED`` are HTTP 404, ``INVALID_FIELD`` is 400.
    """


_NOT_FOUND = ("NOT_FOUND", "The requested resource does not exist")


def _fields(obj: ObjectDef, names: Sequence[str] | None) -> list[FieldDef]:
    if names is None:
        return list(obj.fields.values())
    out: list[FieldDef] = []
    for name in names:
        fdef = obj.field(name)
        if fdef is None:
            raise RecordError(
                "INVALID_FIELD",
                f"No such column '{name}' on entity '{obj.name}'. If you are attempting to use a custom "
                "field, be sure to append the '__c' after the custom field name. Please reference your "
                "WSDL or the describe call for the appropriate names.",
            )
        if fdef not in out:
            out.append(fdef)
    # Real answers add the Id after the fields asked for.
    id_field = obj.field("Id")
    if id_field is not None and id_field not in out:
        out.append(id_field)
    return out


def fetch_record(
    store: Store, object_name: str, record_id: str, field_names: Sequence[str] | None = None
) -> tuple[ObjectDef, dict[str, Any]]:
    """The object and the field values (REST JSON types) of one live record.

    :param field_names: the ``fields`` parameter, split at commas; ``None`` for every field.
    :raises RecordError: for an unknown object, id or field, or a deleted record.
    """
    schema: Schema = store.schema
    obj = schema.get(object_name)
    if obj is None:
        raise RecordError(*_NOT_FOUND)
    if not is_valid_id(record_id) or record_id[:3] != obj.key_prefix:
        # Salesforce reads a segment that is no id of this object as the name of an external id
        # field (`/sobjects/Account/{field}/{value}`), hence this text for a wrong id.
        raise RecordError(
            "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {record_id}"
        )
    fields = _fields(obj, field_names)
    columns = ", ".join(['"isdeleted"', *(f.column for f in fields)])
    rows = store.fetchall(f"SELECT {columns} FROM {obj.table} WHERE id = ?", (to_18(record_id),))
    if not rows:
        raise RecordError(*_NOT_FOUND)
    deleted, *values = rows[0]
    if deleted:
        raise RecordError("ENTITY_IS_DELETED", "entity is deleted")
    return obj, {f.name: rest_value(f, v) for f, v in zip(fields, values, strict=True)}
