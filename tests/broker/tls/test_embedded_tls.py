"""The Workspace's embedded broker with TLS: the child process opens wss/mqtts, and the
options it hands back reach wss:// trusting the local CA (the path a UI shows)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from explorer.client.driver import MqttClient
from explorer.workspace.embedded import EmbeddedHost


@pytest.mark.parametrize("in_process", [False, True], ids=["child", "in-process"])
async def test_embedded_broker_starts_with_tls(data_dir: Path, in_process: bool) -> None:
    deaths: list[str] = []
    host = EmbeddedHost(in_process=in_process, on_death=deaths.append)
    try:
        plain = await host.start(demo=False)
        assert plain.url.startswith("ws://")
        options = await host.start(demo=False, tls=True)  # replaces the broker without TLS
        assert options.url.startswith("wss://127.0.0.1:")
        assert options.tls.ca_file == str(data_dir / "tls" / "ca.pem")
        assert host.ca_file == options.tls.ca_file
        assert host.serves(options.url)
        client = MqttClient(options)
        await client.connect()
        await client.subscribe("embedded/tls", qos=1)
        await client.publish("embedded/tls", b"secure", qos=1)
        async with asyncio.timeout(30):
            message = await anext(client.messages())
        await client.close()
        assert message.payload == b"secure"
    finally:
        await host.stop()
    assert deaths == []
