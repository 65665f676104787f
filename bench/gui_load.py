"""The desktop explorer under a firehose: event loop stalls and memory.

The window runs offscreen (``QT_QPA_PLATFORM=offscreen``) with the embedded broker in
a child process, connected over WebSocket and subscribed to ``#``, as
``mqttws-explorer`` starts it. A separate publisher process writes QoS 0 PUBLISH packets
to the broker's TCP listener at ``--rate`` messages per second (encoded beforehand, one
write per 10 ms tick) over 1,000 topics; the broker forwards each to the window's
connection, whose client decodes every frame and packet into the trace and the topic
tree while the window draws batches (topic tree expanded, a topic selected in the
message panel, the frame trace following).

A ``QTimer`` heartbeat fires every 10 ms; its lateness (actual interval minus 10 ms) is
the event loop stall a user would feel. Peak RSS is ``ru_maxrss``; RSS is also sampled
every half second, and given after the first quarter of the firehose (when the bounded
trace has just filled up) and at the end, to show it levels off.

Received: the publisher's own count of MQTT messages sent, beside the messages the
window's topic tree holds under ``load/`` (the window's ``$SYS/#`` subscription is not
counted) when the publisher finished writing, and again after a drain of at most one
second for what was still in the broker's and the sockets' buffers.

The process runs the runtime policy ``mqttws-explorer`` installs
(``RuntimePolicy.interactive()``); ``--gc throughput`` swaps the collector for the
headless commands' thresholds, for comparison.

Targets: every message received; heartbeat lateness p99 < 100 ms; RSS bounded.

Run: ``.venv/bin/python bench/gui_load.py [--rate 20000] [--seconds 20] [--runs 3]``
(``--runs`` prints each run, then the medians).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench._repeat import machine_load, print_summary, run_fresh  # noqa: E402
from explorer.gcpolicy import tune_gc  # noqa: E402
from explorer.mqtt.codec import encode  # noqa: E402
from explorer.mqtt.packets import Connect, Publish  # noqa: E402
from explorer.workspace.runtime import PauseBoundedCollector, RuntimePolicy  # noqa: E402

RATE = 20_000
SECONDS = 20.0
TOPICS = 1_000
TICK = 0.01
HEARTBEAT_MS = 10
P99_TARGET_MS = 100.0
DRAIN = 1.0


# -- publisher process ---------------------------------------------------------------


def publisher(port: int, rate: int, seconds: float) -> None:
    """Send ``rate`` QoS 0 PUBLISH packets per second to ``127.0.0.1:port`` for ``seconds``."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(encode(Connect(client_id="gui-load-publisher", keep_alive=0)))
    sock.recv(64)  # CONNACK
    packets = [
        encode(Publish(topic=f"load/{i // 100:02d}/{i % 100:02d}", payload=b"%d" % i)) for i in range(TOPICS)
    ]
    sent = 0
    start = time.perf_counter()
    while (now := time.perf_counter() - start) < seconds:
        due = int(now * rate) - sent
        if due > 0:
            chunk = b"".join(packets[(sent + k) % TOPICS] for k in range(due))
            sock.sendall(chunk)
            sent += due
        time.sleep(TICK)
    sock.close()
    print(sent, flush=True)


