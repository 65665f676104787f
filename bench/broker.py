"""The embedded broker beside aedes (Node.js) and amqtt (Python) over WebSocket, same load.

Every broker runs in its own process on loopback; the load generator
(``bench/peers/wsload.py``) runs in this one. Scenarios, MQTT 3.1.1:

- ``qos0``: 1 publisher -> 1 subscriber, 100,000 x 64 B at QoS 0;
- ``qos1``: the same at QoS 1 (publisher and subscriber both acknowledge);
- ``fanout``: 1 publisher -> 10 subscribers, 10,000 messages (100,000 deliveries), QoS 0;
- ``connect``: 500 connections, 25 at a time: TCP, upgrade, CONNECT/CONNACK; they stay
  open until all 500 are made (best of three runs: it is short, and the machine's other
  load moves it most);
- ``retained``: 10,000 retained messages stored, then a late ``#`` subscriber receives them.

Printed per scenario: messages (or connections) per second, p50/p99 latency (publish to
delivery; connect start to CONNACK; SUBSCRIBE to each retained message), the CPU time the
broker process used per message (from /proc: steadier than rates on a shared machine) and
our ratio to each peer. First the generator's own ceiling: the same publisher and subscribers joined
by a socket pair, and a server that only answers upgrades and CONNECTs.

Targets: throughput >= aedes and >= 4x amqtt in every scenario, p99 latency below both.

amqtt lives in bench/.peers/amqtt, a venv made on first run (``python -m venv`` + ``pip
install amqtt``) because it pins an older websockets. aedes comes from
tests/interop/node (``npm ci --prefix tests/interop/node``). A missing peer is reported
and skipped.

``python -m bench.broker [--peers ours,aedes,amqtt] [--scenarios qos0,...] [--profile]``;
``--profile`` runs our broker under cProfile and prints where its time went (its figures
are then slower than without, and not comparable to the peers').
Our broker runs as ``python -m bench.peers.ours_server`` (the CLI's defaults, in-process API).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import pstats
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.peers import wsload
from bench.peers.wsload import Result

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent
PEERS_DIR = ROOT / "bench" / ".peers"
AMQTT_VENV = PEERS_DIR / "amqtt"
NODE_DIR = ROOT / "tests" / "interop" / "node"

MESSAGES = 100_000
FANOUT_SUBSCRIBERS = 10
FANOUT_MESSAGES = 10_000
CONNECTS = 500
CONNECT_CONCURRENCY = 25
CONNECT_RUNS = 3
RETAINED = 10_000

SCENARIOS = ("qos0", "qos1", "fanout", "connect", "retained")


@dataclass
class Peer:
    """A broker process: the command that starts it and how to learn its WebSocket address."""

    name: str
    command: list[str]
    ws_path: str = "/mqtt"
    proc: subprocess.Popen[bytes] | None = None
    port: int = 0
    notes: list[str] = field(default_factory=list)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.command,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline().decode().strip()
            if not line and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} before listening")
            if line.isdigit():
                self.port = int(line)
                return
            if line.startswith("ws://"):
                self.port = int(line.split(":")[2].split("/")[0])
                return
        raise RuntimeError(f"{self.name} did not report its port within 60 s")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the broker process so far (Linux /proc)."""
        if self.proc is None:
            return 0.0
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self, *, interrupt: bool = False) -> None:
        if self.proc is None:
            return
        if interrupt:
            self.proc.send_signal(signal.SIGINT)
        with contextlib.suppress(BrokenPipeError, OSError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def _ours(profile_path: Path | None) -> Peer:
    command = [sys.executable]
    if profile_path is not None:
        command += ["-m", "cProfile", "-o", str(profile_path)]
    command += ["-m", "bench.peers.ours_server"]
    return Peer("ours", command)


def _aedes() -> Peer | str:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "aedes").is_dir():
        return "aedes skipped: needs node and `npm ci --prefix tests/interop/node`"
    return Peer("aedes", [node, str(NODE_DIR / "aedes_server.js"), "0"])


