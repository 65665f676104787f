"""``python -m bench [NAME ...]``: run every benchmark module, or the named ones.

Each module under bench/ exposes ``main()`` and prints its own figures beside the peers
it measured in the same run. A module that is not there (yet) is skipped with a note,
so that ``make bench`` runs whatever exists.
"""

from __future__ import annotations

import importlib
import sys
import time

__all__ = ["MODULES", "main"]

MODULES = (
    "decode",
    "decoder",
    "mqtt_codec",
    "ingest",
    "codecs",
    "broker",
    "broker_soak",
    "recording",
    "tui_load",
    "tui_start",
    "gui_load",
    "cli_startup",
)


def main(argv: list[str] | None = None) -> int:
    names = list(sys.argv[1:] if argv is None else argv) or list(MODULES)
    unknown = [name for name in names if name not in MODULES]
    if unknown:
        print(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(MODULES)}", file=sys.stderr)
        return 2
    for name in names:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"bench.{name}":
                raise
            print(f"== {name}: not present, skipped\n", flush=True)
            continue
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        saved = sys.argv
        sys.argv = [f"bench/{name}.py"]  # modules that read options see none, as when run alone
        try:
            module.main()
        finally:
            sys.argv = saved
        print(f"== {name} done in {time.perf_counter() - started:.1f} s\n", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
