"""The profiles' files on disk: bounded reads, an advisory lock, atomic private writes.

* **Bounded reads.** A profiles file or an import is read in chunks up to
  :data:`MAX_FILE_SIZE`, so a device (``/dev/zero``) or a huge file is refused, not read.
* **Writes are atomic.** A temp file in the same directory (mode 0600), fsync,
  ``os.replace``, fsync of the directory: a crash leaves the old file or the new one,
  never half of one.
* **One writer at a time.** An advisory ``flock`` on ``.profiles.lock`` beside the file
  serialises read-modify-write cycles between processes (the CLI next to the GUI).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from explorer.errors import ProfileError

__all__ = ["MAX_FILE_SIZE", "locked", "read_bounded", "read_text_file", "write_atomic"]

MAX_FILE_SIZE = 16 * 1024 * 1024
"""Profile files and imports larger than this are refused (a profile is a few hundred bytes;
an MQTT Explorer settings file with embedded certificates a few hundred KiB)."""


def read_bounded(handle: BinaryIO, limit: int) -> bytes:
    """At most ``limit`` bytes from ``handle``, in chunks: ``read(limit)`` allocates ``limit`` at once."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = handle.read(min(1 << 16, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def read_text_file(path: Path, *, encoding: str = "utf-8", limit: int = MAX_FILE_SIZE) -> str:
    """The text of ``path``, read in bounded size so a device or a huge file is refused, not read.

    Raises:
        FileNotFoundError: no such file (the caller decides whether that is an error).
        ProfileError: unreadable, larger than ``limit``, or not text in ``encoding``.
    """
    try:
        with open(path, "rb") as handle:
            data = read_bounded(handle, limit + 1)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ProfileError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise ProfileError(f"{path} is larger than {limit // (1024 * 1024)} MiB: not a profiles file")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ProfileError(
            f"cannot read {path}: it is not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the advisory lock of the profiles file ``path`` (``.profiles.lock`` beside it).

    The profiles file itself cannot carry the lock because every write replaces it. Not
    nested. Without ``fcntl`` (not POSIX) the atomic replace still prevents torn files.
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(directory / ".profiles.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise ProfileError(f"cannot write {path}: {exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8, mode 0600) atomically and durably.

    Raises:
        ProfileError: the directory or the file cannot be written.
    """
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".profiles-", suffix=".tmp", dir=directory)  # mode 0600
    except OSError as exc:
        raise ProfileError(f"cannot write {path}: {exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ProfileError(f"cannot write {path}: {exc}") from None
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    except OSError:
        pass
    finally:
        os.close(dir_fd)
