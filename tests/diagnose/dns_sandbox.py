"""Run a probe inside fresh network and mount namespaces with our own resolver config.

Used by the tests as ``unshare -mn python dns_sandbox.py MODE URL [PROXY_URL]``: the
new network namespace has only a loopback interface, and /etc/resolv.conf is bind-mounted
from a file naming 127.0.0.1 as the only nameserver. In ``nxdomain`` mode a tiny DNS
server on 127.0.0.1:53 (free in the new namespace) answers NXDOMAIN to every query; in
``no-resolver`` mode nothing listens there; in ``plain`` mode the namespace only has its
loopback, so other addresses are unreachable. Prints the diagnosis as JSON.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import tempfile
import threading

from explorer.client.options import ConnectionOptions
from explorer.diagnose import probe


def _nxdomain_server(sock: socket.socket) -> None:
    while True:
        try:
            query, peer = sock.recvfrom(512)
        except OSError:
            return
        if len(query) < 12:
            continue
        # RFC 1035 §4.1.1: same id, QR=1, opcode 0, RD copied, RA=1, RCODE=3 (NXDOMAIN),
        # the question echoed, no answers.
        flags = bytes([0x80 | (query[2] & 0x01), 0x80 | 3])
        sock.sendto(query[:2] + flags + query[4:6] + b"\0\0\0\0\0\0" + query[12:], peer)


def main() -> None:
    mode, url = sys.argv[1], sys.argv[2]
    proxy = sys.argv[3] if len(sys.argv) > 3 else None
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as conf:
        conf.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    subprocess.run(["mount", "--bind", conf.name, "/etc/resolv.conf"], check=True)
    if mode == "nxdomain":
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 53))
        threading.Thread(target=_nxdomain_server, args=(sock,), daemon=True).start()
    diagnosis = asyncio.run(probe(ConnectionOptions(url=url, connect_timeout=5.0, proxy=proxy)))
    print(diagnosis.to_json())


if __name__ == "__main__":
    main()
