"""Where profile secrets live: the OS keyring, never the profile file.

A profile names its secrets by reference (a keyring "username" such as
``profile/prod/password`` under the service ``mqttws-explorer``); this module reads and
writes the values behind those references.

:class:`KeyringSecretStore` refuses to work when the ``keyring`` package has no usable
backend (a headless Linux box without a Secret Service, a locked keyring) and says
how to fix it. It never falls back to writing secrets in plain text: a password that
silently lands in a dot-file is exactly what this tool exists to avoid.
:class:`MemorySecretStore` keeps secrets in a dict, for tests of other modules and for
one-shot use without persistence.
"""

from __future__ import annotations

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
    "install and unlock a Secret Service (GNOME Keyring or KeePassXC with Secret Service enabled), "
    "or `pip install keyrings.alt` for a file-based keyring; "
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
        if self._backend is not None:
            backend = self._backend
        else:
            import keyring

            backend = keyring.get_keyring()
        if _is_unusable(backend):
            name = type(backend).__module__ + "." + type(backend).__name__
            raise SecretStoreError(f"no usable OS keyring (keyring backend is {name}): {NO_BACKEND_FIX}")
        return backend

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
