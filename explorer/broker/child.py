"""The embedded broker in a child process, so it never competes with a front end's loop.

A front end runs its network, decoder and views on one event loop. Under a firehose the
broker's own work (routing, framing, the demo publisher) would take a share of that loop,
and key presses would wait for it. :class:`BrokerProcess` runs the same broker as
``python -m explorer broker --child`` instead and speaks to it only through pipes:

* stdout carries the listener URLs, one per line, then nothing the parent needs;
* stderr carries the child's log as ``LEVELNAME message`` lines; a reader task re-logs
  each line on the ``explorer.broker`` logger at the child's level, so nothing reaches
  the terminal (the TUI owns it), and keeps the last lines for error messages;
* stdin is never written: closing it (or the parent dying, which closes it too) makes
  the child shut down cleanly, wills published, as it does on SIGTERM.

This module holds no UI imports; the Workspace picks it or the in-process
:class:`~explorer.broker.server.Broker`, both of which satisfy :class:`EmbeddedBroker`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections import deque
from collections.abc import AsyncGenerator, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import explorer
from explorer.errors import ExplorerError

if TYPE_CHECKING:
    from explorer.broker.earlychild import EarlyChild, PipeProcess

# The line ``broker`` prints with the CA file to trust (explorer.cli.broker prints it).
CA_LINE = "CA certificate to trust: "

__all__ = [
    "START_TIMEOUT",
    "STOP_GRACE",
    "BrokerProcess",
    "EmbeddedBroker",
    "child_command",
    "child_env",
    "spawn_early",
]

START_TIMEOUT = 15.0
"""Seconds the child may take to print its URLs (a cold interpreter on a busy machine)."""

STOP_GRACE = 3.0
"""Seconds the child gets to shut down after its stdin closes, before SIGTERM and SIGKILL."""

STDERR_KEPT = 20
"""Last stderr lines kept for the message of a failed start."""

_LEVELS = {name: level for name, level in logging.getLevelNamesMapping().items() if name != "NOTSET"}

log = logging.getLogger("explorer.broker")


class EmbeddedBroker(Protocol):
    """What a front end may ask of the embedded broker, wherever it runs."""

    @property
    def ws_url(self) -> str | None: ...

    @property
    def tcp_url(self) -> str | None: ...

    @property
    def urls(self) -> list[str]: ...

    @property
    def wss_url(self) -> str | None: ...

    @property
    def ca_file(self) -> str | None: ...

    async def stop(self) -> None: ...


def child_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The child's environment: ours, plus the directory we import ``explorer`` from.

    ``python -m explorer`` finds an installed (or editable) package by itself; a source
    tree run from elsewhere is only on our ``sys.path``, so its root goes first on
    ``PYTHONPATH``. A site-packages root is left alone (it is on the child's path anyway).
    """
    env = dict(os.environ if base is None else base)
    root = str(Path(explorer.__file__).resolve().parent.parent)
    if Path(root).name in ("site-packages", "dist-packages"):
        return env
    parts = [part for part in env.get("PYTHONPATH", "").split(os.pathsep) if part]
    if root not in parts:
        env["PYTHONPATH"] = os.pathsep.join([root, *parts])
    return env


def child_command(
    *, demo: bool = False, tls: bool = False, extra_args: Sequence[str] = (), python: str | None = None
) -> list[str]:
    """The command line of the broker child (free loopback ports, URLs on stdout)."""
    command = [python or sys.executable, "-m", "explorer", "broker", "--ws-port", "0", "--tcp-port", "0"]
    if demo:
        command.append("--demo")
    if tls:
        command += ["--tls", "--wss-port", "0", "--mqtts-port", "0"]
    return [*command, *extra_args, "--child"]


def spawn_early(*, demo: bool = True, tls: bool = False) -> EarlyChild:
    """Start the broker child now, before any event loop (a launcher's first line), so
    that its start overlaps the front end's imports; :meth:`BrokerProcess.start` adopts it.

    Raises:
        OSError: the interpreter could not be started.
    """
    from explorer.broker.earlychild import EarlyChild

    return EarlyChild.spawn(child_command(demo=demo, tls=tls), child_env(), demo=demo, tls=tls)


def _parse_log_line(line: str) -> tuple[int, str]:
    """``LEVELNAME message`` to (level, message); anything else is a warning as it stands."""
    name, _, message = line.partition(" ")
    level = _LEVELS.get(name)
    if level is None:
        return logging.WARNING, line
    return level, message


