"""Every subcommand meets bad input with one line on stderr and a non-zero exit, never a traceback.

Each case runs the command line as a user types it (``explorer.cli.main``, in process, so
an exception that escapes fails the test with its traceback); the broker cases run as a
child process, since a broker that accepted its flags would run until stopped. Cases
that carry a password check that the message does not repeat it.
"""

from __future__ import annotations

import io
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.cli import main
from tests.keyring_support import config_dir

__all__ = ["config_dir"]

ROOT = Path(__file__).parent.parent.parent
SECRET = "Bad-input-pw-91c"


def _refused_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"ws://127.0.0.1:{port}/mqtt"


URL = _refused_url()

_CONNECTION_CASES: list[tuple[str, ...]] = [
    (),  # no URL, no profile
    ("http://h/mqtt",),
    ("localhost:1883",),
    ("ws://h:99999/mqtt",),
    (f"ws://alice:{SECRET}@h:99999/mqtt",),
    (f"ws://alice:{SECRET}@[::1/mqtt",),
    (URL, "--header", "X-A: one\r\nX-B: two"),
    (URL, "--header", "no colon here"),
    (URL, "--secret-header", f"Authorization: {SECRET}\r\nX: y"),
    (URL, "--secret-header", f"Authorization {SECRET}"),
    (URL, "--origin", "http://a\r\nX-Injected: 1"),
    (URL, "--http-user", "u\nv"),
    (URL, "--keep-alive", "-1"),
    (URL, "--keep-alive", "70000"),
    (URL, "--connect-timeout", "0"),
    (URL, "--password-env", "MQTTWS_TEST_SURELY_UNSET"),
    (URL, "--password-stdin", "--http-password-stdin"),
    (URL, "--profile", "nosuch"),
    (URL, "--mqtt-version", "4"),
    (URL, "--will-message", "x"),
    (URL, "--user-property", "novalue"),
    (URL, "--receive-maximum", "0"),
    (f"ws://alice:{SECRET}@127.0.0.1:1/mqtt", "--username", "bob"),
]

