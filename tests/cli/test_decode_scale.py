"""``decode`` at capture scale: one streaming pass that gives what the whole-file path
gives, narrowing, the summary, whole packet bytes in JSON, progress on a terminal only,
bounded memory, and refusal of what is not a capture."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections import Counter
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from bench.synthcap import TOPIC, write_capture
from explorer.capture import read_capture, read_capture_bytes
from explorer.cli import main
from explorer.cli.decode import classify, decode_connection
from explorer.masking import mask_password
from explorer.model.events import PacketEvent, TraceEvent
from explorer.mqtt.codec import encode
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Connect, Publish, Subscribe, Subscription
from explorer.present.listing import Listing
from explorer.ws.framing import OP_BINARY, build_frame
from tests.capture.builders import ACK, PSH, Conversation, ethernet, pcap_file, timed
from tests.capture.mqttws import SECRET, capture_bytes, deflate_stream, native_stream, request, response
from tests.capture.mqttws import websocket_stream as ws_stream
from tests.reference import SMALL_PCAPNG


def _write(tmp_path: Path, data: bytes, name: str = "cap.pcap") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["decode", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _objects(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, Any]]:
    code, out, _err = _run(capsys, *argv, "--json")
    assert code == 0
    return [json.loads(line) for line in out.splitlines()]


def _whole_file_listing(path: Path) -> str:
    """The listing as the whole-file path makes it: every connection read in full
    (``read_capture``), then decoded and listed one after the other."""
    capture = read_capture(path)
    seq = count().__next__
    lines: list[str] = [
        f"{capture.name}: {capture.format}, {capture.frame_count} frames, "
        f"{len(capture.connections)} TCP connections\n",
        *(f"! capture: {p}\n" for p in capture.problems),
        "\n",
    ]
    base = min((c.first_time for c in capture.connections), default=0.0)
    for conn in capture.connections:
        kind = classify(conn)
        events: list[TraceEvent] = decode_connection(conn, kind, seq) if kind in ("websocket", "mqtt") else []
        notes = {"tls": ["TLS, encrypted: cannot decode"]}.get(kind, [])
        if kind == "unknown":
            notes = ["not MQTT or WebSocket (use --port N to force): skipped"]
        notes += [f"! capture: {p}" for p in conn.problems]
        listing = Listing(lines.append, base=base, payload=False)
        listing.connection(conn.index, str(conn.client), str(conn.server), kind, events, notes=notes)
        listing.feed(events)
        listing.close()
        lines.append("\n")
    return "".join(lines)


def _interleaved(tmp_path: Path) -> Path:
    """Two WebSocket connections and a native one, their segments interleaved."""
    convs = [
        Conversation(client=("10.0.0.1", 50001), server=("10.0.0.9", 8080)),
        Conversation(client=("10.0.0.2", 50002), server=("10.0.0.9", 8080)),
        Conversation(client=("10.0.0.3", 50003), server=("10.0.0.9", 1883)),
    ]
    streams = [ws_stream(split=5), deflate_stream(), native_stream()]
    packets = [p for conv in convs for p in conv.handshake()]
    for step in range(max(map(len, streams))):
        for conv, sent in zip(convs, streams, strict=True):
            if step < len(sent):
                side, data = sent[step]
                packets.append(conv.send(side, data))
    for conv in convs:
        packets += [conv.fin(0), conv.fin(1)]
    return _write(tmp_path, pcap_file(timed(packets, ethernet, start=1.7e9)))


def _cases(tmp_path: Path) -> list[Path]:
    cases = [
        _write(tmp_path, capture_bytes(ws_stream(split=3)), "split.pcap"),
        _write(tmp_path, capture_bytes(deflate_stream()), "deflate.pcap"),
        _write(tmp_path, capture_bytes(native_stream(), server_port=1883), "native.pcap"),
        _write(tmp_path, capture_bytes(ws_stream(split=3))[:-40], "cut.pcap"),
    ]
    small = tmp_path / "firehose.pcap"
    write_capture(small, 3000, connections=2, per_segment=True)
    cases.append(small)
    if SMALL_PCAPNG.exists():
        cases.append(SMALL_PCAPNG)
    return cases


def test_the_streaming_listing_is_the_whole_file_listing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for path in _cases(tmp_path):
        code, out, _err = _run(capsys, str(path), "--no-payload")
        assert code == 0, path
        whole = _whole_file_listing(path)
        assert out == whole, path


def test_a_capture_cut_anywhere_near_its_end_is_listed_as_the_whole_file_path_lists_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Cut inside a record header, inside a frame, or between records: the pipeline,
    which walks a pcap file's records in place, reports the cut as the reader does."""
    whole = capture_bytes(ws_stream(split=3))
    said = ""
    for cut in range(1, 120):
        path = _write(tmp_path, whole[:-cut], f"cut{cut}.pcap")
        code, out, _err = _run(capsys, str(path), "--no-payload")
        assert code == 0, cut
        assert out == _whole_file_listing(path), cut
        said += out
    assert "the last record header is incomplete" in said
    assert " of its 54 bytes" in said  # the last segment, a bare FIN, cut short


