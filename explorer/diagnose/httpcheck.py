"""The answer to an HTTP upgrade request, classified from its bytes (no I/O here).

The first bytes decide what the port speaks: ``HTTP/1.x`` is parsed as a response
head; a TLS record, an HTTP/2 frame or an MQTT packet mean the URL points at the
wrong kind of port. A non-101 status is mapped to a cause by :func:`classify_status`;
the probe refines some of them by retrying (subprotocols, paths, Origin).

A 400 or 426 is not proof of a proxy: Node's ``ws`` (aedes and others) answers 400 to
an upgrade on a path it does not serve. A proxy that drops ``Upgrade`` is named only
when the answer itself points at one (:func:`proxy_evidence`).
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit, urlunsplit

from explorer.diagnose.wire import looks_like_tls_record, printable
from explorer.mqtt.enums import PacketType
from explorer.ws.handshake import HttpResponse

__all__ = [
    "COMMON_PATHS",
    "HTTP2_PREFACE",
    "classify_foreign_bytes",
    "classify_status",
    "could_be_http",
    "proxy_evidence",
    "ws_url_for",
]

HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HTTP2_FRAME_TYPES = {0x4: "SETTINGS", 0x7: "GOAWAY"}
# Where brokers and proxies commonly serve MQTT over WebSocket, most common first.
COMMON_PATHS: tuple[str, ...] = ("/mqtt", "/ws", "/", "/mqtt/")
# Server header values of reverse proxies and load balancers (lower case, matched as prefixes).
_PROXY_SERVERS = (
    "nginx",
    "openresty",
    "tengine",
    "apache",
    "envoy",
    "istio-envoy",
    "haproxy",
    "traefik",
    "caddy",
    "cloudflare",
    "squid",
    "varnish",
    "awselb",
    "kong",
    "microsoft-azure-application-gateway",
    "akamaighost",
    "litespeed",
)
# Words of a refusal body that say the Upgrade or Connection header did not arrive
# (websockets: "missing Upgrade header", "invalid Connection header: close").
_DROPPED_HEADER_WORDS = ("upgrade header", "connection header", "upgrade required", "not upgraded")


def could_be_http(data: bytes) -> bool:
    """True while ``data`` is (a prefix of) an HTTP/1.x status line."""
    prefix = b"HTTP/1."
    return data[: len(prefix)] == prefix[: len(data)]


def _http2_evidence(data: bytes) -> str | None:
    if data.startswith(HTTP2_PREFACE[: len(data)]) and len(data) >= 3:
        return "an HTTP/2 connection preface"
    # RFC 9113 §4.1: 24-bit length, 8-bit type, 8-bit flags, 31-bit stream id.
    if len(data) >= 9 and data[3] in _HTTP2_FRAME_TYPES and data[5:9] == b"\0\0\0\0":
        length = int.from_bytes(data[:3], "big")
        if length <= 16384:
            return f"an HTTP/2 {_HTTP2_FRAME_TYPES[data[3]]} frame"
    return None


# What a broker may send to a client that has not sent CONNECT: a refusing CONNACK, or
# (MQTT 5.0 §3.14) a DISCONNECT; PINGRESP shows up from brokers that answer anything.
_UNSOLICITED = {PacketType.CONNACK, PacketType.PINGRESP, PacketType.DISCONNECT}


def _mqtt_evidence(data: bytes) -> str | None:
    if len(data) < 2:
        return None
    kind, flags, length = data[0] >> 4, data[0] & 0x0F, data[1]
    # Fixed header flags of these packets are 0 (MQTT 5.0 §2.1.3); their bodies are short.
    if kind not in _UNSOLICITED or flags or length > 64:
        return None
    return f"it answered with MQTT bytes ({PacketType(kind).name})"


def classify_foreign_bytes(data: bytes) -> tuple[str, dict[str, str]]:
    """Cause for an answer that is not HTTP/1.x (``data`` empty: closed at once)."""
    observed = {"first_bytes_hex": data[:32].hex(" ")} if data else {}
    if data:
        observed["first_bytes_text"] = printable(data)
    if not data:
        observed["mqtt_evidence"] = (
            "it closed the connection as soon as it read the HTTP request, as MQTT brokers "
            "do with bytes that are not a CONNECT packet"
        )
        observed["first_bytes_text"] = "connection closed without an answer"
        return "native-mqtt-port", observed
    if looks_like_tls_record(data):
        return "plaintext-to-tls-port", observed
    h2 = _http2_evidence(data)
    if h2 is not None:
        observed["http2_evidence"] = h2
        return "http2-only", observed
    mqtt = _mqtt_evidence(data)
    if mqtt is not None:
        observed["mqtt_evidence"] = mqtt
        return "native-mqtt-port", observed
    return "http-invalid-response", observed


def ws_url_for(location: str, base_url: str) -> str:
    """The ws(s):// URL a redirect target stands for (relative Locations resolved)."""
    split = urlsplit(base_url)
    http_base = urlunsplit(("https" if split.scheme == "wss" else "http", *split[1:]))
    target = urlsplit(urljoin(http_base, location))
    scheme = {"https": "wss", "http": "ws"}.get(target.scheme, target.scheme)
    return urlunsplit((scheme, *target[1:]))


