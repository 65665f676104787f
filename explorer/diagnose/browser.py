"""What a browser offers in its WebSocket upgrade, so the probe can offer the same.

Chromium's ``new WebSocket(url, ["mqtt"])``, as MQTT.js and Paho JS call it, sends the
subprotocol the page asked for (``mqtt``; ``mqttv3.1`` for MQTT 3.1), always
``Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits`` and the page's
``Origin``. It fails the connection when the server does not echo one of the offered
subprotocols or echoes another (RFC 6455 §4.1), and when a frame arrives with RSV1 set
although no extension was agreed (RFC 6455 §5.2). A server or proxy that passes a
plain probe can break every browser on exactly these points.

permessage-deflate (RFC 7692) is negotiated here with websockets' own extension, so the
probe accepts the answers a browser accepts; the compressed messages that follow are
inflated by the decoder (``explorer.diagnose.channel``).
"""

from __future__ import annotations

from websockets.exceptions import InvalidHeader, NegotiationError
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory, PerMessageDeflate
from websockets.headers import parse_extension

from explorer.client.options import ConnectionOptions
from explorer.mqtt.enums import ProtocolVersion

__all__ = ["DEFLATE_OFFER", "browser_options", "deflate_factory", "negotiate_deflate", "page_origin"]

DEFLATE_OFFER = "permessage-deflate; client_max_window_bits"
"""Chromium's extension offer, byte for byte."""


def deflate_factory() -> ClientPerMessageDeflateFactory:
    """The factory whose request parameters are :data:`DEFLATE_OFFER`."""
    return ClientPerMessageDeflateFactory(client_max_window_bits=True)


def page_origin(options: ConnectionOptions) -> str:
    """The Origin of a page served from the broker's own host and port."""
    endpoint = options.endpoint
    scheme = "https" if endpoint.secure else "http"
    host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
    return f"{scheme}://{host}:{endpoint.port}"


def browser_options(options: ConnectionOptions) -> ConnectionOptions:
    """``options`` as a browser page would connect: its subprotocols, an Origin, strict echo.

    The page passes its own list to ``new WebSocket``; the default ``mqtt`` becomes
    ``mqttv3.1`` for MQTT 3.1, as MQTT.js and Paho JS ask for it.
    """
    subprotocols = options.subprotocols
    if options.mqtt_version == ProtocolVersion.V31 and subprotocols == ("mqtt",):
        subprotocols = ("mqttv3.1",)
    return options.with_changes(
        subprotocols=subprotocols,
        origin=options.origin or page_origin(options),
        strict_subprotocol=True,
    )


def negotiate_deflate(accepted: tuple[str, ...]) -> PerMessageDeflate | None:
    """The extension the server's ``Sec-WebSocket-Extensions`` answer agrees to.

    Returns ``None`` when the server agreed to none.

    Raises:
        ValueError: the answer is not one a browser accepts (RFC 7692 §7.1.1-7.1.2:
            unknown or repeated parameters, a window size out of 8-15).
    """
    if not accepted:
        return None
    try:
        parsed = parse_extension(", ".join(accepted))
    except InvalidHeader as exc:
        raise ValueError(f"Sec-WebSocket-Extensions cannot be parsed: {exc}") from None
    factory = deflate_factory()
    extension: PerMessageDeflate | None = None
    for name, params in parsed:
        if name != factory.name:
            raise ValueError(f"the server accepted extension {name!r}, which was not offered")
        if extension is not None:
            raise ValueError("the server accepted permessage-deflate twice")
        try:
            extension = factory.process_response_params(params, [])
        except NegotiationError as exc:
            raise ValueError(f"permessage-deflate parameters a browser refuses: {exc}") from None
    return extension
