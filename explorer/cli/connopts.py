"""Connection flags shared by every command that connects (sub, pub, trace, probe, TUI, GUI).

Usage in a subcommand::

    parser.add_argument("url", nargs="?", help="broker URL (optional with --profile)")
    add_connection_arguments(parser)
    ...
    options = options_from_args(args)

With ``--profile NAME`` the profile is loaded, its secrets are fetched from the OS
keyring, and then every flag given explicitly overrides the profile's value. To know
what was given, every flag defaults to None: a default value here would silently
override the profile. Secrets never come from plain command-line values except
``--secret-header`` and a proxy URL (both visible in the process list, which the help
says): passwords come from stdin, an environment variable, the keyring or a prompt.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import replace
from typing import IO, TYPE_CHECKING, Any

from explorer.cli.codecopts import add_codec_arguments
from explorer.client.options import ConnectionOptions, TlsOptions, parse_url, split_userinfo
from explorer.errors import ExplorerError, SecretStoreError
from explorer.mqtt.packets import Will
from explorer.profiles.format import (
    HEADER_NAME_RE,
    MQTT_VERSIONS,
    Profile,
    has_control_character,
    secret_label,
    strip_proxy_password,
)

if TYPE_CHECKING:  # the profile store (tomlkit, the keyring) is imported only when used
    from explorer.profiles.secret_store import SecretStore
    from explorer.profiles.store import ProfileStore

__all__ = [
    "add_connection_arguments",
    "apply_args",
    "ask_secret",
    "options_from_args",
    "parse_header",
    "parse_user_property",
    "profile_from_args",
    "secrets_from_args",
]

_LOG = logging.getLogger("explorer.profiles.store")

_HELP_EPILOG = (
    "Passwords are never taken as plain arguments: use --password-stdin, --password-env VAR, "
    "a profile (the OS keyring) or the prompt."
)


def parse_header(text: str, *, secret: bool = False) -> tuple[str, str]:
    """``'Name: value'`` -> ``("Name", "value")``; argparse type for --header.

    A line break in the value would inject a header (or a whole request) of its own, so
    control characters are refused. With ``secret`` the message never repeats the value.
    """
    name, sep, value = text.partition(":")
    name = name.strip()
    shown = ("a secret header" if not sep else repr(name + ": ...")) if secret else repr(text)
    if not sep or not HEADER_NAME_RE.match(name):
        raise argparse.ArgumentTypeError(f"{shown} is not a header: write 'Name: value'")
    if has_control_character(value):
        raise argparse.ArgumentTypeError(
            f"the value of header {name!r} holds a line break or another control character, "
            "which HTTP does not allow"
        )
    return name, value.strip()


def _parse_secret_header(text: str) -> tuple[str, str]:
    return parse_header(text, secret=True)


_parse_secret_header.__name__ = "secret header"


def parse_user_property(text: str) -> tuple[str, str]:
    """``K=V`` -> ``("K", "V")``; argparse type for --user-property."""
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r} is not a user property: write KEY=VALUE")
    return key, value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive number of seconds")
    return value


def _uint(bits: int, low: int = 0) -> Any:
    high = (1 << bits) - 1

    def check(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range ({low}..{high})")
        return value

    check.__name__ = f"uint{bits}"
    return check


def add_connection_arguments(parser: argparse.ArgumentParser, *, codecs: bool = False) -> None:
    """Add the connection flags; every one defaults to None so a profile value stands.

    With ``codecs`` the payload codec flags (``--codec FILTER=NAME``, ``--proto FILE``) too.
    """
    if codecs:
        add_codec_arguments(parser)
    group = parser.add_argument_group("connection", _HELP_EPILOG)
    add = group.add_argument
    add("--profile", metavar="NAME", help="use a saved connection profile (flags given override it)")
    # WebSocket / HTTP
    add(
        "--subprotocol",
        action="append",
        metavar="P",
        help="Sec-WebSocket-Protocol to offer; repeat for several, in order (default: mqtt)",
    )
    add("--no-subprotocol", action="store_const", const=True, help="offer no subprotocol at all")
    add(
        "--strict-subprotocol",
        action="store_const",
        const=True,
        help="refuse a server that does not echo an offered subprotocol (as browsers do)",
    )
    add("--header", action="append", type=parse_header, metavar="'NAME: VALUE'", help="extra HTTP header")
    add(
        "--secret-header",
        action="append",
        type=_parse_secret_header,
        metavar="'NAME: VALUE'",
        help="HTTP header whose value is masked everywhere (e.g. Authorization); visible in the process list",
    )
    add("--origin", help="Origin header of the upgrade request")
    add("--http-user", metavar="USER", help="HTTP basic-auth user for the upgrade request")
    add(
        "--http-password-stdin",
        action="store_const",
        const=True,
        help="read the HTTP basic-auth password from stdin",
    )
    # TLS
    add("--ca", metavar="FILE|DIR", help="CA certificates to trust (PEM file or directory)")
    add("--cert", metavar="FILE", help="client certificate (PEM)")
    add("--key", metavar="FILE", help="client private key (PEM)")
    add("--key-password-stdin", action="store_const", const=True, help="read the key passphrase from stdin")
    add(
        "--insecure",
        action="store_const",
        const=True,
        help="do not verify the server certificate (recorded in the trace)",
    )
    add("--sni", metavar="NAME", help="TLS server name (SNI and hostname check)")
    add("--alpn", action="append", metavar="P", help="ALPN protocol to offer; repeatable")
    add(
        "--tls-keylog",
        metavar="FILE",
        help="append the TLS session keys to FILE (NSS key log, for Wireshark); SSLKEYLOGFILE also works",
    )
    add("--proxy", metavar="URL", help="HTTP CONNECT proxy, http://[user[:pass]@]host:port")
    add("--connect-timeout", type=_seconds, metavar="S", help="TCP/TLS connect timeout (default 10)")
    add("--handshake-timeout", type=_seconds, metavar="S", help="WebSocket handshake timeout (default 10)")
    # MQTT
    add("--mqtt-version", choices=("3.1", "3.1.1", "5"), help="MQTT protocol version (default 3.1.1)")
    add("--client-id", metavar="ID", help="client identifier (default: generated)")
    add(
        "--clean",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="clean session / clean start (default: clean)",
    )
    add("--keep-alive", type=_uint(16), metavar="S", help="keep alive in seconds (default 60)")
    add("--session-expiry", type=_uint(32), metavar="S", help="MQTT 5 session expiry interval")
    add("--username", "-u", help="MQTT user name")
    add("--password-stdin", action="store_const", const=True, help="read the MQTT password from stdin")
    add("--password-env", metavar="VAR", help="take the MQTT password from environment variable VAR")
    add("--will-topic", metavar="TOPIC", help="topic of the will message")
    add("--will-message", metavar="TEXT", help="payload of the will message")
    add("--will-qos", type=int, choices=(0, 1, 2), help="QoS of the will message")
    add("--will-retain", action="store_const", const=True, help="retain the will message")
    add("--will-delay", type=_uint(32), metavar="S", help="MQTT 5 will delay interval")
    add("--receive-maximum", type=_uint(16, 1), metavar="N", help="MQTT 5 receive maximum")
    add("--maximum-packet-size", type=_uint(32, 1), metavar="BYTES", help="MQTT 5 maximum packet size")
    add("--topic-alias-maximum", type=_uint(16), metavar="N", help="MQTT 5 topic alias maximum")
    add(
        "--user-property",
        action="append",
        type=parse_user_property,
        metavar="K=V",
        help="MQTT 5 CONNECT user property; repeatable",
    )
    add(
        "--reconnect",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="reconnect with backoff when the connection drops",
    )


def ask_secret(prompt: str) -> str:
    """Read a secret at the terminal without echo.

    Ctrl-D (end of input) is a clear one-line error rather than a traceback; Ctrl-C ends
    the prompt's line and propagates, so the command exits 130 without a traceback.

    Raises:
        ExplorerError: end of input before a line was typed.
    """
    try:
        return getpass.getpass(prompt)
    except EOFError:
        print(file=sys.stderr)
        raise ExplorerError("no password given") from None
    except KeyboardInterrupt:
        print(file=sys.stderr)
        raise


def _given(args: argparse.Namespace, name: str) -> Any:
    return getattr(args, name, None)


_MAX_SECRET = 65_535  # an MQTT password is at most 65,535 bytes [MQTT-1.5.6]


def _read_stdin_secret(stdin: IO[str]) -> str:
    text = stdin.read(_MAX_SECRET + 3)  # a line end may follow
    if len(text) > _MAX_SECRET + 2:
        raise ExplorerError(f"the secret on standard input is longer than {_MAX_SECRET:,} characters")
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n"):
        return text[:-1]
    return text


def secrets_from_args(
    args: argparse.Namespace,
    *,
    stdin: IO[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Secret values given for this use only, by kind (``password``, ``header/NAME`` ...).

    Raises:
        ExplorerError: several ``--...-stdin`` flags at once, or an unset ``--password-env``.
    """
    stdin = stdin if stdin is not None else sys.stdin
    environ = environ if environ is not None else os.environ
    from_stdin = [
        kind
        for flag, kind in (
            ("password_stdin", "password"),
            ("http_password_stdin", "http_password"),
            ("key_password_stdin", "key_password"),
        )
        if _given(args, flag)
    ]
    if len(from_stdin) > 1:
        raise ExplorerError("only one secret can be read from stdin per run: pass the others another way")
    values: dict[str, str] = {}
    env_name = _given(args, "password_env")
    if env_name is not None:
        if "password" in from_stdin:
            raise ExplorerError("give the MQTT password once: --password-stdin or --password-env, not both")
        if env_name not in environ:
            raise ExplorerError(f"--password-env {env_name}: the environment variable {env_name} is not set")
        values["password"] = environ[env_name]
    if from_stdin:
        values[from_stdin[0]] = _read_stdin_secret(stdin)
    proxy = _given(args, "proxy")
    if proxy is not None:
        _, proxy_password = strip_proxy_password(proxy)
        if proxy_password is not None:
            values["proxy_password"] = proxy_password
    for name, value in _given(args, "secret_header") or ():
        values[f"header/{name}"] = value
    return values


