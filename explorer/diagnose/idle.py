"""Why an established connection closed unasked: silence compared with known idle timeouts.

A proxy or load balancer between client and broker closes a connection that carried
no bytes for its idle timeout, whatever the MQTT keep alive says. When a connection
ends without a close frame or DISCONNECT, the time since the last byte in each
direction, held against the defaults of common intermediaries, usually names the
culprit. :func:`explain_close` makes that one sentence; the probe's liveness step
(``probe --idle``) and the client's unexpected closes use it.

Pure: no I/O, no clock (the caller measures the silences).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["IDLE_TIMEOUTS", "IdleTimeout", "explain_close", "idle_match", "matching_timeouts"]


@dataclass(frozen=True, slots=True)
class IdleTimeout:
    """One intermediary's default idle timeout and the setting that changes it."""

    seconds: float
    who: str
    setting: str


IDLE_TIMEOUTS: tuple[IdleTimeout, ...] = (
    IdleTimeout(30.0, "Google Cloud load balancer", "the backend service timeout (default 30 s)"),
    IdleTimeout(50.0, "HAProxy (Debian's default haproxy.cfg)", "timeout client/server, or timeout tunnel"),
    IdleTimeout(55.0, "Heroku router", "none: send a keep alive below 55 s"),
    IdleTimeout(60.0, "nginx", "proxy_read_timeout / proxy_send_timeout (default 60 s)"),
    IdleTimeout(60.0, "ingress-nginx (Kubernetes)", "the proxy-read-timeout annotation (default 60 s)"),
    IdleTimeout(60.0, "AWS Application Load Balancer", "the idle_timeout.timeout_seconds attribute"),
    IdleTimeout(100.0, "Cloudflare", "none on most plans: send a keep alive below 100 s"),
    IdleTimeout(240.0, "Azure Load Balancer", "the idle timeout (default 4 min)"),
    IdleTimeout(300.0, "Envoy", "stream_idle_timeout (default 5 min)"),
    IdleTimeout(350.0, "AWS Network Load Balancer", "the TCP idle timeout (350 s)"),
)
"""Defaults as documented by each vendor; HAProxy has no built-in default (``timeout
tunnel`` applies to WebSocket once upgraded), the 50 s are Debian's shipped config."""

_SLACK = 0.1  # a measured silence within 10 % (at least 1.5 s) of a default matches it


def matching_timeouts(seconds: float) -> list[IdleTimeout]:
    """The known idle timeouts that a silence of ``seconds`` before a close matches."""
    return [t for t in IDLE_TIMEOUTS if abs(seconds - t.seconds) <= max(1.5, t.seconds * _SLACK)]


def _fmt(seconds: float) -> str:
    return f"{seconds:.1f} s"


def explain_close(since_received: float | None, since_sent: float | None, keep_alive: int) -> str:
    """One sentence on an unexpected close, from the silences before it.

    Args:
        since_received: seconds from the last byte received to the close (``None``:
            nothing was ever received).
        since_sent: seconds from the last byte sent to the close.
        keep_alive: the MQTT keep alive in seconds (0: none).
    """
    known = [s for s in (since_received, since_sent) if s is not None]
    if not known:
        return "The connection closed before any byte was exchanged."
    silence = min(known)  # an idle timer restarts with a byte in either direction
    parts = []
    if since_received is not None:
        parts.append(f"{_fmt(since_received)} after the last byte received")
    if since_sent is not None:
        parts.append(f"{_fmt(since_sent)} after the last byte sent")
    head = "The connection closed " + " and ".join(parts)
    if silence < 1.0:
        return head + ": it was not idle, so no idle timeout explains it; read the server's log."
    if keep_alive and silence >= keep_alive * 1.5:
        # MQTT 3.1.1 [MQTT-3.1.2-24], 5.0 [MQTT-3.1.2-22]: the server closes after 1.5 times
        # the keep alive without a packet.
        return (
            f"{head}: longer than 1.5 times the keep alive ({keep_alive} s), so the broker "
            "itself may have closed it because no PINGREQ arrived."
        )
    matches = matching_timeouts(silence)
    if matches:
        names = "; ".join(f"{m.who} ({m.seconds:g} s: {m.setting})" for m in matches)
        advice = (
            f"raise that timeout above the keep alive ({keep_alive} s)"
            if keep_alive and keep_alive > silence
            else "raise that timeout, or use a keep alive below it"
        )
        return f"{head}, which matches the idle timeout of {names}: {advice}."
    if keep_alive and silence < keep_alive:
        return (
            f"{head}, before the keep alive ({keep_alive} s) was due: an intermediary with an "
            f"idle timeout of about {silence:.0f} s closed it (no common default matches; "
            "look for a timeout of that length in the proxy or load balancer)."
        )
    return f"{head}; no common proxy idle timeout matches."


def idle_match(seconds: float) -> str:
    """A clause naming the known idle timeouts a silence of ``seconds`` matches (no period)."""
    matches = matching_timeouts(seconds)
    if matches:
        names = "; ".join(f"{m.who} ({m.seconds:g} s: {m.setting})" for m in matches)
        return f"{seconds:.0f} s matches the idle timeout of {names}"
    return f"no common proxy default matches {seconds:.0f} s: look for an idle timeout of that length"
