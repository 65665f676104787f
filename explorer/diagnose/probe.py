"""The layer walk: DNS -> TCP -> TLS -> HTTP upgrade -> WebSocket -> MQTT -> publish -> liveness.

Each layer is done by hand so that it can be observed on its own (getaddrinfo, a TCP
connect, TLS on memory BIOs, raw upgrade bytes, frames, CONNECT/CONNACK). The walk
stops at the first layer that fails and returns a :class:`Diagnosis` naming the cause
from :mod:`explorer.diagnose.causes`. Progress goes to ``on_step`` as each layer ends,
so a view can show it live. Some answers are ambiguous from one attempt (a 400 may be a
proxy that drops ``Upgrade``, a server that wants another subprotocol, or Node's ``ws``
on a path it does not serve; a 403 may be about the Origin): those are settled by more
targeted upgrade attempts. The steps from CONNECT on are in
:mod:`explorer.diagnose.mqttsteps`; what a browser offers in :mod:`explorer.diagnose.browser`.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
import time
from dataclasses import replace
from typing import Any

from websockets.extensions.permessage_deflate import PerMessageDeflate

from explorer.client.options import ConnectionOptions, Endpoint
from explorer.diagnose.browser import DEFLATE_OFFER, browser_options, negotiate_deflate
from explorer.diagnose.causes import CONNECTED
from explorer.diagnose.channel import Deflate, MqttChannel
from explorer.diagnose.httpcheck import COMMON_PATHS, classify_status
from explorer.diagnose.model import MAX_PUBLISH_SIZE, Diagnosis, ProbeChecks
from explorer.diagnose.mqttsteps import MqttSteps
from explorer.diagnose.proxy import open_tunnel, proxy_address
from explorer.diagnose.tlscheck import classify_tls_error, client_context
from explorer.diagnose.transport import PeerChain, ProbeStream, peer_chain
from explorer.diagnose.upgradecheck import UpgradeResult, perform_upgrade
from explorer.diagnose.walk import Address, StepCallback, Stop
from explorer.errors import ExplorerError
from explorer.ws.handshake import check_handshake

__all__ = ["MAX_PUBLISH_SIZE", "StepCallback", "probe"]

_NOT_FOUND = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}
_SECOND_TRY_TIMEOUT = 3.0


class _Walk(MqttSteps):
    deflate: PerMessageDeflate | None = None  # permessage-deflate as the server accepted it

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
            deflate = None
            if self.deflate is not None:  # the server's messages may come compressed
                deflate = Deflate(server_no_context_takeover=self.deflate.remote_no_context_takeover)
            channel = MqttChannel(
                stream,
                self.options.mqtt_version,
                websocket=self.endpoint.websocket,
                initial=rest,
                deflate=deflate,
            )
            await self._mqtt(channel)
            if self.checks.publish_size is not None:
                await self._publish(channel, self.checks.publish_size)
            await self._liveness(channel)
            await channel.close()
        except Stop as stop:
            return self.diagnosis(stop.slug)
        except (ConnectionError, OSError, ssl.SSLError) as exc:
            # A write failed because the peer reset the connection between two reads.
            done = [step.layer for step in self.steps if step.ok]
            phase = f"after the {done[-1]} layer" if done else "while connecting"
            error = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            try:
                raise self._fail("connection-lost", {"phase": phase, "error": error}) from None
            except Stop as stop:
                return self.diagnosis(stop.slug)
        finally:
            if stream is not None:
                await stream.close()
        parts = [step.detail for step in self.steps]
        self.observed["summary"] = "; ".join(parts)
        return self.diagnosis(CONNECTED)

    async def _probe_again(self, options: ConnectionOptions, checks: ProbeChecks | None = None) -> Diagnosis:
        timeout = min(options.connect_timeout, options.handshake_timeout, _SECOND_TRY_TIMEOUT)
        second = options.with_changes(connect_timeout=timeout, handshake_timeout=timeout)
        walk = _Walk(second, checks or ProbeChecks(), None)
        walk.nested = True
        return await walk.run()

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
        deflate = self.checks.offers_deflate
        result = await perform_upgrade(stream, self.options, deflate=deflate)
        self.observed["request"] = result.request_text.split("\r\n", 1)[0]
        self.observed["subprotocols_offered"] = ", ".join(self.options.subprotocols) or "(none)"
        if deflate:
            self.observed["extensions_offered"] = DEFLATE_OFFER
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
            return await perform_upgrade(stream, options, deflate=self.checks.offers_deflate)
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
        if self.checks.offers_deflate:
            observed["extensions_received"] = ", ".join(response.extensions) or "(none)"
            try:
                self.deflate = negotiate_deflate(response.extensions)
            except ValueError as exc:
                observed["ws_error"] = str(exc)
                raise self._fail("ws-handshake-invalid", observed) from None
        self.observed.update(observed)
        self.observed["subprotocol"] = chosen or "(none)"
        self._handshake_ms = (time.monotonic() - self._started) * 1000.0


async def probe(
    options: ConnectionOptions,
    *,
    idle: float = 0.0,
    on_step: StepCallback | None = None,
    checks: ProbeChecks | None = None,
) -> Diagnosis:
    """Walk the layers of a connection to ``options.url`` and say where it breaks.

    Args:
        options: the URL and everything needed to connect (timeouts apply per layer).
        idle: seconds to stay connected and silent after CONNACK, to catch an
            intermediary that drops idle connections before the keep alive
            (``checks.idle`` when ``checks`` are given).
        on_step: called with each layer's :class:`Step` as soon as it ends.
        checks: what to do beyond the layer walk: offer what a browser offers, offer
            compression, publish a message of a given size (:class:`ProbeChecks`).

    Raises:
        ExplorerError: the URL, the proxy URL or a TLS file given in ``options`` is
            invalid, or ``idle`` is negative or not shorter than the keep alive.
    """
    idle = checks.idle if checks is not None else idle
    if idle < 0:
        raise ExplorerError("the idle time must be 0 seconds or more")
    if idle and options.keep_alive and idle >= options.keep_alive:
        # Past the keep alive the broker itself may close the connection [MQTT-3.1.2-22]:
        # a drop would no longer point at an intermediary.
        raise ExplorerError(
            f"the idle time ({idle:g} s) must be shorter than the keep alive ({options.keep_alive} s); "
            "raise --keep-alive to watch for longer"
        )
    if checks is None:
        checks = ProbeChecks(idle=idle)
    if checks.publish_size is not None and not 0 <= checks.publish_size <= MAX_PUBLISH_SIZE:
        raise ExplorerError(
            f"the publish size must be from 0 to {MAX_PUBLISH_SIZE:,} bytes (MQTT's largest packet)"
        )
    if checks.browser:
        options = browser_options(options)
    return await _Walk(options, checks, on_step).run()
