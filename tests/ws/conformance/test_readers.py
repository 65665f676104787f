"""One table of cases (``cases.py``), two frame readers: the broker's hot-path reader
(``explorer.broker.wsframes.FrameParser``, with ``parse_close`` for close frames, as the
broker reads) and the indexer (``explorer.ws.framing.FrameIndexer``, the decoder's one
frame reader), fed whole, byte by byte and in random cuts.

Both must hand over the valid frame sent first, then name the same rule
(``explorer.ws.rules.Violation``) in the same words, which gives the same close code;
the indexer does it for a server's frames too.
"""

from __future__ import annotations

import random

import pytest

from explorer.broker.wsframes import OP_CLOSE, Frame, FrameParser, WebSocketViolation, parse_close
from explorer.mqtt.codec import encode
from explorer.ws.framing import FrameIndexer, FramingError, RawFrame
from explorer.ws.rules import Violation
from tests.ws.conformance.cases import BEFORE_PUBLISH, CLIENT_CASES, LIMIT, SERVER_CASES, Case, before

CUTS = ["whole", "bytes", "random"]


def _chunks(data: bytes, cut: str) -> list[bytes]:
    if cut == "whole":
        return [data]
    if cut == "bytes":
        return [data[i : i + 1] for i in range(len(data))]
    rng = random.Random(len(data))
    out = []
    pos = 0
    while pos < len(data):
        size = rng.randint(1, 9)
        out.append(data[pos : pos + size])
        pos += size
    return out


def _broker(chunks: list[bytes]) -> tuple[list[Frame], WebSocketViolation | None]:
    """What the broker reads: the frames acted on, then the violation that closes."""
    parser = FrameParser(LIMIT)
    frames: list[Frame] = []
    try:
        for chunk in chunks:
            for item in parser.feed(chunk):
                frames.append(item)
                if item[0] == OP_CLOSE:
                    parse_close(item[2])
    except WebSocketViolation as exc:
        return frames + exc.frames, exc
    return frames, None


def _indexer(chunks: list[bytes], *, masked: bool) -> tuple[list[RawFrame], Violation | None, str | None]:
    """What the indexer reads: the frames up to the first with a problem, and the rule
    and words of that problem (or of the error that stopped the frames)."""
    indexer = FrameIndexer(expect_masked=masked, max_payload_size=LIMIT)
    frames: list[RawFrame] = []
    try:
        for chunk in chunks:
            frames += indexer.receive_data(chunk)
    except FramingError as exc:
        return frames + exc.frames, exc.violation, exc.reason
    for index, frame in enumerate(frames):
        if frame.violations:
            assert frame.answer == frame.violations[0].code
            return frames[: index + 1], frame.violations[0], frame.problems[0]
    return frames, None, None


@pytest.mark.parametrize("cut", CUTS)
@pytest.mark.parametrize("case", CLIENT_CASES, ids=lambda case: case.name)
def test_both_readers_name_the_same_rule_in_a_clients_frames(case: Case, cut: str) -> None:
    data = before(mask=True) + case.build(mask=True)
    chunks = _chunks(data, cut)
    frames, violation = _broker(chunks)
    assert violation is not None, "the broker read it all"
    assert frames[0] == (0x2, True, encode(BEFORE_PUBLISH))  # acted on before the close
    assert violation.violation is case.violation
    assert violation.code == case.violation.code
    indexed, rule, words = _indexer(chunks, masked=True)
    assert indexed[0].payload == encode(BEFORE_PUBLISH)
    if case.broker_only:
        assert rule is None  # good WebSocket; the MQTT layer reports it
        return
    assert rule is case.violation
    assert words == violation.reason  # one reading of the rule, in the same words


@pytest.mark.parametrize("cut", CUTS)
@pytest.mark.parametrize("case", SERVER_CASES, ids=lambda case: case.name)
def test_the_indexer_names_the_rule_in_a_servers_frames(case: Case, cut: str) -> None:
    chunks = _chunks(before(mask=False) + case.build(mask=False), cut)
    indexed, rule, words = _indexer(chunks, masked=False)
    assert indexed[0].payload == encode(BEFORE_PUBLISH)
    assert rule is case.violation
    assert words is not None
    assert words.startswith(case.violation.template.split("{")[0])


def test_every_rule_of_the_table_has_a_case() -> None:
    assert {case.violation for case in CLIENT_CASES + SERVER_CASES} == set(Violation) - {
        Violation.AFTER_CLOSE,  # the broker stops reading at a close: only the indexer sees more
        Violation.RSV1_ON_CONTROL,  # needs permessage-deflate, which the broker never accepts
    }
