"""CONNECT options, CONNACK outcomes, enhanced authentication and server DISCONNECT."""

from __future__ import annotations

import pytest

from explorer.errors import LocalProtocolError
from explorer.mqtt.enums import (
    AuthReasonCode,
    ConnackReasonCode,
    ConnectReturnCode,
    DisconnectReasonCode,
    ProtocolVersion,
)
from explorer.mqtt.packets import Auth, Connack, Connect, Disconnect, Properties, Publish, Will
from explorer.session import (
    AuthReceived,
    Connected,
    ConnectRefused,
    ProtocolViolation,
    ServerDisconnected,
    SessionState,
)
from tests.session.helpers import connect, make_session


@pytest.mark.parametrize("version", list(ProtocolVersion))
def test_connect_generates_a_client_id_valid_in_every_version(version: ProtocolVersion) -> None:
    session, server, _ = make_session(version)
    session.send_connect()
    (packet,) = server.take()
    assert isinstance(packet, Connect)
    assert packet.protocol_version == version
    assert 1 <= len(packet.client_id) <= 23  # [MQTT-3.1.3-5]
    assert packet.client_id == session.client_id
    assert session.state is SessionState.CONNECTING


def test_connect_mqtt31_uses_protocol_name_mqisdp() -> None:
    session, server, _ = make_session(ProtocolVersion.V31, client_id="old-client")
    session.send_connect()
    (packet,) = server.take()
    assert isinstance(packet, Connect)
    assert packet.protocol_name == "MQIsdp"
    assert packet.client_id == "old-client"


def test_connect_v311_carries_credentials_will_and_keep_alive() -> None:
    will = Will(topic="status/me", payload=b"gone", qos=1, retain=True)
    session, server, _ = make_session(
        ProtocolVersion.V311,
        client_id="c1",
        clean_start=False,
        keep_alive=17,
        username="user",
        password=b"secret",
        will=will,
    )
    session.send_connect()
    (packet,) = server.take()
    assert isinstance(packet, Connect)
    assert (packet.client_id, packet.clean_start, packet.keep_alive) == ("c1", False, 17)
    assert (packet.username, packet.password, packet.will) == ("user", b"secret", will)
    assert not packet.properties


def test_connect_v5_carries_every_connect_property_and_will_properties() -> None:
    will = Will(
        topic="status/me",
        payload=b"gone",
        qos=2,
        properties=Properties(will_delay_interval=30, content_type="text/plain", message_expiry_interval=60),
    )
    session, server, _ = make_session(
        session_expiry_interval=3600,
        receive_maximum=10,
        maximum_packet_size=4096,
        topic_alias_maximum=5,
        request_response_information=True,
        request_problem_information=False,
        user_properties=(("a", "1"), ("a", "2")),
        authentication_method="SCRAM-SHA-1",
        authentication_data=b"client-first",
        will=will,
    )
    session.send_connect()
    (packet,) = server.take()
    assert isinstance(packet, Connect)
    props = packet.properties
    assert props.session_expiry_interval == 3600
    assert props.receive_maximum == 10
    assert props.maximum_packet_size == 4096
    assert props.topic_alias_maximum == 5
    assert props.request_response_information == 1
    assert props.request_problem_information == 0
    assert props.user_properties == (("a", "1"), ("a", "2"))
    assert props.authentication_method == "SCRAM-SHA-1"
    assert props.authentication_data == b"client-first"
    assert packet.will == will


def test_connack_accepted_connects_and_records_server_limits() -> None:
    session, server, _ = make_session()
    event = connect(
        session,
        server,
        properties=Properties(
            receive_maximum=3,
            maximum_qos=1,
            retain_available=0,
            maximum_packet_size=200,
            topic_alias_maximum=4,
            assigned_client_identifier="server-given",
            server_keep_alive=5,
        ),
    )
    assert isinstance(event, Connected)
    assert session.state is SessionState.CONNECTED
    assert session.limits.receive_maximum == 3
    assert session.limits.maximum_qos == 1
    assert not session.limits.retain_available
    assert session.limits.maximum_packet_size == 200
    assert session.limits.topic_alias_maximum == 4
    assert session.client_id == "server-given"
    assert session.keep_alive == 5  # [MQTT-3.2.2-21]


def test_connack_refused_v311_names_the_return_code() -> None:
    session, server, _ = make_session(ProtocolVersion.V311)
    session.send_connect()
    server.take()
    (event,) = server.send(Connack(reason_code=ConnectReturnCode.NOT_AUTHORIZED))
    assert isinstance(event, ConnectRefused)
    assert "0x05 Not authorized" in event.message
    assert session.state is SessionState.CLOSED


