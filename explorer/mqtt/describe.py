"""One-line packet summaries, shared by every view (DESIGN rule 5).

``describe`` never shows a CONNECT password, only that one is present (``password=***``,
the mark of :mod:`explorer.masking`, where the password bytes themselves are masked).
"""

from __future__ import annotations

from enum import IntEnum

from explorer.mqtt.enums import ConnectReturnCode
from explorer.mqtt.packets import (
    Auth,
    Connack,
    Connect,
    Disconnect,
    Packet,
    Properties,
    Puback,
    Pubcomp,
    Publish,
    Pubrec,
    Pubrel,
    Suback,
    Subscribe,
    Unsuback,
    Unsubscribe,
)

__all__ = ["describe", "reason_text", "suback_failed"]

_VERSION_LABELS = {3: "3.1", 4: "3.1.1", 5: "5"}


def suback_failed(code: int) -> bool:
    """True when a SUBACK return/reason code refuses the subscription.

    MQTT 3.1.1 §3.9.3 has the one failure code 0x80; MQTT 5.0 §3.9.3 makes every code
    of 0x80 and above a failure (0x00-0x02 are the granted QoS).
    """
    return code >= 0x80


def reason_text(code: int) -> str:
    """``0x87 Not authorized`` for an IntEnum reason code (plain ints: just the hex)."""
    if isinstance(code, IntEnum):
        words = code.name.replace("_", " ").capitalize()
        return f"0x{int(code):02X} {words}"
    return f"0x{int(code):02X}"


def _props_text(props: Properties, *, alias: bool = True) -> str:
    parts = []
    if props.reason_string is not None:
        parts.append(f"reason={props.reason_string!r}")
    if alias and props.topic_alias is not None:
        parts.append(f"alias={props.topic_alias}")
    if props.subscription_identifiers:
        parts.append("subid=" + ",".join(str(s) for s in props.subscription_identifiers))
    if props.user_properties:
        parts.append(f"user-props={len(props.user_properties)}")
    return (" " + " ".join(parts)) if parts else ""


def _connect(p: Connect) -> str:
    text = f"CONNECT v{_VERSION_LABELS.get(int(p.protocol_version), p.protocol_version)} id={p.client_id}"
    if p.clean_start:
        text += " clean"
    text += f" keepalive={p.keep_alive}"
    if p.username is not None:
        text += f" user={p.username}"
    if p.password is not None:
        text += " password=***"  # explorer.masking.SECRET_MARK
    if p.will is not None:
        text += f" will={p.will.topic}"
    return text + _props_text(p.properties)


def _connack(p: Connack) -> str:
    code = p.reason_code
    if isinstance(code, ConnectReturnCode):
        text = f"CONNACK {int(code)} {code.name.replace('_', ' ').capitalize()}"
    else:
        text = f"CONNACK {reason_text(code)}"
    if p.session_present:
        text += " session-present"
    return text + _props_text(p.properties)


def _publish(p: Publish) -> str:
    text = f"PUBLISH QoS{p.qos}"
    if p.packet_id is not None:
        text += f" id={p.packet_id}"
    # An empty topic stands for the one a Topic Alias was set to (MQTT 5.0 §3.3.2.3.4).
    topic = p.topic or f"<alias {p.properties.topic_alias}>"
    text += f" {topic} {len(p.payload)} B"
    if p.retain:
        text += " retain"
    if p.dup:
        text += " dup"
    return text + _props_text(p.properties, alias=bool(p.topic))


def _ack(p: Puback | Pubrec | Pubrel | Pubcomp) -> str:
    text = f"{p.TYPE.name} id={p.packet_id}"
    if p.reason_code:
        text += f" {reason_text(p.reason_code)}"
    return text + _props_text(p.properties)


def _subscribe(p: Subscribe) -> str:
    subs = []
    for sub in p.subscriptions:
        item = f"{sub.topic_filter} QoS{sub.qos}"
        if sub.no_local:
            item += " no-local"
        if sub.retain_as_published:
            item += " rap"
        if sub.retain_handling:
            item += f" rh={int(sub.retain_handling)}"
        subs.append(item)
    return f"SUBSCRIBE id={p.packet_id} [{', '.join(subs)}]" + _props_text(p.properties)


def _suback(p: Suback) -> str:
    codes = ", ".join(str(int(c)) if int(c) < 0x80 else reason_text(c) for c in p.reason_codes)
    return f"SUBACK id={p.packet_id} [{codes}]" + _props_text(p.properties)


def _unsubscribe(p: Unsubscribe) -> str:
    return f"UNSUBSCRIBE id={p.packet_id} [{', '.join(p.topic_filters)}]" + _props_text(p.properties)


def _unsuback(p: Unsuback) -> str:
    text = f"UNSUBACK id={p.packet_id}"
    if p.reason_codes:
        text += " [" + ", ".join("0" if not c else reason_text(c) for c in p.reason_codes) + "]"
    return text + _props_text(p.properties)


def _disconnect(p: Disconnect | Auth) -> str:
    text = p.TYPE.name
    if p.reason_code:
        text += f" {reason_text(p.reason_code)}"
    if p.properties.authentication_method is not None:
        text += f" method={p.properties.authentication_method}"
    return text + _props_text(p.properties)


def describe(packet: Packet) -> str:
    """One line such as ``PUBLISH QoS1 id=7 sensors/t 23 B retain``; passwords never shown."""
    if isinstance(packet, Publish):
        return _publish(packet)
    if isinstance(packet, Connect):
        return _connect(packet)
    if isinstance(packet, Connack):
        return _connack(packet)
    if isinstance(packet, (Puback, Pubrec, Pubrel, Pubcomp)):
        return _ack(packet)
    if isinstance(packet, Subscribe):
        return _subscribe(packet)
    if isinstance(packet, Suback):
        return _suback(packet)
    if isinstance(packet, Unsubscribe):
        return _unsubscribe(packet)
    if isinstance(packet, Unsuback):
        return _unsuback(packet)
    if isinstance(packet, (Disconnect, Auth)):
        return _disconnect(packet)
    return packet.TYPE.name
