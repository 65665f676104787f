"""The desktop window on a real X11 server (Xvfb), as a user starts it: ``mqttws-explorer``.

Every other GUI test runs on Qt's offscreen platform; this one goes through the xcb plugin,
the X server and the window manager-less root window, so missing system libraries or an X11
regression show up here. CI installs Xvfb; elsewhere the test skips without it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

CI = bool(os.environ.get("CI"))
ROOT = Path(__file__).resolve().parents[2]


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if CI:
            pytest.fail(f"{tool} is not installed: .ci/run installs it")
        pytest.skip(f"{tool} is not installed")
    return path


@pytest.fixture
def x_display() -> str:
    xvfb = _need("Xvfb")
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        [xvfb, "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as announce:
        number = announce.readline().strip()  # Xvfb writes the display number once it is ready
    if not number:
        server.kill()
        pytest.fail("Xvfb did not start")
    try:
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _window_names(display: str, xwininfo: str) -> str:
    out = subprocess.run(
        [xwininfo, "-root", "-tree"],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "DISPLAY": display},
    )
    return out.stdout


def test_the_window_opens_on_a_real_x11_display(x_display: str, tmp_path: Path) -> None:
    xwininfo = _need("xwininfo")
    shot = tmp_path / "window.png"
    env = {k: v for k, v in os.environ.items() if k not in {"QT_QPA_PLATFORM", "WAYLAND_DISPLAY"}}
    env.update(
        DISPLAY=x_display,
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        MQTTWS_CONFIG_DIR=str(tmp_path / "config" / "mqttws-explorer"),
    )
    app = subprocess.Popen(
        [sys.executable, "-m", "gui.launcher", "--screenshot", str(shot), "--screenshot-delay", "8"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        names = ""
        while time.monotonic() < deadline and app.poll() is None:
            names = _window_names(x_display, xwininfo)
            if "mqttws-explorer" in names:
                break
            time.sleep(0.2)
        _, err = app.communicate(timeout=60)
        assert "mqttws-explorer" in names, f"no window appeared on {x_display}; the app said: {err}"
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    assert app.returncode == 0, err
    assert "Traceback" not in err
    assert shot.stat().st_size > 10_000  # a drawn window, not an empty picture
