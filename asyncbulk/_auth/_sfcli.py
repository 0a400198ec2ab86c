"""Borrow an org the Salesforce CLI is logged in to.

The CLI stores its tokens encrypted, so asking the CLI is the supported way to read them. Two CLI
generations answer differently:

* current releases (seen with 2.146.3) redact the token in ``sf org display --json``
  (``"accessToken": "[REDACTED] Use 'sf org auth show-access-token' to view"``) and print it with
  ``sf org auth show-access-token --target-org X --json`` (``result.accessToken``);
* older releases have no ``org auth show-access-token`` and show the token in ``org display``.

So :class:`SfCli` asks ``org auth show-access-token`` first and falls back to ``org display``;
whatever the answer, a value that is not a token (a placeholder, text with spaces) is refused with
one line that says what to run, never sent to the org.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any

from .._exceptions import AuthenticationError
from ._base import CachedAuth, Credentials, FormPost, require

__all__ = ["SfCli", "SfCliError"]

logger = logging.getLogger("asyncbulk.auth")

#: An access token is one word of printable ASCII (real ones look like ``00D...!AQ...``); anything
#: with spaces, brackets or nothing at all is a CLI's message standing where the token would be.
_TOKEN = re.compile(r"[!-~]{16,}")
_PLACEHOLDER = re.compile(r"redacted|show-access-token", re.IGNORECASE)


class SfCliError(AuthenticationError):
    """The Salesforce CLI could not give a token (not installed, unknown org, expired auth...).

    ``error_code`` is the CLI's error name (``NamedOrgNotFoundError``...), ``message`` its message.
    """

    def __init__(self, error_code: str | None, message: str, *, target_org: str, command: str) -> None:
        super().__init__(401, error_code, message, method="sf", path=command)
        self.target_org = target_org
        code = f"{error_code}: " if error_code else ""
        # Replace ApiError's "HTTP 401 ..." text: no HTTP request was made.
        self.args = (f"sf {command} --target-org {target_org}: {code}{message}",)

    def __str__(self) -> str:
        return str(self.args[0])


class _Answer:
    """One CLI run: its exit status and its JSON envelope (``{"status", "result" | "name", "message"}``)."""

    def __init__(self, returncode: int | None, stdout: bytes, stderr: bytes) -> None:
        self.returncode = returncode
        # stdout holds the token when all is well: it never goes into a message, only fields of it.
        text = stdout.decode("utf-8", "replace")
        start = text.find("{")  # some CLI versions print a warning line before the JSON
        try:
            envelope = json.loads(text[start:]) if start >= 0 else None
        except ValueError:
            envelope = None
        self.envelope: dict[str, Any] | None = envelope if isinstance(envelope, dict) else None
        self.stderr = stderr.decode("utf-8", "replace").strip()

    @property
    def ok(self) -> bool:
        return self.envelope is not None and self.envelope.get("status") == 0

    @property
    def result(self) -> dict[str, Any]:
        result = (self.envelope or {}).get("result")
        return result if isinstance(result, dict) else {}

    @property
    def unknown_command(self) -> bool:
        """The CLI does not have the command (an older generation)."""
        name = str((self.envelope or {}).get("name") or "")
        text = f"{name} {(self.envelope or {}).get('message') or ''} {self.stderr}".lower()
        return (
            "commandnotfound" in text.replace(" ", "")
            or "is not a sf command" in text
            or ("not found" in text and "command" in text)
        )


class SfCli(CachedAuth):
    """Borrow an org the Salesforce CLI is logged in to (``--target-org``).

    A refresh runs the CLI again (it refreshes an expired token itself).

    :param target_org: an alias or username known to ``sf``.
    :param sf_binary: the CLI executable (name on ``PATH`` or path).
    :param timeout: seconds to wait for the CLI.
    """

    def __init__(self, target_org: str, sf_binary: str = "sf", *, timeout: float = 120.0) -> None:
        super().__init__()
        self.target_org = require("target_org", target_org)
        self.sf_binary = require("sf_binary", sf_binary)
        self.timeout = timeout
        #: Whether this CLI has ``org auth show-access-token`` (unknown until it was asked).
        self._has_show_token: bool | None = None

    async def _run(self, *command: str) -> _Answer:
        argv = [self.sf_binary, *command, "--target-org", self.target_org, "--json"]
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise SfCliError(
                "CliNotFound",
                f"cannot run the Salesforce CLI {self.sf_binary!r} ({exc.strerror}); install it "
                "(https://developer.salesforce.com/tools/salesforcecli) or pass --access-token",
                target_org=self.target_org,
                command=" ".join(command),
            ) from None
        try:
            stdout, stderr = await asyncio.wait_for(proc.communicate(), self.timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise SfCliError(
                "Timeout",
                f"the Salesforce CLI did not answer within {self.timeout:g} s",
                target_org=self.target_org,
                command=" ".join(command),
            ) from None
        return _Answer(proc.returncode, stdout, stderr)

    async def _fetch(self, post: FormPost) -> Credentials:
        display = await self._run("org", "display")
        if not display.ok:
            raise self._failure(display, "org display")
        instance_url = display.result.get("instanceUrl")
        if not isinstance(instance_url, str) or not instance_url.startswith(("http://", "https://")):
            raise SfCliError(
                "NoInstanceUrl",
                "sf org display named no instance URL; is the org connected? "
                f"Try: sf org login web --alias {self.target_org}",
                target_org=self.target_org,
                command="org display",
            )
        token = display.result.get("accessToken")
        if self._has_show_token is not False:
            shown = await self._run("org", "auth", "show-access-token")
            if shown.ok:
                self._has_show_token = True
                token = shown.result.get("accessToken")
            elif shown.unknown_command:
                self._has_show_token = False  # an older CLI: org display shows the token itself
            else:
                raise self._failure(shown, "org auth show-access-token")
        if not isinstance(token, str) or not _TOKEN.fullmatch(token) or _PLACEHOLDER.search(token):
            raise SfCliError(
                "NoAccessToken",
                "the Salesforce CLI gave no usable access token (it printed a placeholder or nothing); "
                f"run `sf org auth show-access-token --target-org {self.target_org}` to check, update "
                f"the CLI (npm install -g @salesforce/cli), or log in again: sf org login web --alias "
                f"{self.target_org}",
                target_org=self.target_org,
                command="org display",
            )
        logger.debug("got an access token for %s from the Salesforce CLI", instance_url)
        return Credentials(instance_url.rstrip("/"), token)

    def _failure(self, answer: _Answer, command: str) -> SfCliError:
        envelope = answer.envelope
        if envelope is None:
            detail = answer.stderr[:300] or "no JSON on stdout"
            return SfCliError(
                "CliOutputError",
                f"exit code {answer.returncode}: {detail}",
                target_org=self.target_org,
                command=command,
            )
        name = envelope.get("name")
        return SfCliError(
            str(name) if name else None,
            str(envelope.get("message") or f"exit code {answer.returncode}"),
            target_org=self.target_org,
            command=command,
        )

    def __repr__(self) -> str:
        return f"SfCli(target_org={self.target_org!r}, sf_binary={self.sf_binary!r})"
