"""The layer walk: DNS -> TCP -> TLS -> HTTP upgrade -> WebSocket -> MQTT -> liveness.

Each layer is done by hand so that it can be observed on its own (getaddrinfo, a TCP
connect, TLS on memory BIOs, raw upgrade bytes, frames, CONNECT/CONNACK). The walk
stops at the first layer that fails and returns a :class:`Diagnosis` naming the cause
from :mod:`explorer.diagnose.causes`. Progress goes to ``on_step`` as each layer ends,
so a view can show it live. Some answers are ambiguous from one attempt (a 400 may be a
proxy that drops ``Upgrade``, a server that wants another subprotocol, or Node's ``ws``
on a path it does not serve; a 403 may be about the Origin): those are settled by more
targeted upgrade attempts.
"""

from __future__ import annotations

import asyncio
import errno
import secrets
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from explorer.client.options import ConnectionOptions, Endpoint
from explorer.diagnose.causes import CAUSES, CLOSE_CODE_CAUSES, CONNECTED, connack_slug, render
from explorer.diagnose.channel import Incoming, MqttChannel
from explorer.diagnose.httpcheck import COMMON_PATHS, classify_status, could_be_http
from explorer.diagnose.model import Diagnosis, Layer, Step
from explorer.diagnose.proxy import open_tunnel, proxy_address
from explorer.diagnose.tlscheck import classify_tls_error, client_context
from explorer.diagnose.transport import PeerChain, ProbeStream, peer_chain
from explorer.diagnose.upgradecheck import UpgradeResult, perform_upgrade
from explorer.diagnose.wire import looks_like_tls_record, printable
from explorer.errors import ExplorerError
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ConnectReturnCode, ProtocolVersion
from explorer.mqtt.packets import NO_PROPERTIES, Connack, Connect, Disconnect, Pingreq, Pingresp
from explorer.ws.handshake import check_handshake

__all__ = ["StepCallback", "probe"]

StepCallback = Callable[[Step], None]
Address = tuple[Any, ...]

_NOT_FOUND = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


class _Stop(Exception):
    """The walk ends here with ``slug``."""

    def __init__(self, slug: str, observed: dict[str, str] | None = None) -> None:
        super().__init__(slug)
        self.slug = slug
        self.observed = observed or {}


def _hexdump(data: bytes) -> str:
    return data[:32].hex(" ")


