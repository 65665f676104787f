"""The Workspace's record toggle: the live session into a recording, started mid-session.

Against the embedded broker on loopback; also against aedes (Node), whose packets each
span several WebSocket frames, so the frames kept with ``frames`` are rebuilt across them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from explorer.client.options import ConnectionOptions
from explorer.model.events import FrameEvent, HandshakeRequest, PacketEvent
from explorer.mqtt.packets import Connect, Publish
from explorer.recording import Query, Recording, RecordingError
from explorer.workspace import Workspace
from tests.interop.conftest import require_node

NODE_DIR = Path(__file__).parents[1] / "interop" / "node"


@contextlib.asynccontextmanager
async def aedes_server() -> AsyncIterator[str]:
    """aedes (Node) on a free loopback port; a skip outside CI when Node or aedes is missing."""
    require_node("aedes")
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(NODE_DIR / "aedes_server.js"),
        "0",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    try:
        port = int(await asyncio.wait_for(proc.stdout.readline(), 30))
        yield f"ws://127.0.0.1:{port}/mqtt"
    finally:
        proc.stdin.close()  # the server exits when its stdin closes
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as server:
        yield server


async def wait_messages(workspace: Workspace, count: int) -> None:
    async with asyncio.timeout(20):
        async for batch in workspace.events():
            if workspace.tree.message_count >= count:
                return
            del batch


async def record_session(workspace: Workspace, url: str, path: Path) -> None:
    await workspace.connect(ConnectionOptions(url=url))
    await workspace.subscribe("ws/#", 1)
    await workspace.publish("ws/before", b"not recorded", qos=1)
    await wait_messages(workspace, 1)
    sink = workspace.start_recording(path, frames=True)
    for n in range(20):
        await workspace.publish(f"ws/t{n % 3}", f"value {n}".encode(), qos=1, retain=n == 0)
    await wait_messages(workspace, 21)
    # The recording in progress answers searches with what its writer has committed.
    async with asyncio.timeout(20):
        while len(found := await workspace.search(Query(topic="ws/#", text="value"))) < 20:
            await asyncio.sleep(0.05)  # the writer commits every quarter of a second
    assert [m.payload for m in found] == [f"value {n}".encode() for n in reversed(range(20))]
    stats, live = await workspace.topic_stats()
    assert live
    assert stats.rows(subtrees=False, sort="topic")[0].name == "ws/t0"
    status = sink.status()
    assert status.active
    assert status.path == str(path)
    final = await workspace.stop_recording()
    assert final is not None
    assert not final.active
    assert final.messages == 20
    assert final.dropped == 0
    assert final.file_size > 0


async def test_a_recording_started_mid_session_holds_the_handshake_and_what_followed(
    broker: Broker, tmp_path: Path
) -> None:
    path = tmp_path / "live.sqlite"
    assert broker.ws_url is not None
    async with Workspace() as workspace:
        await record_session(workspace, broker.ws_url, path)
        with pytest.raises(RecordingError, match="already exists"):
            workspace.start_recording(path)
    with Recording(path) as recording:
        rows = list(recording.search())
        assert [row.payload for row in rows] == [f"value {n}".encode() for n in range(20)]
        (connection,) = recording.connections()
        assert connection.source == broker.ws_url
        assert connection.status == 101
        assert connection.request is not None
        assert connection.request.startswith(b"GET /mqtt HTTP/1.1\r\n")
        events = list(recording.events())
    # Seeded from the trace buffer: the state and the handshake come before anything recorded.
    assert [type(e).__name__ for e in events[:3]] == ["StateChanged", "HandshakeRequest", "HandshakeResponse"]
    assert not any(isinstance(e, HandshakeRequest) for e in events[3:])
    assert any(isinstance(e, PacketEvent) and isinstance(e.packet, Connect) for e in events)
    publishes = [e for e in events if isinstance(e, PacketEvent) and isinstance(e.packet, Publish)]
    assert {e.packet.payload for e in publishes if e.direction == "s2c"} >= {
        f"value {n}".encode() for n in range(20)
    }


async def test_recording_against_aedes_keeps_frames_that_split_packets(tmp_path: Path) -> None:
    path = tmp_path / "aedes.sqlite"
    async with aedes_server() as url, Workspace() as workspace:
        await record_session(workspace, url, path)
    with Recording(path) as recording:
        assert [row.payload for row in recording.search()] == [f"value {n}".encode() for n in range(20)]
        events = list(recording.events())
    frames = [e for e in events if isinstance(e, FrameEvent) and e.direction == "s2c"]
    split = [f for f in frames if any(part.role != "whole" for part in f.parts)]
    assert split, "aedes writes each packet in several frames"
