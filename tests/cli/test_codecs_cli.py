"""``sub --json`` / ``sub`` / ``pub --codec`` / ``decode --json`` with payload codecs, against the
embedded broker on loopback; payloads made by independent encoders (msgpack, cbor2, gzip,
Pillow, protoc-generated classes, Eclipse Tahu's sparkplug-payload under Node)."""

from __future__ import annotations

import asyncio
import base64
import gzip
import importlib
import io
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import cbor2
import msgpack
import pytest
from PIL import Image

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from explorer.cli import main
from tests.codecs.test_sparkplug import birth_metrics, tahu_encode

PROTO = """
syntax = "proto3";
package plant;
message Telemetry { string room = 1; double temperature = 2; int64 counter = 3; }
"""


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    async with Broker(BrokerConfig.ephemeral()) as server:
        yield server


def url(broker: Broker) -> str:
    assert broker.ws_url is not None
    return broker.ws_url


async def cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


@pytest.fixture
def proto_file(tmp_path: Path) -> Path:
    path = tmp_path / "plant.proto"
    path.write_text(PROTO)
    return path


def generated_class(proto_file: Path) -> Any:
    out = proto_file.parent / "gen"
    out.mkdir(exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{proto_file.parent}",
            f"--python_out={out}",
            proto_file.name,
        ],
        check=True,
        capture_output=True,
    )
    sys.path.insert(0, str(out))
    try:
        return importlib.import_module("plant_pb2").Telemetry
    finally:
        sys.path.remove(str(out))
        sys.modules.pop("plant_pb2", None)


async def publish_file(broker: Broker, tmp_path: Path, topic: str, payload: bytes) -> None:
    path = tmp_path / (topic.replace("/", "_") + ".bin")
    path.write_bytes(payload)
    assert await cli("pub", url(broker), "-t", topic, "-f", str(path), "-r", "-q", "1") == 0


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


