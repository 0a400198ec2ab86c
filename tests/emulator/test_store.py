"""The emulator's record store: operations, per-record errors, relationships, persistence."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from asyncbulk.emulator._ids import is_valid_id
from asyncbulk.emulator._schema import ADMIN_USERNAME, Schema, SchemaError
from asyncbulk.emulator._store import RowResult, Store

UNWRITABLE_NAME = (
    "INVALID_FIELD_FOR_INSERT_UPDATE:Unable to create/update fields: Name. Please check the security "
    "settings of this field and verify that it is read/write for your profile or permission set.:Name --"
)


@pytest.fixture
def store() -> Store:
    return Store(Schema())


def ins(store: Store, obj: str, header: list[str], *rows: list[str]) -> Sequence[RowResult]:
    return store.process_batch(obj, "insert", None, header, [list(r) for r in rows])


def one(store: Store, soql: str) -> dict[str, object]:
    records = store.query(soql)["records"]
    assert len(records) == 1, records
    rec: dict[str, object] = records[0]
    return rec


# ---------------------------------------------------------------- insert


def test_insert_renders_values_and_ids(store: Store) -> None:
    header = ["Name", "NumberOfEmployees", "AnnualRevenue", "Website", "Description"]
    [r] = ins(
        store, "Account", header, ["Lorem Ipsum", "2676", "912260031", "https://ft.com/x", "multi\nline"]
    )
    assert r.ok and r.created and r.error == ""
    assert r.sf_id.startswith("001") and len(r.sf_id) == 18 and is_valid_id(r.sf_id)
    # the Bulk guide's successfulResults example renders AnnualRevenue 912260031 as 9.12260031E8
    assert r.values == ["Lorem Ipsum", "2676", "9.12260031E8", "https://ft.com/x", "multi\nline"]
    rec = one(store, f"SELECT Id, Name, NumberOfEmployees, AnnualRevenue FROM Account WHERE Id = '{r.sf_id}'")
    assert rec["NumberOfEmployees"] == 2676 and rec["AnnualRevenue"] == 912260031.0


def test_insert_header_case_insensitive_and_echoed(store: Store) -> None:
    [r] = ins(store, "Account", ["NAME", "phone", "WEBSITE"], ["Acme", "555", "acme.com"])
    assert r.ok and r.values == ["Acme", "555", "acme.com"]
    assert one(store, "SELECT Name, Phone FROM Account")["Phone"] == "555"


def test_insert_defaults_and_compound_name(store: Store) -> None:
    [c] = ins(store, "Contact", ["FirstName", "LastName"], ["Astro", "Nomical"])
    rec = one(store, f"SELECT Name, DoNotCall, OwnerId FROM Contact WHERE Id = '{c.sf_id}'")
    assert (
        rec["Name"] == "Astro Nomical" and rec["DoNotCall"] is False and rec["OwnerId"] == store.admin_user_id
    )
    [lead] = ins(store, "Lead", ["LastName", "Company"], ["Doe", "Acme"])
    assert lead.ok
    assert one(store, "SELECT Status FROM Lead")["Status"] == "Open - Not Contacted"


def test_multipart_walkthrough_rows(store: Store) -> None:
    # the current guide's multipart CSV loads; the older one's "Name" column fails per row
    rows = [["Astro", "Nomical", "San Francisco"], ["Hootie", "McOwl", "San Francisco"]]
    assert all(r.ok for r in ins(store, "Contact", ["FirstName", "LastName", "MailingCity"], *rows))
    res = ins(
        store, "Contact", ["Name", "MailingCity"], ["Astro Nomical", "San Francisco"], ["", "San Francisco"]
    )
    assert [r.ok for r in res] == [False, False]
    assert res[0].error == UNWRITABLE_NAME  # binding error wins over the missing LastName
    assert res[0].sf_id == "" and res[0].values == ["Astro Nomical", "San Francisco"]
    assert res[1].error == "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --"


def test_required_fields_missing_lists_all(store: Store) -> None:
    [r] = ins(store, "Lead", ["FirstName"], ["Jo"])
    assert r.error == (
        "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName, Company]:LastName Company --"
    )


def test_insert_with_id_fails(store: Store) -> None:
    [r] = ins(store, "Account", ["Id", "Name"], ["001000000000001", "X"])
    assert r.error == "INVALID_FIELD_FOR_INSERT_UPDATE:cannot specify Id in an insert call:Id --"


def test_bad_values(store: Store) -> None:
    header = ["LastName", "Email", "Birthdate", "DoNotCall", "Title", "Last_Contacted__c"]
    res = ins(
        store,
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
        "INVALID_FIELD:Failed to deserialize field at col 3. Due to, '6/15/19' is not a valid value "
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
    rec = one(store, "SELECT Last_Contacted__c, DoNotCall FROM Contact")
    assert rec == {
        "attributes": rec["attributes"],
        "Last_Contacted__c": "2024-01-15T10:30:00.000+0000",
        "DoNotCall": True,
    }


def test_unique_values(store: Store) -> None:
    [a] = ins(store, "Account", ["Name", "External_Id__c"], ["A", "EXT-1"])
    res = ins(store, "Account", ["Name", "External_Id__c"], ["B", "ext-1"], ["C", "E2"], ["D", "E2"])
    assert res[0].error == (
        "DUPLICATE_VALUE:duplicate value found: External_Id__c duplicates value on record "
        f"with id: {a.sf_id}:--"
    )
    assert res[1].ok
    assert res[2].error == (
        "DUPLICATE_VALUE:duplicate value found: <unknown> duplicates value on record with id: <unknown>:--"
    )


def test_lock_failures(store: Store) -> None:
    rows = [["A"], ["B"], ["C"]]
    res = store.process_batch("Account", "insert", None, ["Name"], rows, lock_fail=lambda i: i == 1)
    assert [r.ok for r in res] == [True, False, True]
    assert res[1].error == "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--"
    assert store.count("Account") == 2


# ---------------------------------------------------------------- update


def test_update_empty_untouched_and_na_sets_null(store: Store) -> None:
    [c] = ins(store, "Contact", ["FirstName", "LastName", "Phone", "Title"], ["A", "B", "555", "CEO"])
    res = store.process_batch(
        "Contact", "update", None, ["Id", "Phone", "Title", "FirstName"], [[c.sf_id[:15], "", "#N/A", "Z"]]
    )
    assert res[0].ok and not res[0].created and res[0].sf_id == c.sf_id
    rec = one(store, "SELECT Phone, Title, Name FROM Contact")
    assert rec["Phone"] == "555" and rec["Title"] is None and rec["Name"] == "Z B"


def test_update_errors(store: Store) -> None:
    [c] = ins(store, "Contact", ["LastName"], ["B"])
    [a] = ins(store, "Account", ["Name"], ["Acme"])
    res = store.process_batch(
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
    nameless = store.process_batch("Contact", "update", None, ["LastName"], [["x"]])
    assert nameless[0].error == "MISSING_ARGUMENT:Id not specified in an update call:--"
    readonly = store.process_batch("Contact", "update", None, ["Id", "Name"], [[c.sf_id, "New"]])
    assert readonly[0].error == UNWRITABLE_NAME


# ---------------------------------------------------------------- upsert


def test_upsert_creates_and_matches(store: Store) -> None:
    header = ["External_Id__c", "LastName", "Email"]
    first = store.process_batch(
        "Contact", "upsert", "External_Id__c", header, [["K1", "One", ""], ["K2", "Two", ""]]
    )
    assert [(r.ok, r.created) for r in first] == [(True, True), (True, True)]
    second = store.process_batch(
        "Contact", "upsert", "external_id__c", header, [["k1", "Uno", "u@x.com"], ["K3", "Three", ""]]
    )
    assert [(r.ok, r.created) for r in second] == [(True, False), (True, True)]
    assert second[0].sf_id == first[0].sf_id  # matched case-insensitively
    assert store.count("Contact") == 3
    rec = one(store, "SELECT LastName, Email FROM Contact WHERE External_Id__c = 'K1'")
    assert rec["LastName"] == "Uno" and rec["Email"] == "u@x.com"


def test_upsert_errors(store: Store) -> None:
    header = ["External_Id__c", "LastName"]
    res = store.process_batch(
        "Contact", "upsert", "External_Id__c", header, [["D", "a"], ["d", "b"], ["", "c"]]
    )
    assert res[0].error == "DUPLICATE_VALUE:Duplicate external id specified: D:External_Id__c --"
    assert res[1].error == "DUPLICATE_VALUE:Duplicate external id specified: d:External_Id__c --"
    assert res[2].error == "MISSING_ARGUMENT:External_Id__c not specified:--"
    # several records with the key: only possible through a non-unique idLookup field (Email)
    ins(store, "Contact", ["LastName", "Email"], ["a", "dup@x.com"], ["b", "dup@x.com"])
    [r] = store.process_batch("Contact", "upsert", "Email", ["Email", "LastName"], [["DUP@x.com", "c"]])
    assert r.error.startswith(
        "DUPLICATE_EXTERNAL_ID:Email: more than one record found for external id field: [003"
    )
    assert r.error.endswith("]:Email --")


def test_upsert_on_id(store: Store) -> None:
    [a] = ins(store, "Account", ["Name"], ["Old"])
    res = store.process_batch("Account", "upsert", "Id", ["Id", "Name"], [[a.sf_id, "New"], ["", "Fresh"]])
    assert [(r.ok, r.created) for r in res] == [(True, False), (True, True)]
    # jsforce's live test: upsert on Id with no Id column creates everything
    res = store.process_batch("Account", "upsert", "Id", ["Name"], [["X"]])
    assert res[0].ok and res[0].created
    assert store.count("Account") == 3


# ---------------------------------------------------------------- relationships and references


def test_relationship_columns(store: Store) -> None:
    [acc] = ins(store, "Account", ["Name", "External_Id__c"], ["Acme", "ACME-1"])
    [boss] = ins(store, "Contact", ["LastName", "Email"], ["Boss", "boss@x.com"])
    header = ["LastName", "Account.External_Id__c", "ReportsTo.Email", "Owner.Username"]
    res = ins(
        store,
        "Contact",
        header,
        ["Emp", "acme-1", "BOSS@x.com", "jane.doe@emulator.example"],
        ["Lost", "NOPE", "", ""],
    )
    assert res[0].ok, res[0].error
    rec = one(store, "SELECT AccountId, ReportsToId, OwnerId FROM Contact WHERE LastName = 'Emp'")
    jane = one(store, "SELECT Id FROM User WHERE Username = 'jane.doe@emulator.example'")
    assert rec["AccountId"] == acc.sf_id and rec["ReportsToId"] == boss.sf_id and rec["OwnerId"] == jane["Id"]
    assert res[1].error == (
        "INVALID_FIELD:Foreign key external ID: NOPE not found for field External_Id__c in entity Account:--"
    )


def test_reference_ids(store: Store) -> None:
    [acc] = ins(store, "Account", ["Name"], ["Acme"])
    [con] = ins(store, "Contact", ["LastName"], ["C"])
    res = ins(
        store,
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


def test_delete_and_hard_delete(store: Store) -> None:
    ids = [r.sf_id for r in ins(store, "Account", ["Name"], ["A"], ["B"], ["C"])]
    res = store.process_batch("Account", "delete", None, ["Id"], [[ids[0]], [ids[1]], ["bad"]])
    assert [r.ok for r in res] == [True, True, False]
    assert not res[0].created and res[0].values == [ids[0]]
    assert res[2].error == "MALFORMED_ID:malformed id bad:--"
    assert store.count("Account") == 1 and store.count("Account", include_deleted=True) == 3
    again = store.process_batch("Account", "delete", None, ["Id"], [[ids[0]]])
    assert again[0].error == "ENTITY_IS_DELETED:entity is deleted:--"
    upd = store.process_batch("Account", "update", None, ["Id", "Name"], [[ids[0], "Z"]])
    assert upd[0].error == "ENTITY_IS_DELETED:entity is deleted:--"
    hard = store.process_batch("Account", "hardDelete", None, ["Id"], [[ids[0]], [ids[2]]])
    assert all(r.ok for r in hard)
    assert store.count("Account", include_deleted=True) == 1
    assert store.query("SELECT COUNT() FROM Account")["totalSize"] == 0


# ---------------------------------------------------------------- header checks


def test_check_header(store: Store) -> None:
    assert store.check_header("Contact", "insert", None, ["FirstName", "LastName"]) is None
    assert store.check_header("Contact", "insert", None, ["LastName", "ContactId__c", "Foo"]) == (
        "InvalidBatch : Field name not found : ContactId__c"
    )
    assert store.check_header("Contact", "insert", None, ["Bogus.Email"]) == (
        "InvalidBatch : Field name not found : Bogus.Email"
    )
    assert store.check_header("Contact", "insert", None, ["Account.Name"]) == (
        "InvalidBatch : Field name provided, Name is not an External ID or indexed field for Account"
    )
    assert store.check_header("Contact", "upsert", "LastName", ["LastName"]) == (
        "InvalidJob : Field name provided, LastName is not an External ID or indexed field for Contact"
    )
    assert store.check_header("Contact", "upsert", "External_Id__c", ["LastName"]) is None
    assert store.check_header("Foo", "insert", None, ["Name"]) == "InvalidJob : Unable to find object: Foo"
    assert store.check_header("User", "insert", None, ["Username"]) is not None
    with pytest.raises(ValueError, match="Field name not found : Nope"):
        store.process_batch("Contact", "insert", None, ["Nope"], [["x"]])


# ---------------------------------------------------------------- describe, schema file, persistence


def test_describe(store: Store) -> None:
    d = store.describe("contact")
    assert d is not None and d["name"] == "Contact" and d["keyPrefix"] == "003"
    fields = {f["name"]: f for f in d["fields"]}
    assert fields["LastName"]["nillable"] is False and fields["LastName"]["length"] == 80
    assert fields["Name"]["createable"] is False and fields["Name"]["updateable"] is False
    assert fields["Email"]["idLookup"] is True and fields["Email"]["type"] == "email"
    assert fields["External_Id__c"]["externalId"] is True and fields["External_Id__c"]["unique"] is True
    assert (
        fields["AccountId"]["referenceTo"] == ["Account"]
        and fields["AccountId"]["relationshipName"] == "Account"
    )
    assert store.describe("Nope") is None


def test_custom_schema_file(tmp_path: Path) -> None:
    path = tmp_path / "schema.json"
    path.write_text(
        json.dumps(
            {
                "objects": [
                    {
                        "name": "Invoice__c",
                        "fields": [
                            {
                                "name": "Number__c",
                                "type": "string",
                                "length": 10,
                                "externalId": True,
                                "unique": True,
                            },
                            {"name": "Amount__c", "type": "currency"},
                            {
                                "name": "Account__c",
                                "type": "reference",
                                "referenceTo": "Account",
                                "relationshipName": "Account__r",
                            },
                        ],
                    },
                    {"name": "Contact", "fields": [{"name": "Shoe_Size__c", "type": "double", "scale": 1}]},
                ]
            }
        )
    )
    schema = Schema.load(path)
    store = Store(schema)
    inv = schema.get("invoice__c")
    assert inv is not None and inv.key_prefix.startswith("a")
    ins(store, "Account", ["Name", "External_Id__c"], ["Acme", "A1"])
    res = store.process_batch(
        "Invoice__c",
        "upsert",
        "Number__c",
        ["Name", "Number__c", "Amount__c", "Account__r.External_Id__c"],
        [["Inv 1", "N-1", "1234.567", "A1"]],
    )
    assert res[0].ok, res[0].error
    assert res[0].values == ["Inv 1", "N-1", "1234.57", "A1"]
    assert ins(store, "Contact", ["LastName", "Shoe_Size__c"], ["Big", "47.25"])[0].values == ["Big", "47.3"]
    # Number(18,0): rounded half up, rendered as a Java double
    assert ins(store, "Account", ["Name", "AnnualRevenue"], ["R", "2.5"])[0].values == ["R", "3.0"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"objects": [{"name": "X__c", "fields": [{"name": "F__c", "type": "blob"}]}]}')
    with pytest.raises(SchemaError, match="unknown type"):
        Schema.load(bad)


def test_persistence_across_reopen(tmp_path: Path) -> None:
    db = str(tmp_path / "emu.db")
    store = Store(Schema(), db)
    admin = store.admin_user_id
    [first] = ins(store, "Account", ["Name"], ["Persisted"])
    store.save_job("750x", {"id": "750x", "state": "JobComplete"})
    store.save_job_data("750x", b"Name\nPersisted\n")
    store.append_results("750x", "success", b'"a","true",x\n')
    store.append_results("750x", "success", b'"b","true",y\n')
    store.close()

    reopened = Store(Schema(), db)
    assert reopened.admin_user_id == admin
    assert one(reopened, "SELECT Name FROM Account")["Name"] == "Persisted"
    [second] = ins(reopened, "Account", ["Name"], ["After"])
    assert second.sf_id != first.sf_id and second.sf_id > first.sf_id  # counter seeded from the DB
    assert reopened.load_jobs() == [{"id": "750x", "state": "JobComplete"}]
    assert reopened.load_job_data("750x") == b"Name\nPersisted\n"
    assert b"".join(reopened.read_results("750x", "success")) == b'"a","true",x\n"b","true",y\n'
    assert list(reopened.read_results("750x", "failed")) == []
    reopened.delete_job("750x")
    assert reopened.load_jobs() == [] and reopened.load_job_data("750x") is None
    reopened.close()


def test_seeded_users(store: Store) -> None:
    rec = one(store, f"SELECT Id, Username FROM User WHERE Username = '{ADMIN_USERNAME}'")
    assert rec["Id"] == store.admin_user_id and str(rec["Id"]).startswith("005")
    assert store.query("SELECT COUNT() FROM User")["totalSize"] == 3


def test_throughput_smoke(store: Store) -> None:
    """10,000 simple Contact inserts in one batch (timing is reported, not asserted)."""
    header = ["FirstName", "LastName", "Email", "Phone", "MailingCity", "Title", "Birthdate"]
    rows = [[f"F{i}", f"L{i}", f"u{i}@x.com", "555", "Paris", "Eng", "1980-01-02"] for i in range(10_000)]
    start = time.perf_counter()
    res = store.process_batch("Contact", "insert", None, header, rows)
    elapsed = time.perf_counter() - start
    print(f"store insert rate: {10_000 / elapsed:,.0f} records/s")
    assert all(r.ok for r in res) and len({r.sf_id for r in res}) == 10_000
    assert store.count("Contact") == 10_000
