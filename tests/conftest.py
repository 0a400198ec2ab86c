"""Shared test configuration: anyio on asyncio only (aiohttp is asyncio-only)."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