def test_connack_refused_v5_includes_reason_string_and_server_reference() -> None:
    session, server, _ = make_session()
    session.send_connect()
    server.take()
    (event,) = server.send(
        Connack(
            reason_code=ConnackReasonCode.USE_ANOTHER_SERVER,
            properties=Properties(reason_string="maintenance", server_reference="other:1883"),
        )
    )
    assert isinstance(event, ConnectRefused)
    assert "0x9C Use another server: maintenance" in event.message
    assert "other:1883" in event.message


def test_packet_before_connack_is_a_protocol_error_with_disconnect_0x82() -> None:
    session, server, _ = make_session()
    session.send_connect()
    server.take()
    (event,) = server.send(Publish(topic="t"))
    assert isinstance(event, ProtocolViolation)
    assert event.reason_code == DisconnectReasonCode.PROTOCOL_ERROR
    (disconnect,) = server.take()
    assert isinstance(disconnect, Disconnect)
    assert disconnect.reason_code == DisconnectReasonCode.PROTOCOL_ERROR
    assert session.state is SessionState.CLOSED


def test_malformed_bytes_close_with_disconnect_0x81() -> None:
    session, server, _ = make_session()
    connect(session, server)
    (event,) = server.send_bytes(b"\x00\x00")  # packet type 0 is reserved
    assert isinstance(event, ProtocolViolation)
    assert event.reason_code == DisconnectReasonCode.MALFORMED_PACKET
    (disconnect,) = server.take()
    assert isinstance(disconnect, Disconnect)
    assert disconnect.reason_code == DisconnectReasonCode.MALFORMED_PACKET


def test_malformed_bytes_in_v311_close_without_disconnect() -> None:
    session, server, _ = make_session(ProtocolVersion.V311)
    connect(session, server)
    (event,) = server.send_bytes(b"\xf0\x00")  # AUTH does not exist in 3.1.1
    assert isinstance(event, ProtocolViolation)
    assert event.reason_code is None
    assert server.take() == []


def test_enhanced_auth_challenge_is_passed_through_and_answered() -> None:
    session, server, _ = make_session(authentication_method="TOKEN", authentication_data=b"first")
    session.send_connect()
    server.take()
    challenge = Auth(
        reason_code=AuthReasonCode.CONTINUE_AUTHENTICATION,
        properties=Properties(authentication_method="TOKEN", authentication_data=b"nonce"),
    )
    (event,) = server.send(challenge)
    assert isinstance(event, AuthReceived)
    assert event.auth.properties.authentication_data == b"nonce"
    session.send_auth(properties=Properties(authentication_method="TOKEN", authentication_data=b"proof"))
    (answer,) = server.take()
    assert isinstance(answer, Auth)
    assert answer.reason_code == AuthReasonCode.CONTINUE_AUTHENTICATION
    assert answer.properties.authentication_data == b"proof"
    (connected,) = server.send(Connack(properties=Properties(authentication_method="TOKEN")))
    assert isinstance(connected, Connected)


def test_server_disconnect_surfaces_reason_code_and_reason_string() -> None:
    session, server, _ = make_session()
    connect(session, server)
    (event,) = server.send(
        Disconnect(
            reason_code=DisconnectReasonCode.SERVER_SHUTTING_DOWN,
            properties=Properties(reason_string="bye"),
        )
    )
    assert isinstance(event, ServerDisconnected)
    assert event.message == "the broker disconnected: 0x8B Server shutting down: bye"
    assert session.state is SessionState.CLOSED


def test_clean_disconnect_sends_the_reason_code_in_v5() -> None:
    session, server, _ = make_session()
    connect(session, server)
    session.send_disconnect(DisconnectReasonCode.DISCONNECT_WITH_WILL_MESSAGE)
    (packet,) = server.take()
    assert isinstance(packet, Disconnect)
    assert packet.reason_code == DisconnectReasonCode.DISCONNECT_WITH_WILL_MESSAGE
    assert session.state is SessionState.CLOSED


def test_intents_before_connack_are_refused_with_a_sentence() -> None:
    session, _, _ = make_session()
    with pytest.raises(LocalProtocolError, match="not connected"):
        session.send_publish("t", b"x")
    session.send_connect()
    with pytest.raises(LocalProtocolError, match="connecting"):
        session.send_subscribe([])
    with pytest.raises(LocalProtocolError, match="cannot send CONNECT"):
        session.send_connect()
