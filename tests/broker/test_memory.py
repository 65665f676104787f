"""The broker's memory, measured as the system sees it: RSS of ``mqttws-explorer broker`` in a subprocess.

Clients that each send most of a large packet and stall make the broker hold at most its
buffer budget (plus its own size), and what they held goes back to the system once they
are gone.
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Connect, Publish

ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024
BUDGET = 32 * MIB
# What the interpreter and its allocator may add on top of the budget: pieces in flight
# between the socket and the parsers, the allocator's arenas.
SLACK = 48 * MIB

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def _stalled_tcp(port: int, index: int, size: int) -> asyncio.StreamWriter:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(encode(Connect(ProtocolVersion.V311, f"tcp-{index}")))
    await reader.readexactly(4)  # CONNACK
    writer.write(encode(Publish("big", bytes(size * 2)))[:size])
    return writer


async def _stalled_ws(port: int, index: int, size: int) -> asyncio.StreamWriter:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            "GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
        ).encode()
    )
    await reader.readuntil(b"\r\n\r\n")
    connect = encode(Connect(ProtocolVersion.V311, f"ws-{index}"))
    writer.write(bytes((0x82, 0x80 | len(connect))) + bytes(4) + connect)  # mask 0: payload as is
    await reader.readexactly(6)  # CONNACK in a binary frame
    # One frame announced at twice ``size``, ``size`` bytes of it sent.
    writer.write(bytes((0x82, 0x80 | 127)) + (size * 2).to_bytes(8, "big") + bytes(4) + bytes(size))
    return writer


async def _drained(writer: asyncio.StreamWriter) -> None:
    try:
        await writer.drain()
    except ConnectionError:
        pass  # closed by the broker for the budget


async def _wait_rss_below(pid: int, limit: int) -> int:
    """RSS once it is below ``limit``, or the last reading after 10 s."""
    rss = _rss(pid)
    for _ in range(200):
        if rss < limit:
            break
        await asyncio.sleep(0.05)
        rss = _rss(pid)
    return rss


async def test_stalled_large_packets_hold_at_most_the_budget_and_the_memory_comes_back() -> None:
    command = [sys.executable, "-m", "explorer", "broker", "--ws-port", "0", "--tcp-port", "0"]
    proc = subprocess.Popen(
        [*command, "--sys-interval", "0", "--max-buffered", str(BUDGET)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        ws_port = int(proc.stdout.readline().decode().rsplit(":", 1)[1].split("/")[0])
        tcp_port = int(proc.stdout.readline().decode().rsplit(":", 1)[1])
        start = _rss(proc.pid)
        writers = []
        peak = start
        for index in range(16):  # 4 x 4 MiB over TCP, 12 x 4 MiB over WebSocket: twice the budget
            stall = (
                _stalled_tcp(tcp_port, index, 4 * MIB)
                if index % 4 == 0
                else _stalled_ws(ws_port, index, 4 * MIB)
            )
            writers.append(await stall)
            peak = max(peak, _rss(proc.pid))
        drains = asyncio.gather(*(_drained(writer) for writer in writers))
        while not drains.done():
            peak = max(peak, _rss(proc.pid))
            await asyncio.wait([drains], timeout=0.02)
        peak = max(peak, _rss(proc.pid))
        assert peak - start <= BUDGET + SLACK, f"RSS grew {(peak - start) / MIB:.0f} MiB"
        for writer in writers:
            writer.close()
        after = await _wait_rss_below(proc.pid, start + 16 * MIB)
        assert after < start + 16 * MIB, (
            f"RSS {(after - start) / MIB:.0f} MiB above the start after the close"
        )
    finally:
        proc.terminate()
        proc.wait(30)
        if proc.stdout is not None:
            proc.stdout.close()
