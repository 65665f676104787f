"""The terminal explorer under a firehose: key-press-to-refresh latency, loop stalls, memory.

The app runs headless (``App.run_test``) and starts the embedded broker exactly as
``mqttws-tui`` does (``Workspace.start_embedded``: a child process), connected over
WebSocket and subscribed to ``#``; then again with the broker on the app's own event
loop (``embedded_in_process=True``), to show what the child process spares the views. A
separate publisher process sends QoS 0 PUBLISH packets to the broker's TCP listener at
``RATE`` messages per second (pre-encoded, one write per 10 ms tick) spread over 1,000
topics; the broker forwards each to the app's WebSocket connection, where the client
decodes every frame and packet into the trace and the topic tree.

While the firehose runs, a key is pressed every 100 ms: first in the topic tree (Message
tab), then ``2`` to show the Frames tab (the switch is timed as a press too), then in
the frame list, which takes in every new frame. The latency of a press is the time from
posting the key to the first screen update rendered after the key's action ran
(``App._display`` is called with each compositor update, also headless); it is also
given without the first two seconds of each phase, where the connection's first thousand
topics or the switch to the Frames tab weigh. Each screen update (Textual's render timer
callback) is timed, with the share that laid the whole screen out. A watchdog task
sleeping 10 ms at a time measures event loop stalls. Peak RSS is ``ru_maxrss``; RSS is
also sampled at every press and given after the first quarter of the firehose (when the
bounded trace has just filled up) and at the end, to show it levels off (trace, history
and batch windows are bounded; the limits are in the status line).

Received: the publisher's own count of MQTT messages sent, beside the messages the app's
topic tree holds under ``load/`` (``#`` matches no ``$SYS`` topic, and the demo is off)
when the publisher finished writing, and again after a drain of at most one second for
what was still in the broker's and the sockets' buffers.

The process is set up as ``mqttws-tui`` sets it up (``RuntimePolicy.interactive()`` from
``explorer.workspace.runtime``): the pause-bounded collector, and network reads that step
aside for a moment after each key press (``--no-input-first`` turns that off and ``--gc
throughput`` uses the headless commands' collector thresholds instead, for comparison).

Targets: every message received; key-press-to-refresh p99 < 100 ms over all the presses
of a run (each phase's figures are printed too; with about 90 presses a phase, a phase's
p99 is its slowest press); RSS bounded (it stops growing once the trace limit is reached).

Run: ``.venv/bin/python bench/tui_load.py [--rate 20000] [--seconds 20] [--runs 3] [--where child]``
(``--runs`` prints each run, then the medians of each configuration).
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

from bench._repeat import print_summary, run_fresh  # noqa: E402
from explorer.gcpolicy import tune_gc  # noqa: E402
from explorer.mqtt.codec import encode  # noqa: E402
from explorer.mqtt.packets import Connect, Publish  # noqa: E402
from explorer.workspace.runtime import InputFirst, PauseBoundedCollector, RuntimePolicy  # noqa: E402

RATE = 20_000
SECONDS = 20.0
TOPICS = 1_000
TICK = 0.01
P99_TARGET_MS = 100.0
SETTLE = 2.0
DRAIN = 1.0


# -- publisher process ---------------------------------------------------------------


def _publisher(host: str, port: int, rate: int, seconds: float) -> None:
    """Send QoS 0 PUBLISHes at ``rate``/s for ``seconds`` over plain TCP; print the count sent."""
    packets = [
        encode(Publish(f"load/{i // 100:02d}/{i % 100:02d}/value", str(i % 997 + 0.5).encode()))
        for i in range(TOPICS)
    ]
    sock = socket.create_connection((host, port))
    sock.sendall(encode(Connect(client_id="tui-load-publisher", keep_alive=0)))
    sock.recv(16)  # CONNACK
    per_tick = max(1, int(rate * TICK))
    sent = 0
    index = 0
    start = time.perf_counter()
    next_tick = start
    while time.perf_counter() - start < seconds:
        chunk = bytearray()
        for _ in range(per_tick):
            chunk += packets[index]
            index = (index + 1) % TOPICS
        sock.sendall(chunk)
        sent += per_tick
        next_tick += TICK
        delay = next_tick - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    elapsed = time.perf_counter() - start
    sock.close()
    print(f"{sent} {elapsed:.3f}", flush=True)


# -- the app under load ----------------------------------------------------------------


def _rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 1e6


def _cpu_pressure() -> str:
    """Share of the last 10 s in which runnable tasks waited for a CPU (Linux PSI), if known."""
    try:
        with open("/proc/pressure/cpu", encoding="ascii") as pressure:
            first = pressure.readline().split()
    except OSError:
        return "unknown"
    fields = dict(item.split("=", 1) for item in first[1:] if "=" in item)
    return f"{fields.get('avg10', '?')}%"


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _run(
    rate: int, seconds: float, runtime: RuntimePolicy, *, in_process: bool = False
) -> dict[str, object]:
    from textual import events

    from explorer.workspace import Workspace
    from tui.app import ExplorerApp
    from tui.widgets.frames import FrameList
    from tui.widgets.topics import TopicTreeView

    workspace = Workspace(embedded_in_process=in_process, read_gate=runtime.read_gate)
    app = ExplorerApp(workspace, autostart=False, runtime=runtime)
    displays: list[float] = []
    original_display = app._display

    def display(screen: object, renderable: object) -> None:
        if renderable is not None:
            displays.append(time.perf_counter())
        original_display(screen, renderable)  # type: ignore[arg-type]

    app._display = display  # type: ignore[method-assign]
    renders: list[tuple[float, bool]] = []
    _time_renders(app, renders)
    handled: list[float] = []
    latencies: dict[str, list[float]] = {"tree": [], "frames": []}
    # Whether each press came after the phase's first SETTLE seconds (connect, tab switch).
    settled: dict[str, list[bool]] = {"tree": [], "frames": []}
    # Seconds since the phase began, per press (to tell where the slowest ones fall).
    since_start: dict[str, list[float]] = {"tree": [], "frames": []}
    stalls: list[float] = []
    rss_samples: list[tuple[float, float]] = []

    async with app.run_test(size=(160, 48)) as pilot:
        options = await app.workspace.start_embedded(demo=False)
        broker = app.workspace.broker
        assert broker is not None
        assert broker.tcp_url is not None
        tcp_port = int(broker.tcp_url.rsplit(":", 1)[1])
        await app.connect_to(options, [("#", 0)])
        tree = app.main_screen.query_one(TopicTreeView)
        frames = app.main_screen.query_one(FrameList)
        view_ms: list[float] = []
        apply_batch = app.main_screen.apply_batch

        def timed_apply(batch: object) -> None:
            began = time.perf_counter()
            apply_batch(batch)  # type: ignore[arg-type]
            view_ms.append((time.perf_counter() - began) * 1000.0)

        app.main_screen.apply_batch = timed_apply  # type: ignore[method-assign]
        for widget, name in ((tree, "action_cursor_down"), (tree, "action_cursor_up")):
            _wrap(widget, name, handled)
        for name in ("action_cursor_down", "action_cursor_up"):
            _wrap(frames, name, handled)
        _wrap(app.main_screen, "action_show_tab", handled)

        running = True

        async def watchdog() -> None:
            loop = asyncio.get_running_loop()
            while running:
                before = loop.time()
                await asyncio.sleep(TICK)
                stalls.append(max(0.0, loop.time() - before - TICK))

        def received() -> int:
            # The publisher's messages only (all under load/): the demo is off, and "#"
            # matches no $SYS topic [MQTT-4.7.2-1].
            node = app.workspace.tree.find("load")
            return 0 if node is None else node.subtree_count

        watch = asyncio.create_task(watchdog())
        # Started off the loop: forking a process of this size holds the calling thread
        # for tens of milliseconds, which no user action in the app would do.
        publisher = await asyncio.to_thread(
            subprocess.Popen,
            [
                sys.executable,
                __file__,
                "--publish",
                "127.0.0.1",
                str(tcp_port),
                str(rate),
                str(seconds),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        # The tree phase is about walking topics under the firehose: the first press
        # waits for the first of them (a key on an empty tree changes nothing on screen).
        published = waited = time.perf_counter()
        cpu_published = _cpu_seconds()
        while tree.last_line < 0 and time.perf_counter() - waited < 10.0:
            await asyncio.sleep(0.002)
        start = time.perf_counter()
        cpu_start = _cpu_seconds()
        assert publisher.stdout is not None
        # The publisher prints its count once its last write is done: the count the app
        # had then is taken as soon as the loop hears of it.
        stopped: list[tuple[float, int]] = []
        cpu_at_stop: list[float] = []

        async def publisher_end() -> str:
            assert publisher.stdout is not None
            line = await asyncio.to_thread(publisher.stdout.read)
            stopped.append((time.perf_counter(), received()))
            cpu_at_stop.append(_cpu_seconds())
            return line

        publisher_output = asyncio.create_task(publisher_end())
        presses = 0
        half = seconds / 2 if seconds > 0 else 0
        switched = False
        while not stopped:
            elapsed = time.perf_counter() - start
            phase = "tree" if elapsed < half else "frames"
            key = "j" if presses % 4 < 2 else "k"
            if phase == "frames" and not switched:
                switched = True
                key = "2"  # the Frames tab: the switch is a key press like the others
            elif phase == "tree" and app.focused is not tree:
                tree.focus()
            handled.clear()
            pressed = time.perf_counter()
            # As a terminal driver does: the key event goes onto the app's queue.
            app.post_message(events.Key(key, key))
            deadline = pressed + 2.0
            while time.perf_counter() < deadline:
                if handled and any(t >= handled[0] for t in displays[-3:]):
                    break
                await asyncio.sleep(0.001)
            after = [t for t in displays if handled and t >= handled[0]]
            if after:
                latencies[phase].append((after[0] - pressed) * 1000.0)
                since = elapsed - (half if phase == "frames" else 0.0)
                settled[phase].append(since >= SETTLE)
                since_start[phase].append(since)
            presses += 1
            rss_samples.append((time.perf_counter() - start, _rss_mb()))
            del displays[:-10]
            await asyncio.sleep(max(0.0, 0.1 - (time.perf_counter() - pressed)))
        output = (await publisher_output).split()
        await asyncio.to_thread(publisher.wait)
        sent, pub_seconds = int(output[0]), float(output[1])
        stop_time, at_stop = stopped[0]
        elapsed = stop_time - start
        # What was in flight (the broker's and the sockets' buffers) may arrive a little
        # later: wait up to DRAIN seconds for the rest.
        while received() < sent and time.perf_counter() - stop_time < DRAIN:
            await asyncio.sleep(0.005)
        drained, drain_seconds = received(), time.perf_counter() - stop_time
        cpu = cpu_at_stop[0] - cpu_start
        # The app's CPU for every message it took in, from the publisher's start to the drain's end.
        per_cpu_second = drained / max(_cpu_seconds() - cpu_published, 1e-9)
        running = False
        await watch
        await pilot.pause()  # let the last posted key be handled before the app closes
        status = app.workspace.status
        return {
            "sent": sent,
            "publisher_rate": sent / pub_seconds,
            "at_stop": at_stop,
            "received": drained,
            "drain_seconds": drain_seconds,
            "received_rate": at_stop / (stop_time - published),
            "latencies": latencies,
            "settled": settled,
            "since_start": since_start,
            "view_ms": view_ms,
            "stalls": stalls,
            "renders": renders,
            "rss": rss_samples,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            * 1024
            / 1e6,  # KiB; MB as _rss_mb
            "trace": f"{status.trace_size}/{status.trace_limit}",
            "dropped": status.dropped_events,
            "batches": app.batches,
            "seconds": elapsed,
            "cpu": cpu,
            "per_cpu_second": per_cpu_second,
            "load": os.getloadavg()[0],
            "cpu_pressure": _cpu_pressure(),
        }


async def _startup(runtime: RuntimePolicy) -> float:
    """Seconds from creating the app to a screen showing live demo topics (no arguments given)."""
    from explorer.workspace import Workspace
    from tui.app import ExplorerApp
    from tui.widgets.topics import TopicTreeView

    began = time.perf_counter()
    app = ExplorerApp(Workspace(read_gate=runtime.read_gate), runtime=runtime)
    async with app.run_test(size=(160, 48)) as pilot:
        tree = app.main_screen.query_one(TopicTreeView)
        while True:
            demo = app.workspace.tree.find("demo")
            if demo is not None and tree.node_for(demo) is not None and app.workspace.connected:
                return time.perf_counter() - began
            if time.perf_counter() - began > 30:
                return float("nan")
            await pilot.pause(0.005)


def _time_renders(app: object, renders: list[tuple[float, bool]]) -> None:
    """Time each screen update of ``app``'s screens, noting whether it laid the screen out.

    The views should mostly repaint: a layout pass of the whole screen costs several
    times a repaint, so their share shows what the views ask of Textual per batch.
    """
    from textual.screen import Screen

    original = Screen._on_timer_update

    def timed(screen: Screen[object]) -> None:
        if screen.app is not app:
            original(screen)
            return
        layout = screen._layout_required
        began = time.perf_counter()
        original(screen)
        renders.append(((time.perf_counter() - began) * 1000.0, layout))

    Screen._on_timer_update = timed  # type: ignore[method-assign,assignment]


def _wrap(widget: object, name: str, handled: list[float]) -> None:
    original = getattr(widget, name)

    def wrapped(*args: object) -> None:
        original(*args)
        handled.append(time.perf_counter())

    setattr(widget, name, wrapped)


def _report(result: dict[str, object]) -> dict[str, float]:
    """Print one run's figures; return the headline ones (for the medians over runs)."""
    latencies = result["latencies"]
    assert isinstance(latencies, dict)
    stalls = result["stalls"]
    assert isinstance(stalls, list)
    rss = result["rss"]
    assert isinstance(rss, list)
    sent, at_stop, drained = int(result["sent"]), int(result["at_stop"]), int(result["received"])  # type: ignore[call-overload]
    print(
        f"firehose: publisher sent {sent:,} MQTT messages at {result['publisher_rate']:,.0f}/s; "
        f"the app had {at_stop:,} when it stopped ({result['received_rate']:,.0f}/s), "
        f"{drained:,} after a drain of {result['drain_seconds']:.2f} s (at most {DRAIN:.0f} s) "
        f"[{'every message' if drained == sent else f'MISSED {sent - drained:,}'}]"
    )
    print(
        f"app process CPU: {result['cpu']:.1f} s over {result['seconds']:.1f} s wall "
        f"({100 * result['cpu'] / result['seconds']:.0f}% of one core), "  # type: ignore[operator]
        f"{result['per_cpu_second']:,.0f} messages taken in per CPU second of the app; "
        f"machine load average {result['load']:.1f} on {os.cpu_count()} cores, "
        f"CPU pressure {result['cpu_pressure']} (tasks waiting for a CPU)"
    )
    settled = result["settled"]
    assert isinstance(settled, dict)
    every = [ms for values in latencies.values() for ms in values]
    p50_all, p99_all = _percentile(every, 0.5), _percentile(every, 0.99)
    ok = p99_all < P99_TARGET_MS
    print(
        f"key press -> refresh, all {len(every)} presses: p50 {p50_all:.1f} ms  "
        f"p99 {p99_all:.1f} ms  max {max(every, default=float('nan')):.1f} ms  "
        f"[{'ok' if ok else 'OVER TARGET'}, target p99 < {P99_TARGET_MS:.0f} ms]"
    )
    for phase, values in latencies.items():
        # With ~90 presses a phase, its p99 is its slowest press.
        p50, p99 = _percentile(values, 0.5), _percentile(values, 0.99)
        worst = max(values) if values else float("nan")
        print(f"  {phase} phase: n={len(values)} p50 {p50:.1f} ms  p99 {p99:.1f} ms  max {worst:.1f} ms")
        since_start = result["since_start"][phase]  # type: ignore[index]
        slowest = sorted(zip(values, since_start, strict=True), reverse=True)[:3]
        print("    slowest: " + ", ".join(f"{ms:.0f} ms at +{at:.1f} s" for ms, at in slowest))
        later = [v for v, late in zip(values, settled[phase], strict=True) if late]
        print(
            f"    after its first {SETTLE:.0f} s (connect / tab switch): n={len(later)} "
            f"p50 {_percentile(later, 0.5):.1f} ms  p99 {_percentile(later, 0.99):.1f} ms"
        )
    view_ms = result["view_ms"]
    assert isinstance(view_ms, list)
    print(
        f"view work per batch: p50 {_percentile(view_ms, 0.5):.1f} ms  "
        f"p99 {_percentile(view_ms, 0.99):.1f} ms  "
        f"max {max(view_ms, default=0.0):.1f} ms over {len(view_ms)} batches"
    )
    renders = result["renders"]
    assert isinstance(renders, list)
    render_ms = [ms for ms, _ in renders]
    laid_out = [ms for ms, layout in renders if layout]
    print(
        f"screen updates (render timer callbacks): n={len(render_ms)} "
        f"p50 {_percentile(render_ms, 0.5):.1f} ms  "
        f"p99 {_percentile(render_ms, 0.99):.1f} ms  max {max(render_ms, default=0.0):.1f} ms; "
        f"{len(laid_out)} with a layout pass (p50 {_percentile(laid_out, 0.5):.1f} ms)"
    )
    stall_ms = [s * 1000.0 for s in stalls]
    print(
        f"event loop stalls (10 ms watchdog): p50 {_percentile(stall_ms, 0.5):.1f} ms  "
        f"p99 {_percentile(stall_ms, 0.99):.1f} ms  max {max(stall_ms, default=0.0):.1f} ms  "
        f"> 50 ms: {sum(1 for s in stall_ms if s > 50)} of {len(stall_ms)}"
    )
    quarter = [mb for t, mb in rss if t <= result["seconds"] / 4]  # type: ignore[operator]
    last = [mb for t, mb in rss if t >= result["seconds"] * 3 / 4]  # type: ignore[operator]
    rss_quarter = quarter[-1] if quarter else float("nan")
    rss_end = last[-1] if last else float("nan")
    print(
        f"memory: RSS {rss_quarter:.0f} MB after the first quarter, "
        f"{rss_end:.0f} MB at the end; peak RSS {result['peak_rss_mb']:.0f} MB; "
        f"trace {result['trace']} events, {result['dropped']:,} dropped (bounded); "
        f"{result['batches']} batches"
    )
    if not ok:
        print("key-press-to-refresh p99 is over the target (see the load average: the machine may be busy)")
    return {
        "sent": sent,
        "at_stop": at_stop,
        "received": drained,
        "p50": p50_all,
        "p99": p99_all,
        "rss_quarter": rss_quarter,
        "rss_end": rss_end,
        "cpu_share": float(result["cpu"]) / float(result["seconds"]),  # type: ignore[arg-type]
        "per_cpu_second": float(result["per_cpu_second"]),  # type: ignore[arg-type]
    }


