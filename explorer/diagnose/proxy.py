"""The HTTP CONNECT tunnel (RFC 9110 §9.3.6) as a probe step: through a proxy, the TCP
layer is "reach the proxy, then have it open a tunnel to the broker"."""

from __future__ import annotations

import asyncio
import base64
from urllib.parse import unquote, urlsplit

from explorer.client.options import Endpoint
from explorer.diagnose.transport import ProbeStream
from explorer.errors import ExplorerError

__all__ = ["open_tunnel", "proxy_address"]

_MAX_HEAD = 16384


def proxy_address(proxy_url: str) -> tuple[str, int]:
    """Host and port of an ``http://[user[:pass]@]host:port`` proxy URL.

    Raises:
        ExplorerError: the URL is not an http:// proxy URL.
    """
    try:
        parts = urlsplit(proxy_url)
        port = parts.port
    except ValueError:
        port = None
        parts = urlsplit("")
    if parts.scheme.lower() != "http" or not parts.hostname:
        raise ExplorerError("the proxy must be given as http://[user[:password]@]host:port")
    return parts.hostname, port or 8080


async def open_tunnel(
    stream: ProbeStream, proxy_url: str, target: Endpoint, timeout: float
) -> tuple[str | None, dict[str, str]]:
    """Ask the proxy for a tunnel; ``(None, observed)`` when it answered 2xx, else a cause slug."""
    parts = urlsplit(proxy_url)
    authority = f"[{target.host}]:{target.port}" if ":" in target.host else f"{target.host}:{target.port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        lines.append("Proxy-Authorization: Basic " + base64.b64encode(credentials.encode()).decode())
    await stream.send(("\r\n".join(lines) + "\r\n\r\n").encode())
    observed = {"proxy_request": lines[0], "timeout": f"{timeout:g}"}
    head = bytearray()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while b"\r\n\r\n" not in head:
        remaining = deadline - loop.time()
        try:
            if remaining <= 0 or len(head) > _MAX_HEAD:
                raise TimeoutError
            data = await asyncio.wait_for(stream.recv(), remaining)
        except TimeoutError:
            return "proxy-no-answer", observed
        except (ConnectionError, OSError):
            data = b""
        if not data:
            return "proxy-no-answer", observed
        head += data
    text = bytes(head).split(b"\r\n\r\n", 1)[0].decode("latin-1")
    status_line, *header_lines = text.split("\r\n")
    observed["proxy_status_line"] = status_line
    fields = status_line.split(" ", 2)
    if len(fields) >= 2 and fields[1].startswith("2"):
        return None, observed
    if len(fields) >= 2 and fields[1] == "407":
        challenge = next(
            (
                line.split(":", 1)[1].strip()
                for line in header_lines
                if line.lower().startswith("proxy-authenticate:")
            ),
            "(none)",
        )
        observed["proxy_authenticate"] = challenge
        return "proxy-auth-required", observed
    return "proxy-tunnel-refused", observed
