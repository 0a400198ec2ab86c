"""What Salesforce's SOQL compiler says: its refusal texts, compound fields, typed literals."""

from __future__ import annotations

import re
from datetime import date

from ._ids import is_valid_id, to_18
from ._schema import NUMBER_TYPES, TEXT_TYPES, FieldDef, ObjectDef
from ._soql_dates import DAY_SPANS
from ._soql_lex import Tok
from ._values import to_utc_text

__all__ = [
    "AGGREGATES",
    "COMPOUND",
    "FIELDS",
    "LONG_TEXT",
    "MAX_OFFSET",
    "OFFSET",
    "RELATIONSHIPS",
    "TYPEOF",
    "WSDL",
    "LiteralError",
    "compound_parts",
    "literal_value",
    "unescape",
]

# Salesforce's texts. The first two are real answers of Bulk API 2.0 (salesforcer's live tests,
# StevenMMortimer/salesforcer tests/testthat/test-query.R). Aggregates share the subquery text: Data
# Loader's Bulk API tests expect "Aggregate Relationships not supported in Bulk Query" for max(...)
# (forcedotcom/dataloader), whose V2 form is the one below (an inference). The last three are the
# emulator's choice: no capture of them was found; the features are listed as unsupported in "Bulk
# API 2.0 Query" (https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/queries.htm).
COMPOUND = "Selecting compound data not supported in Bulk Query"
RELATIONSHIPS = "Aggregate Relationships not supported in Bulk V2 Query with CSV content type"
OFFSET, TYPEOF, FIELDS = (f"{w} not supported in Bulk V2 Query" for w in ("OFFSET", "TYPEOF", "FIELDS()"))
AGGREGATES = frozenset({"count", "count_distinct", "sum", "avg", "min", "max"})
WSDL = "Please reference your WSDL or the describe call for the appropriate names."
#: OFFSET's ceiling ("OFFSET", SOQL and SOSL reference,
#: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_offset.htm).
MAX_OFFSET = 2000
_ADDRESS = ("Street", "City", "State", "PostalCode", "Country", "Latitude", "Longitude", "GeocodeAccuracy")
_ID_TYPES = frozenset({"id", "reference"})
#: Text areas longer than this can be neither filtered nor sorted (the texts are the platform's).
LONG_TEXT = 255


def compound_parts(obj: ObjectDef, name: str) -> tuple[str, str, tuple[FieldDef, ...]] | None:
    """``(canonical name, "address" | "location", component fields)`` if ``name`` is a compound field.

    Addresses are derived from their components (``MailingStreet``, ``MailingCity``... make
    ``MailingAddress``; Lead's ``Street``... make ``Address``), geolocations from ``X__Latitude__s`` and
    ``X__Longitude__s`` (``X__c``), so the schema needs no entry of its own for them.
    """
    low = name.lower()
    if low.endswith("address"):
        prefix = name[:-7]
        street, city = obj.field(prefix + "Street"), obj.field(prefix + "City")
        if street is not None and city is not None:
            parts = tuple(f for f in (obj.field(prefix + n) for n in _ADDRESS) if f is not None)
            return street.name[:-6] + "Address", "address", parts
    if low.endswith("__c"):
        lat, lon = obj.field(name[:-3] + "__Latitude__s"), obj.field(name[:-3] + "__Longitude__s")
        if lat is not None and lon is not None:
            return lat.name[: -len("__Latitude__s")] + "__c", "location", (lat, lon)
    return None


def unescape(quoted: str, *, keep_wildcards: bool = False) -> str:
    """The text of a quoted SOQL string (quotes removed, escapes resolved)."""
    # SOQL escapes: \' \" \\ \n \r \t \b \f; in LIKE patterns \% and \_ stay escaped.
    table = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}

    def one(m: re.Match[str]) -> str:
        c = m.group(1)
        if keep_wildcards and c in "%_\\":
            return "\\" + c
        return table.get(c, c)

    return re.sub(r"\\(.)", one, quoted[1:-1])


def _type_word(fdef: FieldDef) -> str:
    # Captured: "date", "dateTime", "double" (Salesforce answers quoted in public code); "integer" and
    # "boolean" follow the same pattern (unverified).
    t = fdef.type
    if t == "datetime":
        return "dateTime"
    if t in NUMBER_TYPES:
        return "double"
    return {"int": "integer", "boolean": "boolean", "date": "date"}.get(t, "string")


class LiteralError(Exception):
    """A literal the field cannot be compared with: ``code``/``message``, or a plain unexpected token."""

    def __init__(self, code: str = "", message: str = "", *, unexpected: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.unexpected = unexpected


def _mismatch(fdef: FieldDef) -> LiteralError:
    word = _type_word(fdef)
    quoting = "should be enclosed in quotes" if word == "string" else "should not be enclosed in quotes"
    return LiteralError(
        "INVALID_FIELD",
        f"value of filter criterion for field '{fdef.name}' must be of type {word} and {quoting}",
    )


def literal_value(t: Tok, fdef: FieldDef) -> object:
    """The stored form of literal ``t`` compared with ``fdef``; ``None`` for null.

    :raises LiteralError: a literal of the wrong kind, an impossible date, or not a literal at all.
    """
    ft = fdef.type
    if t.is_word("null"):
        return None
    if ft in TEXT_TYPES or ft in _ID_TYPES:
        if t.kind != "str":
            raise _mismatch(fdef)
        text = unescape(t.text)
        if ft in _ID_TYPES and len(text) == 15 and is_valid_id(text):
            return to_18(text)
        return text
    if ft == "boolean" and t.is_word("true", "false"):
        return 1 if t.low == "true" else 0
    if (ft == "int" or ft in NUMBER_TYPES) and t.kind == "num":
        return float(t.text) if "." in t.text else int(t.text)
    if ft == "date" and t.kind == "dt" and len(t.text) == 10:
        try:
            date.fromisoformat(t.text)
        except ValueError:
            raise LiteralError("MALFORMED_QUERY", f"Invalid date: {t.text}") from None
        return t.text
    if ft == "datetime" and t.kind == "dt" and len(t.text) > 10:
        stored = to_utc_text(t.text[:10] + "T" + t.text[11:])
        if stored is None:
            # "Invalid datetime: 2020-52-12t12:12:00-05:00" (Summer '24 release notes, SOQL changed error
            # messages, https://help.salesforce.com/s/articleView?id=release-notes.salesforce_release_notes.htm&release=250).
            raise LiteralError("MALFORMED_QUERY", f"Invalid datetime: {t.text}")
        return stored
    if t.kind in ("str", "num", "dt") or t.is_word("true", "false") or t.low in DAY_SPANS:
        raise _mismatch(fdef)
    raise LiteralError(unexpected=True)
