"""Before Qt starts on X11: name the system libraries its xcb platform plugin cannot load.

Qt's own message for a missing library is "Could not load the Qt platform plugin "xcb" ...
Reinstalling the application may fix this problem", which names neither the library nor the
package. PySide6's wheels bring Qt but not the X11 client libraries, and a minimal Debian or
Ubuntu machine lacks several of them (``libxcb-cursor0``, ``libxcb-icccm4`` and
``libxcb-keysyms1`` most often). So the window's entry point asks the dynamic loader
(``ldd``) which libraries the xcb plugin and Qt's GUI libraries would fail to find, and says
which packages to install.

What belongs here: finding the plugin, reading ``ldd``'s answer, the table of Debian/Ubuntu
package names, the message. No Qt import: this runs before Qt is loaded.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEBIAN_PACKAGES",
    "MissingLibrary",
    "missing_libraries",
    "missing_message",
    "needed_libraries",
    "qt_xcb_files",
    "uses_xcb",
]

# Shared objects the xcb platform plugin and Qt's GUI libraries load, by Debian/Ubuntu package.
# The README's list of system packages for the desktop window is this table's values.
DEBIAN_PACKAGES: dict[str, str] = {
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
}


@dataclass(frozen=True, slots=True)
class MissingLibrary:
    """One shared object the loader cannot find, and the package that ships it (if known)."""

    soname: str
    package: str | None


def uses_xcb(environ: os._Environ[str] | dict[str, str] | None = None) -> bool:
    """Whether Qt will pick its xcb (X11) platform plugin in this environment."""
    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return False
    platform = env.get("QT_QPA_PLATFORM", "").strip()
    if platform:
        return platform.split(":", 1)[0].split(";", 1)[0] == "xcb"
    # Without QT_QPA_PLATFORM Qt 6 prefers Wayland in a Wayland session, X11 otherwise.
    return bool(env.get("DISPLAY")) and not env.get("WAYLAND_DISPLAY")


def qt_xcb_files() -> list[Path]:
    """The xcb plugin and the Qt libraries it loads, from the installed PySide6 (no import)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return []
    qt = Path(next(iter(spec.submodule_search_locations))) / "Qt"
    candidates = [
        qt / "plugins" / "platforms" / "libqxcb.so",
        qt / "lib" / "libQt6XcbQpa.so.6",
        qt / "lib" / "libQt6Gui.so.6",
        qt / "lib" / "libQt6Widgets.so.6",
    ]
    return [path for path in candidates if path.exists()]


def needed_libraries(path: Path) -> dict[str, str | None]:
    """Every shared object ``path`` loads, directly or not, and where the loader finds it (None: nowhere)."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return {}
    try:
        out = subprocess.run([ldd, str(path)], capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    found: dict[str, str | None] = {}
    for line in out.splitlines():
        name, sep, rest = line.strip().partition("=>")
        if sep:
            target = rest.strip()
            found[name.strip()] = None if target.startswith("not found") else target.split(" (", 1)[0]
    return found


def missing_libraries(
    files: Sequence[Path] | None = None, packages: Mapping[str, str] = DEBIAN_PACKAGES
) -> list[MissingLibrary]:
    """The shared objects that ``files`` (default: Qt's xcb plugin) need and the loader lacks.

    Returns an empty list when nothing is missing, or when the check itself cannot run (no
    ``ldd``, no PySide6): then Qt starts and speaks for itself.
    """
    paths = qt_xcb_files() if files is None else list(files)
    seen: dict[str, MissingLibrary] = {}
    for path in paths:
        for soname, where in needed_libraries(path).items():
            if where is None:
                seen.setdefault(soname, MissingLibrary(soname, packages.get(soname)))
    return sorted(seen.values(), key=lambda lib: lib.soname)


def missing_message(missing: Sequence[MissingLibrary]) -> str:
    """What to tell the user: which libraries are missing, and the command that installs them."""
    names = ", ".join(lib.soname for lib in missing)
    packages = sorted({lib.package for lib in missing if lib.package})
    unknown = [lib.soname for lib in missing if lib.package is None]
    lines = [f"the desktop window cannot start: Qt's X11 (xcb) plugin needs {names}, not installed."]
    if packages:
        lines.append(f"On Debian or Ubuntu: sudo apt-get install {' '.join(packages)}")
    if unknown:
        lines.append(f"Install the package that provides {', '.join(unknown)} on this system.")
    lines.append("Without a window, the terminal explorer (mqttws-tui) and the subcommands still work.")
    return "\n".join(lines)
