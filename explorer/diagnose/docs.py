"""``docs/diagnose.md`` generated from the cause table, so the docs never drift from it.

Run ``python -m explorer.diagnose.docs > docs/diagnose.md`` after changing a cause; a
test fails while the committed file differs from what this prints.
"""

from __future__ import annotations

from explorer.diagnose.causes import CAUSES
from explorer.diagnose.model import LAYERS

__all__ = ["render_markdown"]

_INTRO = """\
# Diagnosing connections: `mqttws-explorer probe`

`mqttws-explorer probe URL [connection flags | --profile NAME] [--json] [--explore] [--idle S]
[--browser] [--compression] [--publish-size N]` walks the layers of a connection in order and
stops at the first one that fails:

DNS -> TCP -> TLS -> HTTP upgrade -> WebSocket -> MQTT CONNECT/CONNACK -> publish -> liveness

It prints each layer as it completes (✓/✗), then the verdict: the layer, a stable cause
slug, what was observed (status line and headers, first bytes in hex, the TLS error, the
close code, the CONNACK code), the explanation and the fix. The exit status is 0 when the
connection works and 1 otherwise.

- `--json` prints one object with `ok`, `layer`, `cause`, `explanation`, `fix`, `observed`,
  `steps` (each layer's result and duration in ms) and `alternatives`.
- `--explore` tries, after a failure, what is worth trying at that layer: the paths `/mqtt`,
  `/ws`, `/`, `/mqtt/`; the subprotocol lists `mqtt`, `mqttv3.1`, both, none; `ws://` vs
  `wss://` on the same host and port; MQTT 5.0, 3.1.1 and 3.1. It reports which would work.
- `--idle S` stays connected and silent for S seconds after CONNACK, then pings: a drop in
  that time, before the keep alive, is an intermediary's idle timeout. The verdict compares
  the silence with the idle timeouts of common proxies and load balancers (nginx
  `proxy_read_timeout` 60 s, AWS ALB 60 s, Cloudflare 100 s, HAProxy, Azure, Envoy...).
- `--browser` offers what Chromium offers when a page calls `new WebSocket(url, ["mqtt"])`:
  the subprotocol `mqtt` (`mqttv3.1` for MQTT 3.1; a `--subprotocol` list as given),
  `Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits` and an `Origin` (the
  broker's own host unless `--origin` says otherwise), and fails on a missing or foreign
  subprotocol echo as Chromium does. A proxy that strips `Sec-WebSocket-Extensions` from the
  101 while the broker compresses anyway shows up as `ws-extensions-stripped`.
- `--compression` offers `permessage-deflate` and changes nothing else.
- `--publish-size N` publishes N random bytes at QoS 1 after CONNACK (to
  `mqttws-explorer/probe/CLIENT-ID`) and waits for the PUBACK, so that frame, message and
  packet size limits show up: a close with 1009, a connection dropped without a word, an MQTT 5
  Maximum Packet Size in CONNACK, or a DISCONNECT 0x95. Each names the size that failed,
  and smaller messages on fresh connections (at most 7) say where the limit lies.

The Diagnose panes of the desktop and terminal explorers offer the same checks: "As a
browser", "Compression", a publish size and an idle check, and "Connect with this" for an
alternative that works.

A CONNACK refusing the MQTT version (3.1.1 return code 1, which is also how a 3.1.1-only
broker answers a 5.0 CONNECT, or 5.0 reason code 0x84) is settled by trying the other
versions on fresh connections: `mqtt-version-mismatch` names the one the broker speaks.
The generated client id is 23 characters long, the most MQTT 3.1 allows.

Some answers need more attempts to be told apart. A 400 or 426 is retried with another
subprotocol list (a server that only accepts `mqttv3.1`, or requires a subprotocol), then
at the common paths (Node's `ws`, as used by aedes, answers 400 to a path it does not
serve: `http-wrong-path` names the path that works). It is blamed on a proxy that does
not forward `Upgrade` (`upgrade-not-forwarded`) only when the answer points at one: a
`Via` header, the `Server` header of a reverse proxy such as nginx, a body saying the
`Upgrade` or `Connection` header is missing, a 426 without `Sec-WebSocket-Version`, or a
505 (the request arrived as HTTP/1.0). Otherwise the verdict is `http-upgrade-refused`,
with the possibilities. A 403 is retried with another `Origin`.

## Causes

Explanations and fixes below are templates: `{name}` is filled from the observed values.
"""


def render_markdown() -> str:
    """The whole of ``docs/diagnose.md``."""
    parts = [_INTRO]
    for layer in LAYERS:
        entries = [entry for entry in CAUSES.values() if entry.layer == layer]
        parts.append(f"\n### Layer `{layer}`\n")
        for entry in entries:
            parts.append(f"\n#### `{entry.slug}`: {entry.title}\n\n")
            parts.append(f"- Explanation: {entry.explanation}\n- Fix: {entry.fix}\n")
    return "".join(parts)


if __name__ == "__main__":
    print(render_markdown(), end="")
