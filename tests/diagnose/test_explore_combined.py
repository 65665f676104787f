"""--explore combines changes until one works and hands back the options to connect with;
an alternative that drops TLS is tried without credentials (checked on the bytes a
recording relay in front of the embedded broker saw)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from explorer.broker.auth import add_user
from explorer.broker.config import BrokerConfig
from explorer.broker.faults import parse_faults
from explorer.broker.server import Broker
from explorer.client.options import ConnectionOptions
from explorer.diagnose.explore import MAX_ATTEMPTS, diagnose
from explorer.mqtt.enums import ProtocolVersion
from tests.diagnose.servers import raw_server
from tests.diagnose.test_cli_probe import _cli

PASSWORD = "downgrade-canary-pw-7f3a"
HTTP_PASSWORD = "http-basic-canary-pw-91c2"
SECRET_HEADER = "secret-header-canary-55d0"


async def test_wrong_path_on_a_311_only_broker_from_mqtt5_combines_path_and_version() -> None:
    faults = parse_faults(["only-mqtt3.1.1"])
    async with Broker(BrokerConfig.ephemeral(sys_interval=0, faults=faults)) as broker:
        options = ConnectionOptions(
            url=f"ws://127.0.0.1:{broker.ws_port}/ws", mqtt_version=ProtocolVersion.V5, handshake_timeout=2.0
        )
        diagnosis = await diagnose(options, explore_alternatives=True)
    assert diagnosis.cause == "http-not-found"
    working = [alt for alt in diagnosis.alternatives if alt.ok]
    # The broker speaks 3.1 too; 3.1.1, tried first, is the one to connect with.
    assert [alt.description for alt in working] == ["path /mqtt + MQTT 3.1.1", "path /mqtt + MQTT 3.1"]
    assert working[0].options_changed == {
        "url": f"ws://127.0.0.1:{broker.ws_port}/mqtt",
        "mqtt_version": "3.1.1",
    }
    assert diagnosis.working is not None
    assert diagnosis.working.url == f"ws://127.0.0.1:{broker.ws_port}/mqtt"
    assert diagnosis.working.mqtt_version == ProtocolVersion.V311
    assert diagnosis.connect_with == f"ws://127.0.0.1:{broker.ws_port}/mqtt --mqtt-version 3.1.1"
    assert len(diagnosis.alternatives) <= MAX_ATTEMPTS
    assert "working" not in diagnosis.to_dict()


async def test_cli_explore_prints_the_flags_to_connect_with() -> None:
    faults = parse_faults(["only-mqtt3.1.1"])
    async with Broker(BrokerConfig.ephemeral(sys_interval=0, faults=faults)) as broker:
        url = f"ws://127.0.0.1:{broker.ws_port}/ws"
        code, out, err = await _cli("probe", url, "--mqtt-version", "5", "--explore")
        working = f"ws://127.0.0.1:{broker.ws_port}/mqtt"
        again, again_out, _ = await _cli("probe", working, "--mqtt-version", "3.1.1")
    assert code == 1, err
    assert f"Connect with: {working} --mqtt-version 3.1.1" in out
    assert again == 0, again_out


@contextlib.asynccontextmanager
async def recording_relay(target: int, seen: bytearray) -> AsyncIterator[int]:
    """A TCP relay to ``target`` that keeps every byte the client sent."""

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, keep: bool) -> None:
            while data := await src.read(65536):
                if keep:
                    seen.extend(data)
                dst.write(data)
                await dst.drain()
            dst.close()

        try:
            await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))
        finally:
            up_writer.close()

    async with raw_server(relay) as port:
        yield port


async def test_an_alternative_dropping_tls_is_tried_without_credentials(tmp_path: Path) -> None:
    passwords = tmp_path / "passwords"
    add_user(passwords, "alice", PASSWORD)
    config = BrokerConfig.ephemeral(sys_interval=0, password_file=passwords)
    seen = bytearray()
    async with Broker(config) as broker:
        # The broker's WebSocket port answers a TLS ClientHello with plain HTTP bytes.
        assert broker.ws_port is not None
        async with recording_relay(broker.ws_port, seen) as port:
            url = f"wss://127.0.0.1:{port}/mqtt"
            code, out, err = await _cli(
                "probe",
                url,
                "--explore",
                "--username",
                "alice",
                "--password-env",
                "MQTT_PW",
                "--http-user",
                "alice",
                "--http-password-stdin",
                "--secret-header",
                f"X-Api-Key: {SECRET_HEADER}",
                "--handshake-timeout",
                "3",
                stdin=HTTP_PASSWORD.encode() + b"\n",
                env={"MQTT_PW": PASSWORD},
            )
    assert code == 1, err
    assert "FAILED at tls: TLS spoken to a plaintext port" in out
    assert "ws:// on the same host and port (without credentials: TLS dropped)" in out
    assert "never sent unencrypted" in out
    assert b"GET /mqtt" in seen, "the ws:// alternative reached the broker"
    basic = base64.b64encode(f"alice:{HTTP_PASSWORD}".encode())
    for secret in (PASSWORD.encode(), HTTP_PASSWORD.encode(), SECRET_HEADER.encode(), basic, b"alice"):
        assert secret not in seen
    for text in (out, err):
        for secret_text in (PASSWORD, HTTP_PASSWORD, SECRET_HEADER):
            assert secret_text not in text


async def test_mqtts_to_a_plain_mqtt_port_explores_mqtt_without_the_password(tmp_path: Path) -> None:
    passwords = tmp_path / "passwords"
    add_user(passwords, "alice", PASSWORD)
    config = BrokerConfig.ephemeral(sys_interval=0, password_file=passwords)
    seen = bytearray()
    async with Broker(config) as broker:
        assert broker.tcp_port is not None
        async with recording_relay(broker.tcp_port, seen) as port:
            options = ConnectionOptions(
                url=f"mqtts://127.0.0.1:{port}",
                username="alice",
                password=PASSWORD.encode(),
                handshake_timeout=2.0,
                connect_timeout=2.0,
            )
            diagnosis = await diagnose(options, explore_alternatives=True)
    assert diagnosis.layer == "tls"
    plain = [alt for alt in diagnosis.alternatives if alt.description.startswith("mqtt://")]
    assert plain, diagnosis.alternatives
    for alt in plain:  # the plain port, then combined with other versions: never a password
        assert alt.credentials_withheld
        assert alt.description.endswith("(without credentials: TLS dropped)")
    first = plain[0]
    assert first.description == "mqtt:// on the same host and port (without credentials: TLS dropped)"
    # The broker wants a password: without one the plain port refuses, which says the port works.
    assert first.cause == "connack-not-authorized"
    assert diagnosis.working is None
    assert PASSWORD.encode() not in seen
    assert b"alice" not in seen
    assert b"\x10" in seen  # a CONNECT did go to the plain port
