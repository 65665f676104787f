"""The diagnosis report: one set of sentences for the CLI, the TUI and the GUI.

Verdicts come from real probes of the embedded broker over loopback (a wrong path, a
refused CONNECT, a good URL); the report is checked against the one table of causes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from explorer.broker.config import BrokerConfig
from explorer.broker.faults import parse_faults
from explorer.broker.server import Broker
from explorer.cli.probe import format_diagnosis
from explorer.client.options import ConnectionOptions
from explorer.diagnose import CAUSES, diagnose
from explorer.diagnose.model import Alternative, Diagnosis
from explorer.errors import ExplorerError
from explorer.mqtt.enums import ProtocolVersion
from explorer.present.diagnosis import ConnectOffer, diagnosis_report, step_rows
from explorer.present.status import Severity


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as b:
        yield b


def _wrong_path(broker: Broker) -> str:
    assert broker.ws_url is not None
    return broker.ws_url.rsplit("/", 1)[0] + "/wrong"


async def test_a_failure_names_the_cause_title_and_the_fix(broker: Broker) -> None:
    diagnosis = await diagnose(ConnectionOptions(url=_wrong_path(broker)))
    report = diagnosis_report(diagnosis)
    assert not report.ok
    title = CAUSES[diagnosis.cause].title
    assert report.title == title
    assert report.verdict == f"Fails at the HTTP upgrade layer: {title}"
    assert diagnosis.cause not in report.verdict  # the slug is for scripts, not for the verdict
    assert report.fix == diagnosis.fix
    assert report.severity is Severity.ERROR
    assert report.hint.startswith("Try alternatives")
    assert report.offers == ()
    # The CLI prints the same title, explanation and fix.
    printed = format_diagnosis(diagnosis)
    assert title in printed
    assert report.explanation in printed
    assert f"Fix: {report.fix}" in printed


async def test_explored_alternatives_offer_connect_with_this(broker: Broker) -> None:
    options = ConnectionOptions(url=_wrong_path(broker))
    diagnosis = await diagnose(options, explore_alternatives=True)
    report = diagnosis_report(diagnosis, explored=True)
    assert [offer.description for offer in report.offers] == ["path /mqtt"]
    offer = report.offers[0]
    assert offer.label == f"path /mqtt (url={broker.ws_url})"
    assert "Would work: path /mqtt" in report.summary
    failing = [row for row in report.alternatives if not row.ok]
    assert failing
    assert all(row.outcome.startswith("fails: ") for row in failing)
    assert all(row.slug not in row.outcome for row in failing)
    # "Connect with this" applies the change and the options then work.
    fixed = offer.apply(options)
    assert fixed.url == broker.ws_url
    assert (await diagnose(fixed)).ok
    assert f"Would work: {offer.label}" in format_diagnosis(diagnosis)


async def test_a_working_connection_has_no_fix_and_every_layer_row(broker: Broker) -> None:
    assert broker.ws_url is not None
    diagnosis = await diagnose(ConnectionOptions(url=broker.ws_url))
    report = diagnosis_report(diagnosis)
    assert report.ok
    assert report.fix is None
    assert report.verdict == "The connection works."
    assert "Fix:" not in report.text()
    rows = step_rows(diagnosis.steps, running=False, finished_at=diagnosis.layer)
    by_layer = {row.layer: row for row in rows}
    assert by_layer["tls"].detail == "not used for this URL"
    assert by_layer["tcp"].mark == "✓"
    assert by_layer["tcp"].severity is Severity.GOOD
    assert by_layer["liveness"].mark == "✓"


async def test_a_refused_connect_names_the_refusal() -> None:
    config = BrokerConfig.ephemeral(sys_interval=0, faults=parse_faults(["refuse-connect=not-authorized"]))
    async with Broker(config) as refusing:
        assert refusing.ws_url is not None
        diagnosis = await diagnose(ConnectionOptions(url=refusing.ws_url, mqtt_version=ProtocolVersion.V5))
    report = diagnosis_report(diagnosis)
    assert report.layer == "mqtt"
    assert report.verdict == f"Fails at the MQTT CONNECT layer: {CAUSES[diagnosis.cause].title}"
    assert report.fix


def test_running_rows_show_the_layer_being_checked() -> None:
    rows = step_rows([], running=True)
    assert rows[0].mark == "…"
    assert rows[0].detail == "checking"
    assert rows[0].severity is Severity.BUSY
    assert all(row.mark == "·" for row in rows[1:])


def test_offers_apply_subprotocols_and_versions_and_refuse_what_they_do_not_know() -> None:
    options = ConnectionOptions(url="ws://h:1/x")
    changed = ConnectOffer("x", (("subprotocols", "mqttv3.1, mqtt"), ("mqtt_version", "5.0"))).apply(options)
    assert changed.subprotocols == ("mqttv3.1", "mqtt")
    assert changed.mqtt_version is ProtocolVersion.V5
    assert ConnectOffer("none", (("subprotocols", "(none)"),)).apply(options).subprotocols == ()
    with pytest.raises(ExplorerError, match="cannot apply"):
        ConnectOffer("odd", (("flux", "1"),)).apply(options)


def test_no_alternative_worked_is_said_once_everywhere() -> None:
    diagnosis = Diagnosis(
        ok=False,
        layer="http",
        cause="http-not-found",
        explanation="x",
        fix="y",
        alternatives=[Alternative("path /mqtt", {"url": "ws://h:1/mqtt"}, False, "http-not-found")],
    )
    report = diagnosis_report(diagnosis, explored=True)
    assert report.hint == "None of the alternatives worked."
    assert report.alternatives[0].outcome == f"fails: {CAUSES['http-not-found'].title}"
    assert "None of the alternatives worked." in format_diagnosis(diagnosis)
