"""ProfileStore: TOML file, keyring references, atomic 0600 writes, validation, rewrites."""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from explorer.client.options import ConnectionOptions, TlsOptions
from explorer.errors import ProfileError, SecretStoreError
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import Properties, Subscription, Will
from explorer.profiles.secret_store import MemorySecretStore
from explorer.profiles.store import (
    FORMAT_VERSION,
    Profile,
    ProfileName,
    ProfileStore,
    default_profiles_path,
    secret_ref,
)
from tests.keyring_support import config_dir, file_keyring, no_keyring

__all__ = ["config_dir", "file_keyring"]

PASSWORD = "pw-canary-7Qx!"


def _full_options() -> ConnectionOptions:
    return ConnectionOptions(
        url="wss://broker.example.com:8884/mqtt",
        subprotocols=("mqttv3.1", "mqtt"),
        strict_subprotocol=True,
        headers=(("X-Client", "explorer"), ("X-Trace", "1")),
        secret_headers=(("Authorization", "Bearer tok-123"),),
        origin="https://app.example.com",
        http_username="web",
        http_password="http-pw",
        tls=TlsOptions(
            ca_file="/etc/ca.pem",
            cert_file="/etc/c.pem",
            key_file="/etc/k.pem",
            key_password="key-pw",
            server_name="broker.internal",
            alpn=("http/1.1",),
        ),
        proxy="http://proxyuser:proxy-pw@proxy.example.com:3128",
        connect_timeout=3.5,
        handshake_timeout=4.0,
        mqtt_version=ProtocolVersion.V5,
        client_id="explorer-1",
        clean_start=False,
        keep_alive=30,
        session_expiry_interval=3600,
        username="alice",
        password=PASSWORD.encode(),
        will=Will(
            "clients/explorer", b"gone", qos=1, retain=True, properties=Properties(will_delay_interval=5)
        ),
        receive_maximum=20,
        maximum_packet_size=65536,
        topic_alias_maximum=10,
        request_response_information=True,
        request_problem_information=False,
        user_properties=(("region", "eu"), ("region", "us")),
        authentication_method="SCRAM-SHA-1",
        reconnect=True,
        reconnect_initial_delay=0.5,
        reconnect_max_delay=30.0,
    )


def _profile(name: str = "prod", **changes: Any) -> Profile:
    profile = Profile(
        ProfileName(name),
        _full_options(),
        subscriptions=(Subscription("sensors/#"), Subscription("alerts/+", qos=1, no_local=True)),
        notes="production cluster",
        color="#d04040",
        tags=("prod", "eu"),
    )
    return replace(profile, **changes)


@pytest.fixture
def store(config_dir: Path, file_keyring: Any) -> ProfileStore:
    return ProfileStore()


def test_default_path_follows_the_config_dir_variable(config_dir: Path) -> None:
    assert default_profiles_path() == config_dir / "profiles.toml"
    assert ProfileStore().path == config_dir / "profiles.toml"


def test_every_option_round_trips_with_secrets_from_the_keyring(store: ProfileStore) -> None:
    store.add(_profile())
    loaded = store.get("prod")
    assert loaded.subscriptions == _profile().subscriptions
    assert (loaded.notes, loaded.color, loaded.tags) == ("production cluster", "#d04040", ("prod", "eu"))
    assert store.to_options(loaded) == _full_options()


def test_the_file_holds_references_and_no_secret(store: ProfileStore, file_keyring: Any) -> None:
    store.add(_profile())
    text = store.path.read_text()
    for secret in (PASSWORD, "tok-123", "http-pw", "key-pw", "proxy-pw"):
        assert secret not in text
    assert 'password = "profile/prod/password"' in text
    assert "http://proxyuser@proxy.example.com:3128" in text
    assert file_keyring.get_password("mqttws-explorer", "profile/prod/password") == PASSWORD
    assert (
        file_keyring.get_password("mqttws-explorer", "profile/prod/header/Authorization") == "Bearer tok-123"
    )


def test_a_loaded_profile_carries_no_secret_values(store: ProfileStore) -> None:
    store.add(_profile())
    options = store.get("prod").options
    assert options.password is None
    assert options.http_password is None
    assert options.tls.key_password is None
    assert options.secret_headers == ()
    assert options.proxy == "http://proxyuser@proxy.example.com:3128"


def test_file_is_created_0600_with_a_version(store: ProfileStore) -> None:
    store.add(_profile())
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert f"version = {FORMAT_VERSION}" in store.path.read_text()


def test_write_leaves_no_temporary_files(store: ProfileStore) -> None:
    store.add(_profile())
    store.add(_profile("dev"))
    assert sorted(p.name for p in store.path.parent.iterdir()) == [".profiles.lock", "profiles.toml"]