def test_interleaved_connections_are_listed_one_after_the_other_as_the_whole_file_path_does(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = _interleaved(tmp_path)
    code, out, _err = _run(capsys, str(path), "--no-payload")
    assert code == 0
    assert out == _whole_file_listing(path)
    assert out.count("\nconnection ") == 3
    assert SECRET.decode() not in out


def _packets(objects: list[dict[str, Any]]) -> list[tuple[int, str, str, str]]:
    out = []
    for obj in objects:
        inner = (
            obj.get("packets", [])
            if obj["kind"] == "frame"
            else [obj.get("packet")]
            if obj["kind"] == "packet"
            else []
        )
        for packet in inner:
            if packet is not None:
                out.append(
                    (obj["conn"], obj["dir"], packet["type"], packet.get("packet_hex") or obj["packet_hex"])
                )
    return out


def test_runs_of_in_order_segments_are_listed_as_each_segment_alone_would_be(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A client sending one frame per segment, its run of segments broken by what a real
    capture holds: bare ACKs, a retransmission (same bytes and changed bytes), data of
    the server, a lost server segment its ACK reveals, a swapped pair, sequence numbers
    crossing 2**32. The streaming listing equals the whole-file one, which reassembles
    segment by segment."""
    conv = Conversation(client=("10.4.0.1", 42000), server=("10.4.0.2", 8080), isn=(2**32 - 30_000, 5000))
    packets = conv.handshake()
    packets.append(conv.send(0, request()))
    packets.append(conv.send(1, response()))
    packets.append(
        conv.send(
            0, build_frame(OP_BINARY, encode(Connect(ProtocolVersion.V311, client_id="r")), mask_key=b"mask")
        )
    )
    sent: list[bytes] = []
    stale = 0
    swapped = b""
    for n in range(700):
        frame = build_frame(
            OP_BINARY, encode(Publish("run/t", bytes([n % 256]) * (n % 40))), mask_key=os.urandom(4)
        )
        if n == 400:
            swapped = conv.send(0, frame)
            continue
        if 500 < n <= 505:  # acknowledging only what came before the lost segment
            packet = conv.packet(0, conv.next[0], PSH | ACK, frame, ack=stale)
            conv.next[0] += len(frame)
        else:
            packet = conv.send(0, frame)
        sent.append(packet)
        packets.append(packet)
        if n == 401:
            packets.append(swapped)  # after the segment that follows it
        if n == 100:
            packets.append(sent[-5])  # an old segment again, the same bytes
        if n == 200:
            old = sent[-3]
            packets.append(old[:-1] + bytes([old[-1] ^ 0xFF]))  # an old segment again, changed
        if n == 300:
            packets.append(conv.send(1, build_frame(OP_BINARY, encode(Publish("down", b"d")))))
        if n == 500:
            stale = conv.next[1]
            conv.send(1, build_frame(OP_BINARY, encode(Publish("lost", b"l"))))  # never captured
            packets.append(conv.send(1, build_frame(OP_BINARY, encode(Publish("after", b"a")))))
        if n % 50 == 25:
            packets.append(conv.packet(1, conv.next[1], ACK))
    packets += [conv.fin(0), conv.fin(1)]
    path = _write(tmp_path, pcap_file(timed(packets, ethernet)))
    code, out, _err = _run(capsys, str(path), "--no-payload")
    assert code == 0
    assert out == _whole_file_listing(path)
    assert "retransmitted bytes at offset" in out
    assert "bytes missing from the s2c stream" in out
    assert out.count("PUBLISH QoS0 run/t") == 700


@pytest.mark.parametrize("damage", ["reordered", "retransmitted", "overlapping"])
def test_out_of_order_retransmitted_and_overlapping_segments_give_the_same_packets(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, damage: str
) -> None:
    sent = ws_stream(split=7)
    conv = Conversation(client=("10.1.0.1", 40000), server=("10.1.0.2", 8080))
    clean = conv.handshake() + [conv.send(side, data) for side, data in sent] + [conv.fin(0), conv.fin(1)]
    conv = Conversation(client=("10.1.0.1", 40000), server=("10.1.0.2", 8080))
    packets = conv.handshake()
    for index, (side, data) in enumerate(sent):
        if damage == "overlapping" and len(data) > 6:
            start = conv.next[side]
            packets.append(conv.packet(side, start, PSH | ACK, data[:6]))
            packets.append(conv.packet(side, start + 3, PSH | ACK, data[3:]))  # bytes 3-5 twice
            conv.next[side] += len(data)
            continue
        packet = conv.send(side, data)
        packets.append(packet)
        if damage == "retransmitted":
            packets.append(packet)
        elif damage == "reordered" and index % 3 == 2:
            packets[-2], packets[-1] = packets[-1], packets[-2]
    packets += [conv.fin(0), conv.fin(1)]
    want = _packets(_objects(capsys, str(_write(tmp_path, pcap_file(timed(clean, ethernet)), "clean.pcap"))))
    got = _objects(capsys, str(_write(tmp_path, pcap_file(timed(packets, ethernet)), "damaged.pcap")))
    assert _packets(got) == want
    assert len(want) == 5
    header = got[0]
    assert header["kind"] == "connection"
    assert header["problems"] == []


def test_a_hole_that_never_fills_is_reported_when_it_has_waited_long_enough(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Only the client's side is captured (no ACK tells the hole is lost): the hole is
    declared once later bytes waited HOLE_WAIT seconds, not held to the end."""
    conv = Conversation(client=("10.2.0.1", 40000), server=("10.2.0.2", 1883))
    packets = [(1000.0, p) for p in conv.handshake()]
    packets.append((1000.1, conv.send(0, encode(Connect(ProtocolVersion.V311, client_id="h")))))
    conv.send(0, encode(Publish("lost", b"x" * 10)))  # never captured
    for minute in range(1, 4):
        packets.append((1000.0 + 60 * minute, conv.send(0, encode(Publish("late", b"y")))))
    path = _write(tmp_path, pcap_file([(t, ethernet(p)) for t, p in packets]))
    objects = _objects(capsys, str(path))
    (gap,) = [o for o in objects if o["kind"] == "error" and o["layer"] == "tcp"]
    assert gap["dir"] == "c2s"
    assert "bytes missing" in gap["message"]
    assert gap["time"] == pytest.approx(1180.0)  # the third minute: waited over 60 s
    header = objects[0]
    assert any("bytes missing from the c2s stream" in p for p in header["problems"])


def _narrowing_capture(tmp_path: Path) -> tuple[Path, Counter[tuple[int, str, str]], Counter[str]]:
    """Three connections with counted packets: the truth the narrowing is checked against."""
    convs = [Conversation(client=(f"10.3.0.{i + 1}", 41000 + i), server=("10.3.0.9", 8080)) for i in range(3)]
    packets: list[bytes] = []
    truth: Counter[tuple[int, str, str]] = Counter()
    topics: Counter[str] = Counter()
    for index, conv in enumerate(convs):
        packets += conv.handshake()
        packets.append(conv.send(0, request()))
        packets.append(conv.send(1, response()))
        plan: list[tuple[int, Any]] = [
            (0, Connect(ProtocolVersion.V311, client_id=f"n{index}", username="u", password=SECRET)),
            (0, Subscribe(1, (Subscription("room/+/t", 0),))),
        ]
        for n in range(5 + index):
            topic = f"room/{n % 2}/t" if n % 3 else f"other/{index}"
            plan.append((0, Publish(topic, bytes([n]) * (n + 1))))
        plan.append((1, Publish("room/x/t", b"down")))
        for side, packet in plan:
            data = encode(packet, ProtocolVersion.V311)
            packets.append(
                conv.send(side, build_frame(OP_BINARY, data, mask_key=b"mask" if side == 0 else None))
            )
            truth[(index, "c2s" if side == 0 else "s2c", packet.TYPE.name)] += 1
            if isinstance(packet, Publish):
                topics[packet.topic] += 1
        packets += [conv.fin(0), conv.fin(1)]
    return _write(tmp_path, pcap_file(timed(packets, ethernet))), truth, topics


def _listed(objects: list[dict[str, Any]]) -> Counter[tuple[int, str, str]]:
    return Counter((conn, direction, kind) for conn, direction, kind, _hex in _packets(objects))


def test_narrowing_by_connection_type_topic_and_direction(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path, truth, _topics = _narrowing_capture(tmp_path)
    everything = _objects(capsys, str(path))
    assert _listed(everything) == truth
    only = _objects(capsys, str(path), "--conn", "1", "--conn", "2")
    assert {o["conn"] for o in only} == {1, 2}
    assert _listed(only) == Counter({k: v for k, v in truth.items() if k[0] in (1, 2)})
    publishes = _objects(capsys, str(path), "--type", "publish,CONNECT")
    assert _listed(publishes) == Counter({k: v for k, v in truth.items() if k[2] in ("PUBLISH", "CONNECT")})
    down = _objects(capsys, str(path), "--dir", "s2c")
    assert _listed(down) == Counter({k: v for k, v in truth.items() if k[1] == "s2c"})
    rooms = _objects(capsys, str(path), "--topic", "room/+/t")
    topics = [p["topic"] for o in rooms if o["kind"] == "frame" for p in o["packets"]]
    assert topics
    assert all(t.startswith("room/") for t in topics)
    full = [
        p["topic"] for o in everything if o["kind"] == "frame" for p in o["packets"] if p["type"] == "PUBLISH"
    ]
    assert sorted(topics) == sorted(t for t in full if t.startswith("room/") and t.endswith("/t"))
    hashes = _objects(capsys, str(path), "--topic", "other/#", "--conn", "0")
    assert [p["topic"] for o in hashes if o["kind"] == "frame" for p in o["packets"]] == [
        "other/0",
        "other/0",
    ]
    code, text, _err = _run(capsys, str(path), "--type", "SUBSCRIBE")
    assert code == 0
    assert text.count("-> #1 SUBSCRIBE") == 3
    assert "PUBLISH" not in text


def test_narrowing_a_firehose_by_direction_and_topic(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Runs of PUBLISH frames, narrowed as they come (compact records, a batch at a time)."""
    path = tmp_path / "firehose.pcap"
    write_capture(path, 3000, connections=2, per_segment=True)
    for argv, publishes, connacks in (
        (["--dir", "c2s"], 3000, 0),
        (["--dir", "s2c"], 0, 2),
        (["--topic", "sensors/+/t1"], 3000, 0),
        (["--topic", "sensors/room/t2", "--topic", "x/#"], 0, 0),
        (["--dir", "c2s", "--topic", "#"], 3000, 0),
        (["--dir", "s2c", "--topic", "#"], 0, 0),
        (["--type", "CONNECT,CONNACK"], 0, 2),
    ):
        code, out, _err = _run(capsys, str(path), *argv)
        assert code == 0, argv
        assert out.count(f" PUBLISH QoS0 {TOPIC} 64 B  payload (64 B, binary): ") == publishes, argv
        assert out.count(" CONNACK ") == connacks, argv


def test_errors_only_lists_the_problems_and_the_connections_that_have_them(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path, _truth, _topics = _narrowing_capture(tmp_path)
    code, out, _err = _run(capsys, str(path), "--errors-only")
    assert code == 0
    assert "connection " not in out  # three clean connections: nothing to show
    sent = native_stream()
    side, publish = sent[2]
    assert publish[0] == 0x32  # PUBLISH QoS 1
    sent[2] = (side, bytes([0x36]) + publish[1:])  # QoS bits both set: malformed [MQTT-3.3.1-4]
    mixed = _write(tmp_path, capture_bytes(sent, server_port=1883), "mixed.pcap")
    code, out, _err = _run(capsys, str(mixed), "--errors-only")
    assert code == 0
    assert "connection 0:" in out
    assert "! mqtt c2s" in out
    assert "QoS" in out
    assert "CONNECT" not in out


def test_summary_counts_match_the_packets_sent(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path, truth, topics = _narrowing_capture(tmp_path)
    objects = _objects(capsys, str(path), "--summary")
    conns = [o for o in objects if o["kind"] == "connection_summary"]
    assert [c["conn"] for c in conns] == [0, 1, 2]
    for conn in conns:
        for direction in ("c2s", "s2c"):
            want = {kind: n for (i, d, kind), n in truth.items() if i == conn["conn"] and d == direction}
            assert conn["packets"][direction] == want
        assert conn["handshake"].startswith("101 Switching Protocols")
        assert conn["bytes"]["c2s"] > conn["bytes"]["s2c"] > 0
        assert conn["problem_count"] == 0
    counted = {o["topic"]: o["messages"] for o in objects if o["kind"] == "topic_summary"}
    assert counted == dict(topics)
    code, text, _err = _run(capsys, str(path), "--summary")
    assert code == 0
    assert "handshake: 101 Switching Protocols, subprotocol mqtt: ok" in text
    assert f"PUBLISH {truth[(2, 'c2s', 'PUBLISH')]}" in text
    assert SECRET.decode() not in text


def test_json_gives_the_whole_bytes_of_a_packet_split_over_frames(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    objects = _objects(capsys, str(_write(tmp_path, capture_bytes(ws_stream(split=4)))))
    packets = [p for o in objects if o["kind"] == "frame" for p in o["packets"]]
    connect, connack, publish, big, _disconnect = packets
    assert len(connect["frames"]) > 3
    assert len(publish["frames"]) > 1
    session = [
        packet for _side, packet in __import__("tests.capture.mqttws", fromlist=["x"]).session_packets()
    ]
    raw_connect = encode(session[0], ProtocolVersion.V5)
    assert connect["packet_hex"] == mask_password(raw_connect, session[0]).hex()
    assert SECRET.hex() not in connect["packet_hex"]
    assert publish["packet_hex"] == encode(session[2], ProtocolVersion.V5).hex()
    assert big["packet_hex"].endswith(big["payload_hex"])  # a random payload, made anew here
    assert len(big["packet_hex"]) == 2 * big["length"]
    assert connack["packet_hex"] == encode(session[1], ProtocolVersion.V5).hex()
    native = _objects(
        capsys, str(_write(tmp_path, capture_bytes(native_stream(), server_port=1883), "n.pcap"))
    )
    hexes = [o["packet_hex"] for o in native if o["kind"] == "packet"]
    assert hexes[2] == encode(session[2], ProtocolVersion.V5).hex()


def _progress_capture(tmp_path: Path) -> Path:
    path = tmp_path / "progress.pcap"
    write_capture(path, 12_000, per_segment=True)
    return path


def test_progress_shows_on_a_terminal(tmp_path: Path) -> None:
    path = _progress_capture(tmp_path)
    leader, follower = pty.openpty()
    env = {**os.environ, "MQTTWS_PROGRESS_AFTER": "0"}
    with subprocess.Popen(
        [sys.executable, "-m", "explorer", "decode", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=follower,
        env=env,
    ) as child:
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        assert child.wait() == 0
    os.close(leader)
    text = seen.decode()
    assert "decode: " in text
    assert "MB of " in text
    assert "frames/s" in text
    assert "s left" in text


def test_no_progress_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    path = _progress_capture(tmp_path)
    env = {**os.environ, "MQTTWS_PROGRESS_AFTER": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "explorer", "decode", str(path)], capture_output=True, env=env, check=False
    )
    assert done.returncode == 0
    assert done.stderr == b""
    assert done.stdout.count(f"PUBLISH QoS0 {TOPIC}".encode()) == 12_000


# The child reads its own high-water mark (VmHWM, the memory of its own process image) as it
# exits. ru_maxrss from wait4 is no good here: Linux keeps the maximum across fork and exec, so
# a child of a large test process would report the parent's size.
_HWM_RUNNER = """
import atexit, os, runpy, sys

def _report():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                with open(os.environ["HWM_FILE"], "w") as out:
                    out.write(line.split()[1])

atexit.register(_report)
sys.argv = ["explorer", *sys.argv[1:]]
runpy.run_module("explorer", run_name="__main__", alter_sys=True)
"""


def _peak_rss_mb(path: Path, *extra: str) -> float:
    if not Path("/proc/self/status").exists():
        pytest.skip("no /proc: the high-water mark is read from /proc/self/status")
    report = path.with_suffix(f".hwm{len(extra)}")
    done = subprocess.run(
        [sys.executable, "-c", _HWM_RUNNER, "decode", str(path), *extra],
        stdout=subprocess.DEVNULL,
        env={**os.environ, "HWM_FILE": str(report)},
        check=False,
    )
    assert done.returncode == 0
    return int(report.read_text()) / 1024


def test_memory_stays_bounded_whatever_the_size_of_the_capture(tmp_path: Path) -> None:
    small, large = tmp_path / "small.pcap", tmp_path / "large.pcap"
    write_capture(small, 20_000, connections=4, per_segment=True)
    write_capture(large, 400_000, connections=4, per_segment=True)
    assert large.stat().st_size > 60_000_000
    small_rss = _peak_rss_mb(small)
    large_rss = _peak_rss_mb(large)
    json_rss = _peak_rss_mb(large, "--json")
    # Twenty times the packets, about the same memory: nothing grows with the file.
    assert large_rss < small_rss + 40
    assert json_rss < small_rss + 60
    assert max(large_rss, json_rss) < 200


def test_a_listing_larger_than_memory_holds_comes_out_whole_to_a_file_and_a_pipe(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Over 8 MB of listing moves to the spool file while the capture is read; it is
    copied out whole whatever stdout is: a file, a pipe, or text in memory."""
    path = tmp_path / "many.pcap"
    write_capture(path, 45_000, connections=2, per_segment=True)
    code, in_memory, _err = _run(capsys, str(path))
    assert code == 0
    assert len(in_memory.encode()) > 9_000_000
    assert in_memory.count(" PUBLISH QoS0 ") == 45_000
    listing = tmp_path / "listing.txt"
    with listing.open("wb") as out:
        subprocess.run(
            [sys.executable, "-m", "explorer", "decode", str(path)], stdout=out, check=True, timeout=120
        )
    assert listing.read_text(encoding="utf-8") == in_memory
    piped = subprocess.run(
        [sys.executable, "-m", "explorer", "decode", str(path)], capture_output=True, check=True, timeout=120
    )
    assert piped.stdout.decode() == in_memory


def test_a_terminal_in_another_encoding_gets_the_listing_with_what_it_cannot_show_replaced(
    tmp_path: Path,
) -> None:
    path = tmp_path / "small.pcap"
    write_capture(path, 30, connections=1)
    done = subprocess.run(
        [sys.executable, "-m", "explorer", "decode", str(path)],
        capture_output=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONIOENCODING": "latin-1"},
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr == b""
    text = done.stdout.decode("latin-1")
    assert text.count(f" PUBLISH QoS0 {TOPIC} 64 B  payload (64 B, binary): ") == 30
    assert " ?\n" in text  # the "…" of a cut preview, which latin-1 does not hold


@pytest.mark.parametrize("source", ["/dev/zero", "text"])
def test_something_that_is_not_a_capture_is_refused_at_once(tmp_path: Path, source: str) -> None:
    if source == "text":
        path = tmp_path / "notes.txt"
        path.write_text("not a capture\n" * 1000)
        source = str(path)
    if not Path(source).exists():
        pytest.skip("no /dev/zero here")
    done = subprocess.run(
        [sys.executable, "-m", "explorer", "decode", source],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "not a pcap or pcapng capture file" in done.stderr


def test_a_non_ascii_upgrade_key_in_a_capture_gives_no_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sent = ws_stream(split=6)
    side, first = sent[0]
    sent[0] = (side, first.replace(b"dGhlIHNhbXBsZSBub25jZQ==", b"dGhlIHNhbXBsZ\xc3\xa9Bub25jZQ="))
    code, out, err = _run(capsys, str(_write(tmp_path, capture_bytes(sent))))
    assert code == 0
    assert "Traceback" not in out + err
    assert "Sec-WebSocket-Key" in out
    assert "-> #0 CONNECT v5" in out
    assert "-> #1 PUBLISH QoS1 id=7 a/b" in out


def test_packets_over_ipv4_fragments_are_decoded(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from tests.capture.test_layers import _fragments

    conv = Conversation(client=("10.4.0.1", 40000), server=("10.4.0.2", 1883))
    packets = conv.handshake()
    for side, data in native_stream():
        packet = conv.send(side, data)
        packets += _fragments(packet, 64) if len(packet) > 120 else [packet]
    objects = _objects(capsys, str(_write(tmp_path, pcap_file(timed(packets, ethernet)))))
    assert [o["packet"]["type"] for o in objects if o["kind"] == "packet"] == [
        "CONNECT",
        "CONNACK",
        "PUBLISH",
        "PUBLISH",
        "DISCONNECT",
    ]
    assert read_capture_bytes(pcap_file(timed(packets, ethernet))).problems == []
    _ = PacketEvent


def test_json_writes_a_decoded_payload_with_an_integer_over_64_bits(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    big = 123456789012345678901234567890
    sent = native_stream()
    side, _publish = sent[2]
    sent[2] = (side, encode(Publish("big/int", b'{"n": %d}' % big), ProtocolVersion.V5))
    objects = _objects(capsys, str(_write(tmp_path, capture_bytes(sent, server_port=1883))))
    (publish,) = [o for o in objects if o["kind"] == "packet" and o["packet"].get("topic") == "big/int"]
    assert publish["decoded"] == {"n": big}  # a native packet carries its codec fields beside it


def test_a_decoder_fault_on_one_connection_costs_only_that_connection(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection: the decoder raising on connection 0 (a bug, not an input) gives a
    one-line error for that connection; the others are decoded, no traceback."""
    from explorer.decoder import ConnectionDecoder

    original = ConnectionDecoder.receive_data

    def faulty(self: ConnectionDecoder, direction: Any, data: bytes, time: float) -> None:
        if self.conn == 0 and len(data) > 40:
            raise ValueError("injected fault")
        original(self, direction, data, time)

    monkeypatch.setattr(ConnectionDecoder, "receive_data", faulty)
    code, out, err = _run(capsys, str(_interleaved(tmp_path)), "--no-payload")
    assert code == 0
    assert err == ""
    assert "! decoder: internal error while decoding (ValueError: injected fault)" in out
    assert out.count("#0 CONNECT v5") == 2  # connections 1 (WebSocket) and 2 (native)


def test_json_of_compact_publish_records_is_the_json_of_their_events(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Topics that need escaping (and a ``%``), retained messages, both directions, and
    payloads of several codecs: the lines written from templates are the lines the
    frame and packet events give."""
    import explorer.capture.pipeline as pipeline_module

    rng = __import__("random").Random(9)
    sent = [(0, request()), (1, response())]
    sent.append(
        (0, build_frame(OP_BINARY, encode(Connect(client_id="c"), ProtocolVersion.V311), mask_key=b"k3y!"))
    )
    sent.append((1, build_frame(OP_BINARY, bytes.fromhex("20020000"))))
    topics = ["a/%d/%s", 'quote"back\\slash', "ünïcode/温度", "spBv1.0/g/DDATA/e/d", TOPIC]
    payloads = [b'{"t": 21.5}', b"plain text", rng.randbytes(40), b"\x81\xa1a\x01", b"\x08\x96\x01", b""]
    for step in range(60):
        topic = topics[step % len(topics)]
        payload = payloads[step % len(payloads)] if step % 7 else rng.randbytes(20)
        data = encode(Publish(topic, payload, retain=bool(step % 3 == 0)), ProtocolVersion.V311)
        side = step % 2
        sent.append((side, build_frame(OP_BINARY, data, mask_key=os.urandom(4) if side == 0 else None)))
    path = _write(tmp_path, capture_bytes(sent))
    compact = _objects(capsys, str(path), "--codec", 'quote"back\\slash=text')
    original = pipeline_module.Pipeline.__init__

    def events_only(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **{**kwargs, "compact": False})

    monkeypatch.setattr(pipeline_module.Pipeline, "__init__", events_only)
    assert _objects(capsys, str(path), "--codec", 'quote"back\\slash=text') == compact
    publishes = [p for o in compact if o["kind"] == "frame" for p in o["packets"] if p["type"] == "PUBLISH"]
    assert len(publishes) == 60
    assert {p["codec"] for p in publishes} >= {"json", "text", "raw", "msgpack", "protobuf-wire", "sparkplug"}
