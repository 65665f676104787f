"""Network reads step aside after user input (``explorer.workspace.runtime.InputFirst``).

The front ends tell the runtime about every key press and click; the client's read loop
then waits for the hold to end before it reads again, so the key's handler and repaint
are not queued behind a firehose. Reading goes on by itself once the hold ends.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from explorer.client.driver import MqttClient
from explorer.client.options import ConnectionOptions
from explorer.workspace.runtime import INPUT_FIRST, InputFirst, note_user_input, prioritise_input


class _Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def input_first() -> Iterator[InputFirst]:
    hold = INPUT_FIRST.hold
    yield INPUT_FIRST
    prioritise_input(False)
    INPUT_FIRST.release()
    INPUT_FIRST.hold = hold


def test_input_holds_reads_then_leaves_them_at_least_as_long() -> None:
    clock = _Clock()
    first = InputFirst(hold=0.04, share=0.5, clock=clock)
    first.note_input()
    assert first.pause() == 0.0  # off until a front end turns it on
    first.enabled = True
    first.note_input()
    assert first.pause() == pytest.approx(0.04)
    clock.now += 0.03
    assert first.pause() == pytest.approx(0.01)
    first.note_input()  # during the hold: no longer hold
    clock.now += 0.01
    assert first.pause() == 0.0
    clock.now += 0.02
    first.note_input()  # within hold / share of the last hold: reads go on
    assert first.pause() == 0.0
    clock.now += 0.02
    first.note_input()  # hold / share after the last hold began: held again
    assert first.pause() == pytest.approx(0.04)
    assert first.holds == 2
    first.release()
    assert first.pause() == 0.0
    assert not math.isinf(first.hold)


async def test_the_client_reads_nothing_while_input_holds_it_and_catches_up_after(
    input_first: InputFirst,
) -> None:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as broker:
        assert broker.ws_url is not None
        client = MqttClient(ConnectionOptions(url=broker.ws_url))
        await client.connect()
        await client.subscribe("t/#", qos=0)
        messages = client.messages().__aiter__()
        prioritise_input()
        input_first.hold = 60.0  # longer than the test: only release() ends it
        note_user_input()
        # A read already waiting when the input came completes; the loop holds after it.
        broker.publish("t/before", b"x")
        assert (await asyncio.wait_for(messages.__anext__(), 10)).topic == "t/before"
        for number in range(3):
            broker.publish(f"t/{number}", b"x")
        waiting = asyncio.ensure_future(messages.__anext__())
        await asyncio.sleep(0.2)  # the broker has written them; the client does not read
        assert not waiting.done()
        input_first.release()
        first = await asyncio.wait_for(waiting, 10)
        rest = [await asyncio.wait_for(messages.__anext__(), 10) for _ in range(2)]
        assert [m.topic for m in (first, *rest)] == ["t/0", "t/1", "t/2"]
        await client.close()