CASES: list[tuple[str, ...]] = [
    *(("sub", *case, "-t", "a/#") for case in _CONNECTION_CASES),
    *(("pub", *case, "-t", "a", "-m", "x") for case in _CONNECTION_CASES),
    *(("trace", *case, "-t", "a", "--export", "{unused}", "-W", "1") for case in _CONNECTION_CASES),
    *(("probe", *case) for case in _CONNECTION_CASES),
    *(("record", *case, "-t", "a", "--out", "{unused_db}", "-W", "1") for case in _CONNECTION_CASES),
    # a refused connection (probe reports it on stdout: the diagnosis is its output)
    ("sub", URL, "--username", "bob", "--password-env", "HOME", "-t", "a"),
    ("pub", URL, "--username", "bob", "--password-env", "HOME", "-t", "a", "-m", "x"),
    ("trace", URL, "-t", "a", "--export", "{unused}"),
    ("sub", URL, "-t", "a/#/b"),
    ("sub", URL, "-t", ""),
    ("sub", URL, "-t", "a", "-C", "0"),
    ("sub", URL, "-t", "a", "-W", "-1"),
    ("sub", URL, "-t", "a", "-W", "nan"),
    ("trace", URL, "-t", "a", "--export", "{unused}", "-W", "nan"),
    ("sub", URL, "-t", "a", "-q", "3"),
    ("sub", URL),
    ("pub", URL, "-t", "a/+", "-m", "x"),
    ("pub", URL, "-t", "a"),
    ("pub", URL, "-t", "a", "-f", "/nonexistent/payload"),
    ("pub", URL, "-t", "a", "-f", "/"),
    ("pub", URL, "-t", "a", "-m", "x", "--property", "bogus=1"),
    ("pub", URL, "-t", "a", "-m", "x", "--property", "topic-alias=x", "--mqtt-version", "5"),
    ("pub", URL, "-t", "a", "-m", "x", "--property", "message-expiry=5"),
    ("pub", URL, "-t", "a", "-f", "-", "--password-stdin"),
    ("trace", URL, "-t", "a", "--export", "/nonexistent-dir/x.pcapng", "-W", "1"),
    ("trace", URL, "-t", "a", "--export", "x.txt", "-W", "1"),
    ("trace", URL, "-t", "a", "--export", "x.jsonl", "--format", "csv"),
    ("trace", URL, "-t", "a", "--export", "x.jsonl", "--limit", "-1"),
    ("trace", URL, "-t", "a"),
    ("probe", URL, "--idle", "-1"),
    ("probe", URL, "--idle", "soon"),
    ("probe", URL, "--idle", "nan"),
    ("decode", "/nonexistent.pcapng"),
    ("decode", "/"),
    ("decode", "{empty}"),
    ("decode", "{text}"),
    ("decode", "{truncated}"),
    ("decode", "{capture}", "--port", "99999"),
    ("decode", "{capture}", "--port", "web"),
    ("decode",),
    ("record", URL, "-t", "a"),
    ("record", URL, "-t", "a", "--out", "/nonexistent-dir/r.db"),
    ("record", URL, "-t", "a", "--out", "{unused_db}", "--max-size", "lots"),
    ("search", "/nonexistent.db"),
    ("search", "/"),
    ("search", "{text}"),
    ("search", "{empty}"),
    ("search", "{badsqlite}"),
    ("search", "{text}", "--since", "yesterday"),
    ("search", "{text}", "--topic", "a/#/b"),
    ("stats", "/nonexistent.db"),
    ("stats", "{badsqlite}"),
    ("stats", "http://h/"),
    ("stats", "{text}", "--sort", "bogus"),
    ("replay", "/nonexistent.db", URL),
    ("replay", "{badsqlite}", URL),
    ("replay", "{text}", URL, "--speed", "0"),
    ("replay", "{text}", URL, "--max-rate", "nan"),
    ("profiles", "show", "nosuch"),
    ("profiles", "add", "bad/name", "--url", "ws://h/"),
    ("profiles", "add", "p"),
    ("profiles", "add", "p", "--url", "nope"),
    ("profiles", "add", "p", "--url", f"ws://a:{SECRET}@h:bad/"),
    ("profiles", "add", "p", "--url", "ws://h/", "--header", "X: a\nb"),
    ("profiles", "add", "p", "--url", "ws://h/", "--profile", "other"),
    ("profiles", "edit", "nosuch", "--keep-alive", "5"),
    ("profiles", "edit", "p", "--unset", "bogus"),
    ("profiles", "rm", "nosuch"),
    ("profiles", "rename", "nosuch", "x"),
    ("profiles", "copy", "nosuch", "x"),
    ("profiles", "export", "nosuch"),
    ("profiles", "import", "/nonexistent.json"),
    ("profiles", "import", "/"),
    ("profiles", "import", "{text}"),
    ("profiles", "import", "{badjson}"),
    ("profiles", "import", "{badtoml}"),
    ("profiles", "import", "{binary}"),
    ("profiles", "import", "/dev/zero"),
    ("profiles", "frobnicate"),
    ("nosuchcommand",),
]

