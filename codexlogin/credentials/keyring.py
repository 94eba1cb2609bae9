"""Credentials in the OS keyring (optional `keyring` extra), one entry per CODEX_HOME.

Service "Codex Auth", user `cli|` + the first 16 hex digits of sha256(canonical CODEX_HOME), the
auth.json document as the secret: the entry the reference CLI reads and writes. `keyring` is
imported only when this store is configured.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from codexlogin.credentials.files import InvalidAuthData
from codexlogin.credentials.model import AuthDotJson
from codexlogin.errors import StorageFailed

if TYPE_CHECKING:
    from codexlogin.config import Settings

KEYRING_SERVICE = "Codex Auth"


class KeyringUnavailable(Exception):
    """No usable keyring: the package is missing, or only a fail/null backend is configured."""


def keyring_user(settings: Settings) -> str:
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


def backend_name() -> str:
    """The keyring backend in use, for messages and `doctor`; never raises."""
    try:
        return type(_keyring().get_keyring()).__name__
    except Exception:  # noqa: BLE001 - a description must not fail
        return "unavailable"


def _keyring_errors() -> tuple[type[BaseException], ...]:
    import keyring.errors

    return (keyring.errors.KeyringError, RuntimeError, OSError)


def load(settings: Settings) -> AuthDotJson | None:
    kr = _keyring()
    try:
        secret = kr.get_password(KEYRING_SERVICE, keyring_user(settings))
    except _keyring_errors() as exc:
        raise KeyringUnavailable(f"cannot read the keyring: {type(exc).__name__}: {exc}") from None
    if secret is None:
        return None
    from codexlogin import safejson

    try:
        return AuthDotJson.from_json(safejson.loads(secret))
    except (ValueError, TypeError) as exc:
        raise InvalidAuthData(f"the keyring entry {KEYRING_SERVICE!r} is not valid auth.json: {exc}") from None


def save(settings: Settings, auth: AuthDotJson) -> None:
    kr = _keyring()
    try:
        kr.set_password(KEYRING_SERVICE, keyring_user(settings), json.dumps(auth.to_json()))
    except _keyring_errors() as exc:
        raise KeyringUnavailable(f"cannot write to the keyring: {type(exc).__name__}: {exc}") from None


def delete(settings: Settings) -> bool:
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
