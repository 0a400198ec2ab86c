"""One batch applied to the org (``Org.apply``): operations, per-record errors, relationships, headers."""

from __future__ import annotations

import pytest
from org_helpers import batch, insert

from asyncbulk.emulator import JobSpec, Org
from asyncbulk.emulator._data import BatchResults, RowResult
from asyncbulk.emulator._data._ids import is_valid_id

UNWRITABLE_NAME = (
    "INVALID_FIELD_FOR_INSERT_UPDATE:Unable to create/update fields: Name. Please check the security "
    "settings of this field and verify that it is read/write for your profile or permission set.:Name --"
)


@pytest.fixture
def org() -> Org:
    return Org()


def one(org: Org, soql: str) -> dict[str, object]:
    records = org.query(soql)["records"]
    assert len(records) == 1, records
    rec: dict[str, object] = records[0]
    return rec


# ---------------------------------------------------------------- insert


def test_insert_renders_values_and_ids(org: Org) -> None:
    header = ["Name", "NumberOfEmployees", "AnnualRevenue", "Website", "Description"]
    [r] = insert(
        org, "Account", header, ["Lorem Ipsum", "2676", "912260031", "https://ft.com/x", "multi\nline"]
    )
    assert r.ok and r.created and r.error == ""
    assert r.sf_id.startswith("001") and len(r.sf_id) == 18 and is_valid_id(r.sf_id)
    # the Bulk guide's successfulResults example renders AnnualRevenue 912260031 as 9.12260031E8
    assert r.values == ["Lorem Ipsum", "2676", "9.12260031E8", "https://ft.com/x", "multi\nline"]
    rec = one(org, f"SELECT Id, Name, NumberOfEmployees, AnnualRevenue FROM Account WHERE Id = '{r.sf_id}'")
    assert rec["NumberOfEmployees"] == 2676 and rec["AnnualRevenue"] == 912260031.0


def test_insert_header_case_insensitive_and_echoed(org: Org) -> None:
    [r] = insert(org, "Account", ["NAME", "phone", "WEBSITE"], ["Acme", "555", "acme.com"])
    assert r.ok and r.values == ["Acme", "555", "acme.com"]
    assert one(org, "SELECT Name, Phone FROM Account")["Phone"] == "555"


def test_insert_defaults_and_compound_name(org: Org) -> None:
    [c] = insert(org, "Contact", ["FirstName", "LastName"], ["Astro", "Nomical"])
    rec = one(org, f"SELECT Name, DoNotCall, OwnerId FROM Contact WHERE Id = '{c.sf_id}'")
    assert (
        rec["Name"] == "Astro Nomical" and rec["DoNotCall"] is False and rec["OwnerId"] == org.admin_user_id
    )
    [lead] = insert(org, "Lead", ["LastName", "Company"], ["Doe", "Acme"])
    assert lead.ok
    assert one(org, "SELECT Status FROM Lead")["Status"] == "Open - Not Contacted"


def test_multipart_walkthrough_rows(org: Org) -> None:
    # the current guide's multipart CSV loads; the older one's "Name" column fails per row
    rows = [["Astro", "Nomical", "San Francisco"], ["Hootie", "McOwl", "San Francisco"]]
    assert all(r.ok for r in insert(org, "Contact", ["FirstName", "LastName", "MailingCity"], *rows))
    res = insert(
        org, "Contact", ["Name", "MailingCity"], ["Astro Nomical", "San Francisco"], ["", "San Francisco"]
    )
    assert [r.ok for r in res] == [False, False]
    assert res[0].error == UNWRITABLE_NAME  # binding error wins over the missing LastName
    assert res[0].sf_id == "" and res[0].values == ["Astro Nomical", "San Francisco"]
    assert res[1].error == "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --"


def test_required_fields_missing_lists_all(org: Org) -> None:
    [r] = insert(org, "Lead", ["FirstName"], ["Jo"])
    assert r.error == (
        "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName, Company]:LastName Company --"
    )


def test_insert_with_id_fails(org: Org) -> None:
    [r] = insert(org, "Account", ["Id", "Name"], ["001000000000001", "X"])
    assert r.error == "INVALID_FIELD_FOR_INSERT_UPDATE:cannot specify Id in an insert call:Id --"


