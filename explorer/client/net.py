"""The edge to the operating system's network: TCP, HTTP CONNECT proxies and TLS.

Everything here turns an :class:`explorer.client.options.Endpoint` plus
:class:`explorer.client.options.ConnectionOptions` into an open asyncio stream, and every
failure into :class:`explorer.errors.ConnectionFailed` with one sentence that names
the layer and what was seen (refused, timeout, the TLS verification message, the
proxy's status line). Deeper explanations are the diagnoser's job
(``explorer.diagnose``); this module only has to be precise.

What does not belong here: WebSocket framing (``explorer.client.websocket``) and MQTT
(``explorer.session``). :class:`TcpTransport` carries native MQTT bytes and shares
its small interface (:class:`ByteTransport`) with the WebSocket transport, so the
client driver does not care which one it holds: both pass every byte, both ways,
through the connection's decoder (``explorer.client.trace.ConnectionTrace``), which
parses the server's bytes once for the trace and the session.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote, urlsplit

from explorer.client.options import ConnectionOptions, Endpoint, TlsOptions
from explorer.client.trace import ConnectionTrace
from explorer.errors import ConnectionFailed

__all__ = [
    "READ_SIZE",
    "STREAM_LIMIT",
    "ByteTransport",
    "StreamInfo",
    "TcpTransport",
    "make_ssl_context",
    "open_stream",
    "set_keylog",
    "tls_read_failure",
]

READ_SIZE = 4096
"""Bytes taken from the socket buffer per read, and so the most one reader callback handles.

Each chunk is decoded at once (frames, packets, trace events, the topic tree), about
150 small MQTT messages (2-3 ms) per 4 KiB. Readers yield to the loop between chunks, so
under a backlog every round of the event loop holds one chunk: a key press needs several
rounds to reach the screen, and 16 KiB chunks (8-12 ms each) made the frame list answer
in 160-180 ms at the 99th percentile under a 20,000 msg/s firehose, 4 KiB in 85-100 ms
(``bench/tui_load.py``), at the same CPU per message.
"""
STREAM_LIMIT = 262144
"""The stream reader's buffer limit: reading from the socket pauses at twice this."""


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """What was negotiated below MQTT, for the trace and the connection panel."""

    peer: tuple[str, int] | None
    local: tuple[str, int] | None
    tls_version: str | None = None
    cipher: str | None = None
    alpn: str | None = None
    insecure: bool = False
    proxy: str | None = None  # "host:port" of the HTTP CONNECT proxy, never its credentials


class ByteTransport(Protocol):
    """A bidirectional byte pipe to the broker carrying the MQTT stream."""

    info: StreamInfo

    async def receive(self) -> bool:
        """Read once from the broker into the connection's decoder (the packets wait in
        its ``ConnectionTrace``); ``False`` once nothing more is read."""
        ...

    def send(self, data: bytes) -> None:
        """Queue MQTT bytes for the broker."""
        ...

    async def drain(self) -> None:
        """Wait until the OS has taken the queued bytes (flow control)."""
        ...

    async def close(self) -> None:
        """Close politely (WebSocket close handshake where there is one) and release the socket."""
        ...

    def abort(self) -> None:
        """Drop the connection at once."""
        ...


# TLS alerts a server sends when it wanted a client certificate (TLS 1.3 sends its
# refusal after the client's last handshake message, so it arrives on the first read).
_CLIENT_CERT_ALERTS = frozenset(
    {"TLSV13_ALERT_CERTIFICATE_REQUIRED", "SSLV3_ALERT_BAD_CERTIFICATE", "SSLV3_ALERT_HANDSHAKE_FAILURE"}
)


def tls_read_failure(exc: ssl.SSLError) -> str:
    """One sentence for a TLS error raised by a read after the handshake (an alert)."""
    reason = exc.reason or str(exc)
    if reason in _CLIENT_CERT_ALERTS:
        return (
            f"the broker refused the TLS connection ({reason}): it requires a client certificate, "
            "give --cert and --key"
        )
    return f"the TLS connection to the broker failed: {reason}"


