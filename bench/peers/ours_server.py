"""Run the embedded broker as the benchmark's WebSocket peer: ``python -m bench.peers.ours_server``.

The same broker and defaults as ``mqttws-explorer broker --ws-port 0 --tcp-port off``
(INFO logging of connects and disconnects included), started through the in-process
API so that the benchmark depends only on ``explorer.broker``. Prints the WebSocket
port, then serves on 127.0.0.1 until stdin closes or SIGINT.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from explorer.broker import Broker, BrokerConfig


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    async with Broker(BrokerConfig(ws_port=0, tcp_port=None)) as broker:
        print(broker.ws_port, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
