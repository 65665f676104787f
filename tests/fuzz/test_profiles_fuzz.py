"""Fuzzing the profile loader: random and mutated TOML (Hypothesis, bounded in time).

Seeds are hand-written profile files and an export (``tests/fuzz/corpus/profiles/seeds``).
Inputs are those seeds mutated byte- and line-wise with TOML's own punctuation, and
documents made from random values under the keys the loader knows. The targets:

- :meth:`explorer.profiles.store.ProfileStore.list` on the bytes as a file, through the
  TOML parser and :mod:`explorer.profiles.validate` (and :mod:`explorer.profiles.format`);
- :func:`explorer.profiles.importers.parse_import`, which reads exports through the same
  validation, and MQTTX and MQTT Explorer JSON whose fields are replaced by values of
  other JSON kinds (the seeds are real exports of both).

Each input either loads or fails with a :class:`ProfileError`: one line naming the file,
with the line of the problem when it is about a value. Nothing else may escape, no
example may take over 1 s (Hypothesis' deadline), the loader's memory peak (tracemalloc)
stays within a small multiple of the file, and a profile that loads is written back by
the store and read again unchanged.

An input that fails a check is written to ``tests/fuzz/corpus/profiles/found/`` before
the test fails; every file there is replayed on every run.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import tempfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.errors import ExplorerError, ProfileError
from explorer.profiles.importers import parse_import
from explorer.profiles.secret_store import MemorySecretStore
from explorer.profiles.store import ProfileStore

CORPUS = Path(__file__).resolve().parent / "corpus" / "profiles"
SEEDS = {path.name: path.read_bytes() for path in sorted((CORPUS / "seeds").glob("*.toml"))}
JSON_SEEDS = [json.loads(path.read_text()) for path in sorted((CORPUS / "seeds").glob("*.json"))]
FOUND = CORPUS / "found"

_TOKENS = [
    b"[", b"]", b"[[", b"]]", b"{", b"}", b"=", b'"', b"'", b'"""', b"'''", b".", b",", b"#", b"\n",
    b"\r\n", b"\\", b"\\u00", b"\\U0010FFFF", b"\x00", b"\xff", b"\xc3", b"0x", b"1e999", b"nan", b"inf",
    b"-0", b"true", b"1979-05-27T07:32:00Z", b"[profiles.x]", b"[profiles]", b"profiles.a.url = ",
    b'url = "ws://h/"', b"version = 2", b"[profiles.a.secrets]", b"password = ", b"@", b"://",
    b"9999999999999999999999", b"[" * 40, b"{a={b={c={}}}}",
]  # fmt: skip
_KEYS = [
    "url", "subprotocols", "strict_subprotocol", "headers", "secret_headers", "origin", "http_username",
    "proxy", "connect_timeout", "handshake_timeout", "mqtt_version", "client_id", "clean_start",
    "keep_alive", "session_expiry_interval", "username", "receive_maximum", "maximum_packet_size",
    "topic_alias_maximum", "request_response_information", "request_problem_information",
    "user_properties", "authentication_method", "reconnect", "reconnect_initial_delay",
    "reconnect_max_delay", "subscriptions", "notes", "color", "tags", "tls", "will", "secrets",
    "password", "secret_values", "secrets_not_exported", "unknown",
]  # fmt: skip
_SUB_KEYS = [
    "ca_file", "ca_dir", "cert_file", "key_file", "insecure", "server_name", "alpn", "topic", "message",
    "message_hex", "qos", "retain", "delay", "password", "header/Authorization", "key_password", "x",
]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(sorted(SEEDS.values()))))
    for _ in range(draw(st.integers(1, 8))):
        pos = draw(st.integers(0, max(0, len(data))))
        kind = draw(st.sampled_from(["flip", "token", "bytes", "delete", "line", "duplicate", "cut"]))
        if kind == "flip" and data:
            pos = min(pos, len(data) - 1)
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "token":
            data[pos:pos] = draw(st.sampled_from(_TOKENS))
        elif kind == "bytes":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=12))
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 24))]
        elif kind == "line":
            lines = bytes(data).split(b"\n")
            index = draw(st.integers(0, len(lines) - 1))
            action = draw(st.sampled_from(["drop", "copy", "swap"]))
            if action == "drop":
                del lines[index]
            elif action == "copy":
                lines.insert(draw(st.integers(0, len(lines))), lines[index])
            else:
                other = draw(st.integers(0, len(lines) - 1))
                lines[index], lines[other] = lines[other], lines[index]
            data = bytearray(b"\n".join(lines))
        elif kind == "duplicate":
            size = draw(st.integers(1, 80))
            data[pos:pos] = data[pos : pos + size] * draw(st.integers(1, 4))
        elif kind == "cut":
            del data[pos:]
    return bytes(data)


