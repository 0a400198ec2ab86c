"""Defect 2: ``--target-org`` / ``SfCli`` sent a placeholder as the token.

Current Salesforce CLI releases answer ``sf org display --json`` with ``"accessToken": "[REDACTED]
Use 'sf org auth show-access-token' to view"``; the token comes from ``sf org auth
show-access-token --target-org X --json`` (``result.accessToken``). Older releases have no such
command and an unredacted ``org display``. A stand-in ``sf`` (a small Python script) answers as
each generation does, with real tokens from the emulator's OAuth endpoint, so a refresh gets a new
one. A CLI that answers only placeholders is refused in one line that says what to run.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from _cases.org import FAST_POLL, CliRun, Org, contact_rows, run_cli, write_csv

import asyncbulk
from asyncbulk import ProgressEvent
from asyncbulk.emulator import EmulatorConfig, EmulatorThread

ALIAS = "my-org"
REDACTED = "[REDACTED] Use 'sf org auth show-access-token' to view"

STAND_IN = r'''#!{python}
"""A stand-in for the Salesforce CLI `sf`, answering as one CLI generation does."""
import json, sys, urllib.parse, urllib.request

SETTINGS = json.loads({settings!r})
with open(SETTINGS["log"], "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\n")


def fresh_token():
    # What the real CLI does on refresh: ask the org's token endpoint for a new token.
    form = urllib.parse.urlencode({{"grant_type": "client_credentials",
        "client_id": SETTINGS["client_id"], "client_secret": SETTINGS["client_secret"]}}).encode()
    request = urllib.request.Request(SETTINGS["instance_url"] + "/services/oauth2/token", data=form)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["access_token"]


def answer(result):
    print(json.dumps({{"status": 0, "result": result, "warnings": []}}))
    sys.exit(0)


args = sys.argv[1:]
org = args[args.index("--target-org") + 1] if "--target-org" in args else None
generation = SETTINGS["generation"]
if org != "{alias}":
    print(json.dumps({{"code": 1, "name": "NamedOrgNotFoundError", "status": 1, "exitCode": 1,
        "message": "No authorization information found for %s." % org, "warnings": []}}))
    sys.exit(1)
if args[:2] == ["org", "display"]:
    token = fresh_token() if generation == "old" else "{redacted}"
    answer({{"id": "00DEM00000000012AA", "apiVersion": "66.0", "accessToken": token,
        "instanceUrl": SETTINGS["instance_url"], "username": "admin@emulator.example",
        "clientId": "PlatformCLI", "connectedStatus": "Connected", "alias": org}})
if args[:3] == ["org", "auth", "show-access-token"]:
    if generation == "new":
        sys.stderr.write("Warning: This command exposes an access token.\n")
        answer({{"accessToken": fresh_token()}})
    # Older generations do not know the command.
    if SETTINGS["unknown_command"] == "json":
        print(json.dumps({{"code": 1, "name": "CommandNotFoundError", "status": 1, "exitCode": 1,
            "message": "command org:auth:show-access-token not found", "warnings": []}}))
        sys.exit(1)
    sys.stderr.write(" \u203a   Error: command org:auth:show-access-token not found\n")
    sys.exit(127)
sys.stderr.write("unexpected command: %s\n" % " ".join(args))
sys.exit(2)
'''


@pytest.fixture
def org() -> Iterator[Org]:
    """The org the stand-in CLI is logged in to (its default connected app issues the tokens)."""
    with EmulatorThread(EmulatorConfig(workers=2)) as emulator:
        yield Org(emulator)


def stand_in_sf(directory: Path, org: Org, generation: str, unknown_command: str = "text") -> Path:
    """Write the stand-in ``sf`` for ``generation`` (new, old, placeholders) into ``directory``."""
    directory.mkdir(exist_ok=True)
    oauth = org.emulator.config.oauth
    settings = {
        "generation": generation,
        "unknown_command": unknown_command,
        "instance_url": org.instance_url,
        "client_id": oauth.client_id,
        "client_secret": oauth.client_secret,
        "log": str(directory / "calls.log"),
    }
    script = directory / "sf"
    script.write_text(
        STAND_IN.format(python=sys.executable, settings=json.dumps(settings), alias=ALIAS, redacted=REDACTED)
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def calls(script: Path) -> list[str]:
    log = script.parent / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


@pytest.fixture
def on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory put first on PATH, for the stand-in ``sf``."""
    directory = tmp_path / "bin"
    directory.mkdir()
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ.get('PATH', '')}")
    return directory


def load_with_target_org(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> CliRun:
    src = write_csv(tmp_path / "in.csv", contact_rows(200))
    return run_cli(
        capsys,
        "load",
        "insert",
        "Contact",
        str(src),
        "--out",
        str(tmp_path / "out"),
        "--no-progress",
        "--poll-interval",
        "0.05",
        "--target-org",
        ALIAS,
    )


def test_current_cli_token_comes_from_show_access_token(
    org: Org, on_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect 2: today the placeholder is sent as the token and the load fails with 401."""
    script = stand_in_sf(on_path, org, "new")
    run = load_with_target_org(capsys, tmp_path)
    assert run.code == 0, run.stderr
    assert org.count() == 200
    assert f"org auth show-access-token --target-org {ALIAS} --json" in calls(script)


@pytest.mark.parametrize("unknown_command", ["text", "json"])
def test_older_cli_falls_back_to_org_display(
    org: Org, on_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], unknown_command: str
) -> None:
    """Defect 2: a CLI without ``org auth show-access-token`` (it answers "command not found", as
    text or as a JSON error) still works through ``org display``."""
    script = stand_in_sf(on_path, org, "old", unknown_command)
    run = load_with_target_org(capsys, tmp_path)
    assert run.code == 0, run.stderr
    assert org.count() == 200
    assert f"org display --target-org {ALIAS} --json" in calls(script)


def test_placeholders_only_is_one_line_saying_what_to_run(
    org: Org, on_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect 2: a CLI that gives only the placeholder (redacted display, no show-access-token):
    nothing is sent to the org, and one error line says what to run."""
    stand_in_sf(on_path, org, "placeholders")
    run = load_with_target_org(capsys, tmp_path)
    assert org.emulator.stats()["requests"] == 0, "a request was sent with the placeholder as token"
    assert run.code == 4, run.stderr
    lines = run.error_lines
    assert len(lines) == 1, run.stderr
    assert ALIAS in lines[0] and re.search(r"\bsf (org|update)\b", lines[0]), lines[0]


async def test_refresh_with_the_current_cli(org: Org, tmp_path: Path) -> None:
    """Defect 2: when the token expires mid-load, SfCli asks the current CLI again and goes on."""
    script = stand_in_sf(tmp_path / "bin", org, "new")
    expired: list[bool] = []

    def expire_tokens_once(event: ProgressEvent) -> None:
        if event.kind == "job_created" and not expired:
            expired.append(True)
            org.expire_tokens()

    result = await asyncbulk.load(
        write_csv(tmp_path / "in.csv", contact_rows(200)),
        object="Contact",
        operation="insert",
        auth=asyncbulk.SfCli(ALIAS, sf_binary=str(script)),
        out_dir=tmp_path / "out",
        poll=FAST_POLL,
        progress=expire_tokens_once,
    )
    assert result.succeeded == 200
    token_calls = [c for c in calls(script) if c.startswith("org auth show-access-token")]
    assert len(token_calls) >= 2, calls(script)