class _Walk:
    def __init__(self, options: ConnectionOptions, idle: float, on_step: StepCallback | None) -> None:
        self.options = options
        self.endpoint: Endpoint = options.endpoint
        self.idle = idle
        self.on_step = on_step
        self.steps: list[Step] = []
        self.observed: dict[str, str] = {
            "url": self.endpoint.url(),
            "host": self.endpoint.host,
            "port": str(self.endpoint.port),
            "path": self.endpoint.path or "",
            "mqtt_version": options.mqtt_version.label,
            "keep_alive": str(options.keep_alive),
        }
        self.address: Address | None = None
        self.family = socket.AF_INET
        self._started = 0.0
        self._handshake_ms = 0.0  # how long checking the 101 took; reported with the first frame

    # -- bookkeeping ----------------------------------------------------------
    def _begin(self) -> None:
        self._started = time.monotonic()

    def _step(self, layer: Layer, ok: bool, detail: str, *, duration_ms: float | None = None) -> None:
        now = time.monotonic()
        elapsed = (now - self._started) * 1000.0 if duration_ms is None else duration_ms
        step = Step(layer, ok, elapsed, detail)
        self.steps.append(step)
        if self.on_step is not None:
            self.on_step(step)
        if duration_ms is None:
            self._started = now

    def _fail(self, slug: str, observed: dict[str, str]) -> _Stop:
        layer = CAUSES[slug].layer
        self.observed.update(observed)
        explanation, _ = render(slug, self.observed)
        self._step(layer, False, explanation)
        return _Stop(slug)

    def diagnosis(self, slug: str) -> Diagnosis:
        explanation, fix = render(slug, self.observed)
        layer = self.steps[-1].layer if self.steps else CAUSES[slug].layer
        return Diagnosis(
            ok=slug == CONNECTED,
            layer=layer,
            cause=slug,
            explanation=explanation,
            fix=fix,
            observed={k: v for k, v in self.observed.items() if k not in ("summary",)},
            steps=list(self.steps),
            url=self.endpoint.url(),
        )

    # -- the walk ---------------------------------------------------------------
    async def run(self) -> Diagnosis:
        stream: ProbeStream | None = None
        try:
            addresses = await self._dns()
            stream = await self._tcp(addresses)
            if self.options.proxy:
                await self._tunnel(stream, self.options.proxy)
            if self.endpoint.secure:
                await self._tls(stream)
            rest = b""
            if self.endpoint.websocket:
                rest = await self._upgrade(stream)
            channel = MqttChannel(
                stream, self.options.mqtt_version, websocket=self.endpoint.websocket, initial=rest
            )
            await self._mqtt(channel)
            await self._liveness(channel)
        except _Stop as stop:
            return self.diagnosis(stop.slug)
        except (ConnectionError, OSError, ssl.SSLError) as exc:
            # A write failed because the peer reset the connection between two reads.
            done = [step.layer for step in self.steps if step.ok]
            phase = f"after the {done[-1]} layer" if done else "while connecting"
            error = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            try:
                raise self._fail("connection-lost", {"phase": phase, "error": error}) from None
            except _Stop as stop:
                return self.diagnosis(stop.slug)
        finally:
            if stream is not None:
                await stream.close()
        parts = [step.detail for step in self.steps]
        self.observed["summary"] = "; ".join(parts)
        return self.diagnosis(CONNECTED)

    async def _dns(self) -> list[Address]:
        self._begin()
        loop = asyncio.get_running_loop()
        host, port = self.endpoint.host, self.endpoint.port
        lookup_name = host
        if self.options.proxy:
            # Through a proxy, only the proxy's name is ours to resolve.
            host, port = proxy_address(self.options.proxy)
            self.observed["proxy"] = f"{host}:{port}"
            lookup_name = f"the HTTP proxy's name {host}"
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), self.options.connect_timeout
            )
        except socket.gaierror as exc:
            observed = {"error": f"{exc.strerror} (EAI {exc.errno})", "lookup_name": lookup_name}
            slug = "dns-name-not-found" if exc.errno in _NOT_FOUND else "dns-no-resolver"
            raise self._fail(slug, observed) from None
        except TimeoutError:
            raise self._fail(
                "dns-no-resolver", {"error": "the lookup timed out", "lookup_name": lookup_name}
            ) from None
        addresses = [(info[0], info[4]) for info in infos]
        shown = ", ".join(str(addr[0]) for _, addr in addresses[:4])
        self.observed["addresses"] = shown
        self._step("dns", True, f"{host} -> {shown}")
        return addresses

    async def _tcp(self, addresses: list[Address]) -> ProbeStream:
        self._begin()
        timeout = self.options.connect_timeout
        last: tuple[str, dict[str, str]] | None = None
        refused = "proxy-connection-refused" if self.options.proxy else "tcp-connection-refused"
        for family, sockaddr in addresses:
            text = (
                f"{sockaddr[0]}:{sockaddr[1]}"
                if family == socket.AF_INET
                else f"[{sockaddr[0]}]:{sockaddr[1]}"
            )
            # Through a proxy, this connection goes to the proxy: say so in every TCP verdict.
            peer = f"the HTTP proxy {text}" if self.options.proxy else text
            observed = {"address": text, "tcp_peer": peer, "timeout": f"{timeout:g}"}
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(sockaddr[0], sockaddr[1]), timeout
                )
            except ConnectionRefusedError:
                last = (refused, observed)
                continue
            except TimeoutError:
                last = ("tcp-connect-timeout", observed)
                continue
            except OSError as exc:
                slug = refused if exc.errno == errno.ECONNREFUSED else "tcp-unreachable"
                last = (slug, {**observed, "error": exc.strerror or str(exc)})
                continue
            self.address = sockaddr
            self.family = family
            self.observed["address"] = text
            self._step("tcp", True, f"connected to {text}")
            return ProbeStream(reader, writer)
        assert last is not None
        raise self._fail(*last)

    async def _tunnel(self, stream: ProbeStream, proxy_url: str) -> None:
        self._begin()
        slug, observed = await open_tunnel(stream, proxy_url, self.endpoint, self.options.handshake_timeout)
        if slug is not None:
            raise self._fail(slug, observed)
        self.observed.update(observed)
        self._step(
            "tcp", True, f"tunnel to {self.endpoint.host}:{self.endpoint.port} via {self.observed['proxy']}"
        )

    async def _tls(self, stream: ProbeStream) -> None:
        self._begin()
        tls = self.options.tls
        if self.endpoint.websocket and not tls.alpn:
            tls = replace(tls, alpn=("http/1.1",))
        context = client_context(tls)
        server_name = tls.server_name or self.endpoint.host
        try:
            obj = await asyncio.wait_for(
                stream.start_tls(context, server_name), self.options.handshake_timeout
            )
        except TimeoutError:
            raise self._fail(
                "tls-handshake-timeout", {"timeout": f"{self.options.handshake_timeout:g}"}
            ) from None
        except (ssl.SSLError, OSError) as exc:
            chain = peer_chain(stream.tls) if stream.tls is not None else None
            if chain is None and isinstance(exc, ssl.SSLCertVerificationError):
                chain = await self._fetch_chain(server_name)
            slug, observed = classify_tls_error(exc, bytes(stream.raw_head), chain)
            raise self._fail(slug, observed) from None
        version = obj.version() or "?"
        cipher = obj.cipher()
        self.observed["tls_version"] = version
        if cipher:
            self.observed["tls_cipher"] = cipher[0]
        alpn = obj.selected_alpn_protocol()
        if alpn:
            self.observed["tls_alpn"] = alpn
        verified = "certificate not verified (insecure)" if tls.insecure else "certificate verified"
        self._step("tls", True, f"{version}, {verified}")

    async def _reconnect(self) -> ProbeStream | None:
        """A fresh connection to the address that worked (through the tunnel, if any)."""
        if self.address is None:
            return None
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.address[0], self.address[1]), self.options.connect_timeout
            )
        except (OSError, TimeoutError):
            return None
        stream = ProbeStream(reader, writer)
        if self.options.proxy:
            slug, _ = await open_tunnel(
                stream, self.options.proxy, self.endpoint, self.options.handshake_timeout
            )
            if slug is not None:
                await stream.close()
                return None
        return stream

    async def _fetch_chain(self, server_name: str) -> PeerChain | None:
        """Reconnect without verification to see which certificates the server sends."""
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        second = await self._reconnect()
        if second is None:
            return None
        try:
            await asyncio.wait_for(second.start_tls(context, server_name), self.options.handshake_timeout)
            return peer_chain(second.tls) if second.tls is not None else None
        except (ssl.SSLError, OSError, TimeoutError):
            return None
        finally:
            await second.close()

    async def _upgrade(self, stream: ProbeStream) -> bytes:
        self._begin()
        result = await perform_upgrade(stream, self.options)
        self.observed["request"] = result.request_text.split("\r\n", 1)[0]
        self.observed["subprotocols_offered"] = ", ".join(self.options.subprotocols) or "(none)"
        if result.tls_error is not None:
            slug, observed = classify_tls_error(result.tls_error, bytes(stream.raw_head), None)
            raise self._fail(slug, observed)
        if result.timeout:
            raise self._fail("http-no-response", {"timeout": f"{self.options.handshake_timeout:g}"})
        if result.foreign is not None:
            raise self._fail(*result.foreign)
        response = result.response
        assert response is not None
        observed = {"status_line": f"{response.version} {response.status} {response.reason}".rstrip()}
        head = response.raw[: len(response.raw) - len(response.body)].rstrip(b"\r\n")
        observed["response_head"] = head.decode("latin-1")[:1000]
        if response.status != 101:
            slug, found = classify_status(response, self.endpoint.url())
            observed.update(found)
            slug = await self._refine(slug, response.status, observed)
            raise self._fail(slug, observed)
        self.observed.update(observed)
        self._step("http", True, observed["status_line"])
        await self._websocket(result)
        return result.rest

    async def _attempt(self, **changes: Any) -> UpgradeResult | None:
        """One more upgrade on a fresh connection with some options changed."""
        options = self.options.with_changes(**changes)
        stream = await self._reconnect()
        if stream is None:
            return None
        try:
            if self.endpoint.secure:
                tls = options.tls
                await asyncio.wait_for(
                    stream.start_tls(client_context(tls), tls.server_name or self.endpoint.host),
                    self.options.handshake_timeout,
                )
            return await perform_upgrade(stream, options)
        except (ssl.SSLError, OSError, TimeoutError):
            return None
        finally:
            await stream.close()

    async def _refine(self, slug: str, status: int, observed: dict[str, str]) -> str:
        """Settle what one answer cannot tell apart (subprotocol, Origin) by a second try."""
        offered = self.options.subprotocols
        refused = slug in ("upgrade-not-forwarded", "http-upgrade-refused")
        if refused or (slug == "http-forbidden" and status == 403):
            refined = await self._refine_subprotocol(offered, observed)
            if refined is not None:
                return refined
        if refused and status in (400, 426):
            # Node's ws answers 400 to a path it does not serve: a proxy is blamed only
            # when no other path works and the answer itself points at one.
            refined = await self._refine_path(observed)
            if refined is not None:
                return refined
        if status == 403:
            origin = None if self.options.origin else self._own_origin()
            retry = await self._attempt(origin=origin)
            if retry is not None and retry.response is not None and retry.response.status == 101:
                observed["origin_sent"] = self.options.origin or "(none)"
                observed["origin_accepted"] = origin or "(none)"
                return "http-forbidden-origin"
            if slug == "http-forbidden-origin":
                observed["origin_sent"] = self.options.origin or "(none)"
        return slug

    async def _refine_path(self, observed: dict[str, str]) -> str | None:
        """Try the common WebSocket paths at once; ``http-wrong-path`` if one upgrades."""
        path, mark, query = self.endpoint.path.partition("?")
        candidates = [candidate for candidate in COMMON_PATHS if candidate != path]
        observed["paths_tried"] = ", ".join([path or "/", *candidates])
        urls = [
            Endpoint(
                self.endpoint.scheme, self.endpoint.host, self.endpoint.port, candidate + mark + query
            ).url()
            for candidate in candidates
        ]
        results = await asyncio.gather(*(self._attempt(url=url) for url in urls))
        for candidate, url, retry in zip(candidates, urls, results, strict=True):
            if retry is not None and retry.response is not None and retry.response.status == 101:
                observed["working_path"] = candidate
                observed["working_url"] = url
                return "http-wrong-path"
        return None

    async def _refine_subprotocol(self, offered: tuple[str, ...], observed: dict[str, str]) -> str | None:
        if not offered:
            retry = await self._attempt(subprotocols=("mqtt", "mqttv3.1"))
            if retry is not None and retry.response is not None and retry.response.status == 101:
                observed["subprotocol_accepted"] = retry.response.subprotocol or "(none)"
                return "subprotocol-required"
        elif "mqttv3.1" not in offered:
            retry = await self._attempt(subprotocols=("mqttv3.1",))
            if (
                retry is not None
                and retry.response is not None
                and retry.response.status == 101
                and retry.response.subprotocol == "mqttv3.1"
            ):
                observed["subprotocol_accepted"] = "mqttv3.1"
                return "subprotocol-only-mqttv31"
        return None

    def _own_origin(self) -> str:
        scheme = "https" if self.endpoint.secure else "http"
        host = f"[{self.endpoint.host}]" if ":" in self.endpoint.host else self.endpoint.host
        return f"{scheme}://{host}:{self.endpoint.port}"

    async def _websocket(self, result: UpgradeResult) -> None:
        self._begin()
        response = result.response
        assert response is not None
        check = check_handshake(result.request, response)
        observed: dict[str, str] = {"subprotocol_received": response.subprotocol or "(none)"}
        if check.accept_ok is not True:
            observed["accept_received"] = check.accept_received or "(missing)"
            observed["accept_expected"] = check.accept_expected or "?"
            raise self._fail("ws-invalid-accept", observed)
        chosen = response.subprotocol
        offered = self.options.subprotocols
        if chosen is not None and chosen not in offered:
            raise self._fail("subprotocol-unoffered-echo", observed)
        if check.problems:
            observed["ws_error"] = "; ".join(check.problems)
            raise self._fail("ws-handshake-invalid", observed)
        if offered and chosen is None:
            refined = await self._refine_subprotocol(offered, observed)
            raise self._fail(refined or "subprotocol-not-echoed", observed)
        self.observed.update(observed)
        self.observed["subprotocol"] = chosen or "(none)"
        self._handshake_ms = (time.monotonic() - self._started) * 1000.0

    # -- MQTT ----------------------------------------------------------------------
    async def _mqtt(self, channel: MqttChannel) -> None:
        options = self.options
        connect = Connect(
            protocol_version=options.mqtt_version,
            # Unique per probe: a shared id would make the broker take over (and close) the
            # other probe's session [MQTT-3.1.4-3] when several run at once.
            client_id=options.client_id or f"mqttws-probe-{secrets.token_hex(6)}",
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
                    self._connack(packet)
                    return
                raise self._fail("mqtt-unexpected-packet", {"packet": type(packet).__name__.upper()})
            if incoming.closed:
                if channel.websocket and incoming.close_code is None and not channel.first_bytes:
                    raise self._fail("ws-dropped", {})
                wait = "the server closed the connection"
                if incoming.close_code is not None:
                    wait += f" with close code {incoming.close_code}"
                raise self._fail("mqtt-no-connack", {"timeout": f"{timeout:g}", "connack_wait": wait})

    def _judge_native_answer(self, data: bytes) -> None:
        """An mqtt:// URL pointed at a port that speaks HTTP or TLS shows it in its first bytes."""
        observed = {"first_bytes_hex": _hexdump(data), "first_bytes_text": printable(data)}
        # nginx answers non-TLS bytes on a TLS port with this 400 page.
        if looks_like_tls_record(data) or b"plain HTTP request was sent to HTTPS port" in data:
            raise self._fail("plaintext-to-tls-port", observed)
        if could_be_http(data[:7]) and len(data) >= 5:
            raise self._fail("mqtt-port-speaks-http", observed)

    def _websocket_ok(self) -> None:
        """The handshake checked out and the first frame was sound: report the layer."""
        if not any(step.layer == "websocket" for step in self.steps):
            detail = f"101 accepted, subprotocol {self.observed.get('subprotocol', '(none)')}"
            self._step("websocket", True, detail, duration_ms=self._handshake_ms)

    def _judge_first_frames(self, channel: MqttChannel, incoming: Incoming) -> None:
        observed: dict[str, str] = {}
        if channel.first_bytes:
            observed["first_frame_hex"] = _hexdump(bytes(channel.first_bytes))
        if incoming.ws_problem is not None:
            observed["ws_error"] = incoming.ws_error or incoming.ws_problem
            if channel.first_frame_payload:
                observed["frame_payload_hex"] = _hexdump(channel.first_frame_payload)
            raise self._fail(incoming.ws_problem, observed)
        if incoming.close_code is not None and not incoming.packets:
            observed["close_code"] = str(incoming.close_code)
            observed["close_reason"] = incoming.close_reason or "(no reason given)"
            raise self._fail(CLOSE_CODE_CAUSES.get(incoming.close_code, "ws-closed"), observed)
        if incoming.closed and not incoming.packets:
            raise self._fail("ws-dropped", observed)
        self.observed.update(observed)
        self._websocket_ok()

    def _connack(self, packet: Connack) -> None:
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
            raise self._fail(connack_slug(code, int(version)), {})
        if props.server_keep_alive is not None:
            self.observed["server_keep_alive"] = str(props.server_keep_alive)
        self._step("mqtt", True, f"CONNACK {label}, MQTT {version.label}")

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
                    observed = {"idle_seconds": f"{elapsed:.1f}"}
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


async def probe(
    options: ConnectionOptions, *, idle: float = 0.0, on_step: StepCallback | None = None
) -> Diagnosis:
    """Walk the layers of a connection to ``options.url`` and say where it breaks.

    Args:
        options: the URL and everything needed to connect (timeouts apply per layer).
        idle: seconds to stay connected and silent after CONNACK, to catch an
            intermediary that drops idle connections before the keep alive.
        on_step: called with each layer's :class:`Step` as soon as it ends.

    Raises:
        ExplorerError: the URL, the proxy URL or a TLS file given in ``options`` is
            invalid, or ``idle`` is negative or not shorter than the keep alive.
    """
    if idle < 0:
        raise ExplorerError("the idle time must be 0 seconds or more")
    if idle and options.keep_alive and idle >= options.keep_alive:
        # Past the keep alive the broker itself may close the connection [MQTT-3.1.2-22]:
        # a drop would no longer point at an intermediary.
        raise ExplorerError(
            f"the idle time ({idle:g} s) must be shorter than the keep alive ({options.keep_alive} s); "
            "raise --keep-alive to watch for longer"
        )
    return await _Walk(options, idle, on_step).run()
