"""Broker configuration as one immutable value.

Every limit the broker enforces lives here with its default, so that the CLI, the
Workspace and the tests configure the broker the same way. Port 0 asks the OS for a
free port; ``None`` turns a listener off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from explorer.broker.faults import Faults

__all__ = [
    "DEFAULT_MQTTS_PORT",
    "DEFAULT_TCP_PORT",
    "DEFAULT_WSS_PORT",
    "DEFAULT_WS_PORT",
    "SUBPROTOCOLS",
    "BrokerConfig",
]

DEFAULT_WS_PORT = 9001
DEFAULT_TCP_PORT = 1883
DEFAULT_WSS_PORT = 8884
DEFAULT_MQTTS_PORT = 8883  # IANA's port for MQTT over TLS

# MQTT 5.0 §6.0: "mqtt"; MQTT 3.1 used "mqttv3.1".
SUBPROTOCOLS: tuple[str, ...] = ("mqtt", "mqttv3.1")


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    """What the broker listens on and which limits it enforces.

    Attributes:
        bind: address of both listeners; loopback unless asked otherwise.
        ws_port / tcp_port: 0 for a free port, ``None`` for no listener.
        ws_paths: the HTTP paths that accept a WebSocket upgrade; others get 404.
        password_file: ``user:$7$...`` lines (see ``explorer.broker.auth``); when set,
            clients must authenticate unless ``allow_anonymous``.
        acl_file: Mosquitto ``acl_file`` syntax.
        max_packet_size: largest packet we accept (advertised in a v5 CONNACK).
        max_connect_size: largest packet accepted before a CONNECT has been read (so
            before authentication), checked from the fixed header before buffering; a
            WebSocket frame before the CONNECT is held to the same bound.
        max_buffered: bytes all connections together may hold in partial packets,
            partial frames, unfinished upgrade requests and unsent output; beyond it the
            connections holding the most are closed (DISCONNECT 0x97 to v5 clients,
            WebSocket close code 1013) until the total is back under it.
        receive_maximum: QoS 1/2 PUBLISHes a client may have unacknowledged towards us.
        max_inflight: QoS 1/2 messages we send before waiting for acknowledgements
            (also bounded by the client's Receive Maximum).
        max_queued: messages held per session beyond the in-flight window (offline
            sessions included); older QoS 1/2 messages are kept, newer ones dropped.
        write_high_water: bytes buffered on a connection beyond which QoS 0 messages
            to it are dropped (the slow consumer policy).
        max_connections: further connections are closed at once.
        max_connections_per_ip: connections one client address may hold; further ones
            from that address are closed at once (0: no per-address limit).
        handshake_timeout / connect_timeout: seconds for the HTTP upgrade and for the
            CONNECT packet to arrive.
        server_keep_alive: if set, the keep alive we impose on every v5 client.
        max_keep_alive: the longest keep alive a client may use, seconds (0: no limit).
            A v5 client asking for 0 or more gets it as Server Keep Alive in CONNACK
            ([MQTT-3.1.2-21]); MQTT 3.1/3.1.1 cannot be told, so such a client is closed
            after 1.5 times it without a packet, as if it had asked for it.
        max_session_expiry: cap on a session's expiry interval, seconds.
        topic_alias_maximum: inbound topic aliases a v5 client may use.
        sys_interval: seconds between $SYS statistics updates; 0 turns them off.
        tick_interval: seconds between timer ticks (keep alive, wills, expiry).
        faults: deliberate misbehaviour, see ``explorer.broker.faults``.
        demo / demo_rate: run the demo publisher at ``demo_rate`` messages per second.
        tls: also listen for wss (``wss_port``) and mqtts (``mqtts_port``), with
            ``tls_cert``/``tls_key`` or, without them, a local CA and server certificate
            kept under ``tls_dir`` (``tls/`` in the user's data directory by default).
    """

    bind: str = "127.0.0.1"
    ws_port: int | None = DEFAULT_WS_PORT
    tcp_port: int | None = DEFAULT_TCP_PORT
    ws_paths: tuple[str, ...] = ("/mqtt",)
    password_file: Path | None = None
    acl_file: Path | None = None
    allow_anonymous: bool | None = None  # None: True unless a password file is given
    max_packet_size: int = 16 * 1024 * 1024
    max_connect_size: int = 64 * 1024
    max_buffered: int = 256 * 1024 * 1024
    receive_maximum: int = 1000
    max_inflight: int = 1000
    max_queued: int = 10_000
    write_high_water: int = 4 * 1024 * 1024
    max_connections: int = 10_000
    max_connections_per_ip: int = 1000
    handshake_timeout: float = 10.0
    connect_timeout: float = 10.0
    server_keep_alive: int | None = None
    max_keep_alive: int = 300
    max_session_expiry: int = 7 * 24 * 3600
    topic_alias_maximum: int = 100
    sys_interval: float = 10.0
    tick_interval: float = 0.5
    faults: Faults = field(default_factory=Faults)
    demo: bool = False
    demo_rate: float = 5.0
    tls: bool = False
    wss_port: int | None = DEFAULT_WSS_PORT
    mqtts_port: int | None = DEFAULT_MQTTS_PORT
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_dir: Path | None = None

    @classmethod
    def ephemeral(cls, **changes: object) -> BrokerConfig:
        """Free ports on loopback: what tests and the embedded use want."""
        values: dict[str, object] = {"ws_port": 0, "tcp_port": 0, "wss_port": 0, "mqtts_port": 0}
        values.update(changes)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def anonymous_allowed(self) -> bool:
        if self.allow_anonymous is not None:
            return self.allow_anonymous
        return self.password_file is None
