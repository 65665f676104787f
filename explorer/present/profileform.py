"""The profile form: every connection option of the command line, as fields both editors render.

:data:`FIELDS` lists the fields in order, grouped in :data:`SECTIONS`; each has a kind
(:class:`FieldKind`) that tells a front end which widget to use. A :class:`ProfileForm` holds
the values as the user sees them (text, or a bool for a check box) and converts both ways:

* :meth:`ProfileForm.from_profile` fills the fields from a saved profile; secret fields stay
  empty (the value is in the keyring; an empty field keeps it);
* :meth:`ProfileForm.to_profile` reads them back, validating every field; the errors come
  together in :class:`FormErrors`, one sentence per field key, so a front end shows each one
  at its field and saves nothing. Opening a profile and saving it unchanged gives the same
  profile back: nothing is lost, including what the form does not show (codec rules, tags).

Subscriptions are one per line, ``FILTER[:QOS]`` with optional ``no-local``,
``retain-as-published`` and ``retain-handling=N`` words after it (``sensors/#:2 no-local``);
an invalid filter is an error at the field, never dropped. Nothing here does I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from explorer.client.options import ConnectionOptions, TlsOptions, parse_url, split_userinfo
from explorer.codecs.rules import CodecRule, parse_codec_rule
from explorer.errors import ExplorerError
from explorer.mqtt.enums import ProtocolVersion, RetainHandling
from explorer.mqtt.packets import NO_PROPERTIES, Properties, Subscription, Will
from explorer.mqtt.topics import validate_topic_filter, validate_topic_name
from explorer.profiles.format import (
    HEADER_NAME_RE,
    Profile,
    ProfileName,
    check_name,
    has_control_character,
    strip_proxy_password,
)

__all__ = [
    "FIELDS",
    "SECRET_FIELDS",
    "SECTIONS",
    "FieldKind",
    "FormErrors",
    "FormField",
    "ProfileForm",
    "format_subscription",
    "parse_subscription",
    "parse_subscriptions",
]


class FieldKind(StrEnum):
    """Which widget a field wants."""

    TEXT = "text"  # one line
    NUMBER = "number"  # one line, a number or empty
    SECRET = "secret"  # one line, hidden; empty keeps the stored value
    CHECK = "check"  # a check box (the value is a bool)
    CHOICE = "choice"  # one of ``choices``
    LINES = "lines"  # several lines, one entry each


@dataclass(frozen=True, slots=True)
class FormField:
    key: str
    label: str
    kind: FieldKind
    section: str
    placeholder: str = ""
    choices: tuple[str, ...] = ()
    secret: str = ""  # the keyring kind of a SECRET field
    file: bool = False  # a path a front end may offer to choose with a file dialog


SECTIONS = (
    "Connection",
    "Authentication",
    "TLS",
    "WebSocket and HTTP",
    "Proxy",
    "MQTT",
    "MQTT 5",
    "Will",
    "Payload codecs",
)

_TEXT, _NUM, _SECRET, _CHECK, _CHOICE, _LINES = (
    FieldKind.TEXT,
    FieldKind.NUMBER,
    FieldKind.SECRET,
    FieldKind.CHECK,
    FieldKind.CHOICE,
    FieldKind.LINES,
)
_VERSIONS = {"3.1.1": ProtocolVersion.V311, "5": ProtocolVersion.V5, "3.1": ProtocolVersion.V31}
_TRISTATE = ("", "yes", "no")

FIELDS: tuple[FormField, ...] = (
    FormField("name", "Name", _TEXT, "Connection", "letters, digits, . _ @ + -"),
    FormField("url", "Broker URL", _TEXT, "Connection", "wss://broker.example.com/mqtt"),
    FormField("mqtt_version", "MQTT version", _CHOICE, "Connection", choices=tuple(_VERSIONS)),
    FormField("client_id", "Client id", _TEXT, "Connection", "generated when empty"),
    FormField(
        "subscriptions",
        "Subscriptions (one per line: filter[:qos], e.g. sensors/#:1)",
        _LINES,
        "Connection",
        "# when empty",
    ),
    FormField("username", "User name", _TEXT, "Authentication"),
    FormField("password", "Password", _SECRET, "Authentication", secret="password"),
    FormField("ca_file", "CA file", _TEXT, "TLS", "PEM file of the CAs to trust", file=True),
    FormField("ca_dir", "CA directory", _TEXT, "TLS"),
    FormField("cert_file", "Client certificate", _TEXT, "TLS", "PEM file", file=True),
    FormField("key_file", "Client key", _TEXT, "TLS", "PEM file", file=True),
    FormField("key_password", "Key passphrase", _SECRET, "TLS", secret="key_password"),
    FormField("insecure", "Do not verify the server certificate (insecure)", _CHECK, "TLS"),
    FormField("server_name", "Server name (SNI)", _TEXT, "TLS", "the URL's host when empty"),
    FormField("alpn", "ALPN protocols", _TEXT, "TLS", "comma separated"),
    FormField("keylog_file", "TLS key log file", _TEXT, "TLS", "for Wireshark (NSS key log)", file=True),
    FormField(
        "subprotocols", "Subprotocols", _TEXT, "WebSocket and HTTP", "comma separated; empty offers none"
    ),
    FormField("strict_subprotocol", "Refuse a server that does not echo one", _CHECK, "WebSocket and HTTP"),
    FormField("headers", "Headers (Name: value, one per line)", _LINES, "WebSocket and HTTP"),
    FormField(
        "secret_headers",
        "Secret headers (Name: value; a name alone keeps the stored value)",
        _LINES,
        "WebSocket and HTTP",
    ),
    FormField("origin", "Origin", _TEXT, "WebSocket and HTTP"),
    FormField("http_username", "HTTP user", _TEXT, "WebSocket and HTTP"),
    FormField("http_password", "HTTP password", _SECRET, "WebSocket and HTTP", secret="http_password"),
    FormField("connect_timeout", "Connect timeout (s)", _NUM, "WebSocket and HTTP"),
    FormField("handshake_timeout", "Handshake timeout (s)", _NUM, "WebSocket and HTTP"),
    FormField("proxy", "HTTP proxy", _TEXT, "Proxy", "http://user@host:port"),
    FormField("proxy_password", "Proxy password", _SECRET, "Proxy", secret="proxy_password"),
    FormField("clean_start", "Clean start", _CHECK, "MQTT"),
    FormField("keep_alive", "Keep alive (s)", _NUM, "MQTT"),
    FormField("reconnect", "Reconnect when the connection drops", _CHECK, "MQTT"),
    FormField("reconnect_initial_delay", "First reconnect delay (s)", _NUM, "MQTT"),
    FormField("reconnect_max_delay", "Longest reconnect delay (s)", _NUM, "MQTT"),
    FormField("notes", "Notes", _TEXT, "MQTT"),
    FormField("session_expiry_interval", "Session expiry (s)", _NUM, "MQTT 5", "not sent when empty"),
    FormField("receive_maximum", "Receive maximum", _NUM, "MQTT 5", "not sent when empty"),
    FormField("maximum_packet_size", "Maximum packet size", _NUM, "MQTT 5", "not sent when empty"),
    FormField("topic_alias_maximum", "Topic alias maximum", _NUM, "MQTT 5", "not sent when empty"),
    FormField(
        "request_response_information", "Request response information", _CHOICE, "MQTT 5", choices=_TRISTATE
    ),
    FormField(
        "request_problem_information", "Request problem information", _CHOICE, "MQTT 5", choices=_TRISTATE
    ),
    FormField("user_properties", "User properties (key=value, one per line)", _LINES, "MQTT 5"),
    FormField("authentication_method", "Authentication method", _TEXT, "MQTT 5"),
    FormField("will_topic", "Will topic", _TEXT, "Will", "no will when empty"),
    FormField("will_message", "Will message", _TEXT, "Will", "text, or hex:0a0b…"),
    FormField("will_qos", "Will QoS", _CHOICE, "Will", choices=("0", "1", "2")),
    FormField("will_retain", "Retain the will", _CHECK, "Will"),
    FormField("will_delay", "Will delay (s, MQTT 5)", _NUM, "Will", "not sent when empty"),
    FormField(
        "codecs",
        "Codec rules (one per line: filter=codec[:message], e.g. acme/#=protobuf:acme.Telemetry)",
        _LINES,
        "Payload codecs",
        "detection when empty",
    ),
    FormField("proto_files", ".proto files for the Protobuf rules (one per line)", _LINES, "Payload codecs"),
)
FIELD_BY_KEY: dict[str, FormField] = {item.key: item for item in FIELDS}
SECRET_FIELDS: tuple[FormField, ...] = tuple(item for item in FIELDS if item.kind is FieldKind.SECRET)

Value = str | bool


class FormErrors(ExplorerError):
    """What is wrong with the form, one sentence per field key (shown at each field)."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        first_key, first = next(iter(self.errors.items()))
        label = FIELD_BY_KEY[first_key].label.split(" (")[0] if first_key in FIELD_BY_KEY else first_key
        more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        super().__init__(f"{label}: {first}{more}")


