"""``mqttws-explorer profiles list|show|add|edit|rm|rename|copy|export|import``.

Profiles live in ``profiles.toml`` (see :mod:`explorer.profiles.store`); their secrets live
in the OS keyring. ``add`` asks for the MQTT password at the terminal (or takes it with
``--password-stdin`` / ``--password-env``); ``show`` masks secrets; ``export`` leaves
secrets out unless ``--with-secrets``, and then says so on stderr; ``import`` reads our
export, MQTTX's JSON export and MQTT Explorer's settings, and says what it mapped and
what it skipped. Every error is one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import IO, Any

from explorer.cli.codecopts import codec_rules_from_args
from explorer.cli.connopts import add_connection_arguments, apply_args, ask_secret, secrets_from_args
from explorer.client.options import ConnectionOptions, parse_url, split_userinfo
from explorer.codecs.rules import CodecRule
from explorer.errors import ExplorerError, ProfileError, SecretStoreError
from explorer.masking import SECRET_MARK
from explorer.mqtt.packets import Subscription
from explorer.profiles.format import (
    DEFAULT_VALUES,
    Profile,
    ProfileName,
    check_name,
    profile_values,
    secret_label,
)
from explorer.profiles.importers import apply_import, read_import_file
from explorer.profiles.secret_store import KeyringSecretStore
from explorer.profiles.store import ProfileStore

__all__ = ["MASK", "register", "run"]

MASK = SECRET_MARK
_UNSETTABLE = {
    f.name
    for f in fields(ConnectionOptions)
    if f.name
    not in {
        "url",
        "password",
        "http_password",
        "secret_headers",
        "authentication_data",
        "tls",
    }
}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "profiles",
        help="list, show, add, edit, remove, export and import connection profiles",
        description="Manage connection profiles. Secrets are kept in the OS keyring, never in the file.",
    )
    parser.set_defaults(func=lambda args: _usage(parser))
    sub = parser.add_subparsers(dest="action", metavar="ACTION")

    p = sub.add_parser("list", help="list profiles")
    p.add_argument("--json", action="store_true", help="one JSON object per profile")
    p.set_defaults(func=run)

    p = sub.add_parser("show", help="show one profile (secrets masked)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--json", action="store_true", help="as JSON")
    p.set_defaults(func=run)

    for action, helptext in (("add", "add a profile"), ("edit", "change a profile")):
        p = sub.add_parser(action, help=helptext, description=_ADD_EDIT_DESCRIPTION)
        p.add_argument("name", metavar="NAME")
        p.add_argument(
            "--url",
            help="broker URL, e.g. wss://broker.example.com/mqtt"
            + (" (required)" if action == "add" else ""),
        )
        add_connection_arguments(p, codecs=True)
        p.add_argument(
            "--subscribe", "-t", action="append", metavar="FILTER", help="default subscription; repeatable"
        )
        p.add_argument("--notes", help="free text shown with the profile")
        p.add_argument("--color", help="colour or tag shown in the front ends, e.g. '#d04040'")
        p.add_argument("--tag", action="append", help="tag; repeatable")
        p.add_argument("--no-password", action="store_true", help="store no MQTT password (and do not ask)")
        if action == "edit":
            p.add_argument(
                "--unset",
                action="append",
                metavar="FIELD",
                choices=sorted(
                    _UNSETTABLE | {"subscriptions", "notes", "color", "tags", "tls", "secret_headers"}
                ),
                help="reset a field to its default; repeatable",
            )
            p.add_argument(
                "--clear-subscriptions", action="store_true", help="remove the default subscriptions first"
            )
            p.add_argument(
                "--ask-password", action="store_true", help="ask for a new MQTT password at the terminal"
            )
        p.set_defaults(func=run)

    p = sub.add_parser("rm", help="remove profiles and their secrets")
    p.add_argument("names", nargs="+", metavar="NAME")
    p.add_argument(
        "--keep-secrets",
        action="store_true",
        help="remove the profiles even when the keyring cannot be reached, leaving their secrets in it",
    )
    p.set_defaults(func=run)

    p = sub.add_parser("rename", help="rename a profile (its secrets move with it)")
    p.add_argument("old", metavar="OLD")
    p.add_argument("new", metavar="NEW")
    p.set_defaults(func=run)

    p = sub.add_parser("copy", help="copy a profile (secrets included)")
    p.add_argument("source", metavar="SOURCE")
    p.add_argument("target", metavar="TARGET")
    p.set_defaults(func=run)

    p = sub.add_parser("export", help="write profiles to a file for another machine (no secrets by default)")
    p.add_argument("names", nargs="*", metavar="NAME", help="profiles to export (default: all)")
    p.add_argument("-o", "--output", metavar="FILE", help="file to write (default: stdout)")
    p.add_argument(
        "--with-secrets", action="store_true", help="include passwords and tokens IN PLAIN TEXT in the export"
    )
    p.set_defaults(func=run)

    p = sub.add_parser(
        "import",
        help="import profiles: our export, MQTTX JSON export, MQTT Explorer settings.json",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--overwrite", action="store_true", help="replace profiles that have the same name")
    p.add_argument("--dry-run", action="store_true", help="report what would be imported, change nothing")
    p.set_defaults(func=run)


_ADD_EDIT_DESCRIPTION = (
    "Connection flags set the profile's values. Secrets go to the OS keyring: the MQTT password is "
    "asked for at the terminal (add --username ...), or read with --password-stdin or --password-env VAR."
)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def run(args: argparse.Namespace, *, store: ProfileStore | None = None, stdin: IO[str] | None = None) -> int:
    store = store if store is not None else ProfileStore()
    stdin = stdin if stdin is not None else sys.stdin
    action = args.action
    handler = {
        "list": _list,
        "show": _show,
        "add": _add,
        "edit": _edit,
        "rm": _rm,
        "rename": _rename,
        "copy": _copy,
        "export": _export,
        "import": _import,
    }[action]
    code = handler(args, store, stdin)
    for warning in store.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return code


# --------------------------------------------------------------------------- reading


def _list(args: argparse.Namespace, store: ProfileStore, stdin: IO[str]) -> int:
    profiles = store.list()
    if args.json:
        for profile in profiles:
            print(json.dumps(_profile_json(profile)))
        return 0
    if not profiles:
        print(f"no profiles yet in {store.path}; add one with `mqttws-explorer profiles add NAME --url URL`")
        return 0
    rows = [
        (profile.name, profile.options.url, profile.options.username or "", ", ".join(profile.tags))
        for profile in profiles
    ]
    widths = [max(len(row[i]) for row in [("NAME", "URL", "USER", "TAGS"), *rows]) for i in range(4)]
    for row in [("NAME", "URL", "USER", "TAGS"), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def _profile_json(profile: Profile) -> dict[str, Any]:
    """The profile's settings that differ from the defaults, secrets masked."""
    values = profile_values(profile)
    values["secrets"] = dict.fromkeys(profile.secret_refs, MASK)
    clean = _non_default(values, DEFAULT_VALUES)
    clean.pop("url", None)
    return {"name": profile.name, "url": profile.options.url, **clean}


