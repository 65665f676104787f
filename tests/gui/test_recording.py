"""The desktop window with recordings and files, following a user's steps.

Record the demo with the Record action, stop it, open the recording (File → Open),
search a word that is in one payload and open the result in the message view, look at
the top talkers, then open the shared capture, pick a connection and walk its frames.
"""

from __future__ import annotations

from pathlib import Path

import qasync

from explorer.model.events import FrameEvent
from explorer.recording import Recording
from gui.widgets.main_window import MainWindow
from tests.gui.conftest import wait_for_batch
from tests.reference import SMALL_PCAPNG, needs_reference

CAPTURE = SMALL_PCAPNG


async def _loaded(window: MainWindow) -> None:
    await wait_for_batch(
        window.bridge, lambda: window.workspace.file is not None and window.workspace.file.done
    )
    await wait_for_batch(window.bridge, lambda: "read-only" in window.status_line.labels["file"].text())


def test_record_the_demo_then_open_search_and_see_the_top_talkers(
    window: MainWindow, qloop: qasync.QEventLoop, tmp_path: Path
) -> None:
    path = tmp_path / "demo.sqlite"

    async def record() -> None:
        assert await window.bridge.start_demo()
        assert window.toggle_recording(path=str(path))
        assert window.record_action.isChecked()
        sink = window.workspace.recording
        assert sink is not None
        await wait_for_batch(
            window.bridge,
            lambda: window.status_line.labels["recording"].text().startswith("● REC demo.sqlite"),
        )
        await wait_for_batch(window.bridge, lambda: sink.status().messages >= 20, timeout=60)
        window.record_action.trigger()  # stop
        await wait_for_batch(window.bridge, lambda: not sink.active and not window.record_action.isChecked())

    qloop.run_until_complete(record())
    with Recording(path) as recorded:
        messages = list(recorded.search())
    needle = next(m for m in messages if m.text and m.topic.startswith("demo/"))
    word = needle.topic.rsplit("/", 1)[-1]

    async def browse() -> None:
        assert await window.open_file(str(path))
        await _loaded(window)
        assert window.workspace.tree.message_count == len(messages)
        assert window.status_line.labels["state"].text() == "file"
        assert "101 Switching Protocols" in window.handshake.toPlainText()

        dialog = window.open_search()
        dialog.topic.setText(needle.topic)
        dialog.words.setText(word)
        dialog.go.click()
        assert dialog.task is not None
        await dialog.task
        assert dialog.table.rowCount() > 0
        assert all(row.topic == needle.topic for row in dialog.rows)
        chosen = dialog.rows[0].message
        dialog.table.cellDoubleClicked.emit(0, 0)
        assert window.messages.node is not None
        assert window.messages.node.topic == needle.topic
        assert window.messages.message is not None
        assert window.messages.message.payload == chosen.payload
        assert needle.topic in window.messages.title.text()
        dialog.close()

        stats = window.open_stats()
        assert stats.task is not None
        await stats.task
        names = [stats.table.item(r, 0).text() for r in range(stats.table.rowCount())]
        demo = sum(1 for m in messages if m.topic.startswith("demo/"))
        assert stats.table.item(names.index("demo/#"), 1).text() == f"{demo:,}"
        counts = [int(stats.table.item(r, 1).text().replace(",", "")) for r in range(stats.table.rowCount())]
        assert counts[0] == max(counts)  # top talkers first
        stats.sort.setCurrentText("bytes")
        await stats.task
        sizes = [stats.table.item(r, 2).text() for r in range(stats.table.rowCount())]
        assert sizes  # sorted by bytes now
        stats.close()

    qloop.run_until_complete(browse())


@needs_reference()
def test_open_the_shared_capture_pick_a_connection_and_walk_its_frames(
    window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    async def flow() -> None:
        assert await window.open_file(str(CAPTURE))
        await _loaded(window)
        assert window.workspace.tree.find("v5/paho/value") is not None
        assert "GET /mqtt HTTP/1.1" in window.handshake.toPlainText()
        source = window.workspace.file
        assert source is not None
        conns = [c.conn for c in source.connections()]
        assert len(conns) >= 2
        await window.workspace.show_file_connection(conns[1])
        await window.workspace.wait_loaded()
        model = window.trace.model

        def shown() -> bool:
            events = [model.event_at(r) for r in range(model.rowCount())]
            return bool(events) and all(e is not None and e.conn == conns[1] for e in events)

        await wait_for_batch(window.bridge, shown)
        frames = [r for r in range(model.rowCount()) if isinstance(model.event_at(r), FrameEvent)]
        assert frames
        assert {model.event_at(r).conn for r in range(model.rowCount())} == {conns[1]}  # type: ignore[union-attr]
        for row in frames[:5]:
            window.trace.select_row(row)
            assert window.trace.inspector.current_event is model.event_at(row)
        first = model.event_at(frames[0])
        assert isinstance(first, FrameEvent)
        window.trace.select_row(frames[0])
        assert first.header.hex(" ")[:5] in window.trace.inspector.hex.toPlainText()
        assert "opcode" in {
            window.trace.inspector.fields.item(r, 0).text()
            for r in range(window.trace.inspector.fields.rowCount())
        }

    qloop.run_until_complete(flow())


def test_open_a_file_that_is_not_a_recording_says_so(
    window: MainWindow, qloop: qasync.QEventLoop, tmp_path: Path, monkeypatch
) -> None:
    from PySide6.QtWidgets import QMessageBox

    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    assert not qloop.run_until_complete(window.open_file(str(path)))
    assert shown == [f"{path} is not a recording (not an SQLite file)"]
    assert window.workspace.file is None