BROKER_CASES: list[tuple[str, ...]] = [
    ("broker", "--ws-port", "abc"),
    ("broker", "--ws-port", "70000"),
    ("broker", "--fault", "bogus"),
    ("broker", "--password-file", "/nonexistent/passwd"),
    ("broker", "--acl-file", "/nonexistent/acl"),
    ("broker", "--max-packet-size", "-5"),
    ("broker", "--password-file", "{binary}"),
    ("broker", "--acl-file", "{binary}"),
    ("broker", "--add-user", "/", "alice"),
    ("broker", "--demo", "--demo-rate", "0"),
    ("broker", "--demo", "--demo-rate", "-1"),
    ("broker", "--sys-interval", "-1"),
]


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, str]:
    files = {
        "empty": b"",
        "text": b"hello, this is not a capture\n",
        "truncated": (ROOT.parent / "shared" / "captures" / "small.pcapng").read_bytes()[:100]
        if (ROOT.parent / "shared" / "captures" / "small.pcapng").exists()
        else b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00",
        "badjson": b'[{"name": "x", ',
        "badtoml": b"version = 1\n[profiles.p\nurl = 'ws://h/'\n",
        "binary": bytes(range(256)),
        "badsqlite": b"SQLite format 3\x00" + bytes(range(256)) * 8,
    }
    paths = {}
    for name, data in files.items():
        path = tmp_path / f"{name}.in"
        path.write_bytes(data)
        paths[name] = str(path)
    capture = tmp_path / "capture.pcapng"
    capture.write_bytes(b"\x0a\x0d\x0d\x0a")
    paths["capture"] = str(capture)
    paths["unused"] = str(tmp_path / "unused.jsonl")
    paths["unused_db"] = str(tmp_path / "unused.db")
    return paths


def _check(code: object, out: str, err: str, argv: tuple[str, ...]) -> None:
    assert code not in (0, None), (argv, out, err)
    assert "Traceback" not in err, (argv, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, (argv, err)
    assert lines[0].startswith("mqttws-explorer"), (argv, err)
    assert SECRET not in out + err, (argv, err)


@pytest.mark.parametrize("argv", CASES, ids=lambda argv: " ".join(argv)[:80])
def test_bad_input_is_one_line_and_a_non_zero_exit(
    argv: tuple[str, ...],
    inputs: dict[str, str],
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = tuple(arg.format(**inputs) if arg.startswith("{") else arg for arg in argv)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    try:
        code: object = main(list(argv))
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    _check(code, captured.out, captured.err, argv)


def test_a_broken_profiles_file_is_one_line_for_every_command(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config_dir.mkdir()
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    broken = {
        "syntax": b"version = 1\n[profiles.p]\nurl = \n",
        "types": b'version = 1\n[profiles.p]\nurl = "ws://h/"\nkeep_alive = "long"\n',
        "not utf-8": b'version = 1\n[profiles.p]\nurl = "ws://h/\xff"\n',
        "newer": b"version = 99\n",
        "profiles not a table": b'version = 1\nprofiles = "x"\n',
        "huge": b"# " + b"x" * (16 * 1024 * 1024) + b"\n",
    }
    commands = [
        ("profiles", "list"),
        ("profiles", "show", "p"),
        ("profiles", "add", "q", "--url", "ws://h/"),
        ("profiles", "export"),
        ("sub", "--profile", "p", "-t", "a"),
        ("pub", "--profile", "p", "-t", "a", "-m", "x"),
        ("probe", "--profile", "p"),
    ]
    for name, data in broken.items():
        (config_dir / "profiles.toml").write_bytes(data)
        for argv in commands:
            try:
                code: object = main(list(argv))
            except SystemExit as exc:
                code = exc.code
            captured = capsys.readouterr()
            _check(code, captured.out, captured.err, (name, *argv))


@pytest.mark.slow
@pytest.mark.parametrize("argv", BROKER_CASES, ids=" ".join)
def test_bad_broker_flags_are_one_line(argv: tuple[str, ...], inputs: dict[str, str]) -> None:
    argv = tuple(arg.format(**inputs) if arg.startswith("{") else arg for arg in argv)
    done = subprocess.run(
        [sys.executable, "-m", "explorer", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    _check(done.returncode, done.stdout, done.stderr, argv)


def test_an_endless_secret_on_stdin_is_refused(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("x" * 100_000))
    argv = ("pub", URL, "-t", "a", "-m", "x", "-u", "u", "--password-stdin")
    try:
        code: object = main(list(argv))
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    _check(code, captured.out, captured.err, argv)
    assert "longer than 65,535" in captured.err
