"""``mqttws-tui``'s entry point: starts the embedded broker's child before the heavy imports.

The default start (no arguments) shows the embedded demo broker. Its child process is
started here first, with nothing but the standard library loaded, so the child's
interpreter start runs while this process imports Textual and the views; the Workspace
then takes the running child over (:meth:`explorer.workspace.Workspace.adopt_early_broker`).
Any argument (a URL, a profile, a file, ``--no-demo``) starts as before.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``mqttws-tui``."""
    args = list(sys.argv[1:] if argv is None else argv)
    early = None
    if not args:
        from explorer.broker.child import spawn_early

        try:
            early = spawn_early(demo=True)
        except OSError:
            early = None  # the app starts its broker itself, and says what fails
    from tui.app import main as run

    run(args, early=early)


if __name__ == "__main__":
    main()