def make_ssl_context(tls: TlsOptions) -> ssl.SSLContext:
    """Build a client TLS context: verification on unless ``tls.insecure`` says otherwise.

    With neither ``ca_file`` nor ``ca_dir`` the system trust store is used.

    Raises:
        ConnectionFailed: when a CA, certificate or key file cannot be loaded.
    """
    try:
        if tls.ca_file or tls.ca_dir:
            ctx = ssl.create_default_context(cafile=tls.ca_file, capath=tls.ca_dir)
        else:
            ctx = ssl.create_default_context()
    except (OSError, ssl.SSLError) as exc:
        where = tls.ca_file or tls.ca_dir
        raise ConnectionFailed(f"cannot load the CA certificates from {where}: {_os_reason(exc)}") from None
    if tls.insecure:
        # Explicit opt-in only; the client records it as a visible warning.
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if tls.cert_file:
        password = tls.key_password

        def _no_prompt() -> str:
            # Without this, OpenSSL would prompt on the terminal for an encrypted key.
            raise ConnectionFailed(
                f"the key {tls.key_file or tls.cert_file} is encrypted: give its passphrase"
            )

        try:
            ctx.load_cert_chain(tls.cert_file, tls.key_file, password if password is not None else _no_prompt)
        except ssl.SSLError as exc:
            raise ConnectionFailed(
                f"cannot use the client certificate {tls.cert_file}"
                f"{' with key ' + tls.key_file if tls.key_file else ''}: {exc.reason or exc}"
                " (wrong passphrase or a key that does not match the certificate?)"
            ) from None
        except OSError as exc:
            raise ConnectionFailed(f"cannot read the client certificate or key: {_os_reason(exc)}") from None
    if tls.alpn:
        ctx.set_alpn_protocols(list(tls.alpn))
    set_keylog(ctx, tls)
    return ctx


def set_keylog(ctx: ssl.SSLContext, tls: TlsOptions) -> None:
    """Append the session keys to ``tls.keylog_file`` (NSS key log format).

    Without a file given, ``ssl.create_default_context`` has already honoured the
    ``SSLKEYLOGFILE`` environment variable, as browsers and curl do.

    Raises:
        ConnectionFailed: the file cannot be opened for appending.
    """
    if not tls.keylog_file:
        return
    try:
        ctx.keylog_filename = tls.keylog_file
    except OSError as exc:
        raise ConnectionFailed(f"cannot write the TLS key log {tls.keylog_file}: {_os_reason(exc)}") from None


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}" + (f" ({exc.filename})" if exc.filename else "")
    return str(exc) or type(exc).__name__


