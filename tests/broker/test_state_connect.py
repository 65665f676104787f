"""CONNECT, DISCONNECT, keep alive, takeover and refusal in BrokerState (no sockets)."""

from __future__ import annotations

from explorer.broker.faults import parse_faults
from explorer.mqtt.enums import ConnackReasonCode, ConnectReturnCode, DisconnectReasonCode
from explorer.mqtt.packets import Connack, Connect, Disconnect, Pingreq, Pingresp, Properties
from tests.broker.harness import V5, V31, V311, Client, connect, make_state


def test_connect_v311_gets_accepted_connack() -> None:
    client = connect(make_state(), "c1", V311)
    assert client.connack == Connack(False, ConnectReturnCode.ACCEPTED)  # type: ignore[attr-defined]


def test_connect_v31_is_accepted() -> None:
    client = connect(make_state(), "c1", V31)
    assert client.connack.reason_code == ConnectReturnCode.ACCEPTED  # type: ignore[attr-defined]


def test_connect_v5_advertises_limits_in_connack() -> None:
    state = make_state(max_packet_size=4096, receive_maximum=20, topic_alias_maximum=7)
    props = connect(state, "c1", V5).connack.properties  # type: ignore[attr-defined]
    assert props.maximum_packet_size == 4096
    assert props.receive_maximum == 20
    assert props.topic_alias_maximum == 7


def test_empty_client_id_v5_gets_an_assigned_identifier() -> None:
    state = make_state()
    client = connect(state, "", V5)
    assigned = client.connack.properties.assigned_client_identifier  # type: ignore[attr-defined]
    assert assigned
    assert assigned in state.sessions


def test_empty_client_id_with_persistent_session_is_rejected_in_v311() -> None:
    client = connect(make_state(), "", V311, clean_start=False)
    assert client.connack.reason_code == ConnectReturnCode.IDENTIFIER_REJECTED  # type: ignore[attr-defined]
    assert client.is_closed()


def test_first_packet_other_than_connect_closes_the_connection() -> None:
    state = make_state()
    client = Client(state)
    client.send(Pingreq())
    assert client.is_closed()
    assert client.receive() == []


def test_second_connect_is_a_protocol_error_v5() -> None:
    state = make_state()
    client = connect(state, "c1", V5)
    client.send(Connect(V5, "c1"))
    expected = Disconnect(
        DisconnectReasonCode.PROTOCOL_ERROR, Properties(reason_string="second CONNECT on one connection")
    )
    assert client.receive() == [expected]
    assert client.is_closed()


def test_pingreq_gets_pingresp() -> None:
    client = connect(make_state())
    client.send(Pingreq())
    assert client.receive() == [Pingresp()]


def test_keep_alive_timeout_after_one_and_a_half_intervals() -> None:
    state = make_state()
    client = connect(state, "c1", V5, keep_alive=10)
    state.handle_timer(14.9)
    assert not client.is_closed()
    state.handle_timer(15.1)
    assert client.is_closed()
    assert client.receive() == [Disconnect(DisconnectReasonCode.KEEP_ALIVE_TIMEOUT)]


def test_any_packet_resets_the_keep_alive_timer() -> None:
    state = make_state()
    client = connect(state, "c1", V311, keep_alive=10)
    client.send(Pingreq(), now=10.0)
    state.handle_timer(20.0)
    assert not client.is_closed()


def test_server_keep_alive_overrides_the_clients_in_v5() -> None:
    state = make_state(server_keep_alive=4)
    client = connect(state, "c1", V5, keep_alive=600)
    assert client.connack.properties.server_keep_alive == 4  # type: ignore[attr-defined]
    state.handle_timer(6.5)
    assert client.is_closed()


def test_connect_timeout_closes_a_silent_connection() -> None:
    state = make_state(connect_timeout=5)
    client = Client(state)
    state.handle_timer(4.0)
    assert not client.is_closed()
    state.handle_timer(6.0)
    assert client.is_closed()


def test_duplicate_client_id_takes_over_and_disconnects_the_old_v5_client() -> None:
    state = make_state()
    old = connect(state, "same", V5)
    new = connect(state, "same", V5)
    assert old.receive() == [Disconnect(DisconnectReasonCode.SESSION_TAKEN_OVER)]
    assert old.is_closed()
    assert not new.is_closed()
    assert state.sessions["same"].connection is new.conn


def test_refuse_connect_fault_sends_the_reason_code_v5() -> None:
    state = make_state(faults=parse_faults(["refuse-connect=0x87"]))
    client = connect(state, "c1", V5)
    assert client.connack.reason_code == ConnackReasonCode.NOT_AUTHORIZED  # type: ignore[attr-defined]
    assert client.is_closed()


def test_refuse_connect_fault_maps_to_the_v311_return_code() -> None:
    state = make_state(faults=parse_faults(["refuse-connect=bad-user-name-or-password"]))
    client = connect(state, "c1", V311)
    assert client.connack.reason_code == ConnectReturnCode.BAD_USERNAME_OR_PASSWORD  # type: ignore[attr-defined]


def test_enhanced_authentication_is_refused_with_bad_authentication_method() -> None:
    client = connect(make_state(), "c1", V5, properties=Properties(authentication_method="SCRAM-SHA-1"))
    assert client.connack.reason_code == ConnackReasonCode.BAD_AUTHENTICATION_METHOD  # type: ignore[attr-defined]


def test_disconnect_closes_without_publishing_anything() -> None:
    state = make_state()
    client = connect(state, "c1")
    client.send(Disconnect())
    assert client.is_closed()
    client.lose()
    assert "c1" not in state.sessions


def test_disconnect_may_not_set_expiry_when_connect_had_zero() -> None:
    state = make_state()
    client = connect(state, "c1", V5)
    client.send(Disconnect(properties=Properties(session_expiry_interval=60)))
    packets = client.receive()
    assert isinstance(packets[0], Disconnect)
    assert packets[0].reason_code == DisconnectReasonCode.PROTOCOL_ERROR


def test_client_must_not_send_server_packets() -> None:
    state = make_state()
    client = connect(state, "c1", V5)
    client.send(Connack())
    assert client.is_closed()


def test_session_expiry_above_the_maximum_is_capped_and_announced() -> None:
    state = make_state(max_session_expiry=100)
    client = connect(state, "c1", V5, properties=Properties(session_expiry_interval=1000), clean_start=False)
    assert client.connack.properties.session_expiry_interval == 100  # type: ignore[attr-defined]


def test_unsupported_protocol_level_gets_return_code_1() -> None:
    from explorer.mqtt.reader import PacketReader

    state = make_state()
    client = Client(state)
    raw = bytes([0x10, 10, 0, 4]) + b"MQTT" + bytes([6, 2, 0, 60])
    reader = PacketReader()
    items = reader.receive_data(raw)
    assert items[0].error is not None
    state.receive_error(client.conn, items[0].error, 0.0)
    assert client.receive() == [Connack(False, ConnectReturnCode.UNACCEPTABLE_PROTOCOL_VERSION)]
    assert client.is_closed()
