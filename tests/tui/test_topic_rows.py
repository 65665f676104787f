"""The topic tree makes its rows lazily: per batch, under unfolded rows, labels on screen.

A burst of new topics must not cost one long batch, so rows are made up to
``NEW_ROWS_PER_BATCH`` per batch and only under unfolded rows; what the user sees is the
same as if every row had been made at once.
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from explorer.events import MessageReceived
from explorer.mqtt.packets import Publish
from explorer.workspace import Workspace
from tests.tui.conftest import settle
from tui.app import ExplorerApp
from tui.widgets.topics import NEW_ROWS_PER_BATCH, TopicTreeView

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
