"""Canary: a secret never lands in a file, a log, a trace, an export, a recording or an output.

Each secret-bearing input carries a canary of its own: the MQTT password (given with
``--password-stdin``, ``--password-env`` and from a profile's keyring entry), the password
in a URL's user info, the HTTP basic-auth password, a secret header, the HTTP proxy's
password and the TLS key passphrase. The path is real: an HTTP CONNECT proxy that wants
its password, in front of a TLS terminator that wants the client certificate (whose key
only the passphrase opens), in front of the embedded broker, which wants the MQTT
password. So a command that succeeds really sent every secret.

Every command that takes them runs: profiles add/edit/copy/rename/show/list/export, sub,
pub, trace with pcapng and JSON-lines exports, decode of the pcapng, record (with frames),
probe, ``probe --explore`` including a downgrade attempt (``wss://`` to a port that
answers the TLS hello in plain HTTP), and the Workspace's message and trace exports.
Then every file under the temporary HOME, XDG directories, the config directory and the
exports, everything printed and the broker's log are searched for each canary in plain
text, base64 (at every alignment), hex, URL encoding and WebSocket masking. The keyring
file (keyrings.alt, under XDG_DATA_HOME) is the one place secrets may be, and it is
checked that the search does find them there.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import ssl
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

from explorer.broker.auth import add_user
from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from explorer.client.options import ConnectionOptions, TlsOptions
from explorer.workspace import Workspace
from tests.keyring_support import KEYRING_ENV, config_dir, file_keyring
from tests.test_net import ConnectProxy, port_of, tls_front

__all__ = ["config_dir", "file_keyring"]

CANARY = "Canary-pw-5e1f9b7Q!"  # the MQTT password of canary-user
URL_CANARY = "Url-canary-8d0c2aZ!"  # the MQTT password of url-user, given in URLs
HTTP_CANARY = "Http-canary-41fe7Bq!"
HEADER_CANARY = "Bearer canary-token-77d2"
PROXY_CANARY = "Proxy-canary-c93aa1!"
KEY_CANARY = "Key-canary-0b5e6d!"
SECRETS = (CANARY, URL_CANARY, HTTP_CANARY, HEADER_CANARY, "canary-token-77d2", PROXY_CANARY, KEY_CANARY)
ROOT = Path(__file__).parent.parent.parent


# --------------------------------------------------------------------------- detection


def _masked_find(data: bytes, secret: bytes) -> bool:
    """True if ``secret`` appears XORed with a repeating 4-byte key (RFC 6455 §5.3 masking).

    Client frames in a capture are masked, so a plain search would miss a password in
    a CONNECT; the key is derived from the first four bytes at each offset and checked
    against the rest (any phase of the key works, since it simply repeats).
    """
    n = len(secret)
    first = secret[0]
    for start in range(len(data) - n + 1):
        k0 = data[start] ^ first
        if data[start + 4] ^ secret[4] != k0:
            continue
        key = bytes(data[start + j] ^ secret[j] for j in range(4))
        if all(data[start + i] ^ secret[i] == key[i % 4] for i in range(4, n)):
            return True
    return False


def _base64_forms(raw: bytes) -> Iterator[bytes]:
    """The base64 characters that depend only on ``raw``, at each of the three alignments.

    A secret inside a longer base64 text (``Basic base64(user:password)``) starts at any
    byte offset; the characters wholly inside it are the same whatever surrounds it.
    """
    for pad in range(3):
        text = base64.b64encode(b"\0" * pad + raw + b"\0\0")
        first = -(-8 * pad // 6)  # the first character whose 6 bits are all in raw
        last = (8 * (pad + len(raw))) // 6
        yield text[first:last]
        yield base64.urlsafe_b64encode(b"\0" * pad + raw + b"\0\0")[first:last]


def _found(data: bytes, secret: str) -> str | None:
    raw = secret.encode()
    forms = [
        raw,
        raw.hex().encode(),
        raw.hex().upper().encode(),
        quote(secret, safe="").encode(),
        quote(secret).encode(),
        *_base64_forms(raw),
    ]
    for form in forms:
        if form in data:
            return f"{secret!r} as {form[:14]!r}..."
    if _masked_find(data, raw):
        return f"{secret!r} WebSocket-masked"
    return None


def _leaks(data: bytes) -> list[str]:
    return [leak for leak in (_found(data, secret) for secret in SECRETS) if leak]


def test_the_detector_finds_each_encoding() -> None:
    secret = HTTP_CANARY.encode()
    for prefix in (b"", b"w", b"we", b"web:"):
        assert _leaks(b"Authorization: Basic " + base64.b64encode(prefix + secret) + b"\r\n"), prefix
    assert _leaks(b"x" + secret.hex().encode() + b"y")
    assert _leaks(quote(HTTP_CANARY, safe="").encode())
    masked = bytes(byte ^ (0x11, 0x22, 0x33, 0x44)[i % 4] for i, byte in enumerate(b"\x00\x01" + secret))
    assert _leaks(b"\x82\x90" + masked)
    assert not _leaks(b"Canary-pw-5e1f9b7Q")  # a near miss is not a find


# --------------------------------------------------------------------------- the path


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[Broker]:
    passwords = tmp_path / "broker" / "passwd"
    passwords.parent.mkdir()
    add_user(passwords, "canary-user", CANARY)
    add_user(passwords, "url-user", URL_CANARY)
    async with Broker(BrokerConfig.ephemeral(password_file=str(passwords))) as running:
        yield running


class _Path:
    """Proxy (wants PROXY_CANARY) -> TLS front (wants the client certificate) -> broker."""

    def __init__(self, tmp_path: Path) -> None:
        self.ca = trustme.CA()
        self.dir = tmp_path / "pki"
        self.dir.mkdir()
        self.ca_file = str(self.dir / "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_file)
        issued = self.ca.issue_cert("client@canary.test")
        self.cert = str(self.dir / "client.pem")
        issued.cert_chain_pems[0].write_to_path(self.cert)
        key = serialization.load_pem_private_key(issued.private_key_pem.bytes(), password=None)
        self.key = str(self.dir / "client.key")
        Path(self.key).write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(KEY_CANARY.encode()),
            )
        )
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1").configure_cert(self.context)
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.ca.configure_trust(self.context)


class _Runner:
    """Runs ``python -m explorer ...`` without blocking the loop the servers run on."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.output: list[tuple[tuple[str, ...], bytes]] = []

    async def __call__(
        self, *argv: str, stdin: str = "", expect: int | None = 0, env: dict[str, str] | None = None
    ) -> str:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "explorer",
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, **self.env, **(env or {})},
        )
        out, _ = await asyncio.wait_for(child.communicate(stdin.encode()), timeout=120)
        self.output.append((argv, out))
        if expect is not None:
            assert child.returncode == expect, (
                f"{argv} exited {child.returncode}: {out.decode(errors='replace')}"
            )
        return out.decode(errors="replace")


