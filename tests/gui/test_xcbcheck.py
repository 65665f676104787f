"""Before Qt starts on X11, the launcher names the missing system libraries and their packages.

The loader's answer is real: a small shared object is linked against stand-ins for Qt's
xcb dependencies, the stand-ins are removed, and ``ldd`` reports them missing, exactly as on
a machine without ``libxcb-cursor0``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from gui.xcbcheck import (
    DEBIAN_PACKAGES,
    MissingLibrary,
    missing_libraries,
    missing_message,
    needed_libraries,
    qt_xcb_files,
    uses_xcb,
)

CI = bool(os.environ.get("CI"))


def _plugin_needing(tmp_path: Path, sonames: list[str]) -> Path:
    """A shared object whose DT_NEEDED entries are ``sonames``, none of them installed."""
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        if CI:
            pytest.fail("gcc is required in CI (.ci/run installs gcc and libc6-dev)")
        pytest.skip("no C compiler to build a shared object")
    (tmp_path / "stub.c").write_text("int stub_symbol(void) { return 1; }\n")
    (tmp_path / "plugin.c").write_text("int plugin_symbol(void) { return 2; }\n")
    links = []
    for soname in sonames:
        stub = tmp_path / soname
        subprocess.run(
            [gcc, "-shared", "-fPIC", f"-Wl,-soname,{soname}", "-o", str(stub), str(tmp_path / "stub.c")],
            check=True,
        )
        links.append(f"-l:{soname}")
    plugin = tmp_path / "libqxcb.so"
    subprocess.run(
        [
            gcc,
            "-shared",
            "-fPIC",
            "-Wl,--no-as-needed",
            "-o",
            str(plugin),
            str(tmp_path / "plugin.c"),
            f"-L{tmp_path}",
            *links,
        ],
        check=True,
    )
    for soname in sonames:
        (tmp_path / soname).unlink()
    return plugin


def test_missing_xcb_libraries_are_named_with_their_debian_packages(tmp_path: Path) -> None:
    # Stand-in names: this machine may have the real libxcb-cursor.so.0 installed.
    plugin = _plugin_needing(tmp_path, ["libxcb-cursor.so.9", "libxcb-keysyms.so.9", "libexotic-thing.so.7"])
    packages = {"libxcb-cursor.so.9": "libxcb-cursor0", "libxcb-keysyms.so.9": "libxcb-keysyms1"}

    missing = missing_libraries([plugin], packages)

    assert missing == [
        MissingLibrary("libexotic-thing.so.7", None),
        MissingLibrary("libxcb-cursor.so.9", "libxcb-cursor0"),
        MissingLibrary("libxcb-keysyms.so.9", "libxcb-keysyms1"),
    ]
    text = missing_message(missing)
    assert "sudo apt-get install libxcb-cursor0 libxcb-keysyms1" in text
    assert "libexotic-thing.so.7" in text
    assert "mqttws-tui" in text
    assert "Reinstalling" not in text


def test_a_library_whose_dependencies_are_all_installed_needs_nothing(tmp_path: Path) -> None:
    plugin = _plugin_needing(tmp_path, [])
    assert missing_libraries([plugin]) == []


def test_the_installed_qt_xcb_plugin_finds_every_library() -> None:
    files = qt_xcb_files()
    assert any(path.name == "libqxcb.so" for path in files)
    missing = missing_libraries(files)
    if missing and not CI:
        pytest.skip(missing_message(missing))
    assert missing == [], missing_message(missing)


def test_every_x11_library_the_qt_plugin_loads_has_its_package_named() -> None:
    needed: set[str] = set()
    for path in qt_xcb_files():
        needed |= set(needed_libraries(path))
    x11 = {name for name in needed if name.startswith(("libxcb", "libX11", "libxkbcommon"))}
    assert {"libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1"} <= x11 | set(DEBIAN_PACKAGES)
    assert x11, "ldd named no X11 library of Qt's xcb plugin"
    assert x11 <= set(DEBIAN_PACKAGES), sorted(x11 - set(DEBIAN_PACKAGES))


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DISPLAY": ":0"}, True),
        ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, False),
        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, False),
        ({"WAYLAND_DISPLAY": "wayland-0", "QT_QPA_PLATFORM": "xcb"}, True),
        ({"QT_QPA_PLATFORM": "wayland;xcb"}, False),
        ({}, False),
    ],
)
def test_the_check_runs_only_where_qt_will_use_x11(env: dict[str, str], expected: bool) -> None:
    assert uses_xcb(env) is expected
