"""CSV cell values: parse them for a field type, render stored values the way Salesforce does.

Parsing is column-wise (a whole column of one batch at a time) because per-cell Python calls
would dominate the cost of a 10,000-row batch; the common case (all cells fine) runs as a few
list comprehensions. Each parser returns the stored values (``None`` for an empty cell or
``#N/A``) and a dict ``{row index: sf__Error text}`` for the cells it rejects.

Sources for the error texts (per-record ``sf__Error`` = ``CODE:message:fields --``):

* bad date / number / boolean: ``INVALID_FIELD:Failed to deserialize field at col 4. Due to,
  '6/15/19' is not a valid value for the type xsd:date:Trip_End_Date__c --`` (a real Bulk API
  failed-results row quoted in a public repository's notes); the same form with ``xsd:dateTime``,
  ``xsd:int``, ``xsd:double``, ``xsd:boolean`` is widely reported for those types. Columns count
  from 0: a real org answered ``col 3`` for CloseDate, the fourth column of
  ``Name,StageName,external_id__c,CloseDate`` (amp-labs/connectors, a failed-results file captured
  from a real org, ``providers/salesforce/test/bulk/info/partial-failure.csv``).
* ``STRING_TOO_LONG``: ``Account Name: data value too large: <value> (max length=255)`` (REST
  captures; the message names the field's label, the fields part its API name).
* ``INVALID_EMAIL_ADDRESS``: ``Email: invalid email address: <value>``.

Rendering (``successfulResults`` echoes values re-rendered from the stored type): numbers of
double/currency/percent fields as Java's ``Double.toString`` (``912260031`` ->
``9.12260031E8``, the Bulk API 2.0 guide's own example), ints as plain digits, booleans
``true``/``false``, dates ``yyyy-MM-dd``, datetimes ``yyyy-MM-ddTHH:mm:ss.SSSZ`` in UTC.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from ._schema import NUMBER_TYPES, TEXT_TYPES, FieldDef

__all__ = [
    "NULL_MARKER",
    "ColumnResult",
    "format_error",
    "java_double",
    "now_text",
    "parse_boolean",
    "parse_column",
    "parse_date",
    "parse_datetime",
    "parse_double",
    "parse_email",
    "parse_int",
    "parse_string",
    "render_datetime_rest",
    "render_value",
    "rest_value",
    "to_utc_text",
]

#: A cell that sets a field to null in an update ("Prepare CSV Files",
#: https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/datafiles_prepare_csv.htm).
NULL_MARKER = "#N/A"

#: A parsed column: the stored values and ``{row index: sf__Error text}`` for the rejected cells.
ColumnResult = tuple[list[object], dict[int, str]]


def format_error(code: str, message: str, fields: tuple[str, ...] | list[str] = ()) -> str:
    """An ``sf__Error`` value: ``CODE:message:Field1 Field2 --`` (no fields -> ``CODE:message:--``).

    Every field is followed by a space, then ``--``: that reproduces both documented forms,
    ``REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --`` and
    ``UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--``.
    """
    return f"{code}:{message}:{''.join(f + ' ' for f in fields)}--"


def _deserialize_error(value: str, col: int, xsd: str, field: str) -> str:
    return format_error(
        "INVALID_FIELD",
        f"Failed to deserialize field at col {col}. Due to, '{value}' is not a valid value "
        f"for the type {xsd}",
        (field,),
    )


def _is_null(value: str) -> bool:
    return not value or value == NULL_MARKER


def parse_string(
    values: Sequence[str], col: int, field: str, label: str, max_length: int = 255
) -> ColumnResult:
    """Strings (also textarea, phone, url, picklist): stored as given; too long -> STRING_TOO_LONG."""
    out: list[object] = [v or None for v in values]
    if NULL_MARKER in out:
        out = [None if v == NULL_MARKER else v for v in out]
    errors: dict[int, str] = {}
    if values and max(map(len, values)) > max_length:
        for i, v in enumerate(values):
            if len(v) > max_length and v != NULL_MARKER:
                errors[i] = format_error(
                    "STRING_TOO_LONG",
                    f"{label}: data value too large: {v} (max length={max_length})",
                    (field,),
                )
    return out, errors


# Salesforce's address check is stricter than "has an @"; this keeps the essentials: a local
# part without spaces, one @, a dotted domain.
_EMAIL_RE = re.compile(r"[^\s@\"(),:;<>\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+")
# The same check for a newline-separated column; atomic groups keep a failing match linear.
_EMAILS_RE = re.compile(rf"(?:(?>{_EMAIL_RE.pattern})(?:\n|\Z))*+")


def parse_email(
    values: Sequence[str], col: int, field: str, label: str, max_length: int = 80
) -> ColumnResult:
    """Email fields: length, then the address form (INVALID_EMAIL_ADDRESS)."""
    out, errors = parse_string(values, col, field, label, max_length)
    if not errors:
        # Fast path, the common case: every address is fine, checked by one C-level match over
        # the whole column. A valid address has no newline, so the lines must be the cells.
        cells = [v for v in values if v and v != NULL_MARKER]
        joined = "\n".join(cells)
        if joined.count("\n") == len(cells) - 1 and _EMAILS_RE.fullmatch(joined):
            return out, errors
    match = _EMAIL_RE.fullmatch
    for i, v in enumerate(values):
        if v and v != NULL_MARKER and i not in errors and match(v) is None:
            errors[i] = format_error(
                "INVALID_EMAIL_ADDRESS", f"{label}: invalid email address: {v}", (field,)
            )
    return out, errors


_INT_RE = re.compile(r"[+-]?\d+")


def parse_int(values: Sequence[str], col: int, field: str, label: str) -> ColumnResult:
    """Int fields (xsd:int, 32-bit)."""
    out: list[object] = []
    errors: dict[int, str] = {}
    match = _INT_RE.fullmatch
    for i, v in enumerate(values):
        if _is_null(v):
            out.append(None)
        elif match(v) and -(2**31) <= (n := int(v)) < 2**31:
            out.append(n)
        else:
            out.append(None)
            errors[i] = _deserialize_error(v, col, "xsd:int", field)
    return out, errors


# Python's float() also takes "nan", "inf", "1_000" and surrounding spaces; Salesforce does not.
_DOUBLE_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def parse_double(
    values: Sequence[str], col: int, field: str, label: str, precision: int = 18, scale: int = 2
) -> ColumnResult:
    """Double, currency and percent fields; scientific notation is allowed, as the Bulk guide says.

    Values are rounded half up to the field's scale, and a value with more integer digits than
    ``precision - scale`` fails ``NUMBER_OUTSIDE_VALID_RANGE`` as on the platform.
    """
    out: list[object] = []
    errors: dict[int, str] = {}
    match = _DOUBLE_RE.fullmatch
    limit = 10.0 ** (precision - scale)
    for i, v in enumerate(values):
        if _is_null(v):
            out.append(None)
        elif match(v):
            x = float(v)
            if abs(x) >= limit:
                out.append(None)
                errors[i] = format_error(
                    "NUMBER_OUTSIDE_VALID_RANGE",
                    f"{label}: value outside of valid range on numeric field: {java_double(x)}",
                    (field,),
                )
            elif "e" in v or "E" in v or ("." in v and len(v) - v.index(".") - 1 > scale):
                # the platform rounds half up to the field's scale (Python's round() is half-even)
                out.append(float(Decimal(v).quantize(Decimal(1).scaleb(-scale), ROUND_HALF_UP)))
            else:
                out.append(x)
        else:
            out.append(None)
            errors[i] = _deserialize_error(v, col, "xsd:double", field)
    return out, errors


def parse_boolean(values: Sequence[str], col: int, field: str, label: str) -> ColumnResult:
    """Checkbox fields: ``true``/``false`` in any case, and xsd:boolean's ``1``/``0``.

    Empty stays ``None`` here; the store applies the field default (``false``) on create.
    """
    out: list[object] = []
    errors: dict[int, str] = {}
    for i, v in enumerate(values):
        low = v.lower()
        if low in ("true", "1"):
            out.append(1)
        elif low in ("false", "0"):
            out.append(0)
        elif _is_null(v):
            out.append(None)
        else:
            out.append(None)
            errors[i] = _deserialize_error(v, col, "xsd:boolean", field)
    return out, errors


# The Bulk guide's own sample CSV writes a date as "1940-06-07Z", so a trailing Z is accepted.
_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})Z?")
_DATE10_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(values: Sequence[str], col: int, field: str, label: str) -> ColumnResult:
    """Date fields, ``yyyy-MM-dd`` (the Bulk guide's date format has no offset), stored as that text."""
    # Fast path, the common case: every value is already canonical; checked with C-level maps.
    cells = [v for v in values if v and v != NULL_MARKER]
    if all(map(_DATE10_RE.fullmatch, cells)):
        try:
            list(map(date.fromisoformat, cells))
        except ValueError:
            pass
        else:
            return [v if v and v != NULL_MARKER else None for v in values], {}
    out: list[object] = []
    errors: dict[int, str] = {}
    match = _DATE_RE.fullmatch
    for i, v in enumerate(values):
        if _is_null(v):
            out.append(None)
            continue
        m = match(v)
        if m is not None:
            try:
                out.append(date(int(m[1]), int(m[2]), int(m[3])).isoformat())
                continue
            except ValueError:
                pass
        out.append(None)
        errors[i] = _deserialize_error(v, col, "xsd:date", field)
    return out, errors


_DATETIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?"
)


