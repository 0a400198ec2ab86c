"""The ``asyncbulk`` command line against a real emulator on loopback (in its own thread).

``main(argv)`` runs its own event loop, so the emulator runs in a thread (:class:`EmulatorThread`)
and each test calls ``main`` as the console script would, capturing stdout and stderr.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from _cases.contacts import contact_rows, read_result, write_csv

from asyncbulk._cli import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, main
from asyncbulk.emulator import EmulatorConfig, EmulatorThread

FAST = ["--poll-interval", "0.05", "--no-progress"]


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorThread]:
    with EmulatorThread(EmulatorConfig(workers=2)) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _no_env_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's exported token must not leak into (or rescue) a test.
    monkeypatch.delenv("SF_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("SF_INSTANCE_URL", raising=False)


def auth(emu: EmulatorThread) -> list[str]:
    return ["--instance-url", emu.instance_url, "--access-token", emu.access_token]


def http_stats(emu: EmulatorThread) -> dict[str, Any]:
    """The emulator's test-only stats endpoint, read over HTTP as an outside observer would."""
    request = urllib.request.Request(
        f"{emu.instance_url}/__emulator/stats", headers={"Authorization": f"Bearer {emu.admin_token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def csv_rows(path: Path) -> list[dict[str, str]]:
    return read_result(path)


# -- load ----------------------------------------------------------------------------------------


def test_load_insert_all_ok_prints_summary_table(
    emu: EmulatorThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_csv(tmp_path / "contacts.csv", contact_rows(300))
    out = tmp_path / "out"
    code, stdout, stderr = run(
        capsys,
        "load",
        "insert",
        "Contact",
        str(src),
        "--out",
        str(out),
        "--chunk-records",
        "100",
        *FAST,
        *auth(emu),
    )
    assert code == EXIT_OK, stderr
    assert "Contact insert: all 300 records succeeded" in stdout
    for label in ("succeeded", "failed", "unprocessed", "API requests", "batches", "jobs"):
        assert label in stdout
    assert "3 (3 JobComplete)" in stdout
    # The table names the files, with absolute paths that exist.
    for name in ("success.csv", "failed.csv", "unprocessed.csv", "summary.json"):
        assert str(out.resolve() / name) in stdout
        assert (out / name).exists()
    assert len(csv_rows(out / "success.csv")) == 300
    assert emu.access_token not in stdout + stderr


def test_load_json_some_failed_exit_code(
    emu: EmulatorThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_csv(tmp_path / "contacts.csv", contact_rows(200, bad_every=20))
    out = tmp_path / "out"
    code, stdout, _ = run(
        capsys, "load", "insert", "Contact", str(src), "--out", str(out), "--json", *FAST, *auth(emu)
    )
    assert code == EXIT_SOME_FAILED
    summary = json.loads(stdout)  # stdout is nothing but the JSON document
    assert (summary["records"], summary["succeeded"], summary["failed"], summary["unprocessed"]) == (
        200,
        190,
        10,
        0,
    )
    assert summary["ok"] is False and summary["exit_code"] == EXIT_SOME_FAILED
    assert summary["files"]["failed"] == str(out.resolve() / "failed.csv")
    assert [job["state"] for job in summary["jobs"]] == ["JobComplete"]
    assert summary["api_requests"] > 0
    failed = csv_rows(out / "failed.csv")
    assert len(failed) == 10 and all(r["sf__Error"].startswith("REQUIRED_FIELD_MISSING") for r in failed)
    assert emu.access_token not in stdout


def test_load_every_operation(
    emu: EmulatorThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """insert, update, upsert (external id), delete and hardDelete, each through the CLI."""

    def load(*argv: str) -> dict[str, Any]:
        code, stdout, stderr = run(capsys, "load", *argv, "--json", *FAST, *auth(emu))
        assert code == EXIT_OK, stderr
        return json.loads(stdout)  # type: ignore[no-any-return]

    tag = tmp_path.name[-12:]
    header = ["External_Id__c", "FirstName", "LastName"]
    rows = [[f"CLI-{tag}-{i}", "Zoë", f"Name {i}"] for i in range(6)]
    src = write_csv(tmp_path / "insert.csv", rows, header=header)
    inserted = load("insert", "Contact", str(src), "--out", str(tmp_path / "o1"))
    assert inserted["succeeded"] == 6
    ids = [r["sf__Id"] for r in csv_rows(Path(inserted["files"]["success"]))]

    update = write_csv(tmp_path / "update.csv", [[i, "Updated"] for i in ids], header=["Id", "Title"])
    assert load("update", "Contact", str(update), "--out", str(tmp_path / "o2"))["succeeded"] == 6

    upsert_rows = [[f"CLI-{tag}-{i}", f"Upserted {i}"] for i in range(8)]  # 6 updates, 2 inserts
    upsert = write_csv(tmp_path / "upsert.csv", upsert_rows, header=["External_Id__c", "LastName"])
    upserted = load(
        "upsert", "Contact", str(upsert), "--external-id", "External_Id__c", "--out", str(tmp_path / "o3")
    )
    assert upserted["succeeded"] == 8
    created = [r["sf__Created"] for r in csv_rows(Path(upserted["files"]["success"]))]
    assert sorted(created) == ["false"] * 6 + ["true"] * 2

    delete = write_csv(tmp_path / "delete.csv", [[i] for i in ids[:3]], header=["Id"])
    assert load("delete", "Contact", str(delete), "--out", str(tmp_path / "o4"))["succeeded"] == 3
    hard = write_csv(tmp_path / "hard.csv", [[i] for i in ids[3:]], header=["Id"])
    assert (
        load("hard-delete", "Contact", str(hard), "--out", str(tmp_path / "o5"))["operation"] == "hardDelete"
    )


def test_load_with_env_credentials_and_options(
    emu: EmulatorThread, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SF_INSTANCE_URL", emu.instance_url)
    monkeypatch.setenv("SF_ACCESS_TOKEN", emu.access_token)
    src = write_csv(
        tmp_path / "c.tsv", contact_rows(50), delimiter="\t", line_ending="\r\n", encoding="utf-16"
    )
    code, stdout, stderr = run(
        capsys,
        "load",
        "insert",
        "Contact",
        str(src),
        "--delimiter",
        "TAB",
        "--line-ending",
        "CRLF",
        "--encoding",
        "utf-16",
        "--concurrency",
        "2",
        "--out",
        str(tmp_path / "out"),
        "--json",
        *FAST,
    )
    assert code == EXIT_OK, stderr
    summary = json.loads(stdout)
    assert summary["succeeded"] == 50
    names = {r["LastName"] for r in read_result(Path(summary["files"]["success"]), delimiter="\t")}
    assert "Müller" in names  # transcoded from UTF-16 on the way in


def test_load_default_out_dir_is_timestamped(
    emu: EmulatorThread, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    src = write_csv(tmp_path / "contacts.csv", contact_rows(5))
    code, stdout, _ = run(capsys, "load", "insert", "Contact", "contacts.csv", "--json", *FAST, *auth(emu))
    assert code == EXIT_OK
    success = Path(json.loads(stdout)["files"]["success"])
    assert success.parent.parent == tmp_path / "asyncbulk-results"
    assert success.parent.name.startswith("Contact-insert-")
    assert src.exists()


# -- one-line errors, before any job ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["insert", "NoSuchObject__c", "{src}"], "NoSuchObject__c"),
        (["merge", "Contact", "{src}"], "unknown operation 'merge'"),
        (["insert", "Contact", "{src}", "--delimiter", "COLON"], "unknown column delimiter 'COLON'"),
        (["insert", "Contact", "{missing}"], "no such file"),
        (["insert", "Contact", "{src}", "--line-ending", "CR"], "unknown line ending"),
        (["upsert", "Contact", "{src}"], "--external-id"),
        (["insert", "Contact", "{src}", "--encoding", "klingon"], "unknown encoding"),
        (["insert", "Contact", "{src}", "--chunk-records", "0"], "--chunk-records"),
        (["insert", "Contact", "{src}", "--chunk-bytes", "999999999999"], "max_bytes"),
        (["delete", "Contact", "{src}"], "needs an 'Id' column"),
    ],
)
def test_bad_input_is_one_line_and_creates_no_job(
    emu: EmulatorThread,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    expected: str,
) -> None:
    src = write_csv(tmp_path / "contacts.csv", contact_rows(10))
    argv = [a.format(src=src, missing=tmp_path / "missing.csv") for a in argv]
    before = http_stats(emu)["jobs_created"]
    code, stdout, stderr = run(capsys, "load", *argv, "--out", str(tmp_path / "out"), *FAST, *auth(emu))
    assert code == EXIT_ERROR
    assert stdout == ""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("asyncbulk: error: ")
    assert expected in lines[0]
    assert "Traceback" not in stderr
    assert http_stats(emu)["jobs_created"] == before


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, stderr = run(capsys, "load", "insert", "Contact")
    assert code == EXIT_USAGE and "FILE" in stderr
    code, _, stderr = run(capsys, "load", "insert", "Contact", "x.csv", "--bogus")
    assert code == EXIT_USAGE and "--bogus" in stderr
    code, _, _ = run(capsys)
    assert code == EXIT_USAGE


def test_missing_or_conflicting_credentials(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write_csv(tmp_path / "contacts.csv", contact_rows(3))
    code, _, stderr = run(capsys, "load", "insert", "Contact", str(src), "--no-progress")
    assert code == EXIT_ERROR
    assert stderr.startswith("asyncbulk: error: no credentials") and stderr.count("\n") == 1
    code, _, stderr = run(capsys, "jobs", "--target-org", "x", "--access-token", "s3cret-value")
    assert code == EXIT_ERROR and "cannot be used together" in stderr
    assert "s3cret-value" not in stderr


def test_refused_token_is_an_error_without_the_token(
    emu: EmulatorThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_csv(tmp_path / "contacts.csv", contact_rows(3))
    secret = "00Dbogus!TOKEN-that-must-not-print"
    code, stdout, stderr = run(
        capsys,
        "load",
        "insert",
        "Contact",
        str(src),
        "--json",
        "--out",
        str(tmp_path / "out"),
        *FAST,
        "--instance-url",
        emu.instance_url,
        "--access-token",
        secret,
    )
    assert code == EXIT_ERROR
    assert stderr.startswith("asyncbulk: error: ") and "INVALID_SESSION_ID" in stderr
    assert secret not in stdout + stderr


# -- job commands ----------------------------------------------------------------------------------


def create_open_job(emu: EmulatorThread) -> str:
    request = urllib.request.Request(
        f"{emu.base_url}/jobs/ingest",
        data=json.dumps({"object": "Contact", "operation": "insert"}).encode(),
        headers={"Authorization": f"Bearer {emu.access_token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.loads(response.read())["id"])


def test_jobs_job_results_abort(
    emu: EmulatorThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_csv(tmp_path / "contacts.csv", contact_rows(40, bad_every=10))
    code, stdout, _ = run(
        capsys,
        "load",
        "insert",
        "Contact",
        str(src),
        "--out",
        str(tmp_path / "out"),
        "--json",
        *FAST,
        *auth(emu),
    )
    assert code == EXIT_SOME_FAILED
    job_id = json.loads(stdout)["jobs"][0]["job_id"]

    code, stdout, _ = run(capsys, "jobs", *auth(emu))
    assert code == EXIT_OK
    lines = stdout.splitlines()
    assert lines[0].split() == ["ID", "OBJECT", "OPERATION", "STATE", "CREATED"]
    assert any(line.startswith(job_id) and "Contact" in line and "JobComplete" in line for line in lines)

    code, stdout, _ = run(capsys, "jobs", "--json", "--limit", "1", *auth(emu))
    assert code == EXIT_OK
    listed = json.loads(stdout)
    assert len(listed) == 1 and listed[0]["id"].startswith("750")

    code, stdout, _ = run(capsys, "job", job_id, *auth(emu))
    assert code == EXIT_OK
    fields = dict(line.split(None, 1) for line in stdout.splitlines())
    assert fields["id"] == job_id and fields["state"] == "JobComplete"
    assert fields["numberRecordsProcessed"] == "40" and fields["numberRecordsFailed"] == "4"
    code, stdout, _ = run(capsys, "job", job_id, "--json", *auth(emu))
    assert json.loads(stdout)["object"] == "Contact"

    out = tmp_path / "results"
    code, stdout, _ = run(capsys, "results", job_id, "--out", str(out), *auth(emu))
    assert code == EXIT_OK
    assert f"job {job_id}: JobComplete, 40 processed, 4 failed" in stdout
    with (out / "successful.csv").open(newline="", encoding="utf-8") as handle:
        success = list(csv.DictReader(handle))
    assert len(success) == 36 and {"sf__Id", "sf__Created"} <= set(success[0])
    with (out / "failed.csv").open(newline="", encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == 4
    assert (out / "unprocessed.csv").exists()

    # A finished job cannot be aborted: one clear line, exit code 4.
    code, _, stderr = run(capsys, "abort", job_id, *auth(emu))
    assert code == EXIT_ERROR and stderr.startswith("asyncbulk: error: ") and stderr.count("\n") == 1

    open_job = create_open_job(emu)
    code, stdout, _ = run(capsys, "abort", open_job, *auth(emu))
    assert code == EXIT_OK and stdout.strip() == f"job {open_job}: Aborted"
    code, stdout, _ = run(capsys, "job", open_job, "--json", *auth(emu))
    assert json.loads(stdout)["state"] == "Aborted"


def test_unknown_job_is_one_line(
    emu: EmulatorThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in (["job"], ["abort"], ["results", "--out", str(tmp_path / "r")]):
        code, _, stderr = run(capsys, command[0], "750000000000000AAA", *command[1:], *auth(emu))
        assert code == EXIT_ERROR, command
        assert stderr.startswith("asyncbulk: error: ") and "NOT_FOUND" in stderr and stderr.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_ca_file_with_tls_emulator(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with EmulatorThread(EmulatorConfig(workers=1, tls=True)) as tls:
        assert tls.instance_url.startswith("https://") and tls.ca_file
        code, _, stderr = run(capsys, "jobs", *auth(tls))  # the self-signed certificate is refused...
        assert code == EXIT_ERROR and stderr.count("\n") == 1
        code, stdout, stderr = run(
            capsys, "jobs", "--ca-file", str(tls.ca_file), *auth(tls)
        )  # ...unless trusted
        assert code == EXIT_OK, stderr
        assert stdout.strip() == "no ingest jobs"
    code, _, stderr = run(capsys, "jobs", "--ca-file", str(tmp_path / "nope.pem"), "--access-token", "t",
                          "--instance-url", "https://127.0.0.1:1")  # fmt: skip
    assert code == EXIT_ERROR and "--ca-file" in stderr


# -- resume ----------------------------------------------------------------------------------------


def test_resume_continues_a_load_cut_short(
    emu: EmulatorThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A load whose journal ends after its first merged job: resume loads the rest, once."""
    src = write_csv(tmp_path / "contacts.csv", contact_rows(300))
    out = tmp_path / "out"
    code, stdout, _ = run(
        capsys, "load", "insert", "Contact", str(src), "--out", str(out), "--chunk-records", "100", "--json",
        *FAST, *auth(emu),
    )  # fmt: skip
    assert code == EXIT_OK
    first_jobs = {job["job_id"] for job in json.loads(stdout)["jobs"]}

    # Simulate a crash after chunk 0 was merged and before chunks 1 and 2 began: keep the start
    # line and chunk 0's events up to its merge.
    journal = out / "journal.jsonl"
    events = [orjson.loads(line) for line in journal.read_bytes().splitlines()]
    merged = next(i for i, e in enumerate(events) if e["event"] == "merged")
    chunk = events[merged]["chunk"]
    kept = [events[0], *(e for e in events[1 : merged + 1] if e.get("chunk") == chunk)]
    journal.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in kept))
    assert kept[0]["options"]["object"] == "Contact" and Path(kept[0]["input"]["path"]).is_absolute()

    before = http_stats(emu)["jobs_created"]
    code, stdout, stderr = run(capsys, "resume", str(out), "--json", *FAST, *auth(emu))
    assert code == EXIT_OK, stderr
    summary = json.loads(stdout)
    assert (summary["records"], summary["succeeded"]) == (300, 300)
    assert http_stats(emu)["jobs_created"] - before == 2  # only the two chunks the journal never saw
    assert {job["job_id"] for job in summary["jobs"]} & first_jobs == {events[merged]["job_id"]}
    records = sorted(int(r["asyncbulk__record"]) for r in csv_rows(out / "success.csv"))
    assert records == list(range(1, 301))  # every record once: none lost, none doubled

    code, _, stderr = run(capsys, "resume", str(tmp_path / "nothing"), *FAST, *auth(emu))
    assert code == EXIT_ERROR and "nothing to resume" in stderr


# -- progress on a pipe ----------------------------------------------------------------------------


def test_progress_lines_when_not_a_terminal(
    emu: EmulatorThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_csv(tmp_path / "contacts.csv", contact_rows(100, bad_every=50))
    argv = ["insert", "Contact", str(src), "--out", str(tmp_path / "o"), "--poll-interval", "0.05"]
    code, stdout, stderr = run(capsys, "load", *argv, *auth(emu))
    assert code == EXIT_SOME_FAILED
    assert "\x1b[" not in stderr  # no escape codes in a log
    lines = stderr.splitlines()
    assert lines[0].startswith("asyncbulk: loading ")
    assert "validated: 100 records in 1 chunk(s)" in lines
    last = lines[-1]
    assert last.startswith(
        "Contact insert: 100% | read 100/100 | uploaded 100 | jobs 0 queued, 0 in progress, 1 done"
    )
    assert "processed 100 (2 failed)" in last
    assert "records failed" in stdout


# -- help and the module entry point ---------------------------------------------------------------


@pytest.mark.parametrize("command", ["load", "resume", "jobs", "job", "abort", "results", "demo"])
def test_every_command_has_help_with_an_example(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run(capsys, command, "--help")
    assert code == EXIT_OK
    assert "example" in stdout and f"asyncbulk {command}" in stdout
    if command != "demo":
        for option in ("--target-org", "--access-token", "--client-id", "--jwt-key-file", "--ca-file"):
            assert option in stdout
    if command == "load":
        options = "--external-id --out --concurrency --chunk-bytes --chunk-records --delimiter --line-ending"
        for option in [*options.split(), "--encoding", "--json", "--resume", "exit codes"]:
            assert option in stdout


def test_python_dash_m(tmp_path: Path) -> None:
    top = subprocess.run(
        [sys.executable, "-m", "asyncbulk", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert top.returncode == 0
    for command in ("load", "resume", "jobs", "job", "abort", "results", "demo", "emulator"):
        assert command in top.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "asyncbulk", "load", "insert", "Contact", str(tmp_path / "none.csv")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert missing.returncode == EXIT_ERROR
    assert missing.stderr == f"asyncbulk: error: {tmp_path / 'none.csv'}: no such file\n"


def test_ctrl_c_then_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C stops a load with exit code 130 and the resume hint; `resume` then finishes it."""
    import signal

    src = write_csv(tmp_path / "contacts.csv", contact_rows(60))
    out = tmp_path / "out"
    with EmulatorThread(EmulatorConfig(workers=1, records_per_second=40)) as slow:
        argv = ["load", "insert", "Contact", str(src), "--out", str(out), "--chunk-records", "20"]
        process = subprocess.Popen(
            [sys.executable, "-m", "asyncbulk", *argv, "--poll-interval", "0.05", *auth(slow)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # A shell's background job ignores SIGINT; a terminal's Ctrl-C does not.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        assert process.stderr is not None
        for line in process.stderr:
            if line.startswith("validated:"):
                break
        time.sleep(0.4)  # jobs created, not all processed
        process.send_signal(signal.SIGINT)
        rest = process.stderr.read()
        assert process.wait(timeout=30) == EXIT_INTERRUPTED
        assert rest.rstrip().endswith(
            f"asyncbulk: interrupted; continue with: asyncbulk resume {out.resolve()}"
        )
        assert "Traceback" not in rest
        summary = json.loads((out / "summary.json").read_text())
        assert summary["cancelled"] is True

        code, stdout, stderr = run(capsys, "resume", str(out), "--json", *FAST, *auth(slow))
        assert code == EXIT_OK, stderr
        assert json.loads(stdout)["succeeded"] == 60
        records = sorted(int(r["asyncbulk__record"]) for r in csv_rows(out / "success.csv"))
        assert records == list(range(1, 61))