async def test_sub_json_decodes_every_codec(
    broker: Broker, tmp_path: Path, proto_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    telemetry = generated_class(proto_file)
    png = png_bytes()
    birth, data = tahu_encode(
        {"timestamp": 1, "seq": 0, "metrics": birth_metrics()},
        {"timestamp": 2, "seq": 1, "metrics": [{"alias": 2, "type": "Double", "value": 23.5}]},
    )
    payloads = {
        "m/pack": msgpack.packb({"power": 12.5, "on": True}),
        "m/cbor": cbor2.dumps({"co2": 612, "ok": False}),
        "m/gz": gzip.compress(json.dumps({"readings": [1.5, 2.5]}).encode()),
        "m/png": png,
        "pb/hall": telemetry(room="hall", temperature=19.5, counter=3).SerializeToString(),
        "spBv1.0/plant/NBIRTH/edge1": birth,
        "spBv1.0/plant/NDATA/edge1": data,
    }
    for topic, payload in payloads.items():
        await publish_file(broker, tmp_path, topic, payload)
    capsys.readouterr()
    filters = [
        "-t",
        "m/#",
        "-t",
        "pb/#",
        "-t",
        "spBv1.0/plant/NBIRTH/edge1",
        "-t",
        "spBv1.0/plant/NDATA/edge1",
    ]
    code = await cli(
        "sub", url(broker), *filters, "--json", "-C", str(len(payloads)),
        "--codec", "pb/#=protobuf:plant.Telemetry", "--proto", str(proto_file),
    )  # fmt: skip
    assert code == 0
    rows = {row["topic"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    assert set(rows) == set(payloads)
    for topic, payload in payloads.items():
        assert base64.b64decode(rows[topic]["payload_base64"]) == payload  # raw bytes untouched
    assert (rows["m/pack"]["codec"], rows["m/pack"]["decoded"]) == ("msgpack", {"power": 12.5, "on": True})
    assert (rows["m/cbor"]["codec"], rows["m/cbor"]["decoded"]) == ("cbor", {"co2": 612, "ok": False})
    assert (rows["m/gz"]["codec"], rows["m/gz"]["decoded"]) == ("gzip+json", {"readings": [1.5, 2.5]})
    assert rows["m/png"]["codec"] == "image"
    image = rows["m/png"]["decoded"]
    assert (image["format"], image["mime"], image["width"], image["height"]) == ("png", "image/png", 40, 30)
    assert (image["detail"], image["bytes"]) == ("8-bit RGB", len(png))
    assert rows["pb/hall"]["codec"] == "protobuf"
    assert rows["pb/hall"]["decoded"] == {"room": "hall", "temperature": 19.5, "counter": 3}
    ndata = rows["spBv1.0/plant/NDATA/edge1"]
    assert ndata["codec"] == "sparkplug"
    assert ndata["decoded"]["seq"] == 1
    assert ndata["decoded"]["metrics"] == [
        {"name": "Temperature", "alias": 2, "datatype": "Double", "value": 23.5, "by_alias": True}
    ]
    assert ndata["sparkplug"] == {"message_type": "NDATA"}  # no notices: BIRTH seen, seq in order


async def test_sub_text_mode_prints_the_decoded_text(
    broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await publish_file(broker, tmp_path, "m/pack", msgpack.packb({"power": 12.5}))
    await publish_file(broker, tmp_path, "m/bad", b"\x82\xa1a")
    capsys.readouterr()
    assert await cli("sub", url(broker), "-t", "m/#", "-C", "2", "--codec", "m/bad=msgpack") == 0
    lines = sorted(capsys.readouterr().out.splitlines())
    assert lines == [
        "m/bad [retained] [msgpack: MessagePack data cut short (3 bytes)] <3 B> 82 a1 61",
        'm/pack [retained] [msgpack] {"power": 12.5}',
    ]


async def test_pub_codec_encodes_json_and_sets_the_content_type(
    broker: Broker, proto_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    telemetry = generated_class(proto_file)
    v5 = ("--mqtt-version", "5")
    assert (
        await cli("pub", url(broker), *v5, "-t", "e/mp", "-m", '{"a": [1, 2.5]}', "--codec", "msgpack", "-r")
        == 0
    )
    assert (
        await cli("pub", url(broker), *v5, "-t", "e/cb", "-m", '{"a": 1}', "--codec", "gzip+cbor", "-r") == 0
    )
    assert await cli("pub", url(broker), "-t", "e/hex", "-m", "de ad be ef", "--codec", "hex", "-r") == 0
    pb = ("--codec", "protobuf:Telemetry", "--proto", str(proto_file))
    assert (
        await cli("pub", url(broker), *v5, "-t", "e/pb", "-m", '{"room": "x", "counter": 9}', *pb, "-r") == 0
    )
    capsys.readouterr()
    # MQTT 5 subscriber: the content type alone chooses the codec (no --codec rule)
    code = await cli("sub", url(broker), *v5, "-t", "e/#", "-C", "4", "--json", "--proto", str(proto_file))
    assert code == 0
    rows = {row["topic"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["e/mp"]["properties"]["content_type"] == "application/msgpack"
    assert msgpack.unpackb(base64.b64decode(rows["e/mp"]["payload_base64"])) == {"a": [1, 2.5]}
    assert rows["e/mp"]["decoded"] == {"a": [1, 2.5]}
    assert rows["e/cb"]["properties"]["content_type"] == "application/gzip"
    assert rows["e/cb"]["codec"] == "gzip+cbor"
    assert base64.b64decode(rows["e/hex"]["payload_base64"]) == b"\xde\xad\xbe\xef"
    assert rows["e/pb"]["properties"]["content_type"] == "application/x-protobuf; messageType=plant.Telemetry"
    assert rows["e/pb"]["codec"] == "protobuf"
    assert rows["e/pb"]["decoded"] == {"room": "x", "counter": 9}
    message = telemetry.FromString(base64.b64decode(rows["e/pb"]["payload_base64"]))
    assert (message.room, message.counter) == ("x", 9)


async def test_pub_codec_bad_input_is_one_line(broker: Broker, tmp_path: Path) -> None:
    for args, expected in [
        (["--codec", "msgpack", "-m", "{nope"], "--codec msgpack: not JSON: Expecting property name"),
        (["--codec", "hex", "-m", "xyz"], "--codec hex: not hex"),
        (["--codec", "protobuf:plant.X", "-m", "{}"], "unknown Protobuf message type"),
        (["--codec", "yaml", "-m", "{}"], "cannot publish as 'yaml'"),
    ]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "explorer", "pub", url(broker), "-t", "x", *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await asyncio.wait_for(proc.communicate(), 60)
        text = err.decode()
        assert proc.returncode not in (0, None)
        assert expected in text
        assert "Traceback" not in text
        assert len(text.strip().splitlines()) == 1


async def test_a_proto_file_that_does_not_compile_stops_sub_with_one_line(
    broker: Broker, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.proto"
    bad.write_text("message {")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "explorer", "sub", url(broker), "-t", "#", "--proto", str(bad),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode not in (0, None)
    text = err.decode().strip()
    assert "bad.proto:1" in text
    assert len(text.splitlines()) == 1


async def test_decode_json_carries_codec_and_decoded_of_each_publish(
    broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await publish_file(broker, tmp_path, "m/pack", msgpack.packb({"power": 12.5}))
    await publish_file(broker, tmp_path, "m/gz", gzip.compress(b'{"a": 1}'))
    capture = tmp_path / "trace.pcapng"
    assert await cli("trace", url(broker), "-t", "m/#", "--export", str(capture), "-W", "1") == 0
    capsys.readouterr()
    assert await cli("decode", str(capture), "--json") == 0
    publishes = []
    for line in capsys.readouterr().out.splitlines():
        obj = json.loads(line)
        for packet in obj.get("packets", []):
            if packet.get("type") == "PUBLISH":
                publishes.append(packet)
    by_topic = {packet["topic"]: packet for packet in publishes}
    assert (by_topic["m/pack"]["codec"], by_topic["m/pack"]["decoded"]) == ("msgpack", {"power": 12.5})
    assert (by_topic["m/gz"]["codec"], by_topic["m/gz"]["decoded"]) == ("gzip+json", {"a": 1})
    # the listing does not decode payloads
    assert await cli("decode", str(capture)) == 0
    assert '"codec"' not in capsys.readouterr().out


async def test_sub_text_mode_flags_a_sparkplug_seq_gap(
    broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    birth, gap = tahu_encode(
        {"timestamp": 1, "seq": 0, "metrics": birth_metrics()},
        {"timestamp": 2, "seq": 5, "metrics": [{"alias": 2, "type": "Double", "value": 23.5}]},
    )
    await publish_file(broker, tmp_path, "spBv1.0/plant/NBIRTH/edge1", birth)
    await publish_file(broker, tmp_path, "spBv1.0/plant/NDATA/edge1", gap)
    capsys.readouterr()
    filters = ["-t", "spBv1.0/plant/NBIRTH/edge1", "-t", "spBv1.0/plant/NDATA/edge1"]
    assert await cli("sub", url(broker), *filters, "-C", "2") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("spBv1.0/plant/NBIRTH/edge1 [retained] [sparkplug] NBIRTH seq=0 bdSeq=7")
    assert lines[1] == "spBv1.0/plant/NDATA/edge1 [retained] [sparkplug] NDATA seq=5 Temperature=23.5"
    assert lines[2].startswith("! seq gap at plant/edge1: expected 1, got 5 (4 messages missing")
