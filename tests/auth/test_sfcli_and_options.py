"""SfCli against a fake ``sf`` executable, StaticToken, and choosing a method from CLI options."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path

import anyio
import pytest

from asyncbulk import AuthenticationError
from asyncbulk._auth import (
    ClientCredentials,
    Credentials,
    FormPost,
    JwtBearer,
    RefreshToken,
    SfCli,
    SfCliError,
    StaticToken,
    UsernamePassword,
)
from asyncbulk._cli._auth_options import auth_from_options

# A stand-in for the Salesforce CLI, answering as two generations do (FAKE_SF_GENERATION):
# - "new" (seen with 2.146.3): `org display --json` redacts the token ("[REDACTED] Use 'sf org auth
#   show-access-token' to view") and `org auth show-access-token --json` prints it;
# - "old": no `org auth show-access-token` (oclif: "command ... not found", exit 127), and `org display`
#   shows the token itself;
# - "placeholder": both commands answer with the placeholder only.
# Error envelope for an unknown alias: status 1, name + message (plugin-org).
FAKE_SF = r"""#!PYTHON
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
args = sys.argv[1:]
with open(os.path.join(here, "calls.log"), "a") as log:
    log.write(" ".join(args) + "\n")
with open(os.path.join(here, "calls.log")) as log:
    n = sum(1 for _ in log)
generation = os.environ.get("FAKE_SF_GENERATION", "new")
org = args[args.index("--target-org") + 1]
command = " ".join(a for a in args if not a.startswith("--") and a != org)
token = f"00D5g000004EXAM!SECRET-SF-TOKEN-{n}"
placeholder = "[REDACTED] Use 'sf org auth show-access-token' to view"
if org == "garbage":
    print("Segmentation fault", file=sys.stderr)
    print("not json at all, SECRET-SF-TOKEN-garbage")
    sys.exit(139)
if org not in ("myorg", "tokenless", "emulator"):
    print(json.dumps({"code": 1, "commandName": "OrgDisplay", "name": "NamedOrgNotFoundError",
                      "message": f"No authorization information found for {org}.", "status": 1,
                      "exitCode": 1, "warnings": []}))
    sys.exit(1)
url = os.environ.get("FAKE_SF_URL", "https://acme.my.salesforce.com/")
if org == "emulator":
    token = os.environ["FAKE_SF_TOKEN"]
if command == "org display":
    print("Warning: @salesforce/cli update available")
    shown = token if generation == "old" else placeholder
    result = {"id": "00D5g000004EXAMPLE", "apiVersion": "66.0", "accessToken": shown,
              "username": "admin@acme.com", "clientId": "PlatformCLI", "connectedStatus": "Connected",
              "alias": org}
    if org != "tokenless":
        result["instanceUrl"] = url
    print(json.dumps({"status": 0, "result": result, "warnings": []}))
elif command == "org auth show-access-token":
    if generation == "old":
        print(" \u203a   Error: command org:auth:show-access-token not found", file=sys.stderr)
        sys.exit(127)
    shown = placeholder if generation == "placeholder" else token
    print(json.dumps({"status": 0, "result": {"accessToken": shown}, "warnings": []}))
else:
    sys.exit(2)
