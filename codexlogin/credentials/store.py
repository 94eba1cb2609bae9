"""Where credentials live: `cli_auth_credentials_store` = file | keyring | auto.

- file (default): $CODEX_HOME/auth.json via storage.py (0600, atomic replace).
- keyring: the OS keyring through the optional `keyring` package, one entry per CODEX_HOME
  (service "Codex Auth", user `cli|<sha256(CODEX_HOME)[:16]>`, the auth.json document as the
  secret). A stale auth.json is removed after a keyring save so no tokens stay on disk.
- auto: the keyring when one is usable, else the file, with a warning naming the backend used.

Import-light on purpose: `codex login status` reads credentials on its cold path, so nothing here
imports trio, httpx or eliot at module level, and `keyring` is imported only when configured.
The login-policy check (`forced_login_method`) lives here too, beside the storage it protects.

Writers go through `save_credentials_locked` (async) or `save_credentials_locked_sync`: both hold
$CODEX_HOME/auth.lock (locking.py) around the save, the lock a refresh holds across its network
call, so a refresh in flight can neither undo a new login nor be undone by it half-way. A writer
that cannot get the lock within `locking.lock_wait(settings)` fails with StorageFailed (exit 7).
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from typing import Any

from codexlogin.credentials import files as storage
from codexlogin.errors import PolicyViolation, StorageFailed, TimedOut
from codexlogin.credentials.files import AuthDotJson, InvalidAuthData

KEYRING_SERVICE = "Codex Auth"
FILE = "file"
KEYRING = "keyring"

Warn = Callable[[str], None]


def _stderr_warning(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def _log_event(message_type: str, **fields: Any) -> None:
    """Log only when eliot is already loaded (inside a flow); the offline status stays import-light."""
    if "codexlogin.diagnostics" in sys.modules:
        sys.modules["codexlogin.diagnostics"].log_event(message_type, **fields)


# --- policy -----------------------------------------------------------------------------------


def check_login_method(settings: Any, method: str) -> None:
    """Refuse a login of kind `method` ("chatgpt" | "api") that `forced_login_method` forbids."""
    forced = settings.forced_login_method
    if forced is None or forced == method:
        return
    if forced == "chatgpt":
        raise PolicyViolation(
            "API key login is disabled by forced_login_method = chatgpt; sign in with `codex login`"
            " (or `codex login --device-auth`)",
            error_code="login_method_forbidden",
        )
    raise PolicyViolation(
        "ChatGPT login is disabled by forced_login_method = api;"
        " use `printenv OPENAI_API_KEY | codex login --with-api-key`",
        error_code="login_method_forbidden",
    )


# --- keyring --------------------------------------------------------------------------------------


class KeyringUnavailable(Exception):
    """No usable keyring: the package is missing, or only a fail/null backend is configured."""


def keyring_user(settings: Any) -> str:
    try:
        home = str(settings.codex_home.resolve())
    except OSError:
        home = str(settings.codex_home)
    import hashlib  # keyring only: not on the file-store start-up path

    return "cli|" + hashlib.sha256(home.encode("utf-8")).hexdigest()[:16]


def _keyring() -> Any:
    try:
        import keyring
        import keyring.backends.fail
        import keyring.errors
    except ImportError:
        raise KeyringUnavailable("the keyring package is not installed (pip install 'codexlogin[keyring]')") from None
    backend = keyring.get_keyring()
    names = {type(backend).__module__ + "." + type(backend).__name__}
    if isinstance(backend, keyring.backends.fail.Keyring) or "keyring.backends.null.Keyring" in names:
        raise KeyringUnavailable("no system keyring is available")
    return keyring


def keyring_backend_name() -> str:
    """The keyring backend in use, for messages and `doctor`; never raises."""
    try:
        return type(_keyring().get_keyring()).__name__
    except Exception:  # noqa: BLE001 - a description must not fail
        return "unavailable"


def _keyring_errors() -> tuple[type[BaseException], ...]:
    import keyring.errors

    return (keyring.errors.KeyringError, RuntimeError, OSError)


def _keyring_load(settings: Any) -> AuthDotJson | None:
    kr = _keyring()
    try:
        secret = kr.get_password(KEYRING_SERVICE, keyring_user(settings))
    except _keyring_errors() as exc:
        raise KeyringUnavailable(f"cannot read the keyring: {type(exc).__name__}: {exc}") from None
    if secret is None:
        return None
    try:
        return AuthDotJson.from_json(json.loads(secret))
    except (ValueError, TypeError) as exc:
        raise InvalidAuthData(f"the keyring entry {KEYRING_SERVICE!r} is not valid auth.json: {exc}") from None
    except RecursionError:
        raise InvalidAuthData(f"the keyring entry {KEYRING_SERVICE!r} is not valid auth.json: nested too deeply") from None


def _keyring_save(settings: Any, auth: AuthDotJson) -> None:
    kr = _keyring()
    try:
        kr.set_password(KEYRING_SERVICE, keyring_user(settings), json.dumps(auth.to_json()))
    except _keyring_errors() as exc:
        raise KeyringUnavailable(f"cannot write to the keyring: {type(exc).__name__}: {exc}") from None


def _keyring_delete(settings: Any) -> bool:
    kr = _keyring()
    import keyring.errors

    try:
        if kr.get_password(KEYRING_SERVICE, keyring_user(settings)) is None:
            return False
        kr.delete_password(KEYRING_SERVICE, keyring_user(settings))
    except keyring.errors.PasswordDeleteError:
        return False
    except _keyring_errors() as exc:
        raise StorageFailed(f"cannot remove the keyring entry {KEYRING_SERVICE!r}: {exc}") from None
    return True


# --- the public surface ---------------------------------------------------------------------------


def _save_action(settings: Any) -> Any:
    """`codex:save_credentials` when a flow has the log open; nothing on the import-light paths."""
    diagnostics = sys.modules.get("codexlogin.diagnostics")
    if diagnostics is None:
        return contextlib.nullcontext(None)
    return diagnostics.save_credentials_action(str(settings.auth_file), settings.cli_auth_credentials_store)


def save_credentials(settings: Any, auth: AuthDotJson, *, warn: Warn | None = None) -> str:
    """Store `auth` in the configured backend; return the backend used ("file" | "keyring")."""
    with _save_action(settings) as action:
        backend = _save(settings, auth, warn or _stderr_warning)
        if action is not None:
            action.add_success_fields(backend=backend, auth_mode=auth.auth_mode)
        return backend


async def save_credentials_locked(settings: Any, auth: AuthDotJson, *, timeout: float | None = None) -> str:
    """`save_credentials` under $CODEX_HOME/auth.lock; waits (cancellably) up to `timeout` seconds
    (default `locking.lock_wait(settings)`, longer than a refresh holds it). Returns the backend."""
    # imported here: locking imports trio, which the offline status path must not load
    from codexlogin.credentials.lock import hold_file_lock, lock_wait, refresh_lock_path

    timeout = lock_wait(settings) if timeout is None else timeout
    try:
        async with hold_file_lock(refresh_lock_path(settings), timeout=timeout):
            return save_credentials(settings, auth)
    except TimedOut as exc:
        raise StorageFailed(f"credentials not saved: {exc.summary}") from None


def save_credentials_locked_sync(settings: Any, auth: AuthDotJson, *, timeout: float | None = None) -> str:
    """`save_credentials_locked` for callers without a trio loop (`--with-api-key`)."""
    from codexlogin.credentials.lock import hold_file_lock_sync, lock_wait, refresh_lock_path

    timeout = lock_wait(settings) if timeout is None else timeout
    try:
        with hold_file_lock_sync(refresh_lock_path(settings), timeout=timeout):
            return save_credentials(settings, auth)
    except TimedOut as exc:
        raise StorageFailed(f"credentials not saved: {exc.summary}") from None


def describe_location(settings: Any, backend: str) -> str:
    """Where `save_credentials` put them, for "Credentials saved to …": the keyring or the file path."""
    if backend == KEYRING:
        return f"the system keyring (service {KEYRING_SERVICE})"
    return str(settings.auth_file)


def _save(settings: Any, auth: AuthDotJson, warn: Warn) -> str:
    store = settings.cli_auth_credentials_store
    if store in (KEYRING, "auto"):
        try:
            _keyring_save(settings, auth)
        except KeyringUnavailable as exc:
            if store == KEYRING:
                raise StorageFailed(
                    f"cli_auth_credentials_store = keyring, but {exc}; set it to file or auto"
                ) from None
            _log_event("codex:credentials:keyring_unavailable", fallback=FILE, reason=str(exc))
            warn(f"{exc}; credentials saved to the file backend ({settings.auth_file}) instead")
        else:
            storage.delete_auth(settings.auth_file)  # a file from an older login must not linger
            return KEYRING
    storage.save_auth(settings.auth_file, auth)
    return FILE


def load_credentials(settings: Any) -> tuple[AuthDotJson | None, str]:
    """(credentials or None, backend they came from or would go to). StorageFailed when unreadable."""
    store = settings.cli_auth_credentials_store
    if store in (KEYRING, "auto"):
        try:
            auth = _keyring_load(settings)
        except KeyringUnavailable as exc:
            if store == KEYRING:
                raise StorageFailed(f"cli_auth_credentials_store = keyring, but {exc}") from None
        else:
            if auth is not None or store == KEYRING:
                return auth, KEYRING
            # auto with an empty keyring: a file from an earlier file-backed login still counts
            auth = storage.load_auth(settings.auth_file)
            return auth, (FILE if auth is not None else KEYRING)
    return storage.load_auth(settings.auth_file), FILE


def delete_credentials(settings: Any) -> bool:
    """Remove stored credentials from every backend this store may use; True when any existed."""
    removed = False
    if settings.cli_auth_credentials_store in (KEYRING, "auto"):
        try:
            removed = _keyring_delete(settings)
        except KeyringUnavailable:
            if settings.cli_auth_credentials_store == KEYRING:
                raise StorageFailed("cli_auth_credentials_store = keyring, but no usable keyring was found") from None
    removed = storage.delete_auth(settings.auth_file) or removed
    return removed


def credentials_present(settings: Any) -> bool:
    """Whether anything is stored (even unreadable or corrupt credentials count)."""
    if settings.auth_file.exists():
        return True
    try:
        auth, _ = load_credentials(settings)
    except StorageFailed:
        return True
    return auth is not None


__all__ = [
    "KEYRING_SERVICE",
    "KeyringUnavailable",
    "check_login_method",
    "credentials_present",
    "delete_credentials",
    "describe_location",
    "keyring_backend_name",
    "load_credentials",
    "save_credentials",
    "save_credentials_locked",
    "save_credentials_locked_sync",
]
