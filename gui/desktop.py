"""``mqttws-explorer install-desktop [--uninstall]``: the launcher in the desktop's menu.

Copies ``assets/mqttws-explorer.desktop`` to ``$XDG_DATA_HOME/applications`` (with
``Exec`` pointing at this installation's ``mqttws-explorer`` when it can be found) and
the icon to ``$XDG_DATA_HOME/icons/hicolor/<size>/apps`` (PNG sizes plus the SVG under
``scalable``), then runs ``update-desktop-database`` and ``gtk-update-icon-cache`` if
they exist. ``$XDG_DATA_HOME`` defaults to ``~/.local/share`` (XDG Base Directory spec).
Imports no Qt.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["APP_ID", "data_home", "install", "main", "uninstall"]

APP_ID = "mqttws-explorer"
ASSETS = Path(__file__).resolve().parent.parent / "assets"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def data_home(environ: dict[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME`` or ``~/.local/share`` (a relative value is ignored, per the spec)."""
    env = os.environ if environ is None else environ
    value = env.get("XDG_DATA_HOME", "")
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / ".local" / "share"


def _targets(base: Path) -> list[tuple[Path, Path]]:
    """(source, destination) pairs for every installed file."""
    pairs = [(ASSETS / f"{APP_ID}.desktop", base / "applications" / f"{APP_ID}.desktop")]
    pairs.append(
        (ASSETS / f"{APP_ID}.svg", base / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg")
    )
    for size in PNG_SIZES:
        source = ASSETS / "icons" / f"{APP_ID}-{size}.png"
        pairs.append((source, base / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"))
    return pairs


def _exec_line() -> str:
    """The command the launcher runs: this installation's script when it is found."""
    script = shutil.which(APP_ID)
    if script is None:
        candidate = Path(sys.executable).parent / APP_ID
        script = str(candidate) if candidate.exists() else None
    if script is None:
        return APP_ID
    return f'"{script}"' if " " in script else script


def _refresh_caches(base: Path) -> list[str]:
    """Run the desktop's cache updaters that exist; return the ones run."""
    ran = []
    commands = (
        ("update-desktop-database", [str(base / "applications")]),
        ("gtk-update-icon-cache", ["-f", "-t", str(base / "icons" / "hicolor")]),
    )
    for program, args in commands:
        path = shutil.which(program)
        if path is None:
            continue
        subprocess.run([path, *args], check=False, capture_output=True, timeout=60)
        ran.append(program)
    return ran


def install(base: Path | None = None) -> list[Path]:
    """Install the launcher and icons under ``base`` (default :func:`data_home`)."""
    base = base or data_home()
    written = []
    exec_line = _exec_line()
    for source, target in _targets(base):
        if not source.exists():
            raise FileNotFoundError(f"{source} is missing from this installation")
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.suffix == ".desktop":
            text = source.read_text(encoding="utf-8")
            lines = []
            for line in text.splitlines():
                if line.startswith("Exec="):
                    line = f"Exec={exec_line} %u"
                elif line.startswith("TryExec="):
                    line = f"TryExec={exec_line.strip(chr(34))}"
                lines.append(line)
            target.write_text("\n".join(lines) + "\n", encoding="utf-8")
            target.chmod(0o755)
        else:
            shutil.copyfile(source, target)
        written.append(target)
    _refresh_caches(base)
    return written


def uninstall(base: Path | None = None) -> list[Path]:
    """Remove what :func:`install` put under ``base``; returns the files removed."""
    base = base or data_home()
    removed = []
    for _, target in _targets(base):
        if target.exists():
            target.unlink()
            removed.append(target)
    _refresh_caches(base)
    return removed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mqttws-explorer install-desktop",
        description="Add the mqttws-explorer launcher and icon to your desktop's application menu "
        "(files go to $XDG_DATA_HOME, by default ~/.local/share).",
    )
    parser.add_argument("--uninstall", action="store_true", help="remove the launcher and icons again")
    args = parser.parse_args(argv)
    base = data_home()
    try:
        if args.uninstall:
            files = uninstall(base)
            print(f"removed {len(files)} files from {base}")
        else:
            files = install(base)
            print(f"installed the launcher: {files[0]}")
            print(f"installed {len(files) - 1} icons under {base / 'icons' / 'hicolor'}")
    except OSError as exc:
        print(
            f"mqttws-explorer: cannot {'remove' if args.uninstall else 'install'} the launcher: {exc}",
            file=sys.stderr,
        )
        return 1
    return 0