@pytest.fixture
def home(tmp_path: Path, config_dir: Path, file_keyring: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary HOME with every XDG directory under it (the keyring file in XDG_DATA_HOME)."""
    home = tmp_path / "home"
    home.mkdir()
    for name, sub in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_STATE_HOME", ".state"),
    ):
        monkeypatch.setenv(name, str(home / sub))
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.mark.slow
@pytest.mark.timeout(600)  # some forty commands, each a new interpreter
async def test_no_secret_reaches_a_file_a_log_an_export_or_an_output(
    broker: Broker,
    home: Path,
    config_dir: Path,
    file_keyring: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    run = _Runner({"PYTHON_KEYRING_BACKEND": KEYRING_ENV})
    url = broker.ws_url
    assert url is not None
    assert broker.ws_port is not None
    url_login = url.replace("ws://", f"ws://url-user:{quote(URL_CANARY, safe='')}@")
    exports = tmp_path / "exports"
    exports.mkdir()
    pki = _Path(tmp_path)
    front = await tls_front(broker.ws_port, pki.context)
    proxy = ConnectProxy("pxuser", PROXY_CANARY)
    async with front, proxy as proxy_where:
        secure_url = f"wss://127.0.0.1:{port_of(front)}/mqtt"
        proxy_url = f"http://pxuser:{quote(PROXY_CANARY, safe='')}@{proxy_where}"
        full_flags = ["--ca", pki.ca_file, "--cert", pki.cert, "--key", pki.key, "--proxy", proxy_url]
        full_flags += ["--http-user", "web", "--secret-header", f"Authorization: {HEADER_CANARY}"]

        # profiles: create, edit, copy, rename, with every kind of secret
        await run("profiles", "add", "canary", "--url", url, "--username", "canary-user", "--password-stdin",
                  stdin=CANARY + "\n")  # fmt: skip
        await run("profiles", "edit", "canary", "--secret-header", f"Authorization: {HEADER_CANARY}")
        await run(
            "profiles", "edit", "canary", "--password-stdin", "--client-id", "canary-client", stdin=CANARY
        )
        await run("profiles", "copy", "canary", "canary-copy")
        await run("profiles", "rename", "canary-copy", "canary-2")
        await run("profiles", "add", "full", "--url", secure_url, "-u", "canary-user", "--password-stdin",
                  *full_flags, stdin=CANARY)  # fmt: skip
        await run("profiles", "edit", "full", "--key-password-stdin", stdin=KEY_CANARY)
        await run("profiles", "edit", "full", "--http-password-stdin", stdin=HTTP_CANARY)
        await run("profiles", "add", "in-url", "--url", url_login)
        for name in ("canary", "full", "in-url"):
            await run("profiles", "show", name)
            await run("profiles", "show", name, "--json")
        await run("profiles", "list")
        await run("profiles", "list", "--json")
        await run("profiles", "export", "-o", str(exports / "profiles-export.toml"))
        await run("profiles", "export", "full")

        # use the profiles: the broker, the TLS front and the proxy check what they want
        await run("pub", "--profile", "canary", "-t", "canary/topic", "-m", "hello", "-q", "1")
        await run("pub", "--profile", "canary-2", "-t", "canary/topic", "-m", "again")
        await run("pub", "--profile", "full", "-t", "canary/retained", "-m", "kept", "-r", "-q", "1")
        await run("pub", "--profile", "in-url", "-t", "canary/in-url", "-m", "x")
        # the retained message arrives at once, so -C 1 ends the subscription without waiting
        await run("sub", "--profile", "full", "-t", "canary/#", "-C", "1")
        await run("sub", "--profile", "canary-2", "-t", "canary/#", "-C", "1", "--json", "--trace")
        for name in ("trace.pcapng", "trace.jsonl"):
            await run(
                "trace", "--profile", "full", "-t", "canary/#", "--export", str(exports / name), "-W", "0.5"
            )
        recording = str(exports / "rec.sqlite")
        await run(
            "record", "--profile", "full", "-t", "canary/#", "--frames", "--out", recording, "-W", "0.5"
        )
        await run("search", recording, "--json")
        await run("stats", recording, "--json")
        await run("stats", url_login, "-W", "0.5")
        await run("replay", recording, url_login, "--topic-prefix", "replayed/")
        await run("probe", "--profile", "full")
        await run("probe", "--profile", "full", "--json")

        # the same secrets given for one use only
        await run("pub", url, "-u", "canary-user", "--password-env", "CANARY_PW", "-t", "canary/env",
                  "-m", "e", env={"CANARY_PW": CANARY})  # fmt: skip
        await run("sub", url_login, "-t", "canary/#", "-C", "1", "--json")
        await run("pub", url, "-u", "canary-user", "--password-stdin", "-t", "canary/stdin", "-m", "s",
                  stdin=CANARY)  # fmt: skip
        await run("sub", "--profile", "full", "--http-password-stdin", "-t", "canary/#", "-C", "1", "--trace",
                  stdin=HTTP_CANARY)  # fmt: skip
        await run("trace", url_login, "-t", "canary/#", "--export", str(exports / "url.pcapng"), "-W", "0.5")
        await run("trace", secure_url, "-u", "canary-user", "--password-env", "CANARY_PW", *full_flags,
                  "--key-password-stdin", "-t", "c/#", "--export", str(exports / "flags.jsonl"), "-W", "0.5",
                  stdin=KEY_CANARY, env={"CANARY_PW": CANARY})  # fmt: skip
        await run(
            "sub",
            secure_url,
            "-u",
            "canary-user",
            "--password-env",
            "CANARY_PW",
            *full_flags,
            "--http-password-stdin",
            "--key-password-stdin",
            "-t",
            "x",
            expect=None,
            stdin=HTTP_CANARY,
            env={"CANARY_PW": CANARY},
        )  # fmt: skip  (two stdin secrets: refused)
        await run("probe", url_login, "--json")
        # a downgrade attempt: wss:// to the plain port answers the TLS hello with HTTP; the
        # ws:// alternative is tried without credentials, so the broker sees no login from it
        logins = caplog.text.count("user canary-user") + caplog.text.count("user url-user")
        downgrade = f"wss://127.0.0.1:{broker.ws_port}/mqtt"
        explored = await run("probe", downgrade, "--explore", "-u", "canary-user", "--password-stdin",
                             "--connect-timeout", "5", stdin=CANARY, expect=None)  # fmt: skip
        await run("probe", url_login.replace("ws://", "wss://"), "--explore", "--json", expect=None)
        assert caplog.text.count("user canary-user") + caplog.text.count("user url-user") == logins
        assert "ws://" in explored
        # a wrong password is refused: the broker really checks
        await run("pub", "--profile", "canary", "--password-env", "WRONG_PW", "-t", "x", "-m", "x",
                  expect=1, env={"WRONG_PW": "not-the-password"})  # fmt: skip

        # decode what was captured
        for name in ("trace.pcapng", "url.pcapng"):
            await run("decode", str(exports / name))
            await run("decode", str(exports / name), "--json")

        # the Workspace's own exports, in process, over the whole path
        options = ConnectionOptions(
            url=secure_url.replace("wss://", f"wss://canary-user:{quote(CANARY, safe='')}@"),
            http_username="web",
            http_password=HTTP_CANARY,
            secret_headers=(("Authorization", HEADER_CANARY),),
            proxy=proxy_url,
            tls=TlsOptions(
                ca_file=pki.ca_file, cert_file=pki.cert, key_file=pki.key, key_password=KEY_CANARY
            ),
        )
        async with Workspace() as workspace:
            await workspace.connect(options)
            await workspace.subscribe("canary/#", 0)
            await workspace.publish("canary/ws", b"from the workspace", qos=1)
            await workspace.disconnect()
            workspace.export_messages(exports / "messages.jsonl", "jsonl")
            workspace.export_messages(exports / "messages.csv", "csv")
            workspace.export_trace(exports / "workspace.pcapng", "pcapng")
            workspace.export_trace(exports / "workspace.jsonl", "jsonl")
        assert "canary/ws" in (exports / "messages.jsonl").read_text()

    # the secrets are where they belong, and the search would find them
    assert file_keyring.get_password("mqttws-explorer", "profile/canary/password") == CANARY
    assert file_keyring.get_password("mqttws-explorer", "profile/in-url/password") == URL_CANARY
    assert file_keyring.get_password("mqttws-explorer", "profile/full/proxy_password") == PROXY_CANARY
    keyring_file = Path(file_keyring.file_path).resolve()
    assert config_dir.resolve() not in keyring_file.parents
    in_keyring = _leaks(keyring_file.read_bytes())
    for secret in (CANARY, URL_CANARY, HTTP_CANARY, HEADER_CANARY, PROXY_CANARY, KEY_CANARY):
        assert any(repr(secret) in leak for leak in in_keyring), secret
    # the exports hold the CONNECTs (the user names): the passwords' absence means masking
    for name in ("trace.pcapng", "trace.jsonl", "url.pcapng", "workspace.pcapng"):
        data = (exports / name).read_bytes()
        assert _found(data, "canary-user") or _found(data, "url-user"), name

    leaks: list[str] = []
    searched = [config_dir, exports, home, Path(os.environ.get("XDG_DATA_HOME", home))]
    files = {path for place in searched if place.exists() for path in place.rglob("*") if path.is_file()}
    files.discard(keyring_file)
    assert any(path.name == "profiles.toml" for path in files)
    for path in sorted(files):
        leaks += [f"{path}: {leak}" for leak in _leaks(path.read_bytes())]
    for argv, out in run.output:
        leaks += [f"output of {' '.join(argv)[:60]}: {leak}" for leak in _leaks(out)]
    leaks += [f"broker log: {leak}" for leak in _leaks(caplog.text.encode())]
    assert leaks == []
