"""Validation of a ``[profiles.NAME]`` table, with errors that name the line and key.

tomlkit gives line and column for syntax errors only, so :class:`LineFinder` locates a
key below its table header for messages about bad values. Unknown keys are collected
as warnings (the store keeps them in the file); secrets written in plain text are
refused with a way out. The TOML shape itself is described in
:mod:`explorer.profiles.format`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any
from urllib.parse import urlsplit

from explorer.client.options import ConnectionOptions, TlsOptions, parse_url, split_userinfo
from explorer.codecs.rules import CodecRule
from explorer.errors import ExplorerError, ProfileError
from explorer.mqtt.enums import ProtocolVersion, RetainHandling
from explorer.mqtt.packets import NO_PROPERTIES, Properties, Subscription, Will
from explorer.mqtt.topics import validate_topic_filter
from explorer.profiles.format import (
    HEADER_NAME_RE,
    PLAINTEXT_SECRET_KEYS,
    SECRET_KINDS,
    Profile,
    ProfileName,
    check_name,
    has_control_character,
    mqtt_version_from_text,
)

__all__ = ["LineFinder", "profile_from_table"]


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
        return f"line {number}" if number is not None else f"in table [{_dotted(path)}]"


def _dotted(path: tuple[str, ...]) -> str:
    """A table name as TOML writes it: bare keys as they are, others quoted with escapes."""
    return ".".join(part if _BARE_KEY.match(part) else json.dumps(part) for part in path)


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


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
    if not sep or not HEADER_NAME_RE.match(name):
        raise _BadValue(f"has {text!r}, which is not a header: write 'Name: value'")
    if has_control_character(value):
        raise _BadValue(f"has header {name!r} with a line break or control character in its value")
    return name, value.strip()


def _headers(value: Any) -> tuple[tuple[str, str], ...]:
    return tuple(_header(item) for item in _str_list(value))


def _header_names(value: Any) -> tuple[str, ...]:
    names = _str_list(value)
    for name in names:
        if not HEADER_NAME_RE.match(name):
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
    text = _str(value)
    _, info = split_userinfo(text)
    if info is not None and info.password is not None:
        raise _BadValue(
            "holds a password in plain text in the URL, which profiles.toml never does: edit the "
            "file to remove 'user:password@' from the URL (put the user in 'username'), then store "
            "the password in the keyring with `mqttws-explorer profiles edit NAME --password-stdin`"
        )
    parse_url(text)
    return text


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


def _codecs(value: Any) -> tuple[CodecRule, ...]:
    if not isinstance(value, list):
        raise _BadValue('must be a list of { filter = "...", codec = "..." } tables')
    rules = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("filter"), str):
            raise _BadValue(f"has {item!r}, which is not a {{ filter = ..., codec = ... }} table")
        extra = set(item) - {"filter", "codec", "message", "proto"}
        if extra:
            raise _BadValue(f"has unknown codec rule keys {sorted(extra)}")
        validate_topic_filter(item["filter"])
        message = item.get("message")
        rules.append(
            CodecRule(
                item["filter"],
                _str(item.get("codec", "auto")).lower(),
                None if message is None else _str(message),
                _str_list(item.get("proto", [])),
            )
        )
    return tuple(rules)


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
    "codecs": _codecs,
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
    "keylog_file": _str,
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
    base = ("profiles", name)
    try:
        check_name(name)
    except ProfileError as exc:
        raise ProfileError(f"{source} {finder.where(base)}: {exc}") from None
    reader = _Reader(name, finder, source, warnings)
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

    profile_only = {"subscriptions", "notes", "color", "tags", "codecs"}
    option_values = {key: value for key, value in values.items() if key not in profile_only}
    assert set(option_values) <= _OPTION_NAMES, set(option_values) - _OPTION_NAMES
    try:
        options = ConnectionOptions(tls=tls, will=will, **option_values)
    except ExplorerError as exc:  # e.g. a user in the URL and a different 'username'
        raise reader.fail(base, "url", f"is invalid: {exc}") from None
    profile = Profile(
        name=ProfileName(name),
        options=options,
        subscriptions=values.get("subscriptions", ()),
        notes=values.get("notes", ""),
        color=values.get("color"),
        tags=values.get("tags", ()),
        secret_refs=secret_refs,
        codecs=values.get("codecs", ()),
    )
    return profile, extras
