"""The dev issuer's JWTs: HS256-signed with a per-issuer random key, for tests only.

The issuer signs its id_tokens and (unless `Faults.opaque_access_tokens`) its access tokens with
a key that lives only in its memory (`IssuerCore._key`), so only it can verify them: they are test
tokens. `verify_jwt` checks one it signed (the token exchange's subject_token, `DevIssuer.verify_jwt`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_jwt(key: bytes, claims: dict[str, Any], typ: str) -> str:
    header = _b64url(json.dumps({"alg": "HS256", "typ": typ}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(key, f"{header}.{payload}".encode("ascii"), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"


def verify_jwt(key: bytes, token: str, *, typ: str | None = None) -> dict[str, Any] | None:
    """The claims of an unexpired JWT signed with `key` (of header `typ`, if given), else None."""
    try:
        header, payload, signature = token.split(".")
        expected = hmac.new(key, f"{header}.{payload}".encode("ascii"), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _b64url_decode(signature)):
            return None
        if typ is not None and json.loads(_b64url_decode(header)).get("typ") != typ:
            return None
        claims = json.loads(_b64url_decode(payload))
    except (ValueError, UnicodeError, AttributeError):
        return None
    if not isinstance(claims, dict) or claims.get("exp", 0) < time.time():
        return None
    return claims
