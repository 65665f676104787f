"""The cause table: complete, consistent, and the docs generated from it are current."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest

from explorer.diagnose.causes import CAUSES, CLOSE_CODE_CAUSES, connack_slug, render
from explorer.diagnose.docs import render_markdown
from explorer.diagnose.model import LAYERS, Alternative, Diagnosis, Step
from explorer.mqtt.enums import ConnackReasonCode, ConnectReturnCode, ProtocolVersion

ROOT = Path(__file__).resolve().parents[2]
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def test_every_slug_is_kebab_case_and_keyed_by_itself() -> None:
    for slug, entry in CAUSES.items():
        assert SLUG.match(slug), slug
        assert entry.slug == slug
        assert entry.layer in LAYERS


def test_every_template_field_is_a_plain_name() -> None:
    for entry in CAUSES.values():
        for text in (entry.explanation, entry.fix):
            for _, field, spec, conv in string.Formatter().parse(text):
                if field is not None:
                    assert field.isidentifier(), (entry.slug, field)
                    assert not spec, (entry.slug, field)
                    assert not conv, (entry.slug, field)


def test_every_refusing_v3_return_code_has_its_own_cause() -> None:
    slugs = {connack_slug(code, ProtocolVersion.V311) for code in ConnectReturnCode if code}
    assert len(slugs) == len(ConnectReturnCode) - 1
    assert slugs <= CAUSES.keys()


def test_every_refusing_v5_reason_code_is_named_after_its_code() -> None:
    for code in ConnackReasonCode:
        if code == ConnackReasonCode.SUCCESS:
            continue
        slug = connack_slug(code, ProtocolVersion.V5)
        assert slug in CAUSES
        assert CAUSES[slug].layer == "mqtt"
        name = code.name.lower().replace("_", "-").replace("user-name", "username")
        assert slug == f"connack-{name}"


def test_close_codes_after_the_handshake_map_to_websocket_causes() -> None:
    assert set(CLOSE_CODE_CAUSES) == {1002, 1003, 1007, 1008, 1009, 1011}
    for slug in CLOSE_CODE_CAUSES.values():
        assert CAUSES[slug].layer == "websocket"


def test_render_fills_observed_values_and_marks_missing_ones() -> None:
    explanation, fix = render("http-redirect", {"status_line": "HTTP/1.1 301 Moved", "location": "/x"})
    assert "HTTP/1.1 301 Moved" in explanation
    assert "/x" in explanation
    assert "?" in fix  # location_url was not observed


def test_diagnosis_serialises_to_json_with_every_documented_key() -> None:
    diagnosis = Diagnosis(
        ok=False,
        layer="http",
        cause="http-not-found",
        explanation="e",
        fix="f",
        observed={"status_line": "HTTP/1.1 404 Not Found"},
        steps=[Step("dns", True, 1.234, "ok")],
        alternatives=[Alternative("path /mqtt", {"url": "ws://h:1/mqtt"}, True, "connected")],
    )
    data = json.loads(diagnosis.to_json())
    assert {"ok", "layer", "cause", "explanation", "fix", "observed", "steps", "alternatives"} <= data.keys()
    assert data["steps"][0] == {"layer": "dns", "ok": True, "duration_ms": 1.2, "detail": "ok"}
    assert data["alternatives"][0]["options_changed"] == {"url": "ws://h:1/mqtt"}


def test_docs_list_every_cause_and_match_the_table() -> None:
    committed = (ROOT / "docs" / "diagnose.md").read_text(encoding="utf-8")
    assert committed == render_markdown(), "regenerate: python -m explorer.diagnose.docs > docs/diagnose.md"
    for slug in CAUSES:
        assert f"`{slug}`" in committed


@pytest.mark.parametrize("slug", sorted(CAUSES))
def test_every_cause_has_a_title_explanation_and_fix(slug: str) -> None:
    entry = CAUSES[slug]
    assert entry.title
    assert entry.explanation.endswith(".")
    assert entry.fix.endswith(".")


def test_every_non_connack_cause_is_asserted_by_a_test_against_a_real_server() -> None:
    # CONNACK causes are covered by the tests parametrised over every reason code;
    # "connection-lost" is the safety net for a write that races a reset, which no server
    # can be made to produce on cue.
    sources = "".join(
        path.read_text(encoding="utf-8")
        for path in Path(__file__).parent.glob("test_*.py")
        if path.name != Path(__file__).name
    )
    missing = [
        slug
        for slug in CAUSES
        if not slug.startswith("connack-")
        and slug not in ("connected", "connection-lost")
        and f'"{slug}"' not in sources
    ]
    assert missing == []
