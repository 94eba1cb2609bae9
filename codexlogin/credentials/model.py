"""The auth.json document: what a login stores, as the reference CLI reads and writes it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: An unsigned JWT with an empty header and no claims ("{}", "{}", "none"): what auth.json holds
#: for a login without an id_token, so Codex CLI 0.171 can still read the file.
NO_ID_TOKEN = "e30.e30.bm9uZQ"


@dataclass(frozen=True, repr=False)
class TokenData:
    # Only access_token is required: RFC 6749 makes refresh tokens optional and a plain OAuth
    # server sends no id_token.
    id_token: str | None
    access_token: str
    refresh_token: str | None
    account_id: str | None = None

    def __repr__(self) -> str:
        return f"TokenData(account_id={self.account_id!r}, <tokens redacted>)"


@dataclass(frozen=True, repr=False)
class AuthDotJson:
    auth_mode: str  # "chatgpt" | "apikey"
    openai_api_key: str | None = None
    tokens: TokenData | None = None
    last_refresh: str | None = None

    def __repr__(self) -> str:
        return f"AuthDotJson(auth_mode={self.auth_mode!r}, <secrets redacted>)"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"auth_mode": self.auth_mode, "OPENAI_API_KEY": self.openai_api_key}
        if self.tokens is not None:
            # Codex CLI 0.171 cannot read null tokens: it reads "" for a missing refresh token, but
            # needs a three-part JWT as the id_token; a login whose issuer sent none stores a
            # placeholder without claims, which reads back as no id_token.
            data["tokens"] = {
                "id_token": self.tokens.id_token or NO_ID_TOKEN,
                "access_token": self.tokens.access_token,
                "refresh_token": self.tokens.refresh_token or "",
                "account_id": self.tokens.account_id,
            }
        if self.last_refresh is not None:
            data["last_refresh"] = self.last_refresh
        return data

    @classmethod
    def from_json(cls, data: object) -> AuthDotJson:
        if not isinstance(data, dict):
            raise ValueError("auth.json is not a JSON object")
        tokens = data.get("tokens")
        token_data = None
        if isinstance(tokens, dict):
            token_data = TokenData(
                id_token=_optional_str(tokens.get("id_token")) if tokens.get("id_token") != NO_ID_TOKEN else None,
                access_token=str(tokens.get("access_token") or ""),
                refresh_token=_optional_str(tokens.get("refresh_token")),
                account_id=_optional_str(tokens.get("account_id")),
            )
        api_key = data.get("OPENAI_API_KEY")
        mode = data.get("auth_mode") or ("chatgpt" if token_data else "apikey")
        return cls(
            auth_mode=str(mode),
            openai_api_key=api_key if isinstance(api_key, str) else None,
            tokens=token_data,
            last_refresh=data.get("last_refresh") if isinstance(data.get("last_refresh"), str) else None,
        )


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
