"""Sparkplug B payloads from Eclipse Tahu's JavaScript encoder (npm sparkplug-payload, under
Node), read by our codec and followed by the tracker across a session."""

from __future__ import annotations

import base64
import json
import subprocess
from typing import Any

import pytest

from explorer.codecs import CodecRegistry
from explorer.codecs.sparkplug import MessageType, decode_payload, encode_payload, parse_topic
from explorer.codecs.sparkplug_gen import SCHEMA_MODULE, generate
from explorer.codecs.sparkplug_state import SparkplugTracker
from tests.interop.conftest import NODE_DIR, require_node

pytestmark = pytest.mark.interop


def tahu_encode(*payloads: dict[str, Any]) -> list[bytes]:
    node = require_node("sparkplug-payload")
    done = subprocess.run(
        [node, str(NODE_DIR / "sparkplug_encode.js")],
        input=json.dumps(list(payloads)),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return [base64.b64decode(item) for item in json.loads(done.stdout)]


def birth_metrics() -> list[dict[str, Any]]:
    return [
        {"name": "bdSeq", "type": "UInt64", "value": 7},
        {"name": "Node Control/Rebirth", "alias": 1, "type": "Boolean", "value": False},
        {"name": "Temperature", "alias": 2, "type": "Double", "value": 21.5},
        {"name": "Level", "alias": 3, "type": "Int16", "value": -12},
        {"name": "Count", "alias": 4, "type": "UInt32", "value": 4000000000},
        {"name": "Label", "alias": 5, "type": "String", "value": "pump A"},
        {"name": "Ratio", "alias": 6, "type": "Float", "value": 0.25},
    ]


def test_tahu_payload_values_and_datatypes() -> None:
    (payload,) = tahu_encode({"timestamp": 1700000000000, "seq": 0, "metrics": birth_metrics()})
    value = decode_payload(payload)
    assert value["seq"] == 0
    assert value["timestamp"] == 1700000000000
    by_name = {metric["name"]: metric for metric in value["metrics"]}
    assert by_name["Temperature"] == {"name": "Temperature", "alias": 2, "datatype": "Double", "value": 21.5}
    assert by_name["Level"]["value"] == -12
    assert by_name["Level"]["datatype"] == "Int16"
    assert by_name["Count"]["value"] == 4000000000
    assert by_name["Label"]["value"] == "pump A"
    assert by_name["Ratio"]["value"] == 0.25
    assert by_name["bdSeq"]["value"] == 7


def test_session_birth_data_by_alias_seq_gap_and_death() -> None:
    birth, data1, data_gap, dbirth, ddata, rebirth, death, stale_death = tahu_encode(
        {"timestamp": 1, "seq": 0, "metrics": birth_metrics()},
        {"timestamp": 2, "seq": 1, "metrics": [{"alias": 2, "type": "Double", "value": 22.0}]},
        {"timestamp": 3, "seq": 4, "metrics": [{"alias": 3, "type": "Int16", "value": -1}]},
        {"timestamp": 4, "seq": 5, "metrics": [{"name": "Speed", "alias": 10, "type": "Int32", "value": -7}]},
        {"timestamp": 5, "seq": 6, "metrics": [{"alias": 10, "type": "Int32", "value": 9}]},
        {"timestamp": 6, "metrics": [{"name": "Node Control/Rebirth", "type": "Boolean", "value": True}]},
        {"timestamp": 7, "metrics": [{"name": "bdSeq", "type": "UInt64", "value": 7}]},
        {"timestamp": 8, "metrics": [{"name": "bdSeq", "type": "UInt64", "value": 6}]},
    )
    tracker = SparkplugTracker()
    base = "spBv1.0/plant"

    first = tracker.observe(f"{base}/NBIRTH/edge1", birth, 1.0)
    assert first is not None
    assert first.notices == ()
    node = tracker.nodes[("plant", "edge1")]
    assert node.online
    assert node.bd_seq == 7

    by_alias = tracker.observe(f"{base}/NDATA/edge1", data1, 2.0)
    assert by_alias is not None
    assert by_alias.notices == ()
    (metric,) = by_alias.decoded.value["metrics"]
    assert metric == {
        "name": "Temperature",
        "alias": 2,
        "datatype": "Double",
        "value": 22.0,
        "by_alias": True,
    }
    assert by_alias.decoded.numbers == {"Temperature": 22.0}
    assert node.metrics["Temperature"].value == 22.0

    gap = tracker.observe(f"{base}/NDATA/edge1", data_gap, 3.0)
    assert gap is not None
    assert len(gap.notices) == 1
    assert "seq gap at plant/edge1: expected 2, got 4 (2 messages missing" in gap.notices[0]
    assert gap.decoded.value["metrics"][0]["name"] == "Level"
    assert node.gaps == 1

    device_birth = tracker.observe(f"{base}/DBIRTH/edge1/motor", dbirth, 4.0)
    assert device_birth is not None
    assert device_birth.notices == ()
    device_data = tracker.observe(f"{base}/DDATA/edge1/motor", ddata, 5.0)
    assert device_data is not None
    assert device_data.decoded.value["metrics"][0]["name"] == "Speed"
    assert device_data.decoded.value["metrics"][0]["value"] == 9
    assert node.devices["motor"].online
    assert [point for _, point in node.devices["motor"].metrics["Speed"].history] == [-7.0, 9.0]

    command = tracker.observe(f"{base}/NCMD/edge1", rebirth, 6.0)
    assert command is not None
    assert command.notices == ("rebirth requested for plant/edge1 (NCMD Node Control/Rebirth)",)

    stale = tracker.observe(f"{base}/NDEATH/edge1", stale_death, 7.0)
    assert stale is not None
    assert "bdSeq 6 but its NBIRTH had 7" in stale.notices[0]
    assert node.online  # a death certificate of an older session does not end this one

    end = tracker.observe(f"{base}/NDEATH/edge1", death, 8.0)
    assert end is not None
    assert end.notices == ()
    assert not node.online
    assert not node.devices["motor"].online


def test_data_before_birth_and_registry_aliases() -> None:
    (data,) = tahu_encode(
        {"timestamp": 2, "seq": 3, "metrics": [{"alias": 2, "type": "Double", "value": 1.5}]}
    )
    tracker = SparkplugTracker()
    early = tracker.observe("spBv1.0/g/NDATA/n", data, 1.0)
    assert early is not None
    assert "before any NBIRTH" in early.notices[0]
    # Without the tracker's aliases the registry still decodes, showing the alias.
    decoded = CodecRegistry().decode(data, "spBv1.0/g/NDATA/n")
    assert decoded.codec == "sparkplug"
    assert decoded.numbers == {"alias 2": 1.5}


def test_seq_wraps_from_255_to_0_without_a_gap() -> None:
    tracker = SparkplugTracker()
    birth = encode_payload({"seq": 254, "metrics": [{"name": "bdSeq", "datatype": "UInt64", "value": 0}]})
    tracker.observe("spBv1.0/g/NBIRTH/n", birth)
    for seq in (255, 0, 1):
        observation = tracker.observe("spBv1.0/g/NDATA/n", encode_payload({"seq": seq, "metrics": []}))
        assert observation is not None
        assert observation.notices == ()


def test_our_encoder_is_read_by_tahu_decoder_shape() -> None:
    """Our own encoder (used by the demo) agrees with Tahu's on the wire for scalar metrics."""
    ours = encode_payload(
        {
            "timestamp": 5,
            "seq": 1,
            "metrics": [{"name": "T", "alias": 2, "datatype": "Double", "value": 1.25}],
        }
    )
    (theirs,) = tahu_encode(
        {"timestamp": 5, "seq": 1, "metrics": [{"name": "T", "alias": 2, "type": "Double", "value": 1.25}]}
    )
    assert decode_payload(ours) == decode_payload(theirs)


def test_topics() -> None:
    topic = parse_topic("spBv1.0/plant/DDATA/edge1/motor")
    assert topic is not None
    assert (topic.group, topic.message_type, topic.edge_node, topic.device) == (
        "plant",
        MessageType.DDATA,
        "edge1",
        "motor",
    )
    assert parse_topic("spBv1.0/STATE/scada") is not None
    assert parse_topic("spBv1.0/plant/NDATA/edge1/extra") is None
    assert parse_topic("spBv1.0/plant/BOGUS/edge1") is None
    assert parse_topic("spAv1.0/plant/NDATA/edge1") is None


def test_committed_schema_is_the_compiled_proto_file() -> None:
    assert SCHEMA_MODULE.read_text(encoding="utf-8") == generate()
