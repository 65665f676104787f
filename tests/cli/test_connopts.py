"""Shared connection flags: profile + explicit flags -> ConnectionOptions."""

from __future__ import annotations

import argparse
import io
import os
import pty
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from explorer.cli.connopts import add_connection_arguments, options_from_args
from explorer.client.options import ConnectionOptions, TlsOptions
from explorer.errors import ExplorerError, ProfileError, SecretStoreError
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Properties, Will
from explorer.profiles.secret_store import MemorySecretStore
from explorer.profiles.store import Profile, ProfileName, ProfileStore
from tests.keyring_support import config_dir, file_keyring, no_keyring

__all__ = ["config_dir", "file_keyring"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sub")
    parser.add_argument("url", nargs="?")
    add_connection_arguments(parser)
    return parser


def _options(argv: list[str], stdin: str = "", **kwargs: Any) -> ConnectionOptions:
    args = _parser().parse_args(argv)
    return options_from_args(args, stdin=io.StringIO(stdin), **kwargs)


@pytest.fixture
def store(config_dir: Path, file_keyring: Any) -> ProfileStore:
    store = ProfileStore()
    store.add(
        Profile(
            ProfileName("prod"),
            ConnectionOptions(
                url="wss://prod.example.com/mqtt",
                subprotocols=("mqtt", "mqttv3.1"),
                headers=(("X-Env", "prod"), ("X-Keep", "1")),
                secret_headers=(("Authorization", "Bearer stored"),),
                username="alice",
                password=b"stored-pw",
                keep_alive=30,
                mqtt_version=ProtocolVersion.V5,
                tls=TlsOptions(ca_file="/etc/prod-ca.pem"),
                will=Will("status", b"gone", qos=1),
            ),
        )
    )
    return store


def test_url_alone_gives_the_defaults() -> None:
    assert _options(["ws://localhost:8080/mqtt"]) == ConnectionOptions(url="ws://localhost:8080/mqtt")


def test_no_url_and_no_profile_is_a_clear_error() -> None:
    with pytest.raises(ExplorerError, match="give a broker URL"):
        _options([])


def test_a_bad_url_is_reported_before_connecting() -> None:
    with pytest.raises(ExplorerError, match="unsupported scheme"):
        _options(["http://h/"])


def test_every_flag_maps_to_its_option(tmp_path: Path) -> None:
    options = _options(
        [
            "wss://h/mqtt",
            "--subprotocol",
            "mqttv3.1",
            "--subprotocol",
            "mqtt",
            "--strict-subprotocol",
            "--header",
            "X-A: 1",
            "--secret-header",
            "Authorization: Bearer t",
            "--origin",
            "https://o",
            "--http-user",
            "web",
            "--ca",
            str(tmp_path),
            "--cert",
            "c.pem",
            "--key",
            "k.pem",
            "--insecure",
            "--sni",
            "inner",
            "--alpn",
            "http/1.1",
            "--proxy",
            "http://pu:pp@proxy:3128",
            "--connect-timeout",
            "2.5",
            "--handshake-timeout",
            "3",
            "--mqtt-version",
            "5",
            "--client-id",
            "cid",
            "--no-clean",
            "--keep-alive",
            "15",
            "--session-expiry",
            "600",
            "--username",
            "bob",
            "--password-env",
            "MY_PW",
            "--will-topic",
            "w",
            "--will-message",
            "bye",
            "--will-qos",
            "2",
            "--will-retain",
            "--will-delay",
            "9",
            "--receive-maximum",
            "5",
            "--maximum-packet-size",
            "1000",
            "--topic-alias-maximum",
            "4",
            "--user-property",
            "k=v=w",
            "--reconnect",
        ],
        environ={"MY_PW": "env-pw"},
    )
    assert options == ConnectionOptions(
        url="wss://h/mqtt",
        subprotocols=("mqttv3.1", "mqtt"),
        strict_subprotocol=True,
        headers=(("X-A", "1"),),
        secret_headers=(("Authorization", "Bearer t"),),
        origin="https://o",
        http_username="web",
        tls=TlsOptions(
            ca_dir=str(tmp_path),
            cert_file="c.pem",
            key_file="k.pem",
            insecure=True,
            server_name="inner",
            alpn=("http/1.1",),
        ),
        proxy="http://pu:pp@proxy:3128",
        connect_timeout=2.5,
        handshake_timeout=3.0,
        mqtt_version=ProtocolVersion.V5,
        client_id="cid",
        clean_start=False,
        keep_alive=15,
        session_expiry_interval=600,
        username="bob",
        password=b"env-pw",
        will=Will("w", b"bye", qos=2, retain=True, properties=Properties(will_delay_interval=9)),
        receive_maximum=5,
        maximum_packet_size=1000,
        topic_alias_maximum=4,
        user_properties=(("k", "v=w"),),
        reconnect=True,
    )


def test_ca_file_versus_directory(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    assert _options(["wss://h/", "--ca", str(ca)]).tls.ca_file == str(ca)


def test_no_subprotocol_offers_none() -> None:
    assert _options(["ws://h/", "--no-subprotocol"]).subprotocols == ()
    with pytest.raises(ExplorerError, match="contradict"):
        _options(["ws://h/", "--no-subprotocol", "--subprotocol", "mqtt"])


def test_password_stdin_strips_one_trailing_newline() -> None:
    assert _options(["ws://h/", "--password-stdin"], stdin="p w\n").password == b"p w"
    assert _options(["ws://h/", "--password-stdin"], stdin="pw\r\n").password == b"pw"
    assert _options(["ws://h/", "--http-password-stdin"], stdin="h\n").http_password == "h"
    assert _options(["ws://h/", "--key-password-stdin"], stdin="k\n").tls.key_password == "k"


def test_two_stdin_secrets_at_once_are_refused() -> None:
    with pytest.raises(ExplorerError, match="only one secret can be read from stdin"):
        _options(["ws://h/", "--password-stdin", "--http-password-stdin"], stdin="x")


def test_unset_password_env_is_an_error() -> None:
    with pytest.raises(ExplorerError, match="MISSING_VAR is not set"):
        _options(["ws://h/", "--password-env", "MISSING_VAR"], environ={})


def test_will_flags_need_a_topic() -> None:
    with pytest.raises(ExplorerError, match="need --will-topic"):
        _options(["ws://h/", "--will-message", "x"])


def test_bad_numbers_are_argparse_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["ws://h/", "--keep-alive", "70000"])
    assert "out of range" in capsys.readouterr().err


def test_profile_alone_gives_its_options_with_keyring_secrets(store: ProfileStore) -> None:
    options = _options(["--profile", "prod"])
    assert options.url == "wss://prod.example.com/mqtt"
    assert options.password == b"stored-pw"
    assert options.secret_headers == (("Authorization", "Bearer stored"),)
    assert options.tls.ca_file == "/etc/prod-ca.pem"


def test_explicit_flags_override_the_profile_and_the_rest_stands(store: ProfileStore) -> None:
    options = _options(
        [
            "ws://other:9001/",
            "--profile",
            "prod",
            "--keep-alive",
            "5",
            "--username",
            "bob",
            "--header",
            "x-env: test",
            "--mqtt-version",
            "3.1.1",
            "--will-qos",
            "0",
        ]
    )
    assert options.url == "ws://other:9001/"
    assert options.keep_alive == 5
    assert options.username == "bob"
    assert options.mqtt_version is ProtocolVersion.V311
    assert options.headers == (("X-Keep", "1"), ("x-env", "test"))
    assert options.will == Will("status", b"gone", qos=0)
    # not given: the profile's values stand
    assert options.subprotocols == ("mqtt", "mqttv3.1")
    assert options.password == b"stored-pw"
    assert options.tls.ca_file == "/etc/prod-ca.pem"


def test_password_flags_override_the_stored_password(store: ProfileStore) -> None:
    assert _options(["--profile", "prod", "--password-stdin"], stdin="typed\n").password == b"typed"
    options = _options(["--profile", "prod", "--secret-header", "authorization: Bearer new"])
    assert options.secret_headers == (("authorization", "Bearer new"),)


def test_unknown_profile_says_did_you_mean(store: ProfileStore) -> None:
    with pytest.raises(ProfileError, match="did you mean 'prod'\\?"):
        _options(["--profile", "prdo"])


def test_profile_with_secrets_and_no_keyring_names_the_fix(config_dir: Path) -> None:
    secrets = MemorySecretStore()
    store = ProfileStore(secrets=secrets)
    store.add(Profile(ProfileName("prod"), ConnectionOptions(url="ws://h/", password=b"pw")))
    keyring_store = no_keyring()
    with pytest.raises(SecretStoreError) as info:
        _options(["--profile", "prod"], store=store, secrets=keyring_store)
    message = str(info.value)
    assert "keyrings.alt" in message
    assert "GNOME Keyring" in message
    assert "--password-stdin" in message
    assert "--password-env" in message


def test_per_use_password_works_without_a_keyring(config_dir: Path) -> None:
    store = ProfileStore(secrets=MemorySecretStore())
    store.add(Profile(ProfileName("prod"), ConnectionOptions(url="ws://h/", password=b"pw")))
    keyring_store = no_keyring()
    options = _options(
        ["--profile", "prod", "--password-env", "PW"], store=store, secrets=keyring_store, environ={"PW": "e"}
    )
    assert options.password == b"e"


def test_proxy_password_in_the_flag_overrides_the_stored_one(config_dir: Path) -> None:
    secrets = MemorySecretStore()
    store = ProfileStore(secrets=secrets)
    store.add(Profile(ProfileName("p"), ConnectionOptions(url="ws://h/", proxy="http://u:old@px:1")))
    assert _options(["--profile", "p"], store=store).proxy == "http://u:old@px:1"
    assert (
        _options(["--profile", "p", "--proxy", "http://v:new@py:2"], store=store).proxy == "http://v:new@py:2"
    )


def test_unknown_profile_keys_are_logged_when_the_profile_is_used(
    config_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config_dir.mkdir()
    (config_dir / "profiles.toml").write_text('version = 1\n[profiles.p]\nurl = "ws://h/"\nkeep_alve = 5\n')
    options = _options(["--profile", "p"])
    assert options.keep_alive == 60
    assert "line 4: unknown key 'keep_alve' in profile 'p'" in caplog.text


_PROMPT_CHILD = """
import argparse
from explorer.cli.connopts import add_connection_arguments, options_from_args
parser = argparse.ArgumentParser()
parser.add_argument("url", nargs="?")
add_connection_arguments(parser)
options = options_from_args(parser.parse_args(["--profile", "prod"]))
print("PASSWORD-OK" if options.password == b"typed-at-prompt" else "PASSWORD-WRONG", flush=True)
"""


def test_no_keyring_on_a_terminal_prompts_for_the_secret(config_dir: Path) -> None:
    store = ProfileStore(secrets=MemorySecretStore())
    store.add(Profile(ProfileName("prod"), ConnectionOptions(url="ws://h/", username="u", password=b"x")))
    master, slave = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-c", _PROMPT_CHILD],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=slave,
        start_new_session=True,  # no controlling terminal: getpass uses the pty on stdin
        env={**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"},
        cwd=Path(__file__).parent.parent.parent,
    )
    os.close(slave)
    seen = b""
    while b"MQTT password for profile 'prod'" not in seen:
        ready, _, _ = select.select([master], [], [], 60)
        assert ready, f"no prompt; saw {seen!r}"
        seen += os.read(master, 1024)
    os.write(master, b"typed-at-prompt\n")
    out, _ = child.communicate(timeout=60)
    os.close(master)
    assert out.strip() == b"PASSWORD-OK"


@pytest.mark.parametrize(
    ("argv", "flags"),
    [
        (["ws://h/mqtt", "--ca", "ca.pem", "--insecure"], "--ca, --insecure"),
        (["mqtt://h", "--cert", "c.pem", "--key", "k.pem", "--sni", "n", "--alpn", "mqtt"], "--cert, --key"),
    ],
)
def test_tls_flags_on_a_plain_url_are_a_one_line_warning(
    argv: list[str], flags: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _options(argv)
    err = capsys.readouterr().err
    assert err.startswith(f"mqttws-explorer: warning: {flags}")
    assert "apply only to wss:// and mqtts://" in err
    assert err.count("\n") == 1


def test_tls_flags_on_a_secure_url_give_no_warning(capsys: pytest.CaptureFixture[str]) -> None:
    _options(["wss://h/mqtt", "--ca", "ca.pem", "--insecure", "--sni", "n"])
    _options(["mqtts://h", "--alpn", "mqtt"])
    assert capsys.readouterr().err == ""


def test_a_url_for_another_host_than_the_profile_warns_naming_both(
    store: ProfileStore, capsys: pytest.CaptureFixture[str]
) -> None:
    options = _options(["ws://other.example.net:9001/", "--profile", "prod"])
    assert options.password == b"stored-pw"
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("mqttws-explorer: warning: ")
    assert "prod.example.com" in err
    assert "other.example.net" in err
    assert "stored-pw" not in err


def test_the_profile_host_on_the_command_line_gives_no_warning(
    store: ProfileStore, capsys: pytest.CaptureFixture[str]
) -> None:
    _options(["wss://PROD.example.com:8443/other", "--profile", "prod"])
    _options(["--profile", "prod"])
    assert capsys.readouterr().err == ""
