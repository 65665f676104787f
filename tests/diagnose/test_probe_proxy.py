"""Through an HTTP CONNECT proxy (a small real one on loopback): tunnel, 407, refusal."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from tests.diagnose.servers import free_port, raw_server, run_probe, sandbox_probe


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def connect_proxy(
    *, password: str | None = None, allow_ports: tuple[int, ...] = ()
) -> AsyncIterator[int]:
    """An HTTP CONNECT proxy: optional basic auth, optional port allow list."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        request, *headers = head.split("\r\n")
        target = request.split(" ")[1]
        host, _, port = target.rpartition(":")
        if password is not None:
            expected = "Basic " + base64.b64encode(f"user:{password}".encode()).decode()
            given = [
                h.split(":", 1)[1].strip() for h in headers if h.lower().startswith("proxy-authorization:")
            ]
            if given != [expected]:
                writer.write(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                    b'Proxy-Authenticate: Basic realm="corp"\r\n\r\n'
                )
                await writer.drain()
                return
        if allow_ports and int(port) not in allow_ports:
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    async with raw_server(handle) as port:
        yield port


async def test_probe_through_a_connect_proxy_reaches_the_broker() -> None:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as broker, connect_proxy() as proxy:
        assert broker.ws_url is not None
        diagnosis = await run_probe(broker.ws_url, proxy=f"http://127.0.0.1:{proxy}")
    assert diagnosis.ok, diagnosis.explanation
    assert diagnosis.steps[2].detail == f"tunnel to 127.0.0.1:{broker.ws_port} via 127.0.0.1:{proxy}"


async def test_proxy_asking_for_credentials_is_named() -> None:
    async with (
        Broker(BrokerConfig.ephemeral(sys_interval=0)) as broker,
        connect_proxy(password="pw") as proxy,
    ):
        assert broker.ws_url is not None
        refused = await run_probe(broker.ws_url, proxy=f"http://127.0.0.1:{proxy}")
        admitted = await run_probe(broker.ws_url, proxy=f"http://user:pw@127.0.0.1:{proxy}")
    assert (refused.layer, refused.cause) == ("tcp", "proxy-auth-required")
    assert refused.observed["proxy_authenticate"] == 'Basic realm="corp"'
    assert admitted.ok, admitted.explanation
    assert "pw@" not in admitted.to_json()


async def test_proxy_refusing_the_port_is_named() -> None:
    async with (
        Broker(BrokerConfig.ephemeral(sys_interval=0)) as broker,
        connect_proxy(allow_ports=(443,)) as proxy,
    ):
        assert broker.ws_url is not None
        diagnosis = await run_probe(broker.ws_url, proxy=f"http://127.0.0.1:{proxy}")
    assert (diagnosis.layer, diagnosis.cause) == ("tcp", "proxy-tunnel-refused")
    assert diagnosis.observed["proxy_status_line"] == "HTTP/1.1 403 Forbidden"


async def test_something_that_is_not_a_proxy_is_named() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    async with raw_server(silent) as port:
        diagnosis = await run_probe(
            f"ws://127.0.0.1:{free_port()}/mqtt", proxy=f"http://127.0.0.1:{port}", handshake_timeout=0.5
        )
    assert (diagnosis.layer, diagnosis.cause) == ("tcp", "proxy-no-answer")


async def test_dead_proxy_is_named_as_the_proxy_not_the_broker() -> None:
    proxy_port, broker_port = free_port(), free_port()
    diagnosis = await run_probe(f"ws://127.0.0.1:{broker_port}/mqtt", proxy=f"http://127.0.0.1:{proxy_port}")
    assert (diagnosis.layer, diagnosis.cause) == ("tcp", "proxy-connection-refused")
    assert diagnosis.observed["address"] == f"127.0.0.1:{proxy_port}"
    assert f"The HTTP proxy 127.0.0.1:{proxy_port} refused the TCP connection" in diagnosis.explanation
    assert f"the broker 127.0.0.1:{broker_port} was not contacted" in diagnosis.explanation
    assert "--proxy" in diagnosis.fix


async def test_proxy_dropping_syns_is_a_connect_timeout_naming_the_proxy(full_backlog: int) -> None:
    diagnosis = await run_probe(
        f"ws://127.0.0.1:{free_port()}/mqtt", proxy=f"http://127.0.0.1:{full_backlog}", connect_timeout=0.5
    )
    assert (diagnosis.layer, diagnosis.cause) == ("tcp", "tcp-connect-timeout")
    assert f"attempt to the HTTP proxy 127.0.0.1:{full_backlog} within" in diagnosis.explanation


def test_unreachable_proxy_is_named_as_the_proxy() -> None:
    result = sandbox_probe("plain", "ws://127.0.0.1:8080/mqtt", proxy="http://10.20.30.40:3128")
    assert (result["layer"], result["cause"]) == ("tcp", "tcp-unreachable")
    assert str(result["explanation"]).startswith(
        "The TCP connection to the HTTP proxy 10.20.30.40:3128 failed"
    )


def test_proxy_name_that_does_not_exist_is_named_as_the_proxys() -> None:
    result = sandbox_probe("nxdomain", "ws://127.0.0.1:8080/mqtt", proxy="http://proxy.probe.test:3128")
    assert (result["layer"], result["cause"]) == ("dns", "dns-name-not-found")
    assert "the HTTP proxy's name proxy.probe.test does not exist" in str(result["explanation"])
