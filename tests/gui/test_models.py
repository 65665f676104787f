"""The Qt item models over the TopicTree and the TraceBuffer pass Qt's model tester,
also while the core models change under them."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt

from explorer.model.events import ErrorReported, FrameEvent, PacketPart, StateChanged
from explorer.model.topictree import TopicTree
from explorer.model.trace import TraceBuffer
from gui.models.topic_model import NODE_ROLE, TopicFilterProxy, TopicTreeModel
from gui.models.trace_model import TraceFilter, TraceTableModel

TOPICS = (
    "home/kitchen/temp",
    "home/kitchen/humidity",
    "home/garage/door",
    "office/printer",
    "a//b",
    "$SYS/uptime",
)


def _tree() -> TopicTree:
    tree = TopicTree()
    for n, topic in enumerate(TOPICS):
        tree.add_message(topic, f"{n}".encode(), retain=topic.endswith("door"), time=float(n))
    return tree


def _frame(seq: int, index: int) -> FrameEvent:
    return FrameEvent(
        seq=seq,
        time=float(seq),
        conn=0,
        direction="s2c",
        index=index,
        stream_offset=index * 4,
        fin=True,
        rsv1=False,
        rsv2=False,
        rsv3=False,
        opcode=2,
        masked=False,
        mask_key=None,
        length_encoding="7bit",
        payload_length=2,
        header=b"\x82\x02",
        payload=b"\xd0\x00",
        parts=(PacketPart(index, "whole", 0, 2, 0, 2),),
        completed=(index,),
    )


def test_topic_model_passes_the_model_tester_while_topics_are_added_and_removed(qtmodeltester: Any) -> None:
    tree = _tree()
    model = TopicTreeModel(tree)
    qtmodeltester.check(model, force_py=True)
    tree.add_message("home/kitchen/light", b"on")
    tree.add_message("zoo/deep/er/topic", b"1")
    tree.remove(tree.find("home/garage"))  # type: ignore[arg-type]
    model.refresh(list(tree.topics()))
    qtmodeltester.check(model, force_py=True)
    assert model.rowCount() == len(list(tree.root.iter_children()))


def test_topic_model_rows_follow_the_tree_in_sorted_order() -> None:
    tree = _tree()
    model = TopicTreeModel(tree)
    names = [model.index(row, 0).data() for row in range(model.rowCount())]
    assert names == sorted(names)
    home = model.index(names.index("home"), 0)
    kitchen = model.index(1, 0, home)
    assert kitchen.data() == "kitchen"
    temp = model.index(1, 0, kitchen)
    assert temp.data(NODE_ROLE).topic == "home/kitchen/temp"
    assert model.index(1, TopicTreeModel.COL_VALUE, kitchen).data() == "0"
    assert home.siblingAtColumn(TopicTreeModel.COL_COUNT).data() == "3"
    assert model.parent(temp) == kitchen


def test_topic_model_value_column_shows_a_binary_payload_as_its_size() -> None:
    tree = TopicTree()
    model = TopicTreeModel(tree)
    cbor = bytes.fromhex("a167636f325f70706d19019c")  # {"co2_ppm": 412} in CBOR
    tree.add_message("home/air", cbor)
    tree.add_message("home/text", b"hello\nworld")
    home = model.index(0, 0)
    values = {
        model.index(row, 0, home).data(): model.index(row, TopicTreeModel.COL_VALUE, home).data()
        for row in range(2)
    }
    assert values == {"air": f"<{len(cbor)} B binary>", "text": "hello…"}


def test_topic_model_marks_retained_topics_in_bold() -> None:
    tree = _tree()
    model = TopicTreeModel(tree)
    door = model.index_of_topic("home/garage/door")
    assert door.data(Qt.ItemDataRole.FontRole).bold()
    printer = model.index_of_topic("office/printer")
    assert printer.data(Qt.ItemDataRole.FontRole) is None


def test_topic_model_reports_new_messages_as_data_changed_up_to_the_root(qtbot: Any) -> None:
    tree = _tree()
    model = TopicTreeModel(tree)
    node = tree.add_message("home/kitchen/temp", b"23.5")
    changed: list[tuple[str, str]] = []
    model.dataChanged.connect(lambda a, b, roles=(): changed.append((a.data(), b.data())))
    model.refresh([node])
    # One range per parent: the topic's own level, then kitchen, then home.
    assert [first for first, _ in changed] == ["temp", "kitchen", "home"]
    assert model.index_of_topic("home/kitchen/temp").siblingAtColumn(1).data() == "23.5"


def test_filter_proxy_keeps_ancestors_of_matching_topics(qtmodeltester: Any) -> None:
    tree = _tree()
    model = TopicTreeModel(tree)
    proxy = TopicFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_search("KITCHEN/HUM")
    qtmodeltester.check(proxy, force_py=True)
    assert proxy.rowCount() == 1
    home = proxy.index(0, 0)
    assert home.data() == "home"
    kitchen = proxy.index(0, 0, home)
    assert proxy.rowCount(kitchen) == 1
    assert proxy.index(0, 0, kitchen).data() == "humidity"
    tree.add_message("home/kitchen/humidity2", b"1")  # inserted while filtered
    assert proxy.rowCount(kitchen) == 2
    proxy.set_search("")
    assert proxy.rowCount() == model.rowCount()


def test_trace_model_passes_the_model_tester_while_the_buffer_drops_events(qtmodeltester: Any) -> None:
    trace = TraceBuffer(max_events=10)
    model = TraceTableModel(trace)
    qtmodeltester.check(model, force_py=True)
    for i in range(6):
        trace.append(_frame(i, i))
    model.refresh()
    assert model.rowCount() == 6
    for i in range(6, 25):
        trace.append(_frame(i, i))
    model.refresh()
    assert model.rowCount() == 10
    assert model.index(0, TraceTableModel.COL_SEQ).data() == "15"
    assert model.index(9, TraceTableModel.COL_SUMMARY).data() == "#24 binary FIN 2 B (1 MQTT packet)"
    qtmodeltester.check(model, force_py=True)


def test_trace_model_filters_by_layer_and_pauses() -> None:
    trace = TraceBuffer(max_events=100)
    model = TraceTableModel(trace)
    trace.append(StateChanged(seq=0, time=0.0, conn=0, state="connected"))
    trace.append(_frame(1, 0))
    trace.append(ErrorReported(seq=2, time=0.0, conn=0, direction="s2c", layer="mqtt", message="bad byte"))
    model.refresh()
    model.set_filter(TraceFilter(layers=frozenset({"error"})))
    assert model.rowCount() == 1
    assert model.event_at(0).message == "bad byte"  # type: ignore[union-attr]
    model.paused = True
    trace.append(ErrorReported(seq=3, time=0.0, conn=0, direction=None, layer="tcp", message="reset"))
    model.refresh()
    assert model.rowCount() == 1
    model.paused = False
    model.refresh()
    assert model.rowCount() == 2
    model.set_filter(TraceFilter(text="binary"))
    assert [model.event_at(r).seq for r in range(model.rowCount())] == [1]  # type: ignore[union-attr]
    model.set_filter(TraceFilter())
    assert model.rowCount() == 4
    assert model.row_of_position(trace.first_position + 2) == 2
    assert not model.index(0, 0, model.index(0, 0)).isValid()
    assert model.rowCount(model.index(0, 0)) == 0
    assert model.headerData(6, Qt.Orientation.Horizontal) == "Summary"
    assert model.data(QModelIndex()) is None
