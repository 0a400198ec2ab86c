"""Fixtures for the emulator's HTTP tests: a real emulator on loopback and an aiohttp client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from api_helpers import Api

from asyncbulk.emulator import Emulator, EmulatorConfig


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(EmulatorConfig(workers=2)) as emulator:
        yield emulator


@pytest.fixture
async def api(emu: Emulator) -> AsyncIterator[Api]:
    headers = {"Authorization": f"Bearer {emu.access_token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        yield Api(emu, session)
