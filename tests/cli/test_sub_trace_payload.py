"""``sub --trace`` shows what each PUBLISH carried: a preview of its payload on the
packet line (decoded text, cut, with the length), over WebSocket and native MQTT;
``--no-payload`` leaves it out. The embedded broker runs on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.faults import parse_faults
from explorer.broker.server import Broker
from explorer.cli import main


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    async with Broker(BrokerConfig.ephemeral()) as server:
        yield server


async def cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


def publish_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if "PUBLISH" in line]


@pytest.mark.parametrize("transport", ["ws", "tcp"])
async def test_sub_trace_shows_the_payload_text_on_the_publish_line(
    broker: Broker, transport: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = broker.ws_url if transport == "ws" else broker.tcp_url
    assert url is not None
    await cli("pub", url, "-t", "pv/a", "-m", "temperature 21.5\nok", "-r")
    capsys.readouterr()
    assert await cli("sub", url, "-t", "pv/#", "--trace", "-C", "1") == 0
    (line,) = publish_lines(capsys.readouterr().out)
    assert line.endswith('PUBLISH QoS0 pv/a 19 B retain  payload (19 B): "temperature 21.5\\nok"')


async def test_a_long_payload_is_cut_and_its_length_given(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    assert broker.ws_url is not None
    text = "x" * 70 + "TAIL-NOT-SHOWN" + "y" * 5000
    await cli("pub", broker.ws_url, "-t", "pv/long", "-m", text, "-r")
    capsys.readouterr()
    assert await cli("sub", broker.ws_url, "-t", "pv/long", "--trace", "-C", "1") == 0
    (line,) = publish_lines(capsys.readouterr().out)
    assert 'payload (5,084 B): "' + "x" * 60 + '…"' in line
    assert "TAIL-NOT-SHOWN" not in line


async def test_a_binary_payload_is_previewed_in_hex(
    broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert broker.tcp_url is not None
    (tmp_path / "bin").write_bytes(bytes([0, 0xFF, 0x10]))
    await cli("pub", broker.tcp_url, "-t", "pv/bin", "-f", str(tmp_path / "bin"), "-r")
    capsys.readouterr()
    assert await cli("sub", broker.tcp_url, "-t", "pv/bin", "--trace", "-C", "1") == 0
    (line,) = publish_lines(capsys.readouterr().out)
    assert line.endswith("payload (3 B, binary): 00 ff 10")


async def test_no_payload_leaves_the_preview_out(broker: Broker, capsys: pytest.CaptureFixture[str]) -> None:
    assert broker.ws_url is not None
    await cli("pub", broker.ws_url, "-t", "pv/np", "-m", "hidden-payload-text", "-r")
    capsys.readouterr()
    assert await cli("sub", broker.ws_url, "-t", "pv/np", "--trace", "--no-payload", "-C", "1") == 0
    out = capsys.readouterr().out
    (line,) = publish_lines(out)
    assert line.endswith("PUBLISH QoS0 pv/np 19 B retain")
    assert "hidden-payload-text" not in out


async def test_sub_trace_shows_the_trace_of_a_refused_mqtt_version(
    capsys: pytest.CaptureFixture[str],
) -> None:
    faults = parse_faults(["only-mqtt3.1.1"])
    async with Broker(BrokerConfig.ephemeral(sys_interval=0, faults=faults)) as broker:
        assert broker.ws_url is not None
        code = await cli("sub", broker.ws_url, "-t", "a/#", "--trace", "--mqtt-version", "5", "-W", "5")
    captured = capsys.readouterr()
    assert code == 1
    assert "c2s HTTP GET /mqtt" in captured.out
    assert "-> #0 CONNECT v5" in captured.out
    assert "-> #0 CONNACK" in captured.out
    assert "connected" not in captured.out.replace("connecting", "")
    (error,) = captured.err.strip().splitlines()
    assert "this broker speaks MQTT 3.1.1" in error
