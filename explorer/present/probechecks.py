"""The diagnoser's extra checks as a form both front ends show: browser, compression,
a publish size and an idle check (the CLI's ``probe --browser --compression
--publish-size N --idle S``).

:data:`CHECK_OPTIONS` are the two switches with the words each UI shows; the two fields
are typed as text and read by :func:`probe_checks`, which turns the form into
:class:`~explorer.diagnose.model.ProbeChecks` or names what is wrong in one sentence,
so the terminal and the desktop explorer accept and refuse the same input.
:func:`parse_size` reads ``4096``, ``64K`` and ``1M`` for the CLI too.

Pure: no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from explorer.diagnose.model import MAX_PUBLISH_SIZE, ProbeChecks
from explorer.errors import ExplorerError

__all__ = [
    "CHECK_OPTIONS",
    "IDLE_FIELD",
    "MAX_PUBLISH_SIZE",
    "PUBLISH_SIZE_FIELD",
    "CheckOption",
    "TextField",
    "checks_summary",
    "parse_size",
    "probe_checks",
]

_UNITS = {"k": 1024, "m": 1024 * 1024}


@dataclass(frozen=True, slots=True)
class CheckOption:
    """A switch of the form: its key in :class:`ProbeChecks`, its label and its tooltip."""

    key: str
    label: str
    tooltip: str


@dataclass(frozen=True, slots=True)
class TextField:
    """A text field of the form: label, placeholder (what to type) and tooltip."""

    key: str
    label: str
    placeholder: str
    tooltip: str


CHECK_OPTIONS: tuple[CheckOption, ...] = (
    CheckOption(
        "browser",
        "As a browser",
        "Offer what Chromium offers (subprotocol mqtt, permessage-deflate, an Origin) and fail "
        "on a missing subprotocol echo as it does: finds proxies that strip extensions",
    ),
    CheckOption(
        "compression",
        "Compression",
        "Offer permessage-deflate (and nothing else different)",
    ),
)
PUBLISH_SIZE_FIELD = TextField(
    "publish_size",
    "Publish size",
    "e.g. 64K",
    "After CONNACK, publish a message of this size at QoS 1 and wait for its PUBACK: "
    "finds frame, message and packet size limits",
)
IDLE_FIELD = TextField(
    "idle",
    "Idle check",
    "seconds",
    "Stay connected and silent this long after CONNACK: finds proxies that drop idle connections",
)


def parse_size(text: str) -> int:
    """``4096``, ``64K``, ``64KiB``, ``1M`` as a number of bytes (K and M are binary).

    Raises:
        ExplorerError: not a size, or outside 0 to :data:`MAX_PUBLISH_SIZE`.
    """
    value = text.strip().lower().removesuffix("b").removesuffix("i")
    scale = _UNITS.get(value[-1:], 1)
    digits = value[:-1] if value[-1:] in _UNITS else value
    try:
        size = int(digits.strip()) * scale
    except ValueError:
        raise ExplorerError(f"{text.strip()!r} is not a size: give bytes, e.g. 4096, 64K or 1M") from None
    if not 0 <= size <= MAX_PUBLISH_SIZE:
        raise ExplorerError(f"{text.strip()} is outside 0 to {MAX_PUBLISH_SIZE:,} bytes")
    return size


def probe_checks(
    *, browser: bool, compression: bool, publish_size: str, idle: str, keep_alive: int
) -> ProbeChecks:
    """The form as :class:`ProbeChecks`; empty fields mean "not asked for".

    Raises:
        ExplorerError: one sentence naming the field and what is wrong with it.
    """
    size = None
    if publish_size.strip():
        try:
            size = parse_size(publish_size)
        except ExplorerError as exc:
            raise ExplorerError(f"{PUBLISH_SIZE_FIELD.label}: {exc}") from None
    seconds = 0.0
    if idle.strip():
        try:
            seconds = float(idle.strip())
        except ValueError:
            raise ExplorerError(f"{IDLE_FIELD.label}: {idle.strip()!r} is not a number of seconds") from None
        if not math.isfinite(seconds) or seconds < 0:
            raise ExplorerError(f"{IDLE_FIELD.label}: give 0 seconds or more")
        if seconds and keep_alive and seconds >= keep_alive:
            # Past the keep alive the broker itself may close: a drop would prove nothing.
            raise ExplorerError(
                f"{IDLE_FIELD.label}: {seconds:g} s must be shorter than the keep alive ({keep_alive} s)"
            )
    return ProbeChecks(idle=seconds, browser=browser, compression=compression, publish_size=size)


def checks_summary(checks: ProbeChecks) -> str:
    """``as a browser, publish 64 KiB, idle 65 s`` for the line that says what is probed."""
    parts = []
    if checks.browser:
        parts.append("as a browser")
    elif checks.compression:
        parts.append("with compression")
    if checks.publish_size is not None:
        parts.append(f"publishing {checks.publish_size:,} B")
    if checks.idle:
        parts.append(f"idle {checks.idle:g} s")
    return ", ".join(parts)
