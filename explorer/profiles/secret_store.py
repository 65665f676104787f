"""Where profile secrets live: the OS keyring, never the profile file.

A profile names its secrets by reference (a keyring "username" such as
``profile/prod/password`` under the service ``mqttws-explorer``); this module reads and
writes the values behind those references.

:class:`KeyringSecretStore` refuses to work when the ``keyring`` package has no usable
backend (a headless Linux box without a Secret Service, a locked keyring) and says
how to fix it. A backend that keyring picked on its own but that is no OS keyring (a
keyrings.alt file store, which ``pip install keyrings.alt`` makes the default on a
box without a Secret Service) is refused the same way, unless the user chose it by
name (``PYTHON_KEYRING_BACKEND`` or ``keyringrc.cfg``). It never falls back to writing
secrets in plain text: a password that silently lands in a dot-file is exactly what this tool exists to avoid.
:class:`MemorySecretStore` keeps secrets in a dict, for tests of other modules and for
one-shot use without persistence.
"""

from __future__ import annotations

import configparser
import os
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from explorer.errors import SecretStoreError

__all__ = [
    "NO_BACKEND_FIX",
    "SERVICE",
    "KeyringSecretStore",
    "MemorySecretStore",
    "SecretStore",
]

SERVICE = "mqttws-explorer"

NO_BACKEND_FIX = (
    "install and unlock a Secret Service (GNOME Keyring or KeePassXC with Secret Service enabled); "
    "or, to accept secrets in a file, choose a keyrings.alt backend explicitly with "
    "PYTHON_KEYRING_BACKEND=keyrings.alt.file.EncryptedKeyring or default-keyring in keyringrc.cfg "
    "(keyrings.alt.file.PlaintextKeyring keeps them readable by anyone who can read the file); "
    "or give the password for this use only with --password-stdin, --password-env VAR, "
    "or at the interactive prompt when stdin is a terminal"
)


@runtime_checkable
class SecretStore(Protocol):
    """Get, set and delete secrets by reference."""

    def get(self, ref: str) -> str | None:
        """The secret stored under ``ref``, or None when there is none."""

    def set(self, ref: str, value: str) -> None:
        """Store ``value`` under ``ref``, replacing any previous value."""

    def delete(self, ref: str) -> None:
        """Remove the secret under ``ref``; no error when there is none."""


class MemorySecretStore:
    """Secrets in a dict: for tests and for uses that must not persist anything."""

    def __init__(self, initial: dict[str, str] | None = None) -> None:
        self.values: dict[str, str] = dict(initial or {})

    def get(self, ref: str) -> str | None:
        return self.values.get(ref)

    def set(self, ref: str, value: str) -> None:
        self.values[ref] = value

    def delete(self, ref: str) -> None:
        self.values.pop(ref, None)

    def __repr__(self) -> str:
        return f"MemorySecretStore({len(self.values)} secrets)"


def _is_unusable(backend: Any) -> bool:
    """True for keyring's fail/null backends, alone or as the only members of a chain.

    ``keyring.backends.fail.Keyring`` raises on every call and ``null.Keyring`` silently
    stores nothing; both mean "no keyring here" and must be reported, not used.
    """
    from keyring.backends import chainer, fail, null

    if isinstance(backend, (fail.Keyring, null.Keyring)):
        return True
    if isinstance(backend, chainer.ChainerBackend):
        members = list(backend.backends)
        return not members or all(_is_unusable(member) for member in members)
    return False


def _stores_in_a_file(backend: Any) -> bool:
    """True for a backend that is not an OS keyring: a keyrings.alt store or one keyring ranks below 1.

    keyrings.alt's backends keep secrets in a file of their own (PlaintextKeyring only
    base64-encodes them); keyring itself calls a backend of priority below 1 "not
    recommended" (``keyring.core.recommended``), which is what the alt stores declare.
    """
    module = type(backend).__module__
    if module == "keyrings.alt" or module.startswith("keyrings.alt."):
        return True
    try:
        priority = float(backend.priority)
    except Exception:  # a backend may raise from priority when it is not viable here
        return True
    return priority < 1


def _configured_backend_name() -> str | None:
    """The backend the user named: ``PYTHON_KEYRING_BACKEND`` or ``default-keyring`` in keyringrc.cfg.

    Mirrors ``keyring.core.load_env`` and ``load_config``, which ``keyring.get_keyring``
    consults before it picks a backend by priority on its own.
    """
    named = os.environ.get("PYTHON_KEYRING_BACKEND", "").strip()
    if named:
        return named
    from keyring.util import platform_

    config = configparser.RawConfigParser()
    try:
        config.read(Path(platform_.config_root()) / "keyringrc.cfg", encoding="utf-8")
        named = config.get("backend", "default-keyring").strip()
    except (configparser.Error, OSError, UnicodeDecodeError):
        return None
    return named or None


