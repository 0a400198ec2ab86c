"""``asyncbulk emulator``'s OAuth options: the connected app, the user, the JWT certificate, refresh tokens.

With them an emulator started from a shell serves every flow the Python API configures, so that
``sf org login jwt`` (and any OAuth client) can log in to it; what a person needs is printed on
stderr, without a secret.
"""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from asyncbulk.emulator import EmulatorConfig, EmulatorProcess, OAuthConfig
from asyncbulk.emulator._main import build_parser, config_from_args
from asyncbulk.emulator._server import parse_banner, process_args

CLIENT_ID = "3MVG9-shell-app"
SECRET = "shell-app-s3cret"
USER = "ops@corp.example"
PASSWORD = "pw-and-security-token"
REFRESH = ("refresh-one", "refresh-two")


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def cert_pem(key: rsa.RSAPrivateKey) -> str:
    """A self-signed certificate, as one uploads it to a connected app for the JWT flow."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "emulator-app")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def post_token(instance_url: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
    data = urllib.parse.urlencode(form).encode()
    req = urllib.request.Request(instance_url + "/services/oauth2/token", data=data, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def get_json(url: str, token: str) -> Any:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def assertion(key: rsa.RSAPrivateKey, audience: str) -> str:
    # What sf org login jwt signs: iss = client id, sub = username, aud = the instance URL with "/".
    claims = {"iss": CLIENT_ID, "sub": USER, "aud": audience + "/", "exp": int(time.time()) + 300}
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return jwt.encode(claims, pem, algorithm="RS256")


def test_options_round_trip(tmp_path: Path, cert_pem: str) -> None:
    cert = tmp_path / "server.crt"
    cert.write_text(cert_pem)
    oauth = OAuthConfig(
        client_id=CLIENT_ID,
        client_secret=SECRET,
        username=USER,
        password=PASSWORD,
        jwt_public_key_pem=cert_pem,
        refresh_tokens=REFRESH,
        org_id="00D5f000000ABCDEAA",
    )
    config = EmulatorConfig(workers=2, oauth=oauth)
    args = process_args(config, str(cert))
    assert config_from_args(build_parser().parse_args(args)) == config
    with pytest.raises(ValueError, match="jwt_cert_file"):
        process_args(config)
    # The defaults add no option.
    assert "--client-id" not in process_args(EmulatorConfig())


def test_every_flow_from_the_shell(tmp_path: Path, key: rsa.RSAPrivateKey, cert_pem: str) -> None:
    cert = tmp_path / "server.crt"
    cert.write_text(cert_pem)
    options = ["--client-id", CLIENT_ID, "--client-secret", SECRET, "--username", USER]
    options += ["--password", PASSWORD, "--jwt-cert", str(cert)]
    for token in REFRESH:
        options += ["--refresh-token", token]
    proc = subprocess.Popen(
        [sys.executable, "-m", "asyncbulk.emulator", "--port", "0", "--workers", "1", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = parse_banner(proc.stdout.readline().strip())["instance_url"]
        status, by_jwt = post_token(
            url,
            {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion(key, url)},
        )
        assert status == 200, by_jwt
        claims = get_json(url + "/services/oauth2/userinfo", by_jwt["access_token"])
        assert claims["preferred_username"] == USER
        assert by_jwt["id"].endswith("/" + claims["user_id"])
        for form in (
            {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET},
            {"grant_type": "refresh_token", "refresh_token": REFRESH[1], "client_id": CLIENT_ID},
            {
                "grant_type": "password",
                "client_id": CLIENT_ID,
                "client_secret": SECRET,
                "username": USER,
                "password": PASSWORD,
            },
        ):
            status, body = post_token(url, form)
            assert status == 200, (form["grant_type"], body)
        status, body = post_token(
            url,
            {"grant_type": "client_credentials", "client_id": "emulator-client-id", "client_secret": SECRET},
        )
        assert (status, body["error"]) == (400, "invalid_client_id")
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert f"running user {USER} (005" in stderr
    assert f"sf org login jwt --client-id {CLIENT_ID} --username {USER}" in stderr
    assert f"sf org login access-token --instance-url {url} --no-prompt" in stderr
    assert "refresh_token (2 accepted)" in stderr and "JWT bearer" in stderr
    for secret in (SECRET, PASSWORD, *REFRESH):
        assert secret not in stderr


def test_process_forwards_the_oauth_config(key: rsa.RSAPrivateKey, cert_pem: str) -> None:
    oauth = OAuthConfig(client_id=CLIENT_ID, username=USER, jwt_public_key_pem=cert_pem)
    with EmulatorProcess(EmulatorConfig(workers=1, oauth=oauth)) as emu:
        grant = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer"}
        status, body = post_token(emu.instance_url, {**grant, "assertion": assertion(key, emu.instance_url)})
        assert status == 200, body
        resources = get_json(emu.instance_url + "/services/data/v66.0", body["access_token"])
        assert resources["identity"] == body["id"]


def test_unreadable_certificate_is_a_usage_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.crt"
    proc = subprocess.run(
        [sys.executable, "-m", "asyncbulk.emulator", "--port", "0", "--jwt-cert", str(missing)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2 and "--jwt-cert: cannot read" in proc.stderr and proc.stdout == ""
