"""Our QoS 1 and QoS 2 PUBLISH flows (MQTT 5.0 §4.3.2, §4.3.3), for ``explorer.session.state``.

Owns the in-flight window and the queue behind it: at most the server's Receive
Maximum PUBLISHes await acknowledgement [MQTT-3.3.4-9]; the rest wait in order. A
QoS 2 message counts against the window and holds its packet id until PUBCOMP.
Plain bookkeeping: packets go out through the ``send`` callable, outcomes through
``emit``; no I/O.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, replace

from explorer.mqtt.enums import PubrelReasonCode
from explorer.mqtt.packets import Packet, Puback, Pubcomp, Publish, Pubrec, Pubrel
from explorer.session.events import Anomaly, PublishCompleted, SessionEvent
from explorer.session.limits import PacketIds, reason_text

__all__ = ["OutboundFlows"]


@dataclass(slots=True)
class _Flow:
    """One of our QoS 1/2 PUBLISHes: queued (window full), sent, or released (PUBREL sent)."""

    publish: Publish
    stage: str = "queued"  # "queued" | "sent" | "released"


class OutboundFlows:
    """The window, the queue and the acknowledgement handling of our PUBLISHes."""

    def __init__(
        self,
        ids: PacketIds,
        send: Callable[[Packet], None],
        write: Callable[[bytes], None],
        emit: Callable[[SessionEvent], None],
        *,
        v5: bool,
    ) -> None:
        self._ids = ids
        self._send = send
        self._write = write
        self._emit = emit
        self._v5 = v5
        self.window = 65535  # the server's Receive Maximum
        self._sent: OrderedDict[int, _Flow] = OrderedDict()  # sent or released, in send order
        self._queue: deque[_Flow] = deque()

    @property
    def in_flight(self) -> int:
        return len(self._sent)

    @property
    def queued(self) -> int:
        return len(self._queue)

    def submit(self, publish: Publish, data: bytes) -> None:
        """Send now (``data`` is ``publish`` encoded) if the window has room and nothing waits, else queue."""
        packet_id = publish.packet_id
        assert packet_id is not None
        flow = _Flow(publish)
        if len(self._sent) < self.window and not self._queue:
            flow.stage = "sent"
            self._sent[packet_id] = flow
            self._write(data)
        else:
            self._queue.append(flow)

    def fill(self) -> None:
        """Move queued PUBLISHes into the window while it has room."""
        while self._queue and len(self._sent) < self.window:
            flow = self._queue.popleft()
            packet_id = flow.publish.packet_id
            assert packet_id is not None
            flow.stage = "sent"
            self._sent[packet_id] = flow
            self._send(flow.publish)

    def resume(self) -> None:
        """[MQTT-4.4.0-1]: resend unacknowledged PUBLISH (DUP set) and PUBREL with their ids."""
        for packet_id, flow in self._sent.items():
            if flow.stage == "released":
                self._send(Pubrel(packet_id=packet_id))
            else:
                self._send(replace(flow.publish, dup=True))

    def restart(self) -> None:
        """The server has no session for us [MQTT-4.1.0-1].

        Messages whose flow had not reached PUBREC are sent again as new messages (the
        caller is still waiting for them); a QoS 2 message already received by the
        server (PUBREL stage) is complete.
        """
        resend: list[_Flow] = []
        for packet_id, flow in self._sent.items():
            if flow.stage == "released":
                self._ids.release(packet_id)
                self._emit(PublishCompleted(packet_id, flow.publish.qos, None, True))
            else:
                flow.stage = "queued"
                resend.append(flow)
        self._sent.clear()
        self._queue.extendleft(reversed(resend))

    def on_puback(self, ack: Puback) -> None:
        flow = self._sent.get(ack.packet_id)
        if flow is None or flow.publish.qos != 1:
            self._emit(Anomaly(f"PUBACK for packet id {ack.packet_id}, which has no QoS 1 PUBLISH in flight"))
            return
        self._complete(ack.packet_id, ack, int(ack.reason_code) < 0x80)

    def on_pubrec(self, ack: Pubrec) -> None:
        flow = self._sent.get(ack.packet_id)
        if flow is None or flow.publish.qos != 2:
            self._emit(Anomaly(f"PUBREC for packet id {ack.packet_id}, which has no QoS 2 PUBLISH in flight"))
            if self._v5:
                # MQTT 5.0 §4.3.3: answer PUBREL "Packet Identifier not found".
                self._send(
                    Pubrel(packet_id=ack.packet_id, reason_code=PubrelReasonCode.PACKET_IDENTIFIER_NOT_FOUND)
                )
            return
        if int(ack.reason_code) >= 0x80:
            # MQTT 5.0 §4.3.3: a failing PUBREC ends the flow and frees the id.
            self._complete(ack.packet_id, ack, False)
            return
        flow.stage = "released"
        self._send(Pubrel(packet_id=ack.packet_id))

    def on_pubcomp(self, ack: Pubcomp) -> None:
        flow = self._sent.get(ack.packet_id)
        if flow is None or flow.stage != "released":
            self._emit(Anomaly(f"PUBCOMP for packet id {ack.packet_id}, which has no PUBREL outstanding"))
            return
        # MQTT 5.0 §4.3.3: the id becomes free for reuse only now, after PUBCOMP.
        self._complete(ack.packet_id, ack, int(ack.reason_code) < 0x80)

    def _complete(self, packet_id: int, ack: Puback | Pubrec | Pubcomp, ok: bool) -> None:
        flow = self._sent.pop(packet_id)
        self._ids.release(packet_id)
        message = "" if ok else f"the broker refused the message: {reason_text(ack.reason_code)}"
        if not ok and ack.properties.reason_string:
            message += f": {ack.properties.reason_string}"
        self._emit(PublishCompleted(packet_id, flow.publish.qos, ack, ok, message))
        self.fill()
