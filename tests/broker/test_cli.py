"""``mqttws-explorer broker`` as a user runs it: a subprocess on free ports."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.broker.auth import load_password_file
from explorer.cli import build_parser, main
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Connack, Connect
from explorer.mqtt.reader import PacketReader
from tests.broker.rawclient import open_tcp, read_mqtt

ROOT = Path(__file__).resolve().parents[2]


def test_help_lists_every_fault_mode(capsys: pytest.CaptureFixture[str]) -> None:
    from explorer.broker.faults import FAULT_MODES

    with pytest.raises(SystemExit):
        build_parser("broker").parse_args(["broker", "--help"])
    out = capsys.readouterr().out
    for name in FAULT_MODES:
        assert name in out


def test_unknown_fault_mode_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["broker", "--fault", "explode"]) == 1
    err = capsys.readouterr().err
    assert "unknown fault mode 'explode'" in err
    assert "Traceback" not in err


def test_add_user_writes_a_hash_not_the_password(tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    result = subprocess.run(
        [sys.executable, "-m", "explorer", "broker", "--add-user", str(path), "alice"],
        input="s3cret\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert "alice" in result.stdout
    assert "s3cret" not in path.read_text()
    assert load_password_file(path).verify("alice", b"s3cret")


async def test_broker_prints_urls_serves_and_stops_cleanly_on_ctrl_c() -> None:
    command = [sys.executable, "-m", "explorer", "broker", "--ws-port", "0", "--tcp-port", "0"]
    proc = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    try:
        ws_url = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode().strip()
        tcp_url = (await asyncio.wait_for(proc.stdout.readline(), 5)).decode().strip()
        assert ws_url.startswith("ws://127.0.0.1:")
        assert ws_url.endswith("/mqtt")
        assert tcp_url.startswith("mqtt://127.0.0.1:")
        reader, writer = await open_tcp(int(tcp_url.rsplit(":", 1)[1]))
        writer.write(encode(Connect(ProtocolVersion.V311, "dev", username="u", password=b"hunter2")))
        assert await read_mqtt(reader, PacketReader()) == [Connack()]
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
        log = (await proc.stderr.read()).decode()
        assert "connected: dev" in log
        assert "shutting down" in log
        assert "hunter2" not in log
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def test_non_loopback_bind_without_authentication_warns() -> None:
    from explorer.cli.broker import bind_warning, config_from_args

    parser = build_parser("broker")
    exposed = config_from_args(parser.parse_args(["broker", "--bind", "0.0.0.0"]))
    local = config_from_args(parser.parse_args(["broker"]))
    assert "without authentication" in (bind_warning(exposed) or "")
    assert bind_warning(local) is None
