"""How fast a command-line call answers: ``--help`` and ``pub`` of one message.

Scripts call ``pub`` in loops, so a command's start-up time matters as much as its
work. Each figure is the median wall time of several runs of a fresh process, measured
in the same run beside ``mosquitto_pub`` (when installed) publishing the same message to
the same broker, and beside a bare ``python -c pass`` (the interpreter's own floor).
The broker is the embedded one, in a child process on loopback. Each command runs once
before it is timed, so that its modules run from compiled bytecode as after ``pip install``.

Run: ``python -m bench cli_startup`` (or ``python bench/cli_startup.py [RUNS]``).
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["main"]

_ROOT = Path(__file__).resolve().parents[1]
_TARGET_S = 0.3
# As installed by pip, modules run from their compiled .pyc: a PYTHONDONTWRITEBYTECODE in
# this environment would compile every module from source on every run instead.
_ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def _entry_point() -> list[str]:
    """``mqttws-explorer`` as installed beside this interpreter, else the launcher module."""
    script = Path(sys.executable).with_name("mqttws-explorer")
    return [str(script)] if script.exists() else [sys.executable, "-m", "gui.launcher"]


def _timed(argv: list[str], runs: int) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of ``runs`` runs of ``argv``.

    The CPU time is what the process itself spent, whatever else the machine is doing;
    the wall time is what a script waits.
    """
    walls, cpus = [], []
    subprocess.run(argv, capture_output=True, cwd=_ROOT, env=_ENV, check=False)  # warm-up: writes .pyc
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, cwd=_ROOT, env=_ENV, check=False)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.decode(errors='replace')}")
    return statistics.median(walls), statistics.median(cpus)


def _start_broker() -> tuple[subprocess.Popen[bytes], str, str]:
    broker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "explorer",
            "broker",
            "--ws-port",
            "0",
            "--tcp-port",
            "0",
            "--sys-interval",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=_ROOT,
        env=_ENV,
    )
    assert broker.stdout is not None
    urls: dict[str, str] = {}
    while len(urls) < 2:
        line = broker.stdout.readline().decode().strip()
        if not line:
            broker.kill()
            raise RuntimeError("the embedded broker did not start")
        for word in line.split():
            if word.startswith(("ws://", "mqtt://")):
                urls[word.split(":", 1)[0]] = word.rstrip(",")
    return broker, urls["ws"], urls["mqtt"]


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    runs = int(args[0]) if args else 7
    explorer = _entry_point()
    broker, ws_url, tcp_url = _start_broker()
    message = ["-t", "bench/cli", "-m", "x"]
    try:
        rows: list[tuple[str, tuple[float, float]]] = [
            ("python -c pass (floor)", _timed([sys.executable, "-c", "pass"], runs)),
            ("mqttws-explorer --help", _timed([*explorer, "--help"], runs)),
            ("mqttws-explorer pub mqtt:// (1 message)", _timed([*explorer, "pub", tcp_url, *message], runs)),
            ("mqttws-explorer pub ws:// (1 message)", _timed([*explorer, "pub", ws_url, *message], runs)),
        ]
        mosquitto_pub = shutil.which("mosquitto_pub")
        if mosquitto_pub is not None:
            host_port = tcp_url.removeprefix("mqtt://")
            host, port = host_port.rsplit(":", 1)
            argv_peer = [mosquitto_pub, "-h", host, "-p", port, *message]
            rows.append(("mosquitto_pub mqtt:// (1 message, peer)", _timed(argv_peer, runs)))
        else:
            missing = "mosquitto_pub: not installed (apt-get install mosquitto-clients)"
            rows.append((missing, (float("nan"), float("nan"))))
    finally:
        broker.terminate()
        broker.wait(timeout=10)
    load = os.getloadavg()[0]
    print(f"medians of {runs} runs each; load average {load:.1f} on {os.cpu_count()} CPUs")
    print(f"(target for mqttws-explorer on an idle machine: under {_TARGET_S} s)")
    print(f"  {'':<46} {'wall':>8}    {'CPU':>8}")
    for name, (wall, cpu) in rows:
        print(f"  {name:<46} {wall * 1000:8.0f} ms {cpu * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
