"""Ways to run the emulator: in the current event loop, in its own thread, or in a child process."""

# Over the ~400-line aim: the three ways to run the emulator (in a loop, a thread, a child
# process) share start-up and shutdown, which is what a split would duplicate.
from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import urllib.request
from collections.abc import Callable, Coroutine
from dataclasses import asdict
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from ._config import EmulatorConfig, FaultConfig, OAuthConfig, Profile
from ._data import Org, Schema
from ._http import EmulatorState, build_app
from ._tls import make_certificate
from ._vocab import LATEST_VERSION

__all__ = ["Emulator", "EmulatorProcess", "EmulatorThread", "open_org", "parse_banner", "process_args"]

T = TypeVar("T")

_log = logging.getLogger("asyncbulk.emulator")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (or ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str) -> str | None:
    """The warning for binding beyond loopback, or ``None``."""
    if is_loopback(host):
        return None
    return (
        f"asyncbulk emulator: WARNING: listening on {host}, beyond loopback: anyone who can reach it "
        "can use its test org and, with the admin token, its control routes (/__emulator/*)"
    )


def open_org(config: EmulatorConfig) -> Org:
    """The org of this configuration (its schema file, its SQLite file)."""
    return Org(
        Schema.load(config.schema_path),
        config.db_path,
        admin_username=config.oauth.username,
        org_id=config.oauth.org_id,
    )


class _Endpoints:
    """Attributes shared by the three ways of running the emulator."""

    instance_url: str
    access_token: str
    #: The token of the ``/__emulator/*`` control routes.
    admin_token: str = ""
    ca_file: str | None = None
    api_version: str = LATEST_VERSION

    @property
    def base_url(self) -> str:
        """``{instance_url}/services/data/v66.0``."""
        return f"{self.instance_url}/services/data/v{self.api_version}"

    def client_ssl_context(self) -> ssl.SSLContext | None:
        """An SSL context that trusts this emulator's certificate (``None`` without TLS)."""
        if self.ca_file is None:
            return None
        return ssl.create_default_context(cafile=self.ca_file)