# -- subscriptions -----------------------------------------------------------------------

_SUB_WORDS = ("no-local", "retain-as-published")


def format_subscription(sub: Subscription) -> str:
    """``sensors/#:1 no-local``: the one line a subscription is in both editors."""
    text = f"{sub.topic_filter}:{sub.qos}" if sub.qos or sub.topic_filter[-2:-1] == ":" else sub.topic_filter
    if sub.no_local:
        text += " no-local"
    if sub.retain_as_published:
        text += " retain-as-published"
    if sub.retain_handling != RetainHandling.SEND_ON_SUBSCRIBE:
        text += f" retain-handling={int(sub.retain_handling)}"
    return text


def parse_subscription(line: str) -> Subscription:
    """One line of the subscriptions field (see :func:`format_subscription`).

    Raises:
        ExplorerError: an invalid topic filter, QoS or option, named.
    """
    text = line.strip()
    options: dict[str, Any] = {}
    while True:
        head, space, word = text.rpartition(" ")
        if not space:
            break
        if word == "no-local":
            options["no_local"] = True
        elif word == "retain-as-published":
            options["retain_as_published"] = True
        elif word.startswith("retain-handling="):
            value = word.partition("=")[2]
            if value not in ("0", "1", "2"):
                raise ExplorerError(f"{line.strip()!r}: retain-handling must be 0, 1 or 2")
            options["retain_handling"] = RetainHandling(int(value))
        else:
            break
        text = head.rstrip()
    topic_filter, colon, qos_text = text.rpartition(":")
    if colon and qos_text.isdigit():
        if qos_text not in ("0", "1", "2"):
            raise ExplorerError(f"{line.strip()!r}: QoS must be 0, 1 or 2")
        qos = int(qos_text)
    else:
        topic_filter, qos = text, 0
    try:
        validate_topic_filter(topic_filter)
    except ExplorerError as exc:
        raise ExplorerError(f"{topic_filter!r} is not a valid topic filter: {exc}") from None
    return Subscription(topic_filter, qos=qos, **options)


