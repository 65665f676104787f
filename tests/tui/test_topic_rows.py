"""The topic tree makes its rows lazily: per batch, under unfolded rows, labels on screen.

A burst of new topics must not cost one long batch, so rows are made up to
``NEW_ROWS_PER_BATCH`` per batch and only under unfolded rows; what the user sees is the
same as if every row had been made at once.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from textual.pilot import Pilot

from explorer.model.events import MessageReceived
from explorer.mqtt.packets import Publish
from explorer.workspace import Workspace
from tests.tui.conftest import settle
from tui.app import ExplorerApp
from tui.widgets.topics import LABEL_INTERVAL, NEW_ROWS_PER_BATCH, TopicTreeView

SIZE = (120, 40)


def publish(ws: Workspace, *topics: str) -> None:
    for topic in topics:
        ws.ingest(
            MessageReceived(
                seq=ws.next_seq(),
                time=0.0,
                conn=0,
                topic=topic,
                payload=b"1.5",
                qos=0,
                retain=False,
                packet=Publish(topic, b"1.5"),
            )
        )


async def started(pilot: Pilot[Any]) -> tuple[ExplorerApp, TopicTreeView]:
    app = pilot.app
    assert isinstance(app, ExplorerApp)
    await settle(pilot, lambda: app.batches >= 1 and app.main_screen.ready)
    return app, app.main_screen.query_one(TopicTreeView)


def row_topics(tree: TopicTreeView) -> list[str]:
    """The topics of the rows as drawn, top to bottom."""
    rows = []
    for line in range(tree.last_line + 1):
        node = tree.get_node_at_line(line)
        if node is not None and node.data is not None:
            rows.append(node.data.topic)
    return rows


async def test_a_burst_of_new_topics_gets_its_rows_over_several_batches() -> None:
    app = ExplorerApp(Workspace(), autostart=False, max_rate_hz=50)
    async with app.run_test(size=SIZE) as pilot:
        _, tree = await started(pilot)
        count = 3 * NEW_ROWS_PER_BATCH
        before = app.batches
        publish(app.workspace, *(f"burst/{i:04d}" for i in range(count)))
        await settle(pilot, lambda: app.batches > before)
        made = sum(1 for i in range(count) if tree.node_for(app.workspace.tree.find(f"burst/{i:04d}")))  # type: ignore[arg-type]
        assert 0 < made <= NEW_ROWS_PER_BATCH
        # No new messages: the rest come with the following (heartbeat) batches.
        await settle(pilot, lambda: len(row_topics(tree)) == count + 1, rounds=1000)
        assert row_topics(tree) == ["burst", *(f"burst/{i:04d}" for i in range(count))]


async def test_rows_under_a_folded_row_are_made_when_it_is_unfolded() -> None:
    app = ExplorerApp(Workspace(), autostart=False, max_rate_hz=50)
    async with app.run_test(size=SIZE) as pilot:
        _, tree = await started(pilot)
        publish(app.workspace, "site/hall/meter/kwh", "site/hall/meter/volts", "site/yard/gate")
        await settle(pilot, lambda: "site/yard/gate" in row_topics(tree))
        meter = app.workspace.tree.find("site/hall/meter")
        kwh = app.workspace.tree.find("site/hall/meter/kwh")
        assert meter is not None
        assert kwh is not None
        meter_row = tree.node_for(meter)
        assert meter_row is not None
        assert not meter_row.is_expanded
        assert meter_row.allow_expand
        assert tree.node_for(kwh) is None
        assert "site/hall/meter/kwh" not in row_topics(tree)

        tree.focus()
        tree.move_cursor(meter_row)
        await pilot.press("l")
        await settle(pilot, lambda: "site/hall/meter/kwh" in row_topics(tree))
        rows = row_topics(tree)
        assert rows.index("site/hall/meter/kwh") == rows.index("site/hall/meter") + 1
        assert rows.index("site/hall/meter/volts") == rows.index("site/hall/meter") + 2
        # The new row shows its full label (count and value), not just its name.
        await settle(pilot, lambda: "1.5" in str(tree.node_for(kwh).label))  # type: ignore[union-attr]


async def test_expand_all_and_a_filter_show_the_deep_topics() -> None:
    app = ExplorerApp(Workspace(), autostart=False, max_rate_hz=50)
    async with app.run_test(size=SIZE) as pilot:
        _, tree = await started(pilot)
        publish(app.workspace, "a/b/c/d/e", "a/x")
        await settle(pilot, lambda: "a/x" in row_topics(tree))
        assert "a/b/c/d/e" not in row_topics(tree)
        tree.focus()
        await pilot.press("e")
        await settle(pilot, lambda: "a/b/c/d/e" in row_topics(tree))
        assert row_topics(tree) == ["a", "a/b", "a/b/c", "a/b/c/d", "a/b/c/d/e", "a/x"]

        await pilot.press("E")
        tree.set_filter("d/e")
        await pilot.pause()
        assert row_topics(tree) == ["a", "a/b", "a/b/c", "a/b/c/d", "a/b/c/d/e"]
        # New topics that match appear, deep or not; others do not.
        publish(app.workspace, "z/y/x/w/d/e", "z/other")
        await settle(pilot, lambda: "z/y/x/w/d/e" in row_topics(tree))
        assert "z/other" not in row_topics(tree)

        tree.set_filter("")
        await pilot.pause()
        rows = row_topics(tree)
        assert "z/other" in rows
        assert "a/b/c/d/e" not in rows


async def test_reveal_unfolds_the_way_to_a_deep_topic() -> None:
    app = ExplorerApp(Workspace(), autostart=False, max_rate_hz=50)
    async with app.run_test(size=SIZE) as pilot:
        _, tree = await started(pilot)
        publish(app.workspace, "deep/one/two/three/four")
        await settle(pilot, lambda: "deep/one" in row_topics(tree))
        leaf = app.workspace.tree.find("deep/one/two/three/four")
        assert leaf is not None
        row = tree.reveal(leaf)
        assert row is not None
        await pilot.pause()
        assert row_topics(tree)[-1] == "deep/one/two/three/four"


def send(ws: Workspace, topic: str, payload: bytes) -> None:
    ws.ingest(
        MessageReceived(
            seq=ws.next_seq(),
            time=0.0,
            conn=0,
            topic=topic,
            payload=payload,
            qos=0,
            retain=False,
            packet=Publish(topic, payload),
        )
    )


def label_of(tree: TopicTreeView, ws: Workspace, topic: str) -> str:
    found = ws.tree.find(topic)
    node = tree.node_for(found) if found is not None else None
    return str(node.label) if node is not None else ""


async def test_a_stream_of_changes_relabels_rows_at_most_every_interval_ending_on_the_last_value() -> None:
    app = ExplorerApp(Workspace(), autostart=False, max_rate_hz=50)
    async with app.run_test(size=SIZE) as pilot:
        _, tree = await started(pilot)
        ws = app.workspace
        send(ws, "meter/kwh", b"1")
        # A new row gets its full label at once, also right after a relabel (within the interval).
        await settle(pilot, lambda: label_of(tree, ws, "meter/kwh").endswith("= 1"))
        send(ws, "meter/volts", b"230")
        await settle(pilot, lambda: label_of(tree, ws, "meter/volts").endswith("= 230"))
        full_relabels: list[float] = []
        relabel = tree.relabel_visible

        def timed(*, only_new: bool = False) -> None:
            if not only_new:
                full_relabels.append(time.monotonic())
            relabel(only_new=only_new)

        tree.relabel_visible = timed  # type: ignore[method-assign]
        for value in range(2, 40):
            send(ws, "meter/kwh", str(value).encode())
            await settle(pilot, lambda before=app.batches: app.batches > before)
        await settle(pilot, lambda: label_of(tree, ws, "meter/kwh").endswith("= 39"), rounds=1000)
        gaps = [b - a for a, b in itertools.pairwise(full_relabels)]
        assert len(full_relabels) >= 2
        assert min(gaps) >= LABEL_INTERVAL * 0.8  # timers may fire a little early


def selected(tree: TopicTreeView) -> str | None:
    topic = tree.selected_topic
    return topic.topic if topic is not None else None


async def test_clearing_the_filter_keeps_the_topic_it_found_selected_and_in_view() -> None:
    app = ExplorerApp(Workspace(), autostart=False, max_rate_hz=50)
    async with app.run_test(size=SIZE) as pilot:
        _, tree = await started(pilot)
        publish(app.workspace, "a/b/c/d/e", "a/x", *(f"m/{i:02d}" for i in range(60)))
        await settle(pilot, lambda: "a/x" in row_topics(tree))
        tree.set_filter("d/e")
        await pilot.pause()
        tree.focus()
        await pilot.press("G")  # the last row: the hit
        await settle(pilot, lambda: selected(tree) == "a/b/c/d/e")
        tree.set_filter("")
        await settle(pilot, lambda: selected(tree) == "a/b/c/d/e")
        rows = row_topics(tree)
        assert rows[: rows.index("a/b/c/d/e") + 1] == ["a", "a/b", "a/b/c", "a/b/c/d", "a/b/c/d/e"]
        assert "m/59" in rows  # the rest of the tree is back
        top = tree.scroll_offset.y
        assert top <= tree.cursor_line < top + tree.size.height
