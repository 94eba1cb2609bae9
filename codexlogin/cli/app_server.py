"""`codex login app-server`: the account subset of the Codex app-server protocol over stdio (api.appserver).

stdin is read line by line in a worker thread (abandoned when the server ends: no non-blocking
mode is forced on a descriptor the parent shares); each message is written to stdout in one write
and flushed. The server ends when stdin does (exit 0), or on an ending signal (130, 143); a login
still waiting is cancelled either way.
"""

from __future__ import annotations

import sys
from typing import Annotated

from cyclopts import Parameter

from codexlogin.cli.boundary import command
from codexlogin.cli.options import IssuerOptions


@command
def app_server(
    *,
    port: Annotated[int | None, Parameter(name="--port")] = None,
    options: IssuerOptions = IssuerOptions(),
) -> int:
    """Serve the Codex app-server's account protocol (JSON-RPC lines) on stdin/stdout.

    For programs that drive the login as they drive `codex app-server`: initialize, account/read,
    account/login/start (apiKey, chatgpt, chatgptDeviceCode), account/login/cancel, account/logout,
    with the account/login/completed and account/updated notifications. Ends when stdin closes.

    Parameters
    ----------
    port
        Callback port of browser logins, 0 for any free port [env: CODEX_LOGIN_PORT] (default 1455).
    """
    from codexlogin.api.appserver import serve_app_server
    from codexlogin.cli.signals import run_flow

    settings = options.settings(port=port)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer

    async def read_line() -> bytes | None:
        import trio

        line = await trio.to_thread.run_sync(stdin.readline, abandon_on_cancel=True)
        return line or None

    async def write_line(line: bytes) -> None:
        stdout.write(line)
        stdout.flush()

    run_flow(serve_app_server, read_line, write_line, settings, what="app-server")
    return 0