async def _lines(stream: asyncio.StreamReader) -> AsyncGenerator[str, None]:
    """Non-empty lines until EOF; an overlong line is skipped, never the end of reading."""
    while True:
        try:
            raw = await stream.readline()
        except ValueError:  # longer than the stream's limit: asyncio dropped it
            continue
        if not raw:
            return
        line = raw.decode(errors="replace").rstrip()
        if line:
            yield line


def _failure_detail(lines: Sequence[str]) -> str:
    """The child's last words for an error message: one line, never a traceback."""
    kept = [line for line in lines if line.strip()]
    if not kept:
        return "it printed nothing"
    if any(line.startswith("Traceback") for line in kept):
        return kept[-1].strip()  # the exception itself, without the frames
    messages = [_parse_log_line(line)[1].strip() for line in kept[-3:]]
    return "; ".join(messages)


class BrokerProcess:
    """The embedded broker as a child process (``python -m explorer broker --child``).

    Make one with :meth:`start`; it has the same ``ws_url``, ``tcp_url`` and ``urls`` as
    :class:`~explorer.broker.server.Broker` and :meth:`stop` ends the child.
    """

    def __init__(self, process: asyncio.subprocess.Process | PipeProcess) -> None:
        self._process = process
        self._ws_url: str | None = None
        self._tcp_url: str | None = None
        self._wss_url: str | None = None
        self._mqtts_url: str | None = None
        self._ca_file: str | None = None
        self._tls = False
        self._stderr_lines: deque[str] = deque(maxlen=STDERR_KEPT)
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping: asyncio.Task[None] | None = None
        self._on_exit: Callable[[int], None] | None = None

    @classmethod
    async def start(
        cls,
        *,
        demo: bool = False,
        tls: bool = False,
        extra_args: Sequence[str] = (),
        python: str | None = None,
        timeout: float = START_TIMEOUT,
        on_exit: Callable[[int], None] | None = None,
        early: EarlyChild | None = None,
    ) -> BrokerProcess:
        """Spawn the child on free loopback ports and wait until it prints both URLs.

        Args:
            demo: run the demo publisher in the child.
            tls: add wss and mqtts listeners (with the local CA, see ``ca_file``).
            extra_args: more ``mqttws-explorer broker`` options (fault modes, rates).
            python: the interpreter to run (``sys.executable`` by default).
            timeout: seconds to wait for the URLs.
            on_exit: called with the exit status if the child ends without :meth:`stop`.
            early: a child of the same kind started already (:func:`spawn_early`): it is
                taken over instead of starting another.

        Raises:
            ExplorerError: the child exited or stayed silent; the message carries its
                last stderr line(s). The child is gone when this is raised.
        """
        command = child_command(demo=demo, tls=tls, extra_args=extra_args, python=python)
        process: asyncio.subprocess.Process | PipeProcess
        try:
            if early is not None:
                process = await early.adopt()
            else:
                process = await asyncio.create_subprocess_exec(
                    *command,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    env=child_env(),
                    # Keep the terminal's Ctrl-C and hang-up away from the child: its lifetime
                    # follows our stdin pipe (POSIX only; ignored elsewhere).
                    start_new_session=True,
                )
        except OSError as exc:
            raise ExplorerError(f"cannot start the embedded broker process: {exc}") from exc
        self = cls(process)
        self._tls = tls
        assert process.stderr is not None
        self._tasks.append(asyncio.create_task(self._read_stderr(process.stderr)))
        try:
            async with asyncio.timeout(timeout):
                ready = await self._read_urls()
        except TimeoutError:
            await self._stop()  # ends it and collects what it printed
            raise ExplorerError(
                f"the embedded broker process did not report its URLs within {timeout:g} s "
                f"({_failure_detail(self._stderr_lines)})"
            ) from None
        except BaseException:
            await self._stop()
            raise
        if not ready:
            await self._stop()
            code = process.returncode
            raise ExplorerError(
                f"the embedded broker process exited (code {code}) before it was ready: "
                f"{_failure_detail(self._stderr_lines)}"
            )
        assert process.stdout is not None
        self._tasks.append(asyncio.create_task(self._drain_stdout(process.stdout)))
        self._on_exit = on_exit
        self._tasks.append(asyncio.create_task(self._watch_exit()))
        return self

    # -- what the Workspace and the views read ----------------------------------------

    @property
    def ws_url(self) -> str | None:
        return self._ws_url

    @property
    def tcp_url(self) -> str | None:
        return self._tcp_url

    @property
    def wss_url(self) -> str | None:
        return self._wss_url

    @property
    def mqtts_url(self) -> str | None:
        return self._mqtts_url

    @property
    def ca_file(self) -> str | None:
        """The local CA of the TLS listeners (the file a client trusts), if they are on."""
        return self._ca_file

    @property
    def urls(self) -> list[str]:
        return [url for url in (self._ws_url, self._tcp_url, self._wss_url, self._mqtts_url) if url]

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        """The child's exit status once it has been reaped, else None."""
        return self._process.returncode

    @property
    def stderr_tail(self) -> list[str]:
        """The child's last stderr lines (at most ``STDERR_KEPT``), oldest first."""
        return list(self._stderr_lines)

    # -- lifetime ---------------------------------------------------------------------

    async def wait(self) -> int:
        """Wait until the child exits, however that happens; returns its exit status."""
        return await self._process.wait()

    async def stop(self) -> None:
        """Close the child's stdin so it shuts down cleanly; force it after ``STOP_GRACE``.

        Safe to call more than once and from several tasks: they all wait for the same end.
        """
        if self._stopping is None:
            self._stopping = asyncio.create_task(self._stop())
        await asyncio.shield(self._stopping)

    async def _stop(self) -> None:
        process = self._process
        self._close_stdin()
        try:
            async with asyncio.timeout(STOP_GRACE):
                await process.wait()
        except TimeoutError:
            log.warning(
                "the embedded broker process %d did not stop in %g s; terminating it", self.pid, STOP_GRACE
            )
            await self._force()
        await self._finish_tasks()

    async def _force(self) -> None:
        # Only a child still running gets signals: Popen.send_signal() polls first, which
        # would reap an exited child behind asyncio's child watcher.
        process = self._process
        for signal_it in (process.terminate, process.kill):
            if process.returncode is not None:
                return
            with contextlib.suppress(ProcessLookupError):
                signal_it()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STOP_GRACE):
                    await process.wait()
        await process.wait()

    def _close_stdin(self) -> None:
        stdin = self._process.stdin
        if stdin is not None and not stdin.is_closing():
            stdin.close()

    async def _finish_tasks(self) -> None:
        """Let the pipe readers reach EOF (the child is gone), so no line is lost."""
        for task in self._tasks:
            try:
                async with asyncio.timeout(STOP_GRACE):
                    await task
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._tasks.clear()
        stdin = self._process.stdin
        if stdin is not None:
            with contextlib.suppress(OSError):
                await stdin.wait_closed()

    # -- pipe readers -----------------------------------------------------------------

    async def _read_urls(self) -> bool:
        """Read stdout until both URLs are known (True) or the child ends it (False)."""
        stdout = self._process.stdout
        assert stdout is not None
        async with contextlib.aclosing(_lines(stdout)) as lines:
            while not self._ready():
                line = await anext(lines, None)
                if line is None:
                    return False
                if line.startswith("ws://"):
                    self._ws_url = line
                elif line.startswith("mqtt://"):
                    self._tcp_url = line
                elif line.startswith("wss://"):
                    self._wss_url = line
                elif line.startswith("mqtts://"):
                    self._mqtts_url = line
                elif line.startswith(CA_LINE):
                    self._ca_file = line[len(CA_LINE) :]
                else:
                    log.info("%s", line)
        return True

    def _ready(self) -> bool:
        """Every URL the child was asked for is known (and the CA file, with TLS)."""
        known = self._ws_url is not None and self._tcp_url is not None
        if self._tls:
            known = known and None not in (self._wss_url, self._mqtts_url, self._ca_file)
        return known

    async def _watch_exit(self) -> None:
        code = await self._process.wait()
        if self._stopping is None:
            log.error("the embedded broker process exited unexpectedly (code %s)", code)
            if self._on_exit is not None:
                self._on_exit(code)

    async def _drain_stdout(self, stdout: asyncio.StreamReader) -> None:
        async for line in _lines(stdout):
            log.info("%s", line)

    async def _read_stderr(self, stderr: asyncio.StreamReader) -> None:
        async for line in _lines(stderr):
            self._stderr_lines.append(line)
            level, message = _parse_log_line(line)
            if log.isEnabledFor(level):
                log.log(level, "%s", message)