def test_bad_values(org: Org) -> None:
    header = ["LastName", "Email", "Birthdate", "DoNotCall", "Title", "Last_Contacted__c"]
    res = insert(
        org,
        "Contact",
        header,
        ["A", "bad-email", "", "", "", ""],
        ["B", "", "6/15/19", "", "", ""],
        ["C", "", "", "maybe", "", ""],
        ["D", "", "", "", "x" * 129, ""],
        ["E", "", "", "", "", "yesterday"],
        ["F", "f@x.org", "1990-12-31", "TRUE", "CEO", "2024-01-15T12:30:00+02:00"],
    )
    assert res[0].error == "INVALID_EMAIL_ADDRESS:Email: invalid email address: bad-email:Email --"
    assert res[1].error == (
        # Birthdate is the third column: col 2, as real orgs count (from 0).
        "INVALID_FIELD:Failed to deserialize field at col 2. Due to, '6/15/19' is not a valid value "
        "for the type xsd:date:Birthdate --"
    )
    assert "xsd:boolean:DoNotCall --" in res[2].error
    assert res[3].error.startswith("STRING_TOO_LONG:Title: data value too large: xxx")
    assert res[3].error.endswith("(max length=128):Title --")
    assert "xsd:dateTime:Last_Contacted__c --" in res[4].error
    assert res[5].ok and res[5].values == [
        "F",
        "f@x.org",
        "1990-12-31",
        "true",
        "CEO",
        "2024-01-15T10:30:00.000Z",
    ]
    rec = one(org, "SELECT Last_Contacted__c, DoNotCall FROM Contact")
    assert rec == {
        "attributes": rec["attributes"],
        "Last_Contacted__c": "2024-01-15T10:30:00.000+0000",
        "DoNotCall": True,
    }


def test_unique_values(org: Org) -> None:
    [a] = insert(org, "Account", ["Name", "External_Id__c"], ["A", "EXT-1"])
    res = insert(org, "Account", ["Name", "External_Id__c"], ["B", "ext-1"], ["C", "E2"], ["D", "E2"])
    assert res[0].error == (
        "DUPLICATE_VALUE:duplicate value found: External_Id__c duplicates value on record "
        f"with id: {a.sf_id}:--"
    )
    assert res[1].ok
    assert res[2].error == (
        "DUPLICATE_VALUE:duplicate value found: <unknown> duplicates value on record with id: <unknown>:--"
    )


def test_lock_failures(org: Org) -> None:
    rows = [["A"], ["B"], ["C"]]
    res = batch(org, "Account", "insert", None, ["Name"], rows, lock_fail=lambda i: i == 1)
    assert [r.ok for r in res] == [True, False, True]
    assert res[1].error == "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--"
    assert org.count("Account") == 2


# ---------------------------------------------------------------- update


def test_update_empty_untouched_and_na_sets_null(org: Org) -> None:
    [c] = insert(org, "Contact", ["FirstName", "LastName", "Phone", "Title"], ["A", "B", "555", "CEO"])
    res = batch(
        org,
        "Contact",
        "update",
        None,
        ["Id", "Phone", "Title", "FirstName"],
        [[c.sf_id[:15], "", "#N/A", "Z"]],
    )
    assert res[0].ok and not res[0].created and res[0].sf_id == c.sf_id
    rec = one(org, "SELECT Phone, Title, Name FROM Contact")
    assert rec["Phone"] == "555" and rec["Title"] is None and rec["Name"] == "Z B"


def test_update_errors(org: Org) -> None:
    [c] = insert(org, "Contact", ["LastName"], ["B"])
    [a] = insert(org, "Account", ["Name"], ["Acme"])
    res = batch(
        org,
        "Contact",
        "update",
        None,
        ["Id", "LastName"],
        [["", "x"], ["abc", "x"], [a.sf_id, "x"], ["003000000000000AAA", "x"], [c.sf_id, "#N/A"]],
    )
    assert res[0].error == "MISSING_ARGUMENT:Id not specified in an update call:--"
    assert res[1].error == "MALFORMED_ID:malformed id abc:--"
    assert res[2].error == f"MALFORMED_ID:Contact ID: id value of incorrect type: {a.sf_id}:Id --"
    assert res[3].error == "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--"
    assert res[4].error == "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --"
    assert res[4].sf_id == c.sf_id  # failed updates still name the record (v53.0+)
    nameless = batch(org, "Contact", "update", None, ["LastName"], [["x"]])
    assert nameless[0].error == "MISSING_ARGUMENT:Id not specified in an update call:--"
    readonly = batch(org, "Contact", "update", None, ["Id", "Name"], [[c.sf_id, "New"]])
    assert readonly[0].error == UNWRITABLE_NAME


