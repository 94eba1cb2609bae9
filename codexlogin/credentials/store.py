"""Where credentials live: `cli_auth_credentials_store` = file | keyring | auto | ephemeral.

- file (default): $CODEX_HOME/auth.json (files.py: 0600, atomic replace).
- keyring: the OS keyring (keyring.py). A stale auth.json is removed after a keyring save so no
  tokens stay on disk.
- auto: the keyring when one is usable, else the file; `on_fallback` hears why.
- ephemeral (Codex CLI 0.171's): in this process's memory only; nothing is read from or written to
  the file or the keyring. For a one-shot `codex login` that means the login ends with the command.

Import-light and silent on purpose: `codex login status` reads credentials on its cold path, so
nothing here imports trio, httpx or eliot, and nothing prints or logs. Writers hold
$CODEX_HOME/auth.lock around a save (credentials.lock; flows.complete.save_locked).
"""

from __future__ import annotations

from codexlogin.credentials import files
from codexlogin.errors import StorageFailed

# credentials.keyring (and the auth.json model it reads) loads only for the keyring and auto stores.
TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up: `codex login status`)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeAlias

    from codexlogin.config import Settings
    from codexlogin.credentials.model import AuthDotJson

FILE = "file"
KEYRING = "keyring"
EPHEMERAL = "ephemeral"
#: The ephemeral store: CODEX_HOME -> the credentials this process holds (none at start).
_IN_MEMORY: dict[str, AuthDotJson] = {}
EPHEMERAL_NOTE = (
    "cli_auth_credentials_store = ephemeral: credentials live only in the memory of the process that"
    " signed in, so a one-shot `codex login` keeps none for later commands"
)

#: Told, in words, why an `auto` store fell back from the keyring to the file.
OnFallback: TypeAlias = "Callable[[str], None]"


def save_credentials(settings: Settings, auth: AuthDotJson, *, on_fallback: OnFallback) -> str:
    """Store `auth` in the configured backend; return the backend used ("file" | "keyring" | "ephemeral")."""
    store = settings.cli_auth_credentials_store
    if store == EPHEMERAL:
        _IN_MEMORY[settings.home_text] = auth
        return EPHEMERAL
    if store in (KEYRING, "auto"):
        from codexlogin.credentials import keyring
        from codexlogin.credentials.keyring import KeyringUnavailable

        try:
            keyring.save(settings, auth)
        except KeyringUnavailable as exc:
            if store == KEYRING:
                raise StorageFailed(f"cli_auth_credentials_store = keyring, but {exc}; set it to file or auto") from None
            on_fallback(f"{exc}; credentials saved to the file backend ({settings.auth_file}) instead")
        else:
            files.delete_auth(settings.auth_file)  # a file from an older login must not linger
            return KEYRING
    files.save_auth(settings.auth_file, auth)
    return FILE


def load_credentials(settings: Settings) -> tuple[AuthDotJson | None, str]:
    """(credentials or None, backend they came from or would go to). StorageFailed when unreadable."""
    store = settings.cli_auth_credentials_store
    if store == EPHEMERAL:
        return _IN_MEMORY.get(settings.home_text), EPHEMERAL
    if store in (KEYRING, "auto"):
        from codexlogin.credentials import keyring
        from codexlogin.credentials.keyring import KeyringUnavailable

        try:
            auth = keyring.load(settings)
        except KeyringUnavailable as exc:
            if store == KEYRING:
                raise StorageFailed(f"cli_auth_credentials_store = keyring, but {exc}") from None
        else:
            if auth is not None or store == KEYRING:
                return auth, KEYRING
            # auto with an empty keyring: a file from an earlier file-backed login still counts
            auth = files.load_auth(settings.auth_file_text)
            return auth, (FILE if auth is not None else KEYRING)
    return files.load_auth(settings.auth_file_text), FILE


def delete_credentials(settings: Settings) -> bool:
    """Remove stored credentials from every backend this store may use; True when any existed."""
    if settings.cli_auth_credentials_store == EPHEMERAL:
        return _IN_MEMORY.pop(settings.home_text, None) is not None
    removed = False
    if settings.cli_auth_credentials_store in (KEYRING, "auto"):
        from codexlogin.credentials import keyring
        from codexlogin.credentials.keyring import KeyringUnavailable

        try:
            removed = keyring.delete(settings)
        except KeyringUnavailable:
            if settings.cli_auth_credentials_store == KEYRING:
                raise StorageFailed("cli_auth_credentials_store = keyring, but no usable keyring was found") from None
    removed = files.delete_auth(settings.auth_file) or removed
    return removed


def credentials_present(settings: Settings) -> bool:
    """Whether anything is stored (even unreadable or corrupt credentials count)."""
    if settings.cli_auth_credentials_store == EPHEMERAL:
        return settings.home_text in _IN_MEMORY
    if settings.auth_file.exists():
        return True
    try:
        auth, _ = load_credentials(settings)
    except StorageFailed:
        return True
    return auth is not None


def check_writable(settings: Settings) -> None:
    """StorageFailed (exit 7) unless a save could succeed: the keyring store needs a usable
    keyring; the file store (and `auto`, which falls back to it) a CODEX_HOME where a file can be
    created. Checked before a sign-in starts, so tokens are never obtained only to be lost."""
    if settings.cli_auth_credentials_store == EPHEMERAL:
        return  # memory takes anything
    if settings.cli_auth_credentials_store == KEYRING:
        from codexlogin.credentials import keyring
        from codexlogin.credentials.keyring import KeyringUnavailable

        try:
            keyring._keyring()
        except KeyringUnavailable as exc:
            raise StorageFailed(f"cli_auth_credentials_store = keyring, but {exc}; set it to file or auto") from None
        return
    files.probe_writable(settings.codex_home)


def describe_location(settings: Settings, backend: str) -> str:
    """Where `save_credentials` put them, for "Credentials saved to …": the keyring or the file path."""
    if backend == KEYRING:
        from codexlogin.credentials.keyring import KEYRING_SERVICE

        return f"the system keyring (service {KEYRING_SERVICE})"
    if backend == EPHEMERAL:
        return "this process's memory only (cli_auth_credentials_store = ephemeral): nothing was written, and it ends with this command"
    return str(settings.auth_file)


__all__ = [
    "EPHEMERAL",
    "FILE",
    "check_writable",
    "KEYRING",
    "credentials_present",
    "delete_credentials",
    "describe_location",
    "load_credentials",
    "save_credentials",
]
