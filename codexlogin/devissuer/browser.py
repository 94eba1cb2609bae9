"""The scripted browser: `browse(url)` stands in for the user's browser (the `BROWSER=` of tests and demos).

python -m codexlogin.devissuer browse URL [--deny]
"""

from __future__ import annotations

import html
import re
import sys
from typing import TextIO

_PENDING_RE = re.compile(r'name="pending_id" value="([^"]*)"')


def browse(url: str, *, deny: bool = False, timeout: float = 10.0, out: TextIO | None = None) -> int:
    """Act as the user's browser: open `url`, answer an approval page, follow redirects to the
    loopback callback. Prints the final page's status line; 0 on a 2xx final page, else 1."""
    import httpx

    out = out or sys.stdout

    def to_loopback(request: httpx.Request) -> None:
        # The callback is http://localhost:PORT/...; the listener binds 127.0.0.1 only, so go
        # there directly (the Host header keeps saying localhost) instead of trying ::1 first.
        if request.url.host == "localhost":
            request.url = request.url.copy_with(host="127.0.0.1")

    try:
        with httpx.Client(
            follow_redirects=True, timeout=timeout, trust_env=False, event_hooks={"request": [to_loopback]}
        ) as client:
            response = client.get(url)
            match = _PENDING_RE.search(response.text) if response.status_code == 200 else None
            if match is not None:
                decision = {"pending_id": html.unescape(match.group(1)), "decision": "deny" if deny else "approve"}
                response = client.post(response.url.join("/oauth/authorize/decision"), data=decision)
    except httpx.HTTPError as exc:
        print(f"browse: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    reason = response.reason_phrase or httpx.codes.get_reason_phrase(response.status_code)
    print(f"{response.http_version} {response.status_code} {reason}", file=out)
    return 0 if response.is_success else 1
