"""The pasted redirect: a browser on another machine (SSH, a container, a devbox) ends the sign-in on
`http://localhost:PORT/auth/callback?code=…&state=…`, a page that cannot load there, yet its address
holds everything the login needs. Pasted into the waiting terminal, it is turned into the request
the listener would have received and handed to the same `LoginSession` (listener.app), so the state
is checked by the same pure `decide`, the completion, the log tree and the exit codes are the
listener's, and whichever arrives first (the listener's callback or the paste) wins.

Flows never read the terminal: the CLI gives `accept_pasted_redirects` an async source of lines
(cli.paste reads them with the terminal's echo off). A pasted line is a secret (it carries the
code): it is registered for redaction before anything is logged, and never shown.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from codexlogin import diagnostics
from codexlogin.flows.ui import LoginUI
from codexlogin.listener.app import LoginSession
from codexlogin.listener.decide import CALLBACK_PATH, MAX_QUERY_BYTES, Action, CallbackRequest
from codexlogin.redact import register_secrets

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
MAX_PASTE_CHARS = MAX_QUERY_BYTES + 512  # the listener reads no more of a query either


class NotARedirect(ValueError):
    """A pasted line that is not a loopback redirect address of this login (the words say why)."""


def pasted_request(text: str, port: int) -> CallbackRequest:
    """The callback request a pasted redirect address stands for: `http://localhost:PORT/auth/callback?…`
    or `http://127.0.0.1:PORT/…` (the scheme, the path or the whole address before `?` may be left
    out). The host and port are kept as pasted, so `decide` refuses another port as the listener
    would refuse another Host; NotARedirect for anything else."""
    text = text.strip().strip("<>\"'").strip()
    if not text:
        raise NotARedirect("nothing was pasted")
    if text.startswith("?"):  # only the query: this login's own address is meant
        return CallbackRequest("GET", CALLBACK_PATH, text[1:].encode("utf-8", "replace"), host=f"localhost:{port}")
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        pasted_port = parts.port
    except ValueError:
        raise NotARedirect("that is not an address") from None
    host = (parts.hostname or "").lower()
    if parts.scheme.lower() not in ("http", "https") or host not in LOOPBACK_NAMES:
        raise NotARedirect("that is not the localhost address the sign-in ended on")
    if not parts.query:
        raise NotARedirect("the address carries no ?code=… or ?error=… (copy the whole address)")
    if parts.path not in ("", "/", CALLBACK_PATH):
        # Never the short sign-in address (one-shot: a paste must not use it up) nor another path.
        raise NotARedirect(f"that is not the address the sign-in ended on (…{CALLBACK_PATH}?code=…)")
    shown_host = f"[{host}]" if ":" in host else host
    return CallbackRequest(
        "GET", CALLBACK_PATH, parts.query.encode("utf-8", "replace"), host=f"{shown_host}:{pasted_port if pasted_port else port}"
    )


def pasted_secret(text: str) -> str:
    """What of a pasted line is redacted wherever it appears: its query (the code and the state)
    when it has one, else the whole line. Not the address before the `?`: that is this login's
    redirect URI, which the log shows elsewhere and which must stay readable there."""
    text = text.strip()
    _, mark, query = text.partition("?")
    return query if mark and query else text


def _ignored_reason(status: int, log_facts: dict[str, object], port: int) -> str:
    if status == 403:
        return f"it is not for this login's port {port} (an older `codex login`?)"
    if log_facts.get("has_state") and not log_facts.get("state_valid"):
        return "it belongs to another sign-in (an older tab or an earlier `codex login`)"
    if not log_facts.get("has_state"):
        return "it carries no state, so it cannot belong to this sign-in"
    if not log_facts.get("has_code"):
        return "it carries no authorization code"
    return f"the listener would answer it with HTTP {status}"


async def accept_pasted_redirects(session: LoginSession, lines: AsyncIterator[str], ui: LoginUI) -> None:
    """Hand each pasted redirect address to `session`, until the login is decided or the lines end.
    What cannot finish the sign-in is said (never the line itself) and the login keeps waiting."""
    closing = getattr(lines, "aclose", None)
    async with contextlib.AsyncExitStack() as stack:
        if closing is not None:  # the source stops reading the terminal when it is closed
            stack.push_async_callback(closing)
        async for line in lines:
            line = line[:MAX_PASTE_CHARS]
            if not line.strip():
                continue
            register_secrets(pasted_secret(line))
            if session.outcome is not None or session.exchanging:
                return
            try:
                request = pasted_request(line, session.port)
            except NotARedirect as problem:
                diagnostics.schema.PASTED_REDIRECT.log(usable=False)
                ui.warning(f"the pasted text was not used: {problem}; the login keeps waiting")
                continue
            diagnostics.schema.PASTED_REDIRECT.log(usable=True)
            register_secrets(request.params.get("code") or None)
            ui.status("Checking the pasted address…")
            decision, status, _page = await session.answer(request)
            if decision.action is Action.IGNORE and session.outcome is None:
                why = _ignored_reason(status, dict(decision.log_facts), session.port)
                ui.warning(f"the pasted address cannot finish this sign-in: {why}; the login keeps waiting")
            if session.outcome is not None:
                return
