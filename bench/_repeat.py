"""Repeated runs of a load benchmark, each in a fresh process, and the medians of their figures.

A run of ``bench/tui_load.py`` or ``bench/gui_load.py`` leaves its process changed (a
bigger heap, frozen objects, a warmed import cache), so a second run in the same process
would not measure what a user starting the app sees. :func:`run_fresh` starts the
benchmark again as a child with ``--summary``, passes its output through and returns the
headline figures the child printed last as one ``SUMMARY {json}`` line.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Sequence

__all__ = ["SUMMARY", "machine_load", "median_of", "print_summary", "run_fresh"]

SUMMARY = "SUMMARY "
"""The prefix of the line a child run prints its headline figures on."""


def print_summary(figures: dict[str, dict[str, float]]) -> None:
    """The child's side: its headline figures, per configuration, on the last line."""
    print(SUMMARY + json.dumps(figures), flush=True)


def run_fresh(script: str, args: Sequence[str]) -> dict[str, dict[str, float]]:
    """Run ``script`` with ``args`` and ``--summary`` in a new interpreter; echo its output."""
    figures: dict[str, dict[str, float]] = {}
    with subprocess.Popen(
        [sys.executable, script, *args, "--summary"], stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith(SUMMARY):
                figures = json.loads(line[len(SUMMARY) :])
            else:
                print(line, end="", flush=True)
    if child.returncode != 0:
        raise SystemExit(f"{script} failed (exit status {child.returncode})")
    return figures


def median_of(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def machine_load() -> str:
    """The load average and the share of the last 10 s in which tasks waited for a CPU (Linux PSI)."""
    try:
        with open("/proc/pressure/cpu", encoding="ascii") as pressure:
            fields = dict(item.split("=", 1) for item in pressure.readline().split()[1:] if "=" in item)
        waiting = f"{fields.get('avg10', '?')}%"
    except OSError:
        waiting = "unknown"
    return (
        f"machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, "
        f"CPU pressure {waiting} (tasks waiting for a CPU)"
    )
