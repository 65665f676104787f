"""The profile form model: every field, validation at the field, a lossless round trip,
renames that move the secrets, and the keyring-less session-only way.

Profiles live in a real profiles.toml under tmp_path, secrets in a real file keyring
(keyrings.alt) or the headless fail backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from explorer.errors import ExplorerError
from explorer.mqtt.enums import RetainHandling
from explorer.mqtt.packets import Subscription
from explorer.present.profileedit import ProfileEditor
from explorer.present.profileform import (
    FIELDS,
    FieldKind,
    FormErrors,
    ProfileForm,
    format_subscription,
    parse_subscription,
)
from explorer.profiles.secret_store import KeyringSecretStore
from explorer.profiles.store import ProfileStore
from tests.keyring_support import file_keyring, no_keyring
from tests.present.profile_fixtures import FULL_SECRETS, full_profile

__all__ = ["file_keyring"]


@pytest.fixture
def store(tmp_path: Path, file_keyring: Any) -> ProfileStore:
    store = ProfileStore(tmp_path / "config" / "profiles.toml", secrets=KeyringSecretStore())
    store.add(full_profile())
    return store


def test_opening_and_saving_unchanged_loses_nothing(store: ProfileStore) -> None:
    before = store.get("full")
    file_before = store.path.read_text()
    editor = ProfileEditor(store)
    form = editor.open("full")
    assert form.text("subscriptions").splitlines() == [
        "a/#:2",
        "b/+:1 no-local retain-as-published",
        "c retain-handling=2",
        "sensors/#",
    ]
    result = editor.save(form)
    assert result.ok, result.banner
    after = store.get("full")
    assert after == before
    assert store.path.read_text() == file_before
    assert store.to_options(after) == full_profile().options


def test_every_command_line_connection_option_has_a_field() -> None:
    keys = {item.key for item in FIELDS}
    wanted = {
        "url", "client_id", "username", "password", "subscriptions", "ca_file", "ca_dir", "cert_file",
        "key_file", "key_password", "insecure", "server_name", "alpn", "keylog_file", "subprotocols",
        "strict_subprotocol", "headers", "secret_headers", "proxy", "proxy_password", "http_username",
        "http_password", "origin", "mqtt_version", "keep_alive", "clean_start", "session_expiry_interval",
        "will_topic", "will_message", "will_qos", "will_retain", "will_delay", "receive_maximum",
        "maximum_packet_size", "topic_alias_maximum", "user_properties", "reconnect",
        "connect_timeout", "handshake_timeout",
    }  # fmt: skip
    assert wanted <= keys
    assert {item.key for item in FIELDS if item.kind is FieldKind.SECRET} == {
        "password", "http_password", "key_password", "proxy_password",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("a/#:2", Subscription("a/#", qos=2)),
        ("a/#", Subscription("a/#")),
        ("x/y:1 no-local", Subscription("x/y", qos=1, no_local=True)),
        ("t:0", Subscription("t")),
        ("t:1:0", Subscription("t:1")),
        ("$share/g/s/#:1", Subscription("$share/g/s/#", qos=1)),
        ("z retain-handling=1", Subscription("z", retain_handling=RetainHandling.SEND_IF_NEW_SUBSCRIPTION)),
    ],
)
def test_one_subscription_syntax_both_ways(line: str, expected: Subscription) -> None:
    parsed = parse_subscription(line)
    assert parsed == expected
    assert parse_subscription(format_subscription(parsed)) == parsed


@pytest.mark.parametrize("line", ["a/#/b", "a/#:3", "sport+", "a/#:2 retain-handling=7", ""])
def test_an_invalid_subscription_is_an_error(line: str) -> None:
    with pytest.raises(ExplorerError):
        parse_subscription(line)


def test_invalid_fields_are_errors_at_each_field_and_nothing_is_saved(store: ProfileStore) -> None:
    editor = ProfileEditor(store)
    before = store.path.read_text()
    form = editor.open("full")
    form.set("subscriptions", "a/#:2\nsensors/#/more")
    form.set("keep_alive", "seventy")
    form.set("url", "host:1883")
    form.set("headers", "Bad Header: x")
    result = editor.save(form)
    assert not result.ok
    assert set(result.errors) == {"subscriptions", "keep_alive", "url", "headers"}
    assert "sensors/#/more" in result.errors["subscriptions"]
    assert result.banner is not None
    assert store.path.read_text() == before
    with pytest.raises(FormErrors):
        form.to_profile()


def test_a_new_profile_with_tls_and_a_qos2_subscription(store: ProfileStore) -> None:
    editor = ProfileEditor(store)
    form = ProfileForm.new()
    form.set("name", "fresh")
    form.set("url", "wss://h.example.test/mqtt")
    form.set("subscriptions", "a/#:2\nb")
    form.set("ca_file", "/tmp/ca.pem")
    form.set("password", "s3cret")
    result = editor.save(form)
    assert result.ok, result.banner
    saved = store.get("fresh")
    assert saved.subscriptions == (Subscription("a/#", qos=2), Subscription("b"))
    assert saved.options.tls.ca_file == "/tmp/ca.pem"
    assert "s3cret" not in store.path.read_text()
    assert store.to_options(saved).password == b"s3cret"
    # A second new form with the same name does not overwrite it.
    again = ProfileForm.new()
    again.set("name", "fresh")
    again.set("url", "ws://other/")
    assert editor.save(again).errors == {"name": "this name is taken"}


def test_renaming_moves_the_secrets_and_removes_the_original(store: ProfileStore) -> None:
    editor = ProfileEditor(store)
    form = editor.open("full")
    form.set("name", "renamed")
    result = editor.save(form)
    assert result.ok, result.banner
    assert "full" not in store
    renamed = store.get("renamed")
    assert all(ref.startswith("profile/renamed/") for ref in renamed.secret_refs.values())
    assert store.secret_values(renamed) == FULL_SECRETS
    assert store.secrets.get("profile/full/password") is None
    expected = full_profile("renamed")
    assert store.to_options(renamed) == expected.options
    assert renamed.subscriptions == expected.subscriptions


def test_forgetting_the_password_removes_it_from_the_keyring(store: ProfileStore) -> None:
    editor = ProfileEditor(store)
    form = editor.open("full")
    form.forget.add("password")
    assert editor.save(form).ok
    assert "password" not in store.get("full").secret_refs
    assert store.secrets.get("profile/full/password") is None


def test_without_a_keyring_the_error_is_on_top_and_the_password_serves_this_session(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "profiles.toml", secrets=no_keyring())
    editor = ProfileEditor(store)
    form = ProfileForm.new()
    form.set("name", "nokeyring")
    form.set("url", "ws://127.0.0.1:1/mqtt")
    form.set("password", "only-now")
    result = editor.connect(form)
    assert result.keyring_failed
    assert result.banner is not None
    assert result.banner.startswith("The secrets cannot be kept: no usable OS keyring")
    assert "--password" not in result.banner
    assert "stdin" not in result.banner
    assert "for this session only" in result.banner
    session = editor.connect(form, session_only=True)
    assert session.ok, session.banner
    assert session.session_options is not None
    assert session.session_options.password == b"only-now"
    assert "only-now" not in store.path.read_text()
    assert store.get("nokeyring").secret_refs == {}
