"""A query job's compilation for Bulk API 2.0 and the snapshot of its rows, rendered as Bulk writes them."""

from __future__ import annotations

import pytest
from org_helpers import batch, insert

from asyncbulk.emulator import Org
from asyncbulk.emulator._data import QueryError


def rows_of(org: Org, soql: str, chunk: int = 100, *, include_deleted: bool = False) -> list[list[str]]:
    query = org.compile_bulk_query(soql, include_deleted=include_deleted)
    return [list(row) for block in org.snapshot(query, chunk) for row in zip(*block, strict=True)]


def test_values_are_rendered_as_bulk_results_write_them() -> None:
    org = Org()
    [acme] = insert(
        org, "Account", ["Name", "AnnualRevenue", "NumberOfEmployees"], ["Acme", "912260031", "12"]
    )
    insert(
        org,
        "Contact",
        ["LastName", "AccountId", "DoNotCall", "Birthdate", "Last_Contacted__c", "Description"],
        ["Lovelace", acme.sf_id, "true", "1815-12-10", "2024-01-15T10:00:00+01:00", 'say "hi"\nbye'],
        ["Orphan", "", "", "", "", ""],
    )
    query = org.compile_bulk_query(
        "select lastname, account.name, ACCOUNT.AnnualRevenue, Account.NumberOfEmployees, DoNotCall, "
        "Birthdate, Last_Contacted__c, Description FROM contact"
    )
    assert query.object == "Contact" and query.pk_chunking
    assert query.columns == (
        "LastName",
        "Account.Name",
        "Account.AnnualRevenue",
        "Account.NumberOfEmployees",
        "DoNotCall",
        "Birthdate",
        "Last_Contacted__c",
        "Description",
    )
    assert rows_of(
        org,
        "SELECT LastName, Account.Name, Account.AnnualRevenue, Account.NumberOfEmployees, "
        "DoNotCall, Birthdate, Last_Contacted__c, Description FROM Contact",
    ) == [
        [
            "Lovelace",
            "Acme",
            "9.12260031E8",
            "12",
            "true",
            "1815-12-10",
            "2024-01-15T09:00:00.000Z",
            'say "hi"\nbye',
        ],
        ["Orphan", "", "", "", "false", "", "", ""],
    ]
    assert not org.compile_bulk_query("SELECT Name FROM Organization").pk_chunking


def test_snapshot_is_taken_once_in_order_and_chunked() -> None:
    org = Org()
    insert(org, "Contact", ["LastName"], *([f"L{i:02d}"] for i in range(25)))
    query = org.compile_bulk_query("SELECT LastName FROM Contact ORDER BY LastName DESC")
    chunks = org.snapshot(query, 10)
    first = next(chunks)
    insert(org, "Contact", ["LastName"], ["ZZ late"])  # after the snapshot: not in it
    rest = list(chunks)
    assert [len(c[0]) for c in [first, *rest]] == [10, 10, 5]
    assert [v for c in [first, *rest] for v in c[0]] == [f"L{i:02d}" for i in reversed(range(25))]


def test_query_all_and_deleted_rows() -> None:
    org = Org()
    _, gone = insert(org, "Contact", ["LastName"], ["Keep"], ["Gone"])
    assert batch(org, "Contact", "delete", None, ["Id"], [[gone.sf_id]])[0].ok
    assert rows_of(org, "SELECT LastName, IsDeleted FROM Contact") == [["Keep", "false"]]
    every = rows_of(org, "SELECT LastName, IsDeleted FROM Contact", include_deleted=True)
    assert every == [["Keep", "false"], ["Gone", "true"]]


@pytest.mark.parametrize(
    ("soql", "message"),
    [
        ("SELECT MailingAddress FROM Contact", "Selecting compound data not supported in Bulk Query"),
        ("SELECT Id, Address FROM Lead", "Selecting compound data not supported in Bulk Query"),
        (
            "SELECT Name, (SELECT LastName FROM Contacts) FROM Account",
            "Aggregate Relationships not supported in Bulk V2 Query with CSV content type",
        ),
        (
            "SELECT COUNT() FROM Contact",
            "Aggregate Relationships not supported in Bulk V2 Query with CSV content type",
        ),
        (
            "SELECT LeadSource, COUNT(Id) cnt FROM Lead GROUP BY LeadSource",
            "Aggregate Relationships not supported in Bulk V2 Query with CSV content type",
        ),
        ("SELECT Id FROM Contact LIMIT 10 OFFSET 5", "OFFSET not supported in Bulk V2 Query"),
        ("SELECT TYPEOF Owner WHEN User THEN Name END FROM Contact", "TYPEOF not supported in Bulk V2 Query"),
        ("SELECT FIELDS(STANDARD) FROM Contact", "FIELDS() not supported in Bulk V2 Query"),
    ],
)
def test_what_bulk_refuses(soql: str, message: str) -> None:
    with pytest.raises(QueryError) as info:
        Org().compile_bulk_query(soql)
    assert (info.value.error_code, info.value.message) == ("API_ERROR", message)


def test_compile_errors_come_before_bulk_refusals() -> None:
    with pytest.raises(QueryError) as info:
        Org().compile_bulk_query("SELECT MailingAddress, Nope FROM Contact")
    assert info.value.error_code == "INVALID_FIELD"
    with pytest.raises(QueryError) as info:
        Org().compile_bulk_query("SELECT COUNT() FROM Accout")
    assert info.value.error_code == "INVALID_TYPE"
