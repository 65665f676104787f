from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.broker.rawclient import close_all


@pytest.fixture(autouse=True)
async def _close_raw_clients() -> AsyncIterator[None]:
    yield
    await close_all()
