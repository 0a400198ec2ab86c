"""Defect 11: secrets given on the command line are visible to every local user (/proc/PID/cmdline).

``--client-secret``, ``--password``, ``--refresh-token`` and ``--access-token`` each get an
environment variable (``SF_CLIENT_SECRET``, ``SF_PASSWORD``, ``SF_REFRESH_TOKEN``,
``SF_ACCESS_TOKEN``) and a file form (``--client-secret-file FILE`` ..., ``FILE`` may be ``-`` for
standard input); ``--help`` says the flag form is visible to other users. Checked with the
emulator's OAuth flows through ``asyncbulk jobs``; no secret appears in any output.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from _cases.org import CliRun, run_cli, run_cli_process

from asyncbulk.emulator import EmulatorConfig, EmulatorThread, OAuthConfig

CLIENT_ID = "3MVG9-issue9-client"
CLIENT_SECRET = "client-secret-7f3a9c"
USERNAME = "loader@issue9.example"
PASSWORD = "password-5d2e8b"
REFRESH_TOKEN = "refresh-token-91c4e0"
ACCESS_TOKEN = "00DEM!access-token-e6b1d3"


@pytest.fixture(scope="module")
def oauth_org() -> Iterator[EmulatorThread]:
    """An org with a connected app, a password user, a refresh token and a fixed access token."""
    oauth = OAuthConfig(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        username=USERNAME,
        password=PASSWORD,
        refresh_tokens=(REFRESH_TOKEN,),
    )
    with EmulatorThread(EmulatorConfig(workers=1, oauth=oauth, access_token=ACCESS_TOKEN)) as emulator:
        yield emulator


@dataclass(frozen=True)
class Secret:
    """One secret: its value, its flag, its environment variable, and the options it goes with."""

    value: str
    flag: str
    env: str

    def other_options(self, url: str) -> list[str]:
        if self.flag == "--access-token":
            return ["--instance-url", url]
        if self.flag == "--password":
            # The password flow needs the client secret too: it comes from the environment.
            return ["--client-id", CLIENT_ID, "--username", USERNAME, "--login-url", url]
        return ["--client-id", CLIENT_ID, "--login-url", url]

    def other_env(self) -> dict[str, str]:
        return {"SF_CLIENT_SECRET": CLIENT_SECRET} if self.flag == "--password" else {}


SECRETS = {
    "client-secret": Secret(CLIENT_SECRET, "--client-secret", "SF_CLIENT_SECRET"),
    "password": Secret(PASSWORD, "--password", "SF_PASSWORD"),
    "refresh-token": Secret(REFRESH_TOKEN, "--refresh-token", "SF_REFRESH_TOKEN"),
    "access-token": Secret(ACCESS_TOKEN, "--access-token", "SF_ACCESS_TOKEN"),
}
ALL_SECRETS = [s.value for s in SECRETS.values()]


def assert_listed_jobs_without_leaking(run: CliRun) -> None:
    assert run.code == 0, run.stderr
    assert "no ingest jobs" in run.stdout
    for value in ALL_SECRETS:
        assert value not in run.stdout + run.stderr


@pytest.mark.parametrize("name", list(SECRETS))
def test_secret_from_the_environment(
    oauth_org: EmulatorThread, name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defect 11: each secret from its environment variable (today only SF_ACCESS_TOKEN works)."""
    secret = SECRETS[name]
    for key, value in {secret.env: secret.value, **secret.other_env()}.items():
        monkeypatch.setenv(key, value)
    assert_listed_jobs_without_leaking(run_cli(capsys, "jobs", *secret.other_options(oauth_org.instance_url)))


@pytest.mark.parametrize("name", list(SECRETS))
def test_secret_from_a_file(
    oauth_org: EmulatorThread,
    name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Defect 11: each secret from ``--…-file FILE`` (written as ``echo`` would: a final newline)."""
    secret = SECRETS[name]
    for key, value in secret.other_env().items():
        monkeypatch.setenv(key, value)
    path = tmp_path / "secret.txt"
    path.write_text(secret.value + "\n")
    path.chmod(0o600)
    argv = ["jobs", f"{secret.flag}-file", str(path), *secret.other_options(oauth_org.instance_url)]
    assert_listed_jobs_without_leaking(run_cli(capsys, *argv))


@pytest.mark.parametrize("name", list(SECRETS))
def test_secret_from_standard_input(oauth_org: EmulatorThread, name: str) -> None:
    """Defect 11: each secret from ``--…-file -`` (standard input), in a child process."""
    secret = SECRETS[name]
    argv = ["jobs", f"{secret.flag}-file", "-", *secret.other_options(oauth_org.instance_url)]
    assert_listed_jobs_without_leaking(
        run_cli_process(*argv, env=secret.other_env(), stdin=secret.value + "\n")
    )


def test_a_refused_secret_from_a_file_is_not_shown(
    oauth_org: EmulatorThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect 11: a wrong secret read from a file is refused in one line that does not show it."""
    wrong = "wrong-client-secret-0b7d"
    path = tmp_path / "secret.txt"
    path.write_text(wrong + "\n")
    run = run_cli(
        capsys,
        "jobs",
        "--client-id",
        CLIENT_ID,
        "--client-secret-file",
        str(path),
        "--login-url",
        oauth_org.instance_url,
    )
    assert run.code == 4, run.stderr
    assert len(run.error_lines) == 1, run.stderr
    assert wrong not in run.stdout + run.stderr


def test_help_names_the_safe_forms_and_warns_about_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    """Defect 11: ``--help`` shows the file forms and environment variables, and says the flag form
    is visible to other users."""
    run = run_cli(capsys, "jobs", "--help")
    assert run.code == 0
    text = " ".join(run.stdout.split())
    for secret in SECRETS.values():
        assert f"{secret.flag}-file" in text
        assert secret.env in text
    assert re.search(r"visible to other (local )?users|other users (on this machine )?can see", text, re.I), (
        text
    )
