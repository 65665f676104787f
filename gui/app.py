"""The desktop app: argument parsing, QApplication, the qasync loop, the window.

``mqttws-explorer`` with no arguments starts the embedded broker with demo traffic and
connects to it; ``URL`` or ``--profile NAME`` (with the usual connection flags of
:mod:`explorer.cli.connopts`) connect elsewhere. Connection options are resolved before
Qt starts, so a bad flag is a one-line error on the terminal.

Light and dark follow the system (``QStyleHints.colorScheme``, Qt 6.5+); the environment
variable ``MQTTWS_COLOR_SCHEME=dark|light`` forces one (used for screenshots).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from explorer import __version__
from explorer.client.options import ConnectionOptions
from explorer.errors import ExplorerError
from explorer.workspace.runtime import RuntimePolicy

__all__ = [
    "APP_ID",
    "COLOR_SCHEMES",
    "apply_color_scheme",
    "build_parser",
    "create_application",
    "icon_path",
    "main",
    "run_window",
]

APP_ID = "mqttws-explorer"
ASSETS = Path(__file__).resolve().parent.parent / "assets"


def icon_path() -> Path:
    """The application icon (SVG) shipped in ``assets/``."""
    return ASSETS / "mqttws-explorer.svg"


def build_parser() -> argparse.ArgumentParser:
    from explorer.cli.frontend import add_frontend_arguments

    parser = argparse.ArgumentParser(
        prog="mqttws-explorer",
        description=(
            "Desktop explorer for MQTT over WebSocket. With no URL and no --profile it starts an "
            "embedded broker with demo traffic and connects to it. The headless subcommands "
            "(sub, pub, probe, broker, ...) are listed by mqttws-explorer --help."
        ),
    )
    add_frontend_arguments(parser)
    parser.add_argument(
        "--screenshot",
        metavar="PNG",
        help="save a picture of the window to PNG after --screenshot-delay seconds, then quit",
    )
    parser.add_argument(
        "--screenshot-delay", type=float, default=4.0, metavar="SECONDS", help=argparse.SUPPRESS
    )
    return parser


def _resolve(
    args: argparse.Namespace,
) -> tuple[ConnectionOptions | None, tuple[tuple[str, int], ...] | None]:
    """Where to connect (None: the embedded broker) and the ``-t``/profile subscriptions.

    The subscriptions are None when neither gave any: :func:`run_window` then uses the
    shared defaults of :mod:`explorer.workspace` for the broker it connects to.
    """
    from explorer.cli.frontend import resolve_frontend_start

    start = resolve_frontend_start(args)
    args.file = start.file
    args.codec_registry = start.codecs
    return start.options, start.subscriptions


def _palette(dark: bool) -> object:
    """Fusion's light palette, or a dark one built from the same roles."""
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QStyleFactory

    style = QStyleFactory.create("Fusion")
    palette = style.standardPalette()
    if not dark:
        return palette
    role = QPalette.ColorRole
    colors = {
        role.Window: "#2b2b2b",
        role.WindowText: "#e6e6e6",
        role.Base: "#1e1e1e",
        role.AlternateBase: "#262626",
        role.ToolTipBase: "#3a3a3a",
        role.ToolTipText: "#e6e6e6",
        role.PlaceholderText: "#8a8a8a",
        role.Text: "#e6e6e6",
        role.Button: "#353535",
        role.ButtonText: "#e6e6e6",
        role.BrightText: "#ff6b6b",
        role.Light: "#4a4a4a",
        role.Midlight: "#3e3e3e",
        role.Mid: "#5a5a5a",
        role.Dark: "#1a1a1a",
        role.Shadow: "#000000",
        role.Highlight: "#3d7bd9",
        role.HighlightedText: "#ffffff",
        role.Link: "#6cb4ff",
        role.LinkVisited: "#b48cff",
    }
    for item, value in colors.items():
        palette.setColor(item, QColor(value))
    for item in (role.Text, role.WindowText, role.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, item, QColor("#7a7a7a"))
    return palette


COLOR_SCHEMES = ("system", "light", "dark")


def apply_color_scheme(app: object, choice: str | None = None) -> None:
    """Light, dark, or follow the system's setting (and its changes).

    ``choice`` is one of :data:`COLOR_SCHEMES` (View → Appearance); without one,
    ``MQTTWS_COLOR_SCHEME=dark|light`` forces a scheme, else the system's is followed.
    """
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication

    assert isinstance(app, QApplication)
    hints = app.styleHints()
    wanted = (choice or os.environ.get("MQTTWS_COLOR_SCHEME", "") or "system").lower()
    app.setStyle("Fusion")  # one style drawn from the palette, the same on every desktop

    def update(scheme: Qt.ColorScheme) -> None:
        forced = str(app.property("mqttwsColorScheme") or "system")
        dark = forced == "dark" or (forced == "system" and scheme == Qt.ColorScheme.Dark)
        palette = _palette(dark)
        assert isinstance(palette, QPalette)
        app.setPalette(palette)

    app.setProperty("mqttwsColorScheme", wanted if wanted in COLOR_SCHEMES else "system")
    if not app.property("mqttwsColorSchemeHooked"):
        hints.colorSchemeChanged.connect(update)  # the system's changes (ignored while one is forced)
        app.setProperty("mqttwsColorSchemeHooked", True)
    if wanted == "dark":
        hints.setColorScheme(Qt.ColorScheme.Dark)  # also for Qt's own dialogs where the platform allows
    elif wanted == "light":
        hints.setColorScheme(Qt.ColorScheme.Light)
    else:
        hints.unsetColorScheme()
    update(hints.colorScheme())


