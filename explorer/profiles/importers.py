"""Import connections from our own export, from MQTTX and from MQTT Explorer.

Formats read (the samples in ``tests/fixtures/`` follow each tool's data model):

* **mqttws-explorer export** (TOML, from ``profiles export``): profiles as in
  ``profiles.toml``; ``secret_values`` when exported with secrets.
* **MQTTX** JSON export ("Export data" -> JSON): one connection object or a list of
  them (``ConnectionModel``: ``name``, ``protocol``, ``host``, ``port``, ``path``,
  ``ssl``, ``rejectUnauthorized``, ``ca``/``cert``/``key`` file paths, ``ALPNProtocols``,
  ``clientId``, ``clean``, ``keepalive``, ``connectTimeout`` (s), ``reconnect``,
  ``reconnectPeriod`` (ms), ``username``, ``password``, ``mqttVersion``,
  ``subscriptions``, ``will`` and MQTT 5 ``properties``); collections nest
  connections under ``children``.
* **MQTT Explorer** ``settings.json`` (key ``ConnectionManager_connections``) or its
  "export connections" file: a dict of ``ConnectionOptions`` (``configVersion`` 1:
  ``name``, ``protocol`` mqtt|ws, ``host``, ``port``, ``basePath``, ``encryption``,
  ``certValidation``, ``username``, ``password``, ``clientId``, ``subscriptions``,
  base64 ``selfSignedCertificate``/``clientCertificate``/``clientKey``).

Every importer returns what it mapped and what it skipped for each connection, so the
user is told, not surprised. Passwords found in these files become secret values on the
imported profile; :class:`~explorer.profiles.store.ProfileStore` moves them to the keyring.
Embedded certificates (MQTT Explorer) are written as 0600 files next to the profiles,
because TLS options name files.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from explorer.client.options import ConnectionOptions, TlsOptions, UrlUserInfo, parse_url, split_userinfo
from explorer.errors import ExplorerError, ProfileError
from explorer.mqtt.enums import RetainHandling
from explorer.mqtt.packets import NO_PROPERTIES, Properties, Subscription, Will
from explorer.profiles.files import read_text_file
from explorer.profiles.format import (
    Profile,
    ProfileName,
    check_name,
    mqtt_version_from_text,
    secret_label,
)
from explorer.profiles.store import ProfileStore, merge_secrets, parse_profiles_with_extras

__all__ = [
    "ImportFormat",
    "ImportReport",
    "ImportResult",
    "ImportedProfile",
    "apply_import",
    "from_export",
    "from_mqtt_explorer",
    "from_mqttx",
    "parse_import",
    "read_import_file",
    "safe_profile_name",
]

ImportFormat = Literal["mqttws-explorer", "MQTTX", "MQTT Explorer"]


@dataclass(frozen=True, slots=True)
class ImportedProfile:
    """One connection turned into a profile (secret values still in ``profile.options``)."""

    profile: Profile
    source_name: str
    mapped: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    files: tuple[tuple[Path, bytes], ...] = ()  # embedded certificates, written on import


@dataclass(slots=True)
class ImportResult:
    format: ImportFormat
    profiles: list[ImportedProfile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ImportReport:
    """What :func:`apply_import` did."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    not_imported: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)


_UNSAFE = re.compile(r"[^\w.@+-]+")


def safe_profile_name(name: str, fallback: str = "imported") -> ProfileName:
    """A valid profile name made from a display name (``"My broker #2"`` -> ``"My-broker-2"``)."""
    cleaned = _UNSAFE.sub("-", name.strip()).strip("-._@+")[:64]
    if not cleaned:
        cleaned = fallback
    return check_name(cleaned)


def _unique(name: ProfileName, taken: set[str]) -> ProfileName:
    candidate, number = name, 2
    while candidate in taken:
        suffix = f"-{number}"
        candidate = ProfileName(name[: 64 - len(suffix)] + suffix)
        number += 1
    taken.add(candidate)
    return candidate


# --------------------------------------------------------------------------- detection


