"""Properties: any cut, reorder and duplication of a stream reassembles to the stream;
any bytes fed to the readers give a capture or a CaptureError, nothing else."""

from __future__ import annotations

import itertools
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.capture import CaptureError, read_capture_bytes
from tests.capture.builders import (
    ACK,
    PSH,
    Conversation,
    Interface,
    Packet,
    ethernet,
    pcap_file,
    pcapng_section,
    timed,
)


@settings(max_examples=150, deadline=None)
@given(
    data=st.binary(min_size=1, max_size=400),
    cuts=st.lists(st.integers(min_value=1, max_value=399), max_size=12),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    isn=st.integers(min_value=0, max_value=2**32 - 1),
    duplicates=st.integers(min_value=0, max_value=5),
)
def test_any_cut_reorder_and_duplication_reassembles_the_stream(
    data: bytes, cuts: list[int], seed: int, isn: int, duplicates: int
) -> None:
    conv = Conversation(isn=(isn, 7))
    handshake = conv.handshake()
    start = conv.next[0]
    bounds = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    segments = [
        conv.packet(0, start + lo, PSH | ACK, data[lo:hi], ack=conv.next[1])
        for lo, hi in itertools.pairwise(bounds)
    ]
    rng = random.Random(seed)
    segments += [rng.choice(segments) for _ in range(duplicates)]
    rng.shuffle(segments)
    capture = read_capture_bytes(pcap_file(timed(handshake + segments, ethernet)))
    (conn,) = capture.connections
    assert conn.stream("c2s") == data
    assert conn.gaps == []
    assert conn.problems == []


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["pcap-le", "pcap-be", "pcapng-le", "pcapng-be"]))
def test_random_bytes_after_a_valid_header_give_a_capture_or_a_capture_error(junk: bytes, kind: str) -> None:
    conv = Conversation()
    packets = [*conv.handshake(), conv.send(0, b"hello")]
    order = "<" if kind.endswith("le") else ">"
    if kind.startswith("pcapng"):
        good = pcapng_section([Interface(1)], [Packet(1.0, ethernet(p)) for p in packets], order=order)
    else:
        good = pcap_file(timed(packets, ethernet), order=order)
    messages = []
    for data in (good + junk, good[: len(good) // 2] + junk, good[:30] + junk):
        try:
            capture = read_capture_bytes(data)
        except CaptureError as exc:
            messages.append(str(exc))
        else:
            assert capture.format == kind.split("-", maxsplit=1)[0]
    # Errors are one-line sentences a user can read.
    assert all(message and "\n" not in message for message in messages)
