"""Reading pcap and pcapng captures into reassembled TCP connections.

No dependency: both formats are small. Layers, bottom up: ``pcap`` / ``pcapng``
(file -> link-layer records), ``layers`` (link layer, IPv4/IPv6, TCP header ->
segments), ``tcp`` (segments -> ordered byte streams per connection), ``reader``
(``read_capture``), ``writer`` (pcapng out, for exports).
"""

from __future__ import annotations

from explorer.capture.reader import Capture, read_capture, read_capture_bytes
from explorer.capture.records import SUPPORTED_LINK_TYPES
from explorer.capture.tcp import Chunk, Endpoint, Gap, TcpConnection
from explorer.errors import CaptureError

__all__ = [
    "SUPPORTED_LINK_TYPES",
    "Capture",
    "CaptureError",
    "Chunk",
    "Endpoint",
    "Gap",
    "TcpConnection",
    "read_capture",
    "read_capture_bytes",
]
