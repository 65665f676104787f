"""The MQTT client's drivers: sockets, TLS, proxies, the WebSocket transport and ``MqttClient``.

``options`` (``ConnectionOptions``, ``Endpoint``: one immutable value shared by the client, the
probe, the profiles and the CLI), ``net`` (TCP, HTTP CONNECT proxy, TLS), ``websocket`` (the
asyncio WebSocket transport: websockets' Sans-I/O handshake, then frames of our own), ``trace``
(one connection's decoder, the one parse of the server's bytes: its packets go to the session,
its control and broken frames to the transport) and ``driver`` (``MqttClient``: the Sans-I/O
``explorer.session`` over a network connection, with reconnection).
"""
