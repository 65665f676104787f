"""HTTP upgrade failures, produced by nginx as a reverse proxy in front of the embedded broker."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection

from explorer.broker.config import BrokerConfig
from explorer.broker.faults import parse_faults
from explorer.broker.server import Broker
from explorer.diagnose import Diagnosis
from tests.diagnose.servers import Nginx, free_port, raw_server, run_probe, ws_server

UPGRADE = (
    'proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade";'
)


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as running:
        yield running


def _server(port: int, locations: str, extra: str = "") -> str:
    return f"server {{ listen 127.0.0.1:{port}; {extra} {locations} }}"


async def _probe_nginx(tmp_path: Path, locations: str, path: str = "/mqtt", **changes: Any) -> Diagnosis:
    port = free_port()
    with Nginx(tmp_path / "nginx", _server(port, locations), [port]):
        return await run_probe(f"ws://127.0.0.1:{port}{path}", **changes)


async def test_nginx_without_the_path_is_a_wrong_path(tmp_path: Path, broker: Broker) -> None:
    locations = f"location /mqtt {{ proxy_pass http://127.0.0.1:{broker.ws_port}; {UPGRADE} }}"
    diagnosis = await _probe_nginx(tmp_path, locations, "/ws")
    assert (diagnosis.layer, diagnosis.cause) == ("http", "http-not-found")
    assert diagnosis.observed["status_line"] == "HTTP/1.1 404 Not Found"


async def test_embedded_broker_on_another_path_is_a_wrong_path(broker: Broker) -> None:
    diagnosis = await run_probe(f"ws://127.0.0.1:{broker.ws_port}/ws")
    assert (diagnosis.layer, diagnosis.cause) == ("http", "http-not-found")


async def test_nginx_that_does_not_forward_upgrade_to_the_broker_is_named(
    tmp_path: Path, broker: Broker
) -> None:
    locations = f"location /mqtt {{ proxy_pass http://127.0.0.1:{broker.ws_port}; }}"
    diagnosis = await _probe_nginx(tmp_path, locations)
    assert (diagnosis.layer, diagnosis.cause) == ("http", "upgrade-not-forwarded")
    assert " 505 " in diagnosis.observed["status_line"]
    assert "HTTP/1.0" in diagnosis.explanation


async def test_nginx_that_does_not_forward_upgrade_to_a_websockets_server_is_named(tmp_path: Path) -> None:
    async def accept(ws: ServerConnection) -> None:
        return None

    async with ws_server(accept) as backend:
        # HTTP/1.1 upstream, Connection left as nginx's "close": websockets answers 426.
        locations = f"location /mqtt {{ proxy_pass http://127.0.0.1:{backend}; proxy_http_version 1.1; }}"
        diagnosis = await _probe_nginx(tmp_path, locations)
    assert (diagnosis.layer, diagnosis.cause) == ("http", "upgrade-not-forwarded")
    assert " 426 " in diagnosis.observed["status_line"]
    assert diagnosis.observed["proxy_evidence"].startswith(
        "the answer comes from a reverse proxy, Server: nginx"
    )
    # Other paths were tried first: nginx refuses them all, so the path is not the problem.
    assert diagnosis.observed["paths_tried"] == "/mqtt, /ws, /, /mqtt/"


async def test_nginx_basic_auth_is_named_with_its_challenge(tmp_path: Path, broker: Broker) -> None:
    digest = base64.b64encode(hashlib.sha1(b"s3cret").digest()).decode()
    users = tmp_path / "htpasswd"
    users.write_text(f"probe:{{SHA}}{digest}\n")
    locations = (
        f'location /mqtt {{ auth_basic "broker area"; auth_basic_user_file {users};'
        f" proxy_pass http://127.0.0.1:{broker.ws_port}; {UPGRADE} }}"
    )
    port = free_port()
    with Nginx(tmp_path / "nginx", _server(port, locations), [port]):
        refused = await run_probe(f"ws://127.0.0.1:{port}/mqtt")
        admitted = await run_probe(
            f"ws://127.0.0.1:{port}/mqtt", http_username="probe", http_password="s3cret"
        )
    assert (refused.layer, refused.cause) == ("http", "http-unauthorized")
    assert refused.observed["www_authenticate"] == 'Basic realm="broker area"'
    assert admitted.ok, admitted.explanation
    assert "s3cret" not in admitted.to_json()


async def test_nginx_deny_is_forbidden(tmp_path: Path) -> None:
    diagnosis = await _probe_nginx(tmp_path, "location / { deny all; }")
    assert (diagnosis.layer, diagnosis.cause) == ("http", "http-forbidden")


async def test_broker_allowing_other_origins_is_forbidden_origin() -> None:
    faults = parse_faults(["origin-allow=https://app.example.com"])
    async with Broker(BrokerConfig.ephemeral(sys_interval=0, faults=faults)) as broker:
        diagnosis = await run_probe(
            f"ws://127.0.0.1:{broker.ws_port}/mqtt", origin="https://evil.example.com"
        )
        allowed = await run_probe(f"ws://127.0.0.1:{broker.ws_port}/mqtt", origin="https://app.example.com")
    assert (diagnosis.layer, diagnosis.cause) == ("http", "http-forbidden-origin")
    assert diagnosis.observed["origin_sent"] == "https://evil.example.com"
    assert allowed.ok, allowed.explanation


async def test_nginx_with_a_dead_backend_is_upstream_unavailable(tmp_path: Path) -> None:
    dead = free_port()
    diagnosis = await _probe_nginx(
        tmp_path, f"location / {{ proxy_pass http://127.0.0.1:{dead}; {UPGRADE} }}"
    )
    assert (diagnosis.layer, diagnosis.cause) == ("http", "http-upstream-unavailable")
    assert " 502 " in diagnosis.observed["status_line"]


async def test_nginx_timing_out_on_a_silent_backend_is_upstream_unavailable(tmp_path: Path) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    async with raw_server(silent) as backend:
        locations = (
            f"location / {{ proxy_pass http://127.0.0.1:{backend}; proxy_read_timeout 1s; {UPGRADE} }}"
        )
        diagnosis = await _probe_nginx(tmp_path, locations, handshake_timeout=5.0)
    assert (diagnosis.layer, diagnosis.cause) == ("http", "http-upstream-unavailable")
    assert " 504 " in diagnosis.observed["status_line"]


async def test_nginx_maintenance_503_is_upstream_unavailable(tmp_path: Path) -> None:
    diagnosis = await _probe_nginx(tmp_path, "location / { return 503; }")
    assert diagnosis.cause == "http-upstream-unavailable"


async def test_nginx_web_page_is_not_a_websocket_endpoint(tmp_path: Path) -> None:
    page = 'location / { default_type text/html; return 200 "<!doctype html><title>Dashboard</title>"; }'
    diagnosis = await _probe_nginx(tmp_path, page)
    assert (diagnosis.layer, diagnosis.cause) == ("http", "http-web-page")
    assert diagnosis.observed["content_type"] == "text/html"


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_nginx_redirects_are_named_with_their_location(tmp_path: Path, status: int) -> None:
    locations = f"location / {{ return {status} https://broker.example.com/mqtt; }}"
    diagnosis = await _probe_nginx(tmp_path, locations)
    assert (diagnosis.layer, diagnosis.cause) == ("http", "http-redirect")
    assert diagnosis.observed["location"] == "https://broker.example.com/mqtt"
    assert diagnosis.observed["location_url"] == "wss://broker.example.com/mqtt"
    assert "do not follow redirects" in diagnosis.explanation


async def test_nginx_proxy_read_timeout_shorter_than_keep_alive_is_an_idle_drop(
    tmp_path: Path, broker: Broker
) -> None:
    locations = (
        f"location /mqtt {{ proxy_pass http://127.0.0.1:{broker.ws_port}; {UPGRADE} proxy_read_timeout 1s; }}"
    )
    diagnosis = await _probe_nginx(tmp_path, locations, idle=4.0)
    assert (diagnosis.layer, diagnosis.cause) == ("liveness", "liveness-idle-drop")
    assert float(diagnosis.observed["idle_seconds"]) < 4.0
