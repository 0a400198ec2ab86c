"""Auth flows end to end: asyncbulk's auth objects against the emulator's token endpoint over loopback."""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from asyncbulk import AuthenticationError, RetryConfig
from asyncbulk._auth import (
    ClientCredentials,
    Credentials,
    JwtBearer,
    RefreshToken,
    StaticToken,
    UsernamePassword,
    default_audience,
)
from asyncbulk._bulk._transport import Transport
from asyncbulk.emulator._config import EmulatorConfig, OAuthConfig
from asyncbulk.emulator._http._oauth import (
    TokenRegistry,
    oauth_routes,
)

CLIENT_ID = "3MVG9-test-consumer-key"
CLIENT_SECRET = "s3cr3t-CONSUMER-secret-9876"
USERNAME = "integration@example.com"
PASSWORD = "p4ssw0rd-HUNTER2"
SECURITY_TOKEN = "SECTOKEN123"
REFRESH = "5Aep861-refresh-TOKEN-abcdef"
TOKEN_PATH = "/services/oauth2/token"


@dataclass
class Keys:
    private_pem: str
    public_pem: str
    cert_pem: str
    other_private_pem: str


def _private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="module")
def keys() -> Keys:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "asyncbulk-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return Keys(
        private_pem=_private_pem(key),
        public_pem=key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        other_private_pem=_private_pem(other),
    )


@dataclass
class Server:
    url: str
    registry: TokenRegistry
    requests: int = 0
    forms: list[dict[str, str]] = field(default_factory=list)


@asynccontextmanager
async def serve(
    keys: Keys | None = None,
    *,
    use_cert: bool = False,
    lifetime: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    delay: float = 0.0,
) -> AsyncIterator[Server]:
    """The token endpoint alone in a small aiohttp app on a free loopback port."""
    pem = None if keys is None else (keys.cert_pem if use_cert else keys.public_pem)
    config = EmulatorConfig(
        token_lifetime=lifetime,
        oauth=OAuthConfig(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            username=USERNAME,
            password=PASSWORD + SECURITY_TOKEN,
            jwt_public_key_pem=pem,
            refresh_tokens=(REFRESH,),
        ),
    )
    registry = TokenRegistry(lifetime=lifetime, clock=clock)
    state = Server(url="", registry=registry)

    @web.middleware
    async def count(request: web.Request, handler: Any) -> web.StreamResponse:
        state.requests += 1
        state.forms.append({k: str(v) for k, v in (await request.post()).items()})
        if delay:
            await anyio.sleep(delay)  # widen the refresh window for the concurrency tests
        response: web.StreamResponse = await handler(request)
        return response

    app = web.Application(middlewares=[count])
    # A token endpoint on its own (no org): any user id will do.
    app.add_routes(
        oauth_routes(registry, config, instance_url=lambda: state.url, user_id="005000000000001AAA")
    )
    async with TestServer(app, host="127.0.0.1") as server:
        state.url = f"http://127.0.0.1:{server.port}"
        yield state


