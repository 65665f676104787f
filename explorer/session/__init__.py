"""The MQTT client session: a Sans-I/O state machine and the outcomes it reports.

``Session`` (``explorer.session.state``) does the protocol; ``explorer.client.driver`` drives it
over a network connection.
"""

from __future__ import annotations

from explorer.session.events import (
    Anomaly,
    AuthReceived,
    Connected,
    ConnectRefused,
    MessageArrived,
    PingAnswered,
    ProtocolViolation,
    PublishCompleted,
    ServerDisconnected,
    SessionEvent,
    SubscribeCompleted,
    TimedOut,
    UnsubscribeCompleted,
)
from explorer.session.limits import PacketIds, ServerLimits, generate_client_id, reason_text
from explorer.session.state import ReceivedPacket, Session, SessionState

__all__ = [
    "Anomaly",
    "AuthReceived",
    "ConnectRefused",
    "Connected",
    "MessageArrived",
    "PacketIds",
    "PingAnswered",
    "ProtocolViolation",
    "PublishCompleted",
    "ReceivedPacket",
    "ServerDisconnected",
    "ServerLimits",
    "Session",
    "SessionEvent",
    "SessionState",
    "SubscribeCompleted",
    "TimedOut",
    "UnsubscribeCompleted",
    "generate_client_id",
    "reason_text",
]
