"""A tripwire for the interop scripts: a loopback HTTP server that answers every request with 503
and records its request line, so a run given it as its proxy shows whether anything went to a host
other than the loopback provider.

    python tripwire.py --record FILE      # prints "tripwire listening on http://127.0.0.1:<port>"

The interop scripts run `codex login status --check` and `codex logout` with HTTP_PROXY,
HTTPS_PROXY and ALL_PROXY naming it and NO_PROXY=127.0.0.1,localhost: a request to the provider
goes straight to it, a request to any other host (say the default issuer https://auth.openai.com,
as a CONNECT) lands here and is written to FILE, one JSON line {"line": request line, "bytes": size}.
FILE stays empty when nothing else was asked. Stdlib only; ends on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import sys
import threading


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--record", required=True)
    args = parser.parse_args()
    lock = threading.Lock()
    open(args.record, "a").close()

    def handle(conn: socket.socket) -> None:
        conn.settimeout(5)
        data = b""
        try:
            while b"\r\n\r\n" not in data and len(data) < 1 << 16:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
        line = data.split(b"\r\n", 1)[0].decode("latin-1")
        with lock, open(args.record, "a") as f:
            f.write(json.dumps({"line": line, "bytes": len(data)}) + "\n")
        try:
            conn.sendall(b"HTTP/1.1 503 tripwire\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        except OSError:
            pass
        conn.close()

    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: sys.exit(0))
    print(f"tripwire listening on http://127.0.0.1:{server.getsockname()[1]}", flush=True)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
