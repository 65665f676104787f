"""TLS failures, each produced by a real TLS server (Python's ssl or nginx) on loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from explorer.client.options import TlsOptions
from tests.diagnose.servers import Nginx, Pki, free_port, raw_server, run_probe


async def _http_404(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    await writer.drain()


@pytest.mark.parametrize(
    ("kind", "cause"),
    [
        ("self-signed", "tls-untrusted-certificate"),
        ("unknown-ca", "tls-untrusted-certificate"),
        ("wrong-host", "tls-hostname-mismatch"),
        ("expired", "tls-certificate-expired"),
        ("not-yet-valid", "tls-certificate-not-yet-valid"),
        ("incomplete-chain", "tls-incomplete-chain"),
    ],
)
async def test_bad_server_certificates_are_named(pki: Pki, kind: str, cause: str) -> None:
    async with raw_server(_http_404, ssl_context=pki.server_context(kind)) as port:
        diagnosis = await run_probe(f"wss://127.0.0.1:{port}/mqtt", tls=TlsOptions(ca_file=pki.ca_file))
    assert (diagnosis.layer, diagnosis.cause) == ("tls", cause), diagnosis.observed
    assert diagnosis.observed["tls_error"]


async def test_incomplete_chain_reports_what_the_server_sent(pki: Pki) -> None:
    async with raw_server(_http_404, ssl_context=pki.server_context("incomplete-chain")) as port:
        diagnosis = await run_probe(f"wss://127.0.0.1:{port}/mqtt", tls=TlsOptions(ca_file=pki.ca_file))
    assert diagnosis.observed["chain_length"] == "1"


async def test_a_trusted_certificate_passes_tls_and_reaches_http(pki: Pki) -> None:
    async with raw_server(_http_404, ssl_context=pki.server_context("good")) as port:
        diagnosis = await run_probe(f"wss://127.0.0.1:{port}/mqtt", tls=TlsOptions(ca_file=pki.ca_file))
    assert [step.layer for step in diagnosis.steps if step.ok] == ["dns", "tcp", "tls"]
    assert diagnosis.cause == "http-not-found"


async def test_insecure_skips_verification_of_a_self_signed_server(pki: Pki) -> None:
    async with raw_server(_http_404, ssl_context=pki.server_context("self-signed")) as port:
        diagnosis = await run_probe(f"wss://127.0.0.1:{port}/mqtt", tls=TlsOptions(insecure=True))
    assert diagnosis.cause == "http-not-found"
    assert "not verified" in diagnosis.steps[2].detail


async def test_tls13_server_requiring_a_client_certificate_is_named(pki: Pki) -> None:
    context = pki.server_context("good", require_client_cert=True)
    async with raw_server(_http_404, ssl_context=context) as port:
        diagnosis = await run_probe(f"wss://127.0.0.1:{port}/mqtt", tls=TlsOptions(ca_file=pki.ca_file))
        cert, key = pki.client_files()
        with_cert = await run_probe(
            f"wss://127.0.0.1:{port}/mqtt", tls=TlsOptions(ca_file=pki.ca_file, cert_file=cert, key_file=key)
        )
    assert (diagnosis.layer, diagnosis.cause) == ("tls", "tls-client-certificate-required")
    assert with_cert.cause == "http-not-found"


def _tls_server(port: int, cert: str, key: str, extra: str, location: str) -> str:
    return (
        f"server {{ listen 127.0.0.1:{port} ssl; ssl_certificate {cert}; ssl_certificate_key {key};"
        f" {extra} location / {{ {location} }} }}"
    )


async def test_nginx_requiring_a_client_certificate_is_named(tmp_path: Path, pki: Pki) -> None:
    port = free_port()
    cert, key = pki.server_files("good")
    block = _tls_server(
        port, cert, key, f"ssl_verify_client on; ssl_client_certificate {pki.ca_file};", "return 404;"
    )
    with Nginx(tmp_path / "nginx", block, [port]):
        diagnosis = await run_probe(f"wss://127.0.0.1:{port}/mqtt", tls=TlsOptions(ca_file=pki.ca_file))
    assert (diagnosis.layer, diagnosis.cause) == ("tls", "tls-client-certificate-required")


async def test_nginx_with_an_expired_certificate_is_named(tmp_path: Path, pki: Pki) -> None:
    port = free_port()
    cert, key = pki.server_files("expired")
    with Nginx(tmp_path / "nginx", _tls_server(port, cert, key, "", "return 404;"), [port]):
        diagnosis = await run_probe(f"wss://127.0.0.1:{port}/mqtt", tls=TlsOptions(ca_file=pki.ca_file))
    assert (diagnosis.layer, diagnosis.cause) == ("tls", "tls-certificate-expired")


async def test_nginx_terminating_tls_for_the_broker_passes_every_layer(tmp_path: Path, pki: Pki) -> None:
    port = free_port()
    cert, key = pki.server_files("good")
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as broker:
        proxy = (
            f"proxy_pass http://127.0.0.1:{broker.ws_port}; proxy_http_version 1.1;"
            ' proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade";'
        )
        with Nginx(tmp_path / "nginx", _tls_server(port, cert, key, "", proxy), [port]):
            diagnosis = await run_probe(f"wss://127.0.0.1:{port}/mqtt", tls=TlsOptions(ca_file=pki.ca_file))
    assert diagnosis.ok, diagnosis.explanation
    assert diagnosis.observed["tls_alpn"] == "http/1.1"
