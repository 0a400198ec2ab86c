"""An auth method from command-line flags, files and the environment.

Secrets given as flags (``--client-secret S``) are visible to every local user in the process list
(``/proc/PID/cmdline``), so each has two other ways in: an environment variable, and a file
(``--client-secret-file FILE``, ``-`` for standard input).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from .._auth import (
    PRODUCTION_LOGIN_URL,
    Auth,
    ClientCredentials,
    JwtBearer,
    RefreshToken,
    SfCli,
    StaticToken,
    UsernamePassword,
)

__all__ = ["SECRETS", "auth_from_options", "read_secret"]

#: Each secret option: its flag, its file flag, and its environment variable.
SECRETS: dict[str, tuple[str, str, str]] = {
    "access_token": ("--access-token", "--access-token-file", "SF_ACCESS_TOKEN"),
    "client_secret": ("--client-secret", "--client-secret-file", "SF_CLIENT_SECRET"),
    "password": ("--password", "--password-file", "SF_PASSWORD"),
    "refresh_token": ("--refresh-token", "--refresh-token-file", "SF_REFRESH_TOKEN"),
}


def read_secret(option: str, source: str, stdin: TextIO | None = None) -> str:
    """The secret in file ``source`` (``-``: standard input), without its line ending.

    :raises ValueError: the file cannot be read or is empty, naming ``option``.
    """
    if source == "-":
        text = (stdin or sys.stdin).readline()
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"{option}: cannot read {source}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ValueError(f"{option}: {source} is not UTF-8 text") from None
    value = text.strip()
    if not value:
        where = "standard input" if source == "-" else source
        raise ValueError(f"{option}: {where} is empty")
    return value


def auth_from_options(
    *,
    instance_url: str | None = None,
    access_token: str | None = None,
    target_org: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    username: str | None = None,
    password: str | None = None,
    jwt_key_file: str | os.PathLike[str] | None = None,
    login_url: str | None = None,
    refresh_token: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Auth:
    """Pick the auth method the command-line options ask for.

    Pass the options as given on the command line (``None`` when absent; secrets read from their
    ``--*-file`` forms count as given); the environment variables ``SF_INSTANCE_URL``,
    ``SF_ACCESS_TOKEN``, ``SF_CLIENT_SECRET``, ``SF_PASSWORD`` and ``SF_REFRESH_TOKEN`` are read
    here and only fill in what was not given, so an exported secret never clashes with an explicit
    ``--target-org``.

    ===========================================  =============================================
    options                                      method
    ===========================================  =============================================
    ``--access-token`` + ``--instance-url``      :class:`StaticToken`
    ``--target-org``                             :class:`SfCli`
    ``--jwt-key-file --client-id --username``    :class:`JwtBearer`
    ``--refresh-token --client-id``              :class:`RefreshToken` (``--client-secret`` optional)
    ``--password --username --client-id``        :class:`UsernamePassword`
    + ``--client-secret``
    ``--client-id --client-secret``              :class:`ClientCredentials` (``--login-url`` or
                                                 ``--instance-url`` = My Domain URL)
    nothing                                      ``SF_ACCESS_TOKEN`` + ``SF_INSTANCE_URL``
    ===========================================  =============================================

    :param env: the environment to read (defaults to ``os.environ``).
    :raises ValueError: a missing, conflicting or unused option, named as on the command line.
    """
    env = os.environ if env is None else env
    if target_org is None and access_token is None and jwt_key_file is None and client_id is not None:
        # A connected app's flow whose secret comes from the environment.
        refresh_token = refresh_token or env.get("SF_REFRESH_TOKEN") or None
        if refresh_token is None:
            if username is not None:
                password = password or env.get("SF_PASSWORD") or None
            client_secret = client_secret or env.get("SF_CLIENT_SECRET") or None
    elif client_id is not None and refresh_token is not None:
        client_secret = client_secret or env.get("SF_CLIENT_SECRET") or None
    given = {
        "--instance-url": instance_url,
        "--access-token": access_token,
        "--target-org": target_org,
        "--client-id": client_id,
        "--client-secret": client_secret,
        "--username": username,
        "--password": password,
        "--jwt-key-file": jwt_key_file,
        "--login-url": login_url,
        "--refresh-token": refresh_token,
    }
    present = {name for name, value in given.items() if value is not None and str(value) != ""}

    # Options that choose a method by themselves; more than one is a contradiction.
    selectors: list[str] = [
        name
        for name in ("--access-token", "--target-org", "--jwt-key-file", "--refresh-token", "--password")
        if name in present
    ]
    if not selectors and {"--client-id", "--client-secret"} <= present and "--username" not in present:
        selectors = ["--client-secret"]
    if len(selectors) > 1:
        raise ValueError(f"choose one way to log in: {' and '.join(selectors)} cannot be used together")

    def check_only(allowed: set[str], method: str) -> None:
        extra = sorted(present - allowed)
        if extra:
            raise ValueError(f"{extra[0]} is not used with {method}")

    def need(name: str, method: str) -> str:
        value = given[name]
        if value is None or str(value) == "":
            raise ValueError(f"{name} is required with {method}")
        return str(value)

    choice = selectors[0] if selectors else None
    if choice == "--access-token":
        check_only({"--access-token", "--instance-url"}, "--access-token")
        url = instance_url or env.get("SF_INSTANCE_URL")
        if not url:
            raise ValueError("--instance-url (or SF_INSTANCE_URL) is required with --access-token")
        return StaticToken(url, str(access_token))
    if choice == "--target-org":
        check_only({"--target-org"}, "--target-org")
        return SfCli(str(target_org))
    if choice == "--jwt-key-file":
        method = "--jwt-key-file (JWT bearer flow)"
        check_only({"--jwt-key-file", "--client-id", "--username", "--login-url"}, method)
        return JwtBearer(
            need("--client-id", method),
            need("--username", method),
            Path(str(jwt_key_file)),
            login_url=login_url or PRODUCTION_LOGIN_URL,
        )
    if choice == "--refresh-token":
        method = "--refresh-token (refresh token flow)"
        check_only({"--refresh-token", "--client-id", "--client-secret", "--login-url"}, method)
        return RefreshToken(
            need("--client-id", method),
            str(refresh_token),
            client_secret=client_secret or None,
            login_url=login_url or PRODUCTION_LOGIN_URL,
        )
    if choice == "--password":
        method = "--password (username-password flow)"
        check_only({"--password", "--username", "--client-id", "--client-secret", "--login-url"}, method)
        return UsernamePassword(
            need("--client-id", method),
            need("--client-secret", method),
            need("--username", method),
            str(password),
            login_url=login_url or PRODUCTION_LOGIN_URL,
        )
    if choice == "--client-secret":
        method = "--client-id/--client-secret (client credentials flow)"
        check_only({"--client-id", "--client-secret", "--login-url", "--instance-url"}, method)
        if login_url and instance_url and login_url.rstrip("/") != instance_url.rstrip("/"):
            raise ValueError(f"give either --login-url or --instance-url (the My Domain URL) with {method}")
        domain = login_url or instance_url
        if not domain:
            raise ValueError(f"--login-url (your My Domain URL) is required with {method}")
        return ClientCredentials(str(client_id), str(client_secret), domain)

    # No method chosen: half-given OAuth options are a mistake, not a cue to fall back to the env.
    if "--username" in present and "--client-id" in present:
        raise ValueError(
            "--username needs --jwt-key-file (JWT bearer flow) or --password (username-password flow)"
        )
    leftovers = sorted(present - {"--instance-url"})
    if leftovers:
        hints = {
            "--client-id": "--client-id needs --client-secret, --jwt-key-file, --refresh-token or --password",
            "--client-secret": "--client-secret needs --client-id",
            "--username": "--username needs --client-id with --jwt-key-file or --password",
            "--login-url": "--login-url needs an OAuth flow (--client-id with a secret, key or token)",
        }
        raise ValueError(hints.get(leftovers[0], f"{leftovers[0]} is incomplete"))
    env_token = env.get("SF_ACCESS_TOKEN")
    url = instance_url or env.get("SF_INSTANCE_URL")
    if env_token:
        if not url:
            raise ValueError("--instance-url (or SF_INSTANCE_URL) is required with SF_ACCESS_TOKEN")
        return StaticToken(url, env_token)
    raise ValueError(
        "no credentials: pass --target-org, --access-token with --instance-url (or set SF_ACCESS_TOKEN "
        "and SF_INSTANCE_URL), or a connected app's --client-id with --client-secret, --jwt-key-file, "
        "--refresh-token or --password"
    )
