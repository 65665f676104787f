"""The TOML shape of one connection profile, both ways, with errors that name the line.

``profiles.toml`` (see :mod:`explorer.profiles.store`) holds one table per profile::

    version = 1

    [profiles.prod]
    url = "wss://broker.example.com/mqtt"
    subprotocols = ["mqtt"]
    headers = ["X-Client: explorer"]
    secret_headers = ["Authorization"]      # names only; the values are in the keyring
    username = "u"
    mqtt_version = "5"
    subscriptions = ["sensors/#", { topic = "alerts/+", qos = 1 }]
    codecs = [{ filter = "acme/#", codec = "protobuf", message = "acme.Telemetry", proto = ["~/acme.proto"] }]
    notes = "production cluster"
    color = "#d04040"

    [profiles.prod.tls]
    ca_file = "/etc/ssl/prod-ca.pem"

    [profiles.prod.will]
    topic = "clients/explorer/status"
    message = "gone"

    [profiles.prod.secrets]                  # keyring references, never values
    password = "profile/prod/password"
    "header/Authorization" = "profile/prod/header/Authorization"

This module defines :class:`Profile` and turns one into plain values to write;
:mod:`explorer.profiles.validate` reads a table back, validating every value. Neither
does file or keyring I/O: :mod:`explorer.profiles.store` does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NewType
from urllib.parse import unquote, urlsplit, urlunsplit

from explorer.client.options import ConnectionOptions
from explorer.codecs.rules import CodecRule
from explorer.errors import ProfileError
from explorer.mqtt.enums import ProtocolVersion, RetainHandling
from explorer.mqtt.packets import Subscription

__all__ = [
    "DEFAULT_VALUES",
    "HEADER_NAME_RE",
    "MQTT_VERSIONS",
    "PLAINTEXT_SECRET_KEYS",
    "SECRET_KINDS",
    "Profile",
    "ProfileName",
    "check_name",
    "has_control_character",
    "mqtt_version_from_text",
    "profile_values",
    "secret_label",
    "split_secrets",
    "strip_proxy_password",
]

ProfileName = NewType("ProfileName", str)

# Secret kinds a profile may refer to; secret headers add "header/<Name>".
SECRET_KINDS = ("password", "http_password", "proxy_password", "key_password")
PLAINTEXT_SECRET_KEYS = frozenset(
    {*SECRET_KINDS, "secret_values", "passphrase", "token", "mqtt_password", "proxy_pass"}
)

MQTT_VERSIONS: dict[str, ProtocolVersion] = {
    "3.1": ProtocolVersion.V31,
    "3.1.1": ProtocolVersion.V311,
    "5": ProtocolVersion.V5,
    "5.0": ProtocolVersion.V5,
}
_VERSION_TEXT = {ProtocolVersion.V31: "3.1", ProtocolVersion.V311: "3.1.1", ProtocolVersion.V5: "5"}

_NAME_RE = re.compile(r"^[\w][\w.@+-]{0,63}$")
HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 §5.6.2 token


def has_control_character(text: str) -> bool:
    """True when ``text`` holds a line break or another control character but tab (RFC 9110 §5.5).

    Such a header value would end the header line early and inject one of its own.
    """
    return any((ord(ch) < 0x20 and ch != "\t") or ord(ch) == 0x7F for ch in text)


def check_name(name: str) -> ProfileName:
    """Validate a profile name: letters, digits and ``._@+-``, at most 64 characters.

    Names become keyring references (``profile/<name>/password``) and command-line
    arguments, so slashes, spaces and control characters are refused up front.
    """
    if not _NAME_RE.match(name):
        raise ProfileError(
            f"{name!r} is not a valid profile name: use letters, digits and . _ @ + - "
            "(at most 64 characters, starting with a letter or digit)"
        )
    return ProfileName(name)


def secret_label(kind: str) -> str:
    """Words for a secret kind, for messages: ``header/Authorization`` -> ``Authorization header``."""
    if kind.startswith("header/"):
        return f"{kind[7:]} header value"
    return {
        "password": "MQTT password",
        "http_password": "HTTP basic-auth password",
        "proxy_password": "proxy password",
        "key_password": "TLS key passphrase",
    }.get(kind, kind)


def mqtt_version_from_text(text: str) -> ProtocolVersion:
    try:
        return MQTT_VERSIONS[text.strip()]
    except KeyError:
        raise ProfileError(f"unknown MQTT version {text!r}: use 3.1, 3.1.1 or 5") from None


def strip_proxy_password(proxy: str) -> tuple[str, str | None]:
    """Split ``http://user:pass@host:port`` into the URL without the password, and the password.

    The password comes back percent-decoded (``p%40ss`` is ``p@ss``): the keyring holds
    the password itself, and :func:`explorer.profiles.store.merge_secrets` encodes it again.
    """
    parts = urlsplit(proxy)
    if parts.password is None:
        return proxy, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), unquote(
        parts.password
    )


@dataclass(frozen=True, slots=True)
class Profile:
    """A named set of connection options plus what the front ends remember about it.

    ``options`` carries secret values only while a profile is being saved (the store
    moves them to the keyring); a loaded profile has every secret field empty and lists
    what it refers to in ``secret_refs`` (secret kind -> keyring reference, in file
    order, e.g. ``{"password": "profile/prod/password"}``).
    """

    name: ProfileName
    options: ConnectionOptions
    subscriptions: tuple[Subscription, ...] = ()
    notes: str = ""
    color: str | None = None
    tags: tuple[str, ...] = ()
    secret_refs: Mapping[str, str] = field(default_factory=dict)
    codecs: tuple[CodecRule, ...] = ()  # payload codec rules, first match wins

    @property
    def secret_header_names(self) -> tuple[str, ...]:
        return tuple(kind[7:] for kind in self.secret_refs if kind.startswith("header/"))


def split_secrets(options: ConnectionOptions) -> tuple[ConnectionOptions, dict[str, str]]:
    """Options without secret values, and the secret values by kind.

    The MQTT password is bytes on the wire but the keyring stores text, so a password
    that is not UTF-8 is refused rather than mangled.
    """
    secrets: dict[str, str] = {}
    if options.password is not None:
        try:
            secrets["password"] = options.password.decode("utf-8")
        except UnicodeDecodeError:
            raise ProfileError(
                "the MQTT password is not UTF-8 text, so it cannot be kept in the keyring; "
                "give it per use with --password-stdin"
            ) from None
    if options.http_password is not None:
        secrets["http_password"] = options.http_password
    if options.tls.key_password is not None:
        secrets["key_password"] = options.tls.key_password
    proxy = options.proxy
    if proxy is not None:
        proxy, proxy_password = strip_proxy_password(proxy)
        if proxy_password is not None:
            secrets["proxy_password"] = proxy_password
    for name, value in options.secret_headers:
        kind = f"header/{name}"
        if kind in secrets:
            raise ProfileError(f"secret header {name!r} is given twice; give it once")
        secrets[kind] = value
    stripped = options.with_changes(
        password=None,
        http_password=None,
        tls=replace(options.tls, key_password=None),
        proxy=proxy,
        secret_headers=(),
        authentication_data=None,
    )
    return stripped, secrets


def _version_text(version: ProtocolVersion) -> str:
    return _VERSION_TEXT[version]


def _subscription_value(sub: Subscription) -> str | dict[str, Any]:
    plain = Subscription(sub.topic_filter)
    if sub == plain:
        return sub.topic_filter
    value: dict[str, Any] = {"topic": sub.topic_filter, "qos": sub.qos}
    if sub.no_local:
        value["no_local"] = True
    if sub.retain_as_published:
        value["retain_as_published"] = True
    if sub.retain_handling != RetainHandling.SEND_ON_SUBSCRIBE:
        value["retain_handling"] = int(sub.retain_handling)
    return value


def _codec_rule_value(rule: CodecRule) -> dict[str, Any]:
    value: dict[str, Any] = {"filter": rule.topic_filter, "codec": rule.codec}
    if rule.message:
        value["message"] = rule.message
    if rule.proto_files:
        value["proto"] = list(rule.proto_files)
    return value


def profile_values(profile: Profile) -> dict[str, Any]:
    """Every key of a profile's table as plain TOML values; ``None`` means "leave out".

    Secret values are never included: ``secrets`` holds references only.
    """
    o = profile.options
    values: dict[str, Any] = {
        "url": o.url,
        "subprotocols": list(o.subprotocols),
        "strict_subprotocol": o.strict_subprotocol,
        "headers": [f"{name}: {value}" for name, value in o.headers],
        "secret_headers": list(profile.secret_header_names),
        "origin": o.origin,
        "http_username": o.http_username,
        "proxy": None if o.proxy is None else strip_proxy_password(o.proxy)[0],
        "connect_timeout": o.connect_timeout,
        "handshake_timeout": o.handshake_timeout,
        "mqtt_version": _version_text(o.mqtt_version),
        "client_id": o.client_id,
        "clean_start": o.clean_start,
        "keep_alive": o.keep_alive,
        "session_expiry_interval": o.session_expiry_interval,
        "username": o.username,
        "receive_maximum": o.receive_maximum,
        "maximum_packet_size": o.maximum_packet_size,
        "topic_alias_maximum": o.topic_alias_maximum,
        "request_response_information": o.request_response_information,
        "request_problem_information": o.request_problem_information,
        "user_properties": [[key, value] for key, value in o.user_properties],
        "authentication_method": o.authentication_method,
        "reconnect": o.reconnect,
        "reconnect_initial_delay": o.reconnect_initial_delay,
        "reconnect_max_delay": o.reconnect_max_delay,
        "subscriptions": [_subscription_value(sub) for sub in profile.subscriptions],
        "codecs": [_codec_rule_value(rule) for rule in profile.codecs],
        "notes": profile.notes or None,
        "color": profile.color,
        "tags": list(profile.tags),
    }
    tls = o.tls
    values["tls"] = {
        "ca_file": tls.ca_file,
        "ca_dir": tls.ca_dir,
        "cert_file": tls.cert_file,
        "key_file": tls.key_file,
        "insecure": tls.insecure,
        "server_name": tls.server_name,
        "alpn": list(tls.alpn),
        "keylog_file": tls.keylog_file,
    }
    if o.will is None:
        values["will"] = None
    else:
        will = o.will
        try:
            message: str | None = will.payload.decode("utf-8")
        except UnicodeDecodeError:
            message = None
        values["will"] = {
            "topic": will.topic,
            "message": message,
            "message_hex": None if message is not None else will.payload.hex(),
            "qos": will.qos,
            "retain": will.retain,
            "delay": will.properties.will_delay_interval,
        }
    values["secrets"] = dict(profile.secret_refs) or None
    return values


DEFAULT_VALUES = profile_values(Profile(ProfileName("default"), ConnectionOptions(url="ws://localhost/")))
