"""Where the reference capture lives, and the rule for skipping without it.

``shared/captures/`` sits next to the repository (CI clones the repository with
``shared/`` beside it). Outside CI a missing folder skips the tests that need it; in CI
those tests run and fail loudly instead (and ``test_reference_present`` says why).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CAPTURES = Path(__file__).resolve().parents[1].parent / "shared" / "captures"
SMALL_PCAPNG = CAPTURES / "small.pcapng"
SMALL_GOLDEN = CAPTURES / "small.golden.json"


def needs_reference() -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        not SMALL_PCAPNG.exists() and os.environ.get("CI") != "true",
        reason="shared/captures is not next to the repository",
    )