def test_failed_write_keeps_the_previous_file_and_no_temp_file(
    store: ProfileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.add(_profile())
    before = store.path.read_text()

    def disk_full(fd: int) -> None:  # a full disk cannot be produced on demand here
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", disk_full)
        with pytest.raises(ProfileError, match=r"cannot write .*No space left"):
            store.add(_profile("dev", options=ConnectionOptions(url="ws://dev/")))
    assert store.path.read_text() == before
    assert sorted(p.name for p in store.path.parent.iterdir()) == [".profiles.lock", "profiles.toml"]


def test_unknown_profile_suggests_the_closest_name(store: ProfileStore) -> None:
    store.add(_profile("prod", options=ConnectionOptions(url="ws://a/")))
    store.add(_profile("staging", options=ConnectionOptions(url="ws://b/")))
    with pytest.raises(ProfileError, match="did you mean 'prod'\\?"):
        store.get("prdo")
    with pytest.raises(ProfileError, match="known profiles: prod, staging"):
        store.get("zzz")


def test_unknown_profile_with_no_profiles_says_how_to_add_one(store: ProfileStore) -> None:
    with pytest.raises(ProfileError, match="profiles add"):
        store.get("prod")


def test_adding_an_existing_name_is_refused(store: ProfileStore) -> None:
    store.add(_profile())
    with pytest.raises(ProfileError, match="already exists"):
        store.add(_profile())


def test_invalid_names_are_refused(store: ProfileStore) -> None:
    for name in ("", "a/b", "has space", "-dash"):
        with pytest.raises(ProfileError, match="not a valid profile name"):
            store.add(_profile(name))


def test_update_keeps_comments_unknown_keys_and_formatting(store: ProfileStore) -> None:
    store.add(_profile(options=ConnectionOptions(url="ws://a/", keep_alive=60)))
    text = store.path.read_text()
    text = text.replace(
        '[profiles.prod]\nurl = "ws://a/"',
        '[profiles.prod]\n# the main broker\nurl = "ws://a/"   # keep this\nfuture_option = "x"',
    )
    store.path.write_text(text)
    profile = store.get("prod")
    assert any("unknown key 'future_option'" in w for w in store.warnings)
    store.update(replace(profile, options=profile.options.with_changes(keep_alive=15)))
    after = store.path.read_text()
    assert "# the main broker" in after
    assert 'url = "ws://a/"   # keep this' in after
    assert 'future_option = "x"' in after
    assert "keep_alive = 15" in after


def test_unknown_keys_are_reported_with_their_line(store: ProfileStore) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_text('version = 1\n\n[profiles.a]\nurl = "ws://h/"\ncolour = "red"\n')
    store.list()
    assert store.warnings == [
        f"{store.path} line 5: unknown key 'colour' in profile 'a' (kept, not used)",
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            'url = "ws://h/"\nkeep_alive = "sixty"\n',
            "line 5: key 'keep_alive' of profile 'a' must be a whole number",
        ),
        (
            'url = "ws://h/"\nkeep_alive = 70000\n',
            "line 5: key 'keep_alive' of profile 'a' must be between 0 and 65535",
        ),
        ('url = "http://h/"\n', "line 4: key 'url' of profile 'a' is invalid: unsupported scheme"),
        (
            'url = "ws://h/"\nmqtt_version = "4"\n',
            "line 5: key 'mqtt_version' of profile 'a' unknown MQTT version",
        ),
        ('url = "ws://h/"\nheaders = ["nocolon"]\n', "line 5: key 'headers' of profile 'a' has 'nocolon'"),
        (
            'url = "ws://h/"\npassword = "plain"\n',
            "line 5: key 'password' of profile 'a' holds a secret in plain text",
        ),
        (
            'url = "ws://h/"\nproxy = "http://u:p@h:1"\n',
            "line 5: key 'proxy' of profile 'a' holds a proxy password",
        ),
        ("keep_alive = 5\n", "profile 'a' has no 'url' key"),
        (
            'url = "ws://h/"\n\n[profiles.a.tls]\ninsecure = "yes"\n',
            "line 7: key 'insecure' of profile 'a' must be true",
        ),
        (
            'url = "ws://h/"\nsecret_headers = ["Authorization"]\n',
            "names 'Authorization', whose value is not in",
        ),
    ],
)
def test_hand_edit_errors_name_the_line_and_key(store: ProfileStore, body: str, expected: str) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_text("version = 1\n\n[profiles.a]\n" + body)
    with pytest.raises(ProfileError) as info:
        store.list()
    assert expected in str(info.value)
    assert str(store.path) in str(info.value)


def test_toml_syntax_errors_carry_line_and_column(store: ProfileStore) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_text('version = 1\n[profiles.a]\nurl = "ws://h/\n')
    with pytest.raises(ProfileError, match=r"line 3 column \d+"):
        store.list()


def test_a_newer_format_version_is_refused(store: ProfileStore) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_text("version = 2\n")
    with pytest.raises(ProfileError, match="newer than this mqttws-explorer"):
        store.list()