def to_utc_text(value: str) -> str | None:
    """A datetime literal as the stored form ``yyyy-MM-ddTHH:mm:ss.SSSZ`` (UTC), or ``None``.

    Accepted: ``yyyy-MM-ddTHH:mm:ss[.SSS](Z|+HH:mm|-HH:mm|+HHmm)``; seconds optional; no zone
    means UTC. A bare ``yyyy-MM-dd`` is taken as midnight UTC (decision: lenient, as the
    platform's xsd:dateTime parsing of date-only values is undocumented).
    """
    m = _DATETIME_RE.fullmatch(value)
    if m is None:
        return None
    year, month, day, hh, mm, ss, frac, zone = m.groups()
    try:
        micro = int((frac or "0")[:6].ljust(6, "0"))
        dt = datetime(int(year), int(month), int(day), int(hh or 0), int(mm or 0), int(ss or 0), micro)
    except ValueError:
        return None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 23 or minutes > 59:
            return None
        dt -= sign * timedelta(hours=hours, minutes=minutes)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_datetime(values: Sequence[str], col: int, field: str, label: str) -> ColumnResult:
    """Datetime fields (xsd:dateTime), stored as UTC text with milliseconds."""
    out: list[object] = []
    errors: dict[int, str] = {}
    for i, v in enumerate(values):
        if _is_null(v):
            out.append(None)
            continue
        text = to_utc_text(v)
        if text is None:
            errors[i] = _deserialize_error(v, col, "xsd:dateTime", field)
        out.append(text)
    return out, errors


