"""One ending for every ChatGPT login (browser and device): token reply → policy → locked save.

Also the table of what an IssuerError means while signing in: the issuer rejected the exchange or
could not be reached → TokenExchangeFailed (exit 4), with the issuer's facts in the log fields.
"""

from __future__ import annotations

from codexlogin import diagnostics, rfc3339
from codexlogin.config import Settings
from codexlogin.credentials.lock import hold_file_lock, lock_wait, refresh_lock_path
from codexlogin.credentials.model import AuthDotJson, TokenData
from codexlogin.credentials.policy import enforce_workspace
from codexlogin.credentials.store import save_credentials
from codexlogin.errors import StorageFailed, TimedOut, TokenExchangeFailed
from codexlogin.flows.ui import LoginUI
from codexlogin.oauth import jwt
from codexlogin.oauth.client import IssuerClient, TokenResponse
from codexlogin.oauth.errors import IssuerError


def exchange_failed(error: IssuerError) -> TokenExchangeFailed:
    """A sign-in request the issuer refused or never answered."""
    return TokenExchangeFailed(error.summary, detail=error.detail, error_code=error.error_code, fields=error.log_fields())


def chatgpt_auth(token_response: TokenResponse, api_key: str | None) -> AuthDotJson:
    return AuthDotJson(
        auth_mode="chatgpt",
        openai_api_key=api_key,
        tokens=TokenData(
            id_token=token_response.id_token,
            access_token=token_response.access_token,
            refresh_token=token_response.refresh_token,
            account_id=jwt.account_id(token_response.id_token),
        ),
        last_refresh=rfc3339.now(),
    )


async def try_api_key_exchange(issuer: IssuerClient, id_token: str | None) -> str | None:
    """Optional, as in the reference CLI: a refusal (e.g. unsupported_grant_type) is recorded, not a failure.

    The action ends succeeded with `obtained: false` and the reason, so a successful login never
    shows a failed step (and an exit code it did not have) to whoever reads the log.
    """
    if not id_token:
        return None  # a plain OAuth server sends no id_token to exchange
    with diagnostics.api_key_exchange_action(issuer.settings.token_endpoint) as action:
        try:
            api_key = await issuer.exchange_api_key(id_token)
        except IssuerError as error:
            fields = {k: v for k, v in error.log_fields().items() if k in ("error_code", "status", "kind")}
            action.add_success_fields(obtained=False, **fields)
            return None
        action.add_success_fields(obtained=True)
        return api_key


async def save_locked(settings: Settings, auth: AuthDotJson, ui: LoginUI, *, timeout: float | None = None) -> str:
    """Save under $CODEX_HOME/auth.lock, as every writer does, so a refresh in flight can neither
    undo this login nor be undone by it half-way. Returns the backend ("file" | "keyring")."""

    def keyring_fallback(reason: str) -> None:
        diagnostics.log_keyring_fallback(reason)
        ui.warning(reason)

    timeout = lock_wait(settings) if timeout is None else timeout
    try:
        async with hold_file_lock(refresh_lock_path(settings), timeout=timeout):
            with diagnostics.save_credentials_action(str(settings.auth_file), settings.cli_auth_credentials_store) as action:
                backend = save_credentials(settings, auth, on_fallback=keyring_fallback)
                action.add_success_fields(backend=backend, auth_mode=auth.auth_mode)
                return backend
    except TimedOut as exc:
        raise StorageFailed(f"credentials not saved: {exc.summary}") from None


async def complete_chatgpt_login(
    settings: Settings, issuer: IssuerClient, token_response: TokenResponse, ui: LoginUI, *, api_key_exchange: bool = True
) -> tuple[AuthDotJson, str]:
    """The workspace policy, then the optional API key (openai dialect only: no key is minted for a
    workspace the policy refuses), then the locked save: (credentials, backend)."""
    enforce_workspace(settings, chatgpt_auth(token_response, None))
    wanted = api_key_exchange and issuer.dialect.api_key_exchange
    api_key = await try_api_key_exchange(issuer, token_response.id_token) if wanted else None
    auth = chatgpt_auth(token_response, api_key)
    return auth, await save_locked(settings, auth, ui)
