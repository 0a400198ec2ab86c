"""SOQL date literals (``TODAY``, ``LAST_N_DAYS:30``...) as the span of days they stand for.

Semantics from "Date Formats and Date Literals" in the SOQL and SOSL reference
(https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm):
``LAST_N_DAYS:n`` and ``LAST_90_DAYS`` include today (n + 1 days); ``NEXT_N_DAYS:n`` starts tomorrow;
``LAST_N_WEEKS:n`` / ``_MONTHS`` / ``_YEARS`` cover the n whole periods before the current one and
``NEXT_N_...`` the n after it; ``N_DAYS_AGO:n`` is that one day. The emulated user's time zone is UTC
and its locale's weeks start on Sunday (en_US). Fiscal literals use the calendar year (the default
fiscal year setting), quarters are calendar quarters.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

__all__ = ["DAY_SPANS", "date_span", "takes_number"]

# literal -> (unit, first, count): the span starts `first` units from the current one and lasts
# `count` units; a negative count is replaced by the literal's number n (see date_span).
_FIXED: dict[str, tuple[str, int, int]] = {
    "yesterday": ("day", -1, 1),
    "today": ("day", 0, 1),
    "tomorrow": ("day", 1, 1),
    "last_week": ("week", -1, 1),
    "this_week": ("week", 0, 1),
    "next_week": ("week", 1, 1),
    "last_month": ("month", -1, 1),
    "this_month": ("month", 0, 1),
    "next_month": ("month", 1, 1),
    "last_90_days": ("day", -90, 91),
    "next_90_days": ("day", 1, 90),
    "last_quarter": ("quarter", -1, 1),
    "this_quarter": ("quarter", 0, 1),
    "next_quarter": ("quarter", 1, 1),
    "last_year": ("year", -1, 1),
    "this_year": ("year", 0, 1),
    "next_year": ("year", 1, 1),
    "last_fiscal_quarter": ("quarter", -1, 1),
    "this_fiscal_quarter": ("quarter", 0, 1),
    "next_fiscal_quarter": ("quarter", 1, 1),
    "last_fiscal_year": ("year", -1, 1),
    "this_fiscal_year": ("year", 0, 1),
    "next_fiscal_year": ("year", 1, 1),
}
# literal:n -> (unit, sign): how the span of n units sits against the current unit.
_WITH_N: dict[str, tuple[str, str]] = {
    "last_n_days": ("day", "last_incl"),
    "next_n_days": ("day", "next"),
    "n_days_ago": ("day", "ago"),
    "last_n_weeks": ("week", "last"),
    "next_n_weeks": ("week", "next"),
    "n_weeks_ago": ("week", "ago"),
    "last_n_months": ("month", "last"),
    "next_n_months": ("month", "next"),
    "n_months_ago": ("month", "ago"),
    "last_n_quarters": ("quarter", "last"),
    "next_n_quarters": ("quarter", "next"),
    "n_quarters_ago": ("quarter", "ago"),
    "last_n_years": ("year", "last"),
    "next_n_years": ("year", "next"),
    "n_years_ago": ("year", "ago"),
    "last_n_fiscal_quarters": ("quarter", "last"),
    "next_n_fiscal_quarters": ("quarter", "next"),
    "last_n_fiscal_years": ("year", "last"),
    "next_n_fiscal_years": ("year", "next"),
    "n_fiscal_years_ago": ("year", "ago"),
}
#: Every literal name, for the parser.
DAY_SPANS = frozenset(_FIXED) | frozenset(_WITH_N)


def takes_number(name: str) -> bool:
    """Whether the literal is written ``NAME:n``."""
    return name.lower() in _WITH_N


def _unit_start(today: date, unit: str) -> date:
    if unit == "day":
        return today
    if unit == "week":
        return today - timedelta(days=(today.weekday() + 1) % 7)  # back to Sunday
    if unit == "month":
        return today.replace(day=1)
    if unit == "quarter":
        return today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    return today.replace(month=1, day=1)


def _shift(start: date, unit: str, k: int) -> date:
    if unit == "day":
        return start + timedelta(days=k)
    if unit == "week":
        return start + timedelta(weeks=k)
    months = {"month": 1, "quarter": 3, "year": 12}[unit] * k
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def date_span(name: str, n: int | None = None, now: datetime | None = None) -> tuple[date, date]:
    """The days ``[first, end)`` the literal ``name`` (with its ``n``) covers, at ``now`` (UTC)."""
    today = (now or datetime.now(UTC)).date()
    key = name.lower()
    if key in _FIXED:
        unit, first, count = _FIXED[key]
    else:
        unit, how = _WITH_N[key]
        assert n is not None
        if how == "last_incl":
            first, count = -n, n + 1
        elif how == "last":
            first, count = -n, n
        elif how == "next":
            first, count = 1, n
        else:
            first, count = -n, 1
    base = _unit_start(today, unit)
    return _shift(base, unit, first), _shift(base, unit, first + count)
