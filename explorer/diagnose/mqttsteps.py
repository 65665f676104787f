"""The probe's MQTT steps: CONNECT/CONNACK, an optional large PUBLISH, and liveness.

They run on an :class:`explorer.diagnose.channel.MqttChannel` once the transport below
works. What each step can tell apart:

- CONNECT: no answer, an answer in another protocol, a refusal by CONNACK code, and a
  refused MQTT version, settled by trying the other versions on fresh connections
  (a 3.1.1-only broker answers a 5.0 CONNECT with the 3.1.1 return code 1).
- PUBLISH (``--publish-size``): the broker's Maximum Packet Size from CONNACK (MQTT 5.0
  §3.2.2.3.6), a close with 1009, a connection dropped without a word, a DISCONNECT
  "Packet too large", a refusal by PUBACK code, or no PUBACK.
- liveness: an idle drop (compared with the idle timeouts of common proxies) and a
  PINGREQ left unanswered.
"""

from __future__ import annotations

import secrets
import ssl
import time

from explorer.diagnose.causes import CLOSE_CODE_CAUSES, connack_slug
from explorer.diagnose.channel import Incoming, MqttChannel
from explorer.diagnose.httpcheck import could_be_http
from explorer.diagnose.idle import idle_match
from explorer.diagnose.model import ProbeChecks
from explorer.diagnose.tlscheck import classify_tls_error
from explorer.diagnose.walk import WalkBase, hexdump
from explorer.diagnose.wire import looks_like_tls_record, printable
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ConnackReasonCode, ConnectReturnCode, ProtocolVersion
from explorer.mqtt.packets import (
    NO_PROPERTIES,
    Connack,
    Connect,
    Disconnect,
    Pingreq,
    Pingresp,
    Puback,
    Publish,
)

__all__ = ["MqttSteps", "probe_client_id"]

_PACKET_TOO_LARGE = 0x95  # MQTT 5.0 §3.14.2.1 DISCONNECT reason code
_SIZE_TRIES = 7  # fresh connections spent on finding where a size limit lies
_SMALLEST_TRY = 64
_OTHER_VERSIONS: dict[ProtocolVersion, tuple[ProtocolVersion, ...]] = {
    ProtocolVersion.V5: (ProtocolVersion.V311, ProtocolVersion.V31),
    ProtocolVersion.V311: (ProtocolVersion.V5, ProtocolVersion.V31),
    ProtocolVersion.V31: (ProtocolVersion.V311, ProtocolVersion.V5),
}


def probe_client_id() -> str:
    """A client id unique per probe, 23 characters long.

    MQTT 3.1 allows at most 23 characters (3.1 §3.1, Client Identifier), and a 3.1.1 or
    5.0 server must accept 1 to 23 of ``0-9a-zA-Z`` [MQTT-3.1.3-5]; the dashes are
    accepted by every broker in use. Unique, because a shared id would make the broker
    take over (and close) another probe's session [MQTT-3.1.4-3].
    """
    return f"mqttws-probe-{secrets.token_hex(5)}"


