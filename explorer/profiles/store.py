"""Connection profiles: one TOML file shared by the CLI, the TUI and the GUI.

The file is ``profiles.toml`` in platformdirs' user config directory for
``mqttws-explorer`` (``$MQTTWS_CONFIG_DIR`` overrides the directory). Its shape is
described in :mod:`explorer.profiles.format`. The rules this module keeps:

* **No secret in the file.** Passwords, the proxy password, the TLS key passphrase and
  secret header values go to a :class:`~explorer.profiles.secret_store.SecretStore` (the OS
  keyring) under references such as ``profile/prod/password``; the file holds only
  the references. A hand-written plaintext password is refused with a way out.
* **Edits keep the file.** tomlkit rewrites only the keys that changed, so comments,
  ordering and keys this version does not know survive (unknown keys are reported in
  :attr:`ProfileStore.warnings`).
* **Writes are atomic**, reads bounded, read-modify-write cycles locked between
  processes: :mod:`explorer.profiles.files`. The file is 0600.
* **The file and the keyring change together, or neither does.** Secrets are read
  before anything changes and new keyring entries are taken back when the file cannot
  be written, so a keyring that cannot be reached leaves a profile as it was, with no
  orphaned or lost secret (``remove(keep_secrets=True)`` is the explicit way out).
* **A password in a URL** is taken out of it (:class:`ConnectionOptions` does) and
  kept like any other password; a hand-written one is refused with the line.
* **Versioned.** ``version = 1``; a newer version is refused rather than mangled.
* The keyring is touched only when a profile actually has secrets, so listing and
  showing profiles work on a machine with no keyring at all.
"""

from __future__ import annotations

import contextlib
import difflib
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from copy import deepcopy
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import tomlkit
import tomlkit.exceptions
from tomlkit.items import Table
from tomlkit.toml_document import TOMLDocument

from explorer.client.options import ConnectionOptions
from explorer.errors import ProfileError, SecretStoreError
from explorer.profiles.files import locked, read_text_file, write_atomic
from explorer.profiles.format import (
    DEFAULT_VALUES,
    SECRET_KINDS,
    Profile,
    ProfileName,
    check_name,
    profile_values,
    secret_label,
    split_secrets,
)
from explorer.profiles.secret_store import SERVICE, KeyringSecretStore, SecretStore
from explorer.profiles.validate import LineFinder, profile_from_table

__all__ = [
    "CONFIG_DIR_ENV",
    "FORMAT_VERSION",
    "Profile",
    "ProfileName",
    "ProfileStore",
    "config_dir",
    "default_profiles_path",
    "merge_secrets",
    "secret_ref",
    "to_options",
]

FORMAT_VERSION = 1
CONFIG_DIR_ENV = "MQTTWS_CONFIG_DIR"
_HEADER_COMMENTS = (
    "mqttws-explorer connection profiles.",
    "Secrets are not stored here: [profiles.NAME.secrets] holds references into the OS keyring",
    "(service 'mqttws-explorer'). Unknown keys are kept; `version` is the format version.",
)


