"""Loads with real authentication flows against the full emulator, tokens expiring mid-load."""

from __future__ import annotations

from pathlib import Path

import pytest
from _cases.contacts import contact_rows, write_csv
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import asyncbulk
from asyncbulk import ChunkConfig, PollConfig
from asyncbulk.emulator import Emulator, EmulatorConfig, OAuthConfig

FAST_POLL = PollConfig(initial=0.05, minimum=0.02, maximum=0.3)


async def test_jwt_bearer_load_survives_token_expiry(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    oauth = OAuthConfig(jwt_public_key_pem=public_pem)
    config = EmulatorConfig(
        workers=1, batch_size=200, records_per_second=1_500, token_lifetime=0.4, oauth=oauth
    )
    src = write_csv(tmp_path / "in.csv", contact_rows(2_000, seed=12))
    async with Emulator(config) as emu:
        auth = asyncbulk.JwtBearer(oauth.client_id, oauth.username, private_pem, login_url=emu.instance_url)
        result = await asyncbulk.load(
            src,
            object="Contact",
            operation="insert",
            auth=auth,
            out_dir=tmp_path / "out",
            chunks=ChunkConfig(max_records=400),
            poll=FAST_POLL,
        )
    assert result.succeeded == 2_000
    # The load outlived its first tokens (a static token fails then: see the next test)...
    assert result.seconds > 0.8
    # ...and no secret reached the files the load wrote.
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            text = path.read_bytes()
            assert b"PRIVATE KEY" not in text and private_pem[40:80].encode() not in text


async def test_static_token_expiring_mid_load_says_how_to_fix(tmp_path: Path) -> None:
    config = EmulatorConfig(workers=1, batch_size=100, records_per_second=1_000, token_lifetime=0.3)
    src = write_csv(tmp_path / "in.csv", contact_rows(1_000, seed=13))
    async with Emulator(config) as emu:
        with pytest.raises(asyncbulk.AuthenticationError) as caught:
            await asyncbulk.load(
                src,
                object="Contact",
                operation="insert",
                instance_url=emu.instance_url,
                access_token=emu.access_token,
                out_dir=tmp_path / "out",
                chunks=ChunkConfig(max_records=100),
                poll=FAST_POLL,
            )
    message = str(caught.value)
    assert "INVALID_SESSION_ID" in message or "expired" in message.lower()
    assert emu.access_token not in message
    # The journal and summary were written: the load can be resumed with a new token.
    assert (tmp_path / "out" / "journal.jsonl").exists() and (tmp_path / "out" / "summary.json").exists()
