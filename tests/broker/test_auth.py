"""Password file and ACL parsing, and their effect on CONNECT, SUBSCRIBE and PUBLISH."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from explorer.broker.auth import add_user, hash_password, load_acl, load_password_file
from explorer.errors import ExplorerError
from explorer.mqtt.enums import ConnackReasonCode, ConnectReturnCode, PubackReasonCode, SubackReasonCode
from explorer.mqtt.packets import Puback, Publish, Suback
from tests.broker.harness import V5, V311, connect, make_state, subscribe

ACL = """\
# anonymous clients
topic read public/#

user alice
topic readwrite alice/#
topic deny alice/secret
topic write shared/in

pattern readwrite devices/%c/#
pattern read users/%u/#
"""


def _state(tmp_path: Path, **config: object):  # type: ignore[no-untyped-def]
    passwords = tmp_path / "passwd"
    add_user(passwords, "alice", "wonderland")
    acl = tmp_path / "acl"
    acl.write_text(ACL)
    state = make_state(password_file=passwords, acl_file=acl, **config)
    state.passwords = load_password_file(passwords)
    state.acl = load_acl(acl)
    return state


def test_hash_round_trip_verifies_only_the_right_password(tmp_path: Path) -> None:
    path = tmp_path / "p"
    add_user(path, "bob", "secret")
    table = load_password_file(path)
    assert table.verify("bob", b"secret")
    assert not table.verify("bob", b"Secret")
    assert not table.verify("eve", b"secret")
    assert "secret" not in path.read_text()


def test_hash_uses_a_fresh_salt_each_time() -> None:
    assert hash_password("x") != hash_password("x")


@pytest.mark.interop
def test_mosquitto_passwd_files_are_accepted(tmp_path: Path) -> None:
    program = shutil.which("mosquitto_passwd")
    if program is None:
        if os.environ.get("CI") == "true":
            pytest.fail("mosquitto_passwd is required in CI (Debian package mosquitto)")
        pytest.skip("mosquitto_passwd not installed")
    path = tmp_path / "p"
    path.write_text("")
    subprocess.run([program, "-b", str(path), "carol", "pw123"], check=True, capture_output=True)
    table = load_password_file(path)
    assert table.verify("carol", b"pw123")
    assert not table.verify("carol", b"nope")


def test_bad_password_file_line_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "p"
    path.write_text("alice:plaintext\n")
    with pytest.raises(ExplorerError, match=r"p:1"):
        load_password_file(path)


def test_bad_acl_keyword_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "acl"
    path.write_text("topic read a\nallow all\n")
    with pytest.raises(ExplorerError, match=r"acl:2"):
        load_acl(path)


def test_wrong_password_is_refused_with_0x86_in_v5(tmp_path: Path) -> None:
    client = connect(_state(tmp_path), "c", V5, username="alice", password=b"wrong")
    assert client.connack.reason_code == ConnackReasonCode.BAD_USER_NAME_OR_PASSWORD  # type: ignore[attr-defined]


def test_wrong_password_is_refused_with_return_code_4_in_v311(tmp_path: Path) -> None:
    client = connect(_state(tmp_path), "c", V311, username="alice", password=b"wrong")
    assert client.connack.reason_code == ConnectReturnCode.BAD_USERNAME_OR_PASSWORD  # type: ignore[attr-defined]


def test_anonymous_client_is_refused_when_a_password_file_is_set(tmp_path: Path) -> None:
    client = connect(_state(tmp_path), "c", V311)
    assert client.connack.reason_code == ConnectReturnCode.NOT_AUTHORIZED  # type: ignore[attr-defined]


def test_anonymous_client_follows_the_anonymous_rules_when_allowed(tmp_path: Path) -> None:
    client = connect(_state(tmp_path, allow_anonymous=True), "c", V311)
    assert client.connack.reason_code == ConnectReturnCode.ACCEPTED  # type: ignore[attr-defined]
    assert subscribe(client, "public/news", "alice/x") == [
        Suback(1, (SubackReasonCode.GRANTED_QOS_0, SubackReasonCode.UNSPECIFIED_ERROR))
    ]


def test_subscribe_outside_the_acl_gets_0x87_in_v5(tmp_path: Path) -> None:
    client = connect(_state(tmp_path), "c", V5, username="alice", password=b"wonderland")
    assert subscribe(client, "alice/#", "bob/#") == [
        Suback(1, (SubackReasonCode.GRANTED_QOS_0, SubackReasonCode.NOT_AUTHORIZED))
    ]


def test_subscribe_outside_the_acl_gets_0x80_in_v311(tmp_path: Path) -> None:
    client = connect(_state(tmp_path), "c", V311, username="alice", password=b"wonderland")
    assert subscribe(client, "#") == [Suback(1, (SubackReasonCode.UNSPECIFIED_ERROR,))]


def test_pattern_rules_substitute_client_id_and_username(tmp_path: Path) -> None:
    client = connect(_state(tmp_path), "dev7", V5, username="alice", password=b"wonderland")
    codes = subscribe(client, "devices/dev7/#", "devices/dev8/#", "users/alice/inbox")[0].reason_codes  # type: ignore[union-attr]
    assert codes == (
        SubackReasonCode.GRANTED_QOS_0,
        SubackReasonCode.NOT_AUTHORIZED,
        SubackReasonCode.GRANTED_QOS_0,
    )


def test_publish_outside_the_acl_is_dropped_and_gets_0x87_in_v5(tmp_path: Path) -> None:
    state = _state(tmp_path)
    reader = connect(state, "r", V5, username="alice", password=b"wonderland")
    subscribe(reader, "alice/#")
    writer = connect(state, "w", V5, username="alice", password=b"wonderland")
    writer.send(Publish("public/x", b"no", qos=1, packet_id=1))
    assert writer.receive() == [Puback(1, PubackReasonCode.NOT_AUTHORIZED)]
    writer.send(Publish("alice/x", b"yes", qos=1, packet_id=2))
    assert writer.receive() == [Puback(2)]
    assert [p.payload for p in reader.publishes()] == [b"yes"]


def test_deny_rule_hides_a_topic_inside_a_granted_wildcard(tmp_path: Path) -> None:
    state = _state(tmp_path)
    reader = connect(state, "r", V5, username="alice", password=b"wonderland")
    subscribe(reader, "alice/#")
    state.publish("alice/secret", b"hidden", now=0.0)
    state.publish("alice/open", b"seen", now=0.0)
    assert [p.payload for p in reader.publishes()] == [b"seen"]
