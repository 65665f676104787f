"""What both front ends offer when the user exports: the kinds, the default file, the suffix rules.

The writers are the Workspace's (``export_trace`` / ``export_messages``); this module only
decides names. A default name carries the time (``mqttws-trace-20261205-152300.pcapng``) so an
export never lands on an earlier one by default, and the default folder is the user's
documents folder (the home folder when there is none), not wherever the app was started.
Changing the kind changes the file's suffix when the suffix was the previous kind's.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["EXPORT_KINDS", "ExportKind", "default_export_dir", "default_export_path", "path_for_kind"]


@dataclass(frozen=True, slots=True)
class ExportKind:
    """One thing the user can export, in one format."""

    id: str
    label: str
    what: Literal["trace", "messages"]
    format: Literal["pcapng", "jsonl", "csv"]

    @property
    def suffix(self) -> str:
        return f".{self.format}"

    @property
    def file_filter(self) -> str:
        """A file dialog's filter, e.g. ``pcapng capture (*.pcapng)``."""
        names = {"pcapng": "pcapng capture", "jsonl": "JSON lines", "csv": "CSV"}
        return f"{names[self.format]} (*{self.suffix})"


EXPORT_KINDS: dict[str, ExportKind] = {
    kind.id: kind
    for kind in (
        ExportKind("trace-pcapng", "Trace as pcapng (Wireshark)", "trace", "pcapng"),
        ExportKind("trace-jsonl", "Trace as JSON lines", "trace", "jsonl"),
        ExportKind("messages-jsonl", "Messages as JSON lines", "messages", "jsonl"),
        ExportKind("messages-csv", "Messages as CSV", "messages", "csv"),
    )
}


def default_export_dir(home: Path | None = None) -> Path:
    """The user's documents folder if it exists, else the home folder."""
    base = Path.home() if home is None else home
    try:
        from platformdirs import user_documents_dir

        documents = Path(user_documents_dir()) if home is None else base / "Documents"
    except Exception:  # platformdirs may fail to read a broken user-dirs.dirs
        documents = base / "Documents"
    return documents if documents.is_dir() else base


def default_export_path(kind: ExportKind, directory: Path, now: datetime.datetime | None = None) -> Path:
    """``DIR/mqttws-<what>-<local time>.<format>``."""
    stamp = (now or datetime.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return directory / f"mqttws-{kind.what}-{stamp}{kind.suffix}"


def path_for_kind(path: Path, previous: ExportKind, new: ExportKind) -> Path:
    """The path after switching from ``previous`` to ``new``: its suffix follows when it was the old one's.

    ``session.pcapng`` becomes ``session.csv``; a name the user gave another suffix is kept.
    """
    if path.suffix == previous.suffix or not path.suffix:
        return path.with_suffix(new.suffix)
    return path
