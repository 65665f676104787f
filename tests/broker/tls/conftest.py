"""The TLS tests keep the broker's certificates in a fresh data directory of their own."""

from __future__ import annotations

from pathlib import Path

import pytest

from explorer.broker.tlscerts import DATA_DIR_ENV


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``$MQTTWS_DATA_DIR`` for this test (the broker and its child processes use it)."""
    path = tmp_path / "data"
    monkeypatch.setenv(DATA_DIR_ENV, str(path))
    return path
