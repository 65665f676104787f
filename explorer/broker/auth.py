"""Authentication (a password file) and authorisation (a Mosquitto-style ACL file).

Password file: one ``username:hash`` per line, ``#`` comments allowed. Hashes use the
``$7$ITERATIONS$SALT$HASH`` PBKDF2-SHA512 form that ``mosquitto_passwd`` writes
(salt and hash base64), so an existing Mosquitto file works here and a file made by
``mqttws-explorer broker --add-user FILE USER`` works in Mosquitto. The older ``$6$``
(one round of salted SHA-512) is read too. Passwords are never logged or kept.

ACL file (Mosquitto's ``acl_file`` format)::

    # lines before any "user" line apply to anonymous clients
    topic read public/#
    user alice
    topic readwrite alice/#
    topic deny alice/secret
    pattern readwrite devices/%c/#      # every client; %c client id, %u username

Access is ``read``, ``write``, ``readwrite`` (the default) or ``deny``. With an ACL
file, anything not granted is refused, and a ``deny`` match wins over grants. A
SUBSCRIBE is allowed when a read rule's topic covers the whole filter; a PUBLISH when
a write rule's topic matches the topic name. A message is delivered to a subscriber
only if it may read the message's topic, so ``deny`` rules inside a granted wildcard
subscription still hold.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass, field
from pathlib import Path

from explorer.errors import ExplorerError

__all__ = ["Acl", "AclRule", "PasswordFile", "add_user", "hash_password", "load_acl", "load_password_file"]

_PBKDF2_ITERATIONS = 50_000
_SALT_BYTES = 12


def hash_password(password: str, *, iterations: int = _PBKDF2_ITERATIONS, salt: bytes | None = None) -> str:
    """A ``$7$`` PBKDF2-SHA512 entry for ``password`` with a fresh random salt."""
    salt = os.urandom(_SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def _verify(entry: str, password: bytes) -> bool:
    parts = entry.split("$")
    try:
        if len(parts) == 5 and parts[1] == "7":
            iterations = int(parts[2])
            salt = base64.b64decode(parts[3], validate=True)
            expected = base64.b64decode(parts[4], validate=True)
            actual = hashlib.pbkdf2_hmac("sha512", password, salt, iterations)
            return hmac.compare_digest(actual, expected)
        if len(parts) == 4 and parts[1] == "6":
            salt = base64.b64decode(parts[2], validate=True)
            expected = base64.b64decode(parts[3], validate=True)
            return hmac.compare_digest(hashlib.sha512(password + salt).digest(), expected)
    except ValueError:
        return False
    return False


@dataclass(frozen=True, slots=True)
class PasswordFile:
    """Users and their password hashes."""

    entries: dict[str, str] = field(default_factory=dict)

    def verify(self, username: str | None, password: bytes | None) -> bool:
        if username is None or password is None:
            return False
        entry = self.entries.get(username)
        if entry is None:
            # Spend comparable time so that a probe cannot tell unknown users apart.
            _verify(hash_password("", iterations=_PBKDF2_ITERATIONS, salt=b"\0" * _SALT_BYTES), password)
            return False
        return _verify(entry, password)


def _read_text(path: Path, what: str) -> str:
    """The UTF-8 text of ``path``; an unreadable or non-UTF-8 file is a one-line error."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ExplorerError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ExplorerError(
            f"{path}:{line}: {what} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None


def load_password_file(path: Path) -> PasswordFile:
    """Read a password file; bad lines are an error naming the line, not a silent skip."""
    text = _read_text(path, "password file")
    entries: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, entry = line.partition(":")
        if not sep or not user or not entry.startswith(("$7$", "$6$")):
            raise ExplorerError(
                f"{path}:{number}: expected 'username:$7$...' (create entries with "
                "'mqttws-explorer broker --add-user FILE USER' or mosquitto_passwd)"
            )
        entries[user] = entry
    return PasswordFile(entries)


