"""The terminal explorer's decoded views, driven with Pilot against the embedded broker's demo:
the camera thumbnail previewed as an image, the Sparkplug B node with named metrics and its
chart, a MessagePack field charted, and publishing typed JSON as MessagePack."""

from __future__ import annotations

import msgpack
from textual.widgets import OptionList, Select, Sparkline, Static, TabbedContent, Tree

from explorer.workspace import Workspace
from tests.tui.conftest import settle
from tui.app import ExplorerApp
from tui.screens.publish import PublishScreen
from tui.widgets.decoded import DecodedPane
from tui.widgets.message import MessagePane
from tui.widgets.sparkplug import SparkplugPane
from tui.widgets.topics import TopicTreeView

SIZE = (160, 48)


async def select_topic(pilot: object, app: ExplorerApp, topic: str) -> None:
    tree = app.main_screen.query_one(TopicTreeView)
    await settle(pilot, lambda: app.workspace.tree.find(topic) is not None)  # type: ignore[arg-type]
    await pilot.press("slash")  # type: ignore[attr-defined]
    await pilot.press(*topic)  # type: ignore[attr-defined]
    await pilot.press("enter")  # type: ignore[attr-defined]
    node = app.workspace.tree.find(topic)
    assert node is not None
    await settle(pilot, lambda: tree.node_for(node) is not None)  # type: ignore[arg-type]
    await pilot.press("G")  # type: ignore[attr-defined]
    await settle(pilot, lambda: tree.selected_topic is not None and tree.selected_topic.topic == topic)  # type: ignore[arg-type]


async def test_demo_thumbnail_is_previewed_as_an_image() -> None:
    app = ExplorerApp(Workspace())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.workspace.connected)
        await select_topic(pilot, app, "demo/camera/frontdoor/thumbnail")
        await pilot.press("v")
        pane = app.main_screen.query_one(DecodedPane)
        await settle(pilot, lambda: pane.view is not None and pane.view.image is not None)
        assert pane.view is not None
        assert pane.view.codec == "image"
        header = str(pane.query_one("#decoded-header", Static).render())
        assert header.startswith("image · ")
        preview = pane.query_one("#decoded-preview", Static).render()
        text = str(preview)
        assert text.startswith("PNG 64x48 8-bit RGB")
        assert text.count("▀") >= 24 * 16  # the block-character preview (no graphics in a test terminal)


async def test_sparkplug_node_has_named_metrics_and_a_chart() -> None:
    app = ExplorerApp(Workspace())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.workspace.connected)
        await settle(pilot, lambda: app.workspace.tree.find("spBv1.0/demo-plant/NDATA/edge-1") is not None)
        await pilot.press("4")
        pane = app.main_screen.query_one(SparkplugPane)
        await settle(pilot, lambda: any(row.level == "node" for row in pane.rows))
        await pilot.press("b")  # ask the demo node for a rebirth: its NBIRTH names the metrics
        await settle(pilot, lambda: any(row.label == "Temperature" for row in pane.rows), rounds=1000)
        labels = [row.label for row in pane.rows]
        assert labels[0] == "demo-plant/edge-1"
        assert {"Temperature", "Pressure", "Motor RPM", "pump-1", "Flow"} <= set(labels)
        node_row = pane.rows[0]
        assert node_row.value == "online"
        options = pane.query_one("#sparkplug-rows", OptionList)
        options.focus()
        options.highlighted = labels.index("Temperature")
        await pilot.press("enter")
        spark = pane.query_one("#sparkplug-chart", Sparkline)
        await settle(pilot, lambda: spark.display and len(spark.data or []) >= 2, rounds=1000)
        label = str(pane.query_one("#sparkplug-chart-label", Static).render())
        assert label.startswith("demo-plant/edge-1 Temperature: last ")


async def test_msgpack_field_is_charted_and_shown_as_a_tree() -> None:
    app = ExplorerApp(Workspace(), demo=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: "#" in app.workspace.subscriptions)
        for power in (1.5, 2.5, 4.0):
            await app.workspace.publish("plug/energy", msgpack.packb({"power": power, "on": True}))
        await settle(
            pilot, lambda: (n := app.workspace.tree.find("plug/energy")) is not None and n.count == 3
        )
        await select_topic(pilot, app, "plug/energy")
        await pilot.press("v")
        decoded = app.main_screen.query_one(DecodedPane)
        await settle(pilot, lambda: decoded.view is not None and decoded.view.codec == "msgpack")
        tree = decoded.query_one("#decoded-tree", Tree)
        leaves = [str(node.label) for node in tree.root.children]
        assert leaves == ["power: 4.0", "on: true"]
        await pilot.press("C")
        message = app.main_screen.query_one(MessagePane)
        select = message.query_one("#chart-field", Select)
        await settle(pilot, lambda: message._fields == ("power",))
        select.value = "power"
        spark = message.query_one("#sparkline", Sparkline)
        await settle(pilot, lambda: list(spark.data or []) == [1.5, 2.5, 4.0])
        await pilot.press("D")  # the diff compares decoded values, not hex dumps
        diff = str(message.query_one("#view-diff", Static).render())
        assert '-  "power": 2.5' in diff
        assert '+  "power": 4.0' in diff
        await pilot.press("y")
        history = message.query_one("#history", OptionList)
        await settle(pilot, lambda: history.option_count == 3)
        assert '[msgpack] {"power": 4.0, "on": true}' in str(history.get_option_at_index(0).prompt)


async def test_publish_typed_json_as_msgpack() -> None:
    app = ExplorerApp(Workspace(), demo=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: "#" in app.workspace.subscriptions)
        await pilot.press("p")
        await settle(pilot, lambda: isinstance(app.screen, PublishScreen))
        screen = app.screen
        assert isinstance(screen, PublishScreen)
        screen.query_one("#pub-topic").value = "enc/mp"  # type: ignore[attr-defined]
        screen.query_one("#pub-payload").text = '{"a": [1, 2.5]}'  # type: ignore[attr-defined]
        screen.query_one("#pub-codec", Select).value = "msgpack"
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: (n := app.workspace.tree.find("enc/mp")) is not None and n.count == 1)
        node = app.workspace.tree.find("enc/mp")
        assert node is not None
        message = node.history()[-1]
        assert msgpack.unpackb(message.payload) == {"a": [1, 2.5]}
        assert message.properties.content_type == "application/msgpack"
        assert app.main_screen.query_one("#main-tabs", TabbedContent).active == "tab-message"