# ---------------------------------------------------------------- upsert


def test_upsert_creates_and_matches(org: Org) -> None:
    header = ["External_Id__c", "LastName", "Email"]
    first = batch(org, "Contact", "upsert", "External_Id__c", header, [["K1", "One", ""], ["K2", "Two", ""]])
    assert [(r.ok, r.created) for r in first] == [(True, True), (True, True)]
    second = batch(
        org, "Contact", "upsert", "external_id__c", header, [["k1", "Uno", "u@x.com"], ["K3", "Three", ""]]
    )
    assert [(r.ok, r.created) for r in second] == [(True, False), (True, True)]
    assert second[0].sf_id == first[0].sf_id  # matched case-insensitively
    assert org.count("Contact") == 3
    rec = one(org, "SELECT LastName, Email FROM Contact WHERE External_Id__c = 'K1'")
    assert rec["LastName"] == "Uno" and rec["Email"] == "u@x.com"


def test_upsert_errors(org: Org) -> None:
    header = ["External_Id__c", "LastName"]
    res = batch(org, "Contact", "upsert", "External_Id__c", header, [["D", "a"], ["d", "b"], ["", "c"]])
    assert res[0].error == "DUPLICATE_VALUE:Duplicate external id specified: D:External_Id__c --"
    assert res[1].error == "DUPLICATE_VALUE:Duplicate external id specified: d:External_Id__c --"
    assert res[2].error == "MISSING_ARGUMENT:External_Id__c not specified:--"
    # several records with the key: only possible through a non-unique idLookup field (Email)
    insert(org, "Contact", ["LastName", "Email"], ["a", "dup@x.com"], ["b", "dup@x.com"])
    [r] = batch(org, "Contact", "upsert", "Email", ["Email", "LastName"], [["DUP@x.com", "c"]])
    assert r.error.startswith(
        "DUPLICATE_EXTERNAL_ID:Email: more than one record found for external id field: [003"
    )
    assert r.error.endswith("]:Email --")


def test_upsert_on_id(org: Org) -> None:
    [a] = insert(org, "Account", ["Name"], ["Old"])
    res = batch(org, "Account", "upsert", "Id", ["Id", "Name"], [[a.sf_id, "New"], ["", "Fresh"]])
    assert [(r.ok, r.created) for r in res] == [(True, False), (True, True)]
    # jsforce's live test: upsert on Id with no Id column creates everything
    res = batch(org, "Account", "upsert", "Id", ["Name"], [["X"]])
    assert res[0].ok and res[0].created
    assert org.count("Account") == 3


# ---------------------------------------------------------------- relationships and references


def test_relationship_columns(org: Org) -> None:
    [acc] = insert(org, "Account", ["Name", "External_Id__c"], ["Acme", "ACME-1"])
    [boss] = insert(org, "Contact", ["LastName", "Email"], ["Boss", "boss@x.com"])
    header = ["LastName", "Account.External_Id__c", "ReportsTo.Email", "Owner.Username"]
    res = insert(
        org,
        "Contact",
        header,
        ["Emp", "acme-1", "BOSS@x.com", "jane.doe@emulator.example"],
        ["Lost", "NOPE", "", ""],
    )
    assert res[0].ok, res[0].error
    rec = one(org, "SELECT AccountId, ReportsToId, OwnerId FROM Contact WHERE LastName = 'Emp'")
    jane = one(org, "SELECT Id FROM User WHERE Username = 'jane.doe@emulator.example'")
    assert rec["AccountId"] == acc.sf_id and rec["ReportsToId"] == boss.sf_id and rec["OwnerId"] == jane["Id"]
    assert res[1].error == (
        "INVALID_FIELD:Foreign key external ID: NOPE not found for field External_Id__c in entity Account:--"
    )


def test_reference_ids(org: Org) -> None:
    [acc] = insert(org, "Account", ["Name"], ["Acme"])
    [con] = insert(org, "Contact", ["LastName"], ["C"])
    res = insert(
        org,
        "Contact",
        ["LastName", "AccountId"],
        ["ok", acc.sf_id[:15]],
        ["bad", "xyz"],
        ["wrong", con.sf_id],
        ["gone", "001000000000000AAA"],
    )
    assert res[0].ok
    assert res[1].error == "MALFORMED_ID:Account ID: id value of incorrect type: xyz:AccountId --"
    assert res[2].error == (
        f"FIELD_INTEGRITY_EXCEPTION:Account ID: id value of incorrect type: {con.sf_id}:AccountId --"
    )
    assert res[3].error == "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--"


