"""mosquitto_pub and mosquitto_sub (Debian mosquitto-clients) against the embedded broker over TCP.

``mosquitto_sub -d`` prints ``Subscribed (mid: N): CODES`` when the SUBACK arrives, which
is the signal that the subscription is in place; messages are printed in a ``-F``
format whose payload is hexadecimal, so any bytes survive the pipe.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from explorer.broker.server import Broker
from tests.interop.conftest import advance, require_program

pytestmark = pytest.mark.interop

INSTALLED_BY = "Debian package mosquitto-clients"
FORMAT = "MSG|%t|%q|%r|%E|%P|%x"
TIMEOUT = 15.0


@dataclass(frozen=True)
class Message:
    topic: str
    qos: int
    retain: bool
    expiry: str
    user_properties: str
    payload: bytes


_RUNNING: list[Sub] = []


class Sub:
    """A running ``mosquitto_sub``; :meth:`start` returns once its SUBACK has arrived."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.codes: list[int] = []
        self.early: list[str] = []  # messages printed before the SUBACK (a resumed session's queue)
        _RUNNING.append(self)

    @classmethod
    async def start(cls, port: int, *args: str) -> Sub:
        program = require_program("mosquitto_sub", INSTALLED_BY)
        # stdbuf: line-buffered stdout, else the SUBACK line sits in stdio's pipe buffer.
        proc = await asyncio.create_subprocess_exec(
            require_program("stdbuf", "Debian package coreutils"),
            "-oL",
            program,
            "-d",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-F",
            FORMAT,
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            limit=8 * 1024 * 1024,  # a 1 MiB payload is one 2 MiB hex line
        )
        sub = cls(proc)
        line = await sub._line_starting("Subscribed (mid:")
        sub.codes = [int(code) for code in line.rsplit("):", 1)[1].split(",")]
        return sub

    async def _line_starting(self, prefix: str) -> str:
        assert self.proc.stdout is not None
        seen: list[str] = []
        while True:
            raw = await asyncio.wait_for(self.proc.stdout.readline(), TIMEOUT)
            if not raw:
                raise AssertionError(f"mosquitto_sub ended before {prefix!r}; it printed {seen}")
            line = raw.decode(errors="replace").rstrip("\n")
            if line.startswith(prefix):
                return line
            if line.startswith("MSG|"):
                self.early.append(line)
            seen.append(line)

    async def message(self) -> Message:
        line = self.early.pop(0) if self.early else await self._line_starting("MSG|")
        _, topic, qos, retain, expiry, user, payload = line.split("|")
        return Message(topic, int(qos), retain == "1", expiry, user, bytes.fromhex(payload))

    async def wait(self) -> int:
        assert self.proc.stdout is not None
        await asyncio.wait_for(self.proc.stdout.read(), TIMEOUT)
        return await asyncio.wait_for(self.proc.wait(), TIMEOUT)

    async def kill(self) -> None:
        """End the process without a DISCONNECT: the broker sees the connection drop."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()


async def pub(port: int, *args: str, stdin: bytes | None = None) -> None:
    program = require_program("mosquitto_pub", INSTALLED_BY)
    proc = await asyncio.create_subprocess_exec(
        program,
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        *args,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(proc.communicate(stdin), TIMEOUT)
    assert proc.returncode == 0, output.decode(errors="replace")


@pytest.fixture
def port(broker: Broker) -> int:
    assert broker.tcp_port is not None
    return broker.tcp_port


@pytest.fixture(autouse=True)
async def _no_stray_subscribers() -> AsyncIterator[None]:
    """Kill any mosquitto_sub a test left running (a failed assertion, a missed message)."""
    yield
    while _RUNNING:
        await _RUNNING.pop().kill()


@pytest.mark.parametrize("version", ["mqttv311", "mqttv5"])
async def test_mosquitto_clients_qos_0_1_2_through_wildcards(port: int, version: str) -> None:
    plus = await Sub.start(port, "-V", version, "-q", "2", "-t", "mq/+/temp")
    hash_ = await Sub.start(port, "-V", version, "-q", "1", "-t", "mq/#")
    assert (plus.codes, hash_.codes) == ([2], [1])
    for qos in (0, 1, 2):
        await pub(port, "-V", version, "-q", str(qos), "-t", "mq/kitchen/temp", "-m", f"q{qos}")
    await pub(port, "-V", version, "-q", "1", "-t", "mq/a/b/temp", "-m", "deep")
    await pub(port, "-V", version, "-q", "1", "-t", "mq/end/temp", "-m", "end")
    got_plus = [await plus.message() for _ in range(4)]
    got_hash = [await hash_.message() for _ in range(5)]
    assert sorted((m.topic, m.payload, m.qos) for m in got_plus) == [
        ("mq/end/temp", b"end", 1),
        ("mq/kitchen/temp", b"q0", 0),
        ("mq/kitchen/temp", b"q1", 1),
        ("mq/kitchen/temp", b"q2", 2),
    ]
    # "mq/#" granted QoS 1: the QoS 2 message is downgraded; "mq/a/b/temp" matches only "#".
    assert sorted((m.topic, m.payload, m.qos) for m in got_hash) == [
        ("mq/a/b/temp", b"deep", 1),
        ("mq/end/temp", b"end", 1),
        ("mq/kitchen/temp", b"q0", 0),
        ("mq/kitchen/temp", b"q1", 1),
        ("mq/kitchen/temp", b"q2", 1),
    ]


async def test_mosquitto_clients_retained_message_and_its_clearing(port: int) -> None:
    await pub(port, "-q", "1", "-r", "-t", "mq/status/door", "-m", "open")
    first = await Sub.start(port, "-q", "1", "-t", "mq/status/#", "-C", "1")
    message = await first.message()
    assert (message.topic, message.payload, message.retain) == ("mq/status/door", b"open", True)
    assert await first.wait() == 0
    await pub(port, "-q", "1", "-r", "-t", "mq/status/door", "-n")  # -n: empty payload clears it
    second = await Sub.start(port, "-q", "1", "-t", "mq/status/#", "-C", "1")
    await pub(port, "-q", "1", "-t", "mq/status/marker", "-m", "m")
    message = await second.message()
    assert (message.topic, message.retain) == ("mq/status/marker", False)


@pytest.mark.parametrize("version", ["mqttv311", "mqttv5"])
async def test_mosquitto_clients_will_sent_when_connection_drops(port: int, version: str) -> None:
    watcher = await Sub.start(port, "-V", version, "-q", "1", "-t", "mq/will/#")
    polite_args = ["-V", version, "-t", "mq/other", "--will-topic", "mq/will/polite", "--will-qos", "1"]
    polite = await Sub.start(port, *polite_args, "--will-payload", "polite", "-E")
    assert await polite.wait() == 0  # -E: DISCONNECT after the SUBACK, so no will
    will_args = ["-V", version, "-t", "mq/other", "--will-topic", "mq/will/dropped", "--will-qos", "1"]
    dropped = await Sub.start(port, *will_args, "--will-payload", "gone")
    await dropped.kill()
    message = await watcher.message()
    assert (message.topic, message.payload, message.qos) == ("mq/will/dropped", b"gone", 1)
    await pub(port, "-V", version, "-q", "1", "-t", "mq/will/marker", "-m", "m")
    assert (await watcher.message()).topic == "mq/will/marker"


async def test_mosquitto_clients_persistent_session_queue_and_unsubscribe(broker: Broker, port: int) -> None:
    session = ["-c", "-i", "mq-keeper", "-q", "1"]
    first = await Sub.start(port, *session, "-t", "mq/q/#", "-t", "mq/u", "-E")
    assert await first.wait() == 0
    # -U unsubscribes "mq/u" on the next visit; the broker handles it before the DISCONNECT.
    again = await Sub.start(port, *session, "-t", "mq/q/#", "-U", "mq/u", "-E")
    assert await again.wait() == 0
    for n in (1, 2, 3):
        await pub(port, "-q", "1", "-t", f"mq/q/{n}", "-m", f"m{n}")
    await pub(port, "-q", "1", "-t", "mq/u", "-m", "unsubscribed")
    assert "mq-keeper" in broker.state.sessions
    back = await Sub.start(port, *session, "-t", "mq/q/#", "-C", "4")
    await pub(port, "-q", "1", "-t", "mq/q/end", "-m", "end")
    got = [await back.message() for _ in range(4)]
    expected = [(f"mq/q/{n}", f"m{n}".encode(), 1) for n in (1, 2, 3)] + [("mq/q/end", b"end", 1)]
    assert [(m.topic, m.payload, m.qos) for m in got] == expected
    assert await back.wait() == 0


@pytest.mark.parametrize(("version", "failure"), [("mqttv311", 0x80), ("mqttv5", 0x87)])
async def test_mosquitto_sub_denied_by_acl_gets_failure_code(
    acl_broker: Broker, version: str, failure: int
) -> None:
    assert acl_broker.tcp_port is not None
    sub = await Sub.start(acl_broker.tcp_port, "-V", version, "-q", "1", "-t", "secret/#", "-t", "open/#")
    assert sub.codes == [failure, 1]
    await pub(acl_broker.tcp_port, "-V", version, "-q", "1", "-t", "secret/x", "-m", "hidden")
    await pub(acl_broker.tcp_port, "-V", version, "-q", "1", "-t", "open/x", "-m", "visible")
    message = await sub.message()
    assert (message.topic, message.payload) == ("open/x", b"visible")


async def test_mosquitto_clients_v5_user_properties_expiry_and_topic_alias(port: int) -> None:
    sub = await Sub.start(port, "-V", "mqttv5", "-q", "1", "-t", "mq/alias/#")
    properties = [
        "-D",
        "publish",
        "user-property",
        "site",
        "lab",
        "-D",
        "publish",
        "user-property",
        "rack",
        "7",
    ]
    expiry = ["-D", "publish", "message-expiry-interval", "60"]
    alias = ["-D", "publish", "topic-alias", "1"]
    # -l: one PUBLISH per line; after the first, mosquitto_pub sends only the alias.
    await pub(
        port,
        "-V",
        "mqttv5",
        "-q",
        "1",
        "-t",
        "mq/alias/a/long/topic/name",
        "-l",
        *properties,
        *expiry,
        *alias,
        stdin=b"one\ntwo\nthree\n",
    )
    got = [await sub.message() for _ in range(3)]
    assert [(m.topic, m.payload) for m in got] == [
        ("mq/alias/a/long/topic/name", b"one"),
        ("mq/alias/a/long/topic/name", b"two"),
        ("mq/alias/a/long/topic/name", b"three"),
    ]
    assert {m.user_properties for m in got} == {"site:lab rack:7"}
    assert {m.expiry for m in got} == {"60"}


async def test_mosquitto_clients_v5_retained_message_expires(broker: Broker, port: int) -> None:
    expiring = ["-V", "mqttv5", "-q", "1", "-r", "-D", "publish", "message-expiry-interval"]
    await pub(port, *expiring, "10", "-t", "mq/exp/short", "-m", "short")
    await pub(port, *expiring, "100", "-t", "mq/exp/long", "-m", "long")
    advance(broker, 30)
    sub = await Sub.start(port, "-V", "mqttv5", "-q", "1", "-t", "mq/exp/#", "-C", "1")
    message = await sub.message()
    # MQTT 5.0 §3.3.2.3.3: what is left of the interval is sent on.
    assert (message.topic, message.payload, message.retain, message.expiry) == (
        "mq/exp/long",
        b"long",
        True,
        "70",
    )
    assert await sub.wait() == 0


async def test_mosquitto_clients_one_mebibyte_payload(port: int, tmp_path: Path) -> None:
    payload = os.urandom(1024 * 1024)
    path = tmp_path / "payload.bin"
    path.write_bytes(payload)
    sub = await Sub.start(port, "-q", "1", "-t", "mq/big", "-C", "1")
    await pub(port, "-q", "1", "-t", "mq/big", "-f", str(path))
    message = await sub.message()
    assert message.payload == payload
    assert await sub.wait() == 0
