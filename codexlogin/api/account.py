"""The stored account, read and ended: `read_account`, `logout`, `access_token`, `api_key_login`.

`read_account` is offline and unlogged (as `codex login status`); the others are logged runs
(api.run) named as their CLI commands are (`logout`, `login token`, `login` / `api_key`).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from codexlogin.api.run import DEFAULT_CALLER, api_run, resolve_settings
from codexlogin.config import Settings
from codexlogin.credentials.model import AuthDotJson
from codexlogin.credentials.status import StatusReport, evaluate, read_status
from codexlogin.errors import CredentialsUnusable, PolicyViolation, StorageFailed, UsageError

if TYPE_CHECKING:
    import httpx

    from codexlogin.flows.logout import LogoutResult
    from codexlogin.flows.token import AccessToken

PathLike = str | os.PathLike[str]
MAX_API_KEY_CHARS = 4096


@dataclass(frozen=True)
class Account:
    """Who is logged in, and how; never a token (an API key only masked)."""

    mode: str  # "chatgpt" | "apikey" | "personal_access_token"
    email: str | None
    plan: str | None
    account_id: str | None
    issuer: str | None  # the issuer the stored tokens belong to (ChatGPT and access-token modes)
    storage: str  # "file" | "keyring"
    api_key: str | None = None  # masked (API-key mode)

    @classmethod
    def from_report(cls, report: StatusReport) -> Account:
        return cls(
            mode=report.mode or "",
            email=report.email,
            plan=report.plan,
            account_id=report.account_id,
            issuer=report.issuer,
            storage=report.storage,
            api_key=report.api_key,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "email": self.email,
            "plan": self.plan,
            "account_id": self.account_id,
            "issuer": self.issuer,
            "storage": self.storage,
            "api_key": self.api_key,
        }


def account_of(settings: Settings, auth: AuthDotJson) -> Account:
    """The Account of credentials just saved (a keyring save removes auth.json: that says where)."""
    backend = "file" if settings.auth_file.exists() else "keyring"
    return Account.from_report(evaluate(settings, auth, backend))


def read_account(settings: Settings | None = None, *, codex_home: PathLike | None = None) -> Account | None:
    """The stored account, or None when nobody is logged in; no network, nothing logged.

    Raises StorageFailed (the store cannot be read), CredentialsUnusable (stored but unusable) or
    PolicyViolation (the stored login breaks forced_login_method / forced_chatgpt_workspace_id)."""
    report = read_status(resolve_settings(settings, codex_home=codex_home))
    if report.status == "not_logged_in":
        return None
    if report.status == "storage_error":
        raise StorageFailed(report.problem or "the credential store cannot be read")
    if report.status == "unusable":
        raise CredentialsUnusable(f"the stored credentials are unusable: {report.problem}")
    if report.status == "policy_violation":
        raise PolicyViolation(report.problem or "the stored login breaks the login policy")
    return Account.from_report(report)


async def logout(
    settings: Settings | None = None,
    *,
    codex_home: PathLike | None = None,
    issuer: str | None = None,
    caller: str = DEFAULT_CALLER,
    transport: httpx.AsyncBaseTransport | None = None,
) -> LogoutResult:
    """Remove the stored credentials, then revoke their tokens at their own issuer (best effort,
    bounded): `codex logout`. `.removed` is False when nothing was stored."""
    from codexlogin.flows.logout import logout_flow

    settings = resolve_settings(settings, codex_home=codex_home, issuer=issuer)
    stored = read_status(settings)
    with api_run("logout", "logout", settings, caller=caller, issuer=stored.issuer):
        return await logout_flow(settings, transport=transport)


async def access_token(
    settings: Settings | None = None,
    *,
    codex_home: PathLike | None = None,
    issuer: str | None = None,
    caller: str = DEFAULT_CALLER,
    force_refresh: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AccessToken:
    """A usable access token for the stored login, refreshed first under auth.lock when due (or
    `force_refresh`): `codex login token` (its `.access_token`, `.expires_at`, `.account_id`, `.issuer`)."""
    from codexlogin.flows.token import current_access_token

    settings = resolve_settings(settings, codex_home=codex_home, issuer=issuer)
    stored = read_status(settings)
    with api_run("login token", "token", settings, caller=caller, issuer=stored.issuer):
        return await current_access_token(settings, transport=transport, force_refresh=force_refresh)


def check_api_key_shape(api_key: str) -> str:
    """One key: stripped, non-empty, one word of printable characters (never repeated in the error)."""
    key = api_key.strip() if isinstance(api_key, str) else ""
    if not key:
        raise UsageError("no API key given (it was empty)")
    if len(key) > MAX_API_KEY_CHARS or any(ch.isspace() for ch in key) or not key.isprintable():
        raise UsageError("the API key must be one word of printable characters")
    return key


async def api_key_login(
    api_key: str,
    settings: Settings | None = None,
    *,
    codex_home: PathLike | None = None,
    caller: str = DEFAULT_CALLER,
) -> Account:
    """Store an API key (`codex login --with-api-key`, under auth.lock); forced_login_method =
    chatgpt refuses it (PolicyViolation)."""
    from codexlogin.flows.apikey import api_key_login as api_key_flow
    from codexlogin.flows.ui import SilentUI
    from codexlogin.redact import register_secrets

    settings = resolve_settings(settings, codex_home=codex_home)
    with api_run("login", "api_key", settings, caller=caller):
        register_secrets(api_key)
        key = check_api_key_shape(api_key)
        auth, _backend = await api_key_flow(settings, io.StringIO(key), SilentUI())
    return account_of(settings, auth)


__all__ = ["Account", "access_token", "api_key_login", "check_api_key_shape", "logout", "read_account"]
