"""Decoding a stream of messages: the registry for each payload, the Sparkplug tracker in order.

:class:`MessageDecoder` is what the command line and the views use. Sparkplug B state
depends on every message of its edge node in arrival order, so :meth:`observe` must
see each ``spBv1.0/...`` message as it arrives (a string prefix test for the others, so
the ingest path stays fast); every other payload is decoded only when asked
(:meth:`decode`), when a message is shown, exported, charted or searched. No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from explorer.codecs.base import Decoded
from explorer.codecs.registry import CodecRegistry
from explorer.codecs.sparkplug import NAMESPACE, parse_topic
from explorer.codecs.sparkplug_state import Observation, SparkplugTracker

__all__ = ["SPARKPLUG_PREFIX", "DecodedMessage", "MessageDecoder"]

SPARKPLUG_PREFIX = _PREFIX = NAMESPACE + "/"
"""Topics starting so are Sparkplug B's (its tracker sees them in order)."""


@dataclass(frozen=True, slots=True)
class DecodedMessage:
    decoded: Decoded
    sparkplug: Observation | None = None

    @property
    def notices(self) -> tuple[str, ...]:
        return self.sparkplug.notices if self.sparkplug is not None else ()


class MessageDecoder:
    """A codec registry plus the Sparkplug state of one connection (or one capture)."""

    def __init__(self, registry: CodecRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CodecRegistry()
        self.sparkplug = SparkplugTracker()

    def reset(self) -> None:
        """Forget the Sparkplug B state (another broker); views see a newer version and redraw."""
        version = self.sparkplug.version + 1
        self.sparkplug = SparkplugTracker()
        self.sparkplug.version = version

    def _tracked(self, topic: str) -> bool:
        if not topic.startswith(_PREFIX):
            return False
        rule = self.registry.rule_for(topic)
        return rule is None or rule.codec in ("sparkplug", "auto")

    def observe(self, topic: str, payload: bytes, time: float = 0.0) -> Observation | None:
        """Feed a message to the Sparkplug tracker (cheap for other topics); call in arrival order."""
        if not topic.startswith(_PREFIX) or not self._tracked(topic):
            return None
        return self.sparkplug.observe(topic, payload, time)

    def decode(
        self,
        topic: str,
        payload: bytes,
        content_type: str | None = None,
        *,
        observation: Observation | None = None,
    ) -> DecodedMessage:
        """The message's decoding; a Sparkplug message as :meth:`observe` read it (names from BIRTH)."""
        if observation is not None:
            return DecodedMessage(observation.decoded, observation)
        aliases = self._aliases(topic) if topic.startswith(_PREFIX) else None
        return DecodedMessage(self.registry.decode(payload, topic, content_type, aliases=aliases))

    def _aliases(self, topic: str) -> dict[int, tuple[str, int]] | None:
        """The metric aliases the BIRTH certificates gave, for a message read after the fact."""
        parts = parse_topic(topic)
        if parts is None:
            return None
        node = self.sparkplug.nodes.get(parts.node_key)
        if node is None:
            return None
        aliases = dict(node.aliases)
        device = node.devices.get(parts.device) if parts.device is not None else None
        if device is not None:
            aliases.update(device.aliases)
        return aliases

    def message(
        self, topic: str, payload: bytes, content_type: str | None = None, time: float = 0.0
    ) -> DecodedMessage:
        """:meth:`observe` then :meth:`decode`, for a consumer that shows every message."""
        return self.decode(topic, payload, content_type, observation=self.observe(topic, payload, time))
