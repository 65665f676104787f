"""Profile changes that touch secrets do both halves or neither when the keyring is gone.

The profiles are made with a real file keyring; then the commands run in a child whose
``PYTHON_KEYRING_BACKEND`` is keyring's fail backend (a headless box with no Secret
Service), or names a backend that does not exist. The file and the keyring file are
compared before and after: a refused change leaves both as they were and says why on
one line.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from explorer.cli import main
from explorer.profiles.store import ProfileStore
from tests.keyring_support import config_dir, file_keyring

__all__ = ["config_dir", "file_keyring"]

ROOT = Path(__file__).parent.parent.parent
SERVICE = "mqttws-explorer"
FAIL_BACKEND = "keyring.backends.fail.Keyring"


def _cli(*argv: str, backend: str = FAIL_BACKEND) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": backend}
    return subprocess.run(
        [sys.executable, "-m", "explorer", "profiles", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )


@pytest.fixture
def with_secrets(config_dir: Path, file_keyring: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(sys, "stdin", io.StringIO("pw-1"))
    argv = ["profiles", "add", "p", "--url", "ws://h/mqtt", "-u", "u", "--password-stdin"]
    assert main([*argv, "--secret-header", "Authorization: Bearer t-1"]) == 0
    return config_dir / "profiles.toml"


def _state(profiles: Path, file_keyring: Any) -> tuple[str, str]:
    return profiles.read_text(), Path(file_keyring.file_path).read_text()


def _one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, done
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.mark.parametrize(
    "argv",
    [
        ("rm", "p"),
        ("rename", "p", "q"),
        ("copy", "p", "q"),
        ("edit", "p", "--no-password"),
        ("edit", "p", "--unset", "secret_headers"),
    ],
)
def test_without_a_keyring_nothing_changes_and_the_error_says_why(
    with_secrets: Path, file_keyring: Any, argv: tuple[str, ...]
) -> None:
    before = _state(with_secrets, file_keyring)
    line = _one_line_error(_cli(*argv))
    assert "no usable OS keyring" in line
    assert _state(with_secrets, file_keyring) == before
    assert ProfileStore().names() == ["p"]


def test_rm_says_nothing_changed_and_offers_keep_secrets(with_secrets: Path, file_keyring: Any) -> None:
    line = _one_line_error(_cli("rm", "p"))
    assert "not removed, nothing changed" in line
    assert "profiles rm p --keep-secrets" in line
    done = _cli("rm", "p", "--keep-secrets")
    assert done.returncode == 0, done.stderr
    assert "its secrets stay in the keyring" in done.stdout
    assert "'profile/p/password'" in done.stderr  # the entries left behind are named
    assert ProfileStore().names() == []
    assert file_keyring.get_password(SERVICE, "profile/p/password") == "pw-1"


def test_an_unknown_keyring_backend_is_one_line_naming_the_variable(
    with_secrets: Path, file_keyring: Any
) -> None:
    before = _state(with_secrets, file_keyring)
    line = _one_line_error(_cli("rm", "p", backend="no.such.Backend"))
    assert "PYTHON_KEYRING_BACKEND=no.such.Backend" in line
    assert _state(with_secrets, file_keyring) == before


def test_rename_carries_the_secrets_and_removes_the_old_entries(
    with_secrets: Path, file_keyring: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = with_secrets.read_text().replace("[profiles.p]\n", "[profiles.p]\n# kept comment\nlater = 1\n")
    with_secrets.write_text(text)
    assert main(["profiles", "rename", "p", "q"]) == 0
    assert file_keyring.get_password(SERVICE, "profile/q/password") == "pw-1"
    assert file_keyring.get_password(SERVICE, "profile/q/header/Authorization") == "Bearer t-1"
    assert file_keyring.get_password(SERVICE, "profile/p/password") is None
    assert file_keyring.get_password(SERVICE, "profile/p/header/Authorization") is None
    text = with_secrets.read_text()
    assert "# kept comment" in text
    assert "later = 1" in text
    assert "profile/p/" not in text
    store = ProfileStore()
    options = store.to_options(store.get("q"))
    assert options.password == b"pw-1"
    assert options.secret_headers == (("Authorization", "Bearer t-1"),)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["profiles", "add", "r", "--url", "ws://h/"]) == 0
    assert main(["profiles", "rename", "q", "r"]) == 1  # the target exists: refused
    assert file_keyring.get_password(SERVICE, "profile/q/password") == "pw-1"
