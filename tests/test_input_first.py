"""Network reads step aside after user input, through the front ends' runtime policy.

A front end reports every key press and click to its :class:`RuntimePolicy`; the client
it made through the Workspace asks the policy's read gate before each read, so the key's
handler and repaint are not queued behind a firehose. Reading goes on by itself once the
hold ends. Without a policy (the core's default) reads never wait.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from explorer.client.driver import MqttClient
from explorer.client.options import ConnectionOptions
from explorer.workspace import Workspace
from explorer.workspace.runtime import InputFirst, RuntimePolicy


class _Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as running:
        yield running


def test_input_holds_reads_then_leaves_them_at_least_as_long() -> None:
    clock = _Clock()
    first = InputFirst(hold=0.04, share=0.5, clock=clock)
    assert first.pause() == 0.0
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


def test_a_policy_without_input_first_never_holds_reads() -> None:
    policy = RuntimePolicy()
    policy.note_input()
    assert policy.read_gate() == 0.0


async def test_the_client_reads_nothing_while_input_holds_it_and_catches_up_after(broker: Broker) -> None:
    assert broker.ws_url is not None
    policy = RuntimePolicy(input_first=InputFirst(hold=60.0))  # longer than the test: release() ends it
    client = MqttClient(ConnectionOptions(url=broker.ws_url), read_gate=policy.read_gate)
    await client.connect()
    await client.subscribe("t/#", qos=0)
    messages = client.messages().__aiter__()
    policy.note_input()
    # A read already waiting when the input came completes; the loop holds after it.
    broker.publish("t/before", b"x")
    assert (await asyncio.wait_for(messages.__anext__(), 10)).topic == "t/before"
    for number in range(3):
        broker.publish(f"t/{number}", b"x")
    waiting = asyncio.ensure_future(messages.__anext__())
    await asyncio.sleep(0.2)  # the broker has written them; the client does not read
    assert not waiting.done()
    policy.uninstall()  # ends the hold
    first = await asyncio.wait_for(waiting, 10)
    rest = [await asyncio.wait_for(messages.__anext__(), 10) for _ in range(2)]
    assert [m.topic for m in (first, *rest)] == ["t/0", "t/1", "t/2"]
    await client.close()


async def test_a_workspace_reads_through_the_front_ends_gate_and_another_one_does_not(broker: Broker) -> None:
    assert broker.ws_url is not None
    policy = RuntimePolicy(input_first=InputFirst(hold=60.0))
    async with Workspace(read_gate=policy.read_gate) as held, Workspace() as free:
        for workspace in (held, free):
            await workspace.connect(ConnectionOptions(url=broker.ws_url))
            await workspace.subscribe("t/#", 0)

        async def until_seen(workspace: Workspace, topic: str) -> None:
            async for _ in workspace.events(max_rate_hz=100):
                if workspace.tree.find(topic) is not None:
                    return

        policy.note_input()
        broker.publish("t/before", b"x")  # completes the read each client already waits on
        await asyncio.wait_for(asyncio.gather(until_seen(held, "t/before"), until_seen(free, "t/before")), 10)
        broker.publish("t/after", b"x")
        # The Workspace without the gate (the core's default) reads at once; the held one does not.
        await asyncio.wait_for(until_seen(free, "t/after"), 10)
        assert held.tree.find("t/after") is None
        policy.input_first.release()  # type: ignore[union-attr]
        await asyncio.wait_for(until_seen(held, "t/after"), 10)
