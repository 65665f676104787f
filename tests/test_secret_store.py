"""Secret stores: the real keyring path (a file backend), the no-backend path, memory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backends import chainer, fail, null

from explorer.errors import SecretStoreError
from explorer.profiles.secret_store import SERVICE, KeyringSecretStore, MemorySecretStore, SecretStore
from tests.keyring_support import file_keyring

__all__ = ["file_keyring"]


def test_keyring_store_round_trips_a_secret_through_the_backend_file(file_keyring: Any) -> None:
    store = KeyringSecretStore()
    store.set("profile/prod/password", "s3cr3t-value")
    assert store.get("profile/prod/password") == "s3cr3t-value"
    # It really went through the backend, under our service name.
    assert file_keyring.get_password(SERVICE, "profile/prod/password") == "s3cr3t-value"
    assert Path(file_keyring.file_path).is_file()


def test_keyring_store_returns_none_for_a_missing_secret(file_keyring: Any) -> None:
    assert KeyringSecretStore().get("profile/none/password") is None


def test_keyring_store_delete_removes_and_tolerates_missing(file_keyring: Any) -> None:
    store = KeyringSecretStore()
    store.set("profile/a/password", "x")
    store.delete("profile/a/password")
    assert store.get("profile/a/password") is None
    store.delete("profile/a/password")  # already gone: no error
    assert store.get("profile/a/password") is None


def test_keyring_store_uses_an_explicit_backend_over_the_global_one(
    file_keyring: Any, tmp_path: Path
) -> None:
    from keyrings.alt.file import PlaintextKeyring

    other = PlaintextKeyring()
    other.file_path = str(tmp_path / "other.cfg")
    store = KeyringSecretStore(other)
    store.set("ref", "value-in-other")
    assert other.get_password(SERVICE, "ref") == "value-in-other"
    assert file_keyring.get_password(SERVICE, "ref") is None


def _backend(cls: Any) -> Any:
    """An instance of a keyring backend class (keyring's classes are untyped)."""
    return cls()


@pytest.mark.parametrize("backend_class", [fail.Keyring, null.Keyring], ids=["fail", "null"])
def test_no_backend_raises_with_the_fix_and_the_per_use_alternatives(backend_class: Any) -> None:
    store = KeyringSecretStore(_backend(backend_class))
    calls: list[Callable[[], object]] = [
        lambda: store.get("r"),
        lambda: store.set("r", "v"),
        lambda: store.delete("r"),
    ]
    for call in calls:
        with pytest.raises(SecretStoreError) as info:
            call()
        message = str(info.value)
        assert "GNOME Keyring" in message
        assert "KeePassXC" in message
        assert "keyrings.alt" in message
        assert "--password-stdin" in message
        assert "--password-env" in message
        assert "prompt" in message


def test_global_fail_backend_is_detected() -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(_backend(fail.Keyring))
    try:
        with pytest.raises(SecretStoreError, match="no usable OS keyring"):
            KeyringSecretStore().set("r", "v")
    finally:
        keyring.set_keyring(previous)


def test_chainer_without_members_counts_as_no_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    # A chain with nothing behind it stores nothing; it must not look like a keyring.
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
    with pytest.raises(SecretStoreError):
        KeyringSecretStore(_backend(chainer.ChainerBackend)).get("r")


class _RefusingKeyring(keyring.backend.KeyringBackend):
    """A backend that is present but refuses (a locked keyring)."""

    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("the collection is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("the collection is locked")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.KeyringLocked("the collection is locked")


def test_a_locked_keyring_is_reported_without_the_secret_value() -> None:
    store = KeyringSecretStore(_backend(_RefusingKeyring))
    with pytest.raises(SecretStoreError) as info:
        store.set("profile/p/password", "never-shown-value")
    assert "locked" in str(info.value)
    assert "never-shown-value" not in str(info.value)
    with pytest.raises(SecretStoreError, match="unlock"):
        store.get("profile/p/password")


def test_memory_store_meets_the_protocol_and_hides_values_in_repr() -> None:
    store = MemorySecretStore({"a": "one"})
    assert isinstance(store, SecretStore)
    assert isinstance(KeyringSecretStore(), SecretStore)
    store.set("b", "two")
    assert store.get("a") == "one"
    assert store.get("b") == "two"
    store.delete("a")
    store.delete("a")
    assert store.get("a") is None
    assert "two" not in repr(store)


@pytest.fixture
def auto_picked_file_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """keyrings.alt's PlaintextKeyring as keyring's own pick: nothing configured by the user."""
    from keyrings.alt.file import PlaintextKeyring

    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no keyringrc.cfg there
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "data" / "keyring_pass.cfg")
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


def test_a_plain_file_keyring_picked_by_keyring_itself_is_refused(auto_picked_file_keyring: Any) -> None:
    store = KeyringSecretStore()
    with pytest.raises(SecretStoreError) as info:
        store.set("profile/p/password", "must-not-land-in-a-file")
    message = str(info.value)
    assert "no usable OS keyring" in message
    assert "keyrings.alt.file.PlaintextKeyring" in message
    assert "PYTHON_KEYRING_BACKEND" in message
    assert "GNOME Keyring" in message
    assert "--password-stdin" in message
    assert not Path(auto_picked_file_keyring.file_path).exists()
    with pytest.raises(SecretStoreError, match="in a file"):
        store.get("profile/p/password")


def test_a_file_keyring_named_in_keyringrc_is_accepted(auto_picked_file_keyring: Any, tmp_path: Path) -> None:
    rc = tmp_path / "config" / "python_keyring" / "keyringrc.cfg"
    rc.parent.mkdir(parents=True)
    rc.write_text("[backend]\ndefault-keyring = keyrings.alt.file.PlaintextKeyring\n")
    store = KeyringSecretStore()
    store.set("profile/p/password", "chosen-file-store")
    assert auto_picked_file_keyring.get_password(SERVICE, "profile/p/password") == "chosen-file-store"


def test_a_chain_uses_its_os_keyring_never_the_file_behind_it(
    auto_picked_file_keyring: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # keyring chains every installed backend; a locked OS keyring must not fall through to a file.
    chain = _backend(chainer.ChainerBackend)
    monkeypatch.setattr(
        chainer.ChainerBackend, "backends", [_backend(_RefusingKeyring), auto_picked_file_keyring]
    )
    keyring.set_keyring(chain)
    with pytest.raises(SecretStoreError, match="locked"):
        KeyringSecretStore().set("profile/p/password", "v")
    assert not Path(auto_picked_file_keyring.file_path).exists()
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [auto_picked_file_keyring])
    with pytest.raises(SecretStoreError, match="PlaintextKeyring"):
        KeyringSecretStore().set("profile/p/password", "v")


def test_place_names_a_chosen_file_keyring_and_calls_only_real_ones_os_keyrings(file_keyring: Any) -> None:
    assert KeyringSecretStore().place == "the file keyring keyrings.alt.file.PlaintextKeyring"
    assert KeyringSecretStore(_backend(_RefusingKeyring)).place == "the OS keyring"
