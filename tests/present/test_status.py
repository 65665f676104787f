"""The status line model: the fields both front ends draw, their severities and the fit.

The snapshots come from a real Workspace connected to the embedded broker over loopback
(one with a fault mode that leaves out the subprotocol echo); the fitting rules are
checked on snapshots made here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.faults import parse_faults
from explorer.broker.server import Broker
from explorer.client.options import ConnectionOptions
from explorer.model.events import ConnectionState
from explorer.present.status import ConnectionStatus, Priority, Severity, state_severity, status_line
from explorer.workspace import Workspace


@pytest.fixture
async def quiet_broker() -> AsyncIterator[Broker]:
    async with Broker(
        BrokerConfig.ephemeral(sys_interval=0, faults=parse_faults(["no-subprotocol-echo"]))
    ) as b:
        yield b


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as b:
        yield b


async def test_a_missing_subprotocol_echo_stays_on_the_status_line(quiet_broker: Broker) -> None:
    assert quiet_broker.ws_url is not None
    async with Workspace() as ws:
        await ws.connect(ConnectionOptions(url=quiet_broker.ws_url))
        line = status_line(ws.status)
        warning = line.field("warning")
        assert warning is not None
        assert warning.text == "no subprotocol echoed (offered mqtt)"
        assert warning.severity is Severity.WARNING
        assert warning.priority is Priority.ESSENTIAL
        assert line.text("subprotocol") == "no subprotocol"
        # Still there a while later: it is a property of the connection, not a toast.
        assert status_line(ws.status).field("warning") == warning


async def test_a_good_connection_shows_state_url_subprotocol_version_and_no_warning(broker: Broker) -> None:
    assert broker.ws_url is not None
    async with Workspace() as ws:
        await ws.connect(ConnectionOptions(url=broker.ws_url))
        line = status_line(ws.status)
        assert line.state is ConnectionState.CONNECTED
        assert line.field("state") is not None
        assert line.field("state").severity is Severity.GOOD  # type: ignore[union-attr]
        assert line.text("state") == "connected"
        assert line.text("url") == broker.ws_url
        assert line.text("subprotocol") == "subprotocol mqtt"
        assert line.text("mqtt") == "MQTT 3.1.1"
        assert line.text("tls") == "no TLS"
        assert line.field("warning") is None
        assert line.field("insecure") is None
        assert line.title == f"{broker.ws_url} (connected) · mqttws-explorer"
        await ws.disconnect()
        ended = status_line(ws.status)
        assert ended.text("state") == "disconnected"
        assert ended.field("state").severity is Severity.ERROR  # type: ignore[union-attr]


def test_every_state_has_one_severity() -> None:
    assert {state: state_severity(state) for state in ConnectionState} == {
        ConnectionState.IDLE: Severity.NORMAL,
        ConnectionState.CONNECTING: Severity.BUSY,
        ConnectionState.CONNECTED: Severity.GOOD,
        ConnectionState.RECONNECTING: Severity.BUSY,
        ConnectionState.DISCONNECTED: Severity.ERROR,
        ConnectionState.CLOSED: Severity.ERROR,
        ConnectionState.FAILED: Severity.ERROR,
        ConnectionState.FILE: Severity.NORMAL,
    }


def test_insecure_tls_is_shown_and_a_failure_names_its_error() -> None:
    status = ConnectionStatus(
        state=ConnectionState.FAILED,
        url="wss://example.test/mqtt",
        insecure=True,
        last_error="tls: certificate verify failed",
    )
    line = status_line(status)
    assert line.text("insecure") == "TLS not verified (insecure)"
    assert line.field("insecure").severity is Severity.WARNING  # type: ignore[union-attr]
    assert line.text("error") == "tls: certificate verify failed"
    assert line.field("error").severity is Severity.ERROR  # type: ignore[union-attr]


def test_drops_are_a_warning_and_counts_are_compact() -> None:
    status = ConnectionStatus(
        state=ConnectionState.CONNECTED,
        url="ws://h:1/mqtt",
        messages=123_456,
        topics=42,
        dropped_events=15_000,
    )
    line = status_line(status)
    assert line.text("counts") == "123k msgs · 42 topics"
    assert line.text("drops") == "15k trace events dropped"
    assert line.field("drops").severity is Severity.WARNING  # type: ignore[union-attr]


def test_a_narrow_line_drops_the_lowest_priorities_first_and_keeps_the_rate() -> None:
    status = ConnectionStatus(
        state=ConnectionState.CONNECTED,
        url="wss://broker.example.test:8884/mqtt",
        subprotocol="mqtt",
        tls_version="TLSv1.3",
        cipher="TLS_AES_256_GCM_SHA384",
        mqtt_version="5.0",
        rtt_ms=1.25,
        msgs_per_s=1234.0,
        messages=99,
        topics=7,
        warnings=("no subprotocol echoed (offered mqtt)",),
    )
    line = status_line(status)
    every = [item.key for item in line.fields]
    assert len(line.plain) > 120
    fitted = [item.key for item in line.fit(120)]
    assert "rate" in fitted
    assert "warning" in fitted
    assert "state" in fitted
    assert "history" not in fitted
    assert "trace" not in fitted
    assert fitted == [key for key in every if key in fitted]  # order kept
    assert [item.key for item in line.fit(1000)] == every
    tiny = [item.key for item in line.fit(10)]
    assert tiny == [item.key for item in line.fields if item.priority is Priority.ESSENTIAL]
