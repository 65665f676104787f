"""``mqttws-explorer broker``: bad option values and files are one line and exit code 2; limit flags work.

Each case runs the command as a user does (a subprocess) with a timeout, so a hang fails
the test instead of stalling the suite.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.broker.config import BrokerConfig
from explorer.cli import build_parser
from explorer.cli.broker import config_from_args
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Connack, Connect
from explorer.mqtt.reader import PacketReader
from tests.broker.rawclient import open_tcp, read_mqtt

ROOT = Path(__file__).resolve().parents[2]
NOT_UTF8 = b"alice:$7$101$c2FsdA==$aGFzaA==\n# caf\xe9\n"


def _broker(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "explorer", "broker", "--ws-port", "0", "--tcp-port", "0", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def _assert_usage_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("mqttws-explorer broker: "), line
    for word in words:
        assert word in line
    assert result.stdout == ""  # no URL: the broker never started


def test_a_password_file_that_is_not_utf8_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    path.write_bytes(NOT_UTF8)
    _assert_usage_error(_broker("--password-file", str(path)), str(path), "not UTF-8", "0xe9")


def test_an_acl_file_that_is_not_utf8_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "acl"
    path.write_bytes(b"topic read \xff\xfe/#\n")
    _assert_usage_error(_broker("--acl-file", str(path)), str(path), "not UTF-8")


def test_a_missing_password_file_is_a_one_line_error(tmp_path: Path) -> None:
    _assert_usage_error(_broker("--password-file", str(tmp_path / "nope")), "cannot read password file")


def test_add_user_to_a_directory_is_a_one_line_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "explorer", "broker", "--add-user", str(tmp_path), "alice"],
        input="s3cret\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    _assert_usage_error(result, "is a directory")
    assert "s3cret" not in result.stderr


def test_add_user_to_a_file_that_is_not_utf8_leaves_it_untouched(tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    path.write_bytes(NOT_UTF8)
    result = subprocess.run(
        [sys.executable, "-m", "explorer", "broker", "--add-user", str(path), "bob"],
        input="s3cret\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    _assert_usage_error(result, "not UTF-8")
    assert path.read_bytes() == NOT_UTF8


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--demo", "--demo-rate", "0"), ("--demo-rate", "more than 0")),
        (("--demo", "--demo-rate", "-1"), ("--demo-rate", "more than 0")),
        (("--demo-rate", "nan"), ("--demo-rate",)),
        (("--sys-interval", "-1"), ("--sys-interval", "0 or more")),
        (("--sys-interval", "inf"), ("--sys-interval",)),
        (("--max-connections", "0"), ("--max-connections",)),
        (("--max-connections-per-ip", "-3"), ("--max-connections-per-ip",)),
        (("--max-keepalive", "70000"), ("--max-keepalive", "0..65535")),
        (("--max-buffered", "lots"), ("--max-buffered", "not a number of bytes")),
        (("--max-connect-size", "0"), ("--max-connect-size",)),
        (("--connect-timeout", "0"), ("--connect-timeout", "more than 0")),
        (("--max-packet-size", "1"), ("--max-packet-size", "2..268435460")),
    ],
)
def test_bad_limit_and_rate_values_are_refused_before_starting(
    args: tuple[str, ...], words: tuple[str, ...]
) -> None:
    _assert_usage_error(_broker(*args), *words)


def test_limit_flags_reach_the_config() -> None:
    args = build_parser("broker").parse_args(
        [
            "broker",
            "--max-connections",
            "50",
            "--max-connections-per-ip",
            "0",
            "--max-packet-size",
            "1M",
            "--max-connect-size",
            "8K",
            "--max-buffered",
            "64M",
            "--max-keepalive",
            "120",
            "--connect-timeout",
            "2.5",
            "--sys-interval",
            "0",
        ]
    )
    config = config_from_args(args)
    assert (config.max_connections, config.max_connections_per_ip) == (50, 0)
    assert (config.max_packet_size, config.max_connect_size, config.max_buffered) == (1 << 20, 8192, 64 << 20)
    assert config.max_keep_alive == 120
    assert (config.handshake_timeout, config.connect_timeout) == (2.5, 2.5)
    assert config.sys_interval == 0
    defaults = config_from_args(build_parser("broker").parse_args(["broker"]))
    assert defaults.max_connect_size == BrokerConfig().max_connect_size == 64 * 1024
    assert defaults.max_keep_alive == 300


async def test_max_connections_flag_limits_a_running_broker() -> None:
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "explorer", "broker", "--ws-port", "off", "--tcp-port", "0"),
        *("--max-connections", "1", "--sys-interval", "0"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        url = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()
        port = int(url.rsplit(":", 1)[1])
        reader, writer = await open_tcp(port)
        writer.write(encode(Connect(ProtocolVersion.V311, "first")))
        assert await read_mqtt(reader, PacketReader()) == [Connack()]
        second, _ = await open_tcp(port)
        assert await asyncio.wait_for(second.read(), 5) == b""
    finally:
        proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert b"connection limit (1) reached" in err
