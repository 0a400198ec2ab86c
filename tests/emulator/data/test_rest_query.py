"""The REST query resources' shapes: nested parents, compound fields, queryAll, columns, Organization."""

from __future__ import annotations

from org_helpers import batch, insert

from asyncbulk.emulator import Org


def test_records_nest_parents_and_echo_the_version() -> None:
    org = Org()
    [acme] = insert(org, "Account", ["Name", "BillingCity"], ["Acme", "Paris"])
    insert(org, "Contact", ["LastName", "AccountId"], ["Lovelace", acme.sf_id], ["Orphan", ""])
    result = org.query(
        "SELECT LastName, Account.Name, Account.Owner.Username, Account.BillingAddress FROM Contact",
        version="51.0",
    )
    lovelace, orphan = result["records"]
    assert lovelace["attributes"]["url"].startswith("/services/data/v51.0/sobjects/Contact/")
    account = lovelace["Account"]
    assert account["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v51.0/sobjects/Account/{acme.sf_id}",
    }
    assert list(account) == ["attributes", "Name", "Owner", "BillingAddress"]
    assert account["Owner"]["Username"] == "admin@emulator.example"
    assert account["BillingAddress"] == {
        "city": "Paris",
        "country": None,
        "latitude": None,
        "longitude": None,
        "postalCode": None,
        "state": None,
        "street": None,
    }
    assert orphan == {"attributes": orphan["attributes"], "LastName": "Orphan", "Account": None}


def test_query_all_includes_soft_deleted_rows_only() -> None:
    org = Org()
    _, soft, hard = insert(org, "Contact", ["LastName"], ["Keep"], ["Soft"], ["Hard"])
    assert batch(org, "Contact", "delete", None, ["Id"], [[soft.sf_id]])[0].ok
    assert batch(org, "Contact", "hardDelete", None, ["Id"], [[hard.sf_id]])[0].ok
    live = org.query("SELECT LastName, IsDeleted FROM Contact")["records"]
    every = org.query("SELECT LastName, IsDeleted FROM Contact", include_deleted=True)["records"]
    assert [(r["LastName"], r["IsDeleted"]) for r in live] == [("Keep", False)]
    assert [(r["LastName"], r["IsDeleted"]) for r in every] == [("Keep", False), ("Soft", True)]
    assert org.query("SELECT COUNT() FROM Contact", include_deleted=True)["totalSize"] == 2


def test_column_metadata_is_the_shape_the_cli_reads() -> None:
    meta = Org().query_columns("SELECT Id, LastName, Owner.Name, Owner.Email, Account.Name FROM Contact")
    assert (meta["entityName"], meta["keyPrefix"], meta["idSelected"], meta["groupBy"]) == (
        "Contact",
        "003",
        True,
        False,
    )
    ident, last, owner, account = meta["columnMetadata"]
    assert ident == {
        "aggregate": False,
        "apexType": "Id",
        "booleanType": False,
        "columnName": "Id",
        "custom": False,
        "displayName": "Id",
        "foreignKeyName": None,
        "insertable": False,
        "joinColumns": [],
        "numberType": False,
        "textType": False,
        "updatable": False,
    }
    assert (last["apexType"], last["textType"], last["insertable"]) == ("String", True, True)
    assert (owner["columnName"], owner["foreignKeyName"], owner["apexType"]) == ("Owner", "OwnerId", None)
    assert [c["columnName"] for c in owner["joinColumns"]] == ["Name", "Email"]
    assert [c["columnName"] for c in account["joinColumns"]] == ["Name"]


def test_the_organization_record_the_cli_asks_for() -> None:
    org = Org(org_id="00DEM0000000042AAA")
    [rec] = org.query(
        "SELECT Name, InstanceName, IsSandbox, TrialExpirationDate, NamespacePrefix, OrganizationType "
        "FROM Organization"
    )["records"]
    assert rec["attributes"]["url"].endswith("/sobjects/Organization/00DEM0000000042AAA")
    assert rec["IsSandbox"] is False and rec["TrialExpirationDate"] is None and rec["NamespacePrefix"] is None
    assert rec["OrganizationType"] == "Enterprise Edition" and rec["Name"] and rec["InstanceName"]
    assert org.query("SELECT Id FROM Organization")["records"][0]["Id"] == "00DEM0000000042AAA"
