"""Run amqtt as a WebSocket MQTT broker for the broker benchmark.

Runs inside bench/.peers/amqtt (its own venv: amqtt pins an older websockets than the
project). Usage: ``python amqtt_server.py``; prints the port, then serves on
127.0.0.1 until stdin closes. amqtt cannot report a port it picked, so a free port is
found by binding port 0 first. Plugins: anonymous access only, no $SYS, no packet
logging, so that it does the same work as the other brokers.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys

from amqtt.broker import Broker  # type: ignore[import-not-found]  # only in bench/.peers/amqtt


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    port = _free_port()
    config = {
        "listeners": {"default": {"type": "ws", "bind": f"127.0.0.1:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }
    broker = Broker(config)
    await broker.start()
    print(port, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await broker.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
