"""GapTracker: an outage is reported once, when the connection is back, with what was lost."""

from __future__ import annotations

from explorer.model.events import PacketEvent, StateChanged
from explorer.mqtt.packets import Connack
from explorer.present.gaps import GapTracker, gap_notice, gap_to_json


def _state(seq: int, time: float, state: str, detail: str = "") -> StateChanged:
    return StateChanged(seq=seq, time=time, conn=seq, state=state, detail=detail)


def _connack(seq: int, *, session_present: bool) -> PacketEvent:
    return PacketEvent(
        seq=seq,
        time=0.0,
        conn=seq,
        direction="s2c",
        packet_no=0,
        stream_offset=0,
        packet=Connack(session_present=session_present),
        raw=b"",
        frames=(),
    )


def test_a_first_connection_and_a_failed_start_are_no_gap() -> None:
    tracker = GapTracker()
    for event in (_state(0, 1.0, "connecting"), _state(1, 1.5, "disconnected", "refused")):
        assert tracker.observe(event) is None
    assert tracker.observe(_state(2, 2.0, "connected")) is None


def test_an_outage_is_one_gap_with_its_length_reason_and_attempts() -> None:
    tracker = GapTracker()
    tracker.observe(_state(0, 10.0, "connected"))
    events = [
        _state(1, 20.0, "disconnected", "the broker closed the WebSocket (code 1001)"),
        _state(2, 20.0, "reconnecting", "attempt 1 in 1.0 s"),
        _state(3, 21.0, "connecting"),
        _state(4, 21.0, "disconnected", "connection refused"),
        _state(5, 23.0, "connecting"),
        _connack(6, session_present=True),
    ]
    assert [tracker.observe(event) for event in events] == [None] * len(events)
    gap = tracker.observe(_state(7, 23.5, "connected"))
    assert gap is not None
    assert (gap.seconds, gap.reason, gap.attempts, gap.session_present) == (
        3.5,
        "the broker closed the WebSocket (code 1001)",
        2,
        True,
    )
    notice = gap_notice(gap, clean_start=False)
    assert notice.startswith(
        "reconnected after 3.5 s offline (the broker closed the WebSocket (code 1001), 2"
    )
    assert "the broker kept the session" in notice
    assert gap_to_json(gap, time_offset=100.0)["gap"]["start"] == 120.0
    assert tracker.observe(_state(8, 30.0, "connected")) is None  # reported once


def test_a_clean_session_says_the_messages_are_lost() -> None:
    tracker = GapTracker()
    tracker.observe(_state(0, 0.0, "connected"))
    tracker.observe(_state(1, 1.0, "disconnected", "gone"))
    tracker.observe(_state(2, 2.0, "connecting"))
    tracker.observe(_connack(3, session_present=False))
    gap = tracker.observe(_state(4, 2.0, "connected"))
    assert gap is not None
    assert "lost (clean session" in gap_notice(gap, clean_start=True)
