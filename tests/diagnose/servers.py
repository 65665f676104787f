"""Misconfigured servers for the diagnoser's tests, all on loopback.

* :class:`Nginx`: Debian's nginx run in the foreground from a config written under the
  test's tmp_path (``nginx -c CONF -p PREFIX -g 'daemon off; master_process off;'``),
  so it runs as the current user and stops with the test.
* :func:`raw_server`: an asyncio server whose handler writes whatever bytes a broken
  server would (a wrong Accept, an RSV1 frame, a TLS alert).
* :func:`ws_server`: a ``websockets`` server set up wrong (subprotocols, closes, text).
* :func:`aedes_server`: aedes on Node's ``ws`` server, which answers 400 to an upgrade
  on any path but its own (``tests/interop/node``, installed by ``npm ci``).
* :class:`Pki`: certificates made at test time with trustme (self-signed, unknown CA,
  expired, not yet valid, wrong host, chain without its intermediate).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import trustme
from websockets.asyncio.server import ServerConnection, serve

from explorer.client.options import ConnectionOptions
from explorer.diagnose import Diagnosis, ProbeChecks, Step, probe
from explorer.diagnose.transport import ProbeStream
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Connack, Pingresp, Puback, Publish
from explorer.mqtt.reader import PacketReader

_ROOT = Path(__file__).resolve().parents[2]
_NODE_DIR = _ROOT / "tests" / "interop" / "node"

__all__ = [
    "Nginx",
    "Pki",
    "aedes_server",
    "free_port",
    "mini_broker_handler",
    "mosquitto_server",
    "raw_server",
    "require_program",
    "run_probe",
    "sandbox_probe",
    "ws_server",
]

_FOREGROUND = "daemon off; master_process off;"

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def require_program(name: str) -> str:
    """The program's path; skips the test when it is missing, except in CI."""
    path = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is required in CI (.ci/run installs it)")
        pytest.skip(f"{name} is not installed")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Nginx:
    """One nginx process serving ``servers`` (``server { ... }`` blocks, ``{tmp}`` = prefix)."""

    def __init__(self, prefix: Path, servers: str, ports: list[int]) -> None:
        self.binary = require_program("nginx")
        self.prefix = prefix
        self.ports = ports
        (prefix / "logs").mkdir(parents=True, exist_ok=True)
        (prefix / "tmp").mkdir(exist_ok=True)
        temp = prefix / "tmp"
        self.conf = prefix / "nginx.conf"
        self.conf.write_text(
            f"error_log {prefix}/logs/error.log;\n"
            f"pid {prefix}/nginx.pid;\n"
            "events { worker_connections 64; }\n"
            "http {\n"
            "  access_log off;\n"
            f"  client_body_temp_path {temp}; proxy_temp_path {temp}; fastcgi_temp_path {temp};\n"
            f"  uwsgi_temp_path {temp}; scgi_temp_path {temp};\n"
            f"{servers}\n"
            "}\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Nginx:
        self.process = subprocess.Popen(
            [
                self.binary,
                "-c",
                str(self.conf),
                "-p",
                str(self.prefix),
                "-g",
                "daemon off; master_process off;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        pending = list(self.ports)
        while pending:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"nginx exited: {err}")
            try:
                with socket.create_connection(("127.0.0.1", pending[0]), timeout=1):
                    pending.pop(0)
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("nginx did not start listening") from None
                time.sleep(0.02)  # waiting on an external program to bind, not ordering our own code
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()

    def __enter__(self) -> Nginx:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.asynccontextmanager
async def raw_server(handler: Handler, *, ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """A TCP server on a free loopback port running ``handler`` per connection.

    With ``ssl_context`` the handler gets a :class:`TlsStreams` pair that speaks TLS
    through memory BIOs, so that a failed handshake still sends its alert (asyncio's
    own TLS server drops the connection without it, unlike real servers).
    """
    tasks: set[asyncio.Task[None]] = set()
    writers: set[asyncio.StreamWriter] = set()

    async def wrapped(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        writers.add(writer)
        try:
            if ssl_context is not None:
                stream = ProbeStream(reader, writer)
                await stream.start_tls(ssl_context, None, server_side=True)
                await handler(TlsReader(stream), TlsWriter(stream))  # type: ignore[arg-type]
            else:
                await handler(reader, writer)
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError, OSError):
                await writer.wait_closed()

    server = await asyncio.start_server(wrapped, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        for writer in list(writers):
            writer.close()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


@contextlib.asynccontextmanager
async def aedes_server(path: str = "/mqtt") -> AsyncIterator[int]:
    """aedes over Node's ``ws`` serving WebSocket at ``path`` only; yields its port."""
    node = require_program("node")
    if not (_NODE_DIR / "node_modules" / "aedes").is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail("aedes is required in CI (npm ci --prefix tests/interop/node)")
        pytest.skip("aedes is not installed (npm ci --prefix tests/interop/node)")
    proc = await asyncio.create_subprocess_exec(
        node,
        str(_NODE_DIR / "aedes_server.js"),
        "0",
        path,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        yield int(await asyncio.wait_for(proc.stdout.readline(), 30))
    finally:
        assert proc.stdin is not None
        proc.stdin.close()  # the script exits when its stdin closes
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


class TlsReader:
    """The part of ``asyncio.StreamReader`` test handlers use, over a TLS ProbeStream."""

    def __init__(self, stream: ProbeStream) -> None:
        self._stream = stream
        self._buffer = bytearray()

    async def _fill(self) -> bool:
        data = await self._stream.recv()
        self._buffer += data
        return bool(data)

    async def read(self, n: int = -1) -> bytes:
        if not self._buffer:
            await self._fill()
        if n < 0:
            while await self._fill():
                pass
            n = len(self._buffer)
        data = bytes(self._buffer[:n])
        del self._buffer[:n]
        return data

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        while separator not in self._buffer:
            if not await self._fill():
                raise asyncio.IncompleteReadError(bytes(self._buffer), None)
        end = self._buffer.index(separator) + len(separator)
        data = bytes(self._buffer[:end])
        del self._buffer[:end]
        return data


class TlsWriter:
    """The part of ``asyncio.StreamWriter`` test handlers use, over a TLS ProbeStream."""

    def __init__(self, stream: ProbeStream) -> None:
        self._stream = stream
        self._pending = bytearray()

    def write(self, data: bytes) -> None:
        self._pending += data

    async def drain(self) -> None:
        data, self._pending = bytes(self._pending), bytearray()
        await self._stream.send(data)


@contextlib.asynccontextmanager
async def ws_server(
    handler: Callable[[ServerConnection], Awaitable[None]], **kwargs: Any
) -> AsyncIterator[int]:
    """A ``websockets`` server on a free loopback port."""
    async with serve(handler, "127.0.0.1", 0, **kwargs) as server:
        sock = next(iter(server.sockets))
        yield int(sock.getsockname()[1])


def mini_broker_handler(
    connack: Connack | None = None,
    version: ProtocolVersion = ProtocolVersion.V311,
    *,
    answer_ping: bool = True,
    on_publish: Callable[[ServerConnection, Publish], Awaitable[None]] | None = None,
) -> Callable[[ServerConnection], Awaitable[None]]:
    """A websockets handler that answers CONNECT with ``connack`` (or stays silent when None),
    PINGREQ with PINGRESP (unless ``answer_ping`` is false) and a PUBLISH with
    ``on_publish`` (by default a PUBACK for QoS 1)."""

    async def handler(ws: ServerConnection) -> None:
        reader = PacketReader(version)
        async for message in ws:
            data = message.encode() if isinstance(message, str) else message
            for read in reader.receive_data(data):
                packet = read.packet
                name = type(packet).__name__
                if name == "Connect" and connack is not None:
                    await ws.send(encode(connack, version))
                elif name == "Pingreq" and answer_ping:
                    await ws.send(encode(Pingresp(), version))
                elif isinstance(packet, Publish):
                    if on_publish is not None:
                        await on_publish(ws, packet)
                    elif packet.packet_id is not None:
                        await ws.send(encode(Puback(packet.packet_id), version))

    return handler


class Pki:
    """Certificates for TLS failures, made with trustme at test time."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.ca = trustme.CA()
        self.other_ca = trustme.CA()
        self.ca_file = self._write("ca.pem", self.ca.cert_pem.bytes())

    def _write(self, name: str, data: bytes) -> str:
        path = self.dir / name
        path.write_bytes(data)
        return str(path)

    def server_files(self, kind: str) -> tuple[str, str]:
        """(certificate chain file, key file) for one kind of server certificate."""
        now = datetime.datetime.now(datetime.UTC)
        if kind == "good":
            leaf = self.ca.issue_cert("127.0.0.1", "localhost")
            chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
        elif kind == "self-signed":
            # A CA certificate is self-signed: serving it alone is a self-signed server.
            cert, key = self.other_ca.cert_pem.bytes(), self.other_ca.private_key_pem.bytes()
            return self._write(f"{kind}.pem", cert), self._write(f"{kind}.key", key)
        elif kind == "unknown-ca":
            leaf = self.other_ca.issue_cert("127.0.0.1", "localhost")
            chain = leaf.cert_chain_pems[0].bytes() + self.other_ca.cert_pem.bytes()
        elif kind == "wrong-host":
            leaf = self.ca.issue_cert("broker.example.com")
            chain = leaf.cert_chain_pems[0].bytes()
        elif kind == "expired":
            leaf = self.ca.issue_cert(
                "127.0.0.1",
                not_before=now - datetime.timedelta(days=30),
                not_after=now - datetime.timedelta(days=1),
            )
            chain = leaf.cert_chain_pems[0].bytes()
        elif kind == "not-yet-valid":
            leaf = self.ca.issue_cert(
                "127.0.0.1",
                not_before=now + datetime.timedelta(days=1),
                not_after=now + datetime.timedelta(days=30),
            )
            chain = leaf.cert_chain_pems[0].bytes()
        elif kind == "incomplete-chain":
            intermediate = self.ca.create_child_ca()
            leaf = intermediate.issue_cert("127.0.0.1")
            chain = leaf.cert_chain_pems[0].bytes()  # the intermediate left out
        else:
            raise ValueError(kind)
        return self._write(f"{kind}.pem", chain), self._write(f"{kind}.key", leaf.private_key_pem.bytes())

    def client_files(self) -> tuple[str, str]:
        leaf = self.ca.issue_cert("client@example.com")
        return (
            self._write("client.pem", leaf.cert_chain_pems[0].bytes()),
            self._write("client.key", leaf.private_key_pem.bytes()),
        )

    def server_context(self, kind: str, *, require_client_cert: bool = False) -> ssl.SSLContext:
        cert, key = self.server_files(kind)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        if require_client_cert:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(self.ca_file)
        return context


async def run_probe(
    url: str, *, idle: float = 0.0, checks: ProbeChecks | None = None, **changes: Any
) -> Diagnosis:
    """Probe ``url`` with short timeouts; checks the step stream matches the verdict."""
    settings: dict[str, Any] = {"connect_timeout": 2.0, "handshake_timeout": 2.0}
    settings.update(changes)
    options = ConnectionOptions(url=url, **settings)
    seen: list[Step] = []
    diagnosis = await probe(options, idle=idle, on_step=seen.append, checks=checks)
    assert seen == diagnosis.steps
    assert diagnosis.steps[-1].ok is diagnosis.ok
    assert diagnosis.steps[-1].layer == diagnosis.layer
    return diagnosis


def sandbox_probe(mode: str, url: str, proxy: str | None = None) -> dict[str, object]:
    """Run the probe (through ``proxy``, if given) in its own network namespace with a resolver we control."""
    require_program("unshare")
    require_program("ip")
    if subprocess.run(["unshare", "-mn", "true"], check=False, capture_output=True).returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("unshare -mn must work in CI (root on a Debian machine)")
        pytest.skip("this machine does not allow new namespaces")
    script = Path(__file__).with_name("dns_sandbox.py")
    done = subprocess.run(
        ["unshare", "-mn", sys.executable, str(script), mode, url, *([proxy] if proxy else [])],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=_ROOT,
        env={**os.environ, "PYTHONPATH": str(_ROOT)},
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


@contextlib.asynccontextmanager
async def mosquitto_server(tmp_path: Path, extra: str = "") -> AsyncIterator[int]:
    """Debian's mosquitto on a free loopback port (MQTT over TCP); yields the port.

    mosquitto cannot bind port 0, so a port is picked free first; its "running" log line
    says when it listens.
    """
    binary = require_program("mosquitto")
    port = free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nlog_dest stderr\nlog_type all\n"
        f"persistence false\n{extra}"
    )
    proc = await asyncio.create_subprocess_exec(
        binary, "-c", str(config), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stderr is not None
    drain: asyncio.Task[bytes] | None = None
    try:
        log = b""
        while b" running" not in log:
            line = await asyncio.wait_for(proc.stderr.readline(), 30)
            if not line:
                raise RuntimeError(f"mosquitto did not start: {log.decode(errors='replace')}")
            log += line
        drain = asyncio.create_task(proc.stderr.read())  # keep its log pipe flowing
        yield port
    finally:
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()
        if drain is not None:
            await drain
