"""A subscription the broker refuses (its ACL) is a warning, one it grants is kept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from explorer.client.options import ConnectionOptions
from explorer.mqtt.describe import suback_failed
from explorer.mqtt.enums import SubackReasonCode
from explorer.workspace import Workspace
from tests.tui.conftest import settle
from tui.app import ExplorerApp

SIZE = (160, 48)


@pytest.fixture
async def acl_broker(tmp_path: Path) -> AsyncIterator[Broker]:
    acl = tmp_path / "acl"
    acl.write_text("topic read allowed/#\n", encoding="utf-8")
    server = Broker(BrokerConfig.ephemeral(acl_file=acl))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def test_suback_failure_is_every_code_from_0x80() -> None:
    for code in SubackReasonCode:
        assert suback_failed(code) == (int(code) >= 0x80)


async def test_a_refused_subscription_is_a_warning_and_a_granted_one_is_kept(acl_broker: Broker) -> None:
    assert acl_broker.ws_url is not None
    app = ExplorerApp(Workspace(), ConnectionOptions(url=acl_broker.ws_url), subscriptions=())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.workspace.connected)
        await app.subscribe("secret/#")
        await app.subscribe("allowed/#")
        messages = [notification.message for notification in app._notifications]
        assert any("refused the subscription to secret/#" in message for message in messages)
        assert not any("allowed/#" in message for message in messages)
        assert app.workspace.subscriptions == {"allowed/#": 0}
