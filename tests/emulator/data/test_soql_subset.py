"""The SOQL subset real extracts use: parent fields, AND/OR/NOT, LIKE, IN, date literals, ORDER BY."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from org_helpers import batch, insert

from asyncbulk.emulator import Org
from asyncbulk.emulator._data import QueryError
from asyncbulk.emulator._data._soql_dates import date_span


@pytest.fixture
def org() -> Org:
    o = Org()
    acme, globex = (
        r.sf_id for r in insert(o, "Account", ["Name", "Industry"], ["Acme", "Banking"], ["Globex", ""])
    )
    today = datetime.now(UTC).date()
    rows = [
        ["Ann", "Alpha", acme, "ann@x.com", (today - timedelta(days=2)).isoformat(), "true"],
        ["Bob", "Beta", globex, "", "1990-06-15", "false"],
        ["", "Gamma", "", "gamma_1%@x.com", "", "false"],
        ["Dee", "delta", acme, "dee@y.org", today.isoformat(), "true"],
    ]
    header = ["FirstName", "LastName", "AccountId", "Email", "Birthdate", "DoNotCall"]
    assert all(r.ok for r in batch(o, "Contact", "insert", None, header, rows))
    return o


def names(org: Org, where: str, order: str = "ORDER BY LastName") -> list[str]:
    result = org.query(f"SELECT LastName FROM Contact {where} {order}")
    return [r["LastName"] for r in result["records"]]


def test_parent_fields_select_filter_and_sort(org: Org) -> None:
    result = org.query("SELECT LastName, Account.Name, Owner.Email FROM Contact WHERE Account.Name = 'acme'")
    assert [r["Account"]["Name"] for r in result["records"]] == ["Acme", "Acme"]
    assert result["records"][0]["Owner"]["Email"] == "admin@emulator.example"
    assert result["records"][0]["Account"]["attributes"]["type"] == "Account"
    # SOQL's != matches records without a parent, as it matches null fields
    assert names(org, "WHERE Account.Name != 'Acme'") == ["Beta", "Gamma"]
    assert names(org, "WHERE Account.Industry = null AND AccountId != null") == ["Beta"]
    assert names(org, "", "ORDER BY Account.Name DESC NULLS LAST, LastName") == [
        "Beta",
        "Alpha",
        "delta",
        "Gamma",
    ]
    no_parent = org.query("SELECT Account.Name FROM Contact WHERE LastName = 'Gamma'")["records"][0]
    assert no_parent["Account"] is None
    same = org.query("SELECT Contact.LastName FROM Contact WHERE Contact.LastName = 'Beta'")["records"]
    assert [r["LastName"] for r in same] == ["Beta"]


def test_and_or_not_parentheses(org: Org) -> None:
    assert names(org, "WHERE DoNotCall = true OR LastName = 'Beta'") == ["Alpha", "Beta", "delta"]
    assert names(org, "WHERE (DoNotCall = true OR LastName = 'Beta') AND Email LIKE '%x.com'") == ["Alpha"]
    assert names(org, "WHERE NOT (DoNotCall = true OR LastName = 'Beta')") == ["Gamma"]
    # NOT of a condition that is false for a null field matches that record, as in SOQL
    assert names(org, "WHERE NOT Email = 'ann@x.com'") == ["Beta", "delta", "Gamma"]
    assert names(org, "WHERE NOT NOT DoNotCall = true") == ["Alpha", "delta"]
    with pytest.raises(QueryError) as info:
        org.query("SELECT Id FROM Contact WHERE DoNotCall = true AND Email = null OR LastName = 'x'")
    assert info.value.error_code == "MALFORMED_QUERY"
    assert info.value.message.endswith("unexpected token: 'OR'")


def test_in_like_and_nulls(org: Org) -> None:
    assert names(org, "WHERE LastName IN ('ALPHA', 'Delta')") == ["Alpha", "delta"]
    assert names(org, "WHERE Email NOT IN ('ann@x.com')") == ["Beta", "delta", "Gamma"]
    assert names(org, "WHERE Email NOT IN ('ann@x.com', null)") == ["delta", "Gamma"]
    assert names(org, "WHERE Email IN (null)") == ["Beta"]
    assert names(org, "WHERE LastName LIKE '_e%'") == ["Beta", "delta"]
    assert names(org, "WHERE Email LIKE 'gamma\\_1\\%%'") == ["Gamma"]
    assert names(org, "WHERE Email LIKE 'gamma_1_%'") == ["Gamma"]
    assert names(org, "WHERE Email LIKE 'gammaX1%'") == []
    assert names(org, "WHERE FirstName = null") == ["Gamma"]
    assert names(org, "WHERE FirstName != null") == ["Alpha", "Beta", "delta"]


def test_date_literals(org: Org) -> None:
    assert names(org, "WHERE Birthdate = TODAY") == ["delta"]
    assert names(org, "WHERE Birthdate = LAST_N_DAYS:2") == ["Alpha", "delta"]
    assert names(org, "WHERE Birthdate = LAST_N_DAYS:1") == ["delta"]
    assert names(org, "WHERE Birthdate = N_DAYS_AGO:2") == ["Alpha"]
    assert names(org, "WHERE Birthdate < LAST_N_DAYS:2") == ["Beta"]
    assert names(org, "WHERE Birthdate > YESTERDAY") == ["delta"]
    assert names(org, "WHERE Birthdate >= YESTERDAY") == ["delta"]
    assert names(org, "WHERE Birthdate <= 1990-06-15") == ["Beta"]
    assert names(org, "WHERE CreatedDate = TODAY AND CreatedDate > 2020-01-01T00:00:00Z") == [
        "Alpha",
        "Beta",
        "delta",
        "Gamma",
    ]
    assert names(org, "WHERE CreatedDate < THIS_YEAR") == []
    assert names(org, "WHERE CreatedDate != TODAY") == []


@pytest.mark.parametrize(
    ("literal", "n", "first", "end"),
    [
        ("today", None, date(2026, 3, 4), date(2026, 3, 5)),
        ("last_n_days", 7, date(2026, 2, 25), date(2026, 3, 5)),
        ("next_n_days", 2, date(2026, 3, 5), date(2026, 3, 7)),
        ("this_week", None, date(2026, 3, 1), date(2026, 3, 8)),  # 2026-03-04 is a Wednesday
        ("last_week", None, date(2026, 2, 22), date(2026, 3, 1)),
        ("last_month", None, date(2026, 2, 1), date(2026, 3, 1)),
        ("last_n_months", 3, date(2025, 12, 1), date(2026, 3, 1)),
        ("this_quarter", None, date(2026, 1, 1), date(2026, 4, 1)),
        ("next_year", None, date(2027, 1, 1), date(2028, 1, 1)),
        ("last_90_days", None, date(2025, 12, 4), date(2026, 3, 5)),
    ],
)
def test_date_spans(literal: str, n: int | None, first: date, end: date) -> None:
    assert date_span(literal, n, datetime(2026, 3, 4, 15, tzinfo=UTC)) == (first, end)


def test_limit_offset_and_count(org: Org) -> None:
    assert names(org, "", "ORDER BY LastName LIMIT 2 OFFSET 1") == ["Beta", "delta"]
    assert org.query("SELECT COUNT() FROM Contact WHERE DoNotCall = true")["totalSize"] == 2
    with pytest.raises(QueryError) as info:
        org.query("SELECT Id FROM Contact OFFSET 2001")
    assert info.value.error_code == "NUMBER_OUTSIDE_VALID_RANGE"


@pytest.mark.parametrize(
    ("soql", "code", "text"),
    [
        (
            "SELECT Acount.Name FROM Contact",
            "INVALID_FIELD",
            "Didn't understand relationship 'Acount' in field path.",
        ),
        ("SELECT Account.Nme FROM Contact", "INVALID_FIELD", "No such column 'Nme' on entity 'Account'."),
        (
            "SELECT Id FROM Contact WHERE Birthdate = '2020-01-01'",
            "INVALID_FIELD",
            "value of filter criterion for field 'Birthdate' must be of type date and should not be enclosed "
            "in quotes",
        ),
        (
            "SELECT Id FROM Contact WHERE CreatedDate > 2020-01-01",
            "INVALID_FIELD",
            "value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be "
            "enclosed in quotes",
        ),
        (
            "SELECT Id FROM Contact WHERE LastName = 5",
            "INVALID_FIELD",
            "value of filter criterion for field 'LastName' must be of type string and should be enclosed in "
            "quotes",
        ),
        (
            "SELECT Id FROM Contact WHERE Description = 'x'",
            "INVALID_FIELD",
            "field 'Description' can not be filtered",
        ),
        (
            "SELECT Id FROM Contact ORDER BY Description",
            "INVALID_FIELD",
            "field 'Description' can not be sorted",
        ),
        (
            "SELECT Id FROM Contact WHERE CreatedDate > 2020-13-01T00:00:00Z",
            "MALFORMED_QUERY",
            "Invalid datetime",
        ),
        ("SELECT Id FROM Contact WHERE", "MALFORMED_QUERY", "unexpected token: '<EOF>'"),
        ("SELECT Id FROM Contact LIMIT x", "MALFORMED_QUERY", "unexpected token: 'x'"),
        (
            "SELECT Name, (SELECT LastName FROM Contacts) FROM Account",
            "MALFORMED_QUERY",
            "unexpected token: '('",
        ),
    ],
)
def test_refusals(org: Org, soql: str, code: str, text: str) -> None:
    with pytest.raises(QueryError) as info:
        org.query(soql)
    assert info.value.error_code == code
    assert text in info.value.message
    if code != "MALFORMED_QUERY" or "token" in text:
        assert "\nERROR at Row:1:Column:" in info.value.message


def test_duplicate_field() -> None:
    with pytest.raises(QueryError) as info:
        Org().query("SELECT Id, id FROM Contact")
    assert (info.value.error_code, info.value.message) == ("INVALID_FIELD", "duplicate field selected: Id")


def test_error_window_is_salesforces() -> None:
    # The exact message of a captured answer (amp-labs/connectors, unknown-object.json).
    with pytest.raises(QueryError) as info:
        Org().query("SELECT Id,Name,BillingCity,IsDeleted FROM Accout")
    assert info.value.message.startswith(
        "\nName,BillingCity,IsDeleted FROM Accout\n" + " " * 32 + "^\nERROR at Row:1:Column:43\n"
        "sObject type 'Accout' is not supported."
    )
    with pytest.raises(QueryError) as info:
        Org().query("SELECT Id\nFROM Contact\nWHERE Nope = 1")
    assert info.value.message.startswith(
        "\nWHERE Nope = 1\n      ^\nERROR at Row:3:Column:7\nNo such column 'Nope'"
    )
