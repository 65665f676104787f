"""Snapshots of the main screens, drawn from the fixed session in ``scenario.py``.

Nothing live is drawn: the Workspace holds decoded golden bytes with fixed times, its
clock is fixed, wall-clock times are shown in UTC with a pinned offset, and no broker
runs. Update the snapshots with ``pytest tests/tui --snapshot-update`` after an
intended change of a screen, and look at the SVG diff first.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from explorer.diagnose import CAUSES, Diagnosis, Step
from explorer.workspace import Workspace
from tests.tui.conftest import settle
from tests.tui.scenario import scenario_workspace
from tui.app import ExplorerApp
from tui.screens.diagnose import DiagnoseScreen
from tui.screens.profiles import ProfilesScreen
from tui.screens.publish import PublishScreen
from tui.widgets.frames import FrameList
from tui.widgets.status import StatusLine
from tui.widgets.topics import TopicTreeView

SIZE = (140, 40)
# Event times are 1000 s + a little; this offset makes them 2026-01-01 12:00:00 UTC.
CLOCK_OFFSET = 1_767_268_800.0 - 1000.0

Snap = Callable[..., bool]


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def snapshot_app(tmp_path: Path, workspace: Workspace | None = None) -> ExplorerApp:
    return ExplorerApp(
        workspace or scenario_workspace(),
        autostart=False,
        clock_offset=CLOCK_OFFSET,
        screenshot_dir=str(tmp_path),
    )


async def _still(pilot: Pilot[Any]) -> None:
    """No blinking cursors: a blink caught half way would make the snapshot flaky."""
    for widget in pilot.app.screen.query("Input, TextArea"):
        widget.cursor_blink = False  # type: ignore[attr-defined]
    await pilot.pause()


async def _ready(pilot: Pilot[Any]) -> ExplorerApp:
    app = pilot.app
    assert isinstance(app, ExplorerApp)
    await settle(pilot, lambda: app.batches >= 1 and app.main_screen.ready)
    return app


async def _select_topic(pilot: Pilot[Any], topic: str) -> None:
    app = await _ready(pilot)
    tree = app.main_screen.query_one(TopicTreeView)
    node = app.workspace.tree.find(topic)
    assert node is not None
    widget_node = tree.reveal(node)
    assert widget_node is not None
    await pilot.pause()
    tree.move_cursor(widget_node)
    await pilot.pause()


def test_main_screen_with_a_json_topic(snap_compare: Snap, tmp_path: Path) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await _select_topic(pilot, "demo/sensors/livingroom/climate")
        await pilot.press("tab")  # focus leaves the tree so the cursor style is stable
        await _still(pilot)

    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZE, run_before=before)


def test_message_properties_tab(snap_compare: Snap, tmp_path: Path) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await _select_topic(pilot, "demo/sensors/livingroom/climate")
        pilot.app.main_screen.query_one("#message-tabs").active = "tab-props"  # type: ignore[attr-defined]
        await pilot.pause()

    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZE, run_before=before)


def test_frame_trace_with_a_packet_split_over_two_frames(snap_compare: Snap, tmp_path: Path) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        app = await _ready(pilot)
        await pilot.press("2")
        frames = app.main_screen.query_one(FrameList)

        def split_row() -> int | None:
            """The first frame of the split packet, once the frame that ends it is listed too."""
            first = None
            for row in range(frames.row_count):
                frame = frames.frame_at(row)
                if frame is None:
                    continue
                if first is None and not frame.fin:
                    first = row
                elif first is not None and any(part.role == "last" for part in frame.parts):
                    return first
            return None

        await settle(pilot, lambda: split_row() is not None)
        row = split_row()
        assert row is not None
        frames.go_to(row)
        # Going to a row stops following: wait until the status line says PAUSED.
        status = app.main_screen.query_one(StatusLine)
        await settle(pilot, lambda: status.model is not None and status.model.field("paused") is not None)
        await pilot.pause()

    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZE, run_before=before)


def test_handshake_tab(snap_compare: Snap, tmp_path: Path) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await _ready(pilot)
        await pilot.press("3")
        await pilot.pause()

    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZE, run_before=before)


def test_publish_dialog(snap_compare: Snap, tmp_path: Path) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        app = await _ready(pilot)
        app.push_screen(PublishScreen(app.workspace, topic="demo/sensors/kitchen/temperature"))
        await pilot.pause()
        await _still(pilot)

    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZE, run_before=before)


def test_diagnosis_verdict(snap_compare: Snap, tmp_path: Path) -> None:
    cause = CAUSES["connack-not-authorized"]
    diagnosis = Diagnosis(
        ok=False,
        layer=cause.layer,
        cause=cause.slug,
        explanation=cause.explanation.format_map(defaultdict(lambda: "0x87", reason_string="none")),
        fix=cause.fix,
        observed={"status line": "HTTP/1.1 101 Switching Protocols", "CONNACK": "20 02 00 05"},
        steps=[
            Step("dns", True, 0.4, "localhost -> 127.0.0.1"),
            Step("tcp", True, 0.3, "connected to 127.0.0.1:9001"),
            Step("http", True, 2.1, "101 Switching Protocols"),
            Step("websocket", True, 0.1, "subprotocol mqtt"),
            Step("mqtt", False, 1.2, "CONNACK refused"),
        ],
        url="ws://localhost:9001/mqtt",
    )

    async def before(pilot: Pilot[Any]) -> None:
        app = await _ready(pilot)
        screen = DiagnoseScreen(app.workspace, None)
        app.push_screen(screen)
        await pilot.pause()
        screen.query_one("#diagnose-url").value = diagnosis.url  # type: ignore[attr-defined]
        screen.show_diagnosis(diagnosis)
        await _still(pilot)

    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZE, run_before=before)


def test_profiles_screen_without_profiles(
    snap_compare: Snap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MQTTWS_CONFIG_DIR", str(tmp_path / "config"))

    async def before(pilot: Pilot[Any]) -> None:
        app = await _ready(pilot)
        app.push_screen(ProfilesScreen(app.workspace))
        await pilot.pause()
        await _still(pilot)

    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZE, run_before=before)