_SCALARS = (
    st.text(max_size=30)
    | st.sampled_from(["ws://h/", "wss://h:8884/mqtt", "mqtt://h", "ws://a:b@h/", "5", "3.1.1", "x: y", "#"])
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
    | st.datetimes(min_value=datetime.datetime(1, 1, 2), max_value=datetime.datetime(9999, 12, 30))
    | st.dates()
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(_SUB_KEYS), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def random_document(draw: st.DrawFn) -> bytes:
    profiles = draw(
        st.dictionaries(
            st.text(min_size=1, max_size=12) | st.sampled_from(["prod", "a.b", "x y", "ok-1"]),
            st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=10),
            max_size=3,
        )
    )
    document: dict[str, Any] = {"profiles": profiles}
    if draw(st.booleans()):
        document["version"] = draw(st.integers(-2, 3) | _SCALARS)
    try:
        return tomlkit.dumps(document).encode("utf-8", "surrogatepass")
    except (ValueError, TypeError, tomlkit.exceptions.TOMLKitError):
        return repr(document).encode("utf-8", "surrogatepass")


_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["ws://a:b@h/", "carol:pw@host", "[::1", "wss", "5.0", "-1", "1e400", "a" * 300]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def mutated_json(draw: st.DrawFn) -> bytes:
    """A real MQTTX or MQTT Explorer export with fields replaced by values of any JSON kind."""
    data = json.loads(json.dumps(draw(st.sampled_from(JSON_SEEDS))))
    for _ in range(draw(st.integers(1, 8))):
        node: Any = data
        for _depth in range(draw(st.integers(0, 4))):
            children = (
                list(node.values()) if isinstance(node, dict) else node if isinstance(node, list) else []
            )
            nested = [child for child in children if isinstance(child, (dict, list)) and child]
            if not nested:
                break
            node = draw(st.sampled_from(nested))
        if isinstance(node, dict) and node:
            node[draw(st.sampled_from(sorted(node)))] = draw(_JSON_VALUES)
        elif isinstance(node, list) and node:
            node[draw(st.integers(0, len(node) - 1))] = draw(_JSON_VALUES)
    return json.dumps(data).encode()


MEMORY_BASE = 1 << 20  # bytes of Python objects the loader may hold at its peak, plus
MEMORY_PER_BYTE = 1000  # this many per byte of the file

_KEPT: dict[str, Path] = {}


def _kept_on_failure(target: str, data: bytes, check: Callable[[], None]) -> None:
    """Run a check; a failing input is written to FOUND (each shrunk one replaces the last)."""
    try:
        check()
    except BaseException:
        FOUND.mkdir(parents=True, exist_ok=True)
        previous = _KEPT.get(target)
        if previous is not None:
            previous.unlink(missing_ok=True)
        path = _KEPT[target] = FOUND / f"{target}-{hashlib.sha256(data).hexdigest()[:12]}.toml"
        path.write_bytes(data)
        raise


