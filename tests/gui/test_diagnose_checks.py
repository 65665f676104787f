"""The desktop diagnoser's extra checks (as a browser, compression, publish size, idle),
ticked and typed in the dialog, against real servers on loopback (pytest-qt, qasync)."""

from __future__ import annotations

from typing import Any

import qasync
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from explorer.broker.config import BrokerConfig
from explorer.broker.faults import parse_faults
from explorer.broker.server import Broker
from explorer.client.options import ConnectionOptions
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Connack
from gui.widgets.main_window import MainWindow
from tests.diagnose.servers import mini_broker_handler, ws_server
from tests.gui.conftest import wait_for_batch, wait_signal


def test_publish_size_names_a_1kib_frame_limit_with_browser_checked(
    window: MainWindow, qloop: qasync.QEventLoop, qtbot: Any
) -> None:
    async def flow() -> Any:
        handler = mini_broker_handler(Connack())
        async with ws_server(handler, subprotocols=["mqtt"], max_size=1024) as port:
            dialog = window.open_diagnose(ConnectionOptions(url=f"ws://127.0.0.1:{port}/mqtt"))
            qtbot.mouseClick(dialog.checks["browser"], Qt.MouseButton.LeftButton)
            qtbot.keyClicks(dialog.fields["publish_size"], "4096")
            qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
            probing = dialog.state.text()
            (diagnosis,) = await wait_signal(window.bridge.probeFinished)
            return dialog, diagnosis, probing

    dialog, diagnosis, probing = qloop.run_until_complete(flow())
    assert "(as a browser, publishing 4,096 B)" in probing
    assert dialog.checks["browser"].isChecked()
    assert (diagnosis.layer, diagnosis.cause) == ("publish", "limit-ws-message-too-big")
    assert diagnosis.observed["extensions_offered"] == "permessage-deflate; client_max_window_bits"
    assert dialog._rows["publish"].text(1) == "✗"
    verdict = dialog.verdict.toPlainText()
    assert "Fails at the publish layer: Message too big for the WebSocket server (1009)" in verdict
    assert "PUBLISH of 4096 B" in verdict


def test_a_bad_idle_time_is_said_in_the_dialog_and_nothing_is_probed(
    window: MainWindow, qloop: qasync.QEventLoop, qtbot: Any
) -> None:
    dialog = window.open_diagnose(ConnectionOptions(url="ws://127.0.0.1:1/mqtt"))
    assert dialog.isVisible()
    assert not dialog.connect_button.isVisible()  # nothing found to connect with yet
    finished: list[Any] = []
    window.bridge.probeFinished.connect(finished.append)
    qtbot.keyClicks(dialog.fields["idle"], "soon")
    qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    assert dialog.state.text() == "Idle check: 'soon' is not a number of seconds"
    assert dialog.run_button.isEnabled()
    assert finished == []


def test_an_unexpected_idle_drop_is_explained_on_the_status_line(
    window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    async def flow() -> str:
        faults = parse_faults(["idle-drop=1.5"])
        config = BrokerConfig.ephemeral(sys_interval=0, tick_interval=0.1, faults=faults)
        async with Broker(config) as broker:
            assert broker.ws_url is not None
            window.connect_options(ConnectionOptions(url=broker.ws_url, keep_alive=60))
            error = window.status_line.labels["error"]
            await wait_for_batch(window.bridge, lambda: "The connection closed" in error.text(), timeout=20)
            return error.text()

    window.resize(1000, 700)
    shown = qloop.run_until_complete(flow())
    assert "after the last byte received" in shown
    assert "before the keep alive (60 s) was due" in shown
    # The long sentence is cut to the room left, whole in its tooltip: the window keeps its width.
    QApplication.processEvents()
    error = window.status_line.labels["error"]
    assert window.width() <= 1000
    assert window.minimumSizeHint().width() < 1000
    assert error.toolTip() == shown
    assert error.isVisible()
    assert error.geometry().right() <= window.status_line.width()


def test_a_typed_url_after_the_mqtt5_demo_connects_with_the_default_version(
    window: MainWindow, qloop: qasync.QEventLoop, qtbot: Any
) -> None:
    async def flow() -> tuple[str, str, Any]:
        assert await window.bridge.start_demo()
        await wait_for_batch(window.bridge, lambda: window.workspace.status.state == "connected")
        demo_version = window.workspace.status.mqtt_version or ""
        faults = parse_faults(["only-mqtt3.1.1"])
        async with Broker(BrokerConfig.ephemeral(sys_interval=0, faults=faults)) as broker:
            assert broker.ws_url is not None
            window.url.clear()
            qtbot.keyClicks(window.url, broker.ws_url)
            window.connect_url()
            await wait_for_batch(
                window.bridge,
                lambda: (
                    window.workspace.status.url == broker.ws_url
                    and window.workspace.status.state in ("connected", "failed")
                ),
            )
            status = window.workspace.status
            return demo_version, status.mqtt_version or "", status.state

    demo_version, version, state = qloop.run_until_complete(flow())
    assert demo_version == "5.0"
    assert (state, version) == ("connected", "3.1.1")


def test_a_wrong_path_on_a_311_only_broker_from_mqtt5_connects_with_this(
    window: MainWindow, qloop: qasync.QEventLoop, qtbot: Any
) -> None:
    async def flow() -> tuple[str, str, str, str]:
        faults = parse_faults(["only-mqtt3.1.1"])
        async with Broker(BrokerConfig.ephemeral(sys_interval=0, faults=faults)) as broker:
            assert broker.ws_url is not None
            wrong = broker.ws_url.replace("/mqtt", "/ws")
            dialog = window.open_diagnose(ConnectionOptions(url=wrong, mqtt_version=ProtocolVersion.V5))
            dialog.explore.setChecked(True)
            qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
            await wait_signal(window.bridge.probeFinished)
            button = dialog.connect_button.text()
            qtbot.mouseClick(dialog.connect_button, Qt.MouseButton.LeftButton)
            (url,) = await wait_signal(window.bridge.connected)
            return button, url, broker.ws_url, window.workspace.status.mqtt_version or ""

    button, url, right, version = qloop.run_until_complete(flow())
    assert button == "Connect with this: path /mqtt + MQTT 3.1.1"
    assert (url, version) == (right, "3.1.1")