def _amqtt() -> Peer | str:
    python = AMQTT_VENV / "bin" / "python"
    if not python.exists():
        print("creating bench/.peers/amqtt (python -m venv + pip install amqtt) ...", flush=True)
        try:
            subprocess.run([sys.executable, "-m", "venv", str(AMQTT_VENV)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "--quiet", "amqtt"], check=True)
        except (subprocess.CalledProcessError, OSError) as exc:
            shutil.rmtree(AMQTT_VENV, ignore_errors=True)
            return f"amqtt skipped: could not install it ({exc})"
    return Peer("amqtt", [str(python), str(ROOT / "bench" / "peers" / "amqtt_server.py")])


async def _connects(host: str, port: int, path: str) -> Result:
    return await wsload.connect_storm(host, port, path, count=CONNECTS, concurrency=CONNECT_CONCURRENCY)


async def _scenario(name: str, port: int, path: str) -> Result:
    host = "127.0.0.1"
    if name == "qos0":
        return await wsload.fan_out(host, port, path, subscribers=1, count=MESSAGES, qos=0)
    if name == "qos1":
        return await wsload.fan_out(host, port, path, subscribers=1, count=MESSAGES, qos=1)
    if name == "fanout":
        return await wsload.fan_out(
            host, port, path, subscribers=FANOUT_SUBSCRIBERS, count=FANOUT_MESSAGES, qos=0, warmup=500
        )
    if name == "connect":
        return await _connects(host, port, path)
    if name == "retained":
        return await wsload.retained_burst(host, port, path, count=RETAINED)
    raise ValueError(name)


def _run(coroutine: Callable[[], Coroutine[Any, Any, Result]]) -> Result | str:
    try:
        return asyncio.run(coroutine())
    except (wsload.Stalled, ConnectionError, TimeoutError, OSError) as exc:
        return f"failed: {type(exc).__name__}: {exc}"


def _line(label: str, result: Result | str, unit: str) -> str:
    if isinstance(result, str):
        return f"  {label:<8} {result}"
    note = f"  ({result.note})" if result.note else ""
    cpu = ""
    if result.broker_cpu is not None and result.count:
        cpu = f"  broker CPU {result.broker_cpu * 1e6 / result.count:>7.1f} µs/{unit.partition('/')[0]}"
    return (
        f"  {label:<8} {result.rate:>10,.0f} {unit:<8} p50 {result.percentile(0.5):>8.2f} ms"
        f"  p99 {result.percentile(0.99):>8.2f} ms{cpu}{note}"
    )


def _measure(peer: Peer, scenario: str) -> Result | str:
    """One scenario against one broker; the connect storm, short and noisy, best of CONNECT_RUNS."""
    best: Result | str = "not run"
    for _ in range(CONNECT_RUNS if scenario == "connect" else 1):
        cpu = peer.cpu_seconds()
        result = _run(functools.partial(_scenario, scenario, peer.port, peer.ws_path))
        if isinstance(result, Result):
            result.broker_cpu = peer.cpu_seconds() - cpu
            if not isinstance(best, Result) or result.rate > best.rate:
                best = result
        elif not isinstance(best, Result):
            best = result
    return best


def _ceilings(scenarios: list[str]) -> None:
    print("load generator ceiling (no broker: socket pair / a server that only answers CONNECT)")
    for name in scenarios:
        if name in ("qos0", "qos1"):
            qos = int(name[-1])
            result = _run(functools.partial(wsload.wire_ceiling, subscribers=1, count=MESSAGES, qos=qos))
            print(_line(name, result, "msg/s"), flush=True)
        elif name == "fanout":
            result = _run(
                lambda: wsload.wire_ceiling(subscribers=FANOUT_SUBSCRIBERS, count=FANOUT_MESSAGES, qos=0)
            )
            print(_line(name, result, "msg/s"), flush=True)
        elif name == "connect":
            sink = Peer("null", [sys.executable, "-m", "bench.peers.wsload"])
            sink.start()
            try:
                port = sink.port
                result = _run(functools.partial(_connects, "127.0.0.1", port, "/mqtt"))
            finally:
                sink.stop()
            print(_line(name, result, "conn/s"), flush=True)


