from __future__ import annotations

import json
import weakref
from dataclasses import dataclass, field

import pytest

from explorer.model.topictree import TopicNode, TopicTree
from explorer.mqtt.packets import NO_PROPERTIES, Properties


@dataclass
class RecordingListener:
    """Records listener calls and checks the tree's state at each one, as a Qt model would."""

    calls: list[tuple[str, str, int, str]] = field(default_factory=list)
    changed_topics: list[str] = field(default_factory=list)

    def inserting(self, parent: TopicNode, row: int, node: TopicNode) -> None:
        assert parent.get(node.name) is None
        self.calls.append(("inserting", parent.topic, row, node.name))

    def inserted(self, parent: TopicNode, row: int, node: TopicNode) -> None:
        assert parent.child(row) is node
        self.calls.append(("inserted", parent.topic, row, node.name))

    def removing(self, parent: TopicNode, row: int, node: TopicNode) -> None:
        assert parent.child(row) is node
        self.calls.append(("removing", parent.topic, row, node.name))

    def removed(self, parent: TopicNode, row: int, node: TopicNode) -> None:
        assert parent.get(node.name) is None
        self.calls.append(("removed", parent.topic, row, node.name))

    def changed(self, node: TopicNode) -> None:
        self.changed_topics.append(node.topic)


def test_levels_become_nodes_with_full_topic_rebuilt() -> None:
    tree = TopicTree()
    node = tree.add_message("home/kitchen/temp", b"21")
    assert node.topic == "home/kitchen/temp"
    assert node.name == "temp"
    assert node.depth == 3
    assert [n.name for n in node.ancestors()][:2] == ["kitchen", "home"]
    assert tree.find("home/kitchen") is node.parent
    assert tree.find("home/garage") is None
    assert "home/kitchen/temp" in tree


def test_empty_levels_are_kept_as_their_own_nodes() -> None:
    tree = TopicTree()
    tree.add_message("/a//b", b"x")
    node = tree.find("/a//b")
    assert node is not None
    assert node.topic == "/a//b"
    assert tree.root.child(0).name == ""


def test_counts_per_node_and_per_subtree() -> None:
    tree = TopicTree()
    tree.add_message("a/b", b"1")
    tree.add_message("a/b", b"2")
    tree.add_message("a/c", b"3")
    tree.add_message("a", b"4")
    a = tree.find("a")
    assert a is not None
    assert a.count == 1
    assert a.subtree_count == 4
    assert tree.message_count == 4
    assert tree.topic_count == 3
    assert tree.node_count == 3


def test_children_are_sorted_and_rows_are_found_by_name() -> None:
    tree = TopicTree()
    for name in ["delta", "alpha", "charlie", "bravo"]:
        tree.add_message(f"x/{name}", b"")
    x = tree.find("x")
    assert x is not None
    assert [child.name for child in x.iter_children()] == ["alpha", "bravo", "charlie", "delta"]
    for row in range(x.child_count):
        assert x.child(row).row == row
    with pytest.raises(IndexError):
        x.child(4)


def test_listener_sees_insertions_before_and_after_with_sorted_rows() -> None:
    tree = TopicTree()
    listener = RecordingListener()
    tree.add_listener(listener)
    tree.add_message("b/x", b"1")
    tree.add_message("a", b"2")
    tree.add_message("b/x", b"3")
    assert listener.calls == [
        ("inserting", "", 0, "b"),
        ("inserted", "", 0, "b"),
        ("inserting", "b", 0, "x"),
        ("inserted", "b", 0, "x"),
        ("inserting", "", 0, "a"),
        ("inserted", "", 0, "a"),
    ]
    assert listener.changed_topics == ["b/x", "a", "b/x"]


