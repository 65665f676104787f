"""A byte stream that keeps each layer visible: TCP, then TLS over memory BIOs.

The probe must see what the peer really sent at every layer: the raw bytes a
plaintext server answers to a TLS ClientHello, the TLS alert that follows a missing
client certificate, the first bytes after a handshake. ``asyncio``'s own TLS hides
those, so TLS runs here on :class:`ssl.SSLObject` over two :class:`ssl.MemoryBIO`
buffers while the raw socket bytes pass through our hands (``raw_head`` keeps the
first ones for the report).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass

__all__ = ["RAW_HEAD_LIMIT", "PeerChain", "ProbeStream", "peer_chain"]

RAW_HEAD_LIMIT = 64
_READ_SIZE = 65536


@dataclass(frozen=True, slots=True)
class PeerChain:
    """What the server presented in its TLS handshake (leaf first)."""

    length: int
    last_self_issued: bool
    subjects: tuple[str, ...]


def _name(info: object) -> str:
    # getpeercert()-style names: ((("commonName", "x"),), ...)
    if not isinstance(info, tuple):
        return "?"
    parts = [f"{key}={value}" for rdn in info for key, value in rdn]
    return ", ".join(parts)


def peer_chain(obj: ssl.SSLObject) -> PeerChain | None:
    """The certificates the server sent, verified or not.

    Python 3.13 makes ``get_unverified_chain`` public; 3.10-3.12 have it on the
    private ``_sslobj``. When neither is there the chain is unknown (``None``).
    """
    inner = getattr(obj, "_sslobj", obj)
    getter = getattr(inner, "get_unverified_chain", None)
    if getter is None:
        return None
    try:
        chain = getter()
    except (ssl.SSLError, ValueError):
        return None
    if not chain:
        return None
    infos = [cert.get_info() for cert in chain]
    last = infos[-1]
    return PeerChain(
        length=len(infos),
        last_self_issued=last.get("subject") == last.get("issuer"),
        subjects=tuple(_name(info.get("subject")) for info in infos),
    )


class ProbeStream:
    """TCP stream with optional TLS; reads return ``b""`` at end of stream."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._tls: ssl.SSLObject | None = None
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self.raw_head = bytearray()
        self.raw_received = 0

    @property
    def tls(self) -> ssl.SSLObject | None:
        return self._tls

    async def _read_raw(self) -> bytes:
        data = await self._reader.read(_READ_SIZE)
        if len(self.raw_head) < RAW_HEAD_LIMIT:
            self.raw_head += data[: RAW_HEAD_LIMIT - len(self.raw_head)]
        self.raw_received += len(data)
        return data

    async def _flush_tls(self) -> None:
        pending = self._outgoing.read()
        if pending:
            self._writer.write(pending)
            await self._writer.drain()

    async def start_tls(
        self, context: ssl.SSLContext, server_hostname: str | None, *, server_side: bool = False
    ) -> ssl.SSLObject:
        """Run the TLS handshake; raises :class:`ssl.SSLError` as OpenSSL reports it.

        ``server_side`` serves TLS instead (test servers use it to send real alerts).
        """
        obj = context.wrap_bio(
            self._incoming, self._outgoing, server_side=server_side, server_hostname=server_hostname
        )
        self._tls = obj
        while True:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                await self._flush_tls()
                data = await self._read_raw()
                if data:
                    self._incoming.write(data)
                else:
                    self._incoming.write_eof()
            except ssl.SSLError:
                # Let the alert we owe the server leave before the error is reported.
                with contextlib.suppress(OSError, ConnectionError):
                    await self._flush_tls()
                raise
        await self._flush_tls()
        return obj

    async def send(self, data: bytes) -> None:
        if self._tls is not None:
            self._tls.write(data)
            await self._flush_tls()
        else:
            self._writer.write(data)
            await self._writer.drain()

    async def recv(self) -> bytes:
        """The next bytes from the peer; ``b""`` once the peer closed.

        Raises:
            ssl.SSLError: a TLS alert or record error after the handshake.
        """
        if self._tls is None:
            return await self._read_raw()
        while True:
            try:
                return self._tls.read(_READ_SIZE)
            except ssl.SSLWantReadError:
                await self._flush_tls()
                data = await self._read_raw()
                if data:
                    self._incoming.write(data)
                else:
                    self._incoming.write_eof()
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""

    async def close(self) -> None:
        with contextlib.suppress(OSError, ConnectionError, ssl.SSLError):
            if self._tls is not None:
                try:
                    self._tls.unwrap()
                except ssl.SSLWantReadError:
                    pass
                await self._flush_tls()
        self._writer.close()
        with contextlib.suppress(OSError, ConnectionError, ssl.SSLError):
            await self._writer.wait_closed()