class Emulator(_Endpoints):
    """The emulator served from the running event loop on a free loopback port.

    ``async with Emulator(EmulatorConfig(...)) as emu:`` then use ``emu.instance_url`` and
    ``emu.access_token``; ``emu.org`` is the emulated org (records, jobs), ``emu.stats()`` the counters.

    :param config: how it runs; the defaults if ``None``.
    :param org: an org to serve instead of one opened from ``config`` (it is closed at stop).
    """

    def __init__(self, config: EmulatorConfig | None = None, *, org: Org | None = None) -> None:
        self.config = config or EmulatorConfig()
        self._org = org
        self._runner: web.AppRunner | None = None
        self._server: asyncio.Server | None = None
        self._tmpdir: str | None = None
        self.instance_url = ""
        self.access_token = ""
        self.ca_file = None
        self.state: EmulatorState | None = None

    @property
    def org(self) -> Org:
        """The emulated org: seed, count and query its records (thread-safe)."""
        assert self.state is not None, "the emulator is not running"
        return self.state.org

    async def start(self) -> None:
        """Open the org, bind the port and start the workers."""
        cfg = self.config
        org = self._org if self._org is not None else await asyncio.to_thread(open_org, cfg)
        ssl_context = None
        scheme = "http"
        if cfg.tls:
            self._tmpdir = tempfile.mkdtemp(prefix="asyncbulk-emulator-")
            cert, key = await asyncio.to_thread(make_certificate, self._tmpdir)
            ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ssl_context.load_cert_chain(cert, key)
            self.ca_file = cert
            scheme = "https"
        self.state = EmulatorState(cfg, org, instance_url=lambda: self.instance_url)
        self.access_token = self.state.access_token
        self.admin_token = self.state.admin_token
        app = build_app(self.state)
        # An idle keep-alive connection is closed after idle_timeout (aiohttp's keepalive_timeout).
        # An idle keep-alive connection is closed after idle_timeout (aiohttp's keepalive_timeout);
        # a body a handler left unread is drained for at most body_timeout (10 s at most), then
        # the connection is closed: a client that stops sending is not waited for.
        self._runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            keepalive_timeout=cfg.idle_timeout,
            lingering_time=min(10.0, cfg.body_timeout),
        )
        await self._runner.setup()
        assert self._runner.server is not None
        # Our own listening socket rather than a TCPSite: each new connection gets a deadline for
        # its first request's headers (see _http/_connections.py).
        factory = self.state.connections.protocol_factory(self._runner.server)
        self._server = await asyncio.get_running_loop().create_server(
            factory, cfg.host, cfg.port, ssl=ssl_context, reuse_address=True
        )
        port = self._server.sockets[0].getsockname()[1]
        self.instance_url = f"{scheme}://{cfg.host}:{port}"
        warning = exposure_warning(cfg.host)
        if warning is not None:
            _log.warning("%s", warning)

    async def stop(self) -> None:
        """Stop serving (jobs in flight stay saved for a restart with the same database)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        if self.state is not None:
            self.state.connections.cancel_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.state is not None:
            await asyncio.to_thread(self.state.org.close)
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def stats(self) -> dict[str, Any]:
        """Request, job and allocation counters: ``requests``, ``requests_by_kind``, ``jobs_created``,
        ``batches_used``, ``records_used``, ``api_usage``, ``api_limit``, ``faults_injected``,
        ``tokens_issued``, ``jobs`` and ``query_jobs`` (how many in each state)."""
        assert self.state is not None, "the emulator is not running"
        return self.state.stats()

    def set_faults(self, faults: FaultConfig) -> None:
        """Change the injected faults while running."""
        assert self.state is not None, "the emulator is not running"
        self.state.set_faults(faults)

    def advance_clock(self, seconds: float) -> float:
        """Move the org's clock forward (see ``POST /__emulator/clock``); the org's new time."""
        assert self.state is not None, "the emulator is not running"
        return self.state.advance_clock(seconds)


class EmulatorThread(_Endpoints):
    """The emulator in its own thread and event loop, for synchronous code and CLI tests.

    ``with EmulatorThread(EmulatorConfig(...)) as emu:`` then use ``emu.instance_url`` and
    ``emu.access_token``; ``emu.org`` and ``emu.stats()`` as on :class:`Emulator`.

    :param config: how it runs; the defaults if ``None``.
    """

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self._emulator = Emulator(self.config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    def _run(self) -> None:
        async def main() -> None:
            self._stop = asyncio.Event()
            try:
                await self._emulator.start()
            except BaseException as exc:
                self._error = exc
                self._ready.set()
                return
            self._ready.set()
            try:
                await self._stop.wait()
            finally:
                await self._emulator.stop()

        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(main())
        finally:
            # Connections a client left half-way may still be draining their bodies: end them, as
            # asyncio.run would, rather than leave them pending on a closed loop.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()

            async def drain() -> None:
                await asyncio.gather(*pending, return_exceptions=True)

            loop.run_until_complete(drain())
            loop.close()

    def __enter__(self) -> EmulatorThread:
        self._thread = threading.Thread(target=self._run, name="asyncbulk-emulator", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        self.instance_url = self._emulator.instance_url
        self.access_token = self._emulator.access_token
        self.admin_token = self._emulator.admin_token
        self.ca_file = self._emulator.ca_file
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(30)

    def _call(self, fn: Callable[[], T]) -> T:
        assert self._loop is not None

        async def run() -> T:
            return fn()

        coro: Coroutine[Any, Any, T] = run()
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    @property
    def org(self) -> Org:
        """The emulated org (thread-safe, so it may be called from this thread)."""
        return self._emulator.org

    def stats(self) -> dict[str, Any]:
        """Counters, read on the emulator's own loop."""
        return self._call(self._emulator.stats)

    def set_faults(self, faults: FaultConfig) -> None:
        """Change the injected faults while running."""
        self._call(lambda: self._emulator.set_faults(faults))

    def advance_clock(self, seconds: float) -> float:
        """Move the org's clock forward, on the emulator's own loop; the org's new time."""
        return self._call(lambda: self._emulator.advance_clock(seconds))


def process_args(config: EmulatorConfig, jwt_cert_file: str | None = None) -> list[str]:
    """Command-line options of ``python -m asyncbulk.emulator`` for a configuration.

    :param jwt_cert_file: a file holding ``config.oauth.jwt_public_key_pem`` (the command reads the
        certificate from a file).
    :raises ValueError: if the configuration has a JWT certificate but no file is given, or for a
        :class:`Profile` that is not one of the named ones (only names go on a command line).
    """
    profile = config.the_profile
    if profile.name not in ("fast", "realistic") or profile != Profile.named(profile.name):
        raise ValueError("a child process takes a named profile only ('fast' or 'realistic')")
    args = ["--host", config.host, "--port", str(config.port), "--workers", str(config.workers)]
    args += ["--profile", profile.name, "--seed", str(config.seed)]
    args += ["--header-timeout", str(config.header_timeout), "--idle-timeout", str(config.idle_timeout)]
    args += ["--body-timeout", str(config.body_timeout)]
    if config.admin_token is not None:
        args += ["--admin-token", config.admin_token]
    args += ["--batch-size", str(config.batch_size)]
    args += ["--api-request-limit", str(config.api_request_limit)]
    args += ["--daily-batch-limit", str(config.daily_batch_limit)]
    args += ["--daily-record-limit", str(config.daily_record_limit)]
    args += ["--query-page-records", str(config.query_page_records)]
    args += ["--query-page-bytes", str(config.query_page_bytes)]
    args += ["--daily-query-job-limit", str(config.daily_query_job_limit)]
    if config.query_rate is not None:
        args += ["--query-rate", str(config.query_rate)]
    if config.db_path:
        args += ["--db", config.db_path]
    if config.schema_path:
        args += ["--schema", config.schema_path]
    if config.records_per_second is not None:
        args += ["--rate", str(config.records_per_second)]
    if config.token_lifetime is not None:
        args += ["--token-lifetime", str(config.token_lifetime)]
    if config.access_token is not None:
        args += ["--access-token", config.access_token]
    if config.tls:
        args.append("--tls")
    f = config.faults
    for flag, value in (
        ("--fault-500", f.error_500),
        ("--fault-503", f.error_503),
        ("--fault-limit", f.limit_exceeded),
        ("--fault-drop-before", f.drop_before),
        ("--fault-drop-after", f.drop_after),
        ("--fault-slow", f.slow),
        ("--fault-job-failed", f.job_failed),
        ("--fault-lock", f.lock_failure),
        ("--fault-result-503", f.result_503),
        ("--fault-result-cut", f.result_cut),
        ("--fault-result-token-expiry", f.result_token_expiry),
    ):
        if value:
            args += [flag, str(value)]
    if f.slow:
        args += ["--fault-slow-seconds", str(f.slow_seconds)]
    args += ["--fault-seed", str(f.seed)]
    return args + _oauth_args(config.oauth, jwt_cert_file)


