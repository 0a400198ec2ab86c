"""jsforce's Bulk API 2.0 client (npm ``jsforce``), unchanged, against the emulator.

Each test runs the small node scripts in ``jsforce/`` here (through ``jsforce/driver.js``, one node
process for the module); a script drives jsforce exactly as an application would and answers one
JSON document. The assertions check what jsforce reported and what the emulator really stored
(through its REST query endpoint, not through jsforce).

jsforce is installed from this folder's package.json and package-lock.json::

    npm ci --prefix tests/emulator/clients

The tests are skipped when ``node`` or that install is missing.
"""

from __future__ import annotations

import csv
import io
import json
import os
import selectors
import shutil
import subprocess
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from asyncbulk.emulator import EmulatorConfig, EmulatorThread, FaultConfig, OAuthConfig

HERE = Path(__file__).parent
SCRIPTS = HERE / "jsforce"
NODE = shutil.which("node")
JSFORCE = HERE / "node_modules" / "jsforce" / "package.json"

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed"),
    pytest.mark.skipif(
        not JSFORCE.exists(), reason="jsforce is not installed (npm ci --prefix tests/emulator/clients)"
    ),
]

# jsforce's own default; the scripts use it unless a test asks for another.
API_VERSION = "62.0"
# A node process that outlives this is stuck: e.g. jsforce pages query results until the
# Sforce-Locator header says "null", so a missing header loops forever.
SCRIPT_TIMEOUT = 30.0


