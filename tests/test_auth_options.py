"""SfCli against a fake ``sf`` executable, StaticToken, and choosing a method from CLI options."""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import anyio
import pytest

from asyncbulk import AuthenticationError
from asyncbulk._auth import (
    ClientCredentials,
    Credentials,
    JwtBearer,
    RefreshToken,
    SfCli,
    SfCliError,
    StaticToken,
    UsernamePassword,
    auth_from_options,
)

# What `sf org display --target-org X --json` prints (plugin-org schemas/org-display.json), and its
# error envelope for an unknown alias (status 1, name + message).
FAKE_SF = r"""#!/bin/sh
here=$(dirname "$0")
echo "$@" >> "$here/calls.log"
n=$(wc -l < "$here/calls.log" | tr -d ' ')
case "$4" in
  myorg)
    echo "Warning: @salesforce/cli update available" 
    cat <<JSON
{"status": 0, "result": {"id": "00D5g000004EXAMPLE", "apiVersion": "66.0",
 "accessToken": "00D5g000004EXAM!SECRET-SF-TOKEN-$n", "instanceUrl": "https://acme.my.salesforce.com/",
 "username": "admin@acme.com", "clientId": "PlatformCLI", "connectedStatus": "Connected", "alias": "myorg"},
 "warnings": []}
JSON
    ;;
  tokenless)
    echo '{"status": 0, "result": {"accessToken": "00D!SECRET-SF-TOKEN-half", "username": "u"}}'
    ;;
  garbage)
    echo "Segmentation fault" >&2
    echo "not json at all, SECRET-SF-TOKEN-garbage"
    exit 139
    ;;
  *)
    echo '{"code": 1, "context": "OrgDisplay", "commandName": "OrgDisplay",'
    echo ' "message": "No authorization information found for '"$4"'.", "name": "NamedOrgNotFoundError",'
    echo ' "status": 1, "exitCode": 1, "warnings": []}'
    exit 1
    ;;
esac
"""


@pytest.fixture
def fake_sf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "sf"
    script.write_text(FAKE_SF)
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    return tmp_path / "calls.log"


def calls(log: Path) -> list[str]:
    """The command lines the fake sf was run with."""
    return log.read_text().splitlines()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


class TestSfCli:
    async def test_reads_token_and_instance_url(self, fake_sf: Path, session: aiohttp.ClientSession) -> None:
        auth = SfCli("myorg")
        creds = await auth.token(session)
        assert creds == Credentials("https://acme.my.salesforce.com", "00D5g000004EXAM!SECRET-SF-TOKEN-1")
        assert calls(fake_sf) == ["org display --target-org myorg --json"]
        assert auth.refreshable

    async def test_cached_then_rerun_on_refresh(self, fake_sf: Path, session: aiohttp.ClientSession) -> None:
        auth = SfCli("myorg")
        first = await auth.token(session)
        assert await auth.token(session) == first
        assert len(calls(fake_sf)) == 1
        second = await auth.token(session, force_refresh=True)
        assert second.access_token.endswith("-2")
        results: list[Credentials] = []

        async def refresh() -> None:
            results.append(await auth.token(session, stale=second))

        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(refresh)
        assert len(calls(fake_sf)) == 3
        assert {c.access_token for c in results} == {"00D5g000004EXAM!SECRET-SF-TOKEN-3"}

    async def test_unknown_org_shows_sf_message(self, fake_sf: Path, session: aiohttp.ClientSession) -> None:
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
            ("tokenless", "returned no accessToken/instanceUrl"),
            ("garbage", "exit code 139: Segmentation fault"),
        ],
    )
    async def test_odd_output_never_echoes_the_token(
        self, fake_sf: Path, session: aiohttp.ClientSession, org: str, expected: str
    ) -> None:
        with pytest.raises(SfCliError, match=expected) as info:
            await SfCli(org).token(session)
        assert "SECRET-SF-TOKEN" not in str(info.value) + repr(info.value)

    async def test_missing_cli(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, session: aiohttp.ClientSession
    ) -> None:
        monkeypatch.setenv("PATH", str(tmp_path))
        with pytest.raises(SfCliError, match=r"cannot run the Salesforce CLI 'sf'.*install it") as info:
            await SfCli("myorg").token(session)
        assert info.value.error_code == "CliNotFound"

    def test_repr(self) -> None:
        assert repr(SfCli("myorg")) == "SfCli(target_org='myorg', sf_binary='sf')"


class TestStaticToken:
    async def test_returns_the_token_even_when_asked_to_refresh(self, session: aiohttp.ClientSession) -> None:
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
