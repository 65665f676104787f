"""The embedded broker for the conformance suite, and the raw peers closed after each test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from tests.ws.conformance.peer import BrokerPeer


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0, tcp_port=None)) as running:
        yield running


@pytest.fixture
async def peers() -> AsyncIterator[list[BrokerPeer]]:
    """Append every peer a test opens; they are closed after it."""
    opened: list[BrokerPeer] = []
    yield opened
    for peer in opened:
        await peer.close()
