"""``broker --tls``: wss:// and mqtts:// listeners with a local CA, or your own certificate.

What a user does: start ``mqttws-explorer broker --tls``, read the printed URLs and CA
file, and point ``sub``/``pub`` at them with ``--ca``; without ``--ca`` verification
fails, as it must (TLS verification is on by default).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from explorer.client.driver import MqttClient
from explorer.client.options import ConnectionOptions, TlsOptions
from explorer.errors import ConnectionFailed

TIMEOUT = 30.0


async def run_cli(*argv: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "explorer",
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


class CliBroker:
    """``mqttws-explorer broker --tls`` in a process, with what it printed at start."""

    def __init__(self, proc: asyncio.subprocess.Process, lines: list[str]) -> None:
        self.proc = proc
        self.lines = lines

    def url(self, scheme: str) -> str:
        return next(line for line in self.lines if line.startswith(f"{scheme}://"))

    @property
    def ca_file(self) -> str:
        prefix = "CA certificate to trust: "
        return next(line[len(prefix) :] for line in self.lines if line.startswith(prefix))


@pytest.fixture
async def cli_broker() -> AsyncIterator[CliBroker]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "explorer",
        "broker",
        "--tls",
        *("--ws-port", "0", "--tcp-port", "0", "--wss-port", "0", "--mqtts-port", "0"),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    async with asyncio.timeout(TIMEOUT):
        while not lines or not lines[-1].startswith("CA certificate to trust: "):
            line = await proc.stdout.readline()
            assert line, "the broker exited before printing its CA file"
            lines.append(line.decode().rstrip("\n"))
    try:
        yield CliBroker(proc, lines)
    finally:
        proc.terminate()
        await proc.wait()


async def test_broker_tls_prints_its_urls_and_the_ca_to_trust(cli_broker: CliBroker, data_dir: Path) -> None:
    assert [line.split(":")[0] for line in cli_broker.lines] == [
        "ws",
        "mqtt",
        "wss",
        "mqtts",
        "CA certificate to trust",
    ]
    assert cli_broker.ca_file == str(data_dir / "tls" / "ca.pem")
    assert os.path.isfile(cli_broker.ca_file)


async def test_sub_over_wss_with_the_printed_ca(cli_broker: CliBroker) -> None:
    ca = cli_broker.ca_file
    code, out, err = await run_cli(
        "pub", cli_broker.url("mqtts"), "--ca", ca, "-t", "tls/hello", "-m", "over mqtts", "-r", "-q", "1"
    )
    assert (code, err) == (0, "")
    code, out, err = await run_cli("sub", cli_broker.url("wss"), "--ca", ca, "-t", "#", "-C", "1")
    assert (code, err) == (0, "")
    assert out == "tls/hello [retained] over mqtts\n"


async def test_sub_without_the_ca_is_refused_in_one_line(cli_broker: CliBroker) -> None:
    code, out, err = await run_cli("sub", cli_broker.url("wss"), "-t", "#", "-C", "1")
    assert code != 0
    assert out == ""
    assert err == (
        "mqttws-explorer: TLS certificate verification failed for 127.0.0.1: "
        "unable to get local issuer certificate\n"
    )


async def _round_trip(url: str, tls: TlsOptions) -> bytes:
    client = MqttClient(ConnectionOptions(url=url, tls=tls))
    await client.connect()
    try:
        await client.subscribe("round/trip", qos=1)
        await client.publish("round/trip", b"\x00tls\xff", qos=1)
        async with asyncio.timeout(TIMEOUT):
            message = await anext(client.messages())
    finally:
        await client.close()
    return message.payload


async def test_in_process_broker_serves_wss_and_mqtts() -> None:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0, tls=True)) as broker:
        assert broker.ca_file is not None
        tls = TlsOptions(ca_file=broker.ca_file)
        assert broker.wss_url is not None
        assert broker.mqtts_url is not None
        assert await _round_trip(broker.wss_url, tls) == b"\x00tls\xff"
        assert await _round_trip(broker.mqtts_url, tls) == b"\x00tls\xff"
        assert broker.urls[2:] == [broker.wss_url, broker.mqtts_url]


async def test_your_own_certificate_and_key(tmp_path: Path) -> None:
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    cert, key, ca_file = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    leaf.private_key_pem.write_to_path(str(key))
    cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    ca.cert_pem.write_to_path(str(ca_file))
    config = BrokerConfig.ephemeral(sys_interval=0, tls=True, tls_cert=cert, tls_key=key)
    async with Broker(config) as broker:
        assert broker.ca_file is None  # nothing made: the user's CA is the one to trust
        assert broker.wss_url is not None
        assert await _round_trip(broker.wss_url, TlsOptions(ca_file=str(ca_file))) == b"\x00tls\xff"
        with pytest.raises(ConnectionFailed, match="unable to get local issuer certificate"):
            await _round_trip(broker.wss_url, TlsOptions())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--fault", "tls-expired"], "the tls-* fault modes act on the TLS listeners: add --tls"),
        (["--cert", "x.pem"], "--cert and --key are for the TLS listeners: add --tls"),
        (["--tls", "--key", "x.pem"], "--key needs --cert (the certificate it belongs to)"),
        (["--tls", "--cert", "missing.pem"], "missing.pem: no such file"),
        (
            ["--tls", "--fault", "tls-expired", "--fault", "tls-self-signed"],
            "fault modes 'tls-expired' and 'tls-self-signed' both replace the certificate: pick one",
        ),
    ],
)
async def test_tls_option_mistakes_are_one_line(argv: list[str], message: str) -> None:
    code, out, err = await run_cli("broker", "--ws-port", "0", "--tcp-port", "0", *argv)
    assert code != 0
    assert out == ""
    assert err.endswith(f"{message}\n")
    assert err.count("\n") == 1
