"""A 400 to the upgrade from aedes on Node's ``ws``: a wrong path, not a proxy.

Node's ``ws`` server with a ``path`` option answers ``400 Bad Request`` to an upgrade on
any other path, with no proxy anywhere; the probe must find the path that works, and
without one it must not claim a proxy that nothing in the answer shows.
"""

from __future__ import annotations

from tests.diagnose.servers import aedes_server, run_probe


async def test_aedes_on_a_wrong_path_is_a_wrong_path_naming_the_working_one() -> None:
    async with aedes_server("/mqtt") as port:
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/ws")
    assert (diagnosis.layer, diagnosis.cause) == ("http", "http-wrong-path")
    assert diagnosis.observed["status_line"] == "HTTP/1.1 400 Bad Request"
    assert diagnosis.observed["working_path"] == "/mqtt"
    assert f"ws://127.0.0.1:{port}/mqtt" in diagnosis.fix
    assert "proxy" not in diagnosis.explanation.lower()


async def test_aedes_on_an_uncommon_path_is_a_refused_upgrade_not_a_proxy() -> None:
    async with aedes_server("/broker/socket") as port:
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt")
        direct = await run_probe(f"ws://127.0.0.1:{port}/broker/socket")
    assert direct.ok, direct.explanation
    assert (diagnosis.layer, diagnosis.cause) == ("http", "http-upgrade-refused")
    assert "HTTP/1.1 400 Bad Request" in diagnosis.explanation
    assert diagnosis.observed["paths_tried"] == "/mqtt, /ws, /, /mqtt/"
    assert "proxy_evidence" not in diagnosis.observed
