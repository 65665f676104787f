"""The TOML shape of one connection profile, both ways, with errors that name the line.

``profiles.toml`` (see :mod:`explorer.profiles`) holds one table per profile::

    version = 1

    [profiles.prod]
    url = "wss://broker.example.com/mqtt"
    subprotocols = ["mqtt"]
    headers = ["X-Client: explorer"]
    secret_headers = ["Authorization"]      # names only; the values are in the keyring
    username = "u"
    mqtt_version = "5"
    subscriptions = ["sensors/#", { topic = "alerts/+", qos = 1 }]
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

This module turns such a table into a :class:`Profile` (validating every value and
reporting unknown keys) and a :class:`Profile` into plain values to write. It does no
file or keyring I/O: :mod:`explorer.profiles` does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, NewType
from urllib.parse import urlsplit, urlunsplit

from explorer.errors import ExplorerError, ProfileError
from explorer.mqtt.enums import ProtocolVersion, RetainHandling
from explorer.mqtt.packets import NO_PROPERTIES, Properties, Subscription, Will
from explorer.options import ConnectionOptions, TlsOptions, parse_url

__all__ = [
    "DEFAULT_VALUES",
    "MQTT_VERSIONS",
    "PLAINTEXT_SECRET_KEYS",
    "SECRET_KINDS",
    "LineFinder",
    "Profile",
    "ProfileName",
    "check_name",
    "mqtt_version_from_text",
    "profile_from_table",
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
_HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 §5.6.2 token


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
    """Split ``http://user:pass@host:port`` into the URL without the password, and the password."""
    parts = urlsplit(proxy)
    if parts.password is None:
        return proxy, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), parts.password


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


# --------------------------------------------------------------------------- reading


class LineFinder:
    """Finds the line of a key in TOML text, for error messages.

    tomlkit reports line and column for syntax errors but keeps no positions for
    values, so a bad value is located by looking for ``key =`` below the table's
    ``[header]``. Best effort: returns None when the key is written in a form it does
    not recognise (dotted keys, inline tables).
    """

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def header_line(self, path: tuple[str, ...]) -> int | None:
        want = ".".join(path)
        for number, line in enumerate(self.lines, 1):
            stripped = line.strip()
            if stripped.startswith("[") and not stripped.startswith("[["):
                inner = stripped[1:].split("]", 1)[0]
                if re.sub(r"[\s\"']", "", inner) == want:
                    return number
        return None

    def key_line(self, path: tuple[str, ...], key: str) -> int | None:
        start = self.header_line(path) if path else 0
        if start is None:
            return None
        pattern = re.compile(rf"""^\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*=""")
        for number in range(start + 1, len(self.lines) + 1):
            line = self.lines[number - 1]
            if line.strip().startswith("[") and number > start:
                if path:
                    break
                continue
            if pattern.match(line):
                return number
        return None

    def where(self, path: tuple[str, ...], key: str | None = None) -> str:
        number = self.key_line(path, key) if key is not None else self.header_line(path)
        if number is None and key is not None:
            number = self.header_line(path)
        return f"line {number}" if number is not None else "in table [" + ".".join(path) + "]"