def config_dir() -> Path:
    """``$MQTTWS_CONFIG_DIR`` if set, else the platform's user config directory."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir("mqttws-explorer", appauthor=False))


def default_profiles_path() -> Path:
    return config_dir() / "profiles.toml"


def secret_ref(name: str, kind: str) -> str:
    """The keyring reference (keyring "username") of one secret of a profile."""
    return f"profile/{name}/{kind}"


def merge_secrets(options: ConnectionOptions, values: Mapping[str, str]) -> ConnectionOptions:
    """Put secret values (by kind, see :data:`explorer.profiles.format.SECRET_KINDS`) into options."""
    changes: dict[str, Any] = {}
    if "password" in values:
        changes["password"] = values["password"].encode("utf-8")
    if "http_password" in values:
        changes["http_password"] = values["http_password"]
    if "key_password" in values:
        changes["tls"] = replace(options.tls, key_password=values["key_password"])
    if "proxy_password" in values and options.proxy is not None:
        parts = urlsplit(options.proxy)
        host = parts.netloc.rpartition("@")[2]
        user = parts.username or ""
        netloc = f"{user}:{quote(values['proxy_password'], safe='')}@{host}"
        changes["proxy"] = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    headers = [(kind[7:], value) for kind, value in values.items() if kind.startswith("header/")]
    if headers:
        changes["secret_headers"] = tuple(headers)
    return options.with_changes(**changes) if changes else options


def to_options(
    profile: Profile, secrets: SecretStore | None = None, *, skip: Collection[str] = ()
) -> ConnectionOptions:
    """The profile's connection options with its secrets fetched from ``secrets``.

    Args:
        profile: a loaded profile.
        secrets: where the secrets are; the OS keyring when None. Not touched at all
            when every secret the profile refers to is in ``skip``.
        skip: secret kinds not to fetch, because the caller supplies them another way
            (``--password-stdin`` overrides the stored password and must work without
            a keyring).

    Raises:
        ProfileError: a referenced secret is missing from the store.
        SecretStoreError: the keyring is not usable.
    """
    wanted = {kind: ref for kind, ref in profile.secret_refs.items() if kind not in skip}
    if not wanted:
        return profile.options
    store = secrets if secrets is not None else KeyringSecretStore()
    values: dict[str, str] = {}
    for kind, ref in wanted.items():
        value = store.get(ref)
        if value is None:
            raise ProfileError(
                f"profile {profile.name!r} refers to its {secret_label(kind)} in the keyring ({ref!r}), "
                f"but the keyring has nothing there: set it again with `mqttws-explorer profiles edit "
                f"{profile.name} {_set_hint(kind)}` or give it for this use only"
            )
        values[kind] = value
    return merge_secrets(profile.options, values)


def _set_hint(kind: str) -> str:
    if kind.startswith("header/"):
        return f"--secret-header '{kind[7:]}: VALUE'"
    return {
        "password": "--password-stdin",
        "http_password": "--http-password-stdin",
        "key_password": "--key-password-stdin",
        "proxy_password": "--proxy http://user:PASSWORD@host:port",
    }.get(kind, "")


def _plain(value: Any) -> Any:
    unwrap = getattr(value, "unwrap", None)
    return unwrap() if callable(unwrap) else value


def _is_secret_kind(kind: str) -> bool:
    return kind in SECRET_KINDS or kind.startswith("header/")


def _toml_value(value: Any) -> Any:
    """Lists holding tables become arrays of inline tables (one line each), not [[...]] blocks."""
    if isinstance(value, list) and any(isinstance(item, dict) for item in value):
        array = tomlkit.array()
        for item in value:
            if isinstance(item, dict):
                inline = tomlkit.inline_table()
                inline.update(item)
                array.append(inline)
            else:
                array.append(item)
        return array
    return value


def _apply(table: Any, values: Mapping[str, Any], defaults: Mapping[str, Any]) -> None:
    """Write ``values`` into a tomlkit table, changing only what differs.

    A key already in the table is rewritten only when its value changed (and removed
    when it is now unset); a key not in the table is added only when it differs from
    the default. Unknown keys and comments are left where they are.
    """
    for key, value in values.items():
        default = defaults.get(key)
        if isinstance(value, dict) or (value is None and isinstance(default, dict)):
            sub = table.get(key)
            if value is None or not any(v not in (None, [], False) for v in value.values()):
                if sub is not None and key != "tls":
                    del table[key]
                elif sub is not None:
                    _apply(sub, value or {}, default or {})
                continue
            if sub is None:
                sub = tomlkit.table()
                table[key] = sub
            sub_defaults = default if isinstance(default, dict) else {}
            if key == "secrets":
                for old in [k for k in sub if k not in value and _is_secret_kind(k)]:
                    del sub[old]
            _apply(sub, value, sub_defaults)
            continue
        if key in table:
            if value is None:
                del table[key]
            elif _plain(table[key]) != value:
                table[key] = _toml_value(value)
        elif value is not None and value not in (default, []):
            table[key] = _toml_value(value)


class ProfileStore:
    """Reads and edits ``profiles.toml``; moves secrets to and from the keyring.

    Every call reads the file afresh, so several processes (the CLI next to a running
    GUI) see each other's edits; each write replaces the file atomically.

    Args:
        path: the profiles file; :func:`default_profiles_path` when None.
        secrets: where secrets go; the OS keyring (:class:`KeyringSecretStore`) when
            None, created only when a secret is actually read or written.
    """

    def __init__(self, path: Path | str | None = None, *, secrets: SecretStore | None = None) -> None:
        self.path = Path(path) if path is not None else default_profiles_path()
        self._secrets = secrets
        self.warnings: list[str] = []

    @property
    def secrets(self) -> SecretStore:
        if self._secrets is None:
            self._secrets = KeyringSecretStore()
        return self._secrets

    # ------------------------------------------------------------------ reading

    def _read(self) -> tuple[TOMLDocument, dict[str, Profile]]:
        self.warnings = []
        try:
            text = read_text_file(self.path)
        except FileNotFoundError:
            doc = tomlkit.document()
            for line in _HEADER_COMMENTS:
                doc.add(tomlkit.comment(line))
            doc.add("version", FORMAT_VERSION)
            return doc, {}
        doc, profiles = parse_profiles(text, str(self.path), self.warnings)
        return doc, profiles

    def names(self) -> list[ProfileName]:
        return [ProfileName(name) for name in self._read()[1]]

    def list(self) -> list[Profile]:
        return list(self._read()[1].values())

    def get(self, name: str) -> Profile:
        """The named profile.

        Raises:
            ProfileError: no such profile, with a "did you mean" when a name is close.
        """
        profiles = self._read()[1]
        try:
            return profiles[ProfileName(name)]
        except KeyError:
            raise self._unknown(name, profiles) from None

    def __contains__(self, name: object) -> bool:
        return name in self._read()[1]

    def _unknown(self, name: str, profiles: Mapping[str, Profile]) -> ProfileError:
        if not profiles:
            return ProfileError(
                f"no profile named {name!r}: there are no profiles yet in {self.path}; "
                "create one with `mqttws-explorer profiles add NAME --url URL`"
            )
        by_lower = {known.lower(): known for known in profiles}
        close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
        if close:
            return ProfileError(f"no profile named {name!r}: did you mean {by_lower[close[0]]!r}?")
        return ProfileError(f"no profile named {name!r}; known profiles: {', '.join(sorted(profiles))}")

    def to_options(
        self, profile: Profile, secrets: SecretStore | None = None, *, skip: Collection[str] = ()
    ) -> ConnectionOptions:
        """See :func:`to_options`; uses this store's secret store by default."""
        if secrets is None and not [kind for kind in profile.secret_refs if kind not in skip]:
            return profile.options
        return to_options(profile, secrets if secrets is not None else self.secrets, skip=skip)

    def secret_values(self, profile: Profile) -> dict[str, str]:
        """Every secret the profile refers to, by kind (for copy, rename and exports)."""
        values = {}
        for kind, ref in profile.secret_refs.items():
            value = self.secrets.get(ref)
            if value is not None:
                values[kind] = value
        return values

    # ------------------------------------------------------------------ writing

    def add(self, profile: Profile, *, overwrite: bool = False) -> Profile:
        """Save a new profile; secret values in ``profile.options`` go to the keyring.

        Raises:
            ProfileError: the name exists (unless ``overwrite``) or is invalid.
            SecretStoreError: the profile has secrets and the keyring is unusable (then
                nothing is written: never a silent plaintext fallback).
        """
        check_name(profile.name)
        with self._locked():
            return self._add(profile, overwrite=overwrite)

    def _add(self, profile: Profile, *, overwrite: bool) -> Profile:
        doc, profiles = self._read()
        if profile.name in profiles and not overwrite:
            raise ProfileError(
                f"a profile named {profile.name!r} already exists: "
                f"use `mqttws-explorer profiles edit {profile.name}` or choose another name"
            )
        previous = profiles.get(profile.name)
        return self._save(doc, profile, previous)

    def update(self, profile: Profile) -> Profile:
        """Save changes to an existing profile (see :meth:`add` for secrets).

        Secret kinds missing from ``profile.secret_refs`` that the stored profile had
        are deleted from the keyring; secret values set in ``profile.options`` replace
        the stored ones; the rest stay as they are.
        """
        with self._locked():
            doc, profiles = self._read()
            previous = profiles.get(profile.name)
            if previous is None:
                raise self._unknown(profile.name, profiles)
            return self._save(doc, profile, previous)

    def _save(self, doc: TOMLDocument, profile: Profile, previous: Profile | None) -> Profile:
        options, new_secrets = split_secrets(profile.options)
        refs = dict(profile.secret_refs)
        for kind in new_secrets:
            refs[kind] = secret_ref(profile.name, kind)
        # A secret header dropped from the options' header names is dropped from the refs.
        saved = replace(profile, options=options, secret_refs=refs)
        obsolete = []
        if previous is not None:
            obsolete = [ref for ref in previous.secret_refs.values() if ref not in refs.values()]
        if obsolete and not new_secrets:
            # Reach the keyring before the file changes: a keyring that cannot delete the
            # old secrets must leave the profile as it was, not orphan them.
            self.secrets.get(obsolete[0])
        known = set(previous.secret_refs.values()) if previous is not None else set()
        written: list[str] = []
        try:
            for kind, value in new_secrets.items():
                self.secrets.set(refs[kind], value)
                written.append(refs[kind])
            profiles_table = doc.get("profiles")
            if profiles_table is None:
                profiles_table = tomlkit.table(is_super_table=True)
                doc["profiles"] = profiles_table
            table = profiles_table.get(profile.name)
            if table is None:
                table = tomlkit.table()
                profiles_table[profile.name] = table
            _apply(table, profile_values(saved), DEFAULT_VALUES)
            self._write(doc)
        except (ProfileError, SecretStoreError):
            # Nothing refers to the entries just made: take them out again.
            self._forget([ref for ref in written if ref not in known])
            raise
        self._delete_all(obsolete, what=f"old secrets of profile {profile.name!r}")
        return saved

    def _forget(self, refs: Iterable[str]) -> None:
        """Delete keyring entries while another error is on its way to the user."""
        for ref in refs:
            with contextlib.suppress(SecretStoreError):
                self.secrets.delete(ref)

    def _delete_all(self, refs: Iterable[str], *, what: str) -> None:
        """Delete entries the file no longer refers to; a failure becomes a warning naming them."""
        left: list[str] = []
        problem = ""
        for ref in refs:
            try:
                self.secrets.delete(ref)
            except SecretStoreError as exc:
                left.append(ref)
                problem = str(exc)
        if left:
            self.warnings.append(
                f"the {what} are still in the keyring under {', '.join(repr(ref) for ref in left)} "
                f"(service {SERVICE!r}): {problem}"
            )

    def remove(self, name: str, *, keep_secrets: bool = False) -> None:
        """Delete a profile and its secrets: both, or neither.

        The secrets are read first, so a keyring that cannot be reached stops the removal
        before anything changed; if writing the file then fails, the deleted secrets are
        put back.

        Args:
            keep_secrets: remove the profile even when its secrets cannot be deleted,
                leaving them in the keyring (the user chose to; the refs are named).

        Raises:
            ProfileError: no such profile, or the file cannot be written.
            SecretStoreError: the keyring cannot be reached (nothing was changed).
        """
        with self._locked():
            doc, profiles = self._read()
            profile = profiles.get(ProfileName(name))
            if profile is None:
                raise self._unknown(name, profiles)
            refs = list(profile.secret_refs.values())
            if keep_secrets:
                del doc["profiles"][name]
                self._write(doc)
                if refs:
                    self._delete_all(refs, what=f"secrets of the removed profile {name!r}")
                return
            try:
                saved = {ref: self.secrets.get(ref) for ref in refs}
            except SecretStoreError as exc:
                raise SecretStoreError(
                    f"profile {name!r} not removed, nothing changed: its secrets cannot be deleted, {exc}"
                ) from None
            deleted: list[str] = []
            try:
                for ref in refs:
                    self.secrets.delete(ref)
                    deleted.append(ref)
                del doc["profiles"][name]
                self._write(doc)
            except (ProfileError, SecretStoreError):
                for ref in deleted:
                    value = saved[ref]
                    if value is not None:
                        with contextlib.suppress(SecretStoreError):
                            self.secrets.set(ref, value)
                raise

    def copy(self, source: str, target: str) -> Profile:
        """Duplicate a profile under a new name, secrets included (as new keyring entries)."""
        check_name(target)
        original = self.get(source)
        values = self.secret_values(original) if original.secret_refs else {}
        duplicate = replace(
            original,
            name=ProfileName(target),
            options=merge_secrets(original.options, values),
            secret_refs={},
        )
        return self.add(duplicate)

    def rename(self, old: str, new: str) -> Profile:
        """Rename a profile; its secrets move to references under the new name.

        One write of the file: the profile's table (with its comments and unknown keys)
        moves to the new name. The secrets are copied to the new references first and
        the old entries deleted last, so a failure on the way leaves the old profile
        whole and no new entry behind.
        """
        check_name(new)
        if old == new:
            return self.get(old)
        with self._locked():
            doc, profiles = self._read()
            profile = profiles.get(ProfileName(old))
            if profile is None:
                raise self._unknown(old, profiles)
            if new in profiles:
                raise ProfileError(
                    f"a profile named {new!r} already exists: remove it first or choose another name"
                )
            values = {kind: self.secrets.get(ref) for kind, ref in profile.secret_refs.items()}
            refs = {kind: secret_ref(new, kind) for kind in profile.secret_refs}
            renamed = replace(profile, name=ProfileName(new), secret_refs=refs)
            written: list[str] = []
            try:
                for kind, value in values.items():
                    if value is not None:
                        self.secrets.set(refs[kind], value)
                        written.append(refs[kind])
                table = doc["profiles"][old]
                moved = deepcopy(table)
                _apply(moved, profile_values(renamed), DEFAULT_VALUES)
                doc["profiles"][new] = moved
                del doc["profiles"][old]
                self._write(doc)
            except (ProfileError, SecretStoreError):
                self._forget(written)
                raise
            self._delete_all(profile.secret_refs.values(), what=f"secrets of the old name {old!r}")
            return renamed

    def export(self, names: Iterable[str] | None = None, *, with_secrets: bool = False) -> str:
        """Profiles as TOML text for another machine.

        Secrets are left out (their kinds are listed under ``secrets_not_exported`` so
        an import can say what to set again) unless ``with_secrets``, in which case their
        values are written under ``secret_values`` in plain text.
        """
        profiles = self._read()[1]
        chosen = list(profiles) if names is None else list(names)
        out = tomlkit.document()
        out.add(
            tomlkit.comment("mqttws-explorer profiles export (import with `mqttws-explorer profiles import`)")
        )
        if with_secrets:
            out.add(tomlkit.comment("WARNING: this file contains passwords in plain text."))
        else:
            out.add(tomlkit.comment("Secrets are not included: set them again after importing."))
        out.add("version", FORMAT_VERSION)
        table = tomlkit.table(is_super_table=True)
        for name in chosen:
            profile = profiles.get(ProfileName(name))
            if profile is None:
                raise self._unknown(name, profiles)
            values = profile_values(profile)
            values["secrets"] = None
            entry = tomlkit.table()
            _apply(entry, values, DEFAULT_VALUES)
            if profile.secret_refs:
                if with_secrets:
                    secret_table = tomlkit.table()
                    for kind, value in self.secret_values(profile).items():
                        secret_table[kind] = value
                    entry["secret_values"] = secret_table
                else:
                    entry["secrets_not_exported"] = list(profile.secret_refs)
            table[name] = entry
        out["profiles"] = table
        return tomlkit.dumps(out)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise read-modify-write cycles between processes (see :func:`locked`)."""
        with locked(self.path):
            yield

    def _write(self, doc: TOMLDocument) -> None:
        write_atomic(self.path, tomlkit.dumps(doc))


def parse_profiles(
    text: str,
    source: str,
    warnings: list[str],
    *,
    extra_keys: Mapping[str, Any] | None = None,
) -> tuple[TOMLDocument, dict[str, Profile]]:
    """Parse and validate a profiles file (or export) held in ``text``.

    Raises:
        ProfileError: a syntax error (with line and column) or a bad value (with the
            line and key).
    """
    doc, profiles, _ = parse_profiles_with_extras(text, source, warnings, extra_keys=extra_keys)
    return doc, profiles


def parse_profiles_with_extras(
    text: str,
    source: str,
    warnings: list[str],
    *,
    extra_keys: Mapping[str, Any] | None = None,
    prepare: Callable[[TOMLDocument], None] | None = None,
) -> tuple[TOMLDocument, dict[str, Profile], dict[str, dict[str, Any]]]:
    """Like :func:`parse_profiles`, also returning the values of ``extra_keys`` per profile.

    ``prepare`` may adjust the parsed document before validation (the export reader
    fills in placeholders); line numbers in errors still refer to ``text``.
    """
    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise ProfileError(f"{source} line {exc.line} column {exc.col}: {_parse_message(exc)}") from None
    except tomlkit.exceptions.TOMLKitError as exc:
        raise ProfileError(f"{source}: not valid TOML: {exc}") from None
    if prepare is not None:
        prepare(doc)
    finder = LineFinder(text)
    version = _plain(doc.get("version", FORMAT_VERSION))
    if isinstance(version, bool) or not isinstance(version, int):
        raise ProfileError(f"{source} {finder.where((), 'version')}: 'version' must be a whole number")
    if version > FORMAT_VERSION:
        raise ProfileError(
            f"{source} uses profile format version {version}, newer than this mqttws-explorer "
            f"understands ({FORMAT_VERSION}): upgrade mqttws-explorer"
        )
    for key in doc:
        if key not in ("version", "profiles"):
            warnings.append(
                f"{source} {finder.where((), key)}: unknown top-level key {key!r} (kept, not used)"
            )
    table = doc.get("profiles", {})
    if not isinstance(table, (Table, dict)):
        raise ProfileError(f"{source} {finder.where((), 'profiles')}: 'profiles' must be a table")
    profiles: dict[str, Profile] = {}
    extras: dict[str, dict[str, Any]] = {}
    for name, entry in table.items():
        profile, extra = profile_from_table(
            name, entry, finder=finder, source=source, warnings=warnings, extra_keys=extra_keys
        )
        profiles[ProfileName(name)] = profile
        extras[name] = extra
    return doc, profiles, extras


def _parse_message(exc: tomlkit.exceptions.ParseError) -> str:
    message = str(exc)
    suffix = f" at line {exc.line} col {exc.col}"
    return message[: -len(suffix)] if message.endswith(suffix) else message
