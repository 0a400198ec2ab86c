"""The SOQL subset behind the emulator's query endpoint."""

from __future__ import annotations

import pytest
from org_helpers import batch

from asyncbulk.emulator import Org
from asyncbulk.emulator._data import QueryError


@pytest.fixture
def org() -> Org:
    s = Org()
    header = ["FirstName", "LastName", "Email", "Birthdate", "DoNotCall", "Last_Contacted__c"]
    rows = [
        ["Ann", "Alpha", "ann@x.com", "1980-01-01", "true", "2024-01-15T10:00:00Z"],
        ["Bob", "Beta", "bob@x.com", "1990-06-15", "false", ""],
        ["Cy", "Gamma", "", "", "", ""],
    ]
    assert all(r.ok for r in batch(s, "Contact", "insert", None, header, rows))
    assert all(
        r.ok for r in batch(s, "Account", "insert", None, ["Name", "NumberOfEmployees"], [["A", "10"]])
    )
    return s


def names(result: dict[str, object]) -> list[object]:
    return [r["LastName"] for r in result["records"]]  # type: ignore[attr-defined]


def test_count(org: Org) -> None:
    assert org.query("SELECT COUNT() FROM Contact") == {"totalSize": 3, "done": True, "records": []}
    assert org.query("select count() from contact where DoNotCall = true")["totalSize"] == 1


def test_records_shape_and_types(org: Org) -> None:
    res = org.query(
        "SELECT Id, LastName, Birthdate, DoNotCall, Last_Contacted__c FROM Contact WHERE FirstName = 'Ann'"
    )
    assert res["totalSize"] == 1 and res["done"] is True
    [rec] = res["records"]
    rid = rec["Id"]
    assert list(rec) == ["attributes", "Id", "LastName", "Birthdate", "DoNotCall", "Last_Contacted__c"]
    assert rec["attributes"] == {"type": "Contact", "url": f"/services/data/v66.0/sobjects/Contact/{rid}"}
    assert rec["Birthdate"] == "1980-01-01" and rec["DoNotCall"] is True
    assert rec["Last_Contacted__c"] == "2024-01-15T10:00:00.000+0000"
    acc = org.query("SELECT NumberOfEmployees FROM Account")["records"][0]
    assert acc["NumberOfEmployees"] == 10


def test_where_operators(org: Org) -> None:
    assert names(org.query("SELECT LastName FROM Contact WHERE Email = null")) == ["Gamma"]
    assert names(org.query("SELECT LastName FROM Contact WHERE Email != null ORDER BY LastName")) == [
        "Alpha",
        "Beta",
    ]
    assert names(
        org.query("SELECT LastName FROM Contact WHERE LastName IN ('alpha', 'GAMMA') ORDER BY LastName")
    ) == [
        "Alpha",
        "Gamma",
    ]
    assert names(
        org.query("SELECT LastName FROM Contact WHERE LastName NOT IN ('Alpha') ORDER BY LastName DESC")
    ) == [
        "Gamma",
        "Beta",
    ]
    assert names(
        org.query("SELECT LastName FROM Contact WHERE FirstName = 'Bob' AND Email = 'BOB@x.com'")
    ) == ["Beta"]
    assert names(org.query("SELECT LastName FROM Contact WHERE Birthdate > 1985-01-01")) == ["Beta"]
    assert names(
        org.query("SELECT LastName FROM Contact WHERE Last_Contacted__c >= 2024-01-15T11:00:00+01:00")
    ) == ["Alpha"]
    assert names(org.query("SELECT LastName FROM Contact WHERE LastName != 'Alpha' LIMIT 1")) == ["Beta"]
    assert org.query("SELECT Name FROM Account WHERE NumberOfEmployees = 10")["totalSize"] == 1
    escaped = org.query("SELECT LastName FROM Contact WHERE LastName = 'O\\'Neil'")
    assert escaped["totalSize"] == 0


def test_deleted_rows_excluded(org: Org) -> None:
    rid = org.query("SELECT Id FROM Contact WHERE LastName = 'Alpha'")["records"][0]["Id"]
    assert batch(org, "Contact", "delete", None, ["Id"], [[rid]])[0].ok
    assert org.query("SELECT COUNT() FROM Contact")["totalSize"] == 2
    assert org.query(f"SELECT Id FROM Contact WHERE Id = '{rid[:15]}'")["totalSize"] == 0


def test_errors(org: Org) -> None:
    with pytest.raises(QueryError) as info:
        org.query("SELECT Id FROM Foo")
    assert info.value.error_code == "INVALID_TYPE"
    assert info.value.message.endswith(
        "sObject type 'Foo' is not supported. If you are attempting to use a custom object, be sure to "
        "append the '__c' after the entity name. Please reference your WSDL or the describe call for the "
        "appropriate names."
    )
    assert "ERROR at Row:1:Column:16" in info.value.message
    with pytest.raises(QueryError) as info:
        org.query("SELECT Id, Foo FROM Contact")
    assert info.value.error_code == "INVALID_FIELD"
    assert "No such column 'Foo' on entity 'Contact'." in info.value.message
    assert "ERROR at Row:1:Column:12" in info.value.message
    for bad in ("SELECT FROM Contact", "SELECT Id Contact", "SELECT Id FROM Contact WHERE", "DELETE Contact"):
        with pytest.raises(QueryError) as info:
            org.query(bad)
        assert info.value.error_code == "MALFORMED_QUERY", bad
        assert "unexpected token" in info.value.message
