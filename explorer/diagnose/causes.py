"""The one table of failure causes: slug -> layer, title, explanation, fix.

UIs, the CLI and ``docs/diagnose.md`` all read this table, so a cause is worded once.
Slugs are stable kebab-case identifiers (scripts match on them); explanations and
fixes are templates whose ``{placeholders}`` are filled from the diagnosis'
``observed`` values (a missing value shows as ``?``). CONNACK refusals get one entry per
MQTT 3.1.1 return code and per MQTT 5.0 reason code, named after the code.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from explorer.diagnose.connack import connack_causes, connack_slug
from explorer.diagnose.model import Cause
from explorer.diagnose.publishcauses import PUBLISH_CAUSES

__all__ = [
    "CAUSES",
    "CLOSE_CODE_CAUSES",
    "CONNECTED",
    "Cause",
    "cause",
    "connack_slug",
    "render",
]


CONNECTED = "connected"

_ENTRIES: list[Cause] = [
    Cause(
        CONNECTED,
        "liveness",
        "Connected",
        "Every layer worked: {summary}.",
        "Nothing to fix.",
    ),
    # -- dns ----------------------------------------------------------------
    Cause(
        "dns-name-not-found",
        "dns",
        "Host name not found",
        "The resolver answered that {lookup_name} does not exist (NXDOMAIN or no address).",
        "Check the name for typos, or use the IP address instead of the name.",
    ),
    Cause(
        "dns-no-resolver",
        "dns",
        "No DNS resolver",
        "{lookup_name} could not be looked up because no DNS server answered ({error}).",
        "Check the network connection and /etc/resolv.conf, or use the IP address instead of the name.",
    ),
    # -- tcp ----------------------------------------------------------------
    Cause(
        "tcp-connection-refused",
        "tcp",
        "Connection refused",
        "{address} refused the TCP connection: nothing listens on port {port}.",
        "Check the port number and that the broker or proxy is running and bound to this address.",
    ),
    Cause(
        "tcp-connect-timeout",
        "tcp",
        "Connect timeout",
        "No answer to the TCP connection attempt to {tcp_peer} within {timeout} s: "
        "a firewall drops the packets or the host is down.",
        "Check firewalls and security groups between you and the host, and that the host is up.",
    ),
    Cause(
        "tcp-unreachable",
        "tcp",
        "Host unreachable",
        "The TCP connection to {tcp_peer} failed: {error}.",
        "Check routing and the address; the network reports it cannot reach the host.",
    ),
    Cause(
        "proxy-connection-refused",
        "tcp",
        "Proxy refused the connection",
        "The HTTP proxy {proxy} refused the TCP connection: nothing listens on its port, so "
        "the broker {host}:{port} was not contacted.",
        "Check the --proxy address and port and that the proxy is running, or connect without --proxy.",
    ),
    Cause(
        "proxy-auth-required",
        "tcp",
        "Proxy authentication required (407)",
        "The HTTP proxy {proxy} asks for credentials before it opens a tunnel: "
        "Proxy-Authenticate: {proxy_authenticate}.",
        "Give the proxy credentials in the proxy URL: --proxy http://USER:PASSWORD@host:port.",
    ),
    Cause(
        "proxy-tunnel-refused",
        "tcp",
        "Proxy refused the tunnel",
        "The HTTP proxy {proxy} refused to open a tunnel to {host}:{port}: {proxy_status_line}.",
        "Check the proxy's allow list (many allow CONNECT to port 443 only) or connect without --proxy.",
    ),
    Cause(
        "proxy-no-answer",
        "tcp",
        "Proxy did not answer CONNECT",
        "The HTTP proxy {proxy} did not answer the CONNECT request within {timeout} s (or closed "
        "the connection): it may not be an HTTP proxy.",
        "Check the proxy address and that it is an HTTP CONNECT proxy.",
    ),
    Cause(
        "connection-lost",
        "tcp",
        "Connection lost",
        "The server reset the connection {phase}: {error}.",
        "Read the server's log; a connection limit, a crash or a middlebox may be closing connections.",
    ),
    # -- tls ----------------------------------------------------------------
    Cause(
        "tls-to-plaintext-port",
        "tls",
        "TLS spoken to a plaintext port",
        "The TLS handshake got a non-TLS answer ({first_bytes_text}): the port speaks plain "
        "HTTP or MQTT, not TLS.",
        "Use ws:// (or mqtt://) for this port, or the port where the server listens with TLS.",
    ),
    Cause(
        "tls-untrusted-certificate",
        "tls",
        "Self-signed certificate or unknown CA",
        "The server's certificate is not trusted: {tls_error}. It is self-signed or issued by "
        "a certificate authority that is not in the trust store.",
        "Pass the CA certificate with --ca, or install a certificate from a trusted CA on "
        "the server; --insecure skips the check (for tests only).",
    ),
    Cause(
        "tls-hostname-mismatch",
        "tls",
        "Hostname mismatch",
        "The certificate is valid but not for {host}: {tls_error}.",
        "Connect with a name the certificate lists (its subject alternative names), or issue a "
        "certificate for {host}; --sni overrides the name checked.",
    ),
    Cause(
        "tls-certificate-expired",
        "tls",
        "Certificate expired",
        "The server's certificate has expired: {tls_error}.",
        "Renew the server certificate (and check the client's clock).",
    ),
    Cause(
        "tls-certificate-not-yet-valid",
        "tls",
        "Certificate not yet valid",
        "The server's certificate is not valid yet: {tls_error}.",
        "Check the clock of the client and the server, or the certificate's notBefore date.",
    ),
    Cause(
        "tls-incomplete-chain",
        "tls",
        "Incomplete certificate chain",
        "The server sent a chain of {chain_length} certificate(s) that stops before a trusted "
        "root ({tls_error}): it does not send its intermediate certificate(s).",
        "Configure the server with the full chain (leaf followed by the intermediates), e.g. "
        "nginx ssl_certificate pointing at fullchain.pem.",
    ),
    Cause(
        "tls-client-certificate-required",
        "tls",
        "Client certificate required",
        "The server asks for a client certificate and rejected the connection without one ({tls_error}).",
        "Pass a client certificate and key with --cert and --key.",
    ),
    Cause(
        "tls-handshake-failed",
        "tls",
        "TLS handshake failed",
        "The TLS handshake failed: {tls_error}.",
        "Compare TLS versions and cipher suites of client and server, and read the server's log.",
    ),
    Cause(
        "tls-handshake-timeout",
        "tls",
        "TLS handshake timeout",
        "The TCP connection opened but the TLS handshake got no answer within {timeout} s.",
        "Check that this port speaks TLS, and for a load balancer that holds connections.",
    ),
    # -- http ---------------------------------------------------------------
    Cause(
        "http-no-response",
        "http",
        "No HTTP answer (handshake timeout)",
        "The connection opened but nothing answered the HTTP upgrade request within {timeout} s.",
        "Check that this port serves WebSocket (HTTP); a server that waits silently may expect "
        "TLS (use wss://) or another protocol.",
    ),
    Cause(
        "native-mqtt-port",
        "http",
        "Native MQTT port",
        "This port speaks MQTT over plain TCP, not WebSocket: {mqtt_evidence}.",
        "Use mqtt://{host}:{port} for this port, or the broker's WebSocket port (often 8080, "
        "8083, 9001 or 443) with ws://.",
    ),
    Cause(
        "http2-only",
        "http",
        "HTTP/2-only endpoint",
        "The server answered the HTTP/1.1 upgrade with HTTP/2 ({http2_evidence}); WebSocket "
        "over HTTP/2 (RFC 8441) is not what MQTT clients speak.",
        "Enable HTTP/1.1 on this listener (e.g. allow http/1.1 in ALPN), or use a port that serves HTTP/1.1.",
    ),
    Cause(
        "plaintext-to-tls-port",
        "http",
        "Plaintext sent to a TLS port",
        "The port expects TLS but the request was sent in plain text ({first_bytes_text}).",
        "Use wss:// (or mqtts://) for this port.",
    ),
    Cause(
        "http-redirect",
        "http",
        "Redirect",
        "The server answered {status_line} with Location: {location}. WebSocket clients do not "
        "follow redirects.",
        "Connect to the redirect target directly: {location_url}.",
    ),
    Cause(
        "upgrade-not-forwarded",
        "http",
        "Proxy did not forward Upgrade",
        "The server answered {status_line}: the request reached it without the Upgrade and "
        "Connection headers (or as HTTP/1.0). A reverse proxy in front of the broker does not "
        "forward them. Evidence: {proxy_evidence}.",
        "In nginx: proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; "
        'proxy_set_header Connection "upgrade"; (other proxies have an equivalent WebSocket switch).',
    ),
    Cause(
        "http-wrong-path",
        "http",
        "Wrong path (refused with 400/426)",
        "The server refused the upgrade at {path} with {status_line} but accepts it at "
        "{working_path}: the WebSocket endpoint is at another path (Node's ws, as used by "
        "aedes, answers 400 to a path it does not serve).",
        "Use the path {working_path}: {working_url}.",
    ),
    Cause(
        "http-upgrade-refused",
        "http",
        "Upgrade refused (400/426)",
        "The server refused the upgrade with {status_line}, and neither the common paths "
        "({paths_tried}) nor another subprotocol list were accepted. Nothing in the answer "
        "shows a proxy in between. Possible reasons: the WebSocket endpoint is at a path not "
        "tried, a reverse proxy that does not forward the Upgrade and Connection headers, or a "
        "request header the server rejects.",
        "Look up the broker's WebSocket path in its configuration; if a reverse proxy is in "
        "front, make it forward Upgrade (nginx: proxy_http_version 1.1; proxy_set_header "
        'Upgrade $http_upgrade; proxy_set_header Connection "upgrade";); read the response '
        "body and the server's log.",
    ),
    Cause(
        "http-unauthorized",
        "http",
        "Authentication required (401)",
        "The server or a proxy asks for HTTP authentication: WWW-Authenticate: {www_authenticate}.",
        "Pass credentials with --http-user and --http-password-stdin (basic auth), or an "
        "Authorization header with --secret-header, or ask for the proxy's credentials.",
    ),
    Cause(
        "http-forbidden-origin",
        "http",
        "Origin not allowed (403)",
        "The server refused the Origin {origin_sent}: it accepts only listed origins.",
        "Send an allowed Origin with --origin, or add this origin to the server's allow list.",
    ),
    Cause(
        "http-forbidden",
        "http",
        "Forbidden (403)",
        "The server refused the upgrade with {status_line}.",
        "Check access rules (IP allow lists, auth, path rules) on the server or proxy.",
    ),
    Cause(
        "http-not-found",
        "http",
        "Wrong path (404)",
        "Nothing is served at {path}: {status_line}.",
        "Use the broker's WebSocket path (commonly /mqtt, /ws or /); --explore tries them.",
    ),
    Cause(
        "http-upstream-unavailable",
        "http",
        "Proxy cannot reach the broker (502/503/504)",
        "A proxy answered {status_line}: it could not reach the broker behind it.",
        "Check that the broker behind the proxy is running and the proxy's upstream address is right.",
    ),
    Cause(
        "http-web-page",
        "http",
        "A web page, not a WebSocket endpoint",
        "The server answered {status_line} with a page ({content_type}) instead of switching "
        "protocols: {path} is not a WebSocket endpoint.",
        "Use the broker's WebSocket path (commonly /mqtt); --explore tries common paths.",
    ),
    Cause(
        "http-unexpected-status",
        "http",
        "Unexpected HTTP status",
        "The server answered {status_line} instead of 101 Switching Protocols.",
        "Read the response body and the server's log for the reason.",
    ),
    Cause(
        "http-invalid-response",
        "http",
        "Not an HTTP response",
        "The answer to the upgrade request is not HTTP: {first_bytes_text}.",
        "Check that this port serves WebSocket; the bytes show what it speaks instead.",
    ),
    # -- websocket ----------------------------------------------------------
    Cause(
        "ws-invalid-accept",
        "websocket",
        "Invalid Sec-WebSocket-Accept",
        "The 101 response carries Sec-WebSocket-Accept {accept_received}, expected "
        "{accept_expected} (RFC 6455 §4.2.2): the server or a proxy computes it wrongly.",
        "Fix the server or proxy that rewrites the handshake; clients must refuse this response.",
    ),
    Cause(
        "ws-handshake-invalid",
        "websocket",
        "Invalid 101 response",
        "The 101 response is not a valid WebSocket handshake: {ws_error}.",
        "Fix the server or proxy that produces this response.",
    ),
    Cause(
        "subprotocol-not-echoed",
        "websocket",
        "Subprotocol not echoed",
        "The client offered Sec-WebSocket-Protocol {subprotocols_offered} but the server chose "
        "none. Lenient clients accept this; browsers and strict clients close the connection.",
        "Configure the server to select the mqtt subprotocol (e.g. mosquitto does, nginx passes "
        "it through); for lenient clients only, connect without offering a subprotocol.",
    ),
    Cause(
        "subprotocol-unoffered-echo",
        "websocket",
        "Subprotocol echoed that was not offered",
        "The server chose subprotocol {subprotocol_received}, which the client did not offer "
        "({subprotocols_offered}); RFC 6455 §4.1 requires clients to fail the connection.",
        "Fix the server to select only an offered subprotocol, or offer {subprotocol_received}.",
    ),
    Cause(
        "subprotocol-only-mqttv31",
        "websocket",
        "Server accepts only mqttv3.1",
        "The server refused the offered subprotocols {subprotocols_offered} but accepts "
        "mqttv3.1 (the MQTT 3.1 name).",
        "Offer the mqttv3.1 subprotocol (--subprotocol mqttv3.1), or enable mqtt on the server.",
    ),
    Cause(
        "subprotocol-required",
        "websocket",
        "Server requires a subprotocol",
        "The server refused a handshake that offered no subprotocol; it accepts {subprotocol_accepted}.",
        "Offer the mqtt subprotocol (--subprotocol mqtt), as MQTT clients normally do.",
    ),
    Cause(
        "ws-compressed-without-negotiation",
        "websocket",
        "Compressed frames without permessage-deflate",
        "The server sent a frame with RSV1 set (compressed) although permessage-deflate was not "
        "negotiated (RFC 6455 §5.2): often a proxy strips Sec-WebSocket-Extensions from the "
        "handshake while the broker still compresses.",
        "Let the proxy pass Sec-WebSocket-Extensions both ways, or disable compression on the broker.",
    ),
    Cause(
        "ws-extensions-stripped",
        "websocket",
        "Proxy strips Sec-WebSocket-Extensions",
        "The upgrade offered {extensions_offered}, the 101 came back without "
        "Sec-WebSocket-Extensions, and the server still sent a compressed frame (RSV1 set): a "
        "proxy removes the header from the answer while the broker behind it compresses. "
        "Every browser offers permessage-deflate and fails such a connection (RFC 6455 §5.2).",
        "Let the proxy pass Sec-WebSocket-Extensions in both directions (or strip it from the "
        "request too, so the broker does not compress), or turn compression off on the broker.",
    ),
    Cause(
        "ws-text-frames",
        "websocket",
        "MQTT in text frames",
        "The server sent MQTT in a text frame; MQTT over WebSocket requires binary frames "
        "[MQTT-6.0.0-1], and strict clients close the connection.",
        "Configure the server or bridge to send binary frames.",
    ),
    Cause(
        "ws-protocol-violation",
        "websocket",
        "WebSocket protocol violation",
        "The server broke the WebSocket framing rules: {ws_error}.",
        "Fix the server or proxy; the first frame bytes are shown below.",
    ),
    Cause(
        "ws-closed-protocol-error",
        "websocket",
        "Closed: protocol error (1002)",
        "The server closed the WebSocket right after the handshake with 1002 (protocol error): "
        "{close_reason}.",
        "The server rejected something in the handshake or first frame; check its log.",
    ),
    Cause(
        "ws-closed-unsupported-data",
        "websocket",
        "Closed: unsupported data (1003)",
        "The server closed with 1003 (unsupported data): {close_reason}. It does not accept "
        "the frame type sent (MQTT needs binary frames).",
        "Check that the endpoint is an MQTT broker and accepts binary frames.",
    ),
    Cause(
        "ws-closed-invalid-payload",
        "websocket",
        "Closed: invalid payload (1007)",
        "The server closed with 1007 (invalid frame payload data): {close_reason}.",
        "The server could not decode what was sent; check the MQTT version and the server's log.",
    ),
    Cause(
        "ws-closed-policy-violation",
        "websocket",
        "Closed: policy violation (1008)",
        "The server closed with 1008 (policy violation): {close_reason}.",
        "The server's policy (auth, origin, limits) rejected the client; check its log.",
    ),
    Cause(
        "ws-closed-message-too-big",
        "websocket",
        "Closed: message too big (1009)",
        "The server closed with 1009 (message too big): {close_reason}.",
        "Raise the server's or proxy's maximum message size, or send smaller packets.",
    ),
    Cause(
        "ws-closed-internal-error",
        "websocket",
        "Closed: internal error (1011)",
        "The server closed with 1011 (internal error): {close_reason}. A WebSocket bridge or "
        "proxy typically does this when it cannot reach the MQTT broker behind it.",
        "Check that the broker behind the WebSocket bridge is running and reachable from it.",
    ),
    Cause(
        "ws-closed",
        "websocket",
        "Closed after the handshake",
        "The server closed the WebSocket right after the handshake with code {close_code}: {close_reason}.",
        "Look up the close code and read the server's log.",
    ),
    Cause(
        "ws-dropped",
        "websocket",
        "Connection dropped after the handshake",
        "The server accepted the upgrade, then closed the connection without a close frame "
        "and without answering CONNECT.",
        "Check the server's log; a proxy may be unable to reach the broker.",
    ),
    # -- mqtt ---------------------------------------------------------------
    Cause(
        "mqtt-no-connack",
        "mqtt",
        "No CONNACK",
        "CONNECT was sent but no CONNACK came within {timeout} s ({connack_wait}).",
        "Check that the server speaks MQTT {mqtt_version} on this path; some brokers stay silent "
        "for a protocol version they do not support (try --mqtt-version).",
    ),
    Cause(
        "mqtt-version-mismatch",
        "mqtt",
        "Broker speaks another MQTT version",
        "The broker refused MQTT {mqtt_version} (CONNACK {connack_code}) and accepts MQTT "
        "{broker_version}: this broker speaks {broker_version}.",
        "Use MQTT {broker_version}: --mqtt-version {broker_version} (the MQTT version of a profile).",
    ),
    Cause(
        "mqtt-port-speaks-http",
        "mqtt",
        "HTTP port, not native MQTT",
        "The port answered the MQTT CONNECT with HTTP ({first_bytes_text}): it serves HTTP or "
        "WebSocket, not MQTT over TCP.",
        "Use ws://{host}:{port}/mqtt (or wss://) for this port, or the broker's MQTT port "
        "(usually 1883, or 8883 with TLS).",
    ),
    Cause(
        "mqtt-unexpected-packet",
        "mqtt",
        "Unexpected answer to CONNECT",
        "The server answered CONNECT with {packet} instead of CONNACK.",
        "Check that the endpoint is an MQTT broker.",
    ),
    Cause(
        "mqtt-malformed",
        "mqtt",
        "Malformed MQTT",
        "The server's answer to CONNECT is not valid MQTT: {mqtt_error}.",
        "Check that the endpoint is an MQTT broker and which MQTT version it speaks.",
    ),
    # -- liveness -----------------------------------------------------------
    Cause(
        "liveness-idle-drop",
        "liveness",
        "Idle connection dropped (proxy read timeout)",
        "The connection was dropped after {idle_seconds} s of silence, before the MQTT keep "
        "alive of {keep_alive} s: an intermediary (proxy, load balancer) has a shorter idle "
        "timeout ({idle_match}).",
        "Raise the proxy's idle timeout above the keep alive (nginx: proxy_read_timeout and "
        "proxy_send_timeout), or lower the client's keep alive below it.",
    ),
    Cause(
        "liveness-no-pingresp",
        "liveness",
        "No PINGRESP",
        "PINGREQ got no PINGRESP within {timeout} s.",
        "The broker or a proxy stalls the connection; check the broker's load and log.",
    ),
]

CAUSES: dict[str, Cause] = {entry.slug: entry for entry in [*_ENTRIES, *PUBLISH_CAUSES, *connack_causes()]}

# RFC 6455 §7.4.1 close codes a server sends right after the handshake.
CLOSE_CODE_CAUSES: dict[int, str] = {
    1002: "ws-closed-protocol-error",
    1003: "ws-closed-unsupported-data",
    1007: "ws-closed-invalid-payload",
    1008: "ws-closed-policy-violation",
    1009: "ws-closed-message-too-big",
    1011: "ws-closed-internal-error",
}


def cause(slug: str) -> Cause:
    """The table entry for ``slug`` (a KeyError here is a bug, not user input)."""
    return CAUSES[slug]


class _Missing(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"


def render(slug: str, observed: Mapping[str, str]) -> tuple[str, str]:
    """Explanation and fix of ``slug`` with ``{placeholders}`` filled from ``observed``."""
    entry = CAUSES[slug]
    values = _Missing(observed)
    formatter = string.Formatter()
    return formatter.vformat(entry.explanation, (), values), formatter.vformat(entry.fix, (), values)
