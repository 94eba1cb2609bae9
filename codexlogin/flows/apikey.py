"""`codex login --with-api-key`: read an API key from stdin and store it.

The key is read from a pipe only, never from a terminal (it would echo and land in scrollback) and
never from argv (it would show in `ps` and shell history). Stored as
`{"auth_mode": "apikey", "OPENAI_API_KEY": …}` in the configured credentials backend. The key
never reaches codex-login.log (only the save event, with the backend, is logged).
"""

from __future__ import annotations

from typing import TextIO

from codexlogin.credentials.store import (
    check_login_method,
    describe_location,
    save_credentials_locked_sync,
)
from codexlogin.errors import UsageError
from codexlogin.credentials.files import AuthDotJson

PIPE_HINT = "printenv OPENAI_API_KEY | codex login --with-api-key"
MAX_KEY_CHARS = 4096


def read_api_key(stdin: TextIO | None) -> str:
    """The key from a non-terminal stdin, stripped; UsageError for a terminal, empty or odd input."""
    if stdin is None or stdin.closed:
        raise UsageError(f"--with-api-key reads the key from stdin, but there is none; pipe it in: `{PIPE_HINT}`")
    if stdin.isatty():
        raise UsageError(
            f"--with-api-key reads the key from stdin and refuses a terminal (the key would echo); pipe it in: `{PIPE_HINT}`"
        )
    raw = stdin.read(MAX_KEY_CHARS + 1)
    if isinstance(raw, bytes):  # a binary stream was passed
        raw = raw.decode("utf-8", "replace")
    key = raw.strip()
    if not key:
        raise UsageError(f"no API key on stdin (the input was empty); pipe it in: `{PIPE_HINT}`")
    if len(key) > MAX_KEY_CHARS or any(ch.isspace() for ch in key) or not key.isprintable():
        raise UsageError("stdin does not hold a single API key (expected one line without spaces)")
    return key


def api_key_login(settings: object, stdin: TextIO | None, *, lock_timeout: float | None = None) -> AuthDotJson:
    """Validate policy, read the key, save it; returns the stored credentials."""
    auth, _backend = api_key_login_and_save(settings, stdin, lock_timeout=lock_timeout)
    return auth


def api_key_login_and_save(settings: object, stdin: TextIO | None, *, lock_timeout: float | None = None) -> tuple[AuthDotJson, str]:
    """`api_key_login`, also returning the backend the key went to ("file" | "keyring").

    The save holds $CODEX_HOME/auth.lock (waiting up to `lock_timeout`, default
    locking.lock_wait), so a token refresh in flight cannot overwrite the key afterwards."""
    check_login_method(settings, "api")
    key = read_api_key(stdin)
    auth = AuthDotJson(auth_mode="apikey", openai_api_key=key)
    backend = save_credentials_locked_sync(settings, auth, timeout=lock_timeout)
    return auth, backend


def run_api_key_login(settings: object, *, stdin: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """`codex login --with-api-key` as a logged flow; returns the exit code."""
    import sys

    from codexlogin.cli import run_flow

    stdin = sys.stdin if stdin is None else stdin
    stderr = stderr or sys.stderr

    def success(saved: tuple[AuthDotJson, str]) -> None:
        from codexlogin.cli.status import mask_api_key

        auth, backend = saved
        print(
            f"Successfully logged in using an API key - {mask_api_key(auth.openai_api_key)}."
            f" Credentials saved to {describe_location(settings, backend)}",
            file=stderr,
            flush=True,
        )

    return run_flow("login", "api_key", settings, lambda: api_key_login_and_save(settings, stdin), success=success)


__all__ = ["PIPE_HINT", "api_key_login", "api_key_login_and_save", "read_api_key", "run_api_key_login"]