def test_last_message_keeps_qos_retain_time_and_properties() -> None:
    tree = TopicTree()
    props = Properties(content_type="text/plain", user_properties=(("k", "v"),))
    tree.add_message("t", b"one", qos=1, time=5.0)
    node = tree.add_message("t", b"two", qos=2, retain=True, time=6.5, properties=props)
    last = node.last
    assert last is not None
    assert (last.topic, last.payload, last.qos, last.retain, last.time) == ("t", b"two", 2, True, 6.5)
    assert last.properties == props
    first = node.history()[0]
    assert first.properties is NO_PROPERTIES
    assert first.qos == 1


def test_retained_flag_is_set_by_retained_payload_and_cleared_by_empty_retained() -> None:
    tree = TopicTree()
    marks = []
    for payload, retain in [(b"on", True), (b"live", False), (b"", True)]:
        node = tree.add_message("r", payload, retain=retain)
        marks.append(node.retained)
    assert marks == [True, True, False]
    assert node.count == 3


def test_set_retained_reports_a_change_once() -> None:
    tree = TopicTree()
    node = tree.add_message("r", b"on", retain=True)
    listener = RecordingListener()
    tree.add_listener(listener)
    tree.set_retained(node, False)
    tree.set_retained(node, False)
    assert listener.changed_topics == ["r"]
    assert not node.retained


def test_history_is_bounded_by_count() -> None:
    tree = TopicTree(history_count=3)
    for i in range(10):
        node = tree.add_message("t", str(i).encode(), time=float(i))
    assert [m.payload for m in node.history()] == [b"7", b"8", b"9"]
    assert node.history_bytes == 3
    assert node.count == 10


def test_history_is_bounded_by_bytes_but_keeps_the_last_message() -> None:
    tree = TopicTree(history_count=100, history_bytes=10)
    node = tree.add_message("t", b"aaaa")
    tree.add_message("t", b"bbbb")
    tree.add_message("t", b"cccc")
    assert [m.payload for m in node.history()] == [b"bbbb", b"cccc"]
    assert node.history_bytes == 8
    tree.add_message("t", b"x" * 50)
    assert [m.payload for m in node.history()] == [b"x" * 50]
    assert node.history_bytes == 50


def test_properties_column_survives_trimming() -> None:
    tree = TopicTree(history_count=2)
    props = Properties(content_type="a")
    tree.add_message("t", b"1", properties=props)
    tree.add_message("t", b"2")
    node = tree.add_message("t", b"3")
    assert [m.properties for m in node.history()] == [NO_PROPERTIES, NO_PROPERTIES]
    tree.add_message("t", b"4", properties=props)
    assert [m.properties for m in node.history()] == [NO_PROPERTIES, props]


def test_clear_history_keeps_only_the_last_message() -> None:
    tree = TopicTree()
    for i in range(5):
        node = tree.add_message("t", str(i).encode())
    tree.clear_history(node)
    assert [m.payload for m in node.history()] == [b"4"]


def test_numeric_series_from_plain_numbers_and_json_fields() -> None:
    tree = TopicTree()
    tree.add_message("n", b"21.5", time=1.0)
    tree.add_message("n", b"not a number", time=2.0)
    node = tree.add_message("n", b"-3", time=3.0)
    assert node.series() == [(1.0, 21.5), (3.0, -3.0)]

    for i, temp in enumerate([20, 21.25]):
        payload = json.dumps({"temp": temp, "hum": 40 + i, "id": "x"}).encode()
        js = tree.add_message("j", payload, time=float(i))
    assert js.series("temp") == [(0.0, 20.0), (1.0, 21.25)]
    assert js.series("hum") == [(0.0, 40.0), (1.0, 41.0)]
    assert js.series() == []  # two numeric fields: the caller must choose one