# -- the window ------------------------------------------------------------------------


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _run(rate: int, seconds: float, runtime: RuntimePolicy, *, draw: bool = True) -> dict[str, object]:
    from PySide6.QtCore import QElapsedTimer, Qt, QTimer

    from explorer.workspace import Workspace
    from gui.bridge import WorkspaceBridge
    from gui.widgets.main_window import MainWindow

    workspace = Workspace(read_gate=runtime.read_gate)
    bridge = WorkspaceBridge(workspace)
    from PySide6.QtCore import QSettings

    settings = QSettings(str(Path("/tmp") / f"gui-load-{os.getpid()}.ini"), QSettings.Format.IniFormat)
    window = MainWindow(bridge, settings=settings)
    window.resize(1400, 900)
    if draw:
        window.show()
    else:
        bridge.batchReady.disconnect(window.on_batch)  # the same process, nothing drawn
    assert await bridge.start_demo(demo=False)
    broker = workspace.broker
    assert broker is not None
    assert broker.tcp_url is not None
    port = int(broker.tcp_url.rsplit(":", 1)[1])

    late: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]

    def beat() -> None:
        now = clock.nsecsElapsed()
        late.append(max(0.0, (now - last[0]) / 1e6 - HEARTBEAT_MS))
        last[0] = now

    heartbeat = QTimer()
    heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
    heartbeat.timeout.connect(beat)
    rss: list[tuple[float, float]] = []  # (seconds since the publisher started, MB)
    selected = [False]

    def sample() -> None:
        rss.append((time.perf_counter() - started, _rss_mb()))
        if not selected[0]:
            selected[0] = window.select_demo_topic("load/00/07")

    sampler = QTimer()
    sampler.timeout.connect(sample)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--publisher",
        str(port),
        "--rate",
        str(rate),
        "--seconds",
        str(seconds),
        stdout=subprocess.PIPE,
    )
    started = time.perf_counter()
    cpu_started = time.process_time()

    def received() -> int:
        # The publisher's messages only (all under load/): the window also subscribes to
        # $SYS/# on the embedded broker, as mqttws-explorer does, and those are not counted.
        node = workspace.tree.find("load")
        return 0 if node is None else node.subtree_count

    last[0] = clock.nsecsElapsed()
    heartbeat.start(HEARTBEAT_MS)
    sampler.start(500)
    assert process.stdout is not None
    out = await process.stdout.read()  # the publisher prints its count after its last write
    stopped = time.perf_counter()
    at_stop = received()
    elapsed = stopped - started
    cpu = time.process_time() - cpu_started
    load = machine_load()
    await process.wait()
    sent = int(out.decode().strip() or 0)
    # What was in flight (the broker's and the sockets' buffers) may arrive a little later.
    while received() < sent and time.perf_counter() - stopped < DRAIN:
        await asyncio.sleep(0.005)
    drained, drain_seconds = received(), time.perf_counter() - stopped
    # The app's CPU for every message it took in, from the publisher's start to the drain's end.
    per_cpu_second = drained / max(time.process_time() - cpu_started, 1e-9)
    heartbeat.stop()
    sampler.stop()
    rss.append((time.perf_counter() - started, _rss_mb()))
    status = workspace.status
    costs = [c * 1000 for c in bridge.ui_costs]
    await bridge.aclose()
    window.close()
    return {
        "sent": sent,
        "at_stop": at_stop,
        "received": drained,
        "drain_seconds": drain_seconds,
        "elapsed": elapsed,
        "cpu": cpu,
        "per_cpu_second": per_cpu_second,
        "load": load,
        "late": late,
        "rss": rss,
        "dropped": status.dropped_events,
        "trace": status.trace_size,
        "ui_costs": costs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", type=int, default=RATE)
    parser.add_argument("--seconds", type=float, default=SECONDS)
    parser.add_argument(
        "--no-window",
        action="store_true",
        help="baseline: the same broker, client and Workspace with no window drawing",
    )
    parser.add_argument(
        "--gc",
        choices=("interactive", "throughput"),
        default="interactive",
        help="collector policy: the apps' pause-bounded one (default) or the headless commands' one",
    )
    parser.add_argument(
        "--runs", type=int, default=1, help="runs, each in a fresh process (default 1); medians follow"
    )
    parser.add_argument("--summary", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--publisher", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args(sys.argv[1:])
    if args.publisher is not None:
        publisher(args.publisher, args.rate, args.seconds)
        return

    where = "the Workspace (no window)" if args.no_window else "the window"
    if args.runs > 1:
        # Each run in a fresh process, as a user starting the app gets it.
        common = ["--rate", str(args.rate), "--seconds", str(args.seconds), "--gc", args.gc]
        if args.no_window:
            common.append("--no-window")
        summaries = []
        for run in range(args.runs):
            print(f"\n==== run {run + 1} of {args.runs}", flush=True)
            summaries.append(run_fresh(__file__, common)["window"])
    else:
        summaries = [_measure(args, where)]
        if args.summary:
            print_summary({"window": summaries[0]})
            return
    _medians(where, summaries)


def _measure(args: argparse.Namespace, where: str) -> dict[str, float]:
    """One run in this process, with the runtime policy mqttws-explorer installs (or ``--gc``'s)."""
    runtime = RuntimePolicy.interactive()
    if args.gc != "interactive":
        runtime.collector = None
        tune_gc()
    runtime.install()
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        result = loop.run_until_complete(_run(args.rate, args.seconds, runtime, draw=not args.no_window))
    return _report(result, args.rate, args.seconds, where, runtime.collector)


def _report(
    result: dict[str, object], rate: int, seconds: float, where: str, collector: PauseBoundedCollector | None
) -> dict[str, float]:
    """Print one run's figures; return the headline ones (for the medians over runs)."""
    late = result["late"]
    rss = result["rss"]
    assert isinstance(late, list)
    assert isinstance(rss, list)
    elapsed = float(result["elapsed"])  # type: ignore[arg-type]
    sent, at_stop, drained = (int(result[key]) for key in ("sent", "at_stop", "received"))  # type: ignore[call-overload]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # KiB on Linux; MB as _rss_mb
    p50, p99 = _percentile(late, 0.5), _percentile(late, 0.99)
    print(
        f"firehose: the publisher sent {sent:,} MQTT messages at {rate:,} msg/s for {seconds:.0f} s "
        f"over {TOPICS:,} topics"
    )
    print(
        f"received into {where}: {at_stop:,} when the publisher stopped ({at_stop / elapsed:,.0f} msg/s), "
        f"{drained:,} after a drain of {result['drain_seconds']:.2f} s (at most {DRAIN:.0f} s) "
        f"[{'every message' if drained == sent else f'MISSED {sent - drained:,}'}]"
    )
    print(
        f"app process CPU: {100 * float(result['cpu']) / elapsed:.0f}% of one core, "  # type: ignore[arg-type]
        f"{result['per_cpu_second']:,.0f} messages taken in per CPU second of the app; {result['load']}"
    )
    print(
        f"heartbeat lateness ({HEARTBEAT_MS} ms timer, {len(late):,} beats): "
        f"p50 {p50:.1f} ms, "
        f"p99 {p99:.1f} ms, max {max(late or [0.0]):.1f} ms (target p99 < {P99_TARGET_MS:.0f} ms: "
        f"{'met' if p99 < P99_TARGET_MS else 'NOT met'})"
    )
    quarter = [mb for at, mb in rss if at <= elapsed / 4]
    rss_quarter = quarter[-1] if quarter else float("nan")
    rss_end = rss[-1][1] if rss else float("nan")
    series = ", ".join(f"{mb:.0f}" for _, mb in rss[:: max(1, len(rss) // 10)])
    print(
        f"RSS: {rss_quarter:.0f} MB after the first quarter, {rss_end:.0f} MB at the end "
        f"(MB over the run: {series}); peak {peak:.0f} MB"
    )
    print(f"trace buffer: {result['trace']:,} events held, {result['dropped']:,} dropped (bounded)")
    if collector is None:
        print(f"collector: thresholds {gc.get_threshold()}, no freezing")
    else:
        frozen = gc.get_freeze_count()
        passes = collector.full_passes
        freed = collector.full_freed
        collector.full_pass()
        print(
            f"collector: thresholds {gc.get_threshold()}, {collector.ticks} ticks, "
            f"{passes} full passes so far; {frozen:,} objects frozen, "
            f"of which a full pass now frees {collector.full_freed - freed:,} (cycles that died while frozen)"
        )
    costs = result["ui_costs"]
    assert isinstance(costs, list)
    print(
        f"one batch cycle (slots, repaint and what ran before it), last {len(costs)} batches: "
        f"p50 {_percentile(costs, 0.5):.1f} ms, "
        f"p99 {_percentile(costs, 0.99):.1f} ms"
    )
    return {
        "sent": sent,
        "at_stop": at_stop,
        "received": drained,
        "p50": p50,
        "p99": p99,
        "rss_quarter": rss_quarter,
        "rss_end": rss_end,
        "cpu_share": float(result["cpu"]) / elapsed,  # type: ignore[arg-type]
        "per_cpu_second": float(result["per_cpu_second"]),  # type: ignore[arg-type]
    }


def _medians(where: str, runs: list[dict[str, float]]) -> None:
    """One line of medians over the runs."""

    def med(key: str) -> float:
        return statistics.median(run[key] for run in runs)

    every = sum(1 for run in runs if run["received"] == run["sent"])
    met = sum(1 for run in runs if run["p99"] < P99_TARGET_MS)
    print(
        f"\n{where}, medians of {len(runs)} runs: sent {med('sent'):,.0f}, "
        f"had {med('at_stop'):,.0f} when the publisher stopped, {med('received'):,.0f} after the drain "
        f"(every message in {every} of {len(runs)} runs); "
        f"heartbeat lateness p50 {med('p50'):.1f} ms, p99 {med('p99'):.1f} ms "
        f"(target < {P99_TARGET_MS:.0f} ms, met in {met} of {len(runs)}); "
        f"RSS {med('rss_quarter'):.0f} MB after the first quarter, {med('rss_end'):.0f} MB at the end; "
        f"app CPU {100 * med('cpu_share'):.0f}% of one core, "
        f"{med('per_cpu_second'):,.0f} messages per CPU second"
    )


if __name__ == "__main__":
    main()
