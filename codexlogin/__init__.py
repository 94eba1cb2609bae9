"""codexlogin: the Codex CLI sign-in (`codex login`) with a scrubbed diagnostic log.

Kept import-light on purpose: `codex login status` must start fast, so nothing here pulls in
trio, httpx, hypercorn or eliot.
"""

__version__ = "0.1.0"

DEFAULT_ISSUER = "https://auth.openai.com"
DEFAULT_CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
DEFAULT_PORT = 1455
