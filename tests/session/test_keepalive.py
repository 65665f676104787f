"""Keep alive, PINGRESP timeout and CONNACK timeout on an injected clock."""

from __future__ import annotations

from explorer.mqtt.packets import Pingreq, Pingresp, Properties, Publish
from explorer.session import PingAnswered, SessionState, TimedOut
from tests.session.helpers import connect, make_session


def test_pingreq_is_sent_after_keep_alive_seconds_of_silence() -> None:
    session, server, clock = make_session(keep_alive=60)
    connect(session, server)
    deadline = session.next_deadline()
    assert deadline == clock.now + 60
    clock.now += 59
    session.handle_timer(clock.now)
    assert server.take() == []
    clock.now += 1
    session.handle_timer(clock.now)
    assert server.take() == [Pingreq()]  # [MQTT-3.1.2-23]
    server.send(Pingresp())
    assert session.next_deadline() == clock.now + 60


def test_any_packet_we_send_postpones_the_pingreq() -> None:
    session, server, clock = make_session(keep_alive=60)
    connect(session, server)
    clock.now += 30
    session.send_publish("t", b"x")
    server.take()
    assert session.next_deadline() == clock.now + 60


def test_no_pingresp_in_time_times_out_and_closes() -> None:
    session, server, clock = make_session(keep_alive=10)
    connect(session, server)
    clock.now += 10
    session.handle_timer(clock.now)
    assert server.take() == [Pingreq()]
    assert session.next_deadline() == clock.now + 10
    clock.now += 10
    session.handle_timer(clock.now)
    (event,) = session.events_received()
    assert isinstance(event, TimedOut)
    assert event.what == "pingresp"
    assert session.state is SessionState.CLOSED
    assert session.next_deadline() is None


def test_keep_alive_zero_never_pings() -> None:
    session, server, _ = make_session(keep_alive=0)
    connect(session, server)
    assert session.next_deadline() is None


def test_server_keep_alive_replaces_ours() -> None:
    session, server, clock = make_session(keep_alive=60)
    connect(session, server, properties=Properties(server_keep_alive=5))
    assert session.next_deadline() == clock.now + 5


def test_missing_connack_times_out() -> None:
    session, server, clock = make_session(handshake_timeout=7.0)
    session.send_connect()
    server.take()
    assert session.next_deadline() == clock.now + 7
    clock.now += 7
    session.handle_timer(clock.now)
    (event,) = session.events_received()
    assert isinstance(event, TimedOut)
    assert event.what == "connack"
    assert session.state is SessionState.CLOSED


def test_receiving_does_not_postpone_our_pingreq() -> None:
    session, server, clock = make_session(keep_alive=20)
    connect(session, server)
    clock.now += 15
    server.send(Publish(topic="t"))
    clock.now += 5
    session.handle_timer(clock.now)
    assert server.take() == [Pingreq()]


def test_send_ping_is_answered_in_order_even_behind_a_keep_alive_ping() -> None:
    session, server, clock = make_session(keep_alive=10)
    connect(session, server)
    clock.now += 10
    session.handle_timer(clock.now)  # the keep alive PINGREQ, number 1
    session.send_publish("t", b"qos 0")
    number = session.send_ping(clock.now)
    assert number == 2
    assert server.take() == [Pingreq(), Publish(topic="t", payload=b"qos 0"), Pingreq()]
    # the first PINGRESP answers the keep alive ping only: ours is not answered yet
    assert [event for event in server.send(Pingresp()) if isinstance(event, PingAnswered)] == [
        PingAnswered(1)
    ]
    assert server.send(Pingresp()) == [PingAnswered(2)]
    session.connection_lost()
    connect(session, server)
    assert session.send_ping(clock.now) == 1  # counted per network connection
