"""What the broker admits and holds: connection counts and the buffered-bytes budget.

Connections are counted overall (``max_connections``) and per client address
(``max_connections_per_ip``); one over either is closed at once. Every connection's
held bytes (a partial packet or frame, an unfinished upgrade request, unsent output) are
summed in :attr:`Limits.buffered`; when the sum passes ``max_buffered``, the connections
that held something are counted again (output may have drained since) and, if the budget
is still exceeded, the connections holding the most are closed until it is not.

The driver (``explorer.broker.server``) keeps the sum up to date after each read and
write; this module holds no sockets, only counts, and the policy.

Memory freed by closed connections goes back to the operating system: partial frames
arrive as many read-sized pieces, and glibc's allocator keeps freed pieces in its heap
unless asked to trim it, so :func:`release_memory` is called once enough has been freed
(buffers, and an estimate per closed connection).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
from collections.abc import Callable
from typing import Protocol

from explorer.broker.config import BrokerConfig
from explorer.broker.session import Stats

__all__ = ["TRIM_AFTER", "Holder", "Limits", "release_memory"]

_LOG = logging.getLogger("explorer.broker")

# Refused connections are logged at most this often, seconds: a flood must not flood the log.
_REFUSAL_LOG_INTERVAL = 1.0
# Bytes freed by closed connections after which the allocator is asked to give memory back.
TRIM_AFTER = 4 * 1024 * 1024


def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim  # glibc only; musl has none
    except (OSError, AttributeError):
        return None
    return trim


_TRIM = _malloc_trim()


def release_memory() -> None:
    """Give the allocator's free heap pages back to the system (glibc's ``malloc_trim``)."""
    if _TRIM is not None:
        _TRIM(0)


class Holder(Protocol):
    """A connection as the budget sees it."""

    accounted: int  # its share of Limits.buffered

    def holding(self) -> int:
        """Bytes it holds now."""
        ...

    def close_for_budget(self) -> None:
        """Close it (it then holds nothing more than unsent output on its way out)."""
        ...


class Limits:
    """Connection counts and the buffered-bytes total of one broker."""

    def __init__(self, config: BrokerConfig, stats: Stats, clock: Callable[[], float]) -> None:
        self.config = config
        self.budget = config.max_buffered
        self.buffered = 0
        # The connections that held something when last counted: the only ones that can
        # hold anything now (a connection's holdings grow only in its own reads and writes,
        # which count it again; they shrink unseen as its output drains).
        self.holders: set[Holder] = set()
        self.freed = 0  # bytes let go by closed connections since the last release_memory()
        self._stats = stats
        self._clock = clock
        self._per_address: dict[str, int] = {}
        self._refusals = 0
        self._refusal_logged: float | None = None
        self._enforcing = False

    def admit(self, address: str, open_connections: int) -> str | None:
        """Count a new connection from ``address``, or say why it is refused."""
        config = self.config
        if open_connections >= config.max_connections:
            return f"connection limit ({config.max_connections}) reached"
        count = self._per_address.get(address, 0)
        per_address = config.max_connections_per_ip
        if per_address and count >= per_address:
            return f"per-address connection limit ({per_address}) reached for {address}"
        self._per_address[address] = count + 1
        return None

    def forget(self, address: str) -> None:
        """A connection counted by :meth:`admit` is gone."""
        count = self._per_address.get(address, 0) - 1
        if count > 0:
            self._per_address[address] = count
        else:
            self._per_address.pop(address, None)

    def refused(self, why: str, peer: str) -> None:
        """Count and log (at most once a second, with how many since) a refused connection."""
        self._stats.connections_refused += 1
        self._refusals += 1
        now = self._clock()
        if self._refusal_logged is None or now - self._refusal_logged >= _REFUSAL_LOG_INTERVAL:
            more = f" (and {self._refusals - 1} more since the last report)" if self._refusals > 1 else ""
            _LOG.warning("%s; refusing %s%s", why, peer, more)
            self._refusal_logged = now
            self._refusals = 0

    def trim_due(self) -> bool:
        """Whether enough was freed to ask for memory back (and start counting again)."""
        if self.freed < TRIM_AFTER:
            return False
        self.freed = 0
        return True

    def update(self, holder: Holder, held: int) -> bool:
        """``holder`` holds ``held`` bytes now; whether the total is over the budget."""
        self.buffered += held - holder.accounted
        holder.accounted = held
        if held:
            self.holders.add(holder)
        else:
            self.holders.discard(holder)
        return self.buffered > self.budget

    def enforce(self) -> bool:
        """Over the budget: count the holders again, then close the largest until under it.

        Returns whether any connection was closed (its goodbye is then to be flushed).
        """
        if self._enforcing:
            return False  # a close below wrote, and its write came back here
        self._enforcing = True
        try:
            holders = list(self.holders)
            for holder in holders:
                self.update(holder, holder.holding())
            if self.buffered <= self.budget:
                return False
            closed = False
            for holder in sorted(holders, key=lambda holder: holder.accounted, reverse=True):
                if self.buffered <= self.budget:
                    break
                holder.close_for_budget()
                closed = True
            return closed
        finally:
            self._enforcing = False
