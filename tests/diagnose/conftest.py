"""Shared fixtures for the diagnoser's tests."""

from __future__ import annotations

import pytest

from tests.diagnose.servers import Pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Certificates made once per test module (trustme)."""
    return Pki(tmp_path_factory.mktemp("pki"))