def test_remove_subtree_updates_counts_and_notifies() -> None:
    tree = TopicTree()
    tree.add_message("a/b/c", b"1")
    tree.add_message("a/b/d", b"2")
    tree.add_message("a/e", b"3")
    listener = RecordingListener()
    tree.add_listener(listener)
    b = tree.find("a/b")
    assert b is not None
    tree.remove(b)
    assert listener.calls == [("removing", "a", 0, "b"), ("removed", "a", 0, "b")]
    a = tree.find("a")
    assert a is not None
    assert a.subtree_count == 1
    assert tree.message_count == 1
    assert tree.topic_count == 1
    assert tree.node_count == 2
    assert tree.find("a/b/c") is None
    assert [child.name for child in a.iter_children()] == ["e"]


def test_removing_the_last_child_leaves_a_leaf() -> None:
    tree = TopicTree()
    node = tree.add_message("a/b", b"1")
    tree.remove(node)
    a = tree.find("a")
    assert a is not None
    assert a.child_count == 0
    assert list(a.iter_children()) == []


def test_root_cannot_be_removed_and_clear_empties_the_tree() -> None:
    tree = TopicTree()
    tree.add_message("a", b"1")
    tree.add_message("b/c", b"1")
    with pytest.raises(ValueError, match="root"):
        tree.remove(tree.root)
    tree.clear()
    assert tree.root.child_count == 0
    assert (tree.message_count, tree.topic_count, tree.node_count) == (0, 0, 0)


def test_search_by_substring_and_glob() -> None:
    tree = TopicTree()
    for topic in ["home/Kitchen/temp", "home/kitchen/hum", "home/garage/temp", "office/temp"]:
        tree.add_message(topic, b"1")
    assert [n.topic for n in tree.search("kitchen")] == ["home/Kitchen/temp", "home/kitchen/hum"]
    assert [n.topic for n in tree.search("kitchen", case_sensitive=True)] == ["home/kitchen/hum"]
    assert [n.topic for n in tree.search("home/*/temp", glob=True)] == [
        "home/Kitchen/temp",
        "home/garage/temp",
    ]
    assert len(tree.search("temp", limit=2)) == 2


def test_with_ancestors_keeps_the_path_to_each_match() -> None:
    tree = TopicTree()
    tree.add_message("a/b/c", b"1")
    tree.add_message("x/y", b"1")
    kept = TopicTree.with_ancestors(tree.search("c"))
    assert {n.topic for n in kept} == {"", "a", "a/b", "a/b/c"}


def test_invalid_history_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="history_count"):
        TopicTree(history_count=0)
    with pytest.raises(ValueError, match="history_bytes"):
        TopicTree(history_bytes=-1)


def test_nodes_can_be_referenced_weakly() -> None:
    tree = TopicTree()
    node = tree.add_message("a/b", b"1")
    ref = weakref.ref(node)
    assert ref() is node


def test_total_history_budget_trims_the_topic_that_gets_a_message() -> None:
    tree = TopicTree(history_count=100, history_bytes=10_000, history_total_bytes=300)
    for i in range(5):
        quiet = tree.add_message("quiet", b"q" * 20, time=float(i))
    assert quiet.history_len == 5
    lengths = []
    for i in range(10):
        busy = tree.add_message("busy", b"b" * 20, time=float(i))
        assert tree.kept_bytes <= 300
        lengths.append(busy.history_len)
    assert lengths == [1, 2, 3, 4, 1, 2, 3, 4, 1, 2]  # the busy topic gives way at the budget
    assert quiet.history_len == 5
    assert busy.last is not None
    assert busy.last.time == 9.0


def test_kept_bytes_follow_trimming_and_removal() -> None:
    tree = TopicTree(history_count=2)
    for i in range(5):
        tree.add_message("a/b", b"x" * i)
    tree.add_message("a/c", b"yy")
    record = 13  # time, flags and length in front of each payload
    assert tree.kept_bytes == (record + 3) + (record + 4) + (record + 2)
    node = tree.find("a/b")
    assert node is not None
    tree.clear_history(node)
    assert tree.kept_bytes == (record + 4) + (record + 2)
    a = tree.find("a")
    assert a is not None
    tree.remove(a)
    assert tree.kept_bytes == 0
