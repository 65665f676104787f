"""``--tls-keylog FILE`` and ``SSLKEYLOGFILE``: the TLS session keys of wss:// and mqtts://
connections go to an NSS key log, and tshark decrypts a capture taken beside the explorer
with it. A TLS front (trustme certificates) relays to the embedded broker on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from explorer.client.net import make_ssl_context
from explorer.client.options import TlsOptions
from explorer.errors import ConnectionFailed
from tests.diagnose.servers import Pki, require_program
from tests.diagnose.test_cli_probe import _cli

NSS_LINE = re.compile(
    r"^(CLIENT_RANDOM|CLIENT_HANDSHAKE_TRAFFIC_SECRET|SERVER_HANDSHAKE_TRAFFIC_SECRET|"
    r"CLIENT_TRAFFIC_SECRET_0|SERVER_TRAFFIC_SECRET_0|EXPORTER_SECRET) [0-9a-f]{64} [0-9a-f]+$"
)


@contextlib.asynccontextmanager
async def tls_front(pki: Pki, target: int) -> AsyncIterator[int]:
    """TLS on a free loopback port, relayed in plain bytes to ``target``."""
    tasks: set[asyncio.Task[None]] = set()

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)

    server = await asyncio.start_server(relay, "127.0.0.1", 0, ssl=pki.server_context("good"))
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as running:
        yield running


def key_lines(path: Path) -> list[str]:
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    assert lines, f"{path} holds no keys"
    for line in lines:
        assert NSS_LINE.match(line), line
    return lines


async def test_pub_over_mqtts_writes_the_session_keys(broker: Broker, tmp_path: Path) -> None:
    pki = Pki(tmp_path)
    keylog = tmp_path / "keys.log"
    assert broker.tcp_port is not None
    async with tls_front(pki, broker.tcp_port) as port:
        url = f"mqtts://127.0.0.1:{port}"
        code, _out, err = await _cli(
            "pub", url, "-t", "k/a", "-m", "hi", "--ca", pki.ca_file, "--tls-keylog", str(keylog)
        )
        assert code == 0, err
        first = len(key_lines(keylog))
        code, _out, err = await _cli(
            "pub", url, "-t", "k/a", "-m", "hi", "--ca", pki.ca_file, "--tls-keylog", str(keylog)
        )
    assert code == 0, err
    assert len(key_lines(keylog)) > first  # appended, not replaced


async def test_sslkeylogfile_is_honoured_by_sub_over_wss_and_probe(broker: Broker, tmp_path: Path) -> None:
    pki = Pki(tmp_path)
    from_env, from_flag = tmp_path / "env.log", tmp_path / "probe.log"
    assert broker.ws_port is not None
    async with tls_front(pki, broker.ws_port) as port:
        url = f"wss://127.0.0.1:{port}/mqtt"
        await _cli("pub", url, "-t", "k/b", "-m", "kept", "-r", "--ca", pki.ca_file)
        code, out, err = await _cli(
            "sub", url, "-t", "k/b", "-C", "1", "--ca", pki.ca_file, env={"SSLKEYLOGFILE": str(from_env)}
        )
        assert code == 0, err
        assert "k/b [retained] kept" in out
        code, out, err = await _cli("probe", url, "--ca", pki.ca_file, "--tls-keylog", str(from_flag))
    assert code == 0, out + err
    key_lines(from_env)
    key_lines(from_flag)


async def test_an_unwritable_key_log_is_a_one_line_error(broker: Broker, tmp_path: Path) -> None:
    pki = Pki(tmp_path)
    assert broker.tcp_port is not None
    async with tls_front(pki, broker.tcp_port) as port:
        code, _out, err = await _cli(
            "pub", f"mqtts://127.0.0.1:{port}", "-t", "k/c", "-m", "x", "--ca", pki.ca_file,
            "--tls-keylog", str(tmp_path / "missing-dir" / "keys.log"),
        )  # fmt: skip
    assert code == 1
    (line,) = err.strip().splitlines()
    assert "cannot write the TLS key log" in line
    assert "Traceback" not in err


def test_make_ssl_context_refuses_a_key_log_it_cannot_write(tmp_path: Path) -> None:
    with pytest.raises(ConnectionFailed, match="cannot write the TLS key log"):
        make_ssl_context(TlsOptions(keylog_file=str(tmp_path / "no" / "such" / "dir.log")))


async def test_tshark_decrypts_a_capture_with_the_key_log(broker: Broker, tmp_path: Path) -> None:
    tshark = require_program("tshark")
    pki = Pki(tmp_path)
    keylog, capture = tmp_path / "keys.log", tmp_path / "capture.pcapng"
    assert broker.tcp_port is not None

    async def topics(*extra: str) -> str:
        reader = await asyncio.create_subprocess_exec(
            tshark, "-r", str(capture), "-d", f"tcp.port=={port},tls", "-d", f"tls.port=={port},mqtt",
            *extra, "-Y", "mqtt.topic", "-T", "fields", "-e", "mqtt.topic",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(reader.communicate(), 60)
        return out.decode()

    loop = asyncio.get_running_loop()
    async with tls_front(pki, broker.tcp_port) as port:
        dumper = await asyncio.create_subprocess_exec(
            tshark, "-i", "lo", "-f", f"tcp port {port}", "-w", str(capture),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert dumper.stderr is not None
        started = b""
        while b"Capturing on" not in started:
            line = await asyncio.wait_for(dumper.stderr.readline(), 30)
            if not line:
                if os.environ.get("CI") == "true":
                    pytest.fail(f"tshark cannot capture on lo: {started.decode(errors='replace')}")
                pytest.skip(f"tshark cannot capture on lo here: {started.decode(errors='replace')}")
            started += line
        try:
            # "Capturing on" may come a moment before the filter is live: the first
            # connection only makes sure the second one is captured whole.
            for topic in ("keylog/warm-up", "keylog/topic"):
                code, _out, err = await _cli(
                    "pub", f"mqtts://127.0.0.1:{port}", "-t", topic, "-m", "decrypted-payload",
                    "--ca", pki.ca_file, "--tls-keylog", str(keylog),
                )  # fmt: skip
                assert code == 0, err
            # dumpcap writes the file on its own schedule: read it until the last
            # connection is in, then stop it (a stop at once may lose the last packets).
            deadline = loop.time() + 30
            while loop.time() < deadline:
                if "keylog/topic" in await topics("-o", f"tls.keylog_file:{keylog}"):
                    break
                await asyncio.sleep(0.2)  # waiting on an external program's writes
        finally:
            dumper.send_signal(signal.SIGINT)
            await asyncio.wait_for(dumper.communicate(), 30)

    assert "keylog/topic" in await topics("-o", f"tls.keylog_file:{keylog}")
    assert "keylog/topic" not in await topics()  # without the keys it stays encrypted