"""


@pytest.fixture
def fake_sf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "sf"
    script.write_text(FAKE_SF.replace("#!PYTHON", f"#!{sys.executable}"))
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    return tmp_path / "calls.log"


def calls(log: Path) -> list[str]:
    """The command lines the fake sf was run with."""
    return log.read_text().splitlines()


async def _no_post(url: str, form: Mapping[str, str], headers: Mapping[str, str]) -> tuple[int, bytes]:
    raise AssertionError("these methods make no HTTP request of their own")


@pytest.fixture
def session() -> FormPost:
    """What an auth method is handed to send token requests with (unused by these methods)."""
    return _no_post


class TestSfCli:
    async def test_current_cli_reads_the_token_from_show_access_token(
        self, fake_sf: Path, session: FormPost
    ) -> None:
        auth = SfCli("myorg")
        creds = await auth.token(session)
        assert creds == Credentials("https://acme.my.salesforce.com", "00D5g000004EXAM!SECRET-SF-TOKEN-2")
        assert calls(fake_sf) == [
            "org display --target-org myorg --json",
            "org auth show-access-token --target-org myorg --json",
        ]
        assert auth.refreshable

    async def test_older_cli_without_show_access_token_falls_back_to_org_display(
        self, fake_sf: Path, session: FormPost, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("FAKE_SF_GENERATION", "old")
        auth = SfCli("myorg")
        creds = await auth.token(session)
        assert creds.access_token == "00D5g000004EXAM!SECRET-SF-TOKEN-1"
        # It remembers that this CLI lacks the command: a refresh runs org display alone.
        refreshed = await auth.token(session, force_refresh=True)
        assert refreshed.access_token == "00D5g000004EXAM!SECRET-SF-TOKEN-3"
        assert calls(fake_sf)[2:] == ["org display --target-org myorg --json"]

    async def test_a_placeholder_is_refused_with_what_to_run(
        self, fake_sf: Path, session: FormPost, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("FAKE_SF_GENERATION", "placeholder")
        with pytest.raises(SfCliError) as info:
            await SfCli("myorg").token(session)
        message = str(info.value)
        assert "no usable access token" in message
        assert "sf org auth show-access-token --target-org myorg" in message
        assert "REDACTED" not in message and "\n" not in message

    async def test_cached_then_rerun_on_refresh(self, fake_sf: Path, session: FormPost) -> None:
        auth = SfCli("myorg")
        first = await auth.token(session)
        assert await auth.token(session) == first
        assert len(calls(fake_sf)) == 2
        second = await auth.token(session, force_refresh=True)
        assert second.access_token.endswith("-4")
        results: list[Credentials] = []

        async def refresh() -> None:
            results.append(await auth.token(session, stale=second))

        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(refresh)
        assert len(calls(fake_sf)) == 6  # one refresh (two CLI runs) for ten callers
        assert {c.access_token for c in results} == {"00D5g000004EXAM!SECRET-SF-TOKEN-6"}

    async def test_unknown_org_shows_sf_message(self, fake_sf: Path, session: FormPost) -> None:
        with pytest.raises(SfCliError) as info:
            await SfCli("nope").token(session)
        assert isinstance(info.value, AuthenticationError)
        assert info.value.error_code == "NamedOrgNotFoundError"
        assert str(info.value) == (
            "sf org display --target-org nope: "
            "NamedOrgNotFoundError: No authorization information found for nope."
        )

    @pytest.mark.parametrize(
        ("org", "expected"),
        [
            ("tokenless", "named no instance URL"),
            ("garbage", "exit code 139: Segmentation fault"),
        ],
    )
    async def test_odd_output_never_echoes_the_token(
        self, fake_sf: Path, session: FormPost, org: str, expected: str
    ) -> None:
        with pytest.raises(SfCliError, match=expected) as info:
            await SfCli(org).token(session)
        assert "SECRET-SF-TOKEN" not in str(info.value) + repr(info.value)

    async def test_missing_cli(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, session: FormPost
    ) -> None:
        monkeypatch.setenv("PATH", str(tmp_path))
        with pytest.raises(SfCliError, match=r"cannot run the Salesforce CLI 'sf'.*install it") as info:
            await SfCli("myorg").token(session)
        assert info.value.error_code == "CliNotFound"

    def test_repr(self) -> None:
        assert repr(SfCli("myorg")) == "SfCli(target_org='myorg', sf_binary='sf')"


class TestStaticToken:
    async def test_returns_the_token_even_when_asked_to_refresh(self, session: FormPost) -> None:
        auth = StaticToken("https://acme.my.salesforce.com/", "00D!tok")
        assert not auth.refreshable
        creds = await auth.token(session, force_refresh=True)
        assert creds == Credentials("https://acme.my.salesforce.com", "00D!tok")
        assert "00D!tok" not in repr(auth)

    @pytest.mark.parametrize(
        ("url", "token", "option"), [("acme", "t", "instance_url"), ("https://a.b", "", "access_token")]
    )
    def test_bad_values_name_the_option(self, url: str, token: str, option: str) -> None:
        with pytest.raises(ValueError, match=option):
            StaticToken(url, token)


class TestAuthFromOptions:
    def test_access_token_with_instance_url(self) -> None:
        auth = auth_from_options(instance_url="https://a.my.salesforce.com", access_token="tok", env={})
        assert isinstance(auth, StaticToken)

    def test_environment_fills_in(self) -> None:
        env = {"SF_INSTANCE_URL": "https://a.my.salesforce.com", "SF_ACCESS_TOKEN": "tok"}
        assert isinstance(auth_from_options(env=env), StaticToken)
        # An explicit method wins over an exported token.
        assert isinstance(auth_from_options(target_org="myorg", env=env), SfCli)
        assert isinstance(auth_from_options(access_token="other", env=env), StaticToken)

    def test_each_flow(self, tmp_path: Path) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key_file = tmp_path / "server.key"
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        jwt_auth = auth_from_options(
            client_id="cid",
            username="u@x.com",
            jwt_key_file=str(key_file),
            login_url="https://test.salesforce.com",
            env={},
        )
        assert isinstance(jwt_auth, JwtBearer) and jwt_auth.audience == "https://test.salesforce.com"
        assert isinstance(auth_from_options(client_id="cid", refresh_token="r", env={}), RefreshToken)
        assert isinstance(
            auth_from_options(client_id="cid", client_secret="s", username="u", password="p", env={}),
            UsernamePassword,
        )
        cc = auth_from_options(
            client_id="cid", client_secret="s", login_url="https://acme.my.salesforce.com", env={}
        )
        assert isinstance(cc, ClientCredentials)
        cc2 = auth_from_options(
            client_id="cid", client_secret="s", instance_url="https://acme.my.salesforce.com", env={}
        )
        assert isinstance(cc2, ClientCredentials)
        assert isinstance(auth_from_options(target_org="myorg", env={}), SfCli)

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({}, "no credentials"),
            ({"access_token": "t"}, "--instance-url"),
            (
                {"access_token": "t", "target_org": "o"},
                "--access-token and --target-org cannot be used together",
            ),
            ({"target_org": "o", "username": "u"}, "--username is not used with --target-org"),
            ({"jwt_key_file": "k", "username": "u"}, "--client-id is required"),
            ({"jwt_key_file": "k", "client_id": "c"}, "--username is required"),
            (
                {"jwt_key_file": "k", "client_id": "c", "username": "u", "client_secret": "s"},
                "--client-secret is not used",
            ),
            ({"password": "p", "client_id": "c", "username": "u"}, "--client-secret is required"),
            ({"refresh_token": "r"}, "--client-id is required"),
            ({"client_id": "c", "client_secret": "s"}, "--login-url"),
            (
                {"client_id": "c", "client_secret": "s", "login_url": "https://login.salesforce.com"},
                "My Domain",
            ),
            ({"client_id": "c"}, "--client-id needs"),
            ({"client_secret": "s"}, "--client-secret needs --client-id"),
            ({"client_id": "c", "username": "u"}, "--username needs"),
            ({"login_url": "https://login.salesforce.com"}, "--login-url needs"),
            (
                {"refresh_token": "r", "client_id": "c", "login_url": "login.salesforce.com"},
                "login_url must be",
            ),
        ],
    )
    def test_bad_combinations_name_the_option(self, options: dict[str, str], message: str) -> None:
        with pytest.raises(ValueError, match=message) as info:
            auth_from_options(env={}, **options)  # type: ignore[arg-type]
        for secret in ("s", "p", "r", "t"):
            if secret in options.values():
                assert f"'{secret}'" not in str(info.value)

    def test_missing_key_file(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="cannot read the key file"):
            auth_from_options(client_id="c", username="u", jwt_key_file=tmp_path / "nope.key", env={})
