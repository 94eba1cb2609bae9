"""hypercorn's HTTP/2 and WebSocket code stays out of start-up (issue 24) and still works when asked.

In a fresh interpreter (so sys.modules is clean): after `defer_unused_protocols()`, importing
`hypercorn.trio` and serving HTTP/1.1 loads none of h2's connection code, hpack, priority or
wsproto; an HTTP/2 prior-knowledge preface then gets hypercorn's SETTINGS frame and a WebSocket
upgrade its 101, the real modules loading on that first use.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SERVER = textwrap.dedent(
    """
    import sys
    from functools import partial

    import trio

    from codexlogin.listener.deferred import defer_unused_protocols

    defer_unused_protocols()
    from hypercorn.config import Config
    from hypercorn.trio import serve

    HEAVY = ("h2.connection", "hpack", "priority", "wsproto")


    def loaded():
        return sorted(name for name in HEAVY if name in sys.modules)


    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
        elif scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close"})
        elif scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})


    async def exchange(port, request):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            await stream.send_all(request)
            return await stream.receive_some(65536)


    async def main():
        config = Config()
        config.bind = ["127.0.0.1:0"]
        config.errorlog = config.accesslog = None
        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                binds = await nursery.start(partial(serve, app, config, shutdown_trigger=trio.sleep_forever))
                port = int(binds[0].rsplit(":", 1)[1])
                reply = await exchange(port, b"GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
                print("http/1.1", reply.split(b"\\r\\n")[0].decode().strip(), loaded())
                preface = b"PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
                reply = await exchange(port, preface)
                print("h2 frame type", reply[3])
                upgrade = (
                    b"GET /ws HTTP/1.1\\r\\nHost: x\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n"
                    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n"
                )
                reply = await exchange(port, upgrade)
                print("websocket", reply.split(b"\\r\\n")[0].decode().strip(), loaded())
                nursery.cancel_scope.cancel()


    trio.run(main)
    """
)


def test_h2_and_wsproto_load_only_when_a_client_asks_for_them(tmp_path):
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", SERVER], capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "http/1.1 HTTP/1.1 200 []"  # served, and nothing of h2 or wsproto loaded
    assert lines[1] == "h2 frame type 4"  # hypercorn's SETTINGS: HTTP/2 still served
    assert lines[2] == "websocket HTTP/1.1 101 ['h2.connection', 'hpack', 'priority', 'wsproto']"


def test_httpx_leaves_h2_unloaded_until_asked(tmp_path):
    """httpcore imports its HTTP/2 connection (and with it h2) whenever h2 is installed; after
    `defer_unused_protocols()` an httpx client loads none of it, and the real class is there on use."""
    code = textwrap.dedent(
        """
        import sys
        from codexlogin.listener.deferred import defer_unused_protocols, load_real
        defer_unused_protocols()
        import httpx
        httpx.Client().close()
        real = lambda name: name in sys.modules and not getattr(sys.modules[name], "__deferred__", False)
        print(sorted(m for m in ("h2.connection", "hpack", "h2.events") if real(m)))
        real = load_real("httpcore._async.http2").AsyncHTTP2Connection
        print(real.__module__, "h2.connection" in sys.modules, sys.modules["h2"].events.__name__)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[]", "httpcore._async.http2 True h2.events"]
