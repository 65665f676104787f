"""The frame list keeps up with a bounded trace: while hidden, while paused, as frames drop.

Under a firehose the trace drops its oldest events all the time; a paused list must keep
the frames the user is looking at where they are, and a list scanned batch by batch
while its tab is hidden must end up with the same rows as one scan of the whole trace.
"""

from __future__ import annotations

from textual.app import App, ComposeResult

from explorer.decoder import ConnectionDecoder
from explorer.model.events import FrameEvent
from explorer.model.trace import TraceBuffer
from explorer.mqtt.codec import encode
from explorer.mqtt.packets import Publish
from explorer.ws.framing import OP_BINARY, build_frame
from tests.tui.scenario import REQUEST, RESPONSE, V5
from tui.widgets.frames import FrameFilter, FrameList


class Feed:
    """Server frames of one PUBLISH each (plus their packet events) into a trace."""

    def __init__(self, trace: TraceBuffer) -> None:
        self.trace = trace
        self.decoder = ConnectionDecoder(0)
        self.decoder.receive_data("c2s", REQUEST, 0.0)
        self.decoder.receive_data("s2c", RESPONSE, 0.0)
        self.sent = 0

    def frames(self, count: int) -> None:
        for _ in range(count):
            raw = encode(Publish(f"t/{self.sent}", b"x"), V5)
            self.decoder.receive_data("s2c", build_frame(OP_BINARY, raw), float(self.sent))
            self.sent += 1
        for event in self.decoder.events_received():
            self.trace.append(event)


class ListApp(App[None]):
    def __init__(self, trace: TraceBuffer) -> None:
        super().__init__()
        self.trace = trace

    def compose(self) -> ComposeResult:
        yield FrameList(self.trace)


def topic_of(frames: FrameList, row: int) -> str:
    frame = frames.frame_at(row)
    assert isinstance(frame, FrameEvent)
    return frame.payload.decode("latin-1")


async def test_a_paused_list_keeps_the_same_frames_on_screen_while_old_ones_drop() -> None:
    trace = TraceBuffer(max_events=400)
    feed = Feed(trace)
    feed.frames(150)
    app = ListApp(trace)
    async with app.run_test(size=(100, 20)) as pilot:
        frames = app.query_one(FrameList)
        frames.update_from_trace()
        await pilot.pause()
        frames.go_to(100)  # pauses
        frames.scroll_to(y=95, animate=False, immediate=True)
        await pilot.pause()
        top_before = topic_of(frames, frames.scroll_offset.y)
        cursor_before = topic_of(frames, frames.cursor)
        feed.frames(120)  # the trace holds 200 frames: the oldest 70 drop
        frames.update_from_trace()
        await pilot.pause()
        assert trace.dropped > 0
        assert not frames.follow
        assert topic_of(frames, frames.cursor) == cursor_before
        assert topic_of(frames, frames.scroll_offset.y) == top_before
        assert frames.scroll_offset.y == 95 - 70


async def test_a_list_scanned_batch_by_batch_while_hidden_matches_one_full_scan() -> None:
    trace = TraceBuffer(max_events=300)
    feed = Feed(trace)
    app = ListApp(trace)
    async with app.run_test(size=(100, 20)) as pilot:
        frames = app.query_one(FrameList)
        frames.display = False
        for _ in range(12):  # 240 frames in batches of 20: the oldest drop on the way
            feed.frames(20)
            frames.scan()
        frames.display = True
        frames.update_from_trace()
        await pilot.pause()
        fresh = FrameList(trace)
        fresh.set_filter(FrameFilter())
        assert frames.row_count == fresh.row_count == 150
        assert [frames.frame_at(r) for r in range(frames.row_count)] == [
            fresh.frame_at(r) for r in range(fresh.row_count)
        ]
        assert frames.follow
        assert frames.cursor == frames.row_count - 1
