"""The login policy, one rule set: `forced_login_method` and `forced_chatgpt_workspace_id`.

Logins check before they save (raising PolicyViolation, exit 9); `status` asks the same rules
about what is stored (`stored_login_problem`).
"""

from __future__ import annotations

from codexlogin.errors import PolicyViolation
from codexlogin.oauth import jwt

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up: `codex login status`)
if TYPE_CHECKING:
    from codexlogin.config import Settings

if TYPE_CHECKING:  # the browser login checks the policy before it prints its URL: keep it light
    from codexlogin.credentials.model import AuthDotJson

# A personal access token belongs to a ChatGPT account: it is a ChatGPT login for the policy.
_MODES_OF_METHOD = {"chatgpt": ("chatgpt", "personal_access_token"), "api": ("apikey",)}


def check_login_method(settings: Settings, method: str) -> None:
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
        "ChatGPT login is disabled by forced_login_method = api; use `printenv OPENAI_API_KEY | codex login --with-api-key`",
        error_code="login_method_forbidden",
    )


def account_of(auth: AuthDotJson) -> str | None:
    """The ChatGPT workspace a login belongs to: the stored account id, else the id_token's claim."""
    if auth.tokens is None:
        return None
    return auth.tokens.account_id or jwt.account_id(auth.tokens.id_token)


def enforce_workspace(settings: Settings, auth: AuthDotJson) -> None:
    """Before a ChatGPT login is saved: its workspace must be one `forced_chatgpt_workspace_id` allows."""
    enforce_workspace_id(settings, account_of(auth))


def enforce_workspace_id(settings: Settings, account_id: str | None) -> None:
    """`enforce_workspace` for a workspace known by id (a personal access token's, from the issuer)."""
    allowed = settings.forced_chatgpt_workspace_id
    if allowed and account_id not in allowed:
        raise PolicyViolation(
            f"this login is restricted to workspace {', '.join(allowed)}, but the"
            f" account signed in to workspace {account_id or '(none)'}; no credentials were saved",
            error_code="workspace_mismatch",
        )


def stored_login_problem(settings: Settings, auth: AuthDotJson) -> str | None:
    """Why stored credentials break the policy (for `status`), or None."""
    forced = settings.forced_login_method
    if forced is not None and auth.auth_mode not in _MODES_OF_METHOD[forced]:
        wanted = "an API key login (`codex login --with-api-key`)" if forced == "api" else "a ChatGPT login (`codex login`)"
        return f"forced_login_method = {forced} requires {wanted}"
    if auth.auth_mode == "chatgpt":
        return workspace_problem(settings, account_of(auth))
    return None


def workspace_problem(settings: Settings, account_id: str | None, *, again: str = "codex login") -> str | None:
    """Why a stored login for workspace `account_id` breaks `forced_chatgpt_workspace_id`, or None.
    (A stored personal access token names no workspace: `status --check` asks the issuer.)"""
    allowed = settings.forced_chatgpt_workspace_id
    if not allowed or account_id in allowed:
        return None
    return (
        f"forced_chatgpt_workspace_id allows only {', '.join(allowed)}, and this login"
        f" is for workspace {account_id or '(none)'}; run `{again}` again"
    )
