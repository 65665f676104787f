"""A blocking paho-mqtt client wrapper; tests call it through ``asyncio.to_thread``."""

from __future__ import annotations

import queue
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties as PahoProperties

TIMEOUT = 10.0


class Paho:
    def __init__(
        self,
        port: int,
        *,
        websocket: bool,
        protocol: MQTTProtocolVersion = mqtt.MQTTv311,
        client_id: str = "",
        **options: Any,
    ) -> None:
        self.port = port
        self.protocol = protocol
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            transport="websockets" if websocket else "tcp",
            protocol=protocol,
            **options,
        )
        if websocket:
            self.client.ws_set_options(path="/mqtt")
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.connected = threading.Event()
        self.reason: Any = None
        self.subacks: queue.Queue[list[Any]] = queue.Queue()
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda c, u, m: self.messages.put(m)
        self.client.on_subscribe = lambda c, u, mid, codes, p: self.subacks.put(list(codes))

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self.reason = reason
        self.session_present = flags.session_present
        self.connected.set()

    def connect(self, **options: Any) -> Any:
        self.client.connect("127.0.0.1", self.port, **options)
        self.client.loop_start()
        assert self.connected.wait(TIMEOUT), "no CONNACK"
        return self.reason

    def subscribe(self, topic: str, qos: int = 0, **options: Any) -> list[Any]:
        if self.protocol == mqtt.MQTTv5:
            from paho.mqtt.subscribeoptions import SubscribeOptions

            self.client.subscribe(topic, options=SubscribeOptions(qos=qos, **options))
        else:
            self.client.subscribe(topic, qos)
        return self.subacks.get(timeout=TIMEOUT)

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False, **props: Any) -> None:
        properties = None
        if props:
            properties = PahoProperties(mqtt.PacketTypes.PUBLISH)  # type: ignore[attr-defined,no-untyped-call]
            for name, value in props.items():
                setattr(properties, name, value)
        info = self.client.publish(topic, payload, qos, retain, properties=properties)
        info.wait_for_publish(TIMEOUT)

    def get(self) -> mqtt.MQTTMessage:
        return self.messages.get(timeout=TIMEOUT)

    def nothing_pending(self) -> bool:
        return self.messages.empty()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