def read_import_file(path: Path | str, *, cert_dir: Path) -> ImportResult:
    """Read ``path`` and import it in whichever supported format it is.

    Args:
        path: the file to import.
        cert_dir: where embedded certificates are written (MQTT Explorer).

    Raises:
        ProfileError: unreadable file or unrecognised format, with a sentence.
    """
    path = Path(path)
    try:
        text = read_text_file(path, encoding="utf-8-sig")
    except FileNotFoundError:
        raise ProfileError(f"cannot read {path}: no such file") from None
    return parse_import(text, source=str(path), cert_dir=cert_dir)


def parse_import(text: str, *, source: str, cert_dir: Path) -> ImportResult:
    """Import ``text`` (JSON from MQTTX / MQTT Explorer, or our TOML export)."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProfileError(
                f"{source} line {exc.lineno} column {exc.colno}: not valid JSON: {exc.msg}"
            ) from None
        if isinstance(data, dict) and isinstance(data.get("ConnectionManager_connections"), dict):
            return from_mqtt_explorer(data["ConnectionManager_connections"], cert_dir=cert_dir)
        if (
            isinstance(data, dict)
            and data
            and all(
                isinstance(entry, dict) and entry.get("configVersion") is not None for entry in data.values()
            )
        ):
            return from_mqtt_explorer(data, cert_dir=cert_dir)
        if isinstance(data, list) or (isinstance(data, dict) and ("host" in data or "children" in data)):
            return from_mqttx(data)
        raise ProfileError(
            f"{source}: JSON, but neither an MQTTX connection export nor MQTT Explorer settings "
            "(expected a list of MQTTX connections or a 'ConnectionManager_connections' object)"
        )
    return from_export(text, source=source)


# --------------------------------------------------------------------------- our export


def from_export(text: str, *, source: str) -> ImportResult:
    """Profiles from a ``profiles export`` file."""

    def secret_table(value: Any) -> dict[str, str]:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise ProfileError("must be a table of strings")
        return dict(value)

    def kinds(value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ProfileError("must be a list of strings")
        return list(value)

    warnings: list[str] = []
    _, profiles, extras = parse_profiles_with_extras(
        text,
        source,
        warnings,
        extra_keys={"secret_values": secret_table, "secrets_not_exported": kinds},
        prepare=_placeholder_header_refs,
    )
    result = ImportResult("mqttws-explorer", warnings=warnings)
    for name, profile in profiles.items():
        extra = extras.get(name, {})
        values: dict[str, str] = extra.get("secret_values", {})
        missing = [kind for kind in extra.get("secrets_not_exported", []) if kind not in values]
        headers_without_value = [
            header for header in profile.secret_header_names if f"header/{header}" not in values
        ]
        options = merge_secrets(profile.options, values)
        mapped = ["all profile settings"] + [f"{secret_label(kind)} (to the keyring)" for kind in values]
        skipped = [f"{secret_label(kind)} (not in the export: set it again)" for kind in missing]
        skipped += [
            f"{header} header (no value in the export: set it again)"
            for header in headers_without_value
            if f"header/{header}" not in missing
        ]
        result.profiles.append(
            ImportedProfile(
                profile=Profile(
                    name=profile.name,
                    options=options,
                    subscriptions=profile.subscriptions,
                    notes=profile.notes,
                    color=profile.color,
                    tags=profile.tags,
                ),
                source_name=name,
                mapped=tuple(mapped),
                skipped=tuple(skipped),
            )
        )
    return result


def _placeholder_header_refs(doc: Any) -> None:
    """An export has no keyring references; give secret headers one so validation holds."""
    for entry in dict(doc.get("profiles", {})).values():
        if isinstance(entry, dict) and isinstance(entry.get("secret_headers"), list):
            refs = entry.setdefault("secrets", {})
            for header in entry["secret_headers"]:
                if isinstance(header, str):
                    refs[f"header/{header}"] = "export"


# --------------------------------------------------------------------------- MQTTX


def _mqttx_connections(
    data: Any, collection: str | None = None
) -> Iterator[tuple[dict[str, Any], str | None]]:
    items = data if isinstance(data, list) else [data]
    for item in items:
        if not isinstance(item, dict):
            continue
        if item.get("isCollection") or ("children" in item and "host" not in item):
            yield from _mqttx_connections(
                item.get("children") or [], str(item.get("name") or collection or "")
            )
        else:
            yield item, collection


_MQTTX_IGNORED = {
    "id", "createAt", "updateAt", "unreadMessageCount", "client", "orderId", "parentId",
    "isCollection", "collectionId", "clientuuid", "brokeruuid", "pushProps", "certType",
}  # fmt: skip


# A field of an unexpected JSON type (a number where a list belongs...) in a file written
# by another program: that connection is reported and skipped, the others are imported.
_MALFORMED = (TypeError, ValueError, AttributeError, OverflowError)


def _malformed(exc: Exception) -> str:
    return f"a field holds a value of the wrong kind ({type(exc).__name__}: {exc})"


def _items(value: Any) -> list[Any]:
    """A JSON list field, or nothing when the file holds something else there."""
    return value if isinstance(value, list) else []


def from_mqttx(data: Any) -> ImportResult:
    """Profiles from an MQTTX JSON export (one connection, a list, or collections)."""
    result = ImportResult("MQTTX")
    taken: set[str] = set()
    for index, (conn, collection) in enumerate(_mqttx_connections(data), 1):
        display = str(conn.get("name") or f"mqttx-{index}")
        try:
            imported = _one_mqttx(conn, display, collection, taken)
        except ExplorerError as exc:
            result.warnings.append(f"MQTTX connection {display!r} not imported: {exc}")
            continue
        except _MALFORMED as exc:
            result.warnings.append(f"MQTTX connection {display!r} not imported: {_malformed(exc)}")
            continue
        result.profiles.append(imported)
    if not result.profiles and not result.warnings:
        result.warnings.append("the MQTTX export holds no connections")
    return result


def _host_userinfo(host: str) -> tuple[str, UrlUserInfo | None]:
    """A host box holding ``user:password@host``: the host, and the user info taken out of it."""
    if "@" not in host:
        return host, None
    _, info = split_userinfo(f"ws://{host}")
    return host.rpartition("@")[2], info


def _take_userinfo(
    info: UrlUserInfo | None, o: dict[str, Any], mapped: list[str], skipped: list[str]
) -> None:
    """User info written in the host: the user name and password, unless given in their own fields."""
    if info is None:
        return
    if info.username is not None:
        if o.get("username") in (None, info.username):
            o["username"] = info.username
            mapped.append("user name from the host field")
        else:
            skipped.append("the user name in the host field (the username field is used)")
    if info.password is not None:
        if "password" not in o:
            o["password"] = info.password.encode("utf-8")
            mapped.append("password from the host field (to the keyring)")
        else:
            skipped.append("the password in the host field (the password field is used)")


def _one_mqttx(
    conn: Mapping[str, Any], display: str, collection: str | None, taken: set[str]
) -> ImportedProfile:
    mapped: list[str] = []
    skipped: list[str] = []
    ssl = bool(conn.get("ssl"))
    protocol = str(conn.get("protocol") or ("mqtts" if ssl else "mqtt")).lower()
    if ssl and protocol in ("ws", "mqtt"):
        protocol += "s"
    if protocol not in ("ws", "wss", "mqtt", "mqtts"):
        raise ProfileError(f"protocol {protocol!r} is not ws, wss, mqtt or mqtts")
    host = str(conn.get("host") or "").strip()
    for prefix in ("ws://", "wss://", "mqtt://", "mqtts://"):
        if host.startswith(prefix):  # MQTTX shows the scheme in the host box
            host = host[len(prefix) :]
    host, userinfo = _host_userinfo(host)
    if not host:
        raise ProfileError("it has no host")
    port = conn.get("port")
    netloc = f"[{host}]" if ":" in host else host
    if isinstance(port, int) and not isinstance(port, bool):
        netloc += f":{port}"
    path = str(conn.get("path") or "/mqtt") if protocol in ("ws", "wss") else ""
    if path and not path.startswith("/"):
        path = "/" + path
    url = f"{protocol}://{netloc}{path}"
    parse_url(url)
    mapped.append(f"URL {url} (protocol, host, port, path)")
    o: dict[str, Any] = {"url": url}

    def take(key: str, target: str, convert: Any = None, label: str | None = None) -> None:
        value = conn.get(key)
        if value is None or value == "":
            return
        try:
            o[target] = convert(value) if convert else value
        except (TypeError, ValueError, OverflowError):
            skipped.append(f"{key} ({value!r} is not valid)")
            return
        mapped.append(label or key)

    take("clientId", "client_id", str)
    take("clean", "clean_start", bool)
    take("keepalive", "keep_alive", int)
    take("connectTimeout", "connect_timeout", float)
    take("reconnect", "reconnect", bool)
    take(
        "reconnectPeriod",
        "reconnect_initial_delay",
        lambda ms: float(ms) / 1000.0,
        "reconnectPeriod (ms -> s)",
    )
    take("username", "username", str)
    if conn.get("password"):
        o["password"] = str(conn["password"]).encode("utf-8")
        mapped.append("password (to the keyring)")
    _take_userinfo(userinfo, o, mapped, skipped)
    version = conn.get("mqttVersion")
    if version:
        try:
            o["mqtt_version"] = mqtt_version_from_text(str(version))
            mapped.append("mqttVersion")
        except ProfileError:
            skipped.append(f"mqttVersion ({version!r} is not 3.1, 3.1.1 or 5.0)")
    if conn.get("clientIdWithTime"):
        skipped.append("clientIdWithTime (a fixed client id is used)")

    tls: dict[str, Any] = {}
    if ssl or protocol in ("wss", "mqtts"):
        if conn.get("rejectUnauthorized") is False:
            tls["insecure"] = True
            mapped.append("rejectUnauthorized=false (certificate checks off)")
        for key, target in (("ca", "ca_file"), ("cert", "cert_file"), ("key", "key_file")):
            if conn.get(key):
                tls[target] = str(conn[key])
                mapped.append(f"{key} file")
        alpn = conn.get("ALPNProtocols")
        if alpn:
            protocols = alpn if isinstance(alpn, list) else str(alpn).split(",")
            tls["alpn"] = tuple(str(p).strip() for p in protocols if str(p).strip())
            mapped.append("ALPNProtocols")
    o["tls"] = TlsOptions(**tls)

    properties = conn.get("properties")
    if isinstance(properties, dict):
        for key, target in (
            ("sessionExpiryInterval", "session_expiry_interval"),
            ("receiveMaximum", "receive_maximum"),
            ("maximumPacketSize", "maximum_packet_size"),
            ("topicAliasMaximum", "topic_alias_maximum"),
        ):
            if isinstance(properties.get(key), int):
                o[target] = properties[key]
                mapped.append(key)
        for key, target in (
            ("requestResponseInformation", "request_response_information"),
            ("requestProblemInformation", "request_problem_information"),
        ):
            if isinstance(properties.get(key), bool):
                o[target] = properties[key]
                mapped.append(key)
        if properties.get("authenticationMethod"):
            o["authentication_method"] = str(properties["authenticationMethod"])
            mapped.append("authenticationMethod")
        if properties.get("authenticationData"):
            skipped.append("authenticationData (not kept in profiles)")
        pairs = _user_properties(properties.get("userProperties"))
        if pairs:
            o["user_properties"] = pairs
            mapped.append("userProperties")

    will = conn.get("will")
    if isinstance(will, dict) and will.get("lastWillTopic"):
        will_properties = will.get("properties") if isinstance(will.get("properties"), dict) else {}
        delay = will_properties.get("willDelayInterval") if will_properties else None
        o["will"] = Will(
            topic=str(will["lastWillTopic"]),
            payload=str(will.get("lastWillPayload") or "").encode("utf-8"),
            qos=int(will.get("lastWillQos") or 0),
            retain=bool(will.get("lastWillRetain")),
            properties=Properties(will_delay_interval=delay) if isinstance(delay, int) else NO_PROPERTIES,
        )
        mapped.append("will")
        extra_will = [
            k
            for k, v in (will_properties or {}).items()
            if v not in (None, "", {}) and k != "willDelayInterval"
        ]
        if extra_will:
            skipped.append(f"will properties {', '.join(sorted(extra_will))}")

    subscriptions = []
    cosmetic = set()
    for sub in _items(conn.get("subscriptions")):
        if isinstance(sub, dict) and sub.get("topic"):
            cosmetic |= {key for key in ("alias", "color", "subscriptionIdentifier") if sub.get(key)}
            qos = sub.get("qos", 0)
            subscriptions.append(
                Subscription(
                    str(sub["topic"]),
                    qos=qos if qos in (0, 1, 2) else 0,
                    no_local=bool(sub.get("nl")),
                    retain_as_published=bool(sub.get("rap")),
                    retain_handling=RetainHandling(sub["rh"])
                    if sub.get("rh") in (0, 1, 2)
                    else RetainHandling(0),
                )
            )
    if subscriptions:
        mapped.append(_count(len(subscriptions), "subscription"))
    if cosmetic:
        skipped.append(f"subscription {', '.join(sorted(cosmetic))}")
    messages = conn.get("messages")
    if isinstance(messages, list) and messages:
        skipped.append(_count(len(messages), "stored message"))
    known = {
        "name", "protocol", "host", "port", "path", "ssl", "rejectUnauthorized", "ca", "cert", "key",
        "ALPNProtocols", "clientId", "clean", "keepalive", "connectTimeout", "reconnect", "reconnectPeriod",
        "username", "password", "mqttVersion", "clientIdWithTime", "properties", "will", "subscriptions",
        "messages",
    }  # fmt: skip
    other = sorted(
        k for k, v in conn.items() if k not in known | _MQTTX_IGNORED and v not in (None, "", [], {})
    )
    if other:
        skipped.append(f"fields without a meaning here: {', '.join(other)}")

    name = _unique(safe_profile_name(display, "mqttx"), taken)
    if name != display:
        mapped.append(f"name {display!r} as {name!r}")
    profile = Profile(
        name=name,
        options=ConnectionOptions(**o),
        subscriptions=tuple(subscriptions),
        notes=f"Imported from MQTTX connection {display!r}",
        tags=(collection,) if collection else (),
    )
    return ImportedProfile(profile, display, tuple(mapped), tuple(skipped))


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _user_properties(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        return ()
    pairs: list[tuple[str, str]] = []
    for key, item in value.items():
        for single in item if isinstance(item, list) else [item]:
            pairs.append((str(key), str(single)))
    return tuple(pairs)


# --------------------------------------------------------------------------- MQTT Explorer


def from_mqtt_explorer(connections: Mapping[str, Any], *, cert_dir: Path) -> ImportResult:
    """Profiles from MQTT Explorer's saved connections (``id -> ConnectionOptions``)."""
    result = ImportResult("MQTT Explorer")
    taken: set[str] = set()
    entries = [entry for entry in connections.values() if isinstance(entry, dict)]
    entries.sort(key=_order)
    for index, conn in enumerate(entries, 1):
        host = _host_userinfo(str(conn.get("host") or ""))[0]  # never a password in a message
        display = str(conn.get("name") or host or f"mqtt-explorer-{index}")
        if conn.get("type", "mqtt") != "mqtt":
            result.warnings.append(
                f"MQTT Explorer connection {display!r} not imported: type {conn.get('type')!r}"
            )
            continue
        try:
            result.profiles.append(_one_mqtt_explorer(conn, display, taken, cert_dir))
        except ExplorerError as exc:
            result.warnings.append(f"MQTT Explorer connection {display!r} not imported: {exc}")
        except _MALFORMED as exc:
            result.warnings.append(f"MQTT Explorer connection {display!r} not imported: {_malformed(exc)}")
    if not result.profiles and not result.warnings:
        result.warnings.append("the MQTT Explorer settings hold no connections")
    return result