class Driver:
    """One ``node jsforce/driver.js`` for the module: each call is a line in, a line out.

    Starting node and loading jsforce takes about 0.2 s; paying it once per module instead of once
    per call keeps these tests within a couple of seconds.
    """

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        # A file, not a pipe: node's warnings can never fill it and block the driver.
        self.stderr = tempfile.TemporaryFile(mode="w+")

    def _start(self) -> subprocess.Popen[str]:
        assert NODE is not None
        return subprocess.Popen(
            [NODE, str(SCRIPTS / "driver.js")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )

    def _stderr_tail(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read()[-2000:]

    def call(self, script: str, spec: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
        """Run the handler of ``jsforce/<script>.js`` on ``spec``; return its JSON answer."""
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self._start()
        proc = self.proc
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps({"script": script, "env": env, "spec": spec}) + "\n")
        proc.stdin.flush()
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            ready = selector.select(SCRIPT_TIMEOUT)
        if not ready:
            self.close()
            pytest.fail(
                f"jsforce ({script}) did not answer within {SCRIPT_TIMEOUT:g} s: {self._stderr_tail()}"
            )
        line = proc.stdout.readline()
        if not line:
            self.close()
            pytest.fail(f"the jsforce driver exited: {self._stderr_tail()}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        """Stop the node process (the next call starts another)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.communicate()
            self.proc = None


@pytest.fixture(scope="module")
def driver() -> Iterator[Driver]:
    d = Driver()
    yield d
    d.close()
    d.stderr.close()


@pytest.fixture
def emu() -> Iterator[EmulatorThread]:
    """A fresh emulator in its own thread (node talks to it from another process)."""
    with EmulatorThread(EmulatorConfig(workers=2, batch_size=500)) as emulator:
        yield emulator


def connection(emu: EmulatorThread, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The SF_* variables the scripts connect with."""
    return {
        "SF_INSTANCE_URL": emu.instance_url,
        "SF_ACCESS_TOKEN": emu.access_token,
        "SF_API_VERSION": API_VERSION,
        **(extra or {}),
    }


@dataclass
class JsForce:
    """The driver, pointed at one emulator."""

    driver: Driver
    emu: EmulatorThread

    def run(self, script: str, spec: dict[str, Any], *, env: dict[str, str] | None = None) -> dict[str, Any]:
        """The answer of ``jsforce/<script>`` for ``spec``."""
        return self.driver.call(script.removesuffix(".js"), spec, connection(self.emu, env))

    def load(self, **spec: Any) -> dict[str, Any]:
        """``bulk2.loadAndWaitForResults``; its results, which must be a success."""
        out = self.run("load.js", spec)
        assert out["ok"], out["error"]
        results: dict[str, Any] = out["results"]
        return results


@pytest.fixture
def js(driver: Driver, emu: EmulatorThread) -> JsForce:
    return JsForce(driver, emu)


def run_script(script: str, spec: dict[str, Any], emu: EmulatorThread) -> dict[str, Any]:
    """Run ``node jsforce/<script>`` on its own, as a person would from a shell."""
    assert NODE is not None
    try:
        proc = subprocess.run(
            [NODE, str(SCRIPTS / script)],
            input=json.dumps(spec),
            capture_output=True,
            text=True,
            env={**os.environ, **connection(emu)},
            timeout=SCRIPT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{script} did not finish within {SCRIPT_TIMEOUT:g} s")
    assert proc.returncode == 0, f"{script} exited {proc.returncode}: {proc.stderr[-2000:]}"
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def soql(emu: EmulatorThread, query: str) -> list[dict[str, Any]]:
    """Records the emulator holds, through its REST query endpoint (not through jsforce)."""
    url = f"{emu.base_url}/query?" + urllib.parse.urlencode({"q": query})
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {emu.access_token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        records: list[dict[str, Any]] = json.load(response)["records"]
    for record in records:
        record.pop("attributes", None)
    return records


def steps(out: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A job_steps.js / query.js trace by step name."""
    assert out["ok"], out
    return {entry["step"]: entry for entry in out["trace"]}


def test_insert_update_upsert_delete_contacts(emu: EmulatorThread, js: JsForce) -> None:
    inserted = js.load(
        object="Contact",
        operation="insert",
        records=[
            {"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com"},
            {"FirstName": "Alan", "LastName": "Turing", "Email": "alan@example.com"},
            {"FirstName": "Nobody", "Email": "nobody@example.com"},
        ],
    )
    ok = inserted["successfulResults"]
    assert sorted(r["LastName"] for r in ok) == ["Lovelace", "Turing"]
    assert {r["sf__Created"] for r in ok} == {"true"}
    [failed] = inserted["failedResults"]
    assert failed["sf__Id"] == "" and failed["Email"] == "nobody@example.com"
    assert failed["sf__Error"].startswith("REQUIRED_FIELD_MISSING:")
    assert inserted["unprocessedRecords"] == []
    ids = {r["LastName"]: r["sf__Id"] for r in ok}
    stored = soql(emu, "SELECT Id, LastName, Email FROM Contact ORDER BY LastName")
    assert stored == [
        {"Id": ids["Lovelace"], "LastName": "Lovelace", "Email": "ada@example.com"},
        {"Id": ids["Turing"], "LastName": "Turing", "Email": "alan@example.com"},
    ]

    unknown = "003000000000000AAA"
    updated = js.load(
        object="Contact",
        operation="update",
        records=[{"Id": ids["Lovelace"], "Title": "Countess"}, {"Id": unknown, "Title": "Nobody"}],
    )
    [ok_update] = updated["successfulResults"]
    assert (ok_update["sf__Id"], ok_update["sf__Created"]) == (ids["Lovelace"], "false")
    [bad_update] = updated["failedResults"]
    assert bad_update["sf__Id"] == unknown
    assert bad_update["sf__Error"].startswith("INVALID_CROSS_REFERENCE_KEY:")
    assert soql(emu, f"SELECT Title FROM Contact WHERE Id = '{ids['Lovelace']}'") == [{"Title": "Countess"}]

    # jsforce writes a null as #N/A, which Bulk API 2.0 takes as "clear the field".
    js.load(object="Contact", operation="update", records=[{"Id": ids["Lovelace"], "Title": None}])
    assert soql(emu, f"SELECT Title FROM Contact WHERE Id = '{ids['Lovelace']}'") == [{"Title": None}]

    upserted = js.load(
        object="Contact",
        operation="upsert",
        externalIdFieldName="Id",
        csv=f"Id,LastName\n{ids['Turing']},Turing-Hodges\n,Hopper\n",
    )
    created = {r["LastName"]: r["sf__Created"] for r in upserted["successfulResults"]}
    assert created == {"Turing-Hodges": "false", "Hopper": "true"}
    names = sorted(r["LastName"] for r in soql(emu, "SELECT LastName FROM Contact"))
    assert names == ["Hopper", "Lovelace", "Turing-Hodges"]

    every = [r["Id"] for r in soql(emu, "SELECT Id FROM Contact")]
    deleted = js.load(object="Contact", operation="delete", records=[{"Id": i} for i in every])
    assert sorted(r["sf__Id"] for r in deleted["successfulResults"]) == sorted(every)
    assert deleted["failedResults"] == []
    assert soql(emu, "SELECT Id FROM Contact") == []


def test_upsert_accounts_on_an_external_id(emu: EmulatorThread, js: JsForce) -> None:
    first = js.load(
        object="Account",
        operation="upsert",
        externalIdFieldName="External_Id__c",
        csv="External_Id__c,Name\nA1,Acme\nA2,Globex\n",
    )
    assert sorted((r["External_Id__c"], r["sf__Created"]) for r in first["successfulResults"]) == [
        ("A1", "true"),
        ("A2", "true"),
    ]
    second = js.load(
        object="Account",
        operation="upsert",
        externalIdFieldName="External_Id__c",
        records=[{"External_Id__c": "A1", "Name": "Acme Corp"}, {"External_Id__c": "A3", "Name": "Initech"}],
    )
    assert sorted((r["External_Id__c"], r["sf__Created"]) for r in second["successfulResults"]) == [
        ("A1", "false"),
        ("A3", "true"),
    ]
    stored = soql(emu, "SELECT External_Id__c, Name FROM Account ORDER BY External_Id__c")
    assert stored == [
        {"External_Id__c": "A1", "Name": "Acme Corp"},
        {"External_Id__c": "A2", "Name": "Globex"},
        {"External_Id__c": "A3", "Name": "Initech"},
    ]


def test_streamed_file_with_pipe_delimiter_and_crlf(emu: EmulatorThread, js: JsForce, tmp_path: Path) -> None:
    rows = [
        ["LastName", "Description"],
        ["Pipe", "a | b"],
        ["Quote", 'say "hi"'],
        ["Lines", "one\r\ntwo"],
    ]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter="|", lineterminator="\r\n").writerows(rows)
    path = tmp_path / "contacts.csv"
    path.write_bytes(buffer.getvalue().encode())
    results = js.load(
        object="Contact",
        operation="insert",
        lineEnding="CRLF",
        columnDelimiter="PIPE",
        csvFile=str(path),
    )
    # jsforce parses result files with any of the six delimiters.
    ok = {r["LastName"]: r["Description"] for r in results["successfulResults"]}
    assert ok == {"Pipe": "a | b", "Quote": 'say "hi"', "Lines": "one\r\ntwo"}
    stored = {r["LastName"]: r["Description"] for r in soql(emu, "SELECT LastName, Description FROM Contact")}
    assert stored == ok


def test_thousands_of_records_over_several_batches(emu: EmulatorThread, js: JsForce) -> None:
    count = 2_500  # five of the emulator's 500-record batches
    records = [{"LastName": f"Bulk{i:05d}", "Email": f"bulk{i}@example.com"} for i in range(count)]
    results = js.load(object="Contact", operation="insert", records=records)
    ok = results["successfulResults"]
    assert len(ok) == count and len({r["sf__Id"] for r in ok}) == count
    assert results["failedResults"] == [] and results["unprocessedRecords"] == []
    stored = soql(emu, "SELECT Id, LastName FROM Contact")
    assert {r["Id"]: r["LastName"] for r in stored} == {r["sf__Id"]: r["LastName"] for r in ok}


def test_empty_input_completes_with_empty_results(emu: EmulatorThread, js: JsForce) -> None:
    # Run as a standalone script too: the scripts work from a shell, not only through the driver.
    out = run_script("load.js", {"object": "Contact", "operation": "insert", "records": []}, emu)
    assert out["ok"], out
    assert out["results"] == {"successfulResults": [], "failedResults": [], "unprocessedRecords": []}


def test_low_level_job_lifecycle(emu: EmulatorThread, js: JsForce) -> None:
    csv_text = "LastName,Email\nHopper,grace@example.com\n,nolastname@example.com\n"
    trace = steps(
        js.run(
            "job_steps.js",
            {"scenario": "lifecycle", "object": "Contact", "operation": "insert", "csv": csv_text},
        )
    )
    opened = trace["open"]["value"]
    assert opened["state"] == "Open" and opened["object"] == "Contact"
    assert opened["contentUrl"] == f"services/data/v{API_VERSION}/jobs/ingest/{opened['id']}/batches"
    assert trace["uploadData"]["ok"] and trace["close"]["value"]["state"] == "UploadComplete"
    assert trace["poll"]["ok"], trace["poll"]
    checked = trace["check"]["value"]
    assert (checked["state"], checked["numberRecordsProcessed"], checked["numberRecordsFailed"]) == (
        "JobComplete",
        2,
        1,
    )
    results = trace["getAllResults"]["value"]
    assert [r["LastName"] for r in results["successfulResults"]] == ["Hopper"]
    assert [r["Email"] for r in results["failedResults"]] == ["nolastname@example.com"]
    assert results["unprocessedRecords"] == []
    success_csv = trace["getSuccessfulResults(raw)"]["value"]
    assert success_csv.splitlines()[0] == '"sf__Id","sf__Created",LastName,Email'
    assert trace["getFailedResults(raw)"]["value"].splitlines()[0] == '"sf__Id","sf__Error",LastName,Email'
    assert trace["getUnprocessedRecords(raw)"]["value"].splitlines() == ["LastName,Email"]
    assert trace["job(id).check"]["value"]["state"] == "JobComplete"
    assert trace["delete"]["ok"], trace["delete"]
    assert trace["check after delete"]["error"]["errorCode"] == "NOT_FOUND"
    assert [r["LastName"] for r in soql(emu, "SELECT LastName FROM Contact")] == ["Hopper"]


def test_abort_and_delete_an_open_job(emu: EmulatorThread, js: JsForce) -> None:
    trace = steps(
        js.run("job_steps.js", {"scenario": "abort-open", "object": "Account", "operation": "insert"})
    )
    assert trace["open"]["ok"]
    refused = trace["delete while Open"]["error"]
    assert refused["errorCode"] == "API_ERROR"
    assert refused["message"] == "Error encountered when deleting the job because the job is not terminated"
    assert trace["abort"]["value"]["state"] == "Aborted"
    assert trace["poll"]["error"]["message"] == "Job has been aborted"
    assert trace["getAllResults"]["value"] == {
        "successfulResults": [],
        "failedResults": [],
        "unprocessedRecords": [],
    }
    assert trace["delete"]["ok"], trace["delete"]


def test_abort_in_progress_keeps_processed_rows_and_returns_the_rest(driver: Driver) -> None:
    count = 600
    config = EmulatorConfig(workers=1, batch_size=100, records_per_second=600)
    with EmulatorThread(config) as emu:
        js = JsForce(driver, emu)
        csv_text = "LastName\n" + "".join(f"Row{i:04d}\n" for i in range(count))
        spec = {"scenario": "abort-in-progress", "object": "Contact", "operation": "insert", "csv": csv_text}
        trace = steps(js.run("job_steps.js", spec))
        assert trace["wait for InProgress"]["value"]["state"] == "InProgress"
        assert trace["abort"]["value"]["state"] == "Aborted"
        assert trace["poll"]["error"]["message"] == "Job has been aborted"
        results = trace["getAllResults"]["value"]
        done = len(results["successfulResults"]) + len(results["failedResults"])
        unprocessed = [r["LastName"] for r in results["unprocessedRecords"]]
        assert 0 < len(unprocessed) < count
        assert done + len(unprocessed) == count
        assert trace["wait for counters"]["value"]["numberRecordsProcessed"] == done
        stored = {r["LastName"] for r in soql(emu, "SELECT LastName FROM Contact")}
        assert stored == {r["LastName"] for r in results["successfulResults"]}
        assert stored.isdisjoint(unprocessed)


def test_misuse_gets_salesforce_errors(emu: EmulatorThread, js: JsForce) -> None:
    spec = {"scenario": "misuse", "object": "Contact", "operation": "insert", "csv": "LastName\nOnce\n"}
    trace = steps(js.run("job_steps.js", spec))
    assert trace["poll while Open"]["error"]["message"].startswith("Job is still open.")
    assert trace["uploadData"]["ok"]
    again = trace["uploadData again"]["error"]
    assert again["errorCode"] == "BULK_API_ERROR" and "contents for job" in again["message"]
    assert trace["close"]["ok"] and trace["poll"]["ok"]
    assert trace["close again"]["error"]["errorCode"] == "INVALIDJOBSTATE"
    assert trace["abort completed"]["error"] == {
        "name": "INVALIDJOBSTATE",
        "errorCode": "INVALIDJOBSTATE",
        "message": "Aborting already Completed Job not allowed",
    }
    assert trace["poll with timeout 0"]["error"]["name"] == "JobPollingTimeout"
    assert trace["delete"]["ok"]
    assert [r["LastName"] for r in soql(emu, "SELECT LastName FROM Contact")] == ["Once"]


def test_create_errors_reach_the_caller(emu: EmulatorThread, js: JsForce) -> None:
    out = js.run("load.js", {"object": "Nope__c", "operation": "insert", "csv": "Name\nx\n"})
    assert not out["ok"]
    assert out["error"]["errorCode"] == "INVALIDJOB"
    assert out["error"]["message"] == "InvalidJob : Unable to find object: Nope__c"
    spec = {"object": "Account", "operation": "upsert", "externalIdFieldName": "Nope__c", "csv": "Name\nx\n"}
    out = js.run("load.js", spec)
    assert not out["ok"] and out["error"]["errorCode"] == "INVALIDJOB"
    assert out["error"]["message"].startswith(
        "InvalidJob : Field name provided, Nope__c does not match an External ID"
    )
    assert soql(emu, "SELECT Id FROM Account") == []


def test_failed_job_reports_its_error_message(emu: EmulatorThread, js: JsForce) -> None:
    emu.set_faults(FaultConfig(job_failed=1.0))
    out = js.run("load.js", {"object": "Contact", "operation": "insert", "csv": "LastName\nDoomed\n"})
    assert not out["ok"]
    message = out["error"]["message"]
    # jsforce reads the job's errorMessage field; "undefined" here means the field was missing.
    assert message.startswith("Ingest job failed to complete due to: ") and "undefined" not in message


def test_expired_session_is_refreshed_with_the_refresh_token(driver: Driver) -> None:
    oauth = OAuthConfig(refresh_tokens=("jsforce-refresh-token",))
    with EmulatorThread(EmulatorConfig(workers=2, oauth=oauth)) as emu:
        js = JsForce(driver, emu)
        env = {
            "SF_ACCESS_TOKEN": "00DEM0000000001!stale",
            "SF_REFRESH_TOKEN": "jsforce-refresh-token",
            "SF_CLIENT_ID": oauth.client_id,
            "SF_CLIENT_SECRET": oauth.client_secret,
        }
        out = js.run(
            "load.js", {"object": "Contact", "operation": "insert", "csv": "LastName\nRefreshed\n"}, env=env
        )
        assert out["ok"], out
        assert out["refreshed"] is True
        assert soql(emu, "SELECT LastName FROM Contact") == [{"LastName": "Refreshed"}]


# Bulk API 2.0 query jobs (conn.bulk2.query, QueryJobV2).


def test_bulk2_query_returns_the_stored_records(emu: EmulatorThread, js: JsForce) -> None:
    js.load(
        object="Contact", operation="insert", csv="FirstName,LastName\nAda,Lovelace\nAlan,Turing\n,Hopper\n"
    )
    out = js.run("query.js", {"soql": "SELECT Id, FirstName, LastName FROM Contact"})
    assert out["ok"], out["error"]
    stored = soql(emu, "SELECT Id, FirstName, LastName FROM Contact")
    # CSV has no null: an empty FirstName comes back as "".
    expected = [{k: v if v is not None else "" for k, v in r.items()} for r in stored]
    assert sorted(out["records"], key=lambda r: r["Id"]) == sorted(expected, key=lambda r: r["Id"])


def test_bulk2_query_all_includes_deleted_records(emu: EmulatorThread, js: JsForce) -> None:
    results = js.load(object="Contact", operation="insert", csv="LastName\nKeep\nDrop\n")
    drop = next(r["sf__Id"] for r in results["successfulResults"] if r["LastName"] == "Drop")
    js.load(object="Contact", operation="delete", records=[{"Id": drop}])
    live = js.run("query.js", {"soql": "SELECT Id, LastName FROM Contact"})
    assert live["ok"], live["error"]
    assert [r["LastName"] for r in live["records"]] == ["Keep"]
    every = js.run("query.js", {"soql": "SELECT Id, LastName FROM Contact", "scanAll": True})
    assert every["ok"], every["error"]
    assert sorted(r["LastName"] for r in every["records"]) == ["Drop", "Keep"]


def test_query_job_low_level_steps(emu: EmulatorThread, js: JsForce) -> None:
    js.load(object="Account", operation="insert", csv="Name\nAcme\nGlobex\n")
    trace = steps(js.run("query.js", {"scenario": "steps", "soql": "SELECT Name FROM Account"}))
    assert trace["open"]["ok"], trace["open"]
    opened = trace["open"]["value"]
    assert (opened["operation"], opened["object"]) == ("query", "Account")
    assert opened["state"] in {"UploadComplete", "InProgress", "JobComplete"}
    assert trace["poll"]["ok"], trace["poll"]
    checked = trace["check"]["value"]
    assert (checked["state"], checked["jobType"], checked["numberRecordsProcessed"]) == (
        "JobComplete",
        "V2Query",
        2,
    )
    assert sorted(r["Name"] for r in trace["result"]["value"]) == ["Acme", "Globex"]
    assert trace["abort completed"]["error"]["errorCode"] == "INVALIDJOBSTATE"
    assert trace["delete"]["ok"], trace["delete"]
    assert trace["check after delete"]["error"]["errorCode"] == "NOT_FOUND"
