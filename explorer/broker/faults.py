"""Fault modes: deliberate misbehaviour that reproduces failures seen in the field.

A user who meets "the browser connects but never gets a CONNACK" behind some proxy
can start ``mqttws-explorer broker --fault no-subprotocol-echo`` and watch the same
failure on a laptop; the diagnoser's tests start the broker with ``faults=`` to check
that each failure is named correctly. :data:`FAULT_MODES` is the one list of names:
they are a stable interface (CLI flags, test fixtures, documentation), so never rename
one. This module only parses and describes the modes; the listeners in
``explorer.broker.server`` and ``explorer.broker.upgrade`` act on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from explorer.errors import ExplorerError
from explorer.mqtt.enums import ConnackReasonCode

__all__ = ["FAULT_MODES", "TLS_CERTIFICATE_FAULTS", "Faults", "fault_help", "parse_faults"]

FAULT_MODES: Final[dict[str, str]] = {
    "no-subprotocol-echo": (
        "accept the WebSocket upgrade but leave out Sec-WebSocket-Protocol, as some proxies do; "
        "browsers then fail the connection because they offered 'mqtt'"
    ),
    "echo-unoffered-subprotocol": (
        "answer with a Sec-WebSocket-Protocol the client did not offer (RFC 6455 §4.1 makes the "
        "client fail the connection)"
    ),
    "only-mqttv3.1": (
        "support only the legacy 'mqttv3.1' subprotocol; a client offering only 'mqtt' gets HTTP 400"
    ),
    "require-subprotocol": "reject an upgrade that offers no subprotocol with HTTP 400",
    "strict-path-404": (
        "answer 404 for every path but the configured ones (this is also the default behaviour; "
        "the mode exists so that scripts can state it)"
    ),
    "origin-allow=LIST": (
        "accept only the comma-separated Origin values in LIST (e.g. "
        "origin-allow=http://localhost:8000); any other or missing Origin gets HTTP 403"
    ),
    "text-frames": "send MQTT packets in text frames (opcode 0x1) instead of binary frames",
    "split-frames=N": (
        "split every outgoing MQTT packet over N WebSocket frames (a first frame and N-1 "
        "continuation frames), as some brokers do with large packets"
    ),
    "coalesce": "put all the MQTT packets written together into one WebSocket frame",
    "idle-drop=SECONDS": (
        "drop a connection that has received nothing for SECONDS by closing the TCP socket "
        "without a close frame, like a proxy's idle timeout"
    ),
    "close-after-handshake=CODE": (
        "complete the WebSocket upgrade, then send a close frame with CODE (e.g. 1008) at once"
    ),
    "only-mqtt3.1.1": (
        "speak MQTT 3.1 and 3.1.1 only: answer an MQTT 5.0 CONNECT with the 3.1.1 CONNACK "
        "return code 1 (unacceptable protocol version) and close, as a 3.1.1-only broker does"
    ),
    "tls-expired": "TLS listeners serve a certificate that expired yesterday (issued by the local CA)",
    "tls-wrong-host": (
        "TLS listeners serve a certificate for another host name (wrong-host.invalid), issued by the local CA"
    ),
    "tls-incomplete-chain": (
        "TLS listeners serve a certificate issued by an intermediate CA without sending the "
        "intermediate, as a server missing its chain file does"
    ),
    "tls-self-signed": "TLS listeners serve a self-signed certificate instead of one issued by the local CA",
    "tls-client-cert-required": (
        "TLS listeners require a client certificate issued by the local CA (client.pem/client.key "
        "beside the CA file) and refuse clients without one"
    ),
    "tls-plaintext": (
        "the TLS ports answer in plaintext (HTTP and MQTT without TLS), like a wss:// URL pointed at "
        "a ws:// port"
    ),
    "refuse-connect=REASON": (
        "answer every CONNECT with a CONNACK carrying REASON, an MQTT 5 reason code in decimal or "
        "hex (e.g. 0x87, 135) or a name (not-authorized); mapped to the nearest 3.1.1 return code"
    ),
}


@dataclass(frozen=True, slots=True)
class Faults:
    """The parsed fault modes; the default value means "behave correctly"."""

    no_subprotocol_echo: bool = False
    echo_unoffered_subprotocol: bool = False
    only_mqttv31: bool = False
    require_subprotocol: bool = False
    strict_path_404: bool = False
    origin_allow: tuple[str, ...] | None = None
    text_frames: bool = False
    split_frames: int = 1
    coalesce: bool = False
    idle_drop: float | None = None
    close_after_handshake: int | None = None
    refuse_connect: ConnackReasonCode | None = None
    tls_certificate: str | None = None  # one of explorer.broker.tlscerts.TLS_FAULTS
    tls_client_cert_required: bool = False
    tls_plaintext: bool = False

    @property
    def tls(self) -> bool:
        """Whether a mode acts on the TLS listeners (they must be on)."""
        return self.tls_certificate is not None or self.tls_client_cert_required or self.tls_plaintext

    only_mqtt311: bool = False

    @property
    def active(self) -> bool:
        return self != Faults()


_FLAGS: Final[dict[str, str]] = {
    "no-subprotocol-echo": "no_subprotocol_echo",
    "echo-unoffered-subprotocol": "echo_unoffered_subprotocol",
    "only-mqttv3.1": "only_mqttv31",
    "require-subprotocol": "require_subprotocol",
    "strict-path-404": "strict_path_404",
    "text-frames": "text_frames",
    "coalesce": "coalesce",
    "only-mqtt3.1.1": "only_mqtt311",
    "tls-client-cert-required": "tls_client_cert_required",
    "tls-plaintext": "tls_plaintext",
}
# The modes that replace the server certificate; at most one at a time.
TLS_CERTIFICATE_FAULTS: Final = ("tls-expired", "tls-wrong-host", "tls-incomplete-chain", "tls-self-signed")


def _reason(text: str) -> ConnackReasonCode:
    key = text.strip().lower()
    try:
        value = int(key, 0)
    except ValueError:
        name = key.replace("-", "_").upper()
        try:
            return ConnackReasonCode[name]
        except KeyError:
            names = ", ".join(c.name.lower().replace("_", "-") for c in ConnackReasonCode)
            raise ExplorerError(
                f"refuse-connect: unknown reason {text!r}; use a number or one of {names}"
            ) from None
    try:
        code = ConnackReasonCode(value)
    except ValueError:
        raise ExplorerError(
            f"refuse-connect: {text} is not a CONNACK reason code (MQTT 5.0 §3.2.2.2)"
        ) from None
    if code == ConnackReasonCode.SUCCESS:
        raise ExplorerError("refuse-connect: the reason must be a failure code (0x80 or above)")
    return code


def parse_faults(specs: list[str] | tuple[str, ...]) -> Faults:
    """Parse ``["text-frames", "split-frames=3", ...]`` into :class:`Faults`.

    Raises:
        ExplorerError: naming the unknown mode or the bad value.
    """
    values: dict[str, object] = {}
    for spec in specs:
        name, sep, arg = spec.strip().partition("=")
        if name in TLS_CERTIFICATE_FAULTS:
            if sep:
                raise ExplorerError(f"fault mode {name!r} takes no value")
            other = values.get("tls_certificate")
            if other is not None and other != name:
                raise ExplorerError(
                    f"fault modes {other!r} and {name!r} both replace the certificate: pick one"
                )
            values["tls_certificate"] = name
            continue
        if name in _FLAGS:
            if sep:
                raise ExplorerError(f"fault mode {name!r} takes no value")
            values[_FLAGS[name]] = True
            continue
        if not sep and any(key.startswith(name + "=") for key in FAULT_MODES):
            raise ExplorerError(f"fault mode {name!r} needs a value: {name}=...")
        try:
            if name == "origin-allow":
                values["origin_allow"] = tuple(o.strip() for o in arg.split(",") if o.strip())
            elif name == "split-frames":
                count = int(arg)
                if not 1 <= count <= 64:
                    raise ValueError(arg)
                values["split_frames"] = count
            elif name == "idle-drop":
                seconds = float(arg)
                if not seconds > 0:
                    raise ValueError(arg)
                values["idle_drop"] = seconds
            elif name == "close-after-handshake":
                code = int(arg)
                if not 1000 <= code <= 4999:
                    raise ValueError(arg)
                values["close_after_handshake"] = code
            elif name == "refuse-connect":
                values["refuse_connect"] = _reason(arg)
            else:
                known = ", ".join(FAULT_MODES)
                raise ExplorerError(f"unknown fault mode {name!r}; known modes: {known}")
        except ValueError:
            raise ExplorerError(f"fault mode {name!r}: bad value {arg!r}") from None
    return Faults(**values)  # type: ignore[arg-type]


def fault_help() -> str:
    """One paragraph per mode, for ``--help``."""
    return "\n".join(f"  {name}: {text}" for name, text in FAULT_MODES.items())