def profile_from_args(args: argparse.Namespace, *, store: ProfileStore | None = None) -> Profile | None:
    """The profile named by ``--profile``, or None without one (callers use its subscriptions)."""
    name = _given(args, "profile")
    if name is None:
        return None
    from explorer.profiles.store import ProfileStore

    store = store if store is not None else ProfileStore()
    return store.get(name)


def _merge_pairs(
    base: tuple[tuple[str, str], ...], extra: list[tuple[str, str]], *, case_insensitive: bool
) -> tuple[tuple[str, str], ...]:
    """Pairs from ``extra`` replace same-named pairs of ``base`` and are appended in order."""

    def norm(name: str) -> str:
        return name.lower() if case_insensitive else name

    replaced = {norm(name) for name, _ in extra}
    return tuple(pair for pair in base if norm(pair[0]) not in replaced) + tuple(extra)


def _profile_options(
    profile: Profile,
    store: ProfileStore,
    secrets: SecretStore | None,
    given: Mapping[str, str],
    stdin: IO[str],
) -> ConnectionOptions:
    """The profile's options with its stored secrets, except those given for this use."""
    try:
        return store.to_options(profile, secrets, skip=given.keys())
    except SecretStoreError:
        missing = [kind for kind in profile.secret_refs if kind not in given]
        if not stdin.isatty():
            raise
        # No keyring: a person at a terminal can type the secrets instead (never a plaintext fallback).
        values = {
            kind: ask_secret(f"{secret_label(kind)} for profile {profile.name!r}: ") for kind in missing
        }
        from explorer.profiles.store import merge_secrets

        return merge_secrets(profile.options, values)


