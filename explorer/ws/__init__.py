"""WebSocket layer: frame indexing over raw bytes, handshake classification, asyncio driver."""