def _load_keyring() -> Any:
    """keyring's backend, or a one-line error when the backend the user named cannot be loaded."""
    import keyring

    try:
        return keyring.get_keyring()
    except Exception as exc:  # keyring imports the named class: any import or init error
        named = os.environ.get("PYTHON_KEYRING_BACKEND", "").strip()
        where = f"PYTHON_KEYRING_BACKEND={named}" if named else "default-keyring in keyringrc.cfg"
        detail = str(exc) or type(exc).__name__
        raise SecretStoreError(
            f"{where} names a keyring backend that cannot be loaded ({detail}): unset it, or name an "
            "installed one such as keyring.backends.SecretService.Keyring "
            "(`python -m keyring --list-backends` lists them)"
        ) from None


def _name(backend: Any) -> str:
    return type(backend).__module__ + "." + type(backend).__name__


def _refuse_file_store(backend: Any) -> SecretStoreError:
    return SecretStoreError(
        f"no usable OS keyring (keyring picked {_name(backend)} on its own, which keeps secrets "
        f"in a file, not in an OS keyring): {NO_BACKEND_FIX}"
    )


class KeyringSecretStore:
    """Secrets in the OS keyring (service ``mqttws-explorer``) via the ``keyring`` package.

    Args:
        backend: a keyring backend instance to use instead of the one ``keyring`` picks
            (tests pass a keyrings.alt file backend in a temporary directory).
        service: the keyring service name.
    """

    def __init__(self, backend: Any = None, *, service: str = SERVICE) -> None:
        self._backend = backend
        self.service = service

    def _keyring(self) -> Any:
        backend = self._backend if self._backend is not None else _load_keyring()
        if _is_unusable(backend):
            raise SecretStoreError(
                f"no usable OS keyring (keyring backend is {_name(backend)}): {NO_BACKEND_FIX}"
            )
        if self._backend is None and _configured_backend_name() is None:
            backend = self._os_keyring_only(backend)
        return backend

    @staticmethod
    def _os_keyring_only(backend: Any) -> Any:
        """The backend keyring picked by itself, refused when it would write a file.

        A chain (keyring's choice when several backends are installed) falls through to
        its next member when the first refuses, so a locked Secret Service would land
        the secret in a keyrings.alt file: use the chain's best OS keyring instead.
        """
        from keyring.backends import chainer

        if isinstance(backend, chainer.ChainerBackend):
            members = [member for member in backend.backends if not _is_unusable(member)]
            os_members = [member for member in members if not _stores_in_a_file(member)]
            if not os_members:
                raise _refuse_file_store(members[0] if members else backend)
            return os_members[0]
        if _stores_in_a_file(backend):
            raise _refuse_file_store(backend)
        return backend

    @property
    def place(self) -> str:
        """Where the secrets go, for messages: "the OS keyring" or the file keyring the user chose."""
        try:
            backend = self._keyring()
        except SecretStoreError:
            return "the OS keyring"
        if _stores_in_a_file(backend):
            return f"the file keyring {_name(backend)}"
        return "the OS keyring"

    def get(self, ref: str) -> str | None:
        backend = self._keyring()
        try:
            value = backend.get_password(self.service, ref)
        except Exception as exc:  # keyring backends raise many unrelated types
            raise self._error("read", ref, exc) from None
        return None if value is None else str(value)

    def set(self, ref: str, value: str) -> None:
        backend = self._keyring()
        try:
            backend.set_password(self.service, ref, value)
        except Exception as exc:
            raise self._error("store", ref, exc) from None

    def delete(self, ref: str) -> None:
        backend = self._keyring()
        from keyring.errors import PasswordDeleteError

        try:
            backend.delete_password(self.service, ref)
        except PasswordDeleteError:
            return  # nothing stored under ref: deleting is already done
        except Exception as exc:
            raise self._error("delete", ref, exc) from None

    def _error(self, verb: str, ref: str, exc: Exception) -> SecretStoreError:
        # The exception text comes from the backend; it never contains the secret value.
        detail = str(exc) or type(exc).__name__
        return SecretStoreError(
            f"the OS keyring refused to {verb} {ref!r} ({detail}); unlock the keyring, or {NO_BACKEND_FIX}"
        )

    def __repr__(self) -> str:
        return f"KeyringSecretStore(service={self.service!r})"
