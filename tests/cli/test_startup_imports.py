"""What a command-line call imports: ``--help`` none of the subcommand modules, ``pub``
neither Qt, Textual, the profile store nor ``sub``'s listing (start-up time is measured
by ``bench/cli_startup.py``; here only the imports are checked)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
from pathlib import Path

from explorer.broker.config import BrokerConfig
from explorer.broker.server import Broker
from explorer.cli import COMMANDS, SUMMARIES

ROOT = Path(__file__).resolve().parents[2]
_PROBE = """
import json, sys
from gui import launcher
try:
    code = launcher.main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print("MODULES=" + json.dumps(sorted(sys.modules)), file=sys.stderr)
sys.exit(code or 0)
"""
UI_TOOLKITS = ("PySide6", "shiboken6", "qasync", "textual", "rich", "gui.app", "tui")


async def _modules_after(*argv: str) -> tuple[int, set[str]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _PROBE, *argv,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), 60)
    line = next(text for text in err.decode().splitlines() if text.startswith("MODULES="))
    assert process.returncode is not None
    return process.returncode, set(json.loads(line.removeprefix("MODULES=")))


def _loaded(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


async def test_help_imports_no_subcommand_module_and_no_ui_toolkit() -> None:
    code, modules = await _modules_after("--help")
    assert code == 0
    assert _loaded(modules, UI_TOOLKITS) == []
    assert _loaded(modules, tuple(COMMANDS.values())) == []
    assert _loaded(modules, ("explorer.client", "explorer.workspace", "asyncio", "websockets")) == []


async def test_pub_of_one_message_imports_no_ui_and_no_profile_store() -> None:
    async with Broker(BrokerConfig.ephemeral(sys_interval=0)) as broker:
        assert broker.tcp_url is not None
        code, modules = await _modules_after("pub", broker.tcp_url, "-t", "startup/x", "-m", "x")
    assert code == 0
    assert _loaded(modules, UI_TOOLKITS) == []
    assert _loaded(modules, ("explorer.profiles.store", "tomlkit", "keyring", "explorer.cli.sub")) == []
    assert "explorer.client.driver" in modules  # it did connect


def test_the_overview_help_says_what_each_module_registers() -> None:
    for name, module in COMMANDS.items():
        parser = argparse.ArgumentParser()
        subparsers = parser.add_subparsers()
        importlib.import_module(module).register(subparsers)
        (action,) = subparsers._choices_actions
        assert (action.dest, action.help) == (name, SUMMARIES[name])


async def test_decode_of_a_capture_imports_only_what_the_listing_needs(tmp_path: Path) -> None:
    from bench.synthcap import write_capture

    capture = tmp_path / "small.pcap"
    write_capture(capture, 50, connections=1)
    code, modules = await _modules_after("decode", str(capture))
    assert code == 0
    assert _loaded(modules, UI_TOOLKITS) == []
    # websockets' package (its version module imports importlib.metadata, email...),
    # the JSON writer with orjson (which imports uuid and datetime), the payload codecs
    # and the spool file (a small listing stays in memory) are not needed for the listing.
    unneeded = (
        "importlib.metadata",
        "email",
        "asyncio",
        "explorer.cli.decodejson",
        "explorer.codecs.registry",
        "orjson",
        "uuid",
        "tempfile",
    )
    assert _loaded(modules, unneeded) == []
    assert "websockets" not in modules
    assert "websockets.speedups" in modules  # masked frames were read with the C version
