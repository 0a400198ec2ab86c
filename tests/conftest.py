"""Shared test configuration: anyio on asyncio only (aiohttp is asyncio-only), the emulator, and a
clean environment for every test (no user state, no exported credentials)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from _cases.org import Org

from asyncbulk.emulator import Emulator, EmulatorConfig, EmulatorThread


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """A fresh in-memory emulator on a free loopback port, in the test's event loop."""
    async with Emulator(EmulatorConfig(workers=2, batch_size=500)) as emu:
        yield emu


@pytest.fixture
def org() -> Iterator[Org]:
    """A fresh emulated org in its own thread (so blocking looks at it work from async tests)."""
    with EmulatorThread(EmulatorConfig(workers=2, batch_size=500)) as emulator:
        yield Org(emulator)


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own index of loads, never the user's ~/.local/state."""
    state = tmp_path / "asyncbulk-state"
    monkeypatch.setenv("ASYNCBULK_STATE_DIR", str(state))
    return state


@pytest.fixture(autouse=True)
def _no_env_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's exported credentials must neither leak into nor rescue a test."""
    for name in (
        "SF_INSTANCE_URL",
        "SF_ACCESS_TOKEN",
        "SF_CLIENT_SECRET",
        "SF_PASSWORD",
        "SF_REFRESH_TOKEN",
        "ASYNCBULK_CRASH_AT",
    ):
        monkeypatch.delenv(name, raising=False)
