"""``mqttws-explorer decode``: listing and JSON lines, checked against the reference
capture's Wireshark ground truth and against captures built in the tests."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from explorer.cli import main
from tests.capture.builders import ACK, PSH, Conversation, ethernet, pcap_file, timed
from tests.capture.mqttws import SECRET, capture_bytes, native_stream, request, websocket_stream
from tests.reference import SMALL_GOLDEN, SMALL_PCAPNG, needs_reference

REFERENCE = SMALL_PCAPNG
GOLDEN = SMALL_GOLDEN


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["decode", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, Any]]:
    code, out, _err = _run(capsys, *argv, "--json")
    assert code == 0
    return [json.loads(line) for line in out.splitlines()]


def _write(tmp_path: Path, data: bytes, name: str = "cap.pcap") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text())  # type: ignore[no-any-return]


@needs_reference()
def test_json_connection_headers_match_the_golden_connections(
    capsys: pytest.CaptureFixture[str], golden: dict[str, Any]
) -> None:
    headers = [o for o in _json(capsys, str(REFERENCE)) if o["kind"] == "connection"]
    keys = ("request_uri", "subprotocol_offered", "status", "subprotocol_negotiated")
    got = [
        (h["conn"], h["client"].rsplit(":", 1)[1], h["server"].rsplit(":", 1)[1], *(h[k] for k in keys))
        for h in headers
    ]
    golden_keys = ("request_uri", "requested_protocol", "status", "negotiated_protocol")
    want = [
        (c["index"], str(c["client_port"]), str(c["server_port"]), *(c[k] for k in golden_keys))
        for c in golden["connections"]
    ]
    assert got == want


@needs_reference()
def test_json_frames_match_the_golden_frames(
    capsys: pytest.CaptureFixture[str], golden: dict[str, Any]
) -> None:
    objects = _json(capsys, str(REFERENCE))
    fields = ("opcode", "fin", "rsv", "masked", "payload_length", "header_length", "length_encoding")
    got: dict[tuple[int, str], list[tuple[Any, ...]]] = defaultdict(list)
    for obj in objects:
        if obj["kind"] == "frame":
            got[(obj["conn"], obj["dir"])].append((*tuple(obj[f] for f in fields), len(obj["completed"])))
    want: dict[tuple[int, str], list[tuple[Any, ...]]] = defaultdict(list)
    for frame in golden["frames"]:
        want[(frame["conn"], frame["dir"])].append(
            (*tuple(frame[f] for f in fields), len(frame.get("mqtt_completed", [])))
        )
    assert got == want
    assert sum(len(v) for v in got.values()) == golden["summary"]["ws_frames"]


@needs_reference()
def test_json_packets_inside_frames_match_the_golden_packets(
    capsys: pytest.CaptureFixture[str], golden: dict[str, Any]
) -> None:
    got: dict[tuple[int, str], list[tuple[Any, ...]]] = defaultdict(list)
    for obj in _json(capsys, str(REFERENCE)):
        if obj["kind"] == "frame":
            for packet in obj["packets"]:
                got[(obj["conn"], obj["dir"])].append(
                    (packet["type"], packet["flags"], len(packet["frames"]))
                )
    want: dict[tuple[int, str], list[tuple[Any, ...]]] = defaultdict(list)
    for packet in golden["mqtt_packets"]:
        want[(packet["conn"], packet["dir"])].append(
            (packet["type_name"], packet["flags"], len(packet["frames"]))
        )
    assert got == want


@needs_reference()
def test_json_never_contains_the_reference_connect_password(capsys: pytest.CaptureFixture[str]) -> None:
    _code, out, _err = _run(capsys, str(REFERENCE), "--json")
    assert "not-a-secret" not in out
    assert b"not-a-secret".hex() not in out


@needs_reference()
def test_listing_shows_headers_parts_and_completed_spans(
    capsys: pytest.CaptureFixture[str], golden: dict[str, Any]
) -> None:
    code, out, _err = _run(capsys, str(REFERENCE))
    assert code == 0
    assert out.count("subprotocol offered: mqtt, negotiated: mqtt  status: 101 Switching Protocols") == 4
    assert "CONNECT #0 part 2/17" in out
    assert out.count("s2c HTTP 101 Switching Protocols (159 B)  subprotocol: mqtt") == 4
    assert "[frames 0-16]" in out
    assert "password=***" in out
    assert "not-a-secret" not in out
    frame_lines = [line for line in out.splitlines() if " #" in line and ("c2s #" in line or "s2c #" in line)]
    assert len(frame_lines) == golden["summary"]["ws_frames"]


def test_tls_stream_is_reported_not_decoded(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    hello = bytes.fromhex("160301002a0100002603035f") + b"\x00" * 40
    path = _write(
        tmp_path, capture_bytes([(0, hello), (1, b"\x16\x03\x03\x00\x10" + b"\x01" * 16)], server_port=443)
    )
    code, out, _err = _run(capsys, path, "--port", "443")
    assert code == 0
    assert "TLS, encrypted: cannot decode" in out
    assert "CONNECT" not in out
    headers = [o for o in _json(capsys, path) if o["kind"] == "connection"]
    assert headers[0]["protocol"] == "tls"


def test_native_mqtt_is_detected_on_any_port(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = _write(tmp_path, capture_bytes(native_stream(), server_port=18830))
    objects = _json(capsys, path)
    assert objects[0]["protocol"] == "mqtt"
    types = [o["packet"]["type"] for o in objects if o["kind"] == "packet"]
    assert types == ["CONNECT", "CONNACK", "PUBLISH", "PUBLISH", "DISCONNECT"]
    assert SECRET.decode() not in json.dumps(objects)


def test_websocket_is_detected_on_any_port_and_split_packets_are_marked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = _write(tmp_path, capture_bytes(websocket_stream(split=4), server_port=9001))
    code, out, _err = _run(capsys, path)
    assert code == 0
    assert "websocket" in out.splitlines()[2]
    assert "CONNECT #0 part 1/" in out
    assert "-> #0 CONNECT v5" in out
    assert "close=1000 bye" in out
    assert SECRET.decode() not in out


def test_a_packet_cut_off_by_the_end_of_the_capture_is_named_with_its_frames(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sent = websocket_stream(split=4)[:5]  # upgrade, then three 4-byte frames of the CONNECT
    code, out, _err = _run(capsys, _write(tmp_path, capture_bytes(sent, server_port=9001)))
    assert code == 0
    lines = out.splitlines()
    assert "s2c HTTP 101 Switching Protocols (159 B)  subprotocol: mqtt" in out
    assert [line.strip() for line in lines if " part " in line] == [
        "CONNECT #0 part 1/? (4 B)",
        "CONNECT #0 part 2/? (4 B)",
        "CONNECT #0 part 3/? (4 B)",
    ]
    assert "  ! mqtt c2s: CONNECT #0 never completed (12 B in frames 0-2)" in lines
    assert SECRET.decode() not in out


def test_port_option_decodes_a_get_without_upgrade_header_as_websocket(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sent = websocket_stream()
    sent[0] = (0, request().replace(b"Upgrade: websocket\r\n", b""))
    path = _write(tmp_path, capture_bytes(sent, server_port=9002))
    _code, out, _err = _run(capsys, path)
    assert "skipped" in out
    code, out, _err = _run(capsys, path, "--port", "9002")
    assert code == 0
    assert "skipped" not in out
    assert "GET /mqtt" in out


def test_other_tcp_traffic_is_listed_as_skipped(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = _write(
        tmp_path, capture_bytes([(0, b"SSH-2.0-OpenSSH\r\n"), (1, b"SSH-2.0-x\r\n")], server_port=22)
    )
    code, out, _err = _run(capsys, path)
    assert code == 0
    assert "not MQTT or WebSocket" in out


def test_a_gap_stops_that_direction_with_an_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    conv = Conversation(client=("127.0.0.1", 50000), server=("127.0.0.1", 1883))
    packets = conv.handshake()
    native = native_stream()
    for side, data in native[:2]:
        packets.append(conv.send(side, data))
    conv.send(0, native[2][1])  # lost
    packets.append(conv.send(0, native[4][1]))
    packets.append(conv.packet(1, conv.next[1], ACK | PSH))
    path = _write(tmp_path, pcap_file(timed(packets, ethernet, start=1.7e9)))
    objects = _json(capsys, path)
    errors = [o for o in objects if o["kind"] == "error" and o["layer"] == "tcp"]
    assert len(errors) == 1
    assert "bytes missing" in errors[0]["message"]
    assert errors[0]["dir"] == "c2s"
    assert [o["packet"]["type"] for o in objects if o["kind"] == "packet"] == ["CONNECT", "CONNACK"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: str(tmp / "absent.pcapng"), "no such file"),
        (lambda tmp: _write(tmp, b"plain text, not a capture\n", "notes.txt"), "not a pcap or pcapng"),
        (str, "directory"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, make: Any, message: str
) -> None:
    code, out, err = _run(capsys, make(tmp_path))
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert message in err
    assert "Traceback" not in err


def test_module_entry_point_runs_decode_as_a_subprocess(tmp_path: Path) -> None:
    path = _write(tmp_path, capture_bytes(websocket_stream(split=3)))
    result = subprocess.run(
        [sys.executable, "-m", "explorer", "decode", path, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    kinds = [json.loads(line)["kind"] for line in result.stdout.splitlines()]
    assert kinds[0] == "connection"
    assert kinds.count("frame") > 5
    missing = subprocess.run(
        [sys.executable, "-m", "explorer", "decode", str(tmp_path / "nope.pcap")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 1
    assert missing.stderr.startswith("mqttws-explorer: ")
    assert "Traceback" not in missing.stderr


@pytest.mark.parametrize(
    ("keep", "message"),
    [
        (24, "no packet could be read"),  # the file header alone
        (60, "no packet could be read"),  # the first record is cut
        (200, "nothing could be decoded"),  # the TCP handshake, cut before any WebSocket byte
    ],
)
def test_a_truncated_capture_with_nothing_decodable_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, keep: int, message: str
) -> None:
    data = capture_bytes(websocket_stream(split=3))
    code, _out, err = _run(capsys, _write(tmp_path, data[:keep]))
    assert code == 1
    assert err.count("\n") == 1
    assert message in err
    assert "Traceback" not in err


def test_a_truncated_capture_with_decoded_frames_exits_0_with_the_problem_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = capture_bytes(websocket_stream(split=3))
    code, out, err = _run(capsys, _write(tmp_path, data[:-5]))
    assert code == 0
    assert err == ""
    assert "! capture: the file is truncated" in out
    assert "-> #0 CONNECT" in out


@pytest.mark.parametrize("port", ["0", "99999", "-1", "http"])
def test_port_out_of_range_is_refused_by_argparse(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, port: str
) -> None:
    path = _write(tmp_path, capture_bytes(websocket_stream()))
    with pytest.raises(SystemExit) as info:
        main(["decode", path, f"--port={port}"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --port" in err
    assert "1 to 65535" in err or "1-65535" in err
