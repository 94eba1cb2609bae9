"""The banner's short sign-in address (`http://localhost:PORT/<start_path>`), which the listener
redirects to the sign-in URL. Its own module (hmac, hashlib, base64 only) so that the URL is built
before listener.decide's imports load; listener.decide re-exports these names.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

START_PATH_CHARS = 12  # the short sign-in address's path: http://localhost:PORT/<these>


def start_path(state: str) -> str:
    """The path of the banner's short address, which redirects to the sign-in URL.

    Derived from the state (HMAC), so only who saw the terminal knows it: the sign-in URL carries
    the state, the PKCE challenge and the nonce, and a local program that could fetch it from a
    guessable `GET /` could sign the user in to its own account (login CSRF). The path reveals
    nothing of the state."""
    digest = hmac.new(state.encode(), b"codex-login short sign-in address", hashlib.sha256).digest()
    return "/" + base64.b32encode(digest).decode()[:START_PATH_CHARS].lower()


def start_url(port: int, state: str) -> str:
    """The banner's short address: `http://localhost:PORT/<start_path>`."""
    return f"http://localhost:{port}{start_path(state)}"
