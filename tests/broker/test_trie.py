from __future__ import annotations

from explorer.broker.trie import Subscriber, SubscriptionTrie


def _ids(trie: SubscriptionTrie, topic: str) -> set[str]:
    subs, groups = trie.match(topic)
    return {s.topic_filter for s in subs} | {f"$share/{g.name}/{g.filter}" for g in groups}


def _trie(*filters: str) -> SubscriptionTrie:
    trie = SubscriptionTrie()
    for index, topic_filter in enumerate(filters):
        trie.add(Subscriber(f"c{index}", topic_filter, 0))
    return trie


def test_plus_matches_exactly_one_level() -> None:
    trie = _trie("a/+/c", "a/+")
    assert _ids(trie, "a/b/c") == {"a/+/c"}
    assert _ids(trie, "a/b") == {"a/+"}
    assert _ids(trie, "a/b/c/d") == set()


def test_plus_matches_an_empty_level() -> None:
    assert _ids(_trie("a/+/c"), "a//c") == {"a/+/c"}


def test_hash_matches_parent_and_all_descendants() -> None:
    trie = _trie("a/#")
    assert _ids(trie, "a") == {"a/#"}
    assert _ids(trie, "a/b/c") == {"a/#"}
    assert _ids(trie, "b") == set()


def test_dollar_topics_are_not_matched_by_leading_wildcards() -> None:
    trie = _trie("#", "+/broker/x", "$SYS/#", "$SYS/+/x")
    assert _ids(trie, "$SYS/broker/x") == {"$SYS/#", "$SYS/+/x"}
    assert _ids(trie, "normal/broker/x") == {"#", "+/broker/x"}


def test_remove_prunes_and_stops_matching() -> None:
    trie = _trie("a/b/c")
    assert trie.remove("c0", "a/b/c")
    assert _ids(trie, "a/b/c") == set()
    assert not trie.remove("c0", "a/b/c")
    assert trie.count == 0


def test_add_reports_whether_the_subscription_is_new() -> None:
    trie = SubscriptionTrie()
    assert trie.add(Subscriber("c", "a", 0))
    assert not trie.add(Subscriber("c", "a", 1))
    assert trie.count == 1
    subs, _ = trie.match("a")
    assert subs[0].qos == 1


def test_cached_match_is_dropped_when_subscriptions_change() -> None:
    trie = _trie("a/b")
    assert _ids(trie, "a/b") == {"a/b"}
    trie.add(Subscriber("x", "a/+", 0))
    assert _ids(trie, "a/b") == {"a/b", "a/+"}


def test_shared_group_round_robin_over_members() -> None:
    trie = SubscriptionTrie()
    trie.add(Subscriber("c1", "$share/g/t", 0))
    trie.add(Subscriber("c2", "$share/g/t", 0))
    _, groups = trie.match("t")
    picks = [groups[0].pick(lambda s: True).client_id for _ in range(4)]  # type: ignore[union-attr]
    assert picks == ["c1", "c2", "c1", "c2"]


def test_shared_group_prefers_usable_members() -> None:
    trie = SubscriptionTrie()
    trie.add(Subscriber("c1", "$share/g/t", 0))
    trie.add(Subscriber("c2", "$share/g/t", 0))
    _, groups = trie.match("t")
    picks = {groups[0].pick(lambda s: s.client_id == "c2").client_id for _ in range(3)}  # type: ignore[union-attr]
    assert picks == {"c2"}
