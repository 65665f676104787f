"""The embedded broker's child process started before the event loop exists.

A front end's first screen waits for two slow things: its own imports (the toolkit, the
views) and the broker child's interpreter start. :meth:`EarlyChild.spawn` starts the
child with plain :mod:`subprocess` at the top of the launcher, before the heavy imports,
so both happen at once; :class:`~explorer.broker.child.BrokerProcess` later takes the
running child over on the loop (:meth:`EarlyChild.adopt`) as if it had started it itself.

:class:`PipeProcess` gives the :class:`subprocess.Popen` the face of an
:class:`asyncio.subprocess.Process` (stream pipes, an awaitable ``wait``), which is all
``BrokerProcess`` uses. The child is never left behind: it shuts down when its stdin
closes, which also happens when this process dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import Sequence

__all__ = ["EarlyChild", "PipeProcess"]

_POLL_S = 0.05  # where pidfd_open is missing: how often wait() looks for the exit


class PipeProcess:
    """A running :class:`subprocess.Popen` with asyncio streams on its pipes."""

    def __init__(
        self,
        popen: subprocess.Popen[bytes],
        stdin: asyncio.StreamWriter,
        stdout: asyncio.StreamReader,
        stderr: asyncio.StreamReader,
    ) -> None:
        self._popen = popen
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self._exit: asyncio.Future[int] | None = None

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        return self._popen.poll()

    def terminate(self) -> None:
        self._popen.terminate()

    def kill(self) -> None:
        self._popen.kill()

    async def wait(self) -> int:
        """Wait for the exit without blocking the loop (a pidfd reader, else polling)."""
        code = self._popen.poll()
        if code is not None:
            return code
        if self._exit is None:
            self._exit = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().create_task(self._watch(self._exit))
        return await asyncio.shield(self._exit)

    async def _watch(self, done: asyncio.Future[int]) -> None:
        loop = asyncio.get_running_loop()
        try:
            fd = os.pidfd_open(self._popen.pid)
        except (AttributeError, OSError):
            fd = -1
        if fd >= 0:
            readable: asyncio.Future[None] = loop.create_future()

            def exited() -> None:
                if not readable.done():
                    readable.set_result(None)

            loop.add_reader(fd, exited)
            try:
                await readable
            finally:
                loop.remove_reader(fd)
                os.close(fd)
        while self._popen.poll() is None:
            await asyncio.sleep(_POLL_S)
        if not done.done():
            done.set_result(self._popen.returncode if self._popen.returncode is not None else -1)


class EarlyChild:
    """A broker child spawned before the loop; adopt it on the loop, or discard it."""

    def __init__(self, popen: subprocess.Popen[bytes], *, demo: bool, tls: bool) -> None:
        self.popen = popen
        self.demo = demo
        self.tls = tls

    @classmethod
    def spawn(cls, command: Sequence[str], env: dict[str, str], *, demo: bool, tls: bool) -> EarlyChild:
        """Start ``command`` (see :func:`explorer.broker.child.child_command`) at once.

        Raises:
            OSError: the interpreter could not be started.
        """
        popen = subprocess.Popen(
            list(command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,  # the terminal's Ctrl-C and hang-up stay away from it
        )
        return cls(popen, demo=demo, tls=tls)

    def matches(self, *, demo: bool, tls: bool) -> bool:
        """Whether this child is the broker asked for, and still running."""
        return self.demo == demo and self.tls == tls and self.popen.poll() is None

    async def adopt(self) -> PipeProcess:
        """The child as an asyncio process of the running loop."""
        loop = asyncio.get_running_loop()
        popen = self.popen
        assert popen.stdin is not None
        assert popen.stdout is not None
        assert popen.stderr is not None
        stdout = asyncio.StreamReader(loop=loop)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdout, loop=loop), popen.stdout)
        stderr = asyncio.StreamReader(loop=loop)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stderr, loop=loop), popen.stderr)
        transport, protocol = await loop.connect_write_pipe(
            lambda: asyncio.StreamReaderProtocol(asyncio.StreamReader(loop=loop), loop=loop), popen.stdin
        )
        stdin = asyncio.StreamWriter(transport, protocol, None, loop)
        return PipeProcess(popen, stdin, stdout, stderr)

    def discard(self) -> None:
        """End a child that was never adopted: its stdin closes, it shuts down."""
        popen = self.popen
        for pipe in (popen.stdin, popen.stdout, popen.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        try:
            popen.wait(timeout=3)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()
