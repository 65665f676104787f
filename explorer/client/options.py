"""Connection options: everything needed to reach a broker, as one immutable value.

Shared by the client (``explorer.client.driver``), the probe (``explorer.diagnose``), the
profiles (``explorer.profiles.store``) and every CLI command's flags. Secrets (passwords,
key passphrase, secret header values) are fields with ``repr=False`` so they never
show in a repr, a log line or a traceback; profiles keep them in the OS keyring.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import urlsplit

from explorer.errors import ExplorerError
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Properties, Will

__all__ = ["DEFAULT_PORTS", "ConnectionOptions", "Endpoint", "Scheme", "TlsOptions", "parse_url"]

Scheme = Literal["ws", "wss", "mqtt", "mqtts"]

DEFAULT_PORTS: dict[str, int] = {"ws": 80, "wss": 443, "mqtt": 1883, "mqtts": 8883}
_ALIASES = {"tcp": "mqtt", "ssl": "mqtts", "tls": "mqtts", "mqtt+ssl": "mqtts"}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A parsed broker URL."""

    scheme: Scheme
    host: str
    port: int
    path: str  # "/mqtt" for ws/wss (with query string if any); "" for mqtt/mqtts

    @property
    def secure(self) -> bool:
        return self.scheme in ("wss", "mqtts")

    @property
    def websocket(self) -> bool:
        return self.scheme in ("ws", "wss")

    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{self.path}"


def parse_url(url: str) -> Endpoint:
    """Parse ``ws://``, ``wss://``, ``mqtt://`` or ``mqtts://`` URLs.

    A bare ``host:port`` is not guessed at: the scheme decides the transport, and a
    wrong guess is exactly the kind of confusion this tool exists to expose.

    Raises:
        ExplorerError: with a sentence naming what is wrong with the URL.
    """
    text = url.strip()
    if "://" not in text:
        raise ExplorerError(
            f"{url!r} is not a broker URL: give a scheme, e.g. ws://host:8080/mqtt, "
            "wss://host/mqtt, mqtt://host:1883 or mqtts://host:8883"
        )
    try:
        parts = urlsplit(text)
        port_value = parts.port
    except ValueError as exc:
        raise ExplorerError(f"{url!r} is not a valid URL: {exc}") from None
    scheme = _ALIASES.get(parts.scheme.lower(), parts.scheme.lower())
    if scheme not in DEFAULT_PORTS:
        raise ExplorerError(f"unsupported scheme {parts.scheme!r} in {url!r}: use ws, wss, mqtt or mqtts")
    if not parts.hostname:
        raise ExplorerError(f"{url!r} has no host name")
    port = port_value if port_value is not None else DEFAULT_PORTS[scheme]
    if scheme in ("ws", "wss"):
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
    else:
        path = ""
    return Endpoint(scheme=scheme, host=parts.hostname, port=port, path=path)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class TlsOptions:
    """TLS settings. Verification is on unless ``insecure`` is set explicitly."""

    ca_file: str | None = None
    ca_dir: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    key_password: str | None = field(default=None, repr=False)
    insecure: bool = False
    server_name: str | None = None  # SNI and hostname check override
    alpn: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ConnectionOptions:
    """How to reach a broker and what to say in CONNECT.

    ``subprotocols`` is the exact ``Sec-WebSocket-Protocol`` list to offer, in order;
    empty offers none. ``strict_subprotocol`` refuses a server that does not echo one
    of them (as browsers do); otherwise the problem is recorded and reported.
    """

    url: str
    subprotocols: tuple[str, ...] = ("mqtt",)
    strict_subprotocol: bool = False
    headers: tuple[tuple[str, str], ...] = ()
    secret_headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    origin: str | None = None
    http_username: str | None = None
    http_password: str | None = field(default=None, repr=False)
    tls: TlsOptions = TlsOptions()
    proxy: str | None = field(default=None, repr=False)  # http://user:pass@host:port
    connect_timeout: float = 10.0
    handshake_timeout: float = 10.0
    # MQTT
    mqtt_version: ProtocolVersion = ProtocolVersion.V311
    client_id: str = ""  # empty: generated
    clean_start: bool = True
    keep_alive: int = 60
    session_expiry_interval: int | None = None
    username: str | None = None
    password: bytes | None = field(default=None, repr=False)
    will: Will | None = None
    receive_maximum: int | None = None
    maximum_packet_size: int | None = None
    topic_alias_maximum: int | None = None
    request_response_information: bool | None = None
    request_problem_information: bool | None = None
    user_properties: tuple[tuple[str, str], ...] = ()
    authentication_method: str | None = None
    authentication_data: bytes | None = field(default=None, repr=False)
    # reconnect
    reconnect: bool = False
    reconnect_initial_delay: float = 1.0
    reconnect_max_delay: float = 60.0

    @property
    def endpoint(self) -> Endpoint:
        return parse_url(self.url)

    def with_changes(self, **changes: object) -> ConnectionOptions:
        return replace(self, **changes)  # type: ignore[arg-type]

    def connect_properties(self) -> Properties:
        """The MQTT 5.0 CONNECT properties these options ask for."""
        return Properties(
            session_expiry_interval=self.session_expiry_interval,
            receive_maximum=self.receive_maximum,
            maximum_packet_size=self.maximum_packet_size,
            topic_alias_maximum=self.topic_alias_maximum,
            request_response_information=(
                None if self.request_response_information is None else int(self.request_response_information)
            ),
            request_problem_information=(
                None if self.request_problem_information is None else int(self.request_problem_information)
            ),
            user_properties=self.user_properties,
            authentication_method=self.authentication_method,
            authentication_data=self.authentication_data,
        )
