"""The markers scrubbing writes and the key names whose values are secret.

`REDACTED` replaces a secret in codex-login.log, `INVALID_URL` a URL that cannot be parsed, `MASK`
one of the run's own secrets on the terminal and the callback page. `SECRET_QUERY_KEYS` name the
query parameters `sanitize_url` redacts, `SECRET_KEYS` the structured fields `scrub_fields`
redacts; free text (`scrub_text`) recognises both (`TEXT_KEYS`).
"""

from __future__ import annotations

REDACTED = "<redacted>"
INVALID_URL = "<invalid-url>"
#: What the terminal, the callback page and `--json` show in place of one of the run's own secrets
#: that an issuer echoed back (Codex CLI 0.171's marker); the log says REDACTED.
MASK = "[REDACTED]"

#: Query parameters whose values never survive `sanitize_url` (compared case-insensitively,
#: after percent-decoding the key).
SECRET_QUERY_KEYS: frozenset[str] = frozenset(
    {
        "access_token",
        "api_key",
        "client_secret",
        "code",
        "code_verifier",
        "id_token",
        "key",
        "refresh_token",
        "requested_token",
        "state",
        "subject_token",
        "token",
        "device_code",
        "user_code",
        "password",
    }
)

#: Structured-field names (normalised: lowercase, '-' → '_') whose values are always redacted
#: unless they are a bool or None. Exact matches only: `token_endpoint`, `has_state`,
#: `error_code` are not secret.
SECRET_KEYS: frozenset[str] = frozenset(
    {
        "code",
        "state",
        "verifier",
        "code_verifier",
        "access_token",
        "refresh_token",
        "id_token",
        "token",
        "api_key",
        "openai_api_key",
        "x_api_key",
        "key",
        "client_secret",
        "secret",
        "password",
        "passwd",
        "cookie",
        "set_cookie",
        "authorization",
        "proxy_authorization",
        "subject_token",
        "device_code",
        "user_code",
        "body",
        "raw_body",
        "response_body",
        "tokens",
    }
)

# Keys recognised in free text (`key=value`, `"key": "value"`, `key: value`).
TEXT_KEYS = SECRET_KEYS | SECRET_QUERY_KEYS


def normalize_key(key: object) -> str:
    """Lowercase and map '-' to '_' (so `Set-Cookie` and `set_cookie` are the same key)."""
    return str(key).strip().lower().replace("-", "_")