def _verdict(results: dict[str, dict[str, Result | str]], scenarios: list[str]) -> list[str]:
    lines = []
    ours = results.get("ours", {})
    for name in scenarios:
        mine = ours.get(name)
        if not isinstance(mine, Result):
            continue
        parts = []
        for peer, want in (("aedes", 1.0), ("amqtt", 4.0)):
            theirs = results.get(peer, {}).get(name)
            if not isinstance(theirs, Result) or theirs.rate == 0:
                continue
            ratio = mine.rate / theirs.rate
            p99_ok = mine.percentile(0.99) < theirs.percentile(0.99)
            ok = ratio >= want and p99_ok
            cpu = ""
            if mine.broker_cpu and theirs.broker_cpu and mine.count and theirs.count:
                per_mine = mine.broker_cpu / mine.count
                cpu = f", {theirs.broker_cpu / theirs.count / per_mine:.1f}x less CPU"
            parts.append(
                f"{ratio:.2f}x {peer} (target {want:g}x), p99 {'below' if p99_ok else 'ABOVE'}{cpu}"
                f" -> {'ok' if ok else 'MISSED'}"
            )
        if parts:
            lines.append(f"  {name:<8} " + "; ".join(parts))
    return lines


def _print_profile(path: Path) -> None:
    if not path.exists():
        print("  (no profile written)")
        return
    stats = pstats.Stats(str(path))
    stats.sort_stats("tottime").print_stats(25)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.broker", description=__doc__.split("\n")[0])
    parser.add_argument("--peers", default="ours,aedes,amqtt", help="comma-separated: ours,aedes,amqtt")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated scenarios")
    parser.add_argument("--profile", action="store_true", help="run our broker under cProfile")
    parser.add_argument("--no-ceiling", action="store_true", help="skip the generator ceiling")
    args = parser.parse_args([] if argv is None else argv)
    scenarios = [name for name in args.scenarios.split(",") if name]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario {', '.join(sorted(unknown))}")

    print(
        f"broker benchmark over ws on 127.0.0.1, MQTT 3.1.1, {os.cpu_count()} CPUs;"
        f" {MESSAGES:,} x {wsload.PAYLOAD_SIZE} B per 1->1 run, window {wsload.WINDOW}"
    )
    if not args.no_ceiling:
        _ceilings(scenarios)

    profile_dir = Path(tempfile.mkdtemp(prefix="bench-broker-")) if args.profile else None
    profile_path = profile_dir / "ours.prof" if profile_dir else None
    factories: dict[str, Callable[[], Peer | str]] = {
        "ours": lambda: _ours(profile_path),
        "aedes": _aedes,
        "amqtt": _amqtt,
    }
    peers: list[Peer] = []
    for name in args.peers.split(","):
        peer = factories[name]()
        if isinstance(peer, str):
            print(peer)
        else:
            peers.append(peer)
    results: dict[str, dict[str, Result | str]] = {}
    try:
        for peer in peers:
            peer.start()
        # Scenario by scenario, the brokers one after another: the machine's load changes
        # over minutes, so each comparison is made within a short stretch of time.
        for scenario in scenarios:
            unit = "conn/s" if scenario == "connect" else "msg/s"
            print(scenario, flush=True)
            for peer in peers:
                result = _measure(peer, scenario)
                results.setdefault(peer.name, {})[scenario] = result
                print(_line(peer.name, result, unit), flush=True)
    finally:
        for peer in peers:
            peer.stop(interrupt=args.profile and peer.name == "ours")
    verdict = _verdict(results, scenarios)
    if verdict:
        print("ours against the peers (throughput ratio; p99 latency; broker CPU per message)")
        print("\n".join(verdict))
    if profile_path is not None:
        print("our broker's profile (tottime, top 25)")
        _print_profile(profile_path)


if __name__ == "__main__":
    main(sys.argv[1:])
