"""The Workspace's embedded broker: started on demand, replaced when it died.

The broker runs in a child process (:class:`~explorer.broker.child.BrokerProcess`), so
its routing never takes the views' event loop, or on the loop itself for tests that
inspect the :class:`~explorer.broker.server.Broker` object. A child can die under the
app (killed, out of memory): the host then reports it once, as a trace error the views
show, and the next start, or a reconnect to the dead broker's URL
(:meth:`EmbeddedHost.revive`), starts a new one on new free ports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from explorer.client.options import ConnectionOptions, TlsOptions
from explorer.mqtt.enums import ProtocolVersion

if TYPE_CHECKING:
    from explorer.broker.child import EmbeddedBroker
    from explorer.broker.earlychild import EarlyChild

__all__ = ["EmbeddedHost"]


class EmbeddedHost:
    """Owns the embedded broker of one Workspace.

    Args:
        in_process: run the broker on this event loop instead of in a child process.
        on_death: called with a sentence when the child exits without being stopped.
    """

    def __init__(self, *, in_process: bool, on_death: Callable[[str], None]) -> None:
        self._in_process = in_process
        self._on_death = on_death
        self._broker: EmbeddedBroker | None = None
        self._demo = True
        self._tls = False
        self._last_url: str | None = None  # the ws URL of the latest broker, dead or alive
        self._early: EarlyChild | None = None  # a child the launcher started before the loop

    def adopt_early(self, early: EarlyChild) -> None:
        """Use ``early`` (started by a launcher before the loop) as the next child of its kind."""
        if self._early is not None:
            self._early.discard()
        self._early = early

    @property
    def broker(self) -> EmbeddedBroker | None:
        return self._broker

    @property
    def dead(self) -> bool:
        """Whether the latest broker was a child process that has exited."""
        return self._broker is not None and getattr(self._broker, "returncode", None) is not None

    def serves(self, url: str) -> bool:
        """Whether ``url`` is the running broker's WebSocket (or wss) URL."""
        broker = self._broker
        return broker is not None and not self.dead and url in (broker.ws_url, broker.wss_url)

    @property
    def ca_file(self) -> str | None:
        """The local CA that the running broker's TLS listeners use (trust it for wss://)."""
        return self._broker.ca_file if self._broker is not None else None

    async def start(self, *, demo: bool, tls: bool = False) -> ConnectionOptions:
        """Options that reach the broker over WebSocket (MQTT 5.0), starting it if need be.

        With ``tls`` the broker also listens for wss:// and mqtts:// (a running broker
        without them is replaced), and the options use wss:// trusting its local CA.
        """
        if self.dead or (tls and self._broker is not None and not self._tls):
            old, self._broker = self._broker, None
            assert old is not None
            await old.stop()
        if self._broker is None:
            self._demo = demo
            self._tls = tls
            self._broker = await self._launch(demo, tls)
        broker = self._broker
        if tls:
            assert broker.wss_url is not None
            assert broker.ca_file is not None
            self._last_url = broker.wss_url
            return ConnectionOptions(
                url=broker.wss_url, mqtt_version=ProtocolVersion.V5, tls=TlsOptions(ca_file=broker.ca_file)
            )
        url = broker.ws_url
        assert url is not None  # the embedded broker always opens its WebSocket listener
        self._last_url = url
        return ConnectionOptions(url=url, mqtt_version=ProtocolVersion.V5)

    async def revive(self, options: ConnectionOptions) -> ConnectionOptions:
        """``options``, pointed at a new embedded broker when they name one that died.

        Any other options come back as they are: a reconnect to a remote broker, or to
        an embedded broker that still runs, needs nothing started.
        """
        if not self.dead or options.url != self._last_url:
            return options
        fresh = await self.start(demo=self._demo, tls=self._tls)
        return options.with_changes(url=fresh.url)

    async def stop(self) -> None:
        early, self._early = self._early, None
        if early is not None:  # started early, never used
            early.discard()
        broker, self._broker = self._broker, None
        if broker is not None:
            await broker.stop()

    async def _launch(self, demo: bool, tls: bool) -> EmbeddedBroker:
        if not self._in_process:
            from explorer.broker.child import BrokerProcess

            early, self._early = self._early, None
            if early is not None and not early.matches(demo=demo, tls=tls):
                early.discard()
                early = None
            return await BrokerProcess.start(demo=demo, tls=tls, on_exit=self._exited, early=early)
        from explorer.broker.config import BrokerConfig
        from explorer.broker.server import Broker

        broker = Broker(BrokerConfig.ephemeral(demo=demo, tls=tls))
        await broker.start()
        return broker

    def _exited(self, code: int) -> None:
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        self._on_death(f"the embedded broker process {how}; reconnect to start a new one")