def _order(entry: Mapping[str, Any]) -> float:
    order = entry.get("order")
    return float(order) if isinstance(order, (int, float)) else 0.0


def _one_mqtt_explorer(
    conn: Mapping[str, Any], display: str, taken: set[str], cert_dir: Path
) -> ImportedProfile:
    mapped: list[str] = []
    skipped: list[str] = []
    host, userinfo = _host_userinfo(str(conn.get("host") or "").strip())
    if not host:
        raise ProfileError("it has no host")
    secure = bool(conn.get("encryption"))
    protocol = str(conn.get("protocol") or "mqtt")
    if protocol not in ("mqtt", "ws"):
        raise ProfileError(f"protocol {protocol!r} is not mqtt or ws")
    scheme = protocol + ("s" if secure else "")
    port = conn.get("port")
    netloc = f"[{host}]" if ":" in host else host
    if isinstance(port, int) and not isinstance(port, bool):
        netloc += f":{port}"
    path = ""
    if protocol == "ws":
        path = "/" + str(conn.get("basePath") or "").lstrip("/")
    url = f"{scheme}://{netloc}{path}"
    parse_url(url)
    mapped.append(f"URL {url} (protocol, encryption, host, port, basePath)")
    name = _unique(safe_profile_name(display, "mqtt-explorer"), taken)
    if name != display:
        mapped.append(f"name {display!r} as {name!r}")
    o: dict[str, Any] = {"url": url}
    files: list[tuple[Path, bytes]] = []
    if conn.get("username"):
        o["username"] = str(conn["username"])
        mapped.append("username")
    if conn.get("password"):
        o["password"] = str(conn["password"]).encode("utf-8")
        mapped.append("password (to the keyring)")
    _take_userinfo(userinfo, o, mapped, skipped)
    if conn.get("clientId"):
        o["client_id"] = str(conn["clientId"])
        mapped.append("clientId")
    tls: dict[str, Any] = {}
    if secure and conn.get("certValidation") is False:
        tls["insecure"] = True
        mapped.append("certValidation=false (certificate checks off)")
    for key, target, suffix in (
        ("selfSignedCertificate", "ca_file", "ca.pem"),
        ("clientCertificate", "cert_file", "cert.pem"),
        ("clientKey", "key_file", "key.pem"),
    ):
        cert = conn.get(key)
        if not isinstance(cert, dict) or not cert.get("data"):
            continue
        try:
            data = base64.b64decode(str(cert["data"]), validate=True)
        except (binascii.Error, ValueError):
            skipped.append(f"{key} (not valid base64)")
            continue
        file = cert_dir / f"{name}-{suffix}"
        files.append((file, data))
        tls[target] = str(file)
        mapped.append(f"{key} {cert.get('name') or ''} -> {file}".replace("  ", " "))
    o["tls"] = TlsOptions(**tls)
    subscriptions = []
    for sub in _items(conn.get("subscriptions")):
        if isinstance(sub, str):  # configVersion 0 kept bare topics
            subscriptions.append(Subscription(sub))
        elif isinstance(sub, dict) and sub.get("topic"):
            qos = sub.get("qos", 0)
            subscriptions.append(Subscription(str(sub["topic"]), qos=qos if qos in (0, 1, 2) else 0))
    if subscriptions:
        mapped.append(_count(len(subscriptions), "subscription"))
    known = {
        "configVersion", "type", "id", "host", "protocol", "basePath", "port", "name", "username", "password",
        "encryption", "certValidation", "selfSignedCertificate", "clientCertificate", "clientKey", "clientId",
        "subscriptions", "order", "favorite",
    }  # fmt: skip
    other = sorted(k for k, v in conn.items() if k not in known and v not in (None, "", [], {}))
    if other:
        skipped.append(f"fields without a meaning here: {', '.join(other)}")
    profile = Profile(
        name=name,
        options=ConnectionOptions(**o),
        subscriptions=tuple(subscriptions),
        notes=f"Imported from MQTT Explorer connection {display!r}",
        tags=("favorite",) if conn.get("favorite") else (),
    )
    return ImportedProfile(profile, display, tuple(mapped), tuple(skipped), tuple(files))


def _write_private(path: Path, data: bytes) -> Path:
    """Write a certificate or key file readable by the owner only."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(path, 0o600)
    except OSError as exc:
        raise ProfileError(f"cannot write {path}: {exc}") from None
    return path


# --------------------------------------------------------------------------- applying


def apply_import(store: ProfileStore, result: ImportResult, *, overwrite: bool = False) -> ImportReport:
    """Add the imported profiles to ``store``; existing names are kept unless ``overwrite``."""
    report = ImportReport()
    existing = set(store.names())
    for item in result.profiles:
        name = item.profile.name
        if name in existing and not overwrite:
            report.not_imported.append(
                (name, "a profile with this name exists (use --overwrite to replace it)")
            )
            continue
        for path, data in item.files:
            _write_private(path, data)
        store.add(item.profile, overwrite=overwrite)
        (report.replaced if name in existing else report.added).append(name)
    return report
