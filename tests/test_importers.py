"""Importers: MQTTX JSON export, MQTT Explorer settings, our own export."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from explorer.client.options import ConnectionOptions
from explorer.errors import ProfileError
from explorer.mqtt.enums import ProtocolVersion, RetainHandling
from explorer.mqtt.packets import Properties, Subscription, Will
from explorer.profiles.importers import (
    apply_import,
    parse_import,
    read_import_file,
    safe_profile_name,
)
from explorer.profiles.secret_store import MemorySecretStore
from explorer.profiles.store import Profile, ProfileName, ProfileStore

FIXTURES = Path(__file__).parent / "fixtures"
MQTTX = FIXTURES / "mqttx-export.json"
MQTT_EXPLORER = FIXTURES / "mqtt-explorer-settings.json"


def _by_name(result: Any) -> dict[str, Any]:
    return {item.profile.name: item for item in result.profiles}


def test_mqttx_export_maps_every_meaningful_field(tmp_path: Path) -> None:
    result = read_import_file(MQTTX, cert_dir=tmp_path)
    assert result.format == "MQTTX"
    item = _by_name(result)["Factory-WSS"]
    options = item.profile.options
    assert options.url == "wss://broker.factory.example:8084/mqtt"
    assert options.client_id == "mqttx_8c2a41f0"
    assert options.clean_start is False
    assert options.keep_alive == 30
    assert options.connect_timeout == 5.0
    assert options.reconnect is True
    assert options.reconnect_initial_delay == 4.0
    assert options.username == "line-7"
    assert options.password == b"mqttx-fixture-secret"
    assert options.mqtt_version is ProtocolVersion.V5
    assert options.tls.insecure is True
    assert options.tls.ca_file == "/home/user/certs/factory-ca.pem"
    assert options.tls.alpn == ("mqtt",)
    assert options.session_expiry_interval == 3600
    assert options.receive_maximum == 50
    assert options.maximum_packet_size == 1048576
    assert options.topic_alias_maximum == 10
    assert options.request_response_information is True
    assert options.user_properties == (("site", "plant-a"), ("team", "ops"), ("team", "qa"))
    assert options.will == Will(
        "factory/clients/line-7",
        b"offline",
        qos=1,
        retain=True,
        properties=Properties(will_delay_interval=10),
    )
    assert item.profile.subscriptions == (
        Subscription("factory/+/temperature", qos=1),
        Subscription(
            "factory/alarms/#",
            qos=2,
            no_local=True,
            retain_as_published=True,
            retain_handling=RetainHandling.SEND_IF_NEW_SUBSCRIPTION,
        ),
    )


def test_mqttx_import_reports_what_it_skipped(tmp_path: Path) -> None:
    result = read_import_file(MQTTX, cert_dir=tmp_path)
    item = _by_name(result)["Factory-WSS"]
    skipped = "; ".join(item.skipped)
    assert "2 stored messages" in skipped
    assert "clientIdWithTime" in skipped
    assert "contentType" in skipped
    assert "alias" in skipped
    assert "color" in skipped
    assert "password (to the keyring)" in item.mapped
    assert result.warnings == [
        "MQTTX connection 'Broken' not imported: protocol 'kafka' is not ws, wss, mqtt or mqtts"
    ]


def test_mqttx_collections_are_flattened_and_tagged(tmp_path: Path) -> None:
    item = _by_name(read_import_file(MQTTX, cert_dir=tmp_path))["Local-TCP"]
    assert item.profile.options.url == "mqtt://127.0.0.1:1883"
    assert item.profile.tags == ("Local",)
    assert item.profile.options.password is None
    assert item.profile.options.will is None


def test_mqttx_single_connection_object_and_ssl_without_protocol(tmp_path: Path) -> None:
    text = json.dumps({"name": "one", "host": "h", "port": 8883, "ssl": True, "mqttVersion": "3.1.1"})
    result = parse_import(text, source="x.json", cert_dir=tmp_path)
    assert [item.profile.options.url for item in result.profiles] == ["mqtts://h:8883"]


def test_mqtt_explorer_settings_map_connections_in_order(tmp_path: Path) -> None:
    result = read_import_file(MQTT_EXPLORER, cert_dir=tmp_path / "certs")
    assert result.format == "MQTT Explorer"
    assert [item.profile.name for item in result.profiles] == [
        "Self-signed-lab",
        "test.mosquitto.org",
        "Home-Assistant-WS",
    ]
    ha = _by_name(result)["Home-Assistant-WS"]
    options = ha.profile.options
    assert options.url == "wss://ha.example.net:8884/mqtt"
    assert options.username == "ha"
    assert options.password == b"mqtt-explorer-fixture-secret"
    assert options.client_id == "explorer-desk"
    assert options.tls.insecure is False
    assert ha.profile.subscriptions == (Subscription("homeassistant/#"), Subscription("$SYS/#", qos=1))
    assert ha.profile.tags == ("favorite",)
    lab = _by_name(result)["Self-signed-lab"]
    assert lab.profile.options.url == "mqtts://10.0.0.5:8883"
    assert lab.profile.options.tls.insecure is True
    assert lab.profile.subscriptions == (Subscription("lab/#"),)  # configVersion 0: bare topics


def test_mqtt_explorer_embedded_certificates_are_written_0600_on_import_only(tmp_path: Path) -> None:
    cert_dir = tmp_path / "config" / "certs"
    result = read_import_file(MQTT_EXPLORER, cert_dir=cert_dir)
    assert not cert_dir.exists()  # reading (a dry run) writes nothing
    store = ProfileStore(tmp_path / "config" / "profiles.toml", secrets=MemorySecretStore())
    apply_import(store, result)
    options = store.get("Home-Assistant-WS").options
    settings = json.loads(MQTT_EXPLORER.read_text())["ConnectionManager_connections"]
    entry = settings["d5f3b6c2-6a3e-4b8f-9a0c-1e2f3a4b5c6d"]
    for file, key in (
        (options.tls.ca_file, "selfSignedCertificate"),
        (options.tls.cert_file, "clientCertificate"),
        (options.tls.key_file, "clientKey"),
    ):
        assert file is not None
        assert Path(file).read_bytes() == base64.b64decode(entry[key]["data"])
        assert stat.S_IMODE(os.stat(file).st_mode) == 0o600


def test_apply_import_puts_passwords_in_the_secret_store_not_the_file(tmp_path: Path) -> None:
    secrets = MemorySecretStore()
    store = ProfileStore(tmp_path / "profiles.toml", secrets=secrets)
    report = apply_import(store, read_import_file(MQTTX, cert_dir=tmp_path))
    assert report.added == ["Factory-WSS", "Local-TCP"]
    assert "mqttx-fixture-secret" not in store.path.read_text()
    assert secrets.get("profile/Factory-WSS/password") == "mqttx-fixture-secret"
    assert store.to_options(store.get("Factory-WSS")).password == b"mqttx-fixture-secret"


def test_apply_import_keeps_existing_profiles_unless_overwrite(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "profiles.toml", secrets=MemorySecretStore())
    store.add(Profile(ProfileName("Local-TCP"), ConnectionOptions(url="ws://mine/")))
    result = read_import_file(MQTTX, cert_dir=tmp_path)
    report = apply_import(store, result)
    assert report.added == ["Factory-WSS"]
    assert [name for name, _ in report.not_imported] == ["Local-TCP"]
    assert store.get("Local-TCP").options.url == "ws://mine/"
    report = apply_import(store, result, overwrite=True)
    assert report.replaced == ["Factory-WSS", "Local-TCP"]
    assert store.get("Local-TCP").options.url == "mqtt://127.0.0.1:1883"


def test_our_export_round_trips_without_secrets(tmp_path: Path) -> None:
    source = ProfileStore(tmp_path / "a.toml", secrets=MemorySecretStore())
    source.add(
        Profile(
            ProfileName("prod"),
            ConnectionOptions(
                url="wss://p/mqtt",
                username="u",
                password=b"pw",
                secret_headers=(("Authorization", "Bearer t"),),
                keep_alive=5,
            ),
            notes="n",
        )
    )
    result = parse_import(source.export(), source="export.toml", cert_dir=tmp_path)
    assert result.format == "mqttws-explorer"
    [item] = result.profiles
    assert item.profile.options.password is None
    assert item.profile.options.keep_alive == 5
    assert item.profile.notes == "n"
    assert any("MQTT password" in s for s in item.skipped)
    assert any("Authorization header" in s for s in item.skipped)


def test_our_export_with_secrets_restores_them(tmp_path: Path) -> None:
    source = ProfileStore(tmp_path / "a.toml", secrets=MemorySecretStore())
    options = ConnectionOptions(
        url="wss://p/mqtt", username="u", password=b"pw", secret_headers=(("Authorization", "Bearer t"),)
    )
    source.add(Profile(ProfileName("prod"), options))
    target = ProfileStore(tmp_path / "b.toml", secrets=MemorySecretStore())
    apply_import(target, parse_import(source.export(with_secrets=True), source="e.toml", cert_dir=tmp_path))
    assert target.to_options(target.get("prod")) == options


def test_unrecognised_json_and_bad_json_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="neither an MQTTX connection export nor MQTT Explorer"):
        parse_import('{"foo": 1}', source="x.json", cert_dir=tmp_path)
    with pytest.raises(ProfileError, match=r"x.json line 1 column \d+: not valid JSON"):
        parse_import("{nope", source="x.json", cert_dir=tmp_path)
    with pytest.raises(ProfileError, match="cannot read"):
        read_import_file(tmp_path / "missing.json", cert_dir=tmp_path)


def test_display_names_become_valid_unique_profile_names(tmp_path: Path) -> None:
    assert safe_profile_name("My broker #2") == "My-broker-2"
    assert safe_profile_name("###") == "imported"
    text = json.dumps([{"name": "dup", "host": "a"}, {"name": "dup", "host": "b"}])
    names = [item.profile.name for item in parse_import(text, source="x", cert_dir=tmp_path).profiles]
    assert names == ["dup", "dup-2"]
