"""The ``mqttws-explorer`` launcher: headless subcommands never load Qt; the desktop
installer puts the launcher and icons into the XDG directories."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gui.desktop import PNG_SIZES
from gui.launcher import is_headless, subcommand_names

FORBIDDEN = ("PySide6", "shiboken6", "qasync", "textual", "tui")
ROOT = Path(__file__).resolve().parents[2]


def _modules_after(argv: list[str]) -> tuple[str, str]:
    code = (
        "import sys\n"
        "from gui.launcher import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
        "print('MODULES:' + ','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    line = next(line for line in out.stdout.splitlines() if line.startswith("MODULES:"))
    return line.removeprefix("MODULES:"), out.stdout


@pytest.mark.parametrize("argv", [["decode", "--help"], ["broker", "--help"], ["--help"], ["--version"]])
def test_headless_arguments_never_load_qt(argv: list[str]) -> None:
    loaded, stdout = _modules_after(argv)
    assert loaded == ""
    assert "mqttws-explorer" in stdout


def test_subcommands_go_to_the_cli_and_everything_else_to_the_window() -> None:
    names = subcommand_names()
    assert {"sub", "pub", "probe", "broker", "decode", "profiles", "trace"} <= names
    for argv in (["probe", "ws://x/mqtt"], ["profiles", "list"], ["-h"], ["--version"]):
        assert is_headless(argv), argv
    for argv in ([], ["ws://localhost:9001/mqtt"], ["--profile", "prod"], ["localhost:9001"], ["--no-demo"]):
        assert not is_headless(argv), argv


def test_window_arguments_are_checked_before_qt_starts() -> None:
    code = (
        "import sys\n"
        "from gui.launcher import main\n"
        "code = main(['not a url at all://'])\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
        "print('CODE:', code, 'MODULES:' + ','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert "CODE: 2 MODULES:" in out.stdout
    assert out.stdout.strip().endswith("MODULES:")
    assert out.stderr.startswith("mqttws-explorer: ")
    assert "Traceback" not in out.stderr


def _run_installer(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "share")}
    return subprocess.run(
        [sys.executable, "-m", "gui.launcher", "install-desktop", *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    )


def test_install_desktop_puts_launcher_and_icons_into_xdg_data_home(tmp_path: Path) -> None:
    out = _run_installer(tmp_path)
    share = tmp_path / "share"
    desktop = share / "applications" / "mqttws-explorer.desktop"
    assert "installed the launcher" in out.stdout
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(desktop)
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application"
    assert section["Icon"] == "mqttws-explorer"
    assert section["Exec"].endswith(" %u")
    assert "mqttws-explorer" in section["Exec"]
    assert (share / "icons/hicolor/scalable/apps/mqttws-explorer.svg").read_bytes().startswith(b"<?xml")
    for size in PNG_SIZES:
        png = share / f"icons/hicolor/{size}x{size}/apps/mqttws-explorer.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_install_desktop_uninstall_removes_what_it_installed(tmp_path: Path) -> None:
    _run_installer(tmp_path)
    out = _run_installer(tmp_path, "--uninstall")
    share = tmp_path / "share"
    assert f"removed {len(PNG_SIZES) + 2} files" in out.stdout
    assert not (share / "applications" / "mqttws-explorer.desktop").exists()
    assert not list((share / "icons").rglob("*.png"))


def test_installed_launcher_passes_desktop_file_validate(tmp_path: Path) -> None:
    validator = shutil.which("desktop-file-validate")
    if validator is None and os.environ.get("CI") != "true":
        pytest.skip("desktop-file-validate (desktop-file-utils) is not installed")
    assert validator is not None
    _run_installer(tmp_path)
    desktop = tmp_path / "share" / "applications" / "mqttws-explorer.desktop"
    out = subprocess.run([validator, str(desktop)], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "error" not in out.stdout


def test_window_without_a_display_is_one_line_pointing_to_the_terminal_explorer() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    out = subprocess.run(
        [sys.executable, "-c", "import sys; from gui.launcher import main; sys.exit(main([]))"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=env,
    )
    assert out.returncode == 2
    assert "no display" in out.stderr
    assert "mqttws-tui" in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
