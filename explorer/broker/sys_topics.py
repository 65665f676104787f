"""``$SYS/broker/...`` statistics, in the topic names Mosquitto uses.

Published retained every ``sys_interval`` seconds so that a client subscribing to
``$SYS/#`` sees current figures at once. Topics starting with ``$`` are not matched
by ``#`` or ``+`` at the first level ([MQTT-4.7.2-1]), so ordinary wildcard
subscribers never receive them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from explorer import __version__

if TYPE_CHECKING:
    from explorer.broker.state import BrokerState

__all__ = ["sys_messages"]


def sys_messages(state: BrokerState, now: float) -> list[tuple[str, bytes]]:
    """(topic, payload) pairs describing ``state`` at ``now``."""
    stats = state.stats
    values: dict[str, object] = {
        "version": f"mqttws-explorer {__version__}",
        "uptime": f"{int(now - stats.started)} seconds",
        "clients/connected": stats.clients_connected,
        "clients/total": len(state.sessions),
        "clients/maximum": state.config.max_connections,
        "messages/received": stats.messages_received,
        "messages/sent": stats.messages_sent,
        "messages/dropped": stats.messages_dropped,
        "publish/messages/received": stats.publish_received,
        "bytes/received": stats.bytes_received,
        "bytes/sent": stats.bytes_sent,
        "subscriptions/count": state.router.trie.count,
        "retained messages/count": len(state.router.retained),
        "connections/refused": stats.connections_refused,
        "protocol errors": stats.protocol_errors,
    }
    return [(f"$SYS/broker/{name}", str(value).encode()) for name, value in values.items()]
