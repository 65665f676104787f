"""The connect flow both front ends drive: connect, then subscribe, and on failure the diagnoser.

A front end hands :class:`ConnectFlow` a :class:`FlowListener` (the GUI's bridge emits Qt
signals from it, the terminal app notifies and opens screens) and calls :meth:`ConnectFlow.run`;
the order, the error handling and the sentences are written here once:

* a failed connect reports the sentence and the options that failed, which the front ends
  take as "open the diagnoser on these options";
* each subscription's SUBACK is reported, and a refusal is a warning naming the filter and
  the reason code;
* :meth:`ConnectFlow.reconnect` first replaces a dead embedded broker, and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from explorer.client.options import ConnectionOptions
from explorer.errors import ExplorerError
from explorer.mqtt.describe import reason_text, suback_failed
from explorer.mqtt.enums import SubackReasonCode
from explorer.present.status import Severity
from explorer.workspace.core import Workspace

__all__ = ["ConnectFlow", "FlowListener", "refusal_text"]


def refusal_text(topic_filter: str, code: int) -> str:
    """``the broker refused the subscription to a/# (0x87 Not authorized)``."""
    try:
        reason = reason_text(SubackReasonCode(code))
    except ValueError:
        reason = reason_text(code)
    return f"the broker refused the subscription to {topic_filter} ({reason})"


class FlowListener(Protocol):
    """What a front end does with the flow's outcomes."""

    def flow_connecting(self, options: ConnectionOptions) -> None:
        """The options being connected with (after a reconnect, maybe a new embedded broker's)."""

    def flow_connected(self, url: str) -> None: ...

    def flow_failed(self, message: str, options: ConnectionOptions) -> None:
        """The connect failed: show ``message`` and offer the diagnoser on ``options``."""

    def flow_subscribed(self, topic_filter: str, codes: list[int]) -> None: ...

    def flow_notice(self, text: str, severity: Severity) -> None: ...


class ConnectFlow:
    """Connect -> subscribe -> diagnose on failure, for one Workspace."""

    def __init__(self, workspace: Workspace, listener: FlowListener) -> None:
        self.workspace = workspace
        self.listener = listener

    async def run(self, options: ConnectionOptions, subscriptions: Sequence[tuple[str, int]] = ()) -> bool:
        """Connect (closing the previous connection), then subscribe; False when the connect failed."""
        self.listener.flow_connecting(options)
        try:
            await self.workspace.connect(options)
        except ExplorerError as exc:
            self.listener.flow_failed(str(exc), options)
            return False
        self.listener.flow_connected(options.url)
        for topic_filter, qos in subscriptions:
            await self.subscribe(topic_filter, qos)
        return True

    async def start_embedded(
        self, subscriptions: Sequence[tuple[str, int]], *, demo: bool = True, tls: bool = False
    ) -> bool:
        """Start the embedded broker (over ``wss://`` with its local CA when ``tls``) and connect to it.

        A broker that cannot start is an error notice; with TLS a notice names the CA file the
        connection trusts, so the same setup can be rehearsed with other clients (``--ca``).
        """
        try:
            options = await self.workspace.start_embedded(demo=demo, tls=tls)
        except (ExplorerError, OSError) as exc:
            self.listener.flow_notice(f"cannot start the embedded broker: {exc}", Severity.ERROR)
            return False
        connected = await self.run(options, subscriptions)
        if connected and tls and options.tls.ca_file:
            self.listener.flow_notice(
                f"connected over {options.url.split('://', 1)[0]}:// with the embedded broker's local CA "
                f"{options.tls.ca_file} (other clients: --ca {options.tls.ca_file})",
                Severity.NORMAL,
            )
        return connected

    async def subscribe(self, topic_filter: str, qos: int = 0) -> list[int] | None:
        """Subscribe; a refusal or an error becomes a notice (None on error)."""
        try:
            codes = await self.workspace.subscribe(topic_filter, qos)
        except ExplorerError as exc:
            self.listener.flow_notice(f"subscribe to {topic_filter}: {exc}", Severity.ERROR)
            return None
        self.listener.flow_subscribed(topic_filter, codes)
        if codes and suback_failed(codes[0]):
            self.listener.flow_notice(refusal_text(topic_filter, codes[0]), Severity.WARNING)
        return codes

    async def reconnect(self, options: ConnectionOptions, subscriptions: Sequence[tuple[str, int]]) -> bool:
        """Connect again with ``options``; a dead embedded broker is replaced first."""
        try:
            revived = await self.workspace.revive_embedded(options)
        except (ExplorerError, OSError) as exc:
            self.listener.flow_notice(f"cannot start the embedded broker: {exc}", Severity.ERROR)
            return False
        if revived.url != options.url:
            self.listener.flow_notice(f"started a new embedded broker on {revived.url}", Severity.NORMAL)
        else:
            self.listener.flow_notice(f"reconnecting to {options.url}", Severity.NORMAL)
        return await self.run(revived, subscriptions)
