"""Canary: a known password never lands in a file, a log or an export.

A profile is created, edited, copied, renamed, used by the connecting commands and
exported, against the embedded broker, which requires that password (so a command
that succeeds really sent it). Afterwards the password, and a secret header value, are
searched for in every file under the config directory, everything the commands
printed, the broker's log, the trace export and the profile export. The keyring file
(keyrings.alt, under XDG_DATA_HOME) is the one place it may be, and is checked to be
outside the config directory.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from explorer.broker.auth import add_user
from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from tests.keyring_support import config_dir, file_keyring

__all__ = ["config_dir", "file_keyring"]

CANARY = "Canary-pw-5e1f9b7Q"
HEADER_CANARY = "Bearer canary-token-77d2"
ROOT = Path(__file__).parent.parent.parent


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[Broker]:
    passwords = tmp_path / "broker" / "passwd"
    passwords.parent.mkdir()
    add_user(passwords, "canary-user", CANARY)
    async with Broker(BrokerConfig.ephemeral(password_file=str(passwords))) as running:
        yield running


class _Runner:
    """Runs ``python -m explorer ...`` without blocking the loop the broker runs on."""

    def __init__(self) -> None:
        self.output: list[bytes] = []

    async def __call__(
        self, *argv: str, stdin: str = "", expect: int | None = 0, env: dict[str, str] | None = None
    ) -> tuple[int, str]:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "explorer",
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
        )
        out, _ = await asyncio.wait_for(child.communicate(stdin.encode()), timeout=90)
        self.output.append(out)
        code = child.returncode
        assert code is not None
        if expect is not None:
            assert code == expect, f"{argv} exited {code}: {out.decode(errors='replace')}"
        return code, out.decode(errors="replace")


def _masked_find(data: bytes, secret: bytes) -> bool:
    """True if ``secret`` appears XORed with a repeating 4-byte key (RFC 6455 §5.3 masking).

    Client frames in a capture are masked, so a plain search would miss a password in
    a CONNECT; the key is derived from the first four bytes at each offset and checked
    against the rest (any phase of the key works, since it simply repeats).
    """
    n = len(secret)
    for start in range(len(data) - n + 1):
        key = bytes(data[start + j] ^ secret[j] for j in range(4))
        if all(data[start + i] ^ secret[i] == key[i % 4] for i in range(4, n)):
            return True
    return False


def _found(data: bytes, secret: str) -> str | None:
    raw = secret.encode()
    for form in (raw, base64.b64encode(raw), raw.hex().encode()):
        if form in data:
            return f"{secret!r} as {form[:12]!r}..."
    if _masked_find(data, raw):
        return f"{secret!r} WebSocket-masked"
    return None


def _leaks(data: bytes) -> list[str]:
    found = (_found(data, secret) for secret in (CANARY, HEADER_CANARY, "canary-token-77d2"))
    return [leak for leak in found if leak]


@pytest.mark.slow
async def test_the_password_never_reaches_a_file_a_log_or_an_export(
    broker: Broker,
    config_dir: Path,
    file_keyring: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    run = _Runner()
    url = broker.ws_url
    assert url is not None
    exports = tmp_path / "exports"
    exports.mkdir()

    # create, edit, copy, rename
    await run("profiles", "add", "canary", "--url", url, "--username", "canary-user", "--password-stdin",
              stdin=CANARY + "\n")  # fmt: skip
    await run(
        "profiles",
        "edit",
        "canary",
        "--keep-alive",
        "30",
        "--secret-header",
        f"Authorization: {HEADER_CANARY}",
    )
    await run("profiles", "edit", "canary", "--password-stdin", "--client-id", "canary-client", stdin=CANARY)
    await run("profiles", "copy", "canary", "canary-copy")
    await run("profiles", "rename", "canary-copy", "canary-2")
    await run("profiles", "show", "canary")
    await run("profiles", "show", "canary", "--json")
    await run("profiles", "list", "--json")

    # use (sub, pub, trace with export, probe): the broker demands the password, so
    # success proves it was sent
    await run("pub", "--profile", "canary", "-t", "canary/topic", "-m", "hello", "-q", "1")
    await run("pub", "--profile", "canary-2", "-t", "canary/topic", "-m", "again")
    await run("pub", "--profile", "canary", "-t", "canary/retained", "-m", "kept", "-r", "-q", "1")
    # the retained message arrives at once, so -C 1 ends the subscription without waiting
    await run("sub", "--profile", "canary", "-t", "canary/#", "-C", "1")
    await run("sub", "--profile", "canary-2", "-t", "canary/#", "-C", "1", "--json", "--trace")
    for name in ("trace.pcapng", "trace.jsonl"):
        await run(
            "trace", "--profile", "canary", "-t", "canary/#", "--export", str(exports / name), "-W", "0.5"
        )
    await run("probe", "--profile", "canary")
    await run("probe", "--profile", "canary", "--json")
    # and a wrong password is refused: the broker really checks
    code, _ = await run("pub", "--profile", "canary", "--password-env", "WRONG_PW", "-t", "x", "-m", "x",
                        expect=None, env={"WRONG_PW": "not-the-password"})  # fmt: skip
    assert code != 0

    # export
    await run("profiles", "export", "-o", str(exports / "profiles-export.toml"))
    await run("profiles", "export", "canary")

    assert file_keyring.get_password("mqttws-explorer", "profile/canary/password") == CANARY
    keyring_file = Path(file_keyring.file_path).resolve()
    assert config_dir.resolve() not in keyring_file.parents
    # The detector finds the secret where it is meant to be (keyrings.alt stores base64).
    assert _leaks(keyring_file.read_bytes())

    # The trace exports hold the CONNECT (its user name, masked on the wire in pcapng), so the
    # password's absence means it was masked, not that the packet was missing.
    for name in ("trace.pcapng", "trace.jsonl"):
        assert _found((exports / name).read_bytes(), "canary-user"), name

    leaks: list[str] = []
    files = [path for path in config_dir.rglob("*") if path.is_file()]
    assert files, "the config directory should hold profiles.toml"
    for path in [*files, *exports.rglob("*")]:
        if path.is_file():
            leaks += [f"{path}: {leak}" for leak in _leaks(path.read_bytes())]
    for index, out in enumerate(run.output):
        leaks += [f"command output #{index}: {leak}" for leak in _leaks(out)]
    leaks += [f"broker log: {leak}" for leak in _leaks(caplog.text.encode())]
    assert leaks == []
