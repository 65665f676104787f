"""The connect flow both explorers drive, against the embedded broker over loopback: connect
then subscribe, a failed connect handed on with its options (for the diagnoser), and the
sentence of a refused subscription."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.faults import parse_faults
from explorer.broker.server import Broker
from explorer.client.options import ConnectionOptions
from explorer.mqtt.enums import ProtocolVersion
from explorer.present.status import Severity
from explorer.workspace import Workspace
from explorer.workspace.flow import ConnectFlow, refusal_text


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def flow_connecting(self, options: ConnectionOptions) -> None:
        self.calls.append(("connecting", options.url))

    def flow_connected(self, url: str) -> None:
        self.calls.append(("connected", url))

    def flow_failed(self, message: str, options: ConnectionOptions) -> None:
        self.calls.append(("failed", options))

    def flow_subscribed(self, topic_filter: str, codes: list[int]) -> None:
        self.calls.append(("subscribed", (topic_filter, codes)))

    def flow_notice(self, text: str, severity: Severity) -> None:
        self.calls.append(("notice", (text, severity)))


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as b:
        yield b


async def test_connect_then_subscribe_in_order(broker: Broker) -> None:
    assert broker.ws_url is not None
    recorder = Recorder()
    async with Workspace() as ws:
        flow = ConnectFlow(ws, recorder)
        assert await flow.run(ConnectionOptions(url=broker.ws_url), (("a/#", 2), ("b", 1)))
        assert ws.subscriptions == {"a/#": 2, "b": 1}
    assert recorder.calls == [
        ("connecting", broker.ws_url),
        ("connected", broker.ws_url),
        ("subscribed", ("a/#", [2])),
        ("subscribed", ("b", [1])),
    ]


async def test_a_failed_connect_hands_on_its_options_for_the_diagnoser() -> None:
    config = BrokerConfig.ephemeral(sys_interval=0, faults=parse_faults(["refuse-connect=not-authorized"]))
    recorder = Recorder()
    async with Broker(config) as refusing, Workspace() as ws:
        assert refusing.ws_url is not None
        options = ConnectionOptions(url=refusing.ws_url, mqtt_version=ProtocolVersion.V5)
        assert not await ConnectFlow(ws, recorder).run(options, (("a/#", 0),))
    assert recorder.calls == [("connecting", options.url), ("failed", options)]


def test_a_refusal_names_the_filter_and_the_reason() -> None:
    assert refusal_text("a/#", 0x87) == "the broker refused the subscription to a/# (0x87 Not authorized)"
    assert refusal_text("a/#", 0x80) == "the broker refused the subscription to a/# (0x80 Unspecified error)"
