from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from explorer.cli.frontend import add_frontend_arguments, resolve_frontend_start
from explorer.errors import ExplorerError
from explorer.mqtt.enums import ProtocolVersion


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_frontend_arguments(parser)
    return parser.parse_args(argv)


def test_no_url_and_no_profile_means_the_embedded_broker() -> None:
    start = resolve_frontend_start(_args())
    assert start.options is None
    assert start.subscriptions is None
    assert start.profile_name is None


def test_url_with_flags_and_filters() -> None:
    start = resolve_frontend_start(
        _args("ws://127.0.0.1:9001/mqtt", "-t", "a/#", "-t", "b", "--mqtt-version", "5")
    )
    assert start.options is not None
    assert start.options.url == "ws://127.0.0.1:9001/mqtt"
    assert start.options.mqtt_version == ProtocolVersion.V5
    assert start.subscriptions == (("a/#", 0), ("b", 0))


def test_a_bad_url_is_a_sentence_before_anything_opens() -> None:
    with pytest.raises(ExplorerError, match="not a broker URL"):
        resolve_frontend_start(_args("localhost:1883"))


def test_profile_subscriptions_are_used_without_t(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MQTTWS_CONFIG_DIR", str(tmp_path))
    (tmp_path / "profiles.toml").write_text(
        'version = 1\n\n[profiles.lab]\nurl = "ws://127.0.0.1:9001/mqtt"\n\n'
        '[[profiles.lab.subscriptions]]\ntopic = "lab/#"\nqos = 1\n'
    )
    start = resolve_frontend_start(_args("--profile", "lab"))
    assert start.options is not None
    assert start.options.url == "ws://127.0.0.1:9001/mqtt"
    assert start.subscriptions == (("lab/#", 1),)
    assert start.profile_name == "lab"
