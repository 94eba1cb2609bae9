"""Reading claims out of JWTs (id_token, access_token) without verifying them.

The CLI only reads its own tokens back for display and policy, as the reference CLI does; the
issuer verifies them. Malformed tokens (not base64url, not JSON, nested deeper than
safejson.MAX_DEPTH, over MAX_TOKEN_CHARS) give empty claims, never an exception.
"""

from __future__ import annotations

import base64
import math

from codexlogin import safejson

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up: a logged-in `codex login status`)
if TYPE_CHECKING:
    from typing import Any

AUTH_CLAIM = "https://api.openai.com/auth"
PROFILE_CLAIM = "https://api.openai.com/profile"


#: A JWT longer than this is not read (real ones are a few KB; a stored one may be anything).
MAX_TOKEN_CHARS = 1 << 20


def jwt_claims(token: str | None) -> dict[str, Any]:
    if not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
        return {}
    payload = token.split(".")[1]
    try:
        data = safejson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def auth_claims(id_token: str | None) -> dict[str, Any]:
    claims = jwt_claims(id_token).get(AUTH_CLAIM)
    return claims if isinstance(claims, dict) else {}


def account_id(id_token: str | None) -> str | None:
    value = auth_claims(id_token).get("chatgpt_account_id")
    return value if isinstance(value, str) and value else None


def email(id_token: str | None) -> str | None:
    claims = jwt_claims(id_token)
    value = claims.get("email")
    if not isinstance(value, str):
        profile = claims.get(PROFILE_CLAIM)
        value = profile.get("email") if isinstance(profile, dict) else None
    return value if isinstance(value, str) and value else None


def plan_type(id_token: str | None) -> str | None:
    value = auth_claims(id_token).get("chatgpt_plan_type")
    return value if isinstance(value, str) and value else None


#: The range an `exp` may take to be believed: the epoch to the end of year 9999 (what a datetime
#: holds). Anything else (a 400-digit number, 1e308, a negative) is read as no expiry claim at all.
MAX_EXP = 253_402_300_799


def expires_at(token: str | None) -> int | None:
    """The token's `exp` in seconds, or None when it is missing, not a number or not plausible."""
    value = jwt_claims(token).get("exp")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None  # a claim of 1e999 or NaN is as good as none
    if not 0 <= value <= MAX_EXP:  # exact for ints of any size (no float conversion)
        return None
    return int(value)
