"""Raw connection bytes -> trace events: the one decoder behind live views, captures and exports.

``ConnectionDecoder`` (``explorer.decoder.connection``) reads both directions of one
connection: the HTTP upgrade (``explorer.ws.handshake``), WebSocket frames
(``explorer.ws.framing``) and MQTT packets (``explorer.mqtt.reader``), and emits
``explorer.model.events`` values in order. ``explorer.decoder.stream`` reads one direction
after the upgrade, its frames from the one frame reader, ``FrameIndexer``
(``explorer.decoder.fastpath``: the loop over them, with the firehose case of one QoS 0
PUBLISH per frame); ``explorer.masking`` keeps passwords out of every event.
Sans-I/O: no sockets, no asyncio, time comes from the caller.
"""

from __future__ import annotations

from explorer.decoder.connection import ConnectionDecoder

__all__ = ["ConnectionDecoder"]
