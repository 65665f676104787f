"""TLS on memory BIOs in front of a broker connection, so that a refused handshake is
answered with its TLS alert.

asyncio's own TLS transport drops the connection when the server side of a handshake
fails, without sending the alert OpenSSL wrote: a client refused for want of a
certificate then sees the connection closed, not "certificate required", which is not
what a real server (Mosquitto, nginx's stream module) does. The ``tls-client-cert-required``
fault mode exists to reproduce that failure, so its listeners run TLS here: the handshake
on an :class:`ssl.SSLObject`, every record written out, the alert included, and the
decrypted bytes handed to the ordinary connection protocol through :class:`_Inner`.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from typing import Any

__all__ = ["TlsTerminator"]

_LOG = logging.getLogger("explorer.broker")
_READ = 16 * 1024


class TlsTerminator(asyncio.Protocol):
    """Server-side TLS for one connection; ``inner`` is made once the handshake succeeds."""

    def __init__(self, context: ssl.SSLContext, inner: Callable[[], asyncio.BufferedProtocol]) -> None:
        self._context = context
        self._make_inner = inner
        self._inner: asyncio.BufferedProtocol | None = None
        self._raw: asyncio.Transport | None = None
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        self._ready = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._raw = transport

    def data_received(self, data: bytes) -> None:
        self._incoming.write(data)
        if not self._ready and not self._handshake():
            return
        chunks: list[bytes] = []
        while True:
            try:
                chunk = self._tls.read(_READ)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                self.flush()
                self._close()
                return
            except ssl.SSLError as exc:
                _LOG.info("TLS error from %s: %s", self._peer(), exc.reason or exc)
                self.flush()
                self._close()
                return
            if not chunk:
                break
            chunks.append(chunk)
        self.flush()  # a TLS 1.3 key update or session ticket may be waiting
        for chunk in chunks:
            view = memoryview(chunk)
            while view and self._inner is not None and not self.is_closing():
                buffer = memoryview(self._inner.get_buffer(len(view)))
                size = min(len(view), len(buffer))
                buffer[:size] = view[:size]
                self._inner.buffer_updated(size)
                view = view[size:]

    def _handshake(self) -> bool:
        try:
            self._tls.do_handshake()
        except ssl.SSLWantReadError:
            self.flush()
            return False
        except ssl.SSLError as exc:
            # The alert OpenSSL wrote (certificate required, bad certificate...) goes out first.
            _LOG.info("TLS handshake with %s refused: %s", self._peer(), exc.reason or exc)
            self.flush()
            self._close()
            return False
        self.flush()
        self._ready = True
        self._inner = self._make_inner()
        self._inner.connection_made(_Inner(self))
        return True

    def flush(self) -> None:
        data = self._outgoing.read()
        if data and self._raw is not None and not self._raw.is_closing():
            self._raw.write(data)

    def write(self, data: bytes) -> None:
        if not self._ready or self._raw is None or self._raw.is_closing():
            return
        self._tls.write(data)
        self.flush()

    def _close(self) -> None:
        if self._raw is not None:
            self._raw.close()

    def close(self) -> None:
        if self._ready:
            try:
                self._tls.unwrap()  # close_notify
            except ssl.SSLError:
                pass
            self.flush()
        self._close()

    def abort(self) -> None:
        if self._raw is not None:
            self._raw.abort()

    def is_closing(self) -> bool:
        return self._raw is None or self._raw.is_closing()

    def raw(self) -> asyncio.Transport | None:
        return self._raw

    def _peer(self) -> str:
        peer = self._raw.get_extra_info("peername") if self._raw is not None else None
        return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer or "?")

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    def eof_received(self) -> bool | None:
        return None  # close: TLS has its own end (close_notify)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._inner is not None:
            self._inner.connection_lost(exc)


class _Inner(asyncio.Transport):
    """The transport the connection protocol sees: plaintext in, TLS records out."""

    def __init__(self, outer: TlsTerminator) -> None:
        super().__init__()
        self._outer = outer

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._outer.write(bytes(data))

    def close(self) -> None:
        self._outer.close()

    def abort(self) -> None:
        self._outer.abort()

    def is_closing(self) -> bool:
        return self._outer.is_closing()

    def can_write_eof(self) -> bool:
        return False  # a TLS connection ends with close_notify, not a half close

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        raw = self._outer.raw()
        if name == "sslcontext":
            return self._outer._context
        return raw.get_extra_info(name, default) if raw is not None else default

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        raw = self._outer.raw()
        if raw is not None:
            raw.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        raw = self._outer.raw()
        return raw.get_write_buffer_size() if raw is not None else 0
