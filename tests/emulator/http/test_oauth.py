"""The emulator's token endpoint and bearer tokens over real loopback HTTP (``_http/_oauth.py``).

The client side of the OAuth flows (asyncbulk's auth classes against this endpoint) is tested in
tests/test_auth.py; here the endpoint answers raw requests, and its tokens open the API.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import AsyncIterator

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from asyncbulk.emulator import Emulator, EmulatorConfig, OAuthConfig
from asyncbulk.emulator._http._oauth import TokenRegistry

CLIENT_ID = "3MVG9-test-consumer-key"
CLIENT_SECRET = "s3cr3t-CONSUMER-secret-9876"
USERNAME = "integration@example.com"
TOKEN_PATH = "/services/oauth2/token"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
async def emulator(key: rsa.RSAPrivateKey) -> AsyncIterator[Emulator]:
    """An emulator whose connected app is ours (this module's override of tests/conftest.py's)."""
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    oauth = OAuthConfig(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        username=USERNAME,
        jwt_public_key_pem=public_pem.decode(),
    )
    async with Emulator(EmulatorConfig(workers=1, oauth=oauth)) as emu:
        yield emu


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def opens_the_api(session: aiohttp.ClientSession, emulator: Emulator, token: str) -> bool:
    """Whether ``token`` is accepted by the emulator's REST API."""
    async with session.get(emulator.base_url + "/limits", headers={"Authorization": f"Bearer {token}"}) as r:
        return r.status == 200


class TestGrants:
    @pytest.mark.parametrize("aud", ["https://login.salesforce.com", "https://test.salesforce.com/", "own"])
    async def test_jwt_audiences_and_string_exp_are_accepted(
        self, emulator: Emulator, session: aiohttp.ClientSession, key: rsa.RSAPrivateKey, aud: str
    ) -> None:
        # simple-salesforce signs exp as a string (f"{ts:.0f}") and real orgs accept it.
        audience = emulator.instance_url if aud == "own" else aud
        claims = {"iss": CLIENT_ID, "sub": USERNAME, "aud": audience, "exp": f"{time.time() + 180:.0f}"}
        form = {"grant_type": JWT_GRANT, "assertion": jwt.encode(claims, key, algorithm="RS256")}
        async with session.post(emulator.instance_url + TOKEN_PATH, data=form) as resp:
            assert resp.status == 200, await resp.text()
            token = (await resp.json())["access_token"]
        assert await opens_the_api(session, emulator, token)

    async def test_garbage_assertion(self, emulator: Emulator, session: aiohttp.ClientSession) -> None:
        form = {"grant_type": JWT_GRANT, "assertion": "not.a.jwt"}
        async with session.post(emulator.instance_url + TOKEN_PATH, data=form) as resp:
            assert resp.status == 400
            assert await resp.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}

    async def test_client_credentials_by_http_basic_like_simple_salesforce(
        self, emulator: Emulator, session: aiohttp.ClientSession
    ) -> None:
        def basic(secret: str) -> dict[str, str]:
            # simple-salesforce's login.py: base64 of "key:secret", no urlencoding.
            return {"Authorization": "Basic " + base64.b64encode(f"{CLIENT_ID}:{secret}".encode()).decode()}

        url = emulator.instance_url + TOKEN_PATH
        form = {"grant_type": "client_credentials"}
        async with session.post(url, data=form, headers=basic(CLIENT_SECRET)) as resp:
            assert resp.status == 200
            token = (await resp.json())["access_token"]
        assert await opens_the_api(session, emulator, token)
        async with session.post(url, data=form, headers=basic("nope")) as resp:
            assert resp.status == 400
            assert (await resp.json())["error"] == "invalid_client"

    @pytest.mark.parametrize("grant", ["authorization_code", "", "urn:made:up"])
    async def test_unsupported_grant(
        self, emulator: Emulator, session: aiohttp.ClientSession, grant: str
    ) -> None:
        async with session.post(emulator.instance_url + TOKEN_PATH, data={"grant_type": grant}) as resp:
            assert resp.status == 400
            assert await resp.json() == {
                "error": "unsupported_grant_type",
                "error_description": "grant type not supported",
            }


class TestTokenEndpoint:
    async def test_response_shape_and_signature(
        self, emulator: Emulator, session: aiohttp.ClientSession
    ) -> None:
        form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        async with session.post(emulator.instance_url + TOKEN_PATH, data=form) as resp:
            assert resp.status == 200
            assert "no-store" in resp.headers["Cache-Control"]
            body = await resp.json()
        assert set(body) == {
            "access_token",
            "instance_url",
            "id",
            "token_type",
            "issued_at",
            "signature",
            "scope",
        }
        assert body["instance_url"] == emulator.instance_url
        # The user is the running user, the org's admin User record.
        assert body["id"] == f"{emulator.instance_url}/id/00DEM00000000012AA/{emulator.org.admin_user_id}"
        assert body["token_type"] == "Bearer"
        assert body["issued_at"].isdigit() and abs(int(body["issued_at"]) / 1000 - time.time()) < 60
        assert body["access_token"].startswith("00DEM0000000001!")
        expected = hmac.new(CLIENT_SECRET.encode(), (body["id"] + body["issued_at"]).encode(), hashlib.sha256)
        assert base64.b64decode(body["signature"]) == expected.digest()
        assert emulator.stats()["tokens_issued"] == 2  # the printed one, then this one

    async def test_bearer_and_oauth_schemes_and_the_401(
        self, emulator: Emulator, session: aiohttp.ClientSession
    ) -> None:
        url = emulator.base_url + "/limits"
        for scheme in ("Bearer", "OAuth", "bearer"):
            async with session.get(url, headers={"Authorization": f"{scheme} {emulator.access_token}"}) as r:
                assert r.status == 200, scheme
        for headers in (
            {},
            {"Authorization": "Bearer nope"},
            {"Authorization": f"Basic {emulator.access_token}"},
        ):
            async with session.get(url, headers=headers) as r:
                assert r.status == 401
                assert r.headers["WWW-Authenticate"] == "Token"
                assert await r.json() == INVALID_SESSION


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TestTokenRegistry:
    def test_lifetime_expire_all_and_presets(self) -> None:
        clock = FakeClock()
        registry = TokenRegistry(lifetime=60, clock=clock)
        token = registry.issue("005EM0000000001YAA")
        registry.add("preset-token")
        assert registry.check(token) and registry.check("preset-token")
        assert not registry.check("unknown")
        assert registry.user_of(token) == "005EM0000000001YAA"
        clock.now += 59.9
        assert registry.check(token)
        clock.now += 0.2
        assert not registry.check(token) and not registry.check("preset-token")
        fresh = registry.issue("u")
        assert fresh != token and len(registry) == 1
        registry.expire_all()
        assert not registry.check(fresh)
        assert "preset" not in repr(registry) and fresh not in repr(registry)

    def test_no_lifetime_means_forever(self) -> None:
        clock = FakeClock()
        registry = TokenRegistry(lifetime=None, clock=clock)
        token = registry.issue("u")
        clock.now += 10**9
        assert registry.check(token)
