"""Transport edges over loopback: TLS (certificates made by trustme), HTTP CONNECT proxy, failures.

TLS is served by a small TLS front (asyncio's own TLS server) forwarding to the embedded
broker's plain listeners, so the broker under test is the same for ws and wss.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

from explorer.broker.config import BrokerConfig
from explorer.broker.faults import parse_faults
from explorer.broker.server import Broker
from explorer.client.driver import MqttClient
from explorer.client.net import make_ssl_context
from explorer.client.options import ConnectionOptions, TlsOptions
from explorer.errors import ConnectionFailed, HandshakeError
from explorer.model.events import ErrorReported, HandshakeRequest, StateChanged, TraceEvent


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


async def _splice(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int) -> None:
    up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
    await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def tls_front(target_port: int, ctx: ssl.SSLContext) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _splice(reader, writer, target_port)

    return await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)


def port_of(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    broker = Broker(BrokerConfig.ephemeral(sys_interval=0))
    await broker.start()
    yield broker
    await broker.stop()


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(ctx)
    return ctx


async def test_mqtts_with_a_ca_file_exposes_tls_version_and_cipher(
    broker: Broker, ca: trustme.CA, ca_file: str
) -> None:
    assert broker.tcp_port is not None
    front = await tls_front(broker.tcp_port, server_context(ca, "127.0.0.1"))
    async with front:
        options = ConnectionOptions(
            url=f"mqtts://127.0.0.1:{port_of(front)}", tls=TlsOptions(ca_file=ca_file)
        )
        client = MqttClient(options)
        await client.connect()
        info = client.info
        assert info is not None
        assert info.tls_version in ("TLSv1.2", "TLSv1.3")
        assert info.cipher
        assert info.peer == ("127.0.0.1", port_of(front))
        await client.publish("t", b"x", qos=1)
        await client.close()


async def test_wss_with_server_name_override_verifies_the_named_certificate(
    broker: Broker, ca: trustme.CA, ca_file: str
) -> None:
    assert broker.ws_port is not None
    front = await tls_front(broker.ws_port, server_context(ca, "broker.test"))
    async with front:
        tls = TlsOptions(ca_file=ca_file, server_name="broker.test")
        client = MqttClient(ConnectionOptions(url=f"wss://127.0.0.1:{port_of(front)}/mqtt", tls=tls))
        await client.connect()
        assert client.subprotocol == "mqtt"
        await client.close()
        # Without the override the certificate does not name the address we dialled.
        plain = MqttClient(
            ConnectionOptions(url=f"wss://127.0.0.1:{port_of(front)}/mqtt", tls=TlsOptions(ca_file=ca_file))
        )
        with pytest.raises(ConnectionFailed, match=r"failed for 127\.0\.0\.1: IP address mismatch"):
            await plain.connect()


async def test_unknown_certificate_authority_is_named(broker: Broker, ca: trustme.CA) -> None:
    assert broker.ws_port is not None
    front = await tls_front(broker.ws_port, server_context(ca, "127.0.0.1"))
    async with front:
        client = MqttClient(ConnectionOptions(url=f"wss://127.0.0.1:{port_of(front)}/mqtt"))
        with pytest.raises(ConnectionFailed, match="unable to get local issuer certificate"):
            await client.connect()


async def test_insecure_mode_connects_and_is_recorded_as_a_warning(broker: Broker, ca: trustme.CA) -> None:
    assert broker.ws_port is not None
    front = await tls_front(broker.ws_port, server_context(ca, "elsewhere.test"))
    async with front:
        events: list[TraceEvent] = []
        options = ConnectionOptions(
            url=f"wss://127.0.0.1:{port_of(front)}/mqtt", tls=TlsOptions(insecure=True)
        )
        client = MqttClient(options, on_event=events.append)
        await client.connect()
        assert client.info is not None
        assert client.info.insecure
        warnings = [e for e in events if isinstance(e, ErrorReported) and e.layer == "tls"]
        assert len(warnings) == 1
        assert "insecure" in warnings[0].message
        await client.close()


@pytest.fixture
def client_cert(ca: trustme.CA, tmp_path: Path) -> tuple[str, str]:
    """A client certificate and its key encrypted with the passphrase ``open sesame``."""
    issued = ca.issue_cert("client@test")
    cert = tmp_path / "client.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    key = serialization.load_pem_private_key(issued.private_key_pem.bytes(), password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"open sesame"),
    )
    key_path = tmp_path / "client.key"
    key_path.write_bytes(encrypted)
    return str(cert), str(key_path)


async def test_client_certificate_with_encrypted_key_is_presented(
    broker: Broker, ca: trustme.CA, ca_file: str, client_cert: tuple[str, str]
) -> None:
    assert broker.tcp_port is not None
    ctx = server_context(ca, "127.0.0.1")
    ctx.verify_mode = ssl.CERT_REQUIRED
    ca.configure_trust(ctx)
    front = await tls_front(broker.tcp_port, ctx)
    cert, key = client_cert
    url = f"mqtts://127.0.0.1:{port_of(front)}"
    async with front:
        tls = TlsOptions(ca_file=ca_file, cert_file=cert, key_file=key, key_password="open sesame")
        client = MqttClient(ConnectionOptions(url=url, tls=tls))
        await client.connect()
        await client.close()
        wrong = TlsOptions(ca_file=ca_file, cert_file=cert, key_file=key, key_password="nope")
        with pytest.raises(ConnectionFailed, match="cannot use the client certificate"):
            await MqttClient(ConnectionOptions(url=url, tls=wrong)).connect()
        missing = TlsOptions(ca_file=ca_file, cert_file=cert, key_file=key)
        with pytest.raises(ConnectionFailed, match="encrypted: give its passphrase"):
            await MqttClient(ConnectionOptions(url=url, tls=missing)).connect()


async def test_alpn_protocols_are_offered_and_the_choice_exposed(
    broker: Broker, ca: trustme.CA, ca_file: str
) -> None:
    assert broker.tcp_port is not None
    ctx = server_context(ca, "127.0.0.1")
    ctx.set_alpn_protocols(["mqtt"])
    front = await tls_front(broker.tcp_port, ctx)
    async with front:
        tls = TlsOptions(ca_file=ca_file, alpn=("x-other", "mqtt"))
        client = MqttClient(ConnectionOptions(url=f"mqtts://127.0.0.1:{port_of(front)}", tls=tls))
        await client.connect()
        assert client.info is not None
        assert client.info.alpn == "mqtt"
        await client.close()


async def test_tls_to_a_plain_port_says_the_server_does_not_speak_tls(broker: Broker) -> None:
    client = MqttClient(
        ConnectionOptions(
            url=f"mqtts://127.0.0.1:{broker.tcp_port}", tls=TlsOptions(insecure=True), connect_timeout=5
        )
    )
    with pytest.raises(ConnectionFailed, match="TLS"):
        await client.connect()


def test_missing_ca_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConnectionFailed, match="cannot load the CA certificates"):
        make_ssl_context(TlsOptions(ca_file=str(tmp_path / "absent.pem")))


async def test_refused_port_is_named() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = MqttClient(ConnectionOptions(url=f"ws://127.0.0.1:{port}/mqtt"))
    with pytest.raises(ConnectionFailed, match=f"connection refused by 127.0.0.1:{port}"):
        await client.connect()


async def test_silent_server_hits_the_handshake_timeout() -> None:
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    async with server:
        options = ConnectionOptions(url=f"ws://127.0.0.1:{port_of(server)}/mqtt", handshake_timeout=0.2)
        with pytest.raises(HandshakeError, match=r"no answer to the WebSocket upgrade within 0\.2 s"):
            await MqttClient(options).connect()
        for writer in held:
            writer.close()


class ConnectProxy:
    """An HTTP CONNECT proxy (RFC 9110 §9.3.6) that wants Basic credentials."""

    def __init__(self, user: str, password: str) -> None:
        self.expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.requests: list[str] = []
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        self.requests.append(head)
        lines = head.split("\r\n")
        target = lines[0].split()[1]
        auth = [
            line.split(":", 1)[1].strip()
            for line in lines[1:]
            if line.lower().startswith("proxy-authorization:")
        ]
        if auth != [self.expected]:
            writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
            writer.close()
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await _splice(reader, writer, int(target.rsplit(":", 1)[1]))

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return f"127.0.0.1:{port_of(self.server)}"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()


async def test_http_connect_proxy_tunnels_with_credentials(broker: Broker) -> None:
    proxy = ConnectProxy("pxuser", "px pass")
    async with proxy as where:
        options = ConnectionOptions(url=broker.ws_url or "", proxy=f"http://pxuser:px%20pass@{where}")
        events: list[TraceEvent] = []
        client = MqttClient(options, on_event=events.append)
        await client.connect()
        await client.publish("t", b"through the proxy", qos=1)
        assert client.info is not None
        assert client.info.proxy == where
        await client.close()
        assert proxy.requests[0].startswith(f"CONNECT 127.0.0.1:{broker.ws_port} HTTP/1.1\r\n")
        assert not any("px pass" in repr(e) for e in events)
        bad = ConnectionOptions(url=broker.ws_url or "", proxy=f"http://pxuser:wrong@{where}")
        with pytest.raises(ConnectionFailed, match=r"refused the tunnel .*407 Proxy Authentication Required"):
            await MqttClient(bad).connect()


async def test_wss_through_the_proxy_verifies_the_broker_certificate(
    broker: Broker, ca: trustme.CA, ca_file: str
) -> None:
    assert broker.ws_port is not None
    front = await tls_front(broker.ws_port, server_context(ca, "broker.test"))
    proxy = ConnectProxy("u", "p")
    front_port = port_of(front)
    async with front, proxy as where:
        options = ConnectionOptions(
            url=f"wss://127.0.0.1:{front_port}/mqtt",
            proxy=f"http://u:p@{where}",
            tls=TlsOptions(ca_file=ca_file, server_name="broker.test"),
        )
        client = MqttClient(options)
        await client.connect()
        assert client.info is not None
        assert client.info.tls_version is not None
        assert client.info.proxy == where
        await client.close()
    assert proxy.requests[0].startswith(f"CONNECT 127.0.0.1:{front_port} ")


async def test_origin_is_sent_and_a_refusal_is_the_status_line() -> None:
    faults = parse_faults(["origin-allow=http://good.test"])
    async with Broker(BrokerConfig.ephemeral(sys_interval=0, faults=faults)) as broker:
        url = broker.ws_url or ""
        client = MqttClient(ConnectionOptions(url=url, origin="http://good.test"))
        await client.connect()
        await client.close()
        with pytest.raises(HandshakeError, match="403"):
            await MqttClient(ConnectionOptions(url=url, origin="http://evil.test")).connect()


async def test_basic_auth_and_custom_headers_are_in_the_upgrade_request(broker: Broker) -> None:
    events: list[TraceEvent] = []
    options = ConnectionOptions(
        url=broker.ws_url or "",
        http_username="web",
        http_password="pw",
        headers=(("Authorization-Hint", "bearer"), ("X-Tenant", "t1")),
    )
    client = MqttClient(options, on_event=events.append)
    await client.connect()
    await client.close()
    (request,) = [e for e in events if isinstance(e, HandshakeRequest)]
    names = {name.lower(): value for name, value in request.headers}
    assert names["x-tenant"] == "t1"
    assert "authorization" in names
    assert "d2ViOnB3" not in names["authorization"]  # base64 of web:pw never reaches the trace


async def test_no_subprotocol_offered_sends_no_header() -> None:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as broker:
        events: list[TraceEvent] = []
        client = MqttClient(
            ConnectionOptions(url=broker.ws_url or "", subprotocols=()), on_event=events.append
        )
        await client.connect()
        (request,) = [e for e in events if isinstance(e, HandshakeRequest)]
        assert b"Sec-WebSocket-Protocol" not in request.raw
        assert not [e for e in events if isinstance(e, ErrorReported) and e.layer == "websocket"]
        await client.close()
    faults = parse_faults(["require-subprotocol"])
    async with Broker(BrokerConfig.ephemeral(sys_interval=0, faults=faults)) as broker:
        with pytest.raises(HandshakeError, match="400"):
            await MqttClient(ConnectionOptions(url=broker.ws_url or "", subprotocols=())).connect()
        assert [e.state for e in events if isinstance(e, StateChanged)][-1] == "closed"


async def test_dead_proxy_is_named_as_the_proxy() -> None:
    ports = []
    for _ in range(2):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    broker_port, proxy_port = ports
    client = MqttClient(
        ConnectionOptions(url=f"ws://127.0.0.1:{broker_port}/mqtt", proxy=f"http://127.0.0.1:{proxy_port}")
    )
    with pytest.raises(ConnectionFailed) as caught:
        await client.connect()
    message = str(caught.value)
    assert message.startswith(f"connection refused by the HTTP proxy 127.0.0.1:{proxy_port}:")
    assert "the broker was not contacted" in message
    assert str(broker_port) not in message
