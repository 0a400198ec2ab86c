"""Shared test configuration: anyio on asyncio only (aiohttp is asyncio-only), the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from asyncbulk.emulator import Emulator, EmulatorConfig


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """A fresh in-memory emulator on a free loopback port, in the test's event loop."""
    async with Emulator(EmulatorConfig(workers=2, batch_size=500)) as emu:
        yield emu