def test_update_replaces_a_secret_and_dropping_a_reference_deletes_it(
    store: ProfileStore, file_keyring: Any
) -> None:
    store.add(_profile())
    loaded = store.get("prod")
    store.update(replace(loaded, options=loaded.options.with_changes(password=b"new-pw")))
    assert store.to_options(store.get("prod")).password == b"new-pw"
    loaded = store.get("prod")
    refs = {k: v for k, v in loaded.secret_refs.items() if k != "password"}
    store.update(replace(loaded, secret_refs=refs))
    assert "password" not in store.get("prod").secret_refs
    assert file_keyring.get_password("mqttws-explorer", "profile/prod/password") is None
    assert store.to_options(store.get("prod")).password is None


def test_remove_deletes_the_profile_and_its_secrets(store: ProfileStore, file_keyring: Any) -> None:
    store.add(_profile())
    store.add(_profile("dev", options=ConnectionOptions(url="ws://dev/")))
    store.remove("prod")
    assert store.names() == ["dev"]
    assert file_keyring.get_password("mqttws-explorer", "profile/prod/password") is None
    with pytest.raises(ProfileError, match="did you mean 'dev'"):
        store.remove("dve")


def test_rename_moves_secrets_to_the_new_name(store: ProfileStore, file_keyring: Any) -> None:
    store.add(_profile())
    store.rename("prod", "production")
    assert store.names() == ["production"]
    assert store.get("production").secret_refs["password"] == secret_ref("production", "password")
    assert store.to_options(store.get("production")) == _full_options()
    assert file_keyring.get_password("mqttws-explorer", "profile/prod/password") is None


def test_copy_duplicates_secrets_independently(store: ProfileStore) -> None:
    store.add(_profile())
    store.copy("prod", "prod-copy")
    copy = store.get("prod-copy")
    store.update(replace(copy, options=copy.options.with_changes(password=b"other")))
    assert store.to_options(store.get("prod")).password == PASSWORD.encode()
    assert store.to_options(store.get("prod-copy")).password == b"other"


def test_missing_keyring_entry_says_how_to_set_it_again(store: ProfileStore, file_keyring: Any) -> None:
    store.add(_profile())
    file_keyring.delete_password("mqttws-explorer", "profile/prod/password")
    with pytest.raises(ProfileError, match="profiles edit prod --password-stdin"):
        store.to_options(store.get("prod"))


def test_skipped_secrets_are_not_fetched(config_dir: Path) -> None:
    secrets = MemorySecretStore()
    store = ProfileStore(secrets=secrets)
    store.add(_profile(options=ConnectionOptions(url="ws://h/", password=b"p")))
    secrets.values.clear()  # nothing there: fetching would fail
    options = store.to_options(store.get("prod"), skip={"password"})
    assert options.password is None


def test_profiles_without_secrets_work_with_no_keyring(config_dir: Path) -> None:

    store = ProfileStore(secrets=no_keyring())
    store.add(_profile(options=ConnectionOptions(url="ws://h/", username="u")))
    assert store.to_options(store.get("prod")).username == "u"
    store.rename("prod", "p2")
    store.remove("p2")


def test_no_keyring_writes_nothing_rather_than_plaintext(config_dir: Path) -> None:

    store = ProfileStore(secrets=no_keyring())
    with pytest.raises(SecretStoreError, match=r"keyrings\.alt"):
        store.add(_profile())
    assert not store.path.exists()


def test_export_leaves_secrets_out_and_lists_them(store: ProfileStore) -> None:
    store.add(_profile())
    text = store.export()
    for secret in (PASSWORD, "tok-123", "http-pw", "key-pw", "proxy-pw"):
        assert secret not in text
    assert "secrets_not_exported" in text
    assert "profile/prod/" not in text  # keyring references mean nothing elsewhere


def test_export_with_secrets_includes_them_and_warns_in_the_file(store: ProfileStore) -> None:
    store.add(_profile())
    text = store.export(["prod"], with_secrets=True)
    assert PASSWORD in text
    assert "WARNING" in text


def test_export_of_an_unknown_name_fails(store: ProfileStore) -> None:
    store.add(_profile())
    with pytest.raises(ProfileError, match="did you mean 'prod'"):
        store.export(["prd"])


def test_a_hand_written_profile_loads(store: ProfileStore) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_text(
        "# my profiles\nversion = 1\n\n[profiles.local]\n"
        'url = "ws://localhost:8080/mqtt"\nmqtt_version = 5\n'
        'subscriptions = ["#", { topic = "a/b", qos = 2 }]\n'
        'user_properties = [["k", "v"]]\n'
        '\n[profiles.local.will]\ntopic = "w"\nmessage_hex = "00ff"\n'
    )
    profile = store.get("local")
    assert profile.options.mqtt_version is ProtocolVersion.V5
    assert profile.subscriptions == (Subscription("#"), Subscription("a/b", qos=2))
    assert profile.options.user_properties == (("k", "v"),)
    assert profile.options.will == Will("w", b"\x00\xff")
    assert store.warnings == []


def test_concurrent_writers_lose_no_profile(config_dir: Path) -> None:
    import threading

    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def add(index: int) -> None:
        try:
            start.wait()
            ProfileStore().add(Profile(ProfileName(f"p{index}"), ConnectionOptions(url=f"ws://h{index}/")))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(ProfileStore().names()) == [f"p{index}" for index in range(8)]
