"""The cyclic garbage collector's settings for every entry point (CLI, terminal, desktop).

Kept apart from the workspace so that a command that needs none of it (``decode``)
does not import the asyncio runtime to set three numbers.
"""

from __future__ import annotations

import gc

__all__ = ["GC_GEN0_THRESHOLD", "GC_THRESHOLDS", "tune_gc"]

GC_THRESHOLDS = (50_000, 20, 100)
"""Collector thresholds for a firehose (CPython's defaults are 700, 10, 10)."""
GC_GEN0_THRESHOLD = GC_THRESHOLDS[0]


def tune_gc() -> None:
    """Make the cyclic collector run less often, for the whole process.

    Thresholds already set higher are left alone.
    """
    if gc.get_threshold()[0] < GC_THRESHOLDS[0]:
        gc.set_threshold(*GC_THRESHOLDS)
