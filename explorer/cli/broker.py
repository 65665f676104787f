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
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from explorer.broker.auth import add_user
from explorer.broker.config import DEFAULT_TCP_PORT, DEFAULT_WS_PORT, BrokerConfig
from explorer.broker.faults import fault_help, parse_faults
from explorer.cli.connopts import ask_secret
from explorer.errors import ExplorerError

__all__ = ["bind_warning", "config_from_args", "register", "run"]


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


def _size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of bytes") from None
    if not 2 <= value <= 268_435_460:
        # MQTT 5.0 §3.2.2.3.6 and the 4-byte Remaining Length bound the size.
        raise argparse.ArgumentTypeError("the maximum packet size must be 2..268435460 bytes")
    return value


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
    parser.add_argument("--max-packet-size", type=_size, metavar="N", help="largest packet accepted (bytes)")
    parser.add_argument(
        "--fault", action="append", default=[], metavar="MODE", help="misbehave on purpose (see below)"
    )
    parser.add_argument("--demo", action="store_true", help="publish demo sensor traffic under demo/")
    parser.add_argument("--demo-rate", type=float, default=5.0, metavar="HZ", help="demo ticks per second")
    parser.add_argument(
        "--sys-interval", type=float, default=10.0, metavar="S", help="seconds between $SYS updates, 0 = off"
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
    if args.max_packet_size is not None:
        values["max_packet_size"] = args.max_packet_size
    if args.ws_port is None and args.tcp_port is None:
        raise ExplorerError("both listeners are off: give --ws-port or --tcp-port")
    return BrokerConfig(**values)


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


def run(args: argparse.Namespace) -> int:
    if args.add_user:
        file_name, user = args.add_user
        add_user(Path(file_name), user, _read_password())
        print(f"added {user} to {file_name}")
        return 0
    config = config_from_args(args)
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
        await stop.wait()
        logging.getLogger("explorer.broker").info("shutting down")
    return 0
