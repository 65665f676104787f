"""The desktop message panel renders the shared message view: the auto chart plots every
numeric field of a JSON payload, the diff is against the previous message, and the properties
are the shared rows (embedded broker over loopback, real MQTT 5 messages)."""

from __future__ import annotations

import json

import qasync

from explorer.mqtt.packets import Properties
from explorer.present.message import chart_view, property_rows
from gui.widgets.main_window import MainWindow
from tests.gui.conftest import wait_for_batch

TOPIC = "ux/air"
FIELDS = ("temperature", "humidity", "pressure", "co2", "battery")


def test_auto_chart_plots_all_five_numeric_fields_and_the_diff_names_the_previous_message(
    window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    async def flow() -> None:
        assert await window.bridge.start_demo(((TOPIC, 0),), demo=False)
        for i in range(3):
            payload = {
                "temperature": 20 + i,
                "humidity": 40,
                "pressure": 1013,
                "co2": 400 + i,
                "battery": 0.9,
            }
            await window.bridge.publish(
                TOPIC,
                json.dumps(payload).encode(),
                properties=Properties(content_type="application/json", user_properties=(("site", "lab"),)),
            )
        tree = window.workspace.tree
        await wait_for_batch(
            window.bridge,
            lambda: (
                (node := tree.find(TOPIC)) is not None
                and node.count == 3
                and window.topics.select_topic(TOPIC)
            ),
        )

    qloop.run_until_complete(flow())
    panel = window.messages
    node = window.workspace.tree.find(TOPIC)
    assert node is not None
    panel.tabs.setCurrentIndex(panel.TABS.index("Chart"))
    assert [series.field for series in panel.chart.series] == list(FIELDS)
    assert panel.chart.series == chart_view(node.history()).series
    assert [panel.chart_field.itemText(i) for i in range(1, panel.chart_field.count())] == list(FIELDS)
    panel.tabs.setCurrentIndex(panel.TABS.index("Diff"))
    diff = panel.diff.toPlainText()
    assert "--- previous message" in diff
    assert '+  "co2": 402,' in diff
    panel.tabs.setCurrentIndex(panel.TABS.index("Properties"))
    shown = panel.props.toPlainText()
    for row in property_rows(node.history()[-1]):
        assert f"{row.name}: {row.value}" in shown
    assert "user property: site = lab" in shown