async def _tcp_connect(
    host: str, port: int, timeout: float, *, proxy: bool = False
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """TCP to ``host:port``; with ``proxy`` the messages say it is the HTTP proxy that failed."""
    who = f"the HTTP proxy {host}:{port}" if proxy else f"{host}:{port}"
    hint = " (check --proxy; the broker was not contacted)" if proxy else ""
    try:
        async with asyncio.timeout(timeout):
            return await asyncio.open_connection(host, port, limit=STREAM_LIMIT)
    except TimeoutError:
        raise ConnectionFailed(
            f"no answer from {who} within {timeout:g} s (TCP connect timed out: "
            f"host down or a firewall dropping packets?){hint}"
        ) from None
    except socket.gaierror as exc:
        name = "the HTTP proxy's host name" if proxy else "the host name"
        raise ConnectionFailed(f"cannot resolve {name} {host!r}: {exc.strerror}{hint}") from None
    except ConnectionRefusedError:
        raise ConnectionFailed(
            f"connection refused by {who}: nothing is listening on that port{hint}"
        ) from None
    except OSError as exc:
        raise ConnectionFailed(f"cannot connect to {who}: {_os_reason(exc)}{hint}") from None


async def _proxy_tunnel(
    proxy_url: str, target: Endpoint, timeout: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, str]:
    """Open a tunnel through an HTTP proxy with ``CONNECT host:port`` (RFC 9110 §9.3.6)."""
    parts = urlsplit(proxy_url)
    if parts.scheme.lower() != "http" or not parts.hostname:
        raise ConnectionFailed(
            f"unsupported proxy {parts.scheme}://{parts.hostname or ''}: use http://host:port"
        )
    proxy_host, proxy_port = parts.hostname, parts.port or 8080
    where = f"{proxy_host}:{proxy_port}"
    reader, writer = await _tcp_connect(proxy_host, proxy_port, timeout, proxy=True)
    authority = f"[{target.host}]:{target.port}" if ":" in target.host else f"{target.host}:{target.port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        lines.append("Proxy-Authorization: Basic " + base64.b64encode(credentials.encode()).decode())
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    try:
        async with asyncio.timeout(timeout):
            head = await reader.readuntil(b"\r\n\r\n")
    except TimeoutError:
        writer.close()
        raise ConnectionFailed(f"the proxy {where} did not answer CONNECT within {timeout:g} s") from None
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
        writer.close()
        raise ConnectionFailed(f"the proxy {where} closed the connection without answering CONNECT") from None
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    fields = status_line.split(" ", 2)
    if len(fields) < 2 or not fields[1].startswith("2"):
        writer.close()
        raise ConnectionFailed(f"the proxy {where} refused the tunnel to {authority}: {status_line}")
    return reader, writer, where


async def open_stream(
    endpoint: Endpoint, options: ConnectionOptions
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, StreamInfo]:
    """Open TCP (through the proxy if one is set), then TLS for ``wss``/``mqtts``.

    ``options.connect_timeout`` bounds TCP, the proxy tunnel and the TLS handshake
    together.

    Raises:
        ConnectionFailed: with a sentence naming what failed.
    """
    timeout = options.connect_timeout
    tls = options.tls
    # Build the TLS context first: a bad certificate file fails before any connection.
    ctx = make_ssl_context(tls) if endpoint.secure else None
    proxy_where: str | None = None
    if options.proxy:
        reader, writer, proxy_where = await _proxy_tunnel(options.proxy, endpoint, timeout)
    else:
        reader, writer = await _tcp_connect(endpoint.host, endpoint.port, timeout)
    if ctx is not None:
        server_name = tls.server_name or endpoint.host
        try:
            async with asyncio.timeout(timeout):
                await writer.start_tls(ctx, server_hostname=server_name)
        except TimeoutError:
            writer.close()
            raise ConnectionFailed(
                f"no TLS handshake with {endpoint.host}:{endpoint.port} within {timeout:g} s "
                "(is the server speaking plain TCP on this port?)"
            ) from None
        except ssl.SSLCertVerificationError as exc:
            writer.close()
            raise ConnectionFailed(
                f"TLS certificate verification failed for {server_name}: {exc.verify_message}"
            ) from None
        except ssl.SSLError as exc:
            writer.close()
            hint = ""
            if exc.reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"):
                hint = " (the server does not speak TLS on this port: try ws:// or mqtt://)"
            raise ConnectionFailed(
                f"TLS handshake with {endpoint.host}:{endpoint.port} failed: {exc.reason or exc}{hint}"
            ) from None
        except (OSError, asyncio.IncompleteReadError) as exc:
            writer.close()
            raise ConnectionFailed(
                f"the connection to {endpoint.host}:{endpoint.port} closed during the TLS handshake"
                f" ({_os_reason(exc)}): does the server speak TLS on this port?"
            ) from None
    info = _stream_info(writer, insecure=endpoint.secure and tls.insecure, proxy=proxy_where)
    return reader, writer, info


def _stream_info(writer: asyncio.StreamWriter, *, insecure: bool, proxy: str | None) -> StreamInfo:
    def _addr(value: object) -> tuple[str, int] | None:
        if isinstance(value, tuple) and len(value) >= 2:
            return (str(value[0]), int(value[1]))
        return None

    ssl_object = writer.get_extra_info("ssl_object")
    tls_version = cipher = alpn = None
    if isinstance(ssl_object, ssl.SSLObject):
        tls_version = ssl_object.version()
        cipher_info = ssl_object.cipher()
        cipher = cipher_info[0] if cipher_info else None
        alpn = ssl_object.selected_alpn_protocol()
    return StreamInfo(
        peer=_addr(writer.get_extra_info("peername")),
        local=_addr(writer.get_extra_info("sockname")),
        tls_version=tls_version,
        cipher=cipher,
        alpn=alpn,
        insecure=insecure,
        proxy=proxy,
    )


class TcpTransport:
    """Native MQTT over TCP or TLS (``mqtt://``, ``mqtts://``): the bytes go straight to the decoder."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        info: StreamInfo,
        trace: ConnectionTrace,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.info = info
        self._trace = trace

    @classmethod
    async def open(cls, options: ConnectionOptions, *, trace: ConnectionTrace) -> TcpTransport:
        """Connect to ``options.url`` (an ``mqtt://`` or ``mqtts://`` URL)."""
        reader, writer, info = await open_stream(options.endpoint, options)
        return cls(reader, writer, info, trace)

    async def receive(self) -> bool:
        # Yield once per chunk: a buffered backlog is otherwise read without suspending.
        await asyncio.sleep(0)
        try:
            data = await self._reader.read(READ_SIZE)
        except ssl.SSLError as exc:
            raise ConnectionFailed(tls_read_failure(exc)) from None
        except ConnectionError:
            data = b""
        if data:
            self._trace.tap("s2c", data)
        return bool(data)

    def send(self, data: bytes) -> None:
        if self._writer.is_closing():
            raise ConnectionFailed("the connection to the broker is closed")
        self._trace.tap("c2s", data)
        self._writer.write(data)

    async def drain(self) -> None:
        try:
            await self._writer.drain()
        except (ConnectionError, ssl.SSLError) as exc:
            raise ConnectionFailed(f"the connection to the broker was lost: {_os_reason(exc)}") from None

    async def close(self) -> None:
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except (OSError, ssl.SSLError):
            pass

    def abort(self) -> None:
        transport = self._writer.transport
        transport.abort()