def options_from_args(
    args: argparse.Namespace,
    *,
    store: ProfileStore | None = None,
    secrets: SecretStore | None = None,
    stdin: IO[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> ConnectionOptions:
    """Build :class:`ConnectionOptions` from a profile (if any) and the flags given.

    Args:
        args: parsed arguments from a parser set up with :func:`add_connection_arguments`
            (and, usually, a positional ``url``).
        store: the profile store; the default profiles file when None.
        secrets: where profile secrets are; the OS keyring when None.
        stdin, environ: for ``--*-stdin`` and ``--password-env``; the process's when None.

    Raises:
        ProfileError: unknown profile ("did you mean ..."), or a stored secret is missing.
        SecretStoreError: the profile has secrets, no keyring backend is usable, no
            secret was given another way and stdin is not a terminal to prompt on.
        ExplorerError: no URL and no profile, a bad URL, conflicting secret flags.
    """
    stdin = stdin if stdin is not None else sys.stdin
    given_secrets = secrets_from_args(args, stdin=stdin, environ=environ)
    url = _given(args, "url")
    profile_name = _given(args, "profile")
    if profile_name is not None:
        from explorer.profiles.store import ProfileStore

        store = store if store is not None else ProfileStore()
        profile = store.get(profile_name)
        for warning in store.warnings:  # e.g. a misspelt key that would silently not apply
            _LOG.warning("%s", warning)
        _warn_other_host(profile, url, given_secrets)
        options = _profile_options(profile, store, secrets, given_secrets, stdin)
    else:
        if url is None:
            raise ExplorerError("give a broker URL (e.g. ws://localhost:8080/mqtt) or --profile NAME")
        options = ConnectionOptions(url=url)
    options = apply_args(options, args, given_secrets)
    if url is not None:
        _note_url_userinfo(url)
    return options


def _note_url_userinfo(url: str) -> None:
    """User info in the URL is the MQTT login: say so, since a browser would send it as HTTP basic auth."""
    _, info = split_userinfo(url)
    if info is None:
        return
    what = "user name and password" if info.password is not None else "user name"
    print(
        f"mqttws-explorer: note: the {what} in the URL {'are' if info.password is not None else 'is'} "
        "used as the MQTT login (for HTTP basic auth on the upgrade use --http-user and "
        "--http-password-stdin); the URL is shown without them",
        file=sys.stderr,
    )


def _warn(text: str) -> None:
    print(f"mqttws-explorer: warning: {text}", file=sys.stderr)


def _warn_other_host(profile: Profile, url: str | None, given: Mapping[str, str]) -> None:
    """Say so when a URL on the command line sends the profile's stored secrets to another host."""
    if url is None:
        return
    sent = [kind for kind in profile.secret_refs if kind not in given]
    if not sent:
        return
    try:
        profile_host = parse_url(profile.options.url).host
        url_host = parse_url(url).host
    except ExplorerError:
        return  # a bad URL gets its own clear error from apply_args
    if profile_host.lower() != url_host.lower():
        secrets = ", ".join(secret_label(kind) for kind in sent)
        _warn(
            f"profile {profile.name!r} is for host {profile_host} but the URL given is for host {url_host}: "
            f"the profile's stored secrets ({secrets}) are sent to {url_host}"
        )


_TLS_FLAGS = ("ca", "cert", "key", "key_password_stdin", "insecure", "sni", "alpn", "tls_keylog")


def _warn_tls_flags_unused(options: ConnectionOptions, args: argparse.Namespace) -> None:
    """TLS flags do nothing on ws:// and mqtt://: say so rather than ignore them silently."""
    given = [flag for flag in _TLS_FLAGS if _given(args, flag)]
    if not given or parse_url(options.url).secure:
        return
    flags = ", ".join("--" + flag.replace("_", "-") for flag in given)
    scheme = parse_url(options.url).scheme
    _warn(f"{flags} apply only to wss:// and mqtts:// URLs; ignored for this {scheme}:// URL")


def apply_args(
    options: ConnectionOptions, args: argparse.Namespace, given_secrets: Mapping[str, str]
) -> ConnectionOptions:
    """``options`` with every flag given in ``args`` applied, and the per-use secrets.

    Used by :func:`options_from_args` and by ``profiles edit`` (which applies flags to
    a stored profile without fetching its secrets).
    """
    url = _given(args, "url")
    changes: dict[str, Any] = {}
    if url is not None:
        parse_url(url)  # a clear error now rather than at connect time
        changes["url"] = url
    if _given(args, "no_subprotocol"):
        if _given(args, "subprotocol"):
            raise ExplorerError("--no-subprotocol and --subprotocol contradict each other: give one")
        changes["subprotocols"] = ()
    elif _given(args, "subprotocol"):
        changes["subprotocols"] = tuple(args.subprotocol)
    simple = {
        "strict_subprotocol": "strict_subprotocol",
        "origin": "origin",
        "http_user": "http_username",
        "connect_timeout": "connect_timeout",
        "handshake_timeout": "handshake_timeout",
        "client_id": "client_id",
        "clean": "clean_start",
        "keep_alive": "keep_alive",
        "session_expiry": "session_expiry_interval",
        "username": "username",
        "receive_maximum": "receive_maximum",
        "maximum_packet_size": "maximum_packet_size",
        "topic_alias_maximum": "topic_alias_maximum",
        "reconnect": "reconnect",
    }
    for flag, field_name in simple.items():
        value = _given(args, flag)
        if value is not None:
            changes[field_name] = value
    for flag in ("origin", "http_user"):
        value = _given(args, flag)
        if value is not None and has_control_character(value):
            raise ExplorerError(
                f"--{flag.replace('_', '-')} holds a line break or another control character, "
                "which HTTP does not allow"
            )
    if _given(args, "header"):
        changes["headers"] = _merge_pairs(options.headers, args.header, case_insensitive=True)
    if _given(args, "user_property"):
        changes["user_properties"] = _merge_pairs(
            options.user_properties, args.user_property, case_insensitive=False
        )
    if _given(args, "proxy") is not None:
        changes["proxy"] = strip_proxy_password(args.proxy)[0]
    if _given(args, "mqtt_version") is not None:
        changes["mqtt_version"] = MQTT_VERSIONS[args.mqtt_version]
    tls = _tls_changes(args, options.tls)
    if tls is not options.tls:
        changes["tls"] = tls
    will = _will_changes(args, options.will)
    if will is not options.will:
        changes["will"] = will
    options = options.with_changes(**changes) if changes else options
    _warn_tls_flags_unused(options, args)
    secret_headers = {kind: value for kind, value in given_secrets.items() if kind.startswith("header/")}
    if secret_headers:
        pairs = [(kind[7:], value) for kind, value in secret_headers.items()]
        options = options.with_changes(
            secret_headers=_merge_pairs(options.secret_headers, pairs, case_insensitive=True)
        )
    others = {kind: value for kind, value in given_secrets.items() if not kind.startswith("header/")}
    if not others:
        return options
    from explorer.profiles.store import merge_secrets

    return merge_secrets(options, others)


def _tls_changes(args: argparse.Namespace, tls: TlsOptions) -> TlsOptions:
    changes: dict[str, Any] = {}
    ca = _given(args, "ca")
    if ca is not None:
        if os.path.isdir(ca):
            changes.update(ca_dir=ca, ca_file=None)
        else:
            changes.update(ca_file=ca, ca_dir=None)
    for flag, field_name in (
        ("cert", "cert_file"),
        ("key", "key_file"),
        ("sni", "server_name"),
        ("tls_keylog", "keylog_file"),
    ):
        value = _given(args, flag)
        if value is not None:
            changes[field_name] = value
    if _given(args, "insecure"):
        changes["insecure"] = True
    if _given(args, "alpn"):
        changes["alpn"] = tuple(args.alpn)
    return replace(tls, **changes) if changes else tls


def _will_changes(args: argparse.Namespace, will: Will | None) -> Will | None:
    topic = _given(args, "will_topic")
    message = _given(args, "will_message")
    qos = _given(args, "will_qos")
    retain = _given(args, "will_retain")
    delay = _given(args, "will_delay")
    if all(value is None for value in (topic, message, qos, retain, delay)):
        return will
    if will is None:
        if topic is None:
            raise ExplorerError(
                "--will-message, --will-qos, --will-retain and --will-delay need --will-topic"
            )
        will = Will(topic=topic, payload=b"")
    properties = will.properties
    if delay is not None:
        properties = replace(properties, will_delay_interval=delay)
    return replace(
        will,
        topic=topic if topic is not None else will.topic,
        payload=message.encode("utf-8") if message is not None else will.payload,
        qos=qos if qos is not None else will.qos,
        retain=retain if retain is not None else will.retain,
        properties=properties,
    )