class _Reader:
    """Validates one profile table, collecting warnings for unknown keys."""

    def __init__(self, name: str, finder: LineFinder, source: str, warnings: list[str]) -> None:
        self.name = name
        self.finder = finder
        self.source = source
        self.warnings = warnings

    def fail(self, path: tuple[str, ...], key: str, problem: str) -> ProfileError:
        where = self.finder.where(path, key)
        return ProfileError(f"{self.source} {where}: key {key!r} of profile {self.name!r} {problem}")

    def take(
        self,
        table: Mapping[str, Any],
        path: tuple[str, ...],
        known: Mapping[str, Callable[[Any], Any]],
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, raw in table.items():
            value = _plain(raw)
            if key in known:
                try:
                    out[key] = known[key](value)
                except _BadValue as exc:
                    raise self.fail(path, key, str(exc)) from None
                except ExplorerError as exc:
                    raise self.fail(path, key, f"is invalid: {exc}") from None
            elif key in PLAINTEXT_SECRET_KEYS:
                raise self.fail(
                    path,
                    key,
                    "holds a secret in plain text, which profiles.toml never does: remove the line and "
                    f"store the secret in the keyring with `mqttws-explorer profiles edit {self.name} "
                    "--password-stdin` (or the matching --...-stdin option)",
                )
            else:
                where = self.finder.where(path, key)
                self.warnings.append(
                    f"{self.source} {where}: unknown key {key!r} in profile {self.name!r} (kept, not used)"
                )
        return out


class _BadValue(Exception):
    pass


def _plain(value: Any) -> Any:
    unwrap = getattr(value, "unwrap", None)
    return unwrap() if callable(unwrap) else value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise _BadValue(f"must be a string, not {type(value).__name__}")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _BadValue(f"must be true or false, not {value!r}")
    return value


def _int(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _BadValue(f"must be a whole number, not {value!r}")
        if not low <= value <= high:
            raise _BadValue(f"must be between {low} and {high}, not {value}")
        return value

    return check


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise _BadValue(f"must be a positive number of seconds, not {value!r}")
    return float(value)


def _str_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _BadValue("must be a list of strings")
    return tuple(value)


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    name = name.strip()
    if not sep or not _HEADER_NAME_RE.match(name):
        raise _BadValue(f"has {text!r}, which is not a header: write 'Name: value'")
    return name, value.strip()


def _headers(value: Any) -> tuple[tuple[str, str], ...]:
    return tuple(_header(item) for item in _str_list(value))


def _header_names(value: Any) -> tuple[str, ...]:
    names = _str_list(value)
    for name in names:
        if not _HEADER_NAME_RE.match(name):
            raise _BadValue(f"has {name!r}, which is not a header name")
    return names


def _pairs(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list) or not all(
        isinstance(item, list) and len(item) == 2 and all(isinstance(part, str) for part in item)
        for item in value
    ):
        raise _BadValue('must be a list of ["key", "value"] pairs')
    return tuple((item[0], item[1]) for item in value)


def _url(value: Any) -> str:
    parse_url(_str(value))
    return str(value)


def _proxy(value: Any) -> str:
    text = _str(value)
    if urlsplit(text).password is not None:
        raise _BadValue(
            "holds a proxy password in plain text: remove it from the URL; "
            "the proxy password belongs in the keyring"
        )
    return text


def _version(value: Any) -> ProtocolVersion:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    try:
        return mqtt_version_from_text(_str(value))
    except ProfileError as exc:
        raise _BadValue(str(exc)) from None


def _subscriptions(value: Any) -> tuple[Subscription, ...]:
    if not isinstance(value, list):
        raise _BadValue('must be a list of topic filters or { topic = "...", qos = 1 } tables')
    subs = []
    for item in value:
        if isinstance(item, str):
            subs.append(Subscription(item))
        elif isinstance(item, dict) and isinstance(item.get("topic"), str):
            extra = set(item) - {"topic", "qos", "no_local", "retain_as_published", "retain_handling"}
            if extra:
                raise _BadValue(f"has unknown subscription keys {sorted(extra)}")
            subs.append(
                Subscription(
                    item["topic"],
                    qos=_int(0, 2)(item.get("qos", 0)),
                    no_local=_bool(item.get("no_local", False)),
                    retain_as_published=_bool(item.get("retain_as_published", False)),
                    retain_handling=RetainHandling(_int(0, 2)(item.get("retain_handling", 0))),
                )
            )
        else:
            raise _BadValue(f"has {item!r}, which is neither a topic filter nor a {{ topic = ... }} table")
    return tuple(subs)


def _table(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _BadValue("must be a table")
    return value


_U16 = _int(0, 0xFFFF)
_U32 = _int(0, 0xFFFFFFFF)

_PROFILE_KEYS: dict[str, Callable[[Any], Any]] = {
    "url": _url,
    "subprotocols": _str_list,
    "strict_subprotocol": _bool,
    "headers": _headers,
    "secret_headers": _header_names,
    "origin": _str,
    "http_username": _str,
    "proxy": _proxy,
    "connect_timeout": _seconds,
    "handshake_timeout": _seconds,
    "mqtt_version": _version,
    "client_id": _str,
    "clean_start": _bool,
    "keep_alive": _U16,
    "session_expiry_interval": _U32,
    "username": _str,
    "receive_maximum": _int(1, 0xFFFF),
    "maximum_packet_size": _int(1, 0xFFFFFFFF),
    "topic_alias_maximum": _U16,
    "request_response_information": _bool,
    "request_problem_information": _bool,
    "user_properties": _pairs,
    "authentication_method": _str,
    "reconnect": _bool,
    "reconnect_initial_delay": _seconds,
    "reconnect_max_delay": _seconds,
    "subscriptions": _subscriptions,
    "notes": _str,
    "color": _str,
    "tags": _str_list,
    "tls": _table,
    "will": _table,
    "secrets": _table,
}
_TLS_KEYS: dict[str, Callable[[Any], Any]] = {
    "ca_file": _str,
    "ca_dir": _str,
    "cert_file": _str,
    "key_file": _str,
    "insecure": _bool,
    "server_name": _str,
    "alpn": _str_list,
}
_WILL_KEYS: dict[str, Callable[[Any], Any]] = {
    "topic": _str,
    "message": _str,
    "message_hex": _str,
    "qos": _int(0, 2),
    "retain": _bool,
    "delay": _U32,
}
_OPTION_NAMES = {f.name for f in fields(ConnectionOptions)}


def profile_from_table(
    name: str,
    table: Mapping[str, Any],
    *,
    finder: LineFinder,
    source: str,
    warnings: list[str],
    extra_keys: Mapping[str, Callable[[Any], Any]] | None = None,
) -> tuple[Profile, dict[str, Any]]:
    """Validate one ``[profiles.NAME]`` table.

    Returns the profile and the values of ``extra_keys`` (used by the export format for
    keys that only it allows). Unknown keys are appended to ``warnings``.

    Raises:
        ProfileError: naming the file, line, key and what is wrong.
    """
    check_name(name)
    reader = _Reader(name, finder, source, warnings)
    base = ("profiles", name)
    if not isinstance(_plain(table), dict):
        raise ProfileError(f"{source} {finder.where(base)}: profile {name!r} must be a table")
    known = dict(_PROFILE_KEYS)
    if extra_keys:
        known.update(extra_keys)
    values = reader.take(table, base, known)
    extras = {key: values.pop(key) for key in list(values) if extra_keys and key in extra_keys}
    if "url" not in values:
        raise ProfileError(f"{source} {finder.where(base)}: profile {name!r} has no 'url' key")

    tls_values = reader.take(values.pop("tls", {}), (*base, "tls"), _TLS_KEYS)
    will_values = (
        reader.take(values.pop("will", {}), (*base, "will"), _WILL_KEYS) if "will" in values else None
    )
    secret_table = values.pop("secrets", {})
    secret_refs: dict[str, str] = {}
    for kind, ref in secret_table.items():
        if not isinstance(ref, str):
            raise reader.fail((*base, "secrets"), kind, "must be a keyring reference (a string)")
        if kind not in SECRET_KINDS and not kind.startswith("header/"):
            warnings.append(
                f"{source} {finder.where((*base, 'secrets'), kind)}: unknown secret {kind!r} "
                f"in profile {name!r} (kept, not used)"
            )
            continue
        secret_refs[kind] = ref
    header_names = values.pop("secret_headers", ())
    for header in header_names:
        if f"header/{header}" not in secret_refs:
            raise reader.fail(
                base,
                "secret_headers",
                f"names {header!r}, whose value is not in the keyring: set it with "
                f"`mqttws-explorer profiles edit {name} --secret-header '{header}: VALUE'`",
            )
    listed = set(header_names)
    for kind in list(secret_refs):
        if kind.startswith("header/") and kind[7:] not in listed:
            warnings.append(
                f"{source} {finder.where((*base, 'secrets'), kind)}: secret {kind!r} of profile {name!r} "
                "is not listed in secret_headers, so it is not sent"
            )
            del secret_refs[kind]

    tls = TlsOptions(**tls_values)
    will = None
    if will_values is not None:
        if "topic" not in will_values:
            raise ProfileError(f"{source} {finder.where((*base, 'will'))}: the will of {name!r} has no topic")
        if "message_hex" in will_values:
            try:
                payload = bytes.fromhex(will_values["message_hex"])
            except ValueError:
                raise reader.fail((*base, "will"), "message_hex", "is not hexadecimal") from None
        else:
            payload = will_values.get("message", "").encode("utf-8")
        delay = will_values.get("delay")
        will = Will(
            topic=will_values["topic"],
            payload=payload,
            qos=will_values.get("qos", 0),
            retain=will_values.get("retain", False),
            properties=NO_PROPERTIES if delay is None else Properties(will_delay_interval=delay),
        )

    profile_only = {"subscriptions", "notes", "color", "tags"}
    option_values = {key: value for key, value in values.items() if key not in profile_only}
    assert set(option_values) <= _OPTION_NAMES, set(option_values) - _OPTION_NAMES
    options = ConnectionOptions(tls=tls, will=will, **option_values)
    profile = Profile(
        name=ProfileName(name),
        options=options,
        subscriptions=values.get("subscriptions", ()),
        notes=values.get("notes", ""),
        color=values.get("color"),
        tags=values.get("tags", ()),
        secret_refs=secret_refs,
    )
    return profile, extras
