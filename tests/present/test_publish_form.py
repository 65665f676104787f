"""The publish form both explorers render: the rules and sentences live in one place."""

from __future__ import annotations

import pytest

from explorer.errors import ExplorerError
from explorer.mqtt.packets import NO_PROPERTIES
from explorer.present.publish import PublishForm, parse_user_properties
from explorer.workspace.saved import SavedMessage


def test_a_plain_form_makes_a_message_without_properties() -> None:
    message = PublishForm(topic=" a/b ", payload="héllo", qos=2, retain=True).message()
    assert (message.topic, message.payload, message.qos, message.retain) == ("a/b", "héllo".encode(), 2, True)
    assert message.properties is NO_PROPERTIES


def test_every_mqtt5_property_is_carried() -> None:
    form = PublishForm(
        topic="req/1",
        content_type="application/json",
        message_expiry="60",
        response_topic="reply/1",
        correlation_data="abc",
        user_properties="a=1\n\n b = two \nempty=",
        payload_is_utf8=True,
    )
    props = form.message().properties
    assert props.content_type == "application/json"
    assert props.message_expiry_interval == 60
    assert props.response_topic == "reply/1"
    assert props.correlation_data == b"abc"
    assert props.user_properties == (("a", "1"), ("b", "two"), ("empty", ""))
    assert props.payload_format_indicator == 1


@pytest.mark.parametrize(
    ("form", "sentence"),
    [
        (PublishForm(topic=""), "give a topic"),
        (PublishForm(topic="a/#"), "wildcards"),
        (PublishForm(topic="a/+/b"), "wildcards"),
        (PublishForm(topic="t", message_expiry="soon"), "whole number of seconds"),
        (PublishForm(topic="t", message_expiry="-1"), "between 0 and 4294967295"),
        (PublishForm(topic="t", message_expiry="4294967296"), "between 0 and 4294967295"),
        (PublishForm(topic="t", response_topic="r/#"), "response topic"),
        (PublishForm(topic="t", user_properties="novalue"), "line 1"),
        (PublishForm(topic="t", user_properties="ok=1\n=x"), "line 2"),
    ],
)
def test_a_bad_value_is_one_sentence(form: PublishForm, sentence: str) -> None:
    with pytest.raises(ExplorerError, match=sentence):
        form.message()


def test_a_saved_preset_round_trips_through_the_form() -> None:
    form = PublishForm(topic="t/x", payload='{"v": 1}', qos=1, retain=True, content_type="text/json")
    form.user_properties = "k=v\nk2=v2"
    saved = SavedMessage(name="preset", **form.saved_fields())
    again = PublishForm.from_saved(saved)
    assert again.saved_fields() == form.saved_fields()
    assert parse_user_properties(again.user_properties) == (("k", "v"), ("k2", "v2"))


def test_recording_sentences_both_explorers_show() -> None:
    from dataclasses import dataclass

    from explorer.present.recording import not_in_tree_text, recorded_text

    @dataclass
    class Status:
        path: str = "rec.sqlite"
        messages: int = 2222
        file_size: int = 770_100
        msgs_per_s: float = 0.0
        dropped: int = 0

    assert recorded_text(Status()) == "recorded 2,222 messages into rec.sqlite (770.1 kB)"
    assert not_in_tree_text("a/b") == "a/b is not in the topic tree (not loaded yet?)"