class MqttSteps(WalkBase):
    """CONNECT, PUBLISH and liveness steps of the walk (see the module doc)."""

    async def _mqtt(self, channel: MqttChannel) -> None:
        options = self.options
        self.client_id = options.client_id or probe_client_id()
        connect = Connect(
            protocol_version=options.mqtt_version,
            client_id=self.client_id,
            clean_start=options.clean_start,
            keep_alive=options.keep_alive,
            username=options.username,
            password=options.password,
            will=options.will,
            properties=(
                options.connect_properties() if options.mqtt_version >= ProtocolVersion.V5 else NO_PROPERTIES
            ),
        )
        self._begin()  # the mqtt step runs from CONNECT to CONNACK
        started = self._started
        await channel.send(encode(connect, options.mqtt_version))
        timeout = options.handshake_timeout
        first = True
        while True:
            remaining = timeout - (time.monotonic() - started)
            try:
                if remaining <= 0:
                    raise TimeoutError
                incoming = await channel.receive(remaining)
            except TimeoutError:
                if channel.websocket:
                    self._websocket_ok()
                elif channel.first_bytes:
                    self._judge_native_answer(bytes(channel.first_bytes))
                raise self._fail(
                    "mqtt-no-connack",
                    {"timeout": f"{timeout:g}", "connack_wait": "the connection stayed open"},
                ) from None
            if channel.websocket and first:
                self._judge_first_frames(channel, incoming)
            first = False
            if not channel.websocket and channel.first_bytes:
                head = bytes(channel.first_bytes)
                if could_be_http(head[:7]) and not incoming.closed and len(head) < 512:
                    continue  # an HTTP answer: read the rest of its page before judging
                self._judge_native_answer(head)
            if incoming.mqtt_error is not None:
                raise self._fail("mqtt-malformed", {"mqtt_error": str(incoming.mqtt_error)})
            for read in incoming.packets:
                packet = read.packet
                if isinstance(packet, Connack):
                    await self._connack(packet)
                    return
                raise self._fail("mqtt-unexpected-packet", {"packet": type(packet).__name__.upper()})
            if incoming.closed:
                if channel.tls_error is not None:
                    raise self._fail(*classify_tls_error(channel.tls_error, b"", None))
                if channel.websocket and incoming.close_code is None and not channel.first_bytes:
                    raise self._fail("ws-dropped", {})
                wait = "the server closed the connection"
                if incoming.close_code is not None:
                    wait += f" with close code {incoming.close_code}"
                raise self._fail("mqtt-no-connack", {"timeout": f"{timeout:g}", "connack_wait": wait})

    def _judge_native_answer(self, data: bytes) -> None:
        """An mqtt:// URL pointed at a port that speaks HTTP or TLS shows it in its first bytes."""
        observed = {"first_bytes_hex": hexdump(data), "first_bytes_text": printable(data)}
        # nginx answers non-TLS bytes on a TLS port with this 400 page.
        if looks_like_tls_record(data) or b"plain HTTP request was sent to HTTPS port" in data:
            raise self._fail("plaintext-to-tls-port", observed)
        if could_be_http(data[:7]) and len(data) >= 5:
            raise self._fail("mqtt-port-speaks-http", observed)

    def _websocket_ok(self) -> None:
        """The handshake checked out and the first frame was sound: report the layer."""
        if not any(step.layer == "websocket" for step in self.steps):
            detail = f"101 accepted, subprotocol {self.observed.get('subprotocol', '(none)')}"
            if "extensions_received" in self.observed:
                detail += f", extensions {self.observed['extensions_received']}"
            self._step("websocket", True, detail, duration_ms=self._handshake_ms)

    def _ws_problem_slug(self, problem: str) -> str:
        """A compressed frame after offering permessage-deflate and getting no answer to it
        is a proxy that stripped Sec-WebSocket-Extensions from the 101."""
        if problem == "ws-compressed-without-negotiation" and self.checks.offers_deflate:
            return "ws-extensions-stripped"
        return problem

    def _judge_first_frames(self, channel: MqttChannel, incoming: Incoming) -> None:
        observed: dict[str, str] = {}
        if channel.first_bytes:
            observed["first_frame_hex"] = hexdump(bytes(channel.first_bytes))
        if incoming.ws_problem is not None:
            observed["ws_error"] = incoming.ws_error or incoming.ws_problem
            if channel.first_frame_payload:
                observed["frame_payload_hex"] = hexdump(channel.first_frame_payload)
            raise self._fail(self._ws_problem_slug(incoming.ws_problem), observed)
        if incoming.close_code is not None and not incoming.packets:
            observed["close_code"] = str(incoming.close_code)
            observed["close_reason"] = incoming.close_reason or "(no reason given)"
            raise self._fail(CLOSE_CODE_CAUSES.get(incoming.close_code, "ws-closed"), observed)
        if incoming.closed and not incoming.packets:
            raise self._fail("ws-dropped", observed)
        self.observed.update(observed)
        self._websocket_ok()

    async def _connack(self, packet: Connack) -> None:
        code = int(packet.reason_code)
        version = self.options.mqtt_version
        name = getattr(packet.reason_code, "name", str(code))
        label = f"0x{code:02X} {name}" if version >= ProtocolVersion.V5 else f"{code} {name}"
        self.observed["connack_code"] = label
        props = packet.properties
        self.observed["reason_string"] = props.reason_string or "(none)"
        if props.server_reference:
            self.observed["server_reference"] = props.server_reference
        if code != ConnectReturnCode.ACCEPTED:
            if _refuses_version(code, version) and not self.nested:
                spoken = await self._version_spoken()
                if spoken is not None:
                    raise self._fail("mqtt-version-mismatch", {"broker_version": spoken.label})
            raise self._fail(connack_slug(code, int(version)), {})
        if props.server_keep_alive is not None:
            self.observed["server_keep_alive"] = str(props.server_keep_alive)
        if props.maximum_packet_size is not None:
            self.observed["server_maximum_packet_size"] = str(props.maximum_packet_size)
        self.maximum_packet_size = props.maximum_packet_size
        self._step("mqtt", True, f"CONNACK {label}, MQTT {version.label}")

    async def _version_spoken(self) -> ProtocolVersion | None:
        """The first other MQTT version this broker accepts, tried on fresh connections."""
        tried: list[str] = []
        for other in _OTHER_VERSIONS[self.options.mqtt_version]:
            tried.append(other.label)
            result = await self._probe_again(self.options.with_changes(mqtt_version=other))
            if any(step.layer == "mqtt" and step.ok for step in result.steps):
                self.observed["versions_tried"] = ", ".join(tried)
                return other
        self.observed["versions_tried"] = ", ".join(tried)
        return None

    # -- PUBLISH ---------------------------------------------------------------------
    async def _publish(self, channel: MqttChannel, size: int) -> None:
        """Publish ``size`` random (incompressible) bytes at QoS 1 and wait for PUBACK."""
        self._begin()
        version = self.options.mqtt_version
        publish = Publish(
            f"mqttws-explorer/probe/{self.client_id}", secrets.token_bytes(size), qos=1, packet_id=1
        )
        data = encode(publish, version)
        self.observed["publish_size"] = str(size)
        self.observed["packet_size"] = str(len(data))
        limit = self.maximum_packet_size
        if limit is not None and len(data) > limit:
            # [MQTT-3.2.2-15]: the client must not send a packet above the server's maximum.
            raise self._fail("limit-mqtt-maximum-packet-size", {})
        await channel.send(data)
        timeout = self.options.handshake_timeout + size / 1_000_000  # ~1 MB/s at worst
        started = time.monotonic()
        while True:
            remaining = timeout - (time.monotonic() - started)
            try:
                if remaining <= 0:
                    raise TimeoutError
                incoming = await channel.receive(remaining)
            except TimeoutError:
                raise self._fail("publish-no-puback", {"timeout": f"{timeout:.3g}"}) from None
            if incoming.ws_problem is not None:
                observed = {"ws_error": incoming.ws_error or incoming.ws_problem}
                raise self._fail(self._ws_problem_slug(incoming.ws_problem), observed)
            for read in incoming.packets:
                packet = read.packet
                if isinstance(packet, Puback) and packet.packet_id == 1:
                    reason = int(packet.reason_code)
                    if reason >= 0x80:
                        label = f"0x{reason:02X} {getattr(packet.reason_code, 'name', reason)}"
                        raise self._fail("publish-refused", {"puback_code": label})
                    self._step(
                        "publish", True, f"PUBLISH of {size:,} B ({len(data):,} B packet) acknowledged"
                    )
                    return
                if isinstance(packet, Disconnect):
                    reason = int(packet.reason_code)
                    label = f"0x{reason:02X} {getattr(packet.reason_code, 'name', reason)}"
                    observed = {"close_code": f"DISCONNECT {label}"}
                    slug = "publish-closed"
                    if reason == _PACKET_TOO_LARGE:
                        slug = "limit-mqtt-packet-too-large"
                        observed["size_bounds"] = await self._size_bounds(size)
                    raise self._fail(slug, observed)
            if incoming.mqtt_error is not None:
                raise self._fail("mqtt-malformed", {"mqtt_error": str(incoming.mqtt_error)})
            if incoming.closed:
                if incoming.close_code == 1009:
                    observed = {"close_reason": incoming.close_reason or "(no reason given)"}
                    observed["size_bounds"] = await self._size_bounds(size)
                    raise self._fail("limit-ws-message-too-big", observed)
                if incoming.close_code is not None:
                    code = f"{incoming.close_code} {incoming.close_reason}".rstrip()
                    reason_slug = CLOSE_CODE_CAUSES.get(incoming.close_code, "")
                    raise self._fail("publish-closed", {"close_code": code, "close_cause": reason_slug})
                raise self._fail("limit-silent-drop", {"size_bounds": await self._size_bounds(size)})

    async def _size_bounds(self, failed: int) -> str:
        """Where the limit lies: smaller messages published on fresh connections, halving
        until one passes, then a few bisection steps (at most :data:`_SIZE_TRIES` tries)."""
        if self.nested:
            return ""
        passed: int | None = None
        tries = 0
        candidate = failed // 2
        while tries < _SIZE_TRIES and candidate >= _SMALLEST_TRY and failed - (passed or 0) > 1:
            tries += 1
            checks = ProbeChecks(
                browser=self.checks.browser, compression=self.checks.compression, publish_size=candidate
            )
            result = await self._probe_again(self.options, checks)
            if result.ok:
                passed = candidate
            elif result.layer == "publish" and result.cause.startswith("limit-"):
                failed = candidate
            else:
                break  # something else went wrong: no bound from it
            candidate = failed // 2 if passed is None else (passed + failed) // 2
        if passed is None:
            return (
                f"no smaller message passed either, down to {failed:,} B: rather than a size, "
                "the server may refuse any PUBLISH to this topic (an ACL)"
            )
        return f"a message of {passed:,} B passed and one of {failed:,} B failed"

    # -- liveness --------------------------------------------------------------------
    async def _liveness(self, channel: MqttChannel) -> None:
        timeout = self.options.handshake_timeout
        self._begin()
        if self.idle > 0:
            self.observed["idle_requested"] = f"{self.idle:g}"
            started = time.monotonic()
            while True:
                remaining = self.idle - (time.monotonic() - started)
                if remaining <= 0:
                    break
                try:
                    incoming = await channel.receive(remaining)
                except TimeoutError:
                    break
                if incoming.closed or incoming.ws_problem:
                    elapsed = time.monotonic() - started
                    observed = {
                        "idle_seconds": f"{elapsed:.1f}",
                        "idle_match": idle_match(elapsed),
                    }
                    if incoming.close_code is not None:
                        observed["close_code"] = str(incoming.close_code)
                    raise self._fail("liveness-idle-drop", observed)
        await channel.send(encode(Pingreq(), self.options.mqtt_version))
        started = time.monotonic()
        while True:
            remaining = timeout - (time.monotonic() - started)
            try:
                if remaining <= 0:
                    raise TimeoutError
                incoming = await channel.receive(remaining)
            except TimeoutError:
                raise self._fail("liveness-no-pingresp", {"timeout": f"{timeout:g}"}) from None
            if any(isinstance(read.packet, Pingresp) for read in incoming.packets):
                break
            if incoming.closed:
                raise self._fail("liveness-no-pingresp", {"timeout": f"{timeout:g}"})
        idle = f"silent {self.idle:g} s, then " if self.idle > 0 else ""
        self._step("liveness", True, f"{idle}PINGREQ answered by PINGRESP")
        try:
            await channel.send(encode(Disconnect(), self.options.mqtt_version))
        except (ConnectionError, OSError, ssl.SSLError):
            pass


def _refuses_version(code: int, version: ProtocolVersion) -> bool:
    """CONNACK 1 (3.1.1 §3.2.2.3, also what a 3.1.1-only broker answers a 5.0 CONNECT
    with) or 0x84 (5.0 §3.2.2.2): the broker does not speak the version asked for."""
    if code == ConnectReturnCode.UNACCEPTABLE_PROTOCOL_VERSION:
        return True
    return version >= ProtocolVersion.V5 and code == ConnackReasonCode.UNSUPPORTED_PROTOCOL_VERSION
