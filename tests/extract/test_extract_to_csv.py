"""``asyncbulk.extract``: Bulk API 2.0 query to one CSV, against the emulator over loopback."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import anyio
import pytest
from _cases.contacts import write_csv
from _cases.org import KEYED_HEADER, Org, keyed_rows, run_cli

import asyncbulk
from asyncbulk import ChunkConfig, ColumnDelimiter, LineEnding, PollConfig
from asyncbulk.emulator import EmulatorConfig, EmulatorThread, FaultConfig

FAST = PollConfig(initial=0.05, minimum=0.02, maximum=0.3)
SOQL = "SELECT Id, External_Id__c, LastName, MailingStreet FROM Contact"


def load_rows(org: Org, tmp_path: Path, count: int, **kwargs: Any) -> Any:
    src = write_csv(tmp_path / "in.csv", keyed_rows(count), header=KEYED_HEADER)
    import anyio

    return anyio.run(
        lambda: asyncbulk.load(
            src,
            object="Contact",
            operation="insert",
            out_dir=tmp_path / "loaded",
            chunks=ChunkConfig(max_records=500),
            poll=FAST,
            **org.load_auth(),
            **kwargs,
        )
    )


def read(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


async def extract(org: Org, out: Path, soql: str = SOQL, **kwargs: Any) -> asyncbulk.ExtractResult:
    kwargs.setdefault("poll", FAST)
    return await asyncbulk.extract(soql, out, **org.load_auth(), **kwargs)


def query_jobs(org: Org) -> list[dict[str, Any]]:
    return list(org.get("/services/data/v66.0/jobs/query")["records"])


@pytest.fixture
def loaded(org: Org, tmp_path_factory: pytest.TempPathFactory) -> Org:
    """An org holding 1,000 Contacts, each with a unique External_Id__c."""
    result = load_rows(org, tmp_path_factory.mktemp("load"), 1_000)
    assert result.succeeded == 1_000
    return org


@pytest.mark.parametrize("delimiter", list(ColumnDelimiter))
@pytest.mark.parametrize("ending", list(LineEnding))
async def test_round_trip_each_record_once_in_every_format(
    loaded: Org, tmp_path: Path, delimiter: ColumnDelimiter, ending: LineEnding
) -> None:
    out = tmp_path / "contacts.csv"
    result = await extract(loaded, out, column_delimiter=delimiter, line_ending=ending, max_records=300)
    assert (result.rows, result.pages) == (1_000, 4)
    raw = out.read_bytes()
    assert raw.count(b"External_Id__c") == 1  # one header, whatever the pages
    if ending is LineEnding.CRLF:
        assert raw.count(b"\r\n") == 1_001  # every record ends with CRLF (a quoted LF is data)
    rows = read(out, delimiter.char)
    ids = sorted(int(r["External_Id__c"].removeprefix("EXT-")) for r in rows)
    assert ids == list(range(1, 1_001))  # each stored record exactly once
    assert any("\n" in r["MailingStreet"] for r in rows)  # quoted newlines survive
    assert not (tmp_path / "contacts.csv.partial").exists()
    assert result.job_deleted and not query_jobs(loaded)  # the job (a copy of the data) is gone


async def test_parallel_pages_and_the_chain_give_the_same_file(loaded: Org, tmp_path: Path) -> None:
    parallel = await extract(loaded, tmp_path / "p.csv", max_records=90, concurrency=4)
    chain = await extract(loaded, tmp_path / "c.csv", max_records=90, concurrency=1)
    assert parallel.parallel and not chain.parallel
    assert parallel.pages == chain.pages == 12
    assert (tmp_path / "p.csv").read_bytes() == (tmp_path / "c.csv").read_bytes()


async def test_query_all_includes_deleted_records(loaded: Org, tmp_path: Path) -> None:
    victims = [r["Id"] for r in loaded.query("SELECT Id FROM Contact WHERE External_Id__c LIKE 'EXT-1%'")]
    ids_file = tmp_path / "ids.csv"
    ids_file.write_text("Id\n" + "\n".join(victims) + "\n")
    deleted = await asyncbulk.load(
        ids_file,
        object="Contact",
        operation="delete",
        out_dir=tmp_path / "del",
        poll=FAST,
        **loaded.load_auth(),
    )
    assert deleted.succeeded == len(victims) > 0
    soql = "SELECT Id, IsDeleted FROM Contact"
    live = await extract(loaded, tmp_path / "live.csv", soql)
    every = await extract(loaded, tmp_path / "all.csv", soql, query_all=True)
    assert live.rows == 1_000 - len(victims) and every.rows == 1_000
    gone = {r["Id"] for r in read(tmp_path / "all.csv") if r["IsDeleted"] == "true"}
    assert gone == set(victims)


async def test_bad_soql_is_one_line_and_creates_no_job(loaded: Org, tmp_path: Path) -> None:
    with pytest.raises(asyncbulk.ApiError) as caught:
        await extract(loaded, tmp_path / "x.csv", "SELECT Id, Shoe_Size__c FROM Contact")
    message = str(caught.value)
    assert "Salesforce refused the query" in message and "Shoe_Size__c" in message
    assert "\n" not in message
    assert not query_jobs(loaded)
    assert not (tmp_path / "x.csv").exists()


def test_page_faults_are_ridden_through(tmp_path: Path) -> None:
    """A page cut mid-body, a 503 on a page, a token expiring between pages: same file."""
    faults = FaultConfig(seed=4, result_cut=0.5, result_503=0.5, result_token_expiry=0.3)
    with EmulatorThread(EmulatorConfig(workers=2, batch_size=500)) as emu:
        org = Org(emu)
        load_rows(org, tmp_path, 600)

        clean = anyio.run(lambda: extract(org, tmp_path / "clean.csv", max_records=100))
        emu.set_faults(faults)
        auth = asyncbulk.UsernamePassword(
            emu.config.oauth.client_id,
            emu.config.oauth.client_secret,
            emu.config.oauth.username,
            emu.config.oauth.password,
            login_url=emu.instance_url,
        )
        faulty = anyio.run(
            lambda: asyncbulk.extract(
                SOQL,
                tmp_path / "faulty.csv",
                auth=auth,
                max_records=100,
                poll=FAST,
                retry=asyncbulk.RetryConfig(base_delay=0.01, max_delay=0.05),
            )
        )
        injected = emu.stats()["faults_injected"]
    assert faulty.rows == clean.rows == 600
    assert (tmp_path / "faulty.csv").read_bytes() == (tmp_path / "clean.csv").read_bytes()
    assert injected.get("result_cut", 0) > 0 and injected.get("result_503", 0) > 0


CHILD = textwrap.dedent(
    """
    import sys, anyio, asyncbulk
    url, token, soql, out = sys.argv[1:5]
    anyio.run(lambda: asyncbulk.extract(soql, out, instance_url=url, access_token=token, max_records=100,
              concurrency=3, poll=asyncbulk.PollConfig(initial=0.05, minimum=0.02, maximum=0.3)))
    """
)


@pytest.mark.parametrize("crash_at", ["query_created:1", "page_written:3"])
def test_sigkill_then_resume_gives_the_same_file_byte_for_byte(
    loaded: Org, tmp_path: Path, crash_at: str
) -> None:
    import anyio

    whole = anyio.run(lambda: extract(loaded, tmp_path / "whole.csv", max_records=100, concurrency=3))
    out = tmp_path / "cut.csv"
    child = subprocess.run(
        [sys.executable, "-c", CHILD, loaded.instance_url, loaded.access_token, SOQL, str(out)],
        env={**os.environ, "ASYNCBULK_CRASH_AT": crash_at},
        capture_output=True,
        timeout=60,
    )
    assert child.returncode == -9, child.stderr.decode()[-2000:]
    assert not out.exists()  # a file at OUT is complete; until then it is OUT.partial
    resumed = anyio.run(lambda: extract(loaded, out, max_records=100, concurrency=3, resume=True))
    assert resumed.resumed and resumed.rows == whole.rows == 1_000
    assert out.read_bytes() == (tmp_path / "whole.csv").read_bytes()
    if crash_at.startswith("page_written"):
        # It went on at the first page not written: pages 1-3 were not fetched again.
        assert resumed.pages == whole.pages


def test_cli_extract_json_and_resume_of_a_finished_extract(
    loaded: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "c.csv"
    auth = ["--instance-url", loaded.instance_url, "--access-token", loaded.access_token]
    run = run_cli(capsys, "extract", SOQL, "--out", str(out), "--json", "--no-progress", *auth)
    assert run.code == 0, run.stderr
    data = __import__("json").loads(run.stdout)
    assert data["rows"] == 1_000 and data["path"] == str(out)
    assert len(read(out)) == 1_000
    bad = run_cli(capsys, "extract", "SELEC Id FROM Contact", "--out", str(tmp_path / "b.csv"), *auth)
    assert bad.code == 4 and len(bad.error_lines) == 1 and "refused the query" in bad.error_lines[0]


@pytest.mark.parametrize("operation", ["delete", "hardDelete"])
def test_delete_by_query_extracts_then_loads(
    loaded: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str], operation: str
) -> None:
    out = tmp_path / "cleanup"
    auth = ["--instance-url", loaded.instance_url, "--access-token", loaded.access_token]
    soql = "SELECT Id FROM Contact WHERE External_Id__c LIKE 'EXT-2%'"
    expected = len(loaded.query(soql))
    command = ["load", operation, "Contact", "--query", soql, "--out", str(out)]
    run = run_cli(capsys, *command, "--no-progress", *auth)
    assert run.code == 0, run.stderr
    assert loaded.count() == 1_000 - expected
    assert len(read(out / "success.csv")) == expected
    # A soft delete leaves the rows in the recycle bin (queryAll sees them); a hard delete does not.
    binned = anyio.run(lambda: extract(loaded, tmp_path / "all.csv", soql, query_all=True))
    assert binned.rows == (expected if operation == "delete" else 0)
    again = run_cli(capsys, *command, *auth)
    assert again.code == 4 and "already holds the results" in again.stderr  # not run twice by mistake


def test_delete_by_query_resumes_across_its_two_halves(loaded: Org, tmp_path: Path) -> None:
    """Killed in the middle of the extract half: `resume DIR` finishes the extract, then loads."""
    out = tmp_path / "cleanup"
    soql = "SELECT Id FROM Contact WHERE External_Id__c LIKE 'EXT-3%'"
    expected = len(loaded.query(soql))
    child = subprocess.run(
        [
            sys.executable,
            "-m",
            "asyncbulk",
            "load",
            "delete",
            "Contact",
            "--query",
            soql,
            "--out",
            str(out),
            "--no-progress",
            "--instance-url",
            loaded.instance_url,
            "--access-token",
            loaded.access_token,
        ],
        env={**os.environ, "ASYNCBULK_CRASH_AT": "query_created:1"},
        capture_output=True,
        timeout=60,
    )
    assert child.returncode == -9, child.stderr.decode()[-2000:]
    assert loaded.count() == 1_000  # nothing deleted yet
    import anyio

    async def resume() -> asyncbulk.LoadResult:
        async with asyncbulk.Connection(**loaded.load_auth()) as sf:
            return await sf.resume(out, poll=FAST)

    result = anyio.run(resume)
    assert result.succeeded == expected and loaded.count() == 1_000 - expected


def test_a_query_that_finds_nothing_loads_nothing(loaded: Org, tmp_path: Path) -> None:
    import anyio

    result = anyio.run(
        lambda: asyncbulk.load(
            asyncbulk.Query("SELECT Id FROM Contact WHERE External_Id__c = 'nobody'"),
            object="Contact",
            operation="delete",
            out_dir=tmp_path / "none",
            poll=FAST,
            **loaded.load_auth(),
        )
    )
    assert result.records == 0 and result.ok and loaded.count() == 1_000


def test_memory_flat_is_a_streamed_copy(loaded: Org, tmp_path: Path) -> None:
    """No page is ever held whole: the output is copied in blocks from page files on disk."""
    import anyio

    anyio.run(lambda: extract(loaded, tmp_path / "o.csv", max_records=250))
    work = tmp_path / "o.csv.asyncbulk"
    assert not list((work / "pages").iterdir())  # every page file was appended, then removed
    journal = (work / "journal.jsonl").read_text().splitlines()
    assert sum('"page_written"' in line for line in journal) == 4
