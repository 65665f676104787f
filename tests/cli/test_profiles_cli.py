"""``mqttws-explorer profiles ...``: real file keyring, real config directory."""

from __future__ import annotations

import io
import os
import pty
import select
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from explorer.cli import main
from explorer.client.options import ConnectionOptions
from explorer.profiles.format import Profile, ProfileName
from explorer.profiles.store import ProfileStore
from tests.keyring_support import config_dir, file_keyring

__all__ = ["config_dir", "file_keyring"]

FIXTURES = Path(__file__).parent.parent / "fixtures"
SERVICE = "mqttws-explorer"


@pytest.fixture
def env(config_dir: Path, file_keyring: Any) -> Path:
    return config_dir


def _run(argv: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(["profiles", *argv])


def test_add_with_password_stdin_stores_it_in_the_keyring(
    env: Path, file_keyring: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run(
        ["add", "prod", "--url", "wss://b.example/mqtt", "--username", "u", "--password-stdin", "-t", "a/#"],
        monkeypatch,
        stdin="s3cret\n",
    )
    assert code == 0
    # The test keyring is a file store chosen by name: the message says so, not "OS keyring".
    assert "in the file keyring keyrings.alt.file.PlaintextKeyring: MQTT password" in capsys.readouterr().out
    assert file_keyring.get_password(SERVICE, "profile/prod/password") == "s3cret"
    text = (env / "profiles.toml").read_text()
    assert "s3cret" not in text
    assert 'username = "u"' in text


def test_add_without_a_terminal_stores_no_password_and_says_how(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(["add", "prod", "--url", "ws://h/", "--username", "u"], monkeypatch) == 0
    assert "--password-stdin" in capsys.readouterr().err
    assert "password" not in ProfileStore().get("prod").secret_refs


def test_add_asks_for_the_password_on_a_terminal(env: Path, file_keyring: Any) -> None:
    """Run in a child whose stdin is a pseudo-terminal, type the password at the prompt."""
    master, slave = pty.openpty()
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "explorer",
            "profiles",
            "add",
            "prod",
            "--url",
            "wss://b/mqtt",
            "--username",
            "u",
        ],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=slave,
        start_new_session=True,  # no controlling terminal: getpass must use the pty on stdin
        env={**os.environ},
        cwd=Path(__file__).parent.parent.parent,
    )
    os.close(slave)
    seen = b""
    while b"password" not in seen.lower():
        ready, _, _ = select.select([master], [], [], 60)
        assert ready, f"no prompt; saw {seen!r}"
        seen += os.read(master, 1024)
    os.write(master, b"typed-pw\n")
    out, _ = child.communicate(timeout=60)
    os.close(master)
    assert child.returncode == 0, out
    assert b"typed-pw" not in seen  # no echo
    assert file_keyring.get_password(SERVICE, "profile/prod/password") == "typed-pw"


def test_show_masks_secrets(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(
        [
            "add",
            "prod",
            "--url",
            "ws://h/",
            "--username",
            "u",
            "--password-stdin",
            "--secret-header",
            "X-Token: tk",
        ],
        monkeypatch,
        stdin="pw-value",
    )
    capsys.readouterr()
    assert _run(["show", "prod"], monkeypatch) == 0
    out = capsys.readouterr().out
    assert "pw-value" not in out
    assert "tk" not in out.replace("X-Token", "")
    assert "MQTT password: *** (in the file keyring keyrings.alt.file.PlaintextKeyring)" in out
    assert "X-Token header value: ***" in out
    assert _run(["show", "prod", "--json"], monkeypatch) == 0
    assert "pw-value" not in capsys.readouterr().out


def test_list_shows_names_urls_and_users(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(["add", "a", "--url", "ws://a/", "--username", "ua", "--no-password"], monkeypatch)
    _run(["add", "b", "--url", "mqtt://b:1883", "--tag", "lab"], monkeypatch)
    capsys.readouterr()
    assert _run(["list"], monkeypatch) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "URL", "USER", "TAGS"]
    assert lines[1].split() == ["a", "ws://a/", "ua"]
    assert lines[2].split() == ["b", "mqtt://b:1883", "lab"]


def test_edit_overrides_flags_and_keeps_the_rest(
    env: Path, file_keyring: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(
        ["add", "p", "--url", "ws://h/", "--username", "u", "--password-stdin", "--keep-alive", "30"],
        monkeypatch,
        "pw",
    )
    assert _run(["edit", "p", "--keep-alive", "5", "--mqtt-version", "5", "--notes", "lab"], monkeypatch) == 0
    store = ProfileStore()
    profile = store.get("p")
    assert profile.options.keep_alive == 5
    assert profile.notes == "lab"
    assert store.to_options(profile).password == b"pw"
    assert _run(["edit", "p", "--password-stdin"], monkeypatch, "new-pw\n") == 0
    assert file_keyring.get_password(SERVICE, "profile/p/password") == "new-pw"
    assert _run(["edit", "p", "--no-password", "--unset", "keep_alive"], monkeypatch) == 0
    assert file_keyring.get_password(SERVICE, "profile/p/password") is None
    assert ProfileStore().get("p").options.keep_alive == 60


def test_rename_copy_rm(env: Path, file_keyring: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _run(["add", "p", "--url", "ws://h/", "--username", "u", "--password-stdin"], monkeypatch, "pw")
    assert _run(["rename", "p", "q"], monkeypatch) == 0
    assert _run(["copy", "q", "r"], monkeypatch) == 0
    assert _run(["rm", "q"], monkeypatch) == 0
    assert ProfileStore().names() == ["r"]
    assert file_keyring.get_password(SERVICE, "profile/r/password") == "pw"
    assert file_keyring.get_password(SERVICE, "profile/q/password") is None
    assert file_keyring.get_password(SERVICE, "profile/p/password") is None


def test_export_without_secrets_then_with_secrets_warns(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(["add", "p", "--url", "ws://h/", "--username", "u", "--password-stdin"], monkeypatch, "pw-xyz")
    out_file = tmp_path / "export.toml"
    assert _run(["export", "-o", str(out_file)], monkeypatch) == 0
    assert "pw-xyz" not in out_file.read_text()
    assert "without secrets" in capsys.readouterr().err
    assert _run(["export", "p", "--with-secrets", "-o", str(out_file)], monkeypatch) == 0
    assert "pw-xyz" in out_file.read_text()
    assert "IN PLAIN TEXT" in capsys.readouterr().err
    assert oct(os.stat(out_file).st_mode & 0o777) == "0o600"


def test_import_reports_mapped_and_skipped(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(["import", str(FIXTURES / "mqttx-export.json")], monkeypatch) == 0
    out = capsys.readouterr().out
    assert "MQTTX format" in out
    assert "Factory WSS -> profile 'Factory-WSS'" in out
    assert "skipped: clientIdWithTime" in out
    assert "skipped: MQTTX connection 'Broken' not imported" in out
    assert "imported 2 new profile(s)" in out
    assert "mqttx-fixture-secret" not in (env / "profiles.toml").read_text()


def test_import_dry_run_changes_nothing(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(["import", str(FIXTURES / "mqtt-explorer-settings.json"), "--dry-run"], monkeypatch) == 0
    assert "dry run" in capsys.readouterr().out
    assert not env.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["show", "nope"], "no profile named 'nope'"),
        (["add", "x"], "give the broker URL with --url"),
        (["add", "x", "--url", "http://h/"], "unsupported scheme"),
        (["add", "bad/name", "--url", "ws://h/"], "not a valid profile name"),
        (["edit", "missing", "--keep-alive", "3"], "no profile named 'missing'"),
        (["import", "/nonexistent.json"], "cannot read /nonexistent.json"),
    ],
)
def test_errors_are_one_line_and_non_zero(
    env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    assert _run(argv, monkeypatch) == 1
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_unknown_profile_suggests_a_name(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(["add", "prod", "--url", "ws://h/"], monkeypatch)
    capsys.readouterr()
    assert _run(["show", "prdo"], monkeypatch) == 1
    assert "did you mean 'prod'?" in capsys.readouterr().err


def _add_profile_in_child(password: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``profiles add p --url ws://h/ -u u --password-stdin`` in a fresh interpreter."""
    argv = ["profiles", "add", "p", "--url", "ws://h/", "-u", "u", "--password-stdin"]
    return subprocess.run(
        [sys.executable, "-m", "explorer", *argv],
        check=False,
        input=password + "\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).parent.parent.parent,
        timeout=60,
    )


def test_no_keyring_backend_is_one_line_naming_the_fix(config_dir: Path) -> None:
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    child = _add_profile_in_child("pw", env)
    assert child.returncode == 1
    assert child.stderr.count("\n") == 1
    assert "keyrings.alt" in child.stderr
    assert "GNOME Keyring" in child.stderr
    assert not (config_dir / "profiles.toml").exists()


def test_a_file_keyring_that_nobody_chose_is_refused_and_nothing_is_written(
    config_dir: Path, tmp_path: Path
) -> None:
    """keyrings.alt installed, nothing configured: keyring would pick its plain file store."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_KEYRING_BACKEND"}
    env.update(XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "xdg-config"))
    child = _add_profile_in_child("pw-not-in-a-file", env)
    assert child.returncode == 1
    assert child.stderr.count("\n") == 1
    assert "no usable OS keyring" in child.stderr
    assert "PlaintextKeyring" in child.stderr
    assert "in the OS keyring" not in child.stdout
    assert not (tmp_path / "data").exists()
    assert not (config_dir / "profiles.toml").exists()


def _prompt_in_a_pty(argv: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int, bytes]:
    """Start ``mqttws-explorer ARGV`` with a pseudo-terminal as stdin and stderr; wait for its prompt."""
    master, slave = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "explorer", *argv],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=slave,
        start_new_session=True,  # no controlling terminal: getpass must use the pty on stdin
        env=env,
        cwd=Path(__file__).parent.parent.parent,
    )
    os.close(slave)
    seen = b""
    while b"password" not in seen.lower():
        ready, _, _ = select.select([master], [], [], 60)
        assert ready, f"no prompt; saw {seen!r}"
        seen += os.read(master, 1024)
    return child, master, seen


def _rest_of(master: int) -> bytes:
    out = b""
    while True:
        try:
            chunk = os.read(master, 1024)
        except OSError:  # EIO: the child closed the terminal
            return out
        if not chunk:
            return out
        out += chunk


_ADD_WITH_PROMPT = ["profiles", "add", "prod", "--url", "ws://b/mqtt", "--username", "u"]


def _sub_prompting_for_the_stored_password(config_dir: Path) -> list[str]:
    """A profile whose password is in the keyring, used where there is no keyring: sub asks."""
    ProfileStore().add(
        Profile(
            name=ProfileName("prod"),
            options=ConnectionOptions(url="ws://127.0.0.1:9/mqtt", username="u", password=b"pw"),
        )
    )
    return ["sub", "--profile", "prod", "-t", "a/#"]


@pytest.mark.parametrize("where", ["profiles add", "sub --profile"])
def test_ctrl_d_at_the_password_prompt_is_one_line_and_exit_1(
    env: Path, file_keyring: Any, where: str
) -> None:
    child_env = {**os.environ}
    if where == "profiles add":
        argv = _ADD_WITH_PROMPT
    else:
        argv = _sub_prompting_for_the_stored_password(env)
        child_env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    child, master, _ = _prompt_in_a_pty(argv, child_env)
    os.write(master, b"\x04")  # Ctrl-D on an empty line: end of input
    out, _ = child.communicate(timeout=60)
    rest = _rest_of(master)
    os.close(master)
    assert child.returncode == 1, rest
    assert b"Traceback" not in rest
    assert rest.strip().splitlines() == [b"mqttws-explorer: no password given"]
    assert out == b""


def test_ctrl_c_at_the_password_prompt_exits_130_without_a_traceback(env: Path, file_keyring: Any) -> None:
    child, master, _ = _prompt_in_a_pty(_ADD_WITH_PROMPT, {**os.environ})
    child.send_signal(signal.SIGINT)  # what Ctrl-C sends from the terminal
    child.communicate(timeout=60)
    rest = _rest_of(master)
    os.close(master)
    assert child.returncode == 130
    assert b"Traceback" not in rest
    assert not (env / "profiles.toml").exists()
