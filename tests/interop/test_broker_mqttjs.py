"""MQTT.js (npm ``mqtt``) against the embedded broker over WebSocket, MQTT 3.1.1 and 5.0.

Each test runs one scenario of ``node/mqttjs_client.js`` in its own Node process and
asserts on the observations it prints.
"""

from __future__ import annotations

from typing import Any

import pytest

from explorer.broker.server import Broker
from tests.interop.conftest import advance, run_node

pytestmark = pytest.mark.interop

VERSIONS = pytest.mark.parametrize("version", ["4", "5"], ids=["v311", "v5"])


async def mqttjs(broker: Broker, scenario: str, version: str, **options: Any) -> Any:
    assert broker.ws_url is not None
    return await run_node("mqttjs_client.js", scenario, broker.ws_url, version, modules=("mqtt",), **options)


def brief(topic: str, payload: str, qos: int, retain: bool = False) -> dict[str, Any]:
    return {"topic": topic, "payload": payload, "qos": qos, "retain": retain}


@VERSIONS
async def test_mqttjs_qos_0_1_2_through_plus_and_hash_wildcards(broker: Broker, version: str) -> None:
    result = await mqttjs(broker, "wildcards", version)
    assert result["grants"] == [[2], [1]]
    assert sorted(map(tuple, (m.values() for m in result["plus"]))) == sorted(
        [
            ("js/kitchen/temp", "q0", 0, False),
            ("js/kitchen/temp", "q1", 1, False),
            ("js/kitchen/temp", "q2", 2, False),
            ("js/end/temp", "end", 1, False),
        ]
    )
    # "#" granted at QoS 1 downgrades the QoS 2 message and sees every level below js/.
    assert sorted((m["topic"], m["payload"], m["qos"]) for m in result["hash"]) == sorted(
        [
            ("js/kitchen/temp", "q0", 0),
            ("js/kitchen/temp", "q1", 1),
            ("js/kitchen/temp", "q2", 1),
            ("js/kitchen/humidity", "h", 1),
            ("js/a/b/temp", "deep", 1),
            ("js/end/temp", "end", 1),
        ]
    )


@VERSIONS
async def test_mqttjs_retained_message_reaches_late_subscriber_until_cleared(
    broker: Broker, version: str
) -> None:
    result = await mqttjs(broker, "retained", version)
    assert result["stored"] == brief("js/status/door", "open", 1, retain=True)
    assert result["live"] == brief("js/status/live", "live", 1, retain=False)
    assert result["afterClear"] == [brief("js/status/marker", "m", 1)]
    assert "js/status/door" not in broker.state.router.retained


@VERSIONS
async def test_mqttjs_will_published_on_drop_but_not_after_disconnect(broker: Broker, version: str) -> None:
    result = await mqttjs(broker, "will", version)
    will = result["will"]
    assert (will["topic"], will["payload"], will["qos"]) == ("js/will/dropped", "gone", 1)
    if version == "5":
        assert will["user"] == {"why": "dropped"}
    assert [m["topic"] for m in result["all"]] == ["js/will/dropped", "js/will/marker"]


@VERSIONS
async def test_mqttjs_unsubscribe_stops_delivery_on_that_filter_only(broker: Broker, version: str) -> None:
    result = await mqttjs(broker, "unsubscribe", version)
    assert result["got"] == [brief("js/u/a", "before", 1), brief("js/u/b", "marker", 1)]


@VERSIONS
async def test_mqttjs_persistent_session_receives_qos1_queued_while_offline(
    broker: Broker, version: str
) -> None:
    result = await mqttjs(broker, "persistent", version)
    assert result["firstPresent"] is False
    assert result["present"] is True
    assert result["got"] == [brief(f"js/q/{n}", f"m{n}", 1) for n in (1, 2, 3)]


@VERSIONS
async def test_mqttjs_subscribe_denied_by_acl_gets_failure_code(acl_broker: Broker, version: str) -> None:
    result = await mqttjs(acl_broker, "acl", version)
    failure = 0x80 if version == "4" else 0x87  # MQTT 3.1.1 §3.9.3 / MQTT 5.0 §3.9.3 Not authorized
    assert result["codes"] == [failure, 1]
    assert result["got"] == [brief("open/x", "ok", 1)]


@VERSIONS
async def test_mqttjs_one_mebibyte_payload_arrives_intact(broker: Broker, version: str) -> None:
    result = await mqttjs(broker, "large", version)
    assert result["length"] == 1024 * 1024
    assert result["received"] == result["sent"]


async def test_mqttjs_v5_user_properties_and_publish_properties_reach_subscriber(broker: Broker) -> None:
    result = await mqttjs(broker, "properties", "5")
    assert result["userProperties"] == {"site": "lab", "rack": "7"}
    assert result["contentType"] == "application/json"
    assert result["payloadFormatIndicator"] is True
    assert result["responseTopic"] == "js/reply"
    assert result["correlationData"] == "c0ffee"
    assert 0 < result["messageExpiryInterval"] <= 120


async def test_mqttjs_v5_message_expired_while_offline_is_not_delivered(broker: Broker) -> None:
    async def at_checkpoint(name: str) -> None:
        assert name == "queued"
        advance(broker, 30)

    result = await mqttjs(broker, "expiry", "5", on_checkpoint=at_checkpoint)
    assert result["present"] is True
    long_lived, marker = result["got"]
    assert (long_lived["topic"], long_lived["payload"]) == ("js/exp/long", "long")
    # MQTT 5.0 §3.3.2.3.3: the interval sent on is what remains of it.
    assert long_lived["expiry"] == 70
    assert marker["topic"] == "js/exp/marker"
    # The expired retained message is gone for a new subscriber too.
    assert [m["topic"] for m in result["late"]] == ["js/exp/marker2"]


async def test_mqttjs_v5_inbound_topic_alias_is_resolved_for_subscribers(broker: Broker) -> None:
    result = await mqttjs(broker, "alias", "5")
    assert result["topicAliasMaximum"] == broker.config.topic_alias_maximum
    assert [(m["topic"], m["payload"]) for m in result["got"]] == [
        ("js/alias/a/rather/long/topic/name", "first"),
        ("js/alias/a/rather/long/topic/name", "second"),
        ("js/alias/other", "third"),
        ("js/alias/other", "fourth"),
    ]
