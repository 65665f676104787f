"""The desktop window's decoded views against the embedded broker's demo: the camera thumbnail
shown as an image, the Sparkplug B node with named metrics and a working chart, a MessagePack
field charted, and publishing typed JSON as CBOR."""

from __future__ import annotations

from typing import Any

import cbor2
import msgpack
import qasync
from PySide6.QtCore import Qt

from gui.widgets.main_window import MainWindow
from tests.gui.conftest import wait_for_batch, wait_signal

THUMBNAIL = "demo/camera/frontdoor/thumbnail"


def test_demo_thumbnail_is_shown_as_an_image(window: MainWindow, qloop: qasync.QEventLoop) -> None:
    async def flow() -> None:
        assert await window.bridge.start_demo()
        tree = window.workspace.tree
        await wait_for_batch(
            window.bridge, lambda: tree.find(THUMBNAIL) is not None and window.topics.select_topic(THUMBNAIL)
        )

    qloop.run_until_complete(flow())
    panel = window.messages
    panel.tabs.setCurrentIndex(panel.TABS.index("Decoded"))
    decoded = panel.decoded
    assert decoded.view is not None
    assert decoded.view.codec == "image"
    assert decoded.view.image is not None
    assert (decoded.view.image.width, decoded.view.image.height) == (64, 48)
    pixmap = decoded.image.pixmap()
    assert not pixmap.isNull()
    assert pixmap.width() == 64 * 5  # enlarged without smoothing
    assert decoded.stack.currentIndex() == 1
    assert decoded.header.text().startswith("<b>image · ")


def test_sparkplug_node_with_named_metrics_and_chart(
    window: MainWindow, qloop: qasync.QEventLoop, qtbot: Any
) -> None:
    spark = window.sparkplug
    window.sparkplug_dock.raise_()

    async def flow() -> None:
        assert await window.bridge.start_demo()
        await wait_for_batch(window.bridge, lambda: any(r.level == "node" for r in spark.rows))
        spark.request_rebirth()  # the demo node answers with NBIRTH and DBIRTH naming its metrics
        await wait_signal(window.bridge.published)
        await wait_for_batch(window.bridge, lambda: any(r.label == "Temperature" for r in spark.rows))
        assert spark.select_metric("Temperature")
        await wait_for_batch(window.bridge, lambda: len(spark.chart.points) >= 3)

    qloop.run_until_complete(flow())
    labels = {row.label for row in spark.rows}
    assert {"demo-plant/edge-1", "Temperature", "Pressure", "Motor RPM", "pump-1", "Flow"} <= labels
    node = spark.tree.topLevelItem(0)
    assert node.text(0) == "demo-plant/edge-1"
    assert node.text(2).startswith("online")
    assert spark.chart.title == "demo-plant/edge-1 Temperature"


def test_msgpack_field_chart_and_tree(window: MainWindow, qloop: qasync.QEventLoop) -> None:
    async def flow() -> None:
        assert await window.bridge.start_demo((("#", 0),), demo=False)
        for power in (1.5, 2.5, 4.0):
            await window.workspace.publish("plug/energy", msgpack.packb({"power": power}))
        tree = window.workspace.tree
        await wait_for_batch(
            window.bridge,
            lambda: (
                (n := tree.find("plug/energy")) is not None
                and n.count == 3
                and window.topics.select_topic("plug/energy")
            ),
        )

    qloop.run_until_complete(flow())
    panel = window.messages
    panel.tabs.setCurrentIndex(panel.TABS.index("Decoded"))
    item = panel.decoded.tree.topLevelItem(0)
    assert (item.text(0), item.text(1)) == ("power", "4.0")
    panel.tabs.setCurrentIndex(panel.TABS.index("Chart"))
    assert [value for _, value in panel.chart.points] == [1.5, 2.5, 4.0]


def test_publish_typed_json_as_cbor(window: MainWindow, qloop: qasync.QEventLoop, qtbot: Any) -> None:
    async def flow() -> None:
        assert await window.bridge.start_demo((("#", 0),), demo=False)
        panel = window.publisher
        panel.topic.setText("enc/cbor")
        panel.payload.setPlainText('{"a": [1, 2.5]}')
        panel.codec.setCurrentIndex(panel.codec.findData("cbor"))
        qtbot.mouseClick(panel.publish_button, Qt.MouseButton.LeftButton)
        await wait_signal(window.bridge.published)
        tree = window.workspace.tree
        await wait_for_batch(window.bridge, lambda: tree.find("enc/cbor") is not None)

    qloop.run_until_complete(flow())
    node = window.workspace.tree.find("enc/cbor")
    assert node is not None
    last = node.last
    assert last is not None
    assert cbor2.loads(last.payload) == {"a": [1, 2.5]}
    assert last.properties.content_type == "application/cbor"
