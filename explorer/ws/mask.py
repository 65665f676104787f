"""``apply_mask``: the WebSocket masking XOR (RFC 6455 §5.3), in C when available.

What belongs here: finding websockets' C implementation (``websockets.speedups``) and
the fallbacks. Importing ``websockets.speedups`` the usual way runs the package's
``__init__``, whose version module imports ``importlib.metadata`` and with it the
``email`` package, sockets, zip files and more: some 30 ms of start-up that ``decode``,
which needs nothing else from websockets, would pay on every run. So the extension
is loaded from the package's directory on its own (it imports nothing itself), under
its usual name; where that fails, the usual import, and last the pure Python version.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Callable

__all__ = ["apply_mask"]

_NAME = "websockets.speedups"


def _load_speedups() -> Callable[[bytes, bytes], bytes] | None:
    """websockets' C ``apply_mask``, loaded without the websockets package; ``None``
    when it is not there."""
    loaded = sys.modules.get(_NAME)
    if loaded is not None:
        return loaded.apply_mask  # type: ignore[no-any-return]
    package = importlib.machinery.PathFinder.find_spec("websockets")
    if package is None:
        return None
    for location in package.submodule_search_locations or ():
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = os.path.join(location, "speedups" + suffix)
            if not os.path.isfile(path):
                continue
            loader = importlib.machinery.ExtensionFileLoader(_NAME, path)
            spec = importlib.util.spec_from_loader(_NAME, loader, origin=path)
            if spec is None:
                return None
            module = importlib.util.module_from_spec(spec)
            loader.exec_module(module)
            sys.modules[_NAME] = module  # one copy, also for a later ``import websockets.speedups``
            return module.apply_mask  # type: ignore[no-any-return]
    return None


def _find() -> Callable[[bytes, bytes], bytes]:
    try:
        found = _load_speedups()
    except (ImportError, OSError):
        found = None
    if found is not None:
        return found
    try:
        from websockets.speedups import apply_mask as usual
    except ImportError:  # pragma: no cover - the C extension is missing on some platforms
        from websockets.utils import apply_mask as usual
    return usual


apply_mask: Callable[[bytes, bytes], bytes] = _find()
"""``apply_mask(data, mask)``: ``data`` XOR the 4-byte ``mask`` repeated (RFC 6455 §5.3)."""
