"""The TLS fault modes: each reproduces one failure seen in the field, the client says
what went wrong in one line, and ``probe`` names the cause.

The broker trusts nothing special here: every client is given the local CA with
``--ca``, as a user following the broker's instructions would, so what fails is the
fault itself (an expired or misnamed certificate, a chain missing its intermediate, a
certificate the CA never issued, a demand for a client certificate, or no TLS at all).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.faults import parse_faults
from explorer.broker.server import Broker
from explorer.client.driver import MqttClient
from explorer.client.options import ConnectionOptions, TlsOptions
from explorer.errors import ConnectionFailed

# fault mode -> (what the client says, the cause probe names)
FAULTS = {
    "tls-expired": (
        "TLS certificate verification failed for 127.0.0.1: certificate has expired",
        "tls-certificate-expired",
    ),
    "tls-wrong-host": (
        "TLS certificate verification failed for 127.0.0.1: IP address mismatch, "
        "certificate is not valid for '127.0.0.1'.",
        "tls-hostname-mismatch",
    ),
    "tls-incomplete-chain": (
        "TLS certificate verification failed for 127.0.0.1: unable to get local issuer certificate",
        "tls-incomplete-chain",
    ),
    "tls-self-signed": (
        "TLS certificate verification failed for 127.0.0.1: self-signed certificate",
        "tls-untrusted-certificate",
    ),
    "tls-client-cert-required": (
        "the broker refused the TLS connection (TLSV13_ALERT_CERTIFICATE_REQUIRED): "
        "it requires a client certificate, give --cert and --key",
        "tls-client-certificate-required",
    ),
    "tls-plaintext": (
        "TLS handshake with 127.0.0.1:{port} failed: WRONG_VERSION_NUMBER "
        "(the server does not speak TLS on this port: try ws:// or mqtt://)",
        "tls-to-plaintext-port",
    ),
}


async def _broker(fault: str) -> AsyncIterator[Broker]:
    config = BrokerConfig.ephemeral(sys_interval=0, tls=True, faults=parse_faults([fault]))
    async with Broker(config) as running:
        yield running


@pytest.fixture(params=list(FAULTS))
async def faulty(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, Broker]]:
    async for broker in _broker(request.param):
        yield request.param, broker


def _urls(broker: Broker) -> list[tuple[str, int]]:
    assert broker.wss_url is not None
    assert broker.mqtts_url is not None
    assert broker.wss_port is not None
    assert broker.mqtts_port is not None
    return [(broker.wss_url, broker.wss_port), (broker.mqtts_url, broker.mqtts_port)]


async def test_client_says_what_failed(faulty: tuple[str, Broker]) -> None:
    fault, broker = faulty
    assert broker.ca_file is not None
    for url, port in _urls(broker):
        client = MqttClient(ConnectionOptions(url=url, tls=TlsOptions(ca_file=broker.ca_file)))
        with pytest.raises(ConnectionFailed) as info:
            await client.connect()
        message = str(info.value)
        if fault == "tls-plaintext" and url.startswith("mqtts:"):
            # The broker reads the ClientHello as a malformed CONNECT and drops the connection.
            assert message.startswith(f"the connection to 127.0.0.1:{port} closed during the TLS handshake")
            assert message.endswith("does the server speak TLS on this port?")
            continue
        assert message == FAULTS[fault][0].format(port=port), url


async def test_probe_names_the_cause(faulty: tuple[str, Broker]) -> None:
    fault, broker = faulty
    assert broker.ca_file is not None
    for url, _port in _urls(broker):
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "explorer",
            "probe",
            url,
            "--ca",
            broker.ca_file,
            "--json",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode != 0, url
        assert json.loads(out)["cause"] == FAULTS[fault][1], (url, out, err)


async def test_client_certificate_issued_by_the_local_ca_is_accepted() -> None:
    async for broker in _broker("tls-client-cert-required"):
        files = broker.tls_files
        assert files is not None
        assert files.client_cert_file is not None
        assert files.client_key_file is not None
        tls = TlsOptions(
            ca_file=broker.ca_file, cert_file=str(files.client_cert_file), key_file=str(files.client_key_file)
        )
        for url, _port in _urls(broker):
            client = MqttClient(ConnectionOptions(url=url, tls=tls))
            await client.connect()
            await client.subscribe("mtls/#", qos=1)
            await client.publish("mtls/ok", b"with a client certificate", qos=1)
            async with asyncio.timeout(30):
                message = await anext(client.messages())
            await client.close()
            assert message.payload == b"with a client certificate"