def _non_default(values: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        default = defaults.get(key)
        if isinstance(value, dict):
            value = _non_default(value, default if isinstance(default, dict) else {})
        if value not in (None, [], {}) and value != default:
            out[key] = value
    return out


def _show(args: argparse.Namespace, store: ProfileStore, stdin: IO[str]) -> int:
    profile = store.get(args.name)
    if args.json:
        print(json.dumps(_profile_json(profile), indent=2))
        return 0
    data = _profile_json(profile)
    print(f"profile {profile.name}")
    for key, value in data.items():
        if key in ("name", "secrets"):
            continue
        if isinstance(value, dict):
            for sub_key, sub_value in value.items():
                print(f"  {key}.{sub_key}: {_text(sub_value)}")
        else:
            print(f"  {key}: {_text(value)}")
    for kind in profile.secret_refs:
        print(f"  {secret_label(kind)}: {MASK} (in {_secret_place(store)})")
    return 0


def _secret_place(store: ProfileStore) -> str:
    """ "the OS keyring", or the file keyring the user chose: never call a file an OS keyring."""
    secrets = store.secrets
    return secrets.place if isinstance(secrets, KeyringSecretStore) else "the secret store"


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_text(item) for item in value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --------------------------------------------------------------------------- writing


def _ask_password(args: argparse.Namespace, options: ConnectionOptions, stdin: IO[str]) -> ConnectionOptions:
    """Ask for the MQTT password at the terminal when a user name is set and none was given."""
    if args.no_password or options.password is not None or not options.username:
        return options
    if not stdin.isatty():
        print(
            "note: no MQTT password stored (stdin is not a terminal to ask on); "
            "give one with --password-stdin or --password-env VAR",
            file=sys.stderr,
        )
        return options
    password = ask_secret(f"MQTT password for {options.username!r} (empty for none): ")
    return options.with_changes(password=password.encode("utf-8")) if password else options


def _subscriptions(args: argparse.Namespace, current: tuple[Subscription, ...]) -> tuple[Subscription, ...]:
    if not args.subscribe:
        return current
    known = {sub.topic_filter for sub in current}
    return current + tuple(Subscription(topic) for topic in args.subscribe if topic not in known)


def _codec_rules(args: argparse.Namespace, current: tuple[CodecRule, ...]) -> tuple[CodecRule, ...]:
    """Given ``--codec`` rules replace stored ones for the same filter; ``.proto`` paths made absolute."""
    given = [
        replace(rule, proto_files=tuple(os.path.abspath(os.path.expanduser(f)) for f in rule.proto_files))
        for rule in codec_rules_from_args(args)
    ]
    if not given:
        return current
    replaced = {rule.topic_filter for rule in given}
    return tuple(given) + tuple(rule for rule in current if rule.topic_filter not in replaced)


def _add(args: argparse.Namespace, store: ProfileStore, stdin: IO[str]) -> int:
    name = check_name(args.name)
    if args.profile is not None:
        raise ProfileError(
            "--profile has no meaning for `profiles add`; use `profiles copy` to start from one"
        )
    if args.url is None:
        raise ProfileError("give the broker URL with --url, e.g. --url wss://broker.example.com/mqtt")
    if name in store.names():
        raise ProfileError(
            f"a profile named {name!r} already exists: use `mqttws-explorer profiles edit {name}`"
        )
    parse_url(args.url)
    given = secrets_from_args(args, stdin=stdin)
    options = apply_args(ConnectionOptions(url=args.url), args, given)
    url_password = _url_password(args, options)
    if url_password is not None:
        options = url_password
    options = _ask_password(args, options, stdin)
    profile = Profile(
        name=ProfileName(name),
        options=options,
        subscriptions=_subscriptions(args, ()),
        codecs=_codec_rules(args, ()),
        notes=args.notes or "",
        color=args.color,
        tags=tuple(args.tag or ()),
    )
    saved = store.add(profile)
    _url_password_note(args, store, given)
    stored = ", ".join(secret_label(kind) for kind in saved.secret_refs)
    where = f"; in {_secret_place(store)}: {stored}" if stored else ""
    print(f"added profile {name!r} to {store.path}{where}")
    return 0


def _url_password(args: argparse.Namespace, options: ConnectionOptions) -> ConnectionOptions | None:
    """With ``--no-password``, the options without the password the URL carried (else None)."""
    if args.url is None or not args.no_password:
        return None
    _, info = split_userinfo(args.url)
    if info is None or info.password is None:
        return None
    print("note: the password in the URL is not stored (--no-password)", file=sys.stderr)
    return options.with_changes(password=None)


def _url_password_note(args: argparse.Namespace, store: ProfileStore, given: Mapping[str, str]) -> None:
    """Say where a password written in the URL went: never into the file."""
    if args.url is None or args.no_password:
        return
    _, info = split_userinfo(args.url)
    if info is None or info.password is None:
        return
    if "password" in given:
        print(
            "note: the password in the URL is not used: the one given with --password-stdin or "
            "--password-env is stored instead",
            file=sys.stderr,
        )
        return
    print(
        f"note: the password in the URL is the profile's MQTT password now, kept in {_secret_place(store)}; "
        "the URL is saved without it",
        file=sys.stderr,
    )


def _edit(args: argparse.Namespace, store: ProfileStore, stdin: IO[str]) -> int:
    if args.profile is not None:
        raise ProfileError("--profile has no meaning for `profiles edit`: give the profile's name")
    profile = store.get(args.name)
    given = secrets_from_args(args, stdin=stdin)
    options = profile.options
    refs = dict(profile.secret_refs)
    notes, color, tags, subscriptions = profile.notes, profile.color, profile.tags, profile.subscriptions
    defaults = ConnectionOptions(url=options.url)
    for field_name in args.unset or ():
        if field_name in _UNSETTABLE or field_name == "tls":
            options = options.with_changes(**{field_name: getattr(defaults, field_name)})
            if field_name == "tls":
                refs.pop("key_password", None)
            if field_name == "proxy":
                refs.pop("proxy_password", None)
        elif field_name == "secret_headers":
            refs = {kind: ref for kind, ref in refs.items() if not kind.startswith("header/")}
        elif field_name == "subscriptions":
            subscriptions = ()
        elif field_name == "notes":
            notes = ""
        elif field_name == "color":
            color = None
        elif field_name == "tags":
            tags = ()
    if args.clear_subscriptions:
        subscriptions = ()
    if args.url is not None:
        parse_url(args.url)
        options = options.with_changes(url=args.url)
    options = apply_args(options, args, given)
    url_password = _url_password(args, options)
    if url_password is not None:
        options = url_password
    if args.no_password:
        refs.pop("password", None)
    if args.ask_password:
        if not stdin.isatty():
            raise ProfileError("--ask-password needs a terminal: use --password-stdin or --password-env VAR")
        password = ask_secret(f"MQTT password for profile {profile.name!r}: ")
        options = options.with_changes(password=password.encode("utf-8"))
    edited = replace(
        profile,
        options=options,
        secret_refs=refs,
        subscriptions=_subscriptions(args, subscriptions),
        codecs=_codec_rules(args, profile.codecs),
        notes=args.notes if args.notes is not None else notes,
        color=args.color if args.color is not None else color,
        tags=tuple(args.tag) if args.tag else tags,
    )
    if edited == profile:
        raise ProfileError(
            "nothing to change: give the flags to set (see `mqttws-explorer profiles edit --help`)"
        )
    store.update(edited)
    _url_password_note(args, store, given)
    print(f"updated profile {profile.name!r}")
    return 0


def _rm(args: argparse.Namespace, store: ProfileStore, stdin: IO[str]) -> int:
    for name in args.names:
        store.get(name)  # all names checked before anything is removed
    for name in args.names:
        try:
            store.remove(name, keep_secrets=args.keep_secrets)
        except SecretStoreError as exc:
            raise SecretStoreError(
                f"{exc}; or remove the profile and leave its secrets in the keyring with "
                f"`mqttws-explorer profiles rm {name} --keep-secrets`"
            ) from None
        kept = args.keep_secrets and any("still in the keyring" in warning for warning in store.warnings)
        print(
            f"removed profile {name!r}"
            + (" (its secrets stay in the keyring)" if kept else " and its secrets")
        )
    return 0


def _rename(args: argparse.Namespace, store: ProfileStore, stdin: IO[str]) -> int:
    store.rename(args.old, args.new)
    print(f"renamed profile {args.old!r} to {args.new!r}")
    return 0


def _copy(args: argparse.Namespace, store: ProfileStore, stdin: IO[str]) -> int:
    store.copy(args.source, args.target)
    print(f"copied profile {args.source!r} to {args.target!r}")
    return 0


def _export(args: argparse.Namespace, store: ProfileStore, stdin: IO[str]) -> int:
    text = store.export(args.names or None, with_secrets=args.with_secrets)
    if args.with_secrets:
        print(
            "WARNING: the export contains passwords and tokens IN PLAIN TEXT; "
            "keep it private and delete it after importing",
            file=sys.stderr,
        )
    if args.output is None or args.output == "-":
        sys.stdout.write(text)
        return 0
    _write_private(Path(args.output), text)
    count = len(args.names) if args.names else len(store.names())
    print(
        f"exported {count} profile(s) to {args.output}"
        + ("" if args.with_secrets else " without secrets (set them again after importing)"),
        file=sys.stderr,
    )
    return 0


def _write_private(path: Path, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise ExplorerError(f"cannot write {path}: {exc}") from None


def _import(args: argparse.Namespace, store: ProfileStore, stdin: IO[str]) -> int:
    result = read_import_file(args.file, cert_dir=store.path.parent / "certs")
    print(f"{args.file}: {result.format} format, {len(result.profiles)} connection(s)")
    for warning in result.warnings:
        print(f"  skipped: {warning}")
    for item in result.profiles:
        print(f"  {item.source_name} -> profile {item.profile.name!r}")
        if item.mapped:
            print(f"    mapped: {'; '.join(item.mapped)}")
        if item.skipped:
            print(f"    skipped: {'; '.join(item.skipped)}")
    if args.dry_run:
        print("dry run: nothing imported")
        return 0
    report = apply_import(store, result, overwrite=args.overwrite)
    for name, reason in report.not_imported:
        print(f"  not imported: {name!r}: {reason}")
    summary = f"imported {len(report.added)} new profile(s)"
    if report.replaced:
        summary += f", replaced {len(report.replaced)}"
    print(summary)
    return 0 if report.added or report.replaced or not result.profiles else 1