def _documented(exc: ProfileError, source: str) -> None:
    """One line naming the file; about a key, also where it is (a line, or its table)."""
    message = str(exc)
    assert "\n" not in message, message
    assert source in message, message
    assert "Traceback" not in message
    if "key '" in message:
        assert " line " in message or "in table [" in message, message


def check_store(data: bytes) -> None:
    """The bytes as profiles.toml: they load, or fail with one documented line; loaded ones round-trip."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "profiles.toml"
        path.write_bytes(data)
        store = ProfileStore(path, secrets=MemorySecretStore())
        tracemalloc.start()
        try:
            profiles = store.list()
        except ProfileError as exc:
            _documented(exc, str(path))
            return
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            # Bounded memory: a small multiple of the file (tomlkit keeps every token).
            assert peak <= MEMORY_BASE + MEMORY_PER_BYTE * len(data), (peak, len(data))
        for warning in store.warnings:
            assert "\n" not in warning
        # Written back by the store and read again: the same profiles.
        copy = ProfileStore(Path(tmp) / "copy.toml", secrets=MemorySecretStore())
        for profile in profiles:
            copy.add(profile)
        again = {profile.name: profile for profile in copy.list()}
        for profile in profiles:
            assert _same(again[profile.name], profile), profile.name


def _same(left: Any, right: Any) -> bool:
    """Equality where nan equals nan (a float that round-trips as nan is unchanged)."""
    if isinstance(left, float) and isinstance(right, float) and math.isnan(left) and math.isnan(right):
        return True
    if hasattr(left, "__dataclass_fields__") and type(left) is type(right):
        return all(_same(getattr(left, name), getattr(right, name)) for name in left.__dataclass_fields__)
    if isinstance(left, (tuple, list)) and isinstance(right, (tuple, list)):
        return len(left) == len(right) and all(_same(a, b) for a, b in zip(left, right, strict=True))
    return bool(left == right)


def check_import(data: bytes) -> None:
    """The bytes as an export to import: a result, or one documented line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return  # read_import_file refuses undecodable bytes before parsing (tested in test_importers)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            result = parse_import(text, source="export.toml", cert_dir=Path(tmp))
        except ProfileError as exc:
            _documented(exc, "export.toml")
            return
        except ExplorerError as exc:  # pragma: no cover - a failure with the message shown
            pytest.fail(f"not a ProfileError: {type(exc).__name__}: {exc}")
    notes = [note for item in result.profiles for note in (*item.mapped, *item.skipped)]
    for line in [*result.warnings, *notes]:
        assert "\n" not in line, line


_FAST = settings(max_examples=150, deadline=1000, suppress_health_check=[HealthCheck.too_slow])


def test_the_seeds_load() -> None:
    assert {"full.toml", "small.toml", "inline.toml", "export.toml"} <= set(SEEDS)
    for name, data in SEEDS.items():
        if name != "export.toml":
            check_store(data)
    result = parse_import(SEEDS["export.toml"].decode(), source="export.toml", cert_dir=Path("/nonexistent"))
    assert [item.profile.name for item in result.profiles] == ["prod", "dev"]


@_FAST
@given(mutated())
def test_store_on_mutated_profiles(data: bytes) -> None:
    _kept_on_failure("store-mutated", data, lambda: check_store(data))


@_FAST
@given(random_document())
def test_store_on_random_documents(data: bytes) -> None:
    _kept_on_failure("store-random", data, lambda: check_store(data))


@_FAST
@given(mutated() | random_document())
def test_import_on_mutated_exports(data: bytes) -> None:
    _kept_on_failure("import", data, lambda: check_import(data))


@_FAST
@given(mutated_json())
def test_import_on_mutated_json_exports(data: bytes) -> None:
    _kept_on_failure("import-json", data, lambda: check_import(data))


@pytest.mark.parametrize(
    "path", sorted(FOUND.glob("*.toml")) if FOUND.exists() else [], ids=lambda path: path.name
)
def test_found_inputs_stay_fixed(path: Path) -> None:
    data = path.read_bytes()
    check_store(data)
    check_import(data)
