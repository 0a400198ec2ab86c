"""The org as a whole: describe, schema files, persistence across a reopen, seeded users, counts."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from org_helpers import batch, insert

from asyncbulk.emulator import Org, Schema
from asyncbulk.emulator._data import SchemaError
from asyncbulk.emulator._data._builtin import ADMIN_USERNAME


@pytest.fixture
def org() -> Org:
    return Org()


def one(org: Org, soql: str) -> dict[str, object]:
    records = org.query(soql)["records"]
    assert len(records) == 1, records
    rec: dict[str, object] = records[0]
    return rec


def test_describe(org: Org) -> None:
    d = org.describe("contact")
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
    assert org.describe("Nope") is None


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
    org = Org(schema)
    inv = schema.get("invoice__c")
    assert inv is not None and inv.key_prefix.startswith("a")
    insert(org, "Account", ["Name", "External_Id__c"], ["Acme", "A1"])
    res = batch(
        org,
        "Invoice__c",
        "upsert",
        "Number__c",
        ["Name", "Number__c", "Amount__c", "Account__r.External_Id__c"],
        [["Inv 1", "N-1", "1234.567", "A1"]],
    )
    assert res[0].ok, res[0].error
    assert res[0].values == ["Inv 1", "N-1", "1234.57", "A1"]
    assert insert(org, "Contact", ["LastName", "Shoe_Size__c"], ["Big", "47.25"])[0].values == ["Big", "47.3"]
    # Number(18,0): rounded half up, rendered as a Java double
    assert insert(org, "Account", ["Name", "AnnualRevenue"], ["R", "2.5"])[0].values == ["R", "3.0"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"objects": [{"name": "X__c", "fields": [{"name": "F__c", "type": "blob"}]}]}')
    with pytest.raises(SchemaError, match="unknown type"):
        Schema.load(bad)


def test_persistence_across_reopen(tmp_path: Path) -> None:
    db = str(tmp_path / "emu.db")
    org = Org(Schema(), db)
    admin = org.admin_user_id
    [first] = insert(org, "Account", ["Name"], ["Persisted"])
    job_id = org.ids.next_id("750")
    org.jobs.save(job_id, {"id": job_id, "state": "JobComplete"})
    org.jobs.save_data(job_id, b"Name\nPersisted\n")
    org.jobs.append_results(job_id, "success", b'"a","true",x\n')
    org.jobs.append_results(job_id, "success", b'"b","true",y\n')
    with pytest.raises(ValueError):
        org.jobs.append_results(job_id, "bogus", b"")  # type: ignore[arg-type]
    org.close()

    reopened = Org(Schema(), db)
    assert reopened.admin_user_id == admin
    assert one(reopened, "SELECT Name FROM Account")["Name"] == "Persisted"
    [second] = insert(reopened, "Account", ["Name"], ["After"])
    # the id counter is seeded from the records and the jobs: never an id twice
    assert second.sf_id[6:15] > job_id[6:15] > first.sf_id[6:15]
    assert reopened.jobs.load_all() == [{"id": job_id, "state": "JobComplete"}]
    assert reopened.jobs.load_data(job_id) == b"Name\nPersisted\n"
    assert b"".join(reopened.jobs.read_results(job_id, "success")) == b'"a","true",x\n"b","true",y\n'  # type: ignore[arg-type]
    assert list(reopened.jobs.read_results(job_id, "failed")) == []  # type: ignore[arg-type]
    reopened.jobs.delete(job_id)
    assert reopened.jobs.load_all() == [] and reopened.jobs.load_data(job_id) is None
    reopened.close()


def test_seeded_users(org: Org) -> None:
    rec = one(org, f"SELECT Id, Username FROM User WHERE Username = '{ADMIN_USERNAME}'")
    assert rec["Id"] == org.admin_user_id and str(rec["Id"]).startswith("005")
    assert org.query("SELECT COUNT() FROM User")["totalSize"] == 3


def test_running_user_is_the_named_user_record(tmp_path: Path) -> None:
    db = str(tmp_path / "emu.db")
    org = Org(Schema(), db, admin_username="ops@corp.example")
    ops = org.admin_user_id
    rec = one(org, "SELECT Id, Username, Email FROM User WHERE Username = 'ops@corp.example'")
    assert {k: rec[k] for k in ("Id", "Username", "Email")} == {
        "Id": ops,
        "Username": "ops@corp.example",
        "Email": "ops@corp.example",
    }
    assert org.query("SELECT COUNT() FROM User")["totalSize"] == 3
    [owned] = insert(org, "Account", ["Name"], ["Mine"])
    _, record = org.record("Account", owned.sf_id, ["OwnerId", "CreatedById"])
    assert record == {"OwnerId": ops, "CreatedById": ops, "Id": owned.sf_id}
    org.close()
    # Reopened for another user: that user is added, nobody else is seeded twice.
    other = Org(Schema(), db)
    assert other.admin_user_id != ops
    admin = one(other, f"SELECT Id FROM User WHERE Username = '{ADMIN_USERNAME}'")
    assert admin["Id"] == other.admin_user_id
    assert other.query("SELECT COUNT() FROM User")["totalSize"] == 4
    other.close()
    again = Org(Schema(), db, admin_username="ops@corp.example")
    assert again.admin_user_id == ops
    again.close()


def test_throughput_smoke(org: Org) -> None:
    """10,000 simple Contact inserts in one batch (timing is reported, not asserted)."""
    header = ["FirstName", "LastName", "Email", "Phone", "MailingCity", "Title", "Birthdate"]
    rows = [[f"F{i}", f"L{i}", f"u{i}@x.com", "555", "Paris", "Eng", "1980-01-02"] for i in range(10_000)]
    start = time.perf_counter()
    res = batch(org, "Contact", "insert", None, header, rows)
    elapsed = time.perf_counter() - start
    print(f"org insert rate: {10_000 / elapsed:,.0f} records/s")
    assert all(r.ok for r in res) and len({r.sf_id for r in res}) == 10_000
    assert org.count("Contact") == 10_000


def test_a_batch_and_its_job_commit_together(tmp_path: Path) -> None:
    """Records, result rows and the job's record are one transaction: all of them or none."""
    from asyncbulk.emulator import JobSpec
    from asyncbulk.emulator._data import BatchResults, JobWrite
    from asyncbulk.emulator._vocab import ResultKind

    org = Org(Schema(), str(tmp_path / "emu.db"))
    job_id = org.ids.next_id("750")
    columns = (("Ada", "Grace"),)

    def broken(results: BatchResults) -> JobWrite:
        raise RuntimeError("the job's record could not be made")

    with pytest.raises(RuntimeError):
        org.apply(JobSpec("Contact", "insert"), ["LastName"], columns, commit=broken)
    assert org.count("Contact") == 0 and org.jobs.load_all() == []

    counted: list[int] = []

    def commit(results: BatchResults) -> JobWrite:
        return JobWrite(
            job_id,
            [(ResultKind.SUCCESS, 3, b'"x","true","Ada"\n')],
            update=lambda: counted.append(len(results)),
            record=lambda: {"id": job_id, "processed": sum(counted)},
        )

    preset = {1: "INVALID_FIELD:Failed to parse CSV. Row has 3 columns but the header has 1:--"}
    res = org.apply(JobSpec("Contact", "insert"), ["LastName"], columns, row_errors=preset, commit=commit)
    assert [r.ok for r in res] == [True, False] and res[1].error == preset[1]
    assert org.count("Contact") == 1  # the unreadable row wrote nothing
    assert org.jobs.load_all() == [{"id": job_id, "processed": 2}]
    assert org.jobs.result_index(job_id, ResultKind.SUCCESS) and counted == [2]
    org.close()
