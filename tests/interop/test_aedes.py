"""Interoperability with aedes (Node.js) over WebSocket, MQTT 3.1.1.

aedes writes each MQTT packet in several pieces and the ``ws`` stream sends each piece
as its own frame, so every packet from the broker spans several frames: the client
must reassemble them and the trace must link each packet to its frames.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from explorer.client.driver import MqttClient
from explorer.client.options import ConnectionOptions
from explorer.model.events import FrameEvent, MessageReceived, PacketEvent, TraceEvent
from explorer.mqtt.packets import Pubcomp, Publish

pytestmark = pytest.mark.interop

NODE_DIR = Path(__file__).parent / "node"


def _available() -> bool:
    return shutil.which("node") is not None and (NODE_DIR / "node_modules" / "aedes").is_dir()


@pytest.fixture
async def aedes_url() -> AsyncIterator[str]:
    if not _available():
        if os.environ.get("CI") == "true":
            pytest.fail("node and aedes are required in CI (npm ci --prefix tests/interop/node)")
        pytest.skip("node or aedes is not installed (npm ci --prefix tests/interop/node)")
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(NODE_DIR / "aedes_server.js"),
        "0",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        port = int(line)
        yield f"ws://127.0.0.1:{port}/mqtt"
    finally:
        assert proc.stdin is not None
        proc.stdin.close()  # the server exits when its stdin closes
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def test_aedes_connect_subscribe_publish_every_qos(aedes_url: str) -> None:
    released = asyncio.Event()

    def on_event(event: TraceEvent) -> None:
        if isinstance(event, PacketEvent) and event.direction == "c2s" and isinstance(event.packet, Pubcomp):
            released.set()  # our PUBCOMP answers aedes's PUBREL for the inbound QoS 2 message

    client = MqttClient(ConnectionOptions(url=aedes_url), on_event=on_event)
    await client.connect()
    assert client.subprotocol == "mqtt"
    await client.subscribe("aedes/#", qos=2)
    messages = client.messages()
    for qos in (0, 1, 2):
        completion = await client.publish(f"aedes/{qos}", f"payload {qos}", qos=qos)
        assert (completion is None) == (qos == 0)
        message = await asyncio.wait_for(anext(messages), 10)
        assert (message.topic, message.payload, message.qos) == (
            f"aedes/{qos}",
            f"payload {qos}".encode(),
            qos,
        )
    assert client.session.packet_ids_in_use == frozenset()
    await asyncio.wait_for(released.wait(), 10)
    assert client.session.held_inbound_ids == frozenset()
    await client.close()


async def test_aedes_packets_spanning_frames_are_reassembled_and_linked(aedes_url: str) -> None:
    events: list[TraceEvent] = []
    client = MqttClient(ConnectionOptions(url=aedes_url), on_event=events.append)
    await client.connect()
    await client.subscribe("split/t", qos=1)
    await client.publish("split/t", b"0123456789" * 20, qos=1)
    await asyncio.wait_for(anext(client.messages()), 10)
    await client.close()
    frames = {f.index: f for f in events if isinstance(f, FrameEvent) and f.direction == "s2c"}
    inbound = [p for p in events if isinstance(p, PacketEvent) and p.direction == "s2c"]
    publish = next(p for p in inbound if isinstance(p.packet, Publish))
    assert len(publish.frames) > 1
    # The parts the frames say they carry put the packet's bytes back together.
    pieces = []
    for index in publish.frames:
        for part in frames[index].parts:
            if part.packet_no == publish.packet_no:
                pieces.append(frames[index].payload[part.frame_start : part.frame_end])
    assert b"".join(pieces) == publish.raw
    (message,) = [m for m in events if isinstance(m, MessageReceived)]
    assert message.payload == b"0123456789" * 20


async def test_aedes_answers_the_legacy_subprotocol(aedes_url: str) -> None:
    client = MqttClient(ConnectionOptions(url=aedes_url, subprotocols=("mqttv3.1",)))
    await client.connect()
    assert client.subprotocol == "mqttv3.1"
    await client.close()