def now_text() -> str:
    """The current time in the stored datetime form (``yyyy-MM-ddTHH:mm:ss.SSSZ``, UTC)."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def render_datetime_rest(stored: str) -> str:
    """A stored datetime as the REST API writes it in JSON: ``2024-01-15T10:30:00.000+0000``."""
    return stored[:-1] + "+0000" if stored.endswith("Z") else stored


def java_double(x: float) -> str:
    """``x`` as Java's ``Double.toString`` writes it (Salesforce renders doubles that way).

    Plain decimal for 1e-3 <= |x| < 1e7 (at least one fractional digit: ``12.0``), otherwise
    computerized scientific notation with a one-digit integer part: ``9.12260031E8``, ``1.0E7``,
    ``1.0E-4``. Digits are the shortest that round-trip (Python's repr; Java agrees since JDK 19).
    """
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0.0" if str(x).startswith("-") else "0.0"
    sign = "-" if x < 0 else ""
    ax = abs(x)
    # repr gives the shortest round-trip digits; rebuild them as a digit string + exponent.
    r = repr(ax)
    if "e" in r:
        m, _, e = r.partition("e")
        exp10 = int(e)
        int_part, _, frac = m.partition(".")
        digits = int_part + frac
        point = len(int_part) + exp10  # position of the decimal point in `digits`
    else:
        int_part, _, frac = r.partition(".")
        digits = int_part + frac
        point = len(int_part)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0") or "0"
    if 1e-3 <= ax < 1e7:
        if point <= 0:
            text = "0." + "0" * (-point) + digits
        elif point >= len(digits):
            text = digits + "0" * (point - len(digits)) + ".0"
        else:
            text = digits[:point] + "." + digits[point:]
        return sign + text
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{point - 1}"


def parse_column(fdef: FieldDef, values: Sequence[str], col: int) -> ColumnResult:
    """One column of a batch parsed for ``fdef``'s type; ``col`` is its 0-based position.

    Id and reference cells are only told apart from empty ones here: the batch checks them
    against the records.
    """
    t = fdef.type
    if t == "email":
        return parse_email(values, col, fdef.name, fdef.label, fdef.length)
    if t in TEXT_TYPES:
        return parse_string(values, col, fdef.name, fdef.label, fdef.length)
    if t == "int":
        return parse_int(values, col, fdef.name, fdef.label)
    if t in NUMBER_TYPES:
        return parse_double(values, col, fdef.name, fdef.label, fdef.precision or 18, fdef.scale)
    if t == "boolean":
        return parse_boolean(values, col, fdef.name, fdef.label)
    if t == "date":
        return parse_date(values, col, fdef.name, fdef.label)
    if t == "datetime":
        return parse_datetime(values, col, fdef.name, fdef.label)
    return [None if (not v or v == NULL_MARKER) else v for v in values], {}


def render_value(fdef: FieldDef, value: object) -> str:
    """A stored number or checkbox as ``successfulResults`` echoes it."""
    t = fdef.type
    if t in NUMBER_TYPES:
        return java_double(float(value))  # type: ignore[arg-type]
    if t == "boolean":
        return "true" if value else "false"
    return str(value)


def rest_value(fdef: FieldDef, value: object) -> object:
    """A stored value as the REST API writes it in a query's JSON records."""
    if value is None:
        return None
    if fdef.type == "boolean":
        return bool(value)
    if fdef.type == "datetime":
        return render_datetime_rest(str(value))
    return value
