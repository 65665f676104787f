"""Connecting to another broker starts a clean topic tree; exports say which broker a message came from."""

from __future__ import annotations

import csv
import datetime
import json
from pathlib import Path

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from explorer.client.options import ConnectionOptions
from explorer.workspace import Workspace


async def _seen(ws: Workspace, topic: str) -> None:
    async for _batch in ws.events():
        if ws.tree.find(topic) is not None:
            return


async def test_connecting_to_another_broker_drops_the_previous_brokers_topics(tmp_path: Path) -> None:
    async with Broker(BrokerConfig.ephemeral()) as first, Broker(BrokerConfig.ephemeral()) as second:
        assert first.ws_url is not None
        assert second.ws_url is not None
        async with Workspace(embedded_in_process=True) as ws:
            await ws.connect(ConnectionOptions(url=first.ws_url))
            await ws.subscribe("#")
            await ws.publish("first/only", b"1", qos=1, retain=True)
            await _seen(ws, "first/only")

            # Reconnecting to the same broker keeps what was seen.
            await ws.connect(ConnectionOptions(url=first.ws_url))
            assert ws.tree.find("first/only") is not None

            await ws.connect(ConnectionOptions(url=second.ws_url))
            await ws.subscribe("#")
            await ws.publish("second/only", b"2", qos=1)
            await _seen(ws, "second/only")
            assert ws.tree.find("first/only") is None
            assert ws.retained_topics("#") == []

            path = tmp_path / "messages.csv"
            assert ws.export_messages(path, "csv") == 1
            with path.open(newline="") as handle:
                (row,) = list(csv.DictReader(handle))
            assert row["connection"] == second.ws_url
            assert row["topic"] == "second/only"
            stamp = datetime.datetime.strptime(row["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
            now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
            assert abs((now - stamp).total_seconds()) < 600  # UTC wall clock, microseconds kept
            jsonl = tmp_path / "messages.jsonl"
            ws.export_messages(jsonl, "jsonl")
            assert json.loads(jsonl.read_text())["connection"] == second.ws_url