def _oauth_args(oauth: OAuthConfig, jwt_cert_file: str | None) -> list[str]:
    default = OAuthConfig()
    args: list[str] = []
    for flag, value, usual in (
        ("--org-id", oauth.org_id, default.org_id),
        ("--username", oauth.username, default.username),
        ("--password", oauth.password, default.password),
        ("--client-id", oauth.client_id, default.client_id),
        ("--client-secret", oauth.client_secret, default.client_secret),
    ):
        if value != usual:
            args += [flag, value]
    for token in oauth.refresh_tokens:
        args += ["--refresh-token", token]
    if oauth.jwt_public_key_pem is not None:
        if jwt_cert_file is None:
            raise ValueError("a JWT certificate needs jwt_cert_file: the command reads it from a file")
        args += ["--jwt-cert", jwt_cert_file]
    return args


def parse_banner(line: str) -> dict[str, str]:
    """The ``key=value`` fields of the line ``asyncbulk emulator`` prints when it is ready."""
    prefix = "asyncbulk emulator:"
    if not line.startswith(prefix):
        raise RuntimeError(f"unexpected emulator output: {line!r}")
    return dict(item.split("=", 1) for item in line[len(prefix) :].split() if "=" in item)


class EmulatorProcess(_Endpoints):
    """The emulator as a child process (``python -m asyncbulk.emulator --port 0 ...``).

    Its org lives in the child, so only ``stats()`` and ``set_faults()`` reach it (over HTTP).

    :param config: how it runs; the defaults if ``None``.
    :param startup_timeout: seconds to wait for the child to exit when it fails to start.
    """

    def __init__(self, config: EmulatorConfig | None = None, *, startup_timeout: float = 30.0) -> None:
        self.config = config or EmulatorConfig()
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[str] | None = None
        self._tmpdir: str | None = None

    def __enter__(self) -> EmulatorProcess:
        cert_file = None
        pem = self.config.oauth.jwt_public_key_pem
        if pem is not None:
            self._tmpdir = tempfile.mkdtemp(prefix="asyncbulk-emulator-")
            cert_file = os.path.join(self._tmpdir, "jwt-cert.pem")
            with open(cert_file, "w", encoding="ascii") as f:
                f.write(pem)
        cmd = [sys.executable, "-m", "asyncbulk.emulator", *process_args(self.config, cert_file)]
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait(self.startup_timeout)
            raise RuntimeError(f"the emulator process exited with status {code} before it was ready")
        fields = parse_banner(line.strip())
        self.instance_url = fields["instance_url"]
        self.access_token = fields["access_token"]
        self.admin_token = fields.get("admin_token", "")
        self.ca_file = fields.get("ca_file")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def kill(self) -> int | None:
        """Kill the process at once (SIGKILL, as a crash would); returns its exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode

    def stop(self) -> int | None:
        """Ask the process to stop (SIGTERM) and wait for it; returns its exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
        return self.process.returncode

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.instance_url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        req.add_header("Authorization", f"Bearer {self.admin_token}")
        with urllib.request.urlopen(req, timeout=10, context=self.client_ssl_context()) as resp:
            return json.loads(resp.read())

    def stats(self) -> dict[str, Any]:
        """Counters, fetched from ``GET /__emulator/stats``."""
        result: dict[str, Any] = self._request("GET", "/__emulator/stats")
        return result

    def set_faults(self, faults: FaultConfig) -> None:
        """Change the injected faults while running (``POST /__emulator/faults``)."""
        self._request("POST", "/__emulator/faults", asdict(faults))

    def advance_clock(self, seconds: float) -> float:
        """Move the org's clock forward (``POST /__emulator/clock``); the org's new time."""
        answer: dict[str, float] = self._request("POST", "/__emulator/clock", {"advance": seconds})
        return answer["now"]