def add_user(path: Path, username: str, password: str) -> None:
    """Add or replace ``username`` in the password file at ``path`` (created if missing)."""
    if not username or ":" in username:
        raise ExplorerError("a user name must be non-empty and must not contain ':'")
    lines: list[str] = []
    if path.is_dir():
        raise ExplorerError(f"cannot write password file {path}: it is a directory")
    if path.exists():
        lines = [
            line
            for line in _read_text(path, "password file").splitlines()
            if line.partition(":")[0].strip() != username
        ]
    lines.append(f"{username}:{hash_password(password)}")
    try:
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        os.chmod(path, 0o600)
    except OSError as exc:
        raise ExplorerError(f"cannot write password file {path}: {exc.strerror or exc}") from None


_ACCESS = {"read": (True, False), "write": (False, True), "readwrite": (True, True), "deny": (True, True)}


@dataclass(frozen=True, slots=True)
class AclRule:
    topic: str
    read: bool
    write: bool
    deny: bool = False
    pattern: bool = False  # %c / %u substituted per client


def _covers(rule: list[str], wanted: list[str]) -> bool:
    """Whether every topic matched by filter ``wanted`` is matched by filter ``rule``."""
    for index, level in enumerate(rule):
        if level == "#":
            return True
        if index >= len(wanted):
            return False
        other = wanted[index]
        if level == "+":
            if other == "#":
                return False
            continue
        if level != other:
            return False
    return len(rule) == len(wanted)


@dataclass(frozen=True, slots=True)
class Acl:
    """Rules by user name (``None``: anonymous) plus patterns for every client."""

    users: dict[str | None, tuple[AclRule, ...]] = field(default_factory=dict)
    patterns: tuple[AclRule, ...] = ()

    def _rules(self, client_id: str, username: str | None) -> list[tuple[AclRule, list[str]]]:
        rules = [(rule, rule.topic.split("/")) for rule in self.users.get(username, ())]
        for rule in self.patterns:
            levels = []
            for level in rule.topic.split("/"):
                if level in ("%c", "%u"):
                    value = client_id if level == "%c" else username
                    # A value that is empty or holds wildcards or separators never matches.
                    if not value or any(ch in value for ch in "+#/"):
                        break
                    level = value
                levels.append(level)
            else:
                rules.append((rule, levels))
        return rules

    def may_subscribe(self, client_id: str, username: str | None, topic_filter: str) -> bool:
        wanted = topic_filter.split("/")
        granted = False
        for rule, levels in self._rules(client_id, username):
            if not _covers(levels, wanted):
                continue
            if rule.deny:
                return False
            if rule.read:
                granted = True
        return granted

    def may_read(self, client_id: str, username: str | None, topic: str) -> bool:
        return self._allowed(client_id, username, topic, read=True)

    def may_publish(self, client_id: str, username: str | None, topic: str) -> bool:
        return self._allowed(client_id, username, topic, read=False)

    def _allowed(self, client_id: str, username: str | None, topic: str, *, read: bool) -> bool:
        wanted = topic.split("/")
        granted = False
        for rule, levels in self._rules(client_id, username):
            if not _covers(levels, wanted):
                continue
            if rule.deny:
                return False
            if rule.read if read else rule.write:
                granted = True
        return granted


def load_acl(path: Path) -> Acl:
    """Parse a Mosquitto ``acl_file``; an unknown keyword is an error naming the line."""
    text = _read_text(path, "ACL file")
    users: dict[str | None, list[AclRule]] = {None: []}
    patterns: list[AclRule] = []
    current: str | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        rest = rest.strip()
        if keyword == "user":
            if not rest:
                raise ExplorerError(f"{path}:{number}: 'user' needs a user name")
            current = rest
            users.setdefault(current, [])
            continue
        if keyword not in ("topic", "pattern"):
            raise ExplorerError(f"{path}:{number}: expected 'user', 'topic' or 'pattern', got {keyword!r}")
        access, _, topic = rest.partition(" ")
        if access in _ACCESS:
            topic = topic.strip()
        else:
            access, topic = "readwrite", rest
        if not topic:
            raise ExplorerError(f"{path}:{number}: {keyword!r} needs a topic")
        read, write = _ACCESS[access]
        rule = AclRule(topic, read, write, deny=access == "deny", pattern=keyword == "pattern")
        if keyword == "pattern":
            patterns.append(rule)
        else:
            users[current].append(rule)
    return Acl({user: tuple(rules) for user, rules in users.items()}, tuple(patterns))