# ---------------------------------------------------------------- delete


def test_delete_and_hard_delete(org: Org) -> None:
    ids = [r.sf_id for r in insert(org, "Account", ["Name"], ["A"], ["B"], ["C"])]
    res = batch(org, "Account", "delete", None, ["Id"], [[ids[0]], [ids[1]], ["bad"]])
    assert [r.ok for r in res] == [True, True, False]
    assert not res[0].created and res[0].values == [ids[0]]
    assert res[2].error == "MALFORMED_ID:malformed id bad:--"
    assert org.count("Account") == 1 and org.count("Account", include_deleted=True) == 3
    again = batch(org, "Account", "delete", None, ["Id"], [[ids[0]]])
    assert again[0].error == "ENTITY_IS_DELETED:entity is deleted:--"
    upd = batch(org, "Account", "update", None, ["Id", "Name"], [[ids[0], "Z"]])
    assert upd[0].error == "ENTITY_IS_DELETED:entity is deleted:--"
    hard = batch(org, "Account", "hardDelete", None, ["Id"], [[ids[0]], [ids[2]]])
    assert all(r.ok for r in hard)
    assert org.count("Account", include_deleted=True) == 1
    assert org.query("SELECT COUNT() FROM Account")["totalSize"] == 0


# ---------------------------------------------------------------- header checks


def test_check_header(org: Org) -> None:
    assert org.check_header(JobSpec("Contact", "insert"), ["FirstName", "LastName"]) is None
    assert org.check_header(JobSpec("Contact", "insert"), ["LastName", "ContactId__c", "Foo"]) == (
        "InvalidBatch : Field name not found : ContactId__c"
    )
    assert org.check_header(JobSpec("Contact", "insert"), ["Bogus.Email"]) == (
        "InvalidBatch : Field name not found : Bogus.Email"
    )
    assert org.check_header(JobSpec("Contact", "insert"), ["Account.Name"]) == (
        "InvalidBatch : Field name provided, Name is not an External ID or indexed field for Account"
    )
    assert org.check_header(JobSpec("Contact", "upsert", "LastName"), ["LastName"]) == (
        "InvalidJob : Field name provided, LastName is not an External ID or indexed field for Contact"
    )
    assert org.check_header(JobSpec("Contact", "upsert", "External_Id__c"), ["LastName"]) is None
    assert org.check_header(JobSpec("Foo", "insert"), ["Name"]) == "InvalidJob : Unable to find object: Foo"
    assert org.check_header(JobSpec("User", "insert"), ["Username"]) is not None
    with pytest.raises(ValueError, match="Field name not found : Nope"):
        batch(org, "Contact", "insert", None, ["Nope"], [["x"]])


# ---------------------------------------------------------------- the results sequence


def _mixed_results(org: Org) -> BatchResults:
    header = ["LastName", "Email", "Title", "Birthdate"]
    rows = [
        ['Quote "me"', "a@x.com", "x,y", "2000-01-31"],
        ["Bad", "not-an-email", "t", ""],
        ["Line\nbreak", "", "", "1999-12-31Z"],
        ["", "b@x.com", "no last name", ""],
    ]
    return batch(org, "Contact", "insert", None, header, rows)


def test_batch_results_is_the_row_result_sequence(org: Org) -> None:
    res = _mixed_results(org)
    rows = list(res)
    assert len(res) == 4 and [r.ok for r in rows] == [True, False, True, False]
    assert res[0] == RowResult(True, res[0].sf_id, True, "", ['Quote "me"', "a@x.com", "x,y", "2000-01-31"])
    assert res[2].values == ["Line\nbreak", "", "", "1999-12-31"]  # re-rendered date
    assert res[1] == RowResult(
        False,
        "",
        False,
        "INVALID_EMAIL_ADDRESS:Email: invalid email address: not-an-email:Email --",
        ["Bad", "not-an-email", "t", ""],
    )
    assert res[-1] == rows[3] and res[1:3] == rows[1:3] and res == rows
    assert res.failed == 2
    with pytest.raises(IndexError):
        res[4]
