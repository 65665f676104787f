"""A password written in a broker URL is a login, never text in a file, a listing or an export.

``profiles add --url ws://alice:PW@host/mqtt`` moves the user name to the profile and the
password to the keyring, and says so; the connecting commands log in with the URL's user
info (the embedded broker checks it) and show the URL without it; importers treat a host
field holding ``user:password@host`` the same way; a hand-written profile file with a
password in a URL is refused, naming the line, without repeating the password.
"""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from explorer.broker.auth import add_user
from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from explorer.cli import main
from explorer.client.options import ConnectionOptions, parse_url
from explorer.errors import ExplorerError, ProfileError
from explorer.masking import redact_url
from explorer.profiles.importers import parse_import
from explorer.profiles.store import ProfileStore
from tests.keyring_support import config_dir, file_keyring

__all__ = ["config_dir", "file_keyring"]

SECRET = "Url-pw-3b9e!x"
SERVICE = "mqttws-explorer"
ROOT = Path(__file__).parent.parent.parent


def _profiles(argv: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(["profiles", *argv])


def test_profiles_add_moves_the_url_password_to_the_keyring(
    config_dir: Path, file_keyring: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _profiles(["add", "ui", "--url", f"ws://alice:{SECRET}@host/mqtt"], monkeypatch) == 0
    captured = capsys.readouterr()
    assert "the password in the URL is the profile's MQTT password now" in captured.err
    assert file_keyring.get_password(SERVICE, "profile/ui/password") == SECRET
    text = (config_dir / "profiles.toml").read_text()
    assert SECRET not in text
    assert 'url = "ws://host/mqtt"' in text
    assert 'username = "alice"' in text

    for argv in (["list"], ["list", "--json"], ["show", "ui"], ["show", "ui", "--json"], ["export"]):
        assert _profiles(argv, monkeypatch) == 0
        out = capsys.readouterr().out
        assert SECRET not in out, argv
        assert "ws://host/mqtt" in out, argv
    # the profile logs in as alice with the password from the keyring
    options = ProfileStore().to_options(ProfileStore().get("ui"))
    assert (options.url, options.username, options.password) == ("ws://host/mqtt", "alice", SECRET.encode())


def test_profiles_edit_with_a_url_password_and_no_password_flag(
    config_dir: Path, file_keyring: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _profiles(["add", "p", "--url", "ws://h/mqtt"], monkeypatch) == 0
    assert _profiles(["edit", "p", "--url", f"wss://bob:{SECRET}@other/mqtt"], monkeypatch) == 0
    assert file_keyring.get_password(SERVICE, "profile/p/password") == SECRET
    assert SECRET not in (config_dir / "profiles.toml").read_text()
    assert _profiles(["add", "q", "--url", f"ws://bob:{SECRET}@h/mqtt", "--no-password"], monkeypatch) == 0
    assert "not stored (--no-password)" in capsys.readouterr().err
    assert file_keyring.get_password(SERVICE, "profile/q/password") is None
    assert ProfileStore().get("q").options.username == "bob"


def test_a_url_user_that_contradicts_username_is_one_line_error(
    config_dir: Path, file_keyring: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _profiles(["add", "p", "--url", f"ws://alice:{SECRET}@h/mqtt", "--username", "bob"], monkeypatch)
    assert code == 1
    err = capsys.readouterr().err
    assert "give the user name once" in err
    assert SECRET not in err
    assert not (config_dir / "profiles.toml").exists()


def test_a_hand_written_password_in_a_url_is_refused_with_the_line(config_dir: Path) -> None:
    config_dir.mkdir()
    (config_dir / "profiles.toml").write_text(
        f'version = 1\n\n[profiles.old]\nusername = "a"\nurl = "ws://a:{SECRET}@h/mqtt"\n'
    )
    with pytest.raises(ProfileError) as info:
        ProfileStore().list()
    message = str(info.value)
    assert "line 5" in message
    assert "password in plain text in the URL" in message
    assert SECRET not in message


def test_options_take_the_login_out_of_the_url() -> None:
    options = ConnectionOptions(url="ws://al%40ice:p%3Aw@host:8080/mqtt?x=a@b")
    assert options.url == "ws://host:8080/mqtt?x=a@b"
    assert (options.username, options.password) == ("al@ice", b"p:w")
    assert "p:w" not in repr(options)
    assert options.with_changes(keep_alive=5).password == b"p:w"
    with pytest.raises(ExplorerError, match="give the password once"):
        ConnectionOptions(url="ws://a:one@h/", password=b"two")
    with pytest.raises(ExplorerError) as info:
        parse_url(f"ws://a:{SECRET}@h:99999/")
    assert SECRET not in str(info.value)
    assert redact_url(f"ws://a:{SECRET}@h/x") == "ws://a:***@h/x"


def test_importers_take_user_info_out_of_the_host_field(tmp_path: Path) -> None:
    mqttx = [{"name": "X", "host": f"carol:{SECRET}@broker.example", "port": 8083, "protocol": "ws"}]
    result = parse_import(json.dumps(mqttx), source="x.json", cert_dir=tmp_path)
    (item,) = result.profiles
    assert item.profile.options.url == "ws://broker.example:8083/mqtt"
    assert (item.profile.options.username, item.profile.options.password) == ("carol", SECRET.encode())
    assert SECRET not in json.dumps([item.mapped, item.skipped, result.warnings])
    explorer_settings = {
        "ConnectionManager_connections": {
            "c1": {
                "configVersion": 1,
                "id": "c1",
                "name": "E",
                "host": f"dan:{SECRET}@h.example",
                "port": 1883,
                "protocol": "mqtt",
            }
        }
    }
    result = parse_import(json.dumps(explorer_settings), source="settings.json", cert_dir=tmp_path)
    (item,) = result.profiles
    assert item.profile.options.url == "mqtt://h.example:1883"
    assert item.profile.options.password == SECRET.encode()
    assert SECRET not in json.dumps([item.mapped, item.skipped, result.warnings])


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[Broker]:
    passwords = tmp_path / "passwd"
    add_user(passwords, "alice", SECRET)
    async with Broker(BrokerConfig.ephemeral(password_file=str(passwords))) as running:
        yield running


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "explorer", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
async def test_connecting_commands_log_in_with_the_url_user_info(
    broker: Broker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio

    caplog.set_level(logging.INFO)
    ws = broker.ws_url
    assert ws is not None
    url = ws.replace("ws://", f"ws://alice:{SECRET.replace('!', '%21')}@")
    export = tmp_path / "trace.jsonl"
    runs = [
        ("pub", url, "-t", "t", "-m", "m", "-q", "1"),
        ("trace", url, "-t", "t", "-W", "0.3", "--export", str(export)),
        ("probe", url),
        ("sub", url, "-t", "t", "-W", "0.3", "--trace"),
    ]
    for argv in runs:
        done = await asyncio.to_thread(_cli, *argv)
        assert done.returncode == 0, (argv, done.stderr)
        assert "used as the MQTT login" in done.stderr
        for text in (done.stdout, done.stderr):
            assert SECRET not in text, argv
            assert "%21" not in text, argv
    assert caplog.text.count("user alice") >= len(runs)
    assert SECRET not in export.read_text()
    wrong = ws.replace("ws://", "ws://alice:wrong@")
    done = await asyncio.to_thread(_cli, "pub", wrong, "-t", "t", "-m", "m")
    assert done.returncode == 1
    assert "Bad username or password" in done.stderr


def test_a_url_login_given_later_replaces_the_options_login() -> None:
    profile_options = ConnectionOptions(url="ws://h/mqtt", username="bob", password=b"profile-pw")
    typed = profile_options.with_changes(url="ws://alice:url-pw@h/mqtt")
    assert (typed.username, typed.password) == ("alice", b"url-pw")
    kept = profile_options.with_changes(url="ws://h2/mqtt")
    assert (kept.username, kept.password) == ("bob", b"profile-pw")
    with pytest.raises(ExplorerError, match="give the user name once"):
        profile_options.with_changes(url="ws://alice:x@h/", username="carol")


def test_a_password_flag_wins_over_the_url_password_and_says_so(
    config_dir: Path, file_keyring: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["add", "p", "--url", f"ws://alice:{SECRET}@h/mqtt", "--password-stdin"]
    assert _profiles(argv, monkeypatch, stdin="from-stdin\n") == 0
    assert "the password in the URL is not used" in capsys.readouterr().err
    assert file_keyring.get_password(SERVICE, "profile/p/password") == "from-stdin"
    assert SECRET not in (config_dir / "profiles.toml").read_text()