def parse_subscriptions(text: str) -> tuple[Subscription, ...]:
    """Every non-empty line of ``text`` as a subscription; the first invalid one raises."""
    return tuple(parse_subscription(line) for line in text.splitlines() if line.strip())


# -- small converters ----------------------------------------------------------------------


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _commas(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _int(low: int, high: int, *, optional: bool = False) -> Callable[[str], int | None]:
    def read(text: str) -> int | None:
        if not text.strip():
            if optional:
                return None
            raise ExplorerError("give a number")
        try:
            value = int(text.strip())
        except ValueError:
            raise ExplorerError(f"{text.strip()!r} is not a whole number") from None
        if not low <= value <= high:
            raise ExplorerError(f"must be from {low} to {high:,}")
        return value

    return read


def _seconds(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise ExplorerError(f"{text.strip()!r} is not a number of seconds") from None
    if not (math.isfinite(value) and value > 0):
        raise ExplorerError("must be a positive number of seconds")
    return value


def _header_line(line: str, *, value_needed: bool = True) -> tuple[str, str | None]:
    name, colon, value = line.partition(":")
    name = name.strip()
    if not HEADER_NAME_RE.match(name):
        raise ExplorerError(f"{name!r} is not a header name")
    if not colon:
        if value_needed:
            raise ExplorerError(f"{line!r}: write Name: value")
        return name, None
    value = value.strip()
    if has_control_character(value):
        raise ExplorerError(f"the value of {name} holds a line break or a control character")
    return name, value


def _tristate(value: bool | None) -> str:
    return "" if value is None else "yes" if value else "no"


@dataclass(slots=True)
class ProfileForm:
    """The values of the form (text, or bool for check boxes), and what the form was opened on.

    ``forget`` holds the secret kinds the user chose to delete from the keyring.
    ``original`` is the profile the form was opened on (None for a new one): saving under
    another name renames it, and what the form does not show is carried over from it.
    """

    values: dict[str, Value]
    original: Profile | None = None
    forget: set[str] = field(default_factory=set)

    # -- in -------------------------------------------------------------------------------

    @classmethod
    def new(cls) -> ProfileForm:
        return cls.from_profile(None)

    @classmethod
    def from_profile(cls, profile: Profile | None) -> ProfileForm:
        o = profile.options if profile is not None else ConnectionOptions(url="")
        tls = o.tls
        will = o.will
        will_text = ""
        if will is not None:
            try:
                will_text = will.payload.decode("utf-8")
                if will_text.startswith("hex:"):
                    will_text = "hex:" + will.payload.hex()
            except UnicodeDecodeError:
                will_text = "hex:" + will.payload.hex()
        secret_headers = profile.secret_header_names if profile is not None else ()
        values: dict[str, Value] = {
            "name": profile.name if profile is not None else "",
            "url": o.url,
            "mqtt_version": next(k for k, v in _VERSIONS.items() if v == o.mqtt_version),
            "client_id": o.client_id,
            "subscriptions": "\n".join(format_subscription(s) for s in profile.subscriptions)
            if profile is not None
            else "#",
            "username": o.username or "",
            "ca_file": tls.ca_file or "",
            "ca_dir": tls.ca_dir or "",
            "cert_file": tls.cert_file or "",
            "key_file": tls.key_file or "",
            "insecure": tls.insecure,
            "server_name": tls.server_name or "",
            "alpn": ", ".join(tls.alpn),
            "keylog_file": tls.keylog_file or "",
            "subprotocols": ", ".join(o.subprotocols),
            "strict_subprotocol": o.strict_subprotocol,
            "headers": "\n".join(f"{name}: {value}" for name, value in o.headers),
            "secret_headers": "\n".join(secret_headers),
            "origin": o.origin or "",
            "http_username": o.http_username or "",
            "connect_timeout": _number(o.connect_timeout),
            "handshake_timeout": _number(o.handshake_timeout),
            "proxy": strip_proxy_password(o.proxy)[0] if o.proxy else "",
            "clean_start": o.clean_start,
            "keep_alive": str(o.keep_alive),
            "reconnect": o.reconnect,
            "reconnect_initial_delay": _number(o.reconnect_initial_delay),
            "reconnect_max_delay": _number(o.reconnect_max_delay),
            "notes": profile.notes if profile is not None else "",
            "codecs": _codec_text(profile),
            "proto_files": _proto_text(profile),
            "session_expiry_interval": _number(o.session_expiry_interval),
            "receive_maximum": _number(o.receive_maximum),
            "maximum_packet_size": _number(o.maximum_packet_size),
            "topic_alias_maximum": _number(o.topic_alias_maximum),
            "request_response_information": _tristate(o.request_response_information),
            "request_problem_information": _tristate(o.request_problem_information),
            "user_properties": "\n".join(f"{key}={value}" for key, value in o.user_properties),
            "authentication_method": o.authentication_method or "",
            "will_topic": will.topic if will is not None else "",
            "will_message": will_text,
            "will_qos": str(will.qos) if will is not None else "0",
            "will_retain": will.retain if will is not None else False,
            "will_delay": _number(will.properties.will_delay_interval) if will is not None else "",
        }
        for item in SECRET_FIELDS:
            values[item.key] = ""
        return cls(values, original=profile)

    # -- state ----------------------------------------------------------------------------

    def get(self, key: str) -> Value:
        return self.values[key]

    def text(self, key: str) -> str:
        value = self.values.get(key, "")
        return value if isinstance(value, str) else ""

    def flag(self, key: str) -> bool:
        return self.values.get(key) is True

    def set(self, key: str, value: Value) -> None:
        if key not in FIELD_BY_KEY:
            raise KeyError(key)
        self.values[key] = value

    def stored(self, kind: str) -> bool:
        """A secret of this kind is in the keyring for the profile the form was opened on."""
        return self.original is not None and kind in self.original.secret_refs

    def secret_placeholder(self, item: FormField) -> str:
        if self.stored(item.secret):
            return "stored in the keyring (empty keeps it)"
        return "goes to the keyring"

    def typed_secrets(self) -> dict[str, str]:
        """The secret values typed in the form, by keyring kind."""
        typed = {item.secret: self.text(item.key) for item in SECRET_FIELDS if self.text(item.key)}
        for line in _lines(self.text("secret_headers")):
            try:
                name, value = _header_line(line, value_needed=False)
            except ExplorerError:
                continue
            if value is not None:
                typed[f"header/{name}"] = value
        return typed

    # -- out ------------------------------------------------------------------------------

    def to_profile(self, *, with_secrets: bool = True) -> Profile:
        """The profile the form describes (typed secrets in its options, ready for the store).

        ``with_secrets=False`` leaves the typed secrets out (they are used for one session
        only); the stored ones keep their references unless forgotten.

        Raises:
            FormErrors: every field in error, by key.
        """
        errors: dict[str, str] = {}
        read: dict[str, Any] = {}

        def take(key: str, convert: Callable[[str], object]) -> None:
            try:
                read[key] = convert(self.text(key))
            except ExplorerError as exc:
                errors[key] = str(exc)

        take("name", lambda t: check_name(t.strip()))
        take("url", _url)
        take("subscriptions", parse_subscriptions)
        take("codecs", self._codec_rules)
        take("alpn", _commas)
        take("subprotocols", _commas)
        take("headers", lambda t: tuple(_header_line(line) for line in _lines(t)))
        take("secret_headers", lambda t: tuple(_header_line(line, value_needed=False) for line in _lines(t)))
        take("proxy", _proxy)
        for key in ("connect_timeout", "handshake_timeout", "reconnect_initial_delay", "reconnect_max_delay"):
            take(key, _seconds)
        take("keep_alive", _int(0, 0xFFFF))
        take("session_expiry_interval", _int(0, 0xFFFFFFFF, optional=True))
        take("receive_maximum", _int(1, 0xFFFF, optional=True))
        take("maximum_packet_size", _int(1, 0xFFFFFFFF, optional=True))
        take("topic_alias_maximum", _int(0, 0xFFFF, optional=True))
        take("user_properties", _user_properties)
        take("will_topic", _will_topic)
        take("will_message", _will_payload)
        take("will_delay", _int(0, 0xFFFFFFFF, optional=True))
        for key in ("origin", "http_username", "username", "client_id", "server_name"):
            if has_control_character(self.text(key)):
                errors[key] = "holds a line break or a control character"
        secret_headers = read.get("secret_headers", ())
        original = self.original
        refs = dict(original.secret_refs) if original is not None else {}
        if isinstance(secret_headers, tuple):
            for name, value in secret_headers:
                if value is None and f"header/{name}" not in refs:
                    errors["secret_headers"] = f"give the value of {name} (Name: value): none is stored"
        if errors:
            raise FormErrors(errors)

        url, userinfo = split_userinfo(str(read["url"]))
        username = self.text("username").strip() or None
        typed = self.typed_secrets() if with_secrets else {}
        if userinfo is not None:
            username = username or userinfo.username
            if userinfo.password is not None and with_secrets and "password" not in typed:
                typed["password"] = userinfo.password
        will: Will | None = None
        if read["will_topic"]:
            delay = read["will_delay"]
            will = Will(
                topic=str(read["will_topic"]),
                payload=read["will_message"],
                qos=int(self.text("will_qos") or 0),
                retain=self.flag("will_retain"),
                properties=Properties(will_delay_interval=delay) if delay is not None else NO_PROPERTIES,
            )
        proxy = read["proxy"]
        if proxy is not None and "proxy_password" in typed:
            proxy = _with_proxy_password(str(proxy), typed["proxy_password"])
        tls = TlsOptions(
            ca_file=self.text("ca_file").strip() or None,
            ca_dir=self.text("ca_dir").strip() or None,
            cert_file=self.text("cert_file").strip() or None,
            key_file=self.text("key_file").strip() or None,
            key_password=typed.get("key_password"),
            insecure=self.flag("insecure"),
            server_name=self.text("server_name").strip() or None,
            alpn=read["alpn"],
            keylog_file=self.text("keylog_file").strip() or None,
        )
        base = original.options if original is not None else ConnectionOptions(url=url)
        options = replace(
            base,
            url=url,
            subprotocols=read["subprotocols"],
            strict_subprotocol=self.flag("strict_subprotocol"),
            headers=read["headers"],
            secret_headers=tuple(
                (name, typed[f"header/{name}"]) for name, _ in secret_headers if f"header/{name}" in typed
            ),
            origin=self.text("origin").strip() or None,
            http_username=self.text("http_username").strip() or None,
            http_password=typed.get("http_password"),
            tls=tls,
            proxy=proxy,
            connect_timeout=read["connect_timeout"],
            handshake_timeout=read["handshake_timeout"],
            mqtt_version=_VERSIONS.get(self.text("mqtt_version"), ProtocolVersion.V311),
            client_id=self.text("client_id").strip(),
            clean_start=self.flag("clean_start"),
            keep_alive=read["keep_alive"],
            session_expiry_interval=read["session_expiry_interval"],
            username=username,
            password=typed["password"].encode("utf-8") if "password" in typed else None,
            will=will,
            receive_maximum=read["receive_maximum"],
            maximum_packet_size=read["maximum_packet_size"],
            topic_alias_maximum=read["topic_alias_maximum"],
            request_response_information=_from_tristate(self.text("request_response_information")),
            request_problem_information=_from_tristate(self.text("request_problem_information")),
            user_properties=read["user_properties"],
            authentication_method=self.text("authentication_method").strip() or None,
            reconnect=self.flag("reconnect"),
            reconnect_initial_delay=read["reconnect_initial_delay"],
            reconnect_max_delay=read["reconnect_max_delay"],
        )
        # Secret references: kept unless forgotten or replaced by a typed value (the store
        # makes the new reference); a secret header no longer listed is dropped.
        listed = {f"header/{name}" for name, _ in secret_headers}
        for kind in list(refs):
            replaced = kind in self.forget or kind in typed
            unlisted = kind.startswith("header/") and kind not in listed
            if replaced or unlisted or (kind == "proxy_password" and proxy is None):
                del refs[kind]
        name = ProfileName(str(read["name"]))
        return Profile(
            name=name,
            options=options,
            subscriptions=read["subscriptions"],
            notes=self.text("notes").strip(),
            color=original.color if original is not None else None,
            tags=original.tags if original is not None else (),
            secret_refs=refs,
            codecs=read["codecs"],
        )

    def _codec_rules(self, text: str) -> tuple[CodecRule, ...]:
        """The codec rules typed; unchanged text keeps the profile's rules exactly as they were."""
        original = self.original
        if (
            original is not None
            and text == _codec_text(original)
            and self.text("proto_files") == _proto_text(original)
        ):
            return original.codecs
        protos = tuple(_lines(self.text("proto_files")))
        rules = []
        for line in _lines(text):
            rule = parse_codec_rule(line)
            rules.append(replace(rule, proto_files=protos) if rule.codec.endswith("protobuf") else rule)
        return tuple(rules)


def _codec_text(profile: Profile | None) -> str:
    return "\n".join(rule.to_text() for rule in profile.codecs) if profile is not None else ""


def _proto_text(profile: Profile | None) -> str:
    if profile is None:
        return ""
    files = dict.fromkeys(file for rule in profile.codecs for file in rule.proto_files)
    return "\n".join(files)


def _url(text: str) -> str:
    url = text.strip()
    if not url:
        raise ExplorerError("give the broker URL, e.g. ws://localhost:9001/mqtt")
    parse_url(split_userinfo(url)[0])
    return url


def _proxy(text: str) -> str | None:
    proxy = text.strip()
    if not proxy:
        return None
    if not proxy.startswith(("http://", "https://")):
        raise ExplorerError("write the proxy as http://[user@]host:port")
    stripped, password = strip_proxy_password(proxy)
    if password is not None:
        raise ExplorerError("put the proxy password in the Proxy password field, not in the URL")
    return stripped


def _with_proxy_password(proxy: str, password: str) -> str:
    from urllib.parse import quote, urlsplit, urlunsplit

    parts = urlsplit(proxy)
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{parts.username or ''}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _user_properties(text: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for line in _lines(text):
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ExplorerError(f"{line!r}: write key=value")
        pairs.append((key.strip(), value.strip()))
    return tuple(pairs)


def _will_topic(text: str) -> str:
    topic = text.strip()
    if topic:
        validate_topic_name(topic)
    return topic


def _will_payload(text: str) -> bytes:
    if text.startswith("hex:"):
        try:
            return bytes.fromhex(text[4:])
        except ValueError:
            raise ExplorerError("hex: is followed by hex digits only") from None
    return text.encode("utf-8")


def _from_tristate(text: str) -> bool | None:
    return None if not text else text == "yes"
