"""`codex login --with-api-key`: read an API key from stdin and store it.

The key is read from a pipe only, never from a terminal (it would echo and land in scrollback) and
never from argv (it would show in `ps` and shell history). Stored as
`{"auth_mode": "apikey", "OPENAI_API_KEY": …}` in the configured credentials backend, under
$CODEX_HOME/auth.lock like every writer. The key never reaches codex-login.log (only the save
event, with the backend, is logged).
"""

from __future__ import annotations

import codecs
import os
import select
from typing import TextIO

import trio

from codexlogin.config import Settings
from codexlogin.credentials.model import AuthDotJson
from codexlogin.credentials.policy import check_login_method
from codexlogin.errors import UsageError
from codexlogin.flows.complete import save_locked
from codexlogin.flows.ui import LoginUI

PIPE_HINT = "printenv OPENAI_API_KEY | codex login --with-api-key"
MAX_KEY_CHARS = 4096


def _read_descriptor(fd: int, max_bytes: int, data: bytes = b"", *, wait: bool = True) -> tuple[bytes, bool]:
    """(what was read, whether the input ended or max_bytes was reached). wait=False reads only
    what is there now (select with no timeout; a descriptor select cannot poll counts as not ready)."""
    chunks = [data]
    size = len(data)
    while size < max_bytes:
        if not wait:
            try:
                ready, _, _ = select.select([fd], [], [], 0)
            except (OSError, ValueError):  # e.g. a pipe on Windows
                ready = []
            if not ready:
                return b"".join(chunks), False
        chunk = os.read(fd, max_bytes - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), True


async def read_piped(stdin: TextIO, max_chars: int) -> str:
    """Up to about `max_chars` characters of stdin, cancellable: a pipe whose writer never closes it
    must not keep a signal from ending the run. What is already there (the usual `printenv … |`,
    or a file) is read at once; the rest with os.read in a worker thread that a cancel abandons (it
    holds none of the stream's locks, which the interpreter would wait for at exit)."""
    try:
        fd = stdin.fileno()
    except (AttributeError, OSError, ValueError):  # io.StringIO and the like: nothing to wait for
        raw = stdin.read(max_chars)
        return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    limit = 4 * max_chars  # UTF-8: at most 4 bytes a character
    data, done = _read_descriptor(fd, limit, wait=False)
    if not done:
        data, _ = await trio.to_thread.run_sync(_read_descriptor, fd, limit, data, abandon_on_cancel=True)
    # Strict: bytes that are not UTF-8 raise UnicodeDecodeError (never a key with U+FFFD in it);
    # a character cut by the byte limit is left for the length check to refuse.
    return codecs.getincrementaldecoder("utf-8")().decode(data, final=len(data) < limit)[:max_chars]


async def read_secret_from_stdin(
    stdin: TextIO | None, *, flag: str, short: str, noun: str, pipe_hint: str, max_chars: int
) -> str:
    """One credential from a non-terminal stdin, stripped; UsageError for a terminal, empty or odd
    input. The credential never comes from argv (`ps`, shell history) nor a terminal (it would echo)."""
    if stdin is None or stdin.closed:
        raise UsageError(f"{flag} reads the {short} from stdin, but there is none; pipe it in: `{pipe_hint}`")
    if stdin.isatty():
        raise UsageError(
            f"{flag} reads the {short} from stdin and refuses a terminal (the {short} would echo); pipe it in: `{pipe_hint}`"
        )
    try:
        raw = await read_piped(stdin, max_chars + 1)
    except UnicodeDecodeError:
        raise UsageError(f"stdin does not hold a single {noun} (it is not UTF-8 text)") from None
    secret = raw.strip()
    if not secret:
        raise UsageError(f"no {noun} on stdin (the input was empty); pipe it in: `{pipe_hint}`")
    if len(secret) > max_chars or any(ch.isspace() for ch in secret) or not secret.isprintable():
        raise UsageError(f"stdin does not hold a single {noun} (expected one line without spaces)")
    return secret


async def read_api_key(stdin: TextIO | None) -> str:
    return await read_secret_from_stdin(
        stdin, flag="--with-api-key", short="key", noun="API key", pipe_hint=PIPE_HINT, max_chars=MAX_KEY_CHARS
    )


async def api_key_login(
    settings: Settings, stdin: TextIO | None, ui: LoginUI, *, lock_timeout: float | None = None
) -> tuple[AuthDotJson, str]:
    """Check the policy, read the key, save it: (the stored credentials, the backend they went to).

    The save holds $CODEX_HOME/auth.lock (waiting up to `lock_timeout`, default lock_wait), so a
    token refresh in flight cannot overwrite the key afterwards."""
    check_login_method(settings, "api")
    auth = AuthDotJson(auth_mode="apikey", openai_api_key=await read_api_key(stdin))
    return auth, await save_locked(settings, auth, ui, timeout=lock_timeout)


__all__ = ["PIPE_HINT", "api_key_login", "read_api_key"]
