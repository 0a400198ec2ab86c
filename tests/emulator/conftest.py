"""Fixtures for the emulator's tests: ``api``, an aiohttp client on ``emulator`` (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from api_helpers import Api, QueryApi

from asyncbulk.emulator import Emulator


@pytest.fixture
async def api(emulator: Emulator) -> AsyncIterator[Api]:
    """An aiohttp session that sends the emulator's token, with helpers for jobs."""
    headers = {"Authorization": f"Bearer {emulator.access_token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        yield Api(emulator, session)


@pytest.fixture
async def qapi(emulator: Emulator) -> AsyncIterator[QueryApi]:
    """:func:`api` with the query-job helpers."""
    headers = {"Authorization": f"Bearer {emulator.access_token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        yield QueryApi(emulator, session)
