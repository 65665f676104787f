"""A real file-backed keyring in a temporary directory, for profile and CLI tests.

keyrings.alt's PlaintextKeyring is a real ``keyring`` backend (it reads and writes
its own file), which lets the tests check what actually lands on disk, including
that secrets land in the keyring file and nowhere under the config directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backends import fail
from keyrings.alt.file import PlaintextKeyring

from explorer.profiles.secret_store import KeyringSecretStore

__all__ = ["KEYRING_ENV", "config_dir", "file_keyring"]

KEYRING_ENV = "keyrings.alt.file.PlaintextKeyring"


@pytest.fixture
def file_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A PlaintextKeyring in tmp_path/keyring, installed as the process's keyring.

    The environment is set too, so child processes (CLI runs) use the same file.
    """
    data_home = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", KEYRING_ENV)
    backend = PlaintextKeyring()
    backend.file_path = str(data_home / "python_keyring" / "keyring_pass.cfg")
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty MQTTWS_CONFIG_DIR in tmp_path/config."""
    path = tmp_path / "config"
    monkeypatch.setenv("MQTTWS_CONFIG_DIR", str(path))
    return path


def no_keyring() -> KeyringSecretStore:
    """The OS keyring as on a headless box: keyring's fail backend."""
    backend: Any = fail.Keyring()  # type: ignore[no-untyped-call]
    return KeyringSecretStore(backend)
