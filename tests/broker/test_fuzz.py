"""Nothing a client sends can crash the broker or stop it serving other clients."""

from __future__ import annotations

import asyncio
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import (
    Connect,
    Disconnect,
    Pingreq,
    Pingresp,
    Properties,
    Puback,
    Pubcomp,
    Publish,
    Pubrec,
    Pubrel,
    Subscribe,
    Subscription,
    Unsubscribe,
)
from explorer.mqtt.reader import PacketReader
from tests.broker.harness import V5, V311, connect, make_state, subscribe
from tests.broker.rawclient import client_frame, close_all, open_tcp, open_ws, read_mqtt

_TOPICS = st.sampled_from(["a", "a/b", "a/b/c", "$SYS/x", "b", "x/y"])
_FILTERS = st.sampled_from(["a", "a/+", "#", "+/b/#", "$share/g/a/#", "$SYS/#", "x/y"])
_PIDS = st.integers(1, 6)
_PACKETS = st.one_of(
    st.builds(
        lambda t, q, r, pid, payload, alias: Publish(
            t, payload, q, r, False, pid if q else None, Properties(topic_alias=alias)
        ),
        _TOPICS,
        st.integers(0, 2),
        st.booleans(),
        _PIDS,
        st.binary(max_size=8),
        st.none() | st.integers(1, 3),
    ),
    st.builds(Puback, _PIDS),
    st.builds(Pubrec, _PIDS),
    st.builds(Pubrel, _PIDS),
    st.builds(Pubcomp, _PIDS),
    st.builds(
        lambda pid, f, q, nl: Subscribe(
            pid, (Subscription(f, q, no_local=nl and not f.startswith("$share")),)
        ),
        _PIDS,
        _FILTERS,
        st.integers(0, 2),
        st.booleans(),
    ),
    st.builds(lambda pid, f: Unsubscribe(pid, (f,)), _PIDS, _FILTERS),
    st.just(Pingreq()),
    st.just(Disconnect()),
    st.just(Connect(V5, "again")),
)


def _healthy(state) -> None:  # type: ignore[no-untyped-def]
    sub = connect(state, "healthy-sub")
    subscribe(sub, "health")
    connect(state, "healthy-pub").send(Publish("health", b"ok"))
    assert [p.payload for p in sub.publishes()] == [b"ok"]


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200), version=st.sampled_from([V311, V5]))
def test_random_bytes_after_connect_never_escape_the_state_machine(
    caplog: pytest.LogCaptureFixture, data: bytes, version: ProtocolVersion
) -> None:
    caplog.clear()
    state = make_state()
    bad = connect(state, "bad", version)
    reader = PacketReader(version)
    try:
        items = reader.receive_data(data)
    except Exception as exc:  # the reader's documented error for a broken stream
        state.receive_error(bad.conn, exc, 0.0)  # type: ignore[arg-type]
        items = []
    for item in items:
        if item.error is not None:
            state.receive_error(bad.conn, item.error, 0.0)
            break
        assert item.packet is not None
        state.receive_packet(bad.conn, item.packet, 0.0)
    state.handle_timer(1.0)
    _healthy(state)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    script=st.lists(st.tuples(st.integers(0, 1), _PACKETS, st.booleans()), max_size=25),
    version=st.sampled_from([V311, V5]),
)
def test_random_packet_sequences_keep_the_broker_consistent(
    caplog: pytest.LogCaptureFixture, script: list[tuple[int, object, bool]], version: ProtocolVersion
) -> None:
    caplog.clear()
    state = make_state(receive_maximum=4, max_queued=5)
    clients = [connect(state, "c0", version), connect(state, "c1", version, clean_start=False)]
    now = 0.0
    for index, packet, reconnect in script:
        now += 1.0
        client = clients[index]
        if client.is_closed() or client.conn.closed:
            client.lose(now)
            client = clients[index] = connect(state, f"c{index}", version, now=now, clean_start=index == 0)
        state.receive_packet(client.conn, packet, now)  # type: ignore[arg-type]
        client.receive()
        if reconnect:
            client.lose(now)
            clients[index] = connect(state, f"c{index}", version, now=now, clean_start=False)
        state.handle_timer(now)
    for session in state.sessions.values():
        assert len(session.queue) <= 5
        connection = session.connection
        if connection is not None:
            assert len(session.inflight) <= connection.send_quota
    _healthy(state)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def _one_fuzz_round(payload: bytes, framed: bool) -> None:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as broker:
        assert broker.ws_port is not None
        assert broker.tcp_port is not None
        ws = await open_ws(broker.ws_port)
        ws.send_packet(Connect(V311, "fuzz"))
        ws.writer.write(client_frame(0x2, payload) if framed else payload)
        await ws.writer.drain()
        reader, writer = await open_tcp(broker.tcp_port)
        writer.write(encode(Connect(V311, "healthy")) + encode(Pingreq()))
        mqtt = PacketReader()
        packets = await read_mqtt(reader, mqtt)
        if len(packets) < 2:
            packets += await read_mqtt(reader, mqtt)
        assert packets[1:] == [Pingresp()]
        await close_all()


@settings(max_examples=25, deadline=None)
@given(payload=st.binary(min_size=1, max_size=300), framed=st.booleans())
def test_random_bytes_after_a_valid_handshake_leave_other_clients_served(
    payload: bytes, framed: bool
) -> None:
    asyncio.run(_one_fuzz_round(payload, framed))