def proxy_evidence(head: HttpResponse) -> str | None:
    """What in a 400/426 answer shows that an intermediary dropped the upgrade, if anything.

    We always send ``Upgrade: websocket`` and ``Connection: Upgrade``; an answer that
    says they are missing, or that comes from a known reverse proxy (``Server``,
    ``Via``), points at an intermediary. A bare 400 from the server itself does not.
    """
    via = head.header("Via")
    if via:
        return f"the answer passed through a proxy, Via: {via}"
    server = (head.header("Server") or "").strip()
    if server.lower().startswith(_PROXY_SERVERS):
        return f"the answer comes from a reverse proxy, Server: {server}"
    body = " ".join(head.body[:512].decode("utf-8", "replace").lower().split())
    for words in _DROPPED_HEADER_WORDS:
        if words in body:
            return f"the answer's body says the headers did not arrive: {words!r}"
    if head.status == 426 and head.header("Sec-WebSocket-Version") is None:
        # RFC 6455 §4.4: a server that refuses our WebSocket version lists its own in
        # Sec-WebSocket-Version; without it, 426 means the Upgrade header was not seen.
        return (
            "426 Upgrade Required without Sec-WebSocket-Version, so the server did not see "
            "the Upgrade header that was sent"
        )
    return None


def classify_status(head: HttpResponse, url: str) -> tuple[str, dict[str, str]]:
    """Cause for a non-101 response (the probe may refine 400, 403 and 426 by retrying).

    A 400 or 426 is ``upgrade-not-forwarded`` only with :func:`proxy_evidence`, else
    ``http-upgrade-refused``; the probe turns either into ``http-wrong-path`` when
    another common path accepts the upgrade.
    """
    observed: dict[str, str] = {"status_line": f"{head.version} {head.status} {head.reason}".rstrip()}
    for name in ("Server", "Content-Type", "Location", "WWW-Authenticate", "Upgrade", "Connection"):
        value = head.header(name)
        if value is not None:
            observed[f"header_{name.lower().replace('-', '_')}"] = value
    body_text = head.body[:512].decode("utf-8", "replace")
    if body_text.strip():
        observed["body_start"] = " ".join(body_text.split())[:200]
    status = head.status
    if status in _REDIRECTS:
        location = head.header("Location") or ""
        observed["location"] = location or "(no Location header)"
        observed["location_url"] = ws_url_for(location, url) if location else "?"
        return "http-redirect", observed
    if status == 400 and "plain HTTP request was sent to HTTPS port" in body_text:
        observed["first_bytes_text"] = observed["status_line"]
        return "plaintext-to-tls-port", observed
    if status == 400 and "No required SSL certificate was sent" in body_text:
        observed["tls_error"] = "no client certificate was sent (the server answered 400)"
        return "tls-client-certificate-required", observed
    if status == 505:
        # 505: the proxy forwarded the request as HTTP/1.0, which cannot upgrade (RFC 6455 §4.1).
        observed["proxy_evidence"] = "505, so the request reached the server as HTTP/1.0"
        return "upgrade-not-forwarded", observed
    if status in (400, 426):
        evidence = proxy_evidence(head)
        if evidence is None:
            return "http-upgrade-refused", observed
        observed["proxy_evidence"] = evidence
        return "upgrade-not-forwarded", observed
    if status == 401:
        observed["www_authenticate"] = head.header("WWW-Authenticate") or "(none)"
        return "http-unauthorized", observed
    if status == 403:
        if "origin" in body_text.lower():
            return "http-forbidden-origin", observed
        return "http-forbidden", observed
    if status == 404:
        return "http-not-found", observed
    if status in (502, 503, 504):
        return "http-upstream-unavailable", observed
    if 200 <= status < 300:
        observed["content_type"] = head.header("Content-Type") or "no Content-Type"
        return "http-web-page", observed
    return "http-unexpected-status", observed
