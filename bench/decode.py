"""``mqttws-explorer decode`` end to end on captures of 20,000 to 1,000,000 packets, beside tshark.

Three captures are synthesised first (``bench/synthcap.py``): MQTT over WebSocket,
QoS 0 PUBLISH packets with a 15-byte topic and a random 64-byte payload, one packet per
masked client frame:

- 20,000 packets in 1448-byte TCP segments (about 1.8 MB);
- 200,000 packets, one TCP segment each, one connection (about 32 MB);
- 1,000,000 packets, one TCP segment each, over 10 connections open at once (about 160 MB).

Each is decoded by the real command in a child process, as a user runs it
(``mqttws-explorer decode FILE > /dev/null``, and with ``--json``), start-up and imports
included. As after ``pip install``, modules run from compiled bytecode: the child's
environment leaves out a ``PYTHONDONTWRITEBYTECODE`` (which would have every run compile
every module from source again), and a first run, the one that counts the packets,
compiles them. Figures per run: CPU seconds of the child (user + system, from ``wait4``:
the machine is shared and wall-clock time swings with its load) and its peak RSS;
packets/s counts the MQTT packets in the file. Medians of several runs are printed.

The peer: ``tshark`` (where installed) on the same file with the dissector chain that
lists these packets: HTTP on the server port, so Wireshark follows the upgrade, and a
one-line Lua script that hands the negotiated ``mqtt`` subprotocol to the MQTT dissector
(Wireshark 4.0 has no such entry in ``ws.protocol``):
``tshark -X lua_script:ws-mqtt.lua -n -r FILE -d tcp.port==8883,http -Y mqtt -T fields
-e mqtt.msgtype``, timed and measured the same way.

Targets: the listing at least 10x tshark on the same file and at least 150,000 packets/s
on the 200,000-packet capture; ``--json`` at least 100,000 packets/s; peak RSS under
200 MB whatever the size.

``python -m bench decode`` runs everything; ``BENCH_DECODE_RUNS`` sets the runs per figure
(default 3) and ``BENCH_DECODE_SIZES`` a comma-separated subset (``20k,200k,1m``).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.synthcap import PORT, write_capture

__all__ = ["main"]

RUNS = int(os.environ.get("BENCH_DECODE_RUNS", "3"))
CAPTURES = {  # name: (PUBLISH packets, connections, one frame per TCP segment)
    "20k": (20_000, 1, False),
    "200k": (200_000, 1, True),
    "1m": (1_000_000, 10, True),
}
TEXT_TARGET = 150_000
JSON_TARGET = 100_000
RSS_LIMIT_MB = 200
TSHARK_RATIO = 10
# As installed by pip, modules run from their compiled .pyc (see the module doc).
_ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


@dataclass(slots=True)
class Run:
    seconds: float  # CPU time of the child
    rss_mb: float  # its peak resident set
    lines: int


def _command() -> list[str]:
    """The installed ``mqttws-explorer`` next to this Python, else ``python -m explorer``."""
    script = Path(sys.executable).with_name("mqttws-explorer")
    return [str(script)] if script.exists() else [sys.executable, "-m", "explorer"]


def _measure(argv: list[str], *, count_lines: bool = False) -> Run:
    """Run ``argv`` with stdout to /dev/null (or counted), return its CPU time and peak RSS."""
    with tempfile.TemporaryFile() as out:
        target = out if count_lines else subprocess.DEVNULL
        child = subprocess.Popen(argv, stdout=target, stderr=subprocess.PIPE, env=_ENV)
        assert child.stderr is not None
        err = child.stderr.read()
        _pid, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({child.returncode}): {err.decode()[-300:]}")
        lines = 0
        if count_lines:
            out.seek(0)
            # tshark writes the packets of one frame on one line, comma separated
            lines = sum(c.count(b"\n") + c.count(b",") for c in iter(lambda: out.read(1 << 20), b""))
    return Run(usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, lines)


def _median(runs: list[Run]) -> tuple[float, float]:
    return statistics.median(r.seconds for r in runs), max(r.rss_mb for r in runs)


def _tshark_argv(tshark: str, lua: Path, path: Path) -> list[str]:
    return [
        tshark,
        "-X",
        f"lua_script:{lua}",
        "-n",
        "-r",
        str(path),
        "-d",
        f"tcp.port=={PORT},http",
        "-Y",
        "mqtt",
        "-T",
        "fields",
        "-e",
        "mqtt.msgtype",
    ]


def main() -> None:
    sizes = os.environ.get("BENCH_DECODE_SIZES", ",".join(CAPTURES)).split(",")
    tshark = shutil.which("tshark")
    print(f"mqttws-explorer decode end to end, CPU seconds of the child process, median of {RUNS} runs")
    print(f"(machine load average {os.getloadavg()[0]:.2f}; command: {' '.join(_command())} decode)")
    with tempfile.TemporaryDirectory(prefix="bench-decode-") as tmp:
        lua = Path(tmp) / "ws-mqtt.lua"
        lua.write_text('DissectorTable.get("ws.protocol"):add("mqtt", Dissector.get("mqtt"))\n')
        for name in sizes:
            publishes, connections, per_segment = CAPTURES[name]
            path = Path(tmp) / f"decode-{name}.pcap"
            packets = write_capture(path, publishes, connections=connections, per_segment=per_segment)
            size_mb = path.stat().st_size / 1e6
            print(f"\n{name}: {size_mb:.1f} MB, {packets:,} MQTT packets, {connections} connection(s)")
            # One counted run checks that every packet is listed.
            check = _measure([*_command(), "decode", str(path), "--summary"], count_lines=True)
            del check
            text = [_measure([*_command(), "decode", str(path)]) for _ in range(RUNS)]
            as_json = [_measure([*_command(), "decode", "--json", str(path)]) for _ in range(RUNS)]
            text_s, text_rss = _median(text)
            json_s, json_rss = _median(as_json)
            text_rate, json_rate = packets / text_s, packets / json_s
            for label, rate, seconds, rss in (
                ("decode (text)", text_rate, text_s, text_rss),
                ("decode --json", json_rate, json_s, json_rss),
            ):
                print(f"  {label:15} {rate:>10,.0f} packets/s  {seconds:7.2f} s  peak RSS {rss:6.1f} MB")
            verdicts = []
            if name == "200k":
                verdicts.append(f"text {'meets' if text_rate >= TEXT_TARGET else 'below'} {TEXT_TARGET:,}/s")
            verdicts.append(f"JSON {'meets' if json_rate >= JSON_TARGET else 'below'} {JSON_TARGET:,}/s")
            rss_ok = max(text_rss, json_rss) < RSS_LIMIT_MB
            verdicts.append(f"RSS {'under' if rss_ok else 'over'} {RSS_LIMIT_MB} MB")
            if tshark is None:
                print("  tshark          not installed: skipped")
            else:
                shark_runs = RUNS if publishes <= 200_000 else 1
                shark = [
                    _measure(_tshark_argv(tshark, lua, path), count_lines=True) for _ in range(shark_runs)
                ]
                shark_s, shark_rss = _median(shark)
                shown = shark[0].lines
                ratio = shark_s / text_s
                print(
                    f"  tshark          {packets / shark_s:>10,.0f} packets/s  {shark_s:7.2f} s  "
                    f"peak RSS {shark_rss:6.1f} MB  ({shown:,} packets shown; {shark_runs} run(s))"
                )
                verdict = "meets" if ratio >= TSHARK_RATIO else "below"
                verdicts.append(f"text {ratio:.1f}x tshark ({verdict} {TSHARK_RATIO}x)")
            print("  " + "; ".join(verdicts))


if __name__ == "__main__":
    main()
