"""Process-wide runtime settings the entry points apply once at start-up.

Why the garbage collector is tuned: a trace holds hundreds of thousands of long-lived
event objects, and decoding makes several small objects per MQTT packet. With CPython's
default first-generation threshold (700 allocations) the collector runs every few
hundred packets and walks the young objects each time, which costs about a third of the
decoder's time. None of these objects form reference cycles on the hot path, so a larger
threshold loses nothing but that overhead. ``bench/decode.py`` prints the figures with
both settings.
"""

from __future__ import annotations

import gc

__all__ = ["GC_GEN0_THRESHOLD", "tune_gc"]

GC_GEN0_THRESHOLD = 50_000


def tune_gc() -> None:
    """Raise the first-generation collection threshold and freeze start-up objects.

    Objects alive at start-up (modules, classes, constant tables) move to the permanent
    generation (``gc.freeze``) so later collections never walk them again.
    """
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)
    gc.freeze()
