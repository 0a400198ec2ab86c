"""simple-salesforce's Bulk API 2.0 client, unchanged, against the TLS emulator."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from simple_salesforce import Salesforce

from asyncbulk.emulator import EmulatorConfig, EmulatorThread


@pytest.fixture(scope="module")
def sf() -> Iterator[Salesforce]:
    with EmulatorThread(EmulatorConfig(tls=True, workers=2)) as emu, pytest.MonkeyPatch.context() as mp:
        assert emu.ca_file is not None
        # Trust the emulator's self-signed certificate. requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE
        # override session.verify, so point those at it as well.
        mp.setenv("REQUESTS_CA_BUNDLE", emu.ca_file)
        mp.setenv("CURL_CA_BUNDLE", emu.ca_file)
        session = requests.Session()
        session.verify = emu.ca_file
        yield Salesforce(
            instance_url=emu.instance_url, session_id=emu.access_token, session=session, version="66.0"
        )
        session.close()


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_insert_upsert_update_delete(sf: Salesforce, tmp_path: Path) -> None:
    bulk = sf.bulk2.Contact
    path = tmp_path / "contacts.csv"
    path.write_text("FirstName,LastName,Email\nAda,Lovelace,ada@example.com\nAlan,Turing,alan@example.com\n")
    [inserted] = bulk.insert(csv_file=str(path), wait=0.05)
    assert inserted["numberRecordsProcessed"] == 2 and inserted["numberRecordsFailed"] == 0
    ok = parse(bulk.get_successful_records(inserted["job_id"]))
    assert [r["sf__Created"] for r in ok] == ["true", "true"]
    assert parse(bulk.get_failed_records(inserted["job_id"])) == []
    assert parse(bulk.get_unprocessed_records(inserted["job_id"])) == []  # simple-salesforce's spelling
    ids = {r["LastName"]: r["sf__Id"] for r in ok}

    path.write_text(f"Id,Title\n{ids['Lovelace']},Countess\n{ids['Turing']},Dr\n")
    [updated] = bulk.update(csv_file=str(path), wait=0.05)
    assert (updated["numberRecordsProcessed"], updated["numberRecordsFailed"]) == (2, 0)

    path.write_text(f"Id,LastName\n{ids['Lovelace']},Byron\n,Hopper\n")
    [upserted] = bulk.upsert(csv_file=str(path), external_id_field="Id", wait=0.05)
    assert (upserted["numberRecordsProcessed"], upserted["numberRecordsFailed"]) == (2, 0)
    created = sorted(r["sf__Created"] for r in parse(bulk.get_successful_records(upserted["job_id"])))
    assert created == ["false", "true"]

    path.write_text(f"Id\n{ids['Lovelace']}\n{ids['Turing']}\n")
    [deleted] = bulk.delete(csv_file=str(path), wait=0.05)
    assert (deleted["numberRecordsProcessed"], deleted["numberRecordsFailed"]) == (2, 0)
    assert sf.query("SELECT Id FROM Contact")["totalSize"] == 1
