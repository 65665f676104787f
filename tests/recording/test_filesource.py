"""Opening a recording or a capture read-only fills the Workspace's models like a live session.

The capture is the shared one with Wireshark ground truth (two connections over
WebSocket, MQTT 3.1.1 and 5.0, a topic alias); the recording is made by recording a
session against the embedded broker.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from explorer.errors import ExplorerError
from explorer.model.events import FrameEvent, HandshakeRequest, HandshakeResponse, MessageReceived
from explorer.mqtt.packets import Publish
from explorer.recording import RecordingError, RecordingWriter
from explorer.workspace import Workspace
from tests.reference import SMALL_PCAPNG, needs_reference

CAPTURE = SMALL_PCAPNG


@needs_reference()
async def test_a_capture_fills_the_tree_the_trace_and_the_handshakes() -> None:
    async with Workspace() as workspace:
        source = await workspace.open_file(CAPTURE)
        await workspace.wait_loaded()
        assert source.kind == "capture"
        assert workspace.status.state == "file"
        topics = {node.topic for node in workspace.tree.topics()}
        assert {"sensors/temp", "sensors/humidity", "v5/data", "v5/paho/value"} <= topics
        # the message sent with a topic alias only is filed under its topic
        values = [m.payload for m in workspace.tree.find("v5/paho/value").history()]
        assert b"via alias" in values
        requests = [e for e in workspace.trace if isinstance(e, HandshakeRequest)]
        responses = [e for e in workspace.trace if isinstance(e, HandshakeResponse)]
        assert len(requests) == len(responses) >= 2
        frames = [e for e in workspace.trace if isinstance(e, FrameEvent)]
        assert frames
        picker = source.connections()
        assert len(picker) >= 2
        conns = sorted(c.conn for c in picker)
        await workspace.show_file_connection(conns[0])
        await workspace.wait_loaded()
        assert {e.conn for e in workspace.trace} == {conns[0]}
        assert [c.conn for c in source.connections()] == conns  # the picker still lists them all


async def test_a_recording_fills_the_models_for_one_connection_or_all(tmp_path: Path) -> None:
    path = tmp_path / "two.sqlite"
    writer = RecordingWriter(path, wall_offset=1_700_000_000.0)
    for n in range(30):
        topic = f"home/{'kitchen' if n % 2 else 'hall'}/t"
        payload = str(n).encode()
        writer.add(
            MessageReceived(
                n, float(n), n % 3 and 1, topic, payload, 1, False, Publish(topic, payload, 1, packet_id=1)
            )
        )
    writer.close()
    async with Workspace(history_count=5) as workspace:
        source = await workspace.open_file(path)
        await workspace.wait_loaded()
        assert workspace.tree.message_count == 30
        kitchen = workspace.tree.find("home/kitchen/t")
        assert kitchen is not None
        assert kitchen.count == 15
        assert [m.payload for m in kitchen.history()] == [str(n).encode() for n in range(21, 30, 2)]
        assert kitchen.last is not None
        assert kitchen.last.time == pytest.approx(1_700_000_029.0)
        assert [(c.conn, c.messages) for c in source.connections()] == [(0, 10), (1, 20)]
        await workspace.show_file_connection(0)
        await workspace.wait_loaded()
        assert workspace.tree.message_count == 10
        assert source.progress == 1.0


async def test_a_file_that_is_neither_is_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    async with Workspace() as workspace:
        with pytest.raises(RecordingError) as info:
            await workspace.open_file(path)
        assert str(info.value) == f"{path} is not a recording (not an SQLite file)"
        assert isinstance(info.value, ExplorerError)
