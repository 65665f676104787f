"""Process-wide runtime settings the entry points apply once at start-up.

Why the garbage collector is tuned: a trace holds hundreds of thousands of long-lived
event objects, and decoding makes several small objects per MQTT packet. With CPython's
default first-generation threshold (700 allocations) the collector runs every few
hundred packets and walks the young objects each time, which costs about a third of the
decoder's time. None of these objects form reference cycles on the hot path, so a larger
threshold loses nothing but that overhead. ``bench/decode.py`` and ``bench/ingest.py``
print the figures (about 415,000 vs 530,000 packets/s decoded; 30,000 vs 55,000 msg/s
ingested into a Workspace).
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
