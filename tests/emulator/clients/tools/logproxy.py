"""A logging reverse proxy on loopback: what a real client asks, and what the emulator answers.

    python tests/emulator/clients/tools/logproxy.py UPSTREAM_URL PORT LOGFILE [--tls DIR]

Listens on ``127.0.0.1:PORT`` (HTTPS with ``--tls``, with a certificate written to DIR — trust
``DIR/emulator-cert.pem``, e.g. ``NODE_EXTRA_CA_CERTS`` for node clients) and forwards every request
to UPSTREAM_URL (an emulator started with plain HTTP). Each exchange is appended to LOGFILE as one
JSON object: method, raw path, request headers (``Authorization`` replaced), the start of both
bodies, status and response headers. The upstream's own URL in response bodies (token responses,
``nextRecordsUrl``) is rewritten to the proxy's, so that clients stay on the proxy. Paths are
forwarded exactly as sent (``//services/data`` stays ``//services/data``).

A tool for running clients by hand, not used by the tests.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import ssl
import sys
import time
from typing import Any, TextIO

import aiohttp
from aiohttp import web

from asyncbulk.emulator._server import make_certificate

# Hop-by-hop headers, and those aiohttp recomputes.
_SKIP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
    "host",
}


def _start_of(body: bytes, limit: int) -> str:
    text = body[:limit].decode("utf-8", "replace")
    return text + (f"...[+{len(body) - limit} bytes]" if len(body) > limit else "")


async def serve(upstream: str, port: int, log: TextIO, tls_dir: str | None) -> None:
    """Proxy until cancelled, writing one JSON line per exchange to ``log``."""
    ssl_context = None
    scheme = "http"
    if tls_dir is not None:
        cert, key = make_certificate(tls_dir)
        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_context.load_cert_chain(cert, key)
        scheme = "https"
    own = f"{scheme}://127.0.0.1:{port}"
    counter = 0

    async with aiohttp.ClientSession(auto_decompress=False) as session:

        async def handle(request: web.Request) -> web.StreamResponse:
            nonlocal counter
            counter += 1
            number = counter
            body = await request.read()
            headers = {k: v for k, v in request.headers.items() if k.lower() not in _SKIP}
            started = time.monotonic()
            async with session.request(
                request.method,
                upstream + request.raw_path,
                headers=headers,
                data=body or None,
                allow_redirects=False,
            ) as response:
                answer = await response.read()
                answer_headers = {k: v for k, v in response.headers.items() if k.lower() not in _SKIP}
            shown = answer
            if response.headers.get("Content-Encoding") == "gzip":
                shown = gzip.decompress(answer)
            elif upstream.encode() in answer:
                answer = shown = answer.replace(upstream.encode(), own.encode())
            entry: dict[str, Any] = {
                "n": number,
                "ms": round((time.monotonic() - started) * 1000),
                "method": request.method,
                "path": request.raw_path,
                "req_headers": {
                    k: ("[REDACTED]" if k.lower() == "authorization" else v)
                    for k, v in request.headers.items()
                },
                "req_body": _start_of(body, 800),
                "status": response.status,
                "resp_headers": {
                    k: v for k, v in response.headers.items() if k.lower() not in {"date", "server"}
                },
                "resp_body": _start_of(shown, 2000),
            }
            log.write(json.dumps(entry) + "\n")
            return web.Response(status=response.status, body=answer, headers=answer_headers)

        app = web.Application(client_max_size=200 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, ssl_context=ssl_context).start()
        print(f"logproxy: {own} -> {upstream}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()


def main(argv: list[str]) -> None:
    """Command line: UPSTREAM_URL PORT LOGFILE [--tls DIR]."""
    tls_dir = None
    if "--tls" in argv:
        at = argv.index("--tls")
        tls_dir = argv[at + 1]
        argv = argv[:at] + argv[at + 2 :]
    upstream, port, logfile = argv
    with open(logfile, "a", buffering=1) as log:
        asyncio.run(serve(upstream.rstrip("/"), int(port), log, tls_dir))


if __name__ == "__main__":
    main(sys.argv[1:])