class Poster:
    """What an auth method is handed: the client's own token POST (with its retries), plus the
    session for tests that post by hand."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    async def __call__(
        self, url: str, form: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, bytes]:
        return await self.transport.post_form(url, form, headers)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.transport.session.post(url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.transport.session.get(url, **kwargs)


@pytest.fixture
async def session() -> AsyncIterator[Poster]:
    transport = Transport(
        StaticToken("http://127.0.0.1:1", "unused-token"),
        retry=RetryConfig(base_delay=0.001, max_delay=0.01, budget=0.5, first_contact_budget=0.5),
        connections=4,
        timeout=10,
        connect_timeout=5,
        ssl_context=None,
    )
    await transport.open()
    try:
        yield Poster(transport)
    finally:
        await transport.close()


def jwt_auth(srv: Server, keys: Keys, **kwargs: Any) -> JwtBearer:
    options: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "username": USERNAME,
        "private_key": keys.private_pem,
        "login_url": srv.url,
    }
    options.update(kwargs)
    return JwtBearer(**options)


# --- JWT bearer ----------------------------------------------------------------------------------


class TestJwtBearer:
    @pytest.mark.parametrize("use_cert", [False, True], ids=["public-key", "certificate"])
    async def test_gets_a_token_the_emulator_accepts(
        self, keys: Keys, session: Poster, use_cert: bool
    ) -> None:
        async with serve(keys, use_cert=use_cert) as srv:
            auth = jwt_auth(srv, keys)
            creds = await auth.token(session)
            assert creds.instance_url == srv.url
            assert srv.registry.check(creds.access_token)
            assert srv.forms[0]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
            claims = jwt.decode(srv.forms[0]["assertion"], options={"verify_signature": False})
            assert claims["iss"] == CLIENT_ID and claims["sub"] == USERNAME and claims["aud"] == srv.url
            assert time.time() < claims["exp"] <= time.time() + 181

    async def test_token_is_cached_until_a_refresh_is_forced(self, keys: Keys, session: Poster) -> None:
        async with serve(keys) as srv:
            auth = jwt_auth(srv, keys)
            first = await auth.token(session)
            assert await auth.token(session) == first
            assert srv.requests == 1
            second = await auth.token(session, force_refresh=True)
            assert second != first and srv.requests == 2
            assert auth.refreshable

    async def test_private_key_from_a_file(self, keys: Keys, session: Poster, tmp_path: Any) -> None:
        key_file = tmp_path / "server.key"
        key_file.write_text(keys.private_pem)
        async with serve(keys) as srv:
            for key in (key_file, str(key_file)):
                creds = await jwt_auth(srv, keys, private_key=key).token(session)
                assert srv.registry.check(creds.access_token)

    @pytest.mark.parametrize(
        ("overrides", "error", "description"),
        [
            ({"private_key": "other"}, "invalid_grant", "invalid assertion"),
            ({"username": "someone.else@example.com"}, "invalid_grant", "user hasn't approved this consumer"),
            ({"client_id": "3MVG9-unknown"}, "invalid_client_id", "client identifier invalid"),
            ({"audience": "https://evil.example.com"}, "invalid_grant", "audience is invalid"),
        ],
        ids=["bad-signature", "wrong-user", "wrong-client", "wrong-audience"],
    )
    async def test_refusals_carry_salesforce_error_text(
        self,
        keys: Keys,
        session: Poster,
        overrides: dict[str, str],
        error: str,
        description: str,
    ) -> None:
        if overrides.get("private_key") == "other":
            overrides = {"private_key": keys.other_private_pem}
        async with serve(keys) as srv:
            with pytest.raises(AuthenticationError) as info:
                await jwt_auth(srv, keys, **overrides).token(session)
        assert info.value.status == 400
        assert info.value.error_code == error
        assert info.value.message == description
        assert error in str(info.value) and description in str(info.value)

    async def test_expired_assertion(
        self, keys: Keys, session: Poster, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import asyncbulk._auth._oauth as auth_module

        class PastClock:
            @staticmethod
            def time() -> float:
                return time.time() - 600

        monkeypatch.setattr(auth_module, "time", PastClock)
        async with serve(keys) as srv:
            with pytest.raises(AuthenticationError, match="expired authorization code"):
                await jwt_auth(srv, keys).token(session)

    async def test_no_certificate_configured_refuses_every_assertion(
        self, keys: Keys, session: Poster
    ) -> None:
        async with serve(None) as srv:
            with pytest.raises(AuthenticationError, match="invalid assertion"):
                await jwt_auth(srv, keys).token(session)

    def test_default_audience(self) -> None:
        assert default_audience("https://login.salesforce.com") == "https://login.salesforce.com"
        assert default_audience("https://test.salesforce.com") == "https://test.salesforce.com"
        assert default_audience("https://acme.my.salesforce.com") == "https://login.salesforce.com"
        assert (
            default_audience("https://acme--dev.sandbox.my.salesforce.com") == "https://test.salesforce.com"
        )
        assert (
            default_audience("https://community.acme.com/customers/")
            == "https://community.acme.com/customers"
        )

    def test_bad_keys_are_refused_without_echoing_them(self, tmp_path: Any) -> None:
        garbage = "-----BEGIN PRIVATE KEY-----\nTOPSECRETKEYMATERIAL\n-----END PRIVATE KEY-----\n"
        with pytest.raises(ValueError, match="not an unencrypted PEM private key") as info:
            JwtBearer(CLIENT_ID, USERNAME, garbage)
        assert "TOPSECRET" not in str(info.value)
        with pytest.raises(ValueError, match="cannot read the key file"):
            JwtBearer(CLIENT_ID, USERNAME, tmp_path / "missing.key")


# --- the other OAuth flows -----------------------------------------------------------------------


class TestClientCredentials:
    async def test_form_fields(self, session: Poster) -> None:
        async with serve() as srv:
            creds = await ClientCredentials(CLIENT_ID, CLIENT_SECRET, srv.url).token(session)
            assert srv.registry.check(creds.access_token)
            assert srv.forms[0] == {
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            }

    @pytest.mark.parametrize(
        ("client_id", "secret", "error", "description"),
        [
            (CLIENT_ID, "wrong-secret", "invalid_client", "invalid client credentials"),
            ("3MVG9-unknown", CLIENT_SECRET, "invalid_client_id", "client identifier invalid"),
        ],
    )
    async def test_refusals(
        self, session: Poster, client_id: str, secret: str, error: str, description: str
    ) -> None:
        async with serve() as srv:
            with pytest.raises(AuthenticationError) as info:
                await ClientCredentials(client_id, secret, srv.url).token(session)
        assert (info.value.status, info.value.error_code, info.value.message) == (400, error, description)
        assert secret not in str(info.value)

    @pytest.mark.parametrize("url", ["https://login.salesforce.com", "https://test.salesforce.com/"])
    def test_refuses_the_generic_login_hosts(self, url: str) -> None:
        with pytest.raises(ValueError, match="My Domain"):
            ClientCredentials(CLIENT_ID, CLIENT_SECRET, url)


class TestRefreshToken:
    async def test_round_trip_with_and_without_secret(self, session: Poster) -> None:
        async with serve() as srv:
            for secret in (None, CLIENT_SECRET):
                creds = await RefreshToken(CLIENT_ID, REFRESH, client_secret=secret, login_url=srv.url).token(
                    session
                )
                assert srv.registry.check(creds.access_token)
            assert "client_secret" not in srv.forms[0]
            assert srv.forms[1]["client_secret"] == CLIENT_SECRET
            assert srv.forms[0]["refresh_token"] == REFRESH

    async def test_unknown_refresh_token(self, session: Poster) -> None:
        async with serve() as srv:
            with pytest.raises(AuthenticationError) as info:
                await RefreshToken(CLIENT_ID, "5Aep-unknown", login_url=srv.url).token(session)
        assert info.value.error_code == "invalid_grant"
        assert info.value.message == "expired access/refresh token"

    async def test_wrong_secret(self, session: Poster) -> None:
        async with serve() as srv:
            auth = RefreshToken(CLIENT_ID, REFRESH, client_secret="bad", login_url=srv.url)
            with pytest.raises(AuthenticationError, match="invalid client credentials"):
                await auth.token(session)

    async def test_a_rotated_refresh_token_is_used_next_time(self, session: Poster) -> None:
        seen: list[str] = []

        async def rotating(request: web.Request) -> web.Response:
            form = await request.post()
            seen.append(str(form["refresh_token"]))
            return web.json_response(
                {
                    "access_token": f"tok{len(seen)}",
                    "instance_url": "https://x.my.salesforce.com/",
                    "refresh_token": f"r{len(seen)}",
                }
            )

        app = web.Application()
        app.router.add_post(TOKEN_PATH, rotating)
        async with TestServer(app, host="127.0.0.1") as server:
            auth = RefreshToken(CLIENT_ID, "r0", login_url=f"http://127.0.0.1:{server.port}")
            assert (await auth.token(session)).instance_url == "https://x.my.salesforce.com"
            await auth.token(session, force_refresh=True)
        assert seen == ["r0", "r1"]


class TestUsernamePassword:
    async def test_password_plus_security_token(self, session: Poster) -> None:
        async with serve() as srv:
            auth = UsernamePassword(
                CLIENT_ID, CLIENT_SECRET, USERNAME, PASSWORD, login_url=srv.url, security_token=SECURITY_TOKEN
            )
            creds = await auth.token(session)
            assert srv.registry.check(creds.access_token)
            assert srv.forms[0]["password"] == PASSWORD + SECURITY_TOKEN

    @pytest.mark.parametrize(
        ("username", "password", "description"),
        [
            (USERNAME, PASSWORD, "authentication failure"),  # security token missing
            ("nobody@example.com", PASSWORD + SECURITY_TOKEN, "authentication failure"),
        ],
    )
    async def test_refusals(self, session: Poster, username: str, password: str, description: str) -> None:
        async with serve() as srv:
            auth = UsernamePassword(CLIENT_ID, CLIENT_SECRET, username, password, login_url=srv.url)
            with pytest.raises(AuthenticationError) as info:
                await auth.token(session)
        assert (info.value.error_code, info.value.message) == ("invalid_grant", description)
        assert PASSWORD not in str(info.value)


# --- the endpoint itself -------------------------------------------------------------------------


class TestTokenEndpoint:
    async def test_non_oauth_error_page_is_described_not_echoed(self, session: Poster) -> None:
        async with serve() as srv:
            # No token endpoint below this path: aiohttp's plain-text 404.
            auth = ClientCredentials(CLIENT_ID, CLIENT_SECRET, srv.url + "/nothing")
            with pytest.raises(AuthenticationError, match="HTTP 404 without an OAuth JSON body"):
                await auth.token(session)

    async def test_unreachable_endpoint_is_a_transport_error(self, session: Poster) -> None:
        from asyncbulk import TransportError

        async with serve() as srv:
            url = srv.url
        with pytest.raises(TransportError) as info:
            await ClientCredentials(CLIENT_ID, CLIENT_SECRET, url).token(session)
        assert CLIENT_SECRET not in str(info.value)


# --- the registry and token expiry ---------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TestTokenRegistry:
    async def test_token_expires_mid_load_and_a_refresh_recovers(self, keys: Keys, session: Poster) -> None:
        clock = FakeClock()
        async with serve(keys, lifetime=30, clock=clock) as srv:
            auth = jwt_auth(srv, keys)
            first = await auth.token(session)
            assert srv.registry.check(first.access_token)
            clock.now += 31
            assert not srv.registry.check(first.access_token)
            second = await auth.token(session, stale=first)
            assert second != first and srv.registry.check(second.access_token)


# --- one refresh for many callers ----------------------------------------------------------------


class TestSingleFlightRefresh:
    async def test_twenty_concurrent_forced_refreshes_make_one_request(self, session: Poster) -> None:
        async with serve(delay=0.05) as srv:
            auth = ClientCredentials(CLIENT_ID, CLIENT_SECRET, srv.url)
            first = await auth.token(session)
            results: list[Credentials] = []

            async def refresh() -> None:
                results.append(await auth.token(session, force_refresh=True))

            async with anyio.create_task_group() as tg:
                for _ in range(20):
                    tg.start_soon(refresh)
            assert srv.requests == 2
            assert len(results) == 20 and len(set(results)) == 1 and results[0] != first
            assert auth.fetch_count == 2

    async def test_stale_token_refreshes_only_if_still_cached(self, session: Poster) -> None:
        async with serve(delay=0.02) as srv:
            auth = ClientCredentials(CLIENT_ID, CLIENT_SECRET, srv.url)
            first = await auth.token(session)
            results: list[Credentials] = []

            async def refresh() -> None:
                results.append(await auth.token(session, stale=first))

            async with anyio.create_task_group() as tg:
                for _ in range(20):
                    tg.start_soon(refresh)
            assert srv.requests == 2 and len(set(results)) == 1
            # A latecomer holding the old token gets the new one without another request...
            assert await auth.token(session, stale=first) == results[0]
            assert srv.requests == 2
            # ...while the holder of the current token, refused again, triggers a new refresh.
            third = await auth.token(session, stale=results[0])
            assert third != results[0] and srv.requests == 3

    async def test_concurrent_first_calls_share_one_request_and_one_failure(self, session: Poster) -> None:
        async with serve(delay=0.05) as srv:
            good = ClientCredentials(CLIENT_ID, CLIENT_SECRET, srv.url)
            bad = ClientCredentials(CLIENT_ID, "wrong", srv.url)
            errors: list[BaseException] = []

            async def first_call() -> None:
                await good.token(session)

            async def failing_call() -> None:
                try:
                    await bad.token(session, force_refresh=True)
                except AuthenticationError as exc:
                    errors.append(exc)

            async with anyio.create_task_group() as tg:
                for _ in range(10):
                    tg.start_soon(first_call)
                    tg.start_soon(failing_call)
            assert srv.requests == 2
            assert len(errors) == 10
            # After a failure the next call tries again rather than replaying the error forever.
            with pytest.raises(AuthenticationError):
                await bad.token(session)
            assert srv.requests == 3


class TestCancelledRefresh:
    async def test_waiters_fetch_themselves_when_the_fetching_task_is_cancelled(
        self, session: Poster
    ) -> None:
        async with serve(delay=0.2) as srv:
            auth = ClientCredentials(CLIENT_ID, CLIENT_SECRET, srv.url)
            scopes: list[anyio.CancelScope] = []
            results: list[Credentials] = []

            async def doomed() -> None:
                with anyio.CancelScope() as scope:
                    scopes.append(scope)
                    await auth.token(session)

            async def waiter() -> None:
                results.append(await auth.token(session))

            async with anyio.create_task_group() as tg:
                tg.start_soon(doomed)  # takes the lock and starts the first fetch
                await anyio.sleep(0.05)
                tg.start_soon(waiter)
                await anyio.sleep(0.05)
                scopes[0].cancel()  # e.g. the job that asked first was aborted
            # The waiter neither inherited the CancelledError nor gave up: it fetched on its own.
            assert len(results) == 1 and srv.registry.check(results[0].access_token)
            assert auth.fetch_count == 2


# --- secrets stay secret -------------------------------------------------------------------------

SECRETS = [CLIENT_SECRET, PASSWORD, SECURITY_TOKEN, REFRESH, "BEGIN PRIVATE KEY", "BEGIN RSA PRIVATE KEY"]


def all_auth_objects(keys: Keys, url: str) -> Iterator[Any]:
    yield StaticToken(url, "00DSTATIC!static-access-token")
    yield jwt_auth(Server(url=url, registry=TokenRegistry(lifetime=None)), keys)
    yield ClientCredentials(CLIENT_ID, CLIENT_SECRET, url)
    yield RefreshToken(CLIENT_ID, REFRESH, client_secret=CLIENT_SECRET, login_url=url)
    yield UsernamePassword(
        CLIENT_ID, CLIENT_SECRET, USERNAME, PASSWORD, login_url=url, security_token=SECURITY_TOKEN
    )


class TestNoSecretsLeak:
    def test_reprs(self, keys: Keys) -> None:
        for auth in all_auth_objects(keys, "https://acme.my.salesforce.com"):
            text = repr(auth) + str(auth)
            for secret in [*SECRETS, "static-access-token", keys.private_pem[40:80]]:
                assert secret not in text, (type(auth).__name__, secret)
            assert "<hidden>" in text
        creds = Credentials("https://x.my.salesforce.com", "00D!very-secret-token")
        assert "very-secret-token" not in repr(creds) + str(creds) + f"{creds}"
        assert "access_token=<hidden>" in repr(creds)

    async def test_tokens_and_secrets_stay_out_of_logs_and_errors(
        self, keys: Keys, session: Poster, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        messages: list[str] = []
        async with serve(keys) as srv:
            tokens = []
            for auth in all_auth_objects(keys, srv.url):
                if isinstance(auth, StaticToken):
                    continue
                tokens.append((await auth.token(session)).access_token)
            failing = [
                ClientCredentials(CLIENT_ID, CLIENT_SECRET + "x", srv.url),
                RefreshToken(CLIENT_ID, REFRESH + "x", client_secret=CLIENT_SECRET, login_url=srv.url),
                UsernamePassword(CLIENT_ID, CLIENT_SECRET, USERNAME, PASSWORD, login_url=srv.url),
                jwt_auth(srv, keys, private_key=keys.other_private_pem),
            ]
            for auth in failing:
                with pytest.raises(AuthenticationError) as info:
                    await auth.token(session)
                messages.append(str(info.value))
                messages.append(repr(info.value))
        assert len(tokens) == 4 and any("got an access token" in r.getMessage() for r in caplog.records)
        logged = "\n".join(r.getMessage() for r in caplog.records)
        for text in [*messages, logged]:
            for secret in [*SECRETS, *tokens, keys.private_pem[40:80]]:
                assert secret not in text
