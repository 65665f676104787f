"""The core never loads a UI toolkit, checked at run time in a fresh interpreter.

import-linter checks the import graph statically; this test checks what actually ends
up in ``sys.modules`` after importing every core module, which also catches imports
made inside functions at import time and by third-party packages we pull in.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import explorer

FORBIDDEN = ("textual", "rich", "PySide6", "shiboken6", "qasync", "tui", "gui")


def _core_modules() -> list[str]:
    names = ["explorer"]
    for info in pkgutil.walk_packages(explorer.__path__, prefix="explorer."):
        if info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return names


def test_core_modules_load_no_ui_toolkit() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {_core_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_headless_cli_help_loads_no_ui_toolkit() -> None:
    code = (
        "import sys\n"
        "from explorer.cli import build_parser\n"
        "build_parser()\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
