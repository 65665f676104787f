"""Exceptions that carry a user-facing explanation.

Every error a user can meet derives from :class:`ExplorerError`, whose ``explanation``
is a sentence fit for a status line or a dialog. Protocol errors say whose fault they
are: :class:`LocalProtocolError` (we misused the protocol, e.g. tried to encode an
invalid packet) or :class:`RemoteProtocolError` (the peer sent something the
specification forbids). Views print ``str(exc)``; they never format a traceback.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "CaptureError",
    "ConnectionFailed",
    "ExplorerError",
    "HandshakeError",
    "LocalProtocolError",
    "MalformedPacket",
    "PacketTooLarge",
    "ProfileError",
    "ProtocolError",
    "RemoteProtocolError",
    "SecretStoreError",
]

Fault = Literal["local", "remote"]


class ExplorerError(Exception):
    """Base class: ``explanation`` is the message shown to the user."""

    def __init__(self, explanation: str) -> None:
        super().__init__(explanation)
        self.explanation = explanation

    def __str__(self) -> str:
        return self.explanation


class ProtocolError(ExplorerError):
    """A protocol rule was broken; ``fault`` says by whom."""

    fault: Fault = "remote"


class LocalProtocolError(ProtocolError):
    """We tried to do something the protocol forbids (e.g. encode an invalid packet)."""

    fault: Fault = "local"


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol forbids."""

    fault: Fault = "remote"


class MalformedPacket(RemoteProtocolError):
    """An MQTT packet could not be decoded.

    Attributes:
        offset: byte offset of the offending byte, counted from the start of the packet
            (or of the stream, for :class:`explorer.mqtt.reader.PacketReader`).
        reason: what is wrong, in plain words.
        fault: ``"remote"`` when decoding bytes from a peer, ``"local"`` when we built
            an invalid packet ourselves.
    """

    def __init__(self, offset: int, reason: str, *, fault: Fault = "remote") -> None:
        super().__init__(f"malformed packet at byte {offset}: {reason}")
        self.offset = offset
        self.reason = reason
        self.fault = fault


class PacketTooLarge(MalformedPacket):
    """The fixed header announces a packet above the configured maximum size."""

    def __init__(self, offset: int, size: int, maximum: int) -> None:
        super().__init__(offset, f"packet of {size} bytes exceeds the maximum of {maximum} bytes")
        self.size = size
        self.maximum = maximum


class HandshakeError(RemoteProtocolError):
    """The HTTP upgrade to WebSocket failed or was invalid."""


class CaptureError(ExplorerError):
    """A pcap/pcapng file could not be read."""


class ProfileError(ExplorerError):
    """A connection profile is missing or invalid (bad TOML, unknown key, bad value)."""


class SecretStoreError(ExplorerError):
    """The OS keyring is not available or refused the operation."""


class ConnectionFailed(ExplorerError):
    """A connection to a broker could not be made or was lost."""
