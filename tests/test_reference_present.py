from __future__ import annotations

from tests.reference import SMALL_GOLDEN, SMALL_PCAPNG, needs_reference


@needs_reference()
def test_reference_capture_and_its_ground_truth_are_next_to_the_repository() -> None:
    assert SMALL_PCAPNG.is_file(), f"{SMALL_PCAPNG} is missing"
    assert SMALL_GOLDEN.is_file(), f"{SMALL_GOLDEN} is missing"
