"""``mqttws-explorer broker``: run the embedded broker on WebSocket and TCP listeners.

Prints its URLs, logs connects, disconnects and protocol errors to stderr (never a
password), and shuts down cleanly on Ctrl-C: connected clients' wills are published,
as MQTT 5.0 §3.1.2.5 asks when a server closes a connection. ``--add-user`` writes a
password file entry instead of starting a broker.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import math
import re
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from explorer.broker.auth import add_user, load_acl, load_password_file
from explorer.broker.child import CA_LINE
from explorer.broker.config import (
    DEFAULT_MQTTS_PORT,
    DEFAULT_TCP_PORT,
    DEFAULT_WS_PORT,
    DEFAULT_WSS_PORT,
    BrokerConfig,
)
from explorer.broker.faults import fault_help, parse_faults
from explorer.cli.connopts import ask_secret
from explorer.errors import ExplorerError

if TYPE_CHECKING:
    from explorer.broker.server import Broker

__all__ = ["bind_warning", "config_from_args", "register", "run", "tls_lines"]


def _port(text: str) -> int | None:
    if text.lower() in ("off", "none", "-"):
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0 = any free port, 'off')") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} is outside 0-65535")
    return value


# A byte count: digits, then K, M or G (binary multiples), then an optional "B" or "iB".
_BYTES = re.compile(r"(\d+)\s*(?:([kmg])i?)?b?", re.IGNORECASE)
_UNITS = {None: 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def _bytes(text: str) -> int:
    """A byte count: ``65536``, ``64K``, ``256M``, ``1GiB`` (K, M and G are binary)."""
    match = _BYTES.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of bytes (e.g. 65536, 64K, 256M)")
    unit = match[2].lower() if match[2] else None
    value = int(match[1]) * _UNITS[unit]
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: the size must be at least 1 byte")
    return value


def _size(text: str) -> int:
    """A maximum packet size: a byte count (``_bytes``) that a Remaining Length can express."""
    value = _bytes(text)
    if not 2 <= value <= 268_435_460:
        # MQTT 5.0 §3.2.2.3.6 and the 4-byte Remaining Length bound the size.
        raise argparse.ArgumentTypeError("the maximum packet size must be 2..268435460 bytes")
    return value


def _whole(low: int, high: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} must be {low}..{high}, not {value}")
        return value

    return parse


def _seconds(*, zero: bool, what: str) -> Callable[[str], float]:
    """A duration in seconds: above 0 (or 0 too when ``zero``), finite."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
            bound = "0 or more" if zero else "more than 0"
            raise argparse.ArgumentTypeError(f"{what} must be {bound}, not {text}")
        return value

    return parse


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "broker",
        help="run the embedded MQTT broker (WebSocket and TCP)",
        description=(
            "Run an MQTT 3.1/3.1.1/5.0 broker with a WebSocket listener (subprotocols mqtt and "
            "mqttv3.1) and a plain TCP listener, bound to 127.0.0.1 unless --bind says otherwise. "
            "Port 0 picks a free port; the URLs are printed at start."
        ),
        epilog="fault modes (repeat --fault to combine):\n" + fault_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--ws-port", type=_port, default=DEFAULT_WS_PORT, metavar="N", help="WebSocket port, 0 = free, 'off'"
    )
    parser.add_argument(
        "--tcp-port", type=_port, default=DEFAULT_TCP_PORT, metavar="N", help="TCP port, 0 = free, 'off'"
    )
    parser.add_argument("--bind", default="127.0.0.1", metavar="ADDR", help="listen address")
    tls = parser.add_argument_group(
        "TLS",
        "--tls adds wss:// and mqtts:// listeners. Without --cert, a local CA and a server certificate "
        "for the bound names are made once under tls/ in the user's data directory ($MQTTWS_DATA_DIR "
        "overrides it) and reused; the CA file to trust is printed at start (sub/pub/probe --ca FILE).",
    )
    tls.add_argument("--tls", action="store_true", help="also listen for wss:// and mqtts://")
    tls.add_argument(
        "--wss-port", type=_port, default=DEFAULT_WSS_PORT, metavar="N", help="wss port, 0 = free, 'off'"
    )
    tls.add_argument(
        "--mqtts-port",
        type=_port,
        default=DEFAULT_MQTTS_PORT,
        metavar="N",
        help="mqtts port, 0 = free, 'off'",
    )
    tls.add_argument("--cert", type=Path, metavar="FILE", help="your server certificate chain (PEM)")
    tls.add_argument("--key", type=Path, metavar="FILE", help="its private key (PEM; default: in --cert)")
    parser.add_argument(
        "--path",
        action="append",
        dest="paths",
        metavar="P",
        help="HTTP path that accepts the WebSocket upgrade; repeatable (default /mqtt)",
    )
    parser.add_argument("--password-file", type=Path, metavar="F", help="user:$7$hash lines")
    parser.add_argument("--acl-file", type=Path, metavar="F", help="ACL in Mosquitto's acl_file format")
    parser.add_argument(
        "--allow-anonymous",
        action="store_true",
        help="with --password-file, still accept clients that send no user name",
    )
    limits = parser.add_argument_group(
        "limits",
        "What clients can make the broker hold. Sizes take K, M or G (64K = 65536 bytes).",
    )
    limits.add_argument(
        "--max-packet-size", type=_size, metavar="N", help="largest packet accepted, bytes (default 16M)"
    )
    limits.add_argument(
        "--max-connect-size",
        type=_bytes,
        metavar="N",
        help="largest packet accepted before the CONNECT, so before authentication (default 64K)",
    )
    limits.add_argument(
        "--max-buffered",
        type=_bytes,
        metavar="N",
        help="bytes all connections together may hold in partial packets and unsent output; "
        "beyond it the largest holders are closed (default 256M)",
    )
    limits.add_argument(
        "--max-connections",
        type=_whole(1, 1_000_000, "--max-connections"),
        metavar="N",
        help="connections in all (default 10000)",
    )
    limits.add_argument(
        "--max-connections-per-ip",
        type=_whole(0, 1_000_000, "--max-connections-per-ip"),
        metavar="N",
        help="connections one client address may hold, 0 = no limit (default 1000)",
    )
    limits.add_argument(
        "--max-keepalive",
        type=_whole(0, 65535, "--max-keepalive"),
        metavar="S",
        help="longest keep alive, seconds; v5 clients asking for 0 or more are told this value "
        "(Server Keep Alive), 3.1.1 clients are closed after 1.5 x S of silence; 0 = no limit "
        "(default 300)",
    )
    limits.add_argument(
        "--connect-timeout",
        type=_seconds(zero=False, what="--connect-timeout"),
        metavar="S",
        help="seconds for the WebSocket upgrade, and again for the CONNECT (default 10)",
    )
    parser.add_argument(
        "--fault", action="append", default=[], metavar="MODE", help="misbehave on purpose (see below)"
    )
    parser.add_argument("--demo", action="store_true", help="publish demo sensor traffic under demo/")
    parser.add_argument(
        "--demo-rate",
        type=_seconds(zero=False, what="--demo-rate"),
        default=5.0,
        metavar="HZ",
        help="demo ticks per second",
    )
    parser.add_argument(
        "--sys-interval",
        type=_seconds(zero=True, what="--sys-interval"),
        default=10.0,
        metavar="S",
        help="seconds between $SYS updates, 0 = off",
    )
    parser.add_argument(
        "--add-user",
        nargs=2,
        metavar=("FILE", "USER"),
        help="add USER to password FILE (password read from the terminal or stdin) and exit",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every packet-level event")
    # Run by explorer.broker.child.BrokerProcess: log lines without timestamps (the parent
    # re-logs them) and shut down when stdin reaches EOF (the parent stopped or died).
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def config_from_args(args: argparse.Namespace) -> BrokerConfig:
    values: dict[str, Any] = {
        "bind": args.bind,
        "ws_port": args.ws_port,
        "tcp_port": args.tcp_port,
        "ws_paths": tuple(args.paths or ["/mqtt"]),
        "password_file": args.password_file,
        "acl_file": args.acl_file,
        "faults": parse_faults(args.fault),
        "demo": args.demo,
        "demo_rate": args.demo_rate,
        "sys_interval": args.sys_interval,
    }
    for path in values["ws_paths"]:
        if not path.startswith("/"):
            raise ExplorerError(f"--path {path!r} must start with '/'")
    if args.allow_anonymous:
        values["allow_anonymous"] = True
    for option in (
        "max_packet_size",
        "max_connect_size",
        "max_buffered",
        "max_connections",
        "max_connections_per_ip",
    ):
        if getattr(args, option) is not None:
            values[option] = getattr(args, option)
    if args.max_keepalive is not None:
        values["max_keep_alive"] = args.max_keepalive
    if args.connect_timeout is not None:
        values["handshake_timeout"] = values["connect_timeout"] = args.connect_timeout
    if args.ws_port is None and args.tcp_port is None:
        raise ExplorerError("both listeners are off: give --ws-port or --tcp-port")
    _tls_values(args, values)
    return BrokerConfig(**values)


def _tls_values(args: argparse.Namespace, values: dict[str, Any]) -> None:
    faults = values["faults"]
    if not args.tls:
        if args.cert is not None or args.key is not None:
            raise ExplorerError("--cert and --key are for the TLS listeners: add --tls")
        if faults.tls:
            raise ExplorerError("the tls-* fault modes act on the TLS listeners: add --tls")
        return
    if args.key is not None and args.cert is None:
        raise ExplorerError("--key needs --cert (the certificate it belongs to)")
    if args.cert is not None and faults.tls_certificate is not None:
        raise ExplorerError(
            f"the {faults.tls_certificate} fault mode makes its own certificate: leave out --cert"
        )
    if args.cert is not None and faults.tls_client_cert_required:
        raise ExplorerError("tls-client-cert-required uses the local CA: leave out --cert")
    for option in (args.cert, args.key):
        if option is not None and not option.is_file():
            raise ExplorerError(f"{option}: no such file")
    values.update(
        tls=True, wss_port=args.wss_port, mqtts_port=args.mqtts_port, tls_cert=args.cert, tls_key=args.key
    )


def _is_loopback(bind: str) -> bool:
    if bind == "localhost":
        return True
    try:
        return ipaddress.ip_address(bind).is_loopback
    except ValueError:
        return False


def bind_warning(config: BrokerConfig) -> str | None:
    """The loud warning for a broker reachable from other machines without authentication."""
    if _is_loopback(config.bind) or not config.anonymous_allowed:
        return None
    return (
        f"WARNING: listening on {config.bind} without authentication: anyone who can reach this "
        "machine can read and publish every topic. Use --password-file (and --acl-file)."
    )


def _read_password() -> str:
    if sys.stdin.isatty():
        first = ask_secret("Password: ")
        if ask_secret("Again: ") != first:
            raise ExplorerError("the passwords do not match")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _usage_error(message: str) -> int:
    """A bad option value or file: one line and exit code 2, as for a bad option."""
    print(f"mqttws-explorer broker: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    if args.add_user:
        file_name, user = args.add_user
        try:
            add_user(Path(file_name), user, _read_password())
        except ExplorerError as exc:
            return _usage_error(str(exc))
        print(f"added {user} to {file_name}")
        return 0
    config = config_from_args(args)
    try:
        # Read now, so that a bad file is an error at start, not in the middle of serving.
        if config.password_file is not None:
            load_password_file(config.password_file)
        if config.acl_file is not None:
            load_acl(config.acl_file)
    except ExplorerError as exc:
        return _usage_error(str(exc))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(message)s" if args.child else "%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    warning = bind_warning(config)
    if warning:
        print(warning, file=sys.stderr)
    if config.faults.active:
        print(f"fault modes active: {', '.join(args.fault)}", file=sys.stderr)
    return asyncio.run(_serve(config, watch_stdin=args.child))


def tls_lines(broker: Broker) -> list[str]:
    """What a user needs to connect over TLS: the CA to trust, the client certificate."""
    files = broker.tls_files
    if files is None or files.ca_file is None:
        return []
    lines = [f"{CA_LINE}{files.ca_file}"]
    if broker.config.faults.tls_client_cert_required and files.client_cert_file and files.client_key_file:
        lines.append(f"client certificate: {files.client_cert_file} (key {files.client_key_file})")
    return lines


def _stop_at_stdin_eof(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Set ``stop`` once stdin reaches EOF: the parent closed the pipe or died.

    A daemon thread blocking on the read works the same on every platform (asyncio
    cannot watch a pipe on Windows' default loop) and never holds up the exit.
    """

    def watch() -> None:
        with contextlib.suppress(OSError, ValueError):
            while sys.stdin.buffer.read(65536):
                pass
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch, name="stdin-eof", daemon=True).start()


async def _serve(config: BrokerConfig, *, watch_stdin: bool = False) -> int:
    from explorer.broker.server import Broker

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if watch_stdin:
        _stop_at_stdin_eof(loop, stop)
    async with Broker(config) as broker:
        for url in broker.urls:
            print(url, flush=True)
        for line in tls_lines(broker):
            print(line, flush=True)
        await stop.wait()
        logging.getLogger("explorer.broker").info("shutting down")
    return 0