def _medians(where: str, runs: list[dict[str, float]]) -> None:
    """One line of medians over the runs of one configuration."""

    def med(key: str) -> float:
        return statistics.median(run[key] for run in runs)

    every = sum(1 for run in runs if run["received"] == run["sent"])
    print(
        f"{where}, medians of {len(runs)} runs: sent {med('sent'):,.0f}, had {med('at_stop'):,.0f} when the "
        f"publisher stopped, {med('received'):,.0f} after the drain (every message in {every} of {len(runs)} "
        f"runs); key press -> refresh p50 {med('p50'):.1f} ms, p99 {med('p99'):.1f} ms "
        f"(target < {P99_TARGET_MS:.0f} ms, met in {sum(1 for run in runs if run['p99'] < P99_TARGET_MS)} "
        f"of {len(runs)}); RSS {med('rss_quarter'):.0f} MB after the first quarter, {med('rss_end'):.0f} MB "
        f"at the end; app CPU {100 * med('cpu_share'):.0f}% of one core, "
        f"{med('per_cpu_second'):,.0f} messages per CPU second"
    )


def main() -> None:
    """Run the load test and print the figures (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", type=int, default=RATE, help="messages per second (default 20000)")
    parser.add_argument("--seconds", type=float, default=SECONDS, help="firehose duration (default 20)")
    parser.add_argument(
        "--publish", nargs=4, metavar=("HOST", "PORT", "RATE", "SECONDS"), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--gc",
        choices=("interactive", "throughput"),
        default="interactive",
        help="collector policy: the apps' pause-bounded one (default) or the headless commands' one",
    )
    parser.add_argument(
        "--no-input-first",
        action="store_true",
        help="let network reads go on after a key press (the apps hold them for a moment)",
    )
    parser.add_argument(
        "--runs", type=int, default=1, help="runs of each configuration (default 1); medians follow"
    )
    parser.add_argument(
        "--where",
        choices=("both", "child", "in-process"),
        default="both",
        help="the embedded broker in a child as mqttws-tui runs it, on the app's own loop, or both (default)",
    )
    parser.add_argument("--summary", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish:
        host, port, rate, seconds = args.publish
        _publisher(host, int(port), int(rate), float(seconds))
        return
    configurations = {"both": (False, True), "child": (False,), "in-process": (True,)}[args.where]
    names = {False: "embedded broker in a child (mqttws-tui)", True: "broker on the app's own loop"}
    summaries: dict[bool, list[dict[str, float]]] = {in_process: [] for in_process in configurations}
    if args.runs * len(configurations) > 1 and not args.summary:
        # Each measurement in a fresh process, as a user starting the app gets it.
        common = ["--rate", str(args.rate), "--seconds", str(args.seconds), "--gc", args.gc]
        if args.no_input_first:
            common.append("--no-input-first")
        for run in range(args.runs):
            for in_process in configurations:
                print(f"\n==== run {run + 1} of {args.runs}, {names[in_process]}", flush=True)
                where = "in-process" if in_process else "child"
                figures = run_fresh(__file__, [*common, "--where", where])
                summaries[in_process].append(figures[where])
    else:
        summaries = _measure(args, configurations)
        if args.summary:
            print_summary({"in-process" if key else "child": runs[0] for key, runs in summaries.items()})
            return
    policy = "pause-bounded" if args.gc == "interactive" else "thresholds only (headless)"
    print(
        f"\nsettings: collector {policy}, "
        f"input first {'off' if args.no_input_first else 'on'}, {args.rate:,} msg/s for {args.seconds:.0f} s"
    )
    for in_process, runs in summaries.items():
        _medians("broker on the app's own loop" if in_process else "child broker (mqttws-tui)", runs)


def _measure(
    args: argparse.Namespace, configurations: tuple[bool, ...]
) -> dict[bool, list[dict[str, float]]]:
    """One run of each configuration in this process, with the runtime policy the options ask for."""
    collector = PauseBoundedCollector() if args.gc == "interactive" else None
    input_first = None if args.no_input_first else InputFirst()
    runtime = RuntimePolicy(collector=collector, input_first=input_first).install()
    if collector is None:
        tune_gc()
    startup = asyncio.run(_startup(runtime))
    print(f"start-up: embedded broker, demo traffic and the first screen with live topics in {startup:.2f} s")
    summaries: dict[bool, list[dict[str, float]]] = {}
    for in_process in configurations:
        where = "broker on the app's own loop" if in_process else "embedded broker in a child (mqttws-tui)"
        print(f"\n== {where}", flush=True)
        holds_before = input_first.holds if input_first is not None else 0
        result = asyncio.run(_run(args.rate, args.seconds, runtime, in_process=in_process))
        summaries[in_process] = [_report(result)]
        _report_gc(collector)
        if input_first is None:
            print("input first: off")
        else:
            print(
                f"input first: on, network reads held {input_first.holds - holds_before} times, "
                f"up to {input_first.hold * 1000:.0f} ms after a press"
            )
    return summaries


_reported_passes = [0]


def _report_gc(collector: PauseBoundedCollector | None) -> None:
    """The collector policy's work, and what a full pass now frees (cycles held by freezing)."""
    if collector is None:
        print(f"collector: thresholds {gc.get_threshold()}, no freezing")
        return
    frozen = gc.get_freeze_count()
    passes = collector.full_passes - _reported_passes[0]
    before = collector.full_freed
    collector.full_pass()
    _reported_passes[0] = collector.full_passes
    print(
        f"collector: thresholds {gc.get_threshold()}, {collector.ticks} ticks, "
        f"{passes} full passes during the run; {frozen:,} objects frozen, "
        f"of which a full pass now frees {collector.full_freed - before:,} (cycles that died while frozen)"
    )


if __name__ == "__main__":
    main()
