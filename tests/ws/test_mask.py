"""The WebSocket masking XOR (RFC 6455 §5.3): the C version found without importing
the websockets package gives what websockets' pure Python version gives."""

from __future__ import annotations

import random

from websockets.utils import apply_mask as python_apply_mask

from explorer.ws.mask import apply_mask


def test_the_mask_is_applied_as_websockets_applies_it() -> None:
    rng = random.Random(5)
    for size in [0, 1, 3, 4, 5, 7, 8, 63, 64, 125, 126, 1000, 65536 + 3]:
        data = rng.randbytes(size)
        key = rng.randbytes(4)
        masked = apply_mask(data, key)
        assert masked == python_apply_mask(data, key)
        assert apply_mask(masked, key) == data  # the XOR undoes itself
