"""How soon the terminal explorer shows something useful: the live demo topics.

``mqttws-tui`` starts in a pseudo-terminal of 120x40 as a user starts it (it starts the
embedded demo broker, connects and subscribes); the time is taken from the start of the
process until the live demo topics (the tree's ``sensors`` row) have been drawn. Beside
it, in the same run and the same terminal: ``python -c "import textual"`` (the toolkit's
import alone), a bare Textual app drawing one word (the toolkit's own first screen), and
the explorer started without its launcher, so that the broker child starts only once the
app runs (what :mod:`tui.launch` saves). Each figure is the median of several runs of a
fresh process, after one warm-up run that writes the bytecode; the runs of the rows take
turns, so that the load of a shared machine weighs on them alike.

Run: ``python -m bench tui_start`` (or ``python bench/tui_start.py [RUNS]``).
"""

from __future__ import annotations

import fcntl
import os
import select
import statistics
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

__all__ = ["main"]

_ROOT = Path(__file__).resolve().parents[1]
_TARGET_S = 1.0
_SIZE = (40, 120)  # rows, columns
_TIMEOUT_S = 30.0
# The topic tree's row of the live sensors (every demo tick publishes one): demo topics drawn.
_MARKER = b"sensors"
_ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
# The app started without tui.launch: the broker child starts only once the app runs.
_LATE_BROKER = "import sys; from tui.app import main; main(sys.argv[1:])"
_BARE_APP = """
from textual.app import App
from textual.widgets import Static
class Bare(App[None]):
    def compose(self):
        yield Static("sensors")
Bare().run()
"""


def _entry_point() -> list[str]:
    script = Path(sys.executable).with_name("mqttws-tui")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tui"]


def _until_drawn(argv: list[str], marker: bytes | None, env: dict[str, str]) -> float:
    """Seconds from the start of ``argv`` in a fresh pseudo-terminal until ``marker`` was
    written to it (``None``: until the process ends). The process is ended afterwards."""
    leader, follower = os.openpty()
    rows, columns = _SIZE
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, stdin=follower, stdout=follower, stderr=follower, cwd=_ROOT, env=env, start_new_session=True
    )
    os.close(follower)
    seen = b""
    elapsed = None
    try:
        while time.perf_counter() - started < _TIMEOUT_S:
            ready, _, _ = select.select([leader], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the process ended and closed the terminal
                    chunk = b""
                if not chunk:
                    elapsed = time.perf_counter() - started
                    break
                seen = seen[-64:] + chunk
                if marker is not None and marker in seen:
                    elapsed = time.perf_counter() - started
                    break
            elif process.poll() is not None and marker is None:
                elapsed = time.perf_counter() - started
                break
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        os.close(leader)
    if elapsed is None:
        raise RuntimeError(f"{' '.join(argv)} drew nothing useful within {_TIMEOUT_S:.0f} s")
    return elapsed


def _medians(rows: list[tuple[str, list[str], bytes | None]], runs: int) -> dict[str, list[float]]:
    """Times of ``runs`` rounds; each round runs every row once, so that a change in the
    machine's load falls on all of them alike."""
    env = dict(_ENV, TERM="xterm-256color", COLUMNS=str(_SIZE[1]), LINES=str(_SIZE[0]))
    for _, argv, marker in rows:
        _until_drawn(argv, marker, env)  # warm-up: bytecode written, files in the page cache
    times: dict[str, list[float]] = {label: [] for label, _, _ in rows}
    for _ in range(runs):
        for label, argv, marker in rows:
            times[label].append(_until_drawn(argv, marker, env))
    return times


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    load = os.getloadavg()[0]
    rows = [
        ("python -c 'import textual'", [sys.executable, "-c", "import textual"], None),
        ("bare Textual app, first word", [sys.executable, "-c", _BARE_APP], _MARKER),
        ("broker child started late", [sys.executable, "-c", _LATE_BROKER], _MARKER),
        ("mqttws-tui, demo topics drawn", _entry_point(), _MARKER),
    ]
    print(f"runs: {runs}, terminal {_SIZE[1]}x{_SIZE[0]}, load average {load:.2f} on {os.cpu_count()} cores")
    figures: dict[str, float] = {}
    for label, times in _medians(rows, runs).items():
        figures[label] = median = statistics.median(times)
        spread = " ".join(f"{t:.2f}" for t in sorted(times))
        print(f"  {label:<30} median {median * 1000:7.0f} ms   (runs: {spread})")
    tui = figures[rows[-1][0]]
    bare = figures[rows[1][0]]
    print(f"  mqttws-tui / bare Textual app: {tui / bare:.2f}x; target: under {_TARGET_S:.1f} s when idle")


if __name__ == "__main__":
    main()
