"""The ``mqttws-explorer`` entry point: headless subcommands or the desktop window.

This module imports no Qt at module level, so ``mqttws-explorer decode ...`` or
``mqttws-explorer broker ...`` start as fast as the plain CLI and work on a machine
without a display. The rule for ``argv[1]``:

* a subcommand of :mod:`explorer.cli` (``sub``, ``pub``, ``probe``, ``broker`` ...), or
  ``-h``/``--help``/``--version``: the headless CLI;
* ``install-desktop [--uninstall]``: the XDG launcher installer (:mod:`gui.desktop`);
* anything else (nothing, a URL, ``--profile NAME``, connection flags): the Qt app.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["HEADLESS_FLAGS", "is_headless", "main", "subcommand_names"]

HEADLESS_FLAGS = frozenset({"-h", "--help", "--version"})


def subcommand_names() -> frozenset[str]:
    """The names of :mod:`explorer.cli`'s subcommands (its table; nothing else imported)."""
    from explorer.cli import COMMANDS

    return frozenset(COMMANDS)


def is_headless(argv: Sequence[str]) -> bool:
    """Whether ``argv`` (without the program name) is for the headless CLI."""
    if not argv:
        return False
    first = argv[0]
    if first in HEADLESS_FLAGS:
        return True
    if first.startswith("-") or "://" in first or "/" in first or ":" in first:
        return False  # connection flags, a URL or host:port: the window
    return first in subcommand_names()


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "install-desktop":
        from gui.desktop import main as desktop_main

        return desktop_main(args[1:])
    if is_headless(args):
        from explorer.cli import main as cli_main

        return cli_main(args)
    from gui.app import main as app_main

    return app_main(args)


if __name__ == "__main__":
    sys.exit(main())
