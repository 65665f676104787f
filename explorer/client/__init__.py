"""The MQTT client's drivers: sockets, TLS, proxies, the WebSocket transport and ``MqttClient``.

``options`` (``ConnectionOptions``, ``Endpoint``: one immutable value shared by the client, the
probe, the profiles and the CLI), ``net`` (TCP, HTTP CONNECT proxy, TLS), ``websocket`` (the
asyncio WebSocket transport over websockets' Sans-I/O handshake), ``trace`` (one connection's
decoder, whose server packets the session takes) and ``driver`` (``MqttClient``: the Sans-I/O
``explorer.session`` over a network connection, with reconnection).
"""
