"""Diagnosis, profiles, export, split frames and retained messages, driven through the screens."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, Input, OptionList, RadioButton, TextArea

from explorer.broker.config import BrokerConfig
from explorer.broker.faults import parse_faults
from explorer.broker.server import Broker
from explorer.client.options import ConnectionOptions
from explorer.profiles.secret_store import SERVICE
from explorer.profiles.store import ProfileStore
from explorer.workspace import Workspace
from tests.keyring_support import config_dir, file_keyring
from tests.tui.conftest import settle
from tui.app import ExplorerApp
from tui.screens.diagnose import DiagnoseScreen
from tui.screens.dialogs import ConfirmScreen
from tui.screens.export import ExportScreen
from tui.screens.profiles import ProfilesScreen
from tui.widgets.frame_detail import FrameDetail
from tui.widgets.frames import FrameList
from tui.widgets.status import StatusLine

__all__ = ["config_dir", "file_keyring"]

SIZE = (160, 48)


async def faulty_broker(*faults: str) -> Broker:
    broker = Broker(BrokerConfig.ephemeral(faults=parse_faults(list(faults))))
    await broker.start()
    return broker


@pytest.fixture
async def refusing_broker() -> AsyncIterator[Broker]:
    broker = await faulty_broker("refuse-connect=not-authorized")
    try:
        yield broker
    finally:
        await broker.stop()


@pytest.fixture
async def splitting_broker() -> AsyncIterator[Broker]:
    broker = await faulty_broker("split-frames=3")
    try:
        yield broker
    finally:
        await broker.stop()


async def test_failed_connect_opens_the_diagnoser_which_names_the_refusal(refusing_broker: Broker) -> None:
    assert refusing_broker.ws_url is not None
    app = ExplorerApp(Workspace(), ConnectionOptions(url=refusing_broker.ws_url))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, DiagnoseScreen))
        screen = app.screen
        assert isinstance(screen, DiagnoseScreen)
        await settle(pilot, lambda: screen.diagnosis is not None)
        diagnosis = screen.diagnosis
        assert diagnosis is not None
        assert not diagnosis.ok
        assert diagnosis.layer == "mqtt"
        assert diagnosis.cause == "connack-not-authorized"
        shown = str(screen.query_one("#diagnose-result").render())
        assert "Fix:" in shown
        assert diagnosis.fix.split()[0] in shown
        steps = str(screen.query_one("#diagnose-steps").render())
        assert "✓ TCP" in steps
        assert "✗ MQTT CONNECT" in steps
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen is app.main_screen)
        status = app.main_screen.query_one(StatusLine)
        await settle(pilot, lambda: "failed" in status.plain)


async def test_diagnoser_reports_a_closed_port_at_the_tcp_layer() -> None:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        port = probe_socket.getsockname()[1]
    app = ExplorerApp(Workspace(), autostart=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d")
        await settle(pilot, lambda: isinstance(app.screen, DiagnoseScreen))
        screen = app.screen
        assert isinstance(screen, DiagnoseScreen)
        screen.query_one("#diagnose-url", Input).value = f"ws://127.0.0.1:{port}/mqtt"
        await pilot.press("ctrl+r")
        await settle(pilot, lambda: screen.diagnosis is not None)
        assert screen.diagnosis is not None
        assert screen.diagnosis.layer == "tcp"


async def test_profile_created_in_the_form_keeps_its_password_in_the_keyring_and_connects(
    config_dir: Path, file_keyring: Any
) -> None:
    app = ExplorerApp(Workspace(), demo=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.workspace.connected)
        broker = app.workspace.broker
        assert broker is not None
        assert broker.ws_url is not None
        await pilot.press("c")
        await settle(pilot, lambda: isinstance(app.screen, ProfilesScreen))
        screen = app.screen
        await pilot.press("ctrl+n")
        screen.query_one("#profile-name", Input).value = "lab"
        screen.query_one("#profile-url", Input).value = broker.ws_url
        screen.query_one("#profile-username", Input).value = "alice"
        screen.query_one("#profile-password", Input).value = "s3cret-pw"
        screen.query_one("#profile-subscriptions", TextArea).load_text("lab/#:1")
        await pilot.press("ctrl+s")
        store = ProfileStore()
        await settle(pilot, lambda: "lab" in store)
        profile = store.get("lab")
        assert profile.options.username == "alice"
        assert profile.options.password is None
        ref = profile.secret_refs["password"]
        assert file_keyring.get_password(SERVICE, ref) == "s3cret-pw"
        assert "s3cret-pw" not in store.path.read_text(encoding="utf-8")
        assert screen.query_one("#profile-password", Input).value == ""

        await pilot.press("ctrl+o")
        await settle(pilot, lambda: app.screen is app.main_screen)
        await settle(pilot, lambda: app.workspace.connected and "lab/#" in app.workspace.subscriptions)
        assert app.workspace.options is not None
        assert app.workspace.options.password == b"s3cret-pw"
        assert app.workspace.options.username == "alice"
        assert app.workspace.subscriptions["lab/#"] == 1


async def test_export_writes_messages_as_csv_and_the_trace_as_pcapng(tmp_path: Path) -> None:
    app = ExplorerApp(Workspace(), demo=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: "#" in app.workspace.subscriptions)
        await app.workspace.publish("export/me", b"42")
        await settle(pilot, lambda: app.workspace.tree.find("export/me") is not None)
        await pilot.press("ctrl+e")
        await settle(pilot, lambda: isinstance(app.screen, ExportScreen))
        screen = app.screen
        screen.query_one("#messages-csv", RadioButton).value = True
        await pilot.pause()
        target = tmp_path / "out.csv"
        screen.query_one("#export-path", Input).value = str(target)
        screen.query_one("#export", Button).press()
        await settle(pilot, target.exists)
        text = target.read_text(encoding="utf-8")
        assert "export/me" in text
        screen.query_one("#trace-pcapng", RadioButton).value = True
        await pilot.pause()
        pcap = tmp_path / "trace.pcapng"
        screen.query_one("#export-path", Input).value = str(pcap)
        screen.query_one("#export", Button).press()
        await settle(pilot, pcap.exists)
        assert pcap.read_bytes()[:4] == bytes.fromhex("0a0d0d0a")  # pcapng Section Header Block


async def test_a_packet_split_over_frames_links_its_frames(splitting_broker: Broker) -> None:
    assert splitting_broker.ws_url is not None
    app = ExplorerApp(Workspace(), ConnectionOptions(url=splitting_broker.ws_url))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: "#" in app.workspace.subscriptions)
        await app.workspace.publish("split/topic", b"spread over three frames")
        await settle(pilot, lambda: app.workspace.tree.find("split/topic") is not None)
        await pilot.press("2")
        frames = app.main_screen.query_one(FrameList)

        def first_of_split_publish() -> int | None:
            for row in range(frames.row_count):
                frame = frames.frame_at(row)
                if frame is None or frame.fin or frame.direction != "s2c" or not frame.parts:
                    continue
                packet = app.workspace.trace.packet(frame.conn, "s2c", frame.parts[0].packet_no)
                if packet is not None and packet.packet.TYPE.name == "PUBLISH" and len(packet.frames) == 3:
                    return row
            return None

        await settle(pilot, lambda: first_of_split_publish() is not None)
        row = first_of_split_publish()
        assert row is not None
        # Each row names its frame number, and every part of the split packet names the packet
        # and where the rest of it is.
        texts = [frames.render_line(row + k - frames.scroll_offset.y).text for k in range(3)]
        numbers = [frames.frame_at(row + k).index for k in range(3)]  # type: ignore[union-attr]
        span = f"frames {numbers[0]}-{numbers[2]}"
        for k, (text, number) in enumerate(zip(texts, numbers, strict=True)):
            assert text.split()[0] == str(number)
            assert f"[{k + 1}/3 {span}] PUBLISH" in text
        frames.go_to(row)
        detail = app.main_screen.query_one(FrameDetail)
        await settle(pilot, lambda: detail.frame is not None)
        first = detail.frame
        assert first is not None
        links = detail.query_one("#frame-links", OptionList)
        assert links.option_count == 2
        links.focus()
        links.highlighted = 1
        await pilot.press("enter")
        await settle(pilot, lambda: frames.current is not None and frames.current.index == first.index + 2)
        assert frames.current is not None
        assert not frames.follow


async def test_deleting_retained_messages_asks_first_then_clears_the_subtree() -> None:
    app = ExplorerApp(Workspace(), demo=False, subscriptions=())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.workspace.connected)
        await app.workspace.publish("keep/a", b"1", qos=1, retain=True)
        await app.workspace.publish("keep/b", b"2", qos=1, retain=True)
        # Retained messages come with the retain flag only to a new subscription [MQTT-3.3.1-9].
        await app.workspace.subscribe("#")
        tree = app.workspace.tree
        await settle(pilot, lambda: (node := tree.find("keep/b")) is not None and node.retained)
        await pilot.press("slash", *"keep", "enter", "g")
        await pilot.press("x")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")

        def cleared() -> bool:
            return not any(node.retained for node in tree.topics(tree.find("keep")))

        await settle(pilot, cleared)
        assert tree.find("keep/a") is not None  # the topics stay; only the marks go


async def test_profile_edit_keeps_the_stored_password_and_delete_removes_it(
    config_dir: Path, file_keyring: Any
) -> None:
    store = ProfileStore()
    app = ExplorerApp(Workspace(), autostart=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        await settle(pilot, lambda: isinstance(app.screen, ProfilesScreen))
        screen = app.screen
        screen.query_one("#profile-name", Input).value = "edge"
        screen.query_one("#profile-url", Input).value = "ws://edge.invalid:9001/mqtt"
        screen.query_one("#profile-password", Input).value = "first-pw"
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: "edge" in store)
        ref = store.get("edge").secret_refs["password"]

        screen.query_one("#profile-url", Input).value = "wss://edge.invalid/mqtt"
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: store.get("edge").options.url == "wss://edge.invalid/mqtt")
        assert store.get("edge").secret_refs["password"] == ref
        assert file_keyring.get_password(SERVICE, ref) == "first-pw"

        await pilot.press("ctrl+d")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await settle(pilot, lambda: "edge" not in store)
        assert file_keyring.get_password(SERVICE, ref) is None


async def test_a_retained_message_published_in_this_session_can_be_deleted_at_once() -> None:
    app = ExplorerApp(Workspace(), demo=False, subscriptions=(("#", 0),))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.workspace.connected and "#" in app.workspace.subscriptions)
        await app.workspace.publish("ux/test/json", b'{"v": 1}', qos=1, retain=True)
        tree = app.workspace.tree
        # The echo to the existing subscription has no retain flag [MQTT-3.3.1-9]; the mark stays.
        await settle(pilot, lambda: (node := tree.find("ux/test/json")) is not None and node.retained)
        await pilot.press("slash", *"json", "enter", "g")
        await pilot.press("x")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await settle(pilot, lambda: not app.workspace.retained_topics("ux"))
        node = tree.find("ux/test/json")
        assert node is not None
        assert not node.retained


async def test_export_suggests_a_new_file_in_the_documents_folder_and_asks_before_replacing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DOCUMENTS_DIR", str(home / "Documents"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    app = ExplorerApp(Workspace(), demo=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: "#" in app.workspace.subscriptions)
        await app.workspace.publish("export/me", b"42")
        await settle(pilot, lambda: app.workspace.tree.find("export/me") is not None)
        await pilot.press("ctrl+e")
        await settle(pilot, lambda: isinstance(app.screen, ExportScreen))
        screen = app.screen
        path_input = screen.query_one("#export-path", Input)
        suggested = Path(path_input.value)
        assert suggested.parent == home / "Documents"
        assert suggested.name.startswith("mqttws-trace-")
        assert suggested.suffix == ".pcapng"

        screen.query_one("#messages-csv", RadioButton).value = True
        await settle(pilot, lambda: Path(path_input.value).suffix == ".csv")
        assert Path(path_input.value).stem == suggested.stem

        target = tmp_path / "kept.csv"
        target.write_text("precious")
        path_input.value = str(target)
        screen.query_one("#export", Button).press()
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await settle(pilot, lambda: isinstance(app.screen, ExportScreen))
        assert target.read_text() == "precious"
        screen.query_one("#export", Button).press()
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await settle(pilot, lambda: "export/me" in target.read_text())


async def test_tab_skips_the_empty_frame_detail_until_a_frame_is_open() -> None:
    app = ExplorerApp(Workspace(), demo=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.workspace.connected)
        await pilot.press("2")
        detail = app.main_screen.query_one(FrameDetail)
        stops = []
        for _ in range(8):
            await pilot.press("tab")
            stops.append(app.focused)
        assert detail not in stops
        frames = app.main_screen.query_one(FrameList)
        await settle(pilot, lambda: frames.row_count > 0)
        frames.focus()
        await pilot.press("enter")
        await settle(pilot, lambda: detail.frame is not None)
        stops = []
        for _ in range(8):
            await pilot.press("tab")
            stops.append(app.focused)
        assert detail in stops


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_the_diagnoser_fits_a_small_terminal(size: tuple[int, int]) -> None:
    app = ExplorerApp(Workspace(), demo=False)
    async with app.run_test(size=size) as pilot:
        await settle(pilot, lambda: app.workspace.connected)
        await pilot.press("d")
        await settle(pilot, lambda: isinstance(app.screen, DiagnoseScreen))
        await pilot.pause()
        width, height = size
        for button in app.screen.query(Button):
            if button.display:
                region = button.region
                assert region.right <= width, button.id
                assert region.bottom <= height, button.id


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_the_profile_editor_fits_a_small_terminal(
    size: tuple[int, int], config_dir: Path, file_keyring: Any
) -> None:
    app = ExplorerApp(Workspace(), autostart=False)
    async with app.run_test(size=size) as pilot:
        await pilot.press("c")
        await settle(pilot, lambda: isinstance(app.screen, ProfilesScreen))
        await pilot.pause()
        width, height = size
        for button in app.screen.query(Button):
            if button.display and button.id != "profile-session":
                region = button.region
                assert region.right <= width, button.id
                assert region.bottom <= height, button.id