def create_application(argv: Sequence[str] = ()) -> object:
    """The QApplication (existing or new) with name, icon and colour scheme set."""
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else APP_ID, *argv])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_ID)
    app.setOrganizationName(APP_ID)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)
    if icon_path().exists():
        app.setWindowIcon(QIcon(str(icon_path())))
    apply_color_scheme(app)
    return app


def watch_user_input(app: object, runtime: RuntimePolicy) -> object:
    """Report key presses, clicks and wheel turns to the process's runtime policy.

    Network reads then step aside for a moment, and a due full pass of the collector (a
    pause of a few hundred ms) waits until the user stops typing
    (:meth:`explorer.workspace.runtime.RuntimePolicy.note_input`). Returns the filter;
    keep it referenced for as long as the application runs.
    """
    from PySide6.QtCore import QEvent, QObject

    note_input = runtime.note_input
    kinds = {QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.Wheel}

    class InputWatch(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() in kinds:
                note_input()
            return False

    watch = InputWatch()
    assert isinstance(app, QObject)
    app.installEventFilter(watch)
    return watch


async def run_window(
    options: ConnectionOptions | None,
    subscriptions: tuple[tuple[str, int], ...] | None,
    *,
    demo: bool = True,
    tls_demo: bool = False,
    file: str | None = None,
    screenshot: str | None = None,
    screenshot_delay: float = 4.0,
    codecs: object | None = None,
    runtime: RuntimePolicy | None = None,
) -> int:
    """Open the window on the running qasync loop and wait until it is closed.

    ``file``: a recording, pcap or pcapng shown read-only instead of connecting.
    ``runtime``: the process's policy, whose read gate the Workspace's client asks.
    """
    from PySide6.QtWidgets import QApplication

    from explorer.workspace import DEFAULT_SUBSCRIPTIONS, EMBEDDED_SUBSCRIPTIONS, Workspace
    from gui.bridge import WorkspaceBridge
    from gui.widgets.main_window import MainWindow

    app = QApplication.instance()
    assert app is not None
    closed = asyncio.Event()
    app.lastWindowClosed.connect(closed.set)  # type: ignore[attr-defined]
    workspace = Workspace(read_gate=(runtime or RuntimePolicy()).read_gate)
    if codecs is not None:  # --codec / --proto / the profile's codec rules
        from explorer.codecs.registry import CodecRegistry

        assert isinstance(codecs, CodecRegistry)
        workspace.set_codecs(codecs)
    bridge = WorkspaceBridge(workspace)
    window = MainWindow(bridge)
    window.show()
    workspace.track_topic_stats()
    if file is not None:
        bridge.start()
        bridge.spawn(window.open_file(file))
    elif options is None:
        bridge.spawn(bridge.start_demo(subscriptions or EMBEDDED_SUBSCRIPTIONS, demo=demo, tls=tls_demo))
    else:
        window.connect_options(options, subscriptions or DEFAULT_SUBSCRIPTIONS)
    if screenshot is not None:
        await asyncio.sleep(screenshot_delay)
        if file is None:
            window.select_demo_topic()
        await asyncio.sleep(1.0)
        if not window.grab().save(screenshot):
            print(f"mqttws-explorer: cannot write {screenshot}", file=sys.stderr)
        window.close()
    await closed.wait()
    await bridge.aclose()
    return 0


def _has_display() -> bool:
    """Whether Qt has somewhere to draw: an X or Wayland display, or a chosen platform plugin."""
    if sys.platform != "linux":
        return True
    return any(os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the window (``gui.launcher`` sends non-headless arguments here)."""
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        options, subscriptions = _resolve(args)
    except ExplorerError as exc:
        print(f"mqttws-explorer: {exc}", file=sys.stderr)
        return 2
    if args.screenshot and not _has_display():
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if not _has_display():
        print(
            "mqttws-explorer: no display to open the window on (DISPLAY and WAYLAND_DISPLAY are "
            "not set). Over SSH or on a server use the terminal explorer, mqttws-tui; the "
            "subcommands (mqttws-explorer --help) need no display.",
            file=sys.stderr,
        )
        return 2
    from gui.xcbcheck import missing_libraries, missing_message, uses_xcb

    if uses_xcb() and (missing := missing_libraries()):
        print(f"mqttws-explorer: {missing_message(missing)}", file=sys.stderr)
        return 2
    runtime = RuntimePolicy.interactive().install()  # short collector pauses, input before reads
    try:
        import qasync
        from PySide6.QtWidgets import QApplication
    except ImportError as exc:
        print(f"mqttws-explorer: the desktop window needs PySide6 and qasync ({exc})", file=sys.stderr)
        return 2
    app = create_application()
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)  # run_window ends the loop itself
    input_watch = watch_user_input(app, runtime)  # noqa: F841 - held while the window runs
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop:
            return int(
                loop.run_until_complete(
                    run_window(
                        options,
                        subscriptions,
                        demo=not args.no_demo,
                        tls_demo=args.tls_demo,
                        file=args.file,
                        screenshot=args.screenshot,
                        screenshot_delay=args.screenshot_delay,
                        codecs=getattr(args, "codec_registry", None),
                        runtime=runtime,
                    )
                )
            )
    except KeyboardInterrupt:
        return 130
