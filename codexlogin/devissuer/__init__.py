"""A local development OAuth 2.0 / OIDC issuer: the README's offline demo and the test suite's issuer.

`DevIssuer` is a raw ASGI app, bound to 127.0.0.1 only, that speaks both the standard dialect
(RFC 6749 / 7636 / 8252 / 8628 / 7009 / 7662, OIDC discovery and userinfo) and the openai dialect of
the Codex CLI 0.171 (deviceauth endpoints, JSON refresh, whoami) at once. Its state lives in memory,
its timers run on `trio.current_time()` (so trio's MockClock works), and `issuer.faults` (`Faults`)
makes it misbehave while it serves. Any client can use it as a test issuer: it imports nothing of the
client (tests/test_layering.py keeps it so).

From a shell:

    python -m codexlogin.devissuer --auto-approve       # prints its URL, serves until Ctrl-C
    codex login --issuer http://127.0.0.1:PORT --port 0

From Python (a full login against it, in a throwaway CODEX_HOME, with the scripted browser):

    import os, sys, tempfile
    import trio
    from codexlogin.devissuer import DevIssuer, serve_dev_issuer

    async def main() -> None:
        issuer = DevIssuer(auto_approve=True)  # no approval page: authorize redirects straight back
        async with trio.open_nursery() as nursery:
            url = await nursery.start(serve_dev_issuer, issuer)  # hypercorn on 127.0.0.1, port 0
            with tempfile.TemporaryDirectory() as home:
                env = dict(os.environ, CODEX_HOME=home,
                           BROWSER=f"{sys.executable} -m codexlogin.devissuer browse %s")
                await trio.run_process(["codex", "login", "--issuer", url, "--port", "0"], env=env)
            print([r["grant_type"] for r in issuer.token_requests()])  # ['authorization_code']
            nursery.cancel_scope.cancel()

    trio.run(main)

What a test reads and sets: `issuer.faults` (live fault injection), `issuer.request_log` /
`requests_to(path)` / `token_requests(grant_type)` / `authorize_requests()` (what the client
sent), `token_active(token)` / `verify_jwt(token)` (what it holds), `approve_device(user_code)` /
`deny_device(...)`, `issue_personal_access_token()`.

Modules: `app` (the ASGI app, its routes and endpoint table, discovery, /oauth/token dispatch,
`serve_dev_issuer`), `grants` (authorize, the token grants, revocation, userinfo, introspection),
`device` (RFC 8628), `openai` (the openai dialect's endpoints), `faults`, `jwt` (the test tokens),
`core` (state and reply helpers they share), `browser` (the scripted browser), `__main__`.
"""

from __future__ import annotations

from .app import DevIssuer, serve_dev_issuer
from .browser import browse
from .core import (
    AUTH_CLAIMS,
    GRANT_DEVICE_CODE,
    GRANT_REFRESH,
    GRANT_TOKEN_EXCHANGE,
    ID_TOKEN_TYPE,
    MISSING_ENTITLEMENT_DESCRIPTION,
    ORG_OWNER_NEEDS_SETUP,
    Request,
)
from .faults import ONBOARDING_STATE_SUFFIX, Faults
from .grants import is_loopback_redirect

__all__ = [
    "AUTH_CLAIMS",
    "DevIssuer",
    "Faults",
    "GRANT_DEVICE_CODE",
    "GRANT_REFRESH",
    "GRANT_TOKEN_EXCHANGE",
    "ID_TOKEN_TYPE",
    "MISSING_ENTITLEMENT_DESCRIPTION",
    "ONBOARDING_STATE_SUFFIX",
    "ORG_OWNER_NEEDS_SETUP",
    "Request",
    "browse",
    "is_loopback_redirect",
    "serve_dev_issuer",
]
