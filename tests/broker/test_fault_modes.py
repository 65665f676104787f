"""Each fault mode observed from a raw client over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.faults import FAULT_MODES, parse_faults
from explorer.broker.server import Broker
from explorer.errors import ExplorerError
from explorer.mqtt.enums import ConnackReasonCode, ProtocolVersion
from explorer.mqtt.packets import Connack, Connect, Publish, Suback, Subscribe, Subscription
from explorer.mqtt.reader import PacketReader
from tests.broker.rawclient import open_ws


async def _broker(*faults: str, **config: object) -> Broker:
    broker = Broker(BrokerConfig.ephemeral(faults=parse_faults(list(faults)), tcp_port=None, **config))
    await broker.start()
    return broker


@pytest.fixture
async def stop_after() -> AsyncIterator[list[Broker]]:
    brokers: list[Broker] = []
    yield brokers
    for broker in brokers:
        await broker.stop()


async def test_default_echoes_the_first_offered_supported_subprotocol(stop_after: list[Broker]) -> None:
    broker = await _broker()
    stop_after.append(broker)
    ws = await open_ws(broker.ws_port, subprotocols=("mqttv3.1", "mqtt"))
    assert ws.response.status == 101
    assert ws.response.headers["sec-websocket-protocol"] == "mqttv3.1"
    await ws.close()


async def test_default_accepts_an_upgrade_without_subprotocol(stop_after: list[Broker]) -> None:
    broker = await _broker()
    stop_after.append(broker)
    ws = await open_ws(broker.ws_port, subprotocols=None)
    assert ws.response.status == 101
    assert "sec-websocket-protocol" not in ws.response.headers
    await ws.close()


async def test_no_subprotocol_echo_leaves_the_header_out(stop_after: list[Broker]) -> None:
    broker = await _broker("no-subprotocol-echo")
    stop_after.append(broker)
    ws = await open_ws(broker.ws_port, subprotocols=("mqtt",))
    assert ws.response.status == 101
    assert "sec-websocket-protocol" not in ws.response.headers
    await ws.close()


async def test_echo_unoffered_subprotocol_answers_one_not_offered(stop_after: list[Broker]) -> None:
    broker = await _broker("echo-unoffered-subprotocol")
    stop_after.append(broker)
    ws = await open_ws(broker.ws_port, subprotocols=("mqtt",))
    assert ws.response.status == 101
    assert ws.response.headers["sec-websocket-protocol"] not in ("mqtt", "")
    await ws.close()


async def test_only_mqttv31_refuses_a_client_offering_only_mqtt(stop_after: list[Broker]) -> None:
    broker = await _broker("only-mqttv3.1")
    stop_after.append(broker)
    refused = await open_ws(broker.ws_port, subprotocols=("mqtt",))
    assert refused.response.status == 400
    accepted = await open_ws(broker.ws_port, subprotocols=("mqtt", "mqttv3.1"))
    assert accepted.response.headers["sec-websocket-protocol"] == "mqttv3.1"
    await refused.close()
    await accepted.close()


async def test_require_subprotocol_refuses_an_upgrade_without_one(stop_after: list[Broker]) -> None:
    broker = await _broker("require-subprotocol")
    stop_after.append(broker)
    ws = await open_ws(broker.ws_port, subprotocols=None)
    assert ws.response.status == 400
    await ws.close()


@pytest.mark.parametrize("faults", [(), ("strict-path-404",)])
async def test_other_paths_get_404(stop_after: list[Broker], faults: tuple[str, ...]) -> None:
    broker = await _broker(*faults)
    stop_after.append(broker)
    ws = await open_ws(broker.ws_port, path="/ws")
    assert ws.response.status == 404
    assert b"/mqtt" in ws.response.body
    await ws.close()


async def test_several_paths_can_accept_upgrades(stop_after: list[Broker]) -> None:
    broker = await _broker(ws_paths=("/mqtt", "/ws"))
    stop_after.append(broker)
    for path in ("/mqtt", "/ws", "/ws?token=1"):
        ws = await open_ws(broker.ws_port, path=path)
        assert ws.response.status == 101
        await ws.close()


async def test_origin_allow_list_refuses_other_origins_with_403(stop_after: list[Broker]) -> None:
    broker = await _broker("origin-allow=http://good.example,http://localhost:8000")
    stop_after.append(broker)
    good = await open_ws(broker.ws_port, origin="http://good.example")
    bad = await open_ws(broker.ws_port, origin="http://evil.example")
    missing = await open_ws(broker.ws_port)
    assert (good.response.status, bad.response.status, missing.response.status) == (101, 403, 403)
    for ws in (good, bad, missing):
        await ws.close()


async def _connected(broker: Broker, version: ProtocolVersion = ProtocolVersion.V311):  # type: ignore[no-untyped-def]
    ws = await open_ws(broker.ws_port)
    ws.version = version
    ws.mqtt = PacketReader(version)
    ws.send_packet(Connect(version, "raw"))
    return ws


async def test_text_frames_mode_sends_mqtt_in_text_frames(stop_after: list[Broker]) -> None:
    broker = await _broker("text-frames")
    stop_after.append(broker)
    ws = await _connected(broker)
    fin, opcode, payload = await ws.read_frame()
    assert (fin, opcode) == (True, 0x1)
    assert payload == bytes((0x20, 2, 0, 0))
    await ws.close()


async def test_split_frames_mode_splits_each_packet_over_n_frames(stop_after: list[Broker]) -> None:
    broker = await _broker("split-frames=3")
    stop_after.append(broker)
    ws = await _connected(broker)
    frames = [await ws.read_frame() for _ in range(3)]
    assert [(fin, opcode) for fin, opcode, _ in frames] == [(False, 0x2), (False, 0x0), (True, 0x0)]
    assert b"".join(payload for _, _, payload in frames) == bytes((0x20, 2, 0, 0))
    await ws.close()


async def test_default_sends_one_packet_per_binary_frame(stop_after: list[Broker]) -> None:
    broker = await _broker()
    stop_after.append(broker)
    broker.publish("r/1", b"a", retain=True)
    broker.publish("r/2", b"b", retain=True)
    ws = await _connected(broker)
    assert await ws.read_packets() == [Connack()]
    ws.send_packet(Subscribe(1, (Subscription("r/#"),)))
    sizes = [len(ws.mqtt.receive_data((await ws.read_frame())[2])) for _ in range(3)]
    assert sizes == [1, 1, 1]
    await ws.close()


async def test_coalesce_mode_puts_packets_written_together_in_one_frame(stop_after: list[Broker]) -> None:
    broker = await _broker("coalesce")
    stop_after.append(broker)
    broker.publish("r/1", b"a", retain=True)
    broker.publish("r/2", b"b", retain=True)
    ws = await _connected(broker)
    assert await ws.read_packets() == [Connack()]
    ws.send_packet(Subscribe(1, (Subscription("r/#"),)))
    packets = await ws.read_packets()
    assert [type(p) for p in packets] == [Suback, Publish, Publish]
    await ws.close()


async def test_idle_drop_closes_without_a_close_frame(stop_after: list[Broker]) -> None:
    broker = await _broker("idle-drop=0.2", tick_interval=0.05)
    stop_after.append(broker)
    ws = await _connected(broker)
    assert await ws.read_packets() == [Connack()]
    assert await ws.at_eof() == b""  # EOF with no close frame before it
    await ws.close()


async def test_close_after_handshake_sends_the_close_code(stop_after: list[Broker]) -> None:
    broker = await _broker("close-after-handshake=1008")
    stop_after.append(broker)
    ws = await open_ws(broker.ws_port)
    assert ws.response.status == 101
    fin, opcode, payload = await ws.read_frame()
    assert (fin, opcode, int.from_bytes(payload[:2], "big")) == (True, 0x8, 1008)
    await ws.close()


async def test_refuse_connect_mode_answers_with_the_reason_code(stop_after: list[Broker]) -> None:
    broker = await _broker("refuse-connect=not-authorized")
    stop_after.append(broker)
    ws = await _connected(broker, ProtocolVersion.V5)
    (connack,) = await ws.read_packets()
    assert isinstance(connack, Connack)
    assert connack.reason_code == ConnackReasonCode.NOT_AUTHORIZED
    await ws.close()


def test_every_documented_mode_parses() -> None:
    samples = {"origin-allow": "http://a", "split-frames": "2", "idle-drop": "1.5"}
    samples |= {"close-after-handshake": "4000", "refuse-connect": "0x87"}
    for name in FAULT_MODES:
        base = name.partition("=")[0]
        spec = f"{base}={samples[base]}" if "=" in name else base
        assert parse_faults([spec]).active


@pytest.mark.parametrize(
    "spec", ["nonsense", "split-frames=0", "idle-drop=x", "refuse-connect=0", "text-frames=1", "origin-allow"]
)
def test_bad_fault_specs_are_explained(spec: str) -> None:
    with pytest.raises(ExplorerError):
        parse_faults([spec])
