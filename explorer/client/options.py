"""Connection options: everything needed to reach a broker, as one immutable value.

Shared by the client (``explorer.client.driver``), the probe (``explorer.diagnose``), the
profiles (``explorer.profiles.store``) and every CLI command's flags. Secrets (passwords,
key passphrase, secret header values) are fields with ``repr=False`` so they never
show in a repr, a log line or a traceback; profiles keep them in the OS keyring.

User info in a broker URL (``ws://alice:secret@host/mqtt``) is taken out of the URL
as soon as a :class:`ConnectionOptions` is made: it becomes the MQTT user name and
password, so ``url`` never carries a secret into a profile file, a status line, a
trace or an error message. Error messages about a URL show it with the password
replaced by the masking module's mark (:func:`explorer.masking.redact_url`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import unquote, urlsplit

from explorer.errors import ExplorerError
from explorer.masking import netloc_parts, redact_url
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Properties, Will

__all__ = [
    "DEFAULT_PORTS",
    "ConnectionOptions",
    "Endpoint",
    "Scheme",
    "TlsOptions",
    "UrlUserInfo",
    "parse_url",
    "split_userinfo",
]

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


@dataclass(frozen=True, slots=True)
class UrlUserInfo:
    """The user info of a URL, percent-decoded; ``password`` is None when the URL has none."""

    username: str | None
    password: str | None = field(default=None, repr=False)


def split_userinfo(url: str) -> tuple[str, UrlUserInfo | None]:
    """The URL without its ``user:password@`` part, and that part (None without one)."""
    parts = netloc_parts(url.strip())
    if parts is None:
        return url, None
    scheme, userinfo, hostport, tail = parts
    user_text, colon, password_text = userinfo.partition(":")
    info = UrlUserInfo(
        username=unquote(user_text) or None,
        password=unquote(password_text) if colon else None,
    )
    return f"{scheme}://{hostport}{tail}", info


def parse_url(url: str) -> Endpoint:
    """Parse ``ws://``, ``wss://``, ``mqtt://`` or ``mqtts://`` URLs.

    A bare ``host:port`` is not guessed at: the scheme decides the transport, and a
    wrong guess is exactly the kind of confusion this tool exists to expose.

    Raises:
        ExplorerError: with a sentence naming what is wrong with the URL.
    """
    text = url.strip()
    shown = redact_url(text)
    if "://" not in text:
        raise ExplorerError(
            f"{shown!r} is not a broker URL: give a scheme, e.g. ws://host:8080/mqtt, "
            "wss://host/mqtt, mqtt://host:1883 or mqtts://host:8883"
        )
    try:
        parts = urlsplit(text)
        port_value = parts.port
    except ValueError as exc:
        raise ExplorerError(f"{shown!r} is not a valid URL: {str(exc).replace(text, shown)}") from None
    scheme = _ALIASES.get(parts.scheme.lower(), parts.scheme.lower())
    if scheme not in DEFAULT_PORTS:
        raise ExplorerError(f"unsupported scheme {parts.scheme!r} in {shown!r}: use ws, wss, mqtt or mqtts")
    if not parts.hostname:
        raise ExplorerError(f"{shown!r} has no host name")
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
    # NSS key log (Wireshark's "(Pre)-Master-Secret log"): the session keys are appended
    # there so a capture taken beside the explorer can be decrypted. ``SSLKEYLOGFILE``
    # in the environment does the same when this is not set.
    keylog_file: str | None = None


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

    def __post_init__(self) -> None:
        if "@" not in self.url:
            return
        url, info = split_userinfo(self.url)
        if info is None:
            return
        # The URL's user info is the MQTT login; the URL itself keeps no secret.
        object.__setattr__(self, "url", url)
        if info.username is not None:
            if self.username is not None and self.username != info.username:
                raise ExplorerError(
                    f"the URL names the user {info.username!r} but the user name given is "
                    f"{self.username!r}: give the user name once"
                )
            object.__setattr__(self, "username", info.username)
        if info.password is not None:
            password = info.password.encode("utf-8")
            if self.password is not None and self.password != password:
                raise ExplorerError(
                    "the URL carries a password and a different MQTT password is given too "
                    "(a --password flag or a profile's): give the password once"
                )
            object.__setattr__(self, "password", password)

    @property
    def endpoint(self) -> Endpoint:
        return parse_url(self.url)

    def with_changes(self, **changes: object) -> ConnectionOptions:
        """A copy with ``changes``; a new URL's user info replaces the user name and password.

        The URL is given later than the options it changes (a URL typed over a profile's),
        so its login wins over theirs; given in the same call, the two must agree.
        """
        url = changes.get("url")
        if isinstance(url, str) and "@" in url:
            info = split_userinfo(url)[1]
            if info is not None and info.username is not None:
                changes.setdefault("username", None)
            if info is not None and info.password is not None:
                changes.setdefault("password", None)
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
