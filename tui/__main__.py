"""``python -m tui``: the same as the ``mqttws-tui`` command."""

from __future__ import annotations

from tui.launch import main

if __name__ == "__main__":
    main()
