"""The auth.json document: what a login stores, as the reference CLI reads and writes it.

Round-trips: a field this model does not know (0.171's `agent_identity`, `bedrock_*`, anything a
newer codex adds), or a known one holding a value it does not model, is kept verbatim in `extra`
(top level, and inside `tokens`) and written back after the known fields, so no rewrite (a
refresh, a re-login, any save) drops what another codex wrote. The shapes, as 0.171 writes them:

  chatgpt                {"auth_mode": "chatgpt", "OPENAI_API_KEY": null | "sk-…", "tokens": {"id_token",
                         "access_token", "refresh_token", "oauth_provenance": {"issuer", "client_id"},
                         "login_owner_id", "account_id", "access_token_expires_at" (ours, from
                         expires_in)}, "last_refresh": "…T20:33:32.445329355Z"}
  apikey                 {"auth_mode": "apikey", "OPENAI_API_KEY": "sk-…"}
  personal access token  {"OPENAI_API_KEY": null, "personal_access_token": "at-…"} (no auth_mode; the
                         model calls it auth_mode PERSONAL_ACCESS_TOKEN); ours adds a top-level
                         "oauth_provenance" {issuer, client_id} only for a token from another issuer
                         than the default (0.171's files have none: they belong to the default)

Where stored tokens go is `AuthDotJson.origin()` (oauth.issuer.credential_issuer), never the settings.
"""

from __future__ import annotations

from codexlogin import rfc3339

# The kinds of credential, named in the package (`codex login status` reads them without this module).
from codexlogin.credentials import APIKEY as APIKEY
from codexlogin.credentials import CHATGPT as CHATGPT
from codexlogin.credentials import PERSONAL_ACCESS_TOKEN as PERSONAL_ACCESS_TOKEN

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up: `codex login status`)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from dataclasses import dataclass as record  # what a type checker sees; codexlogin.record at run time
    from dataclasses import field, replace
    from typing import Any
else:
    from codexlogin.record import field, record, replace  # dataclass(frozen=True) without its start-up cost

#: An unsigned JWT with an empty header and no claims ("{}", "{}", "none"): what auth.json holds
#: for a login without an id_token, so Codex CLI 0.171 (which needs a three-part JWT) reads it.
NO_ID_TOKEN = "e30.e30.bm9uZQ"


_TOKEN_CREDENTIALS = ("id_token", "access_token", "refresh_token", "account_id")


@record(frozen=True)
class TokenData:
    """The `tokens` of a ChatGPT login: an immutable record (codexlogin.record, as the frozen
    dataclass it was; `codex login status` reads it on every start)."""

    # Only access_token is required: RFC 6749 makes refresh tokens optional and a plain OAuth
    # server sends no id_token.
    id_token: str | None
    access_token: str
    refresh_token: str | None
    account_id: str | None = None
    # Which issuer and client made these tokens ({"issuer", "client_id"}, and whatever else is there).
    oauth_provenance: Mapping[str, Any] | None = None
    # A random id per login (43 characters of base64url), kept across refreshes.
    login_owner_id: str | None = None
    # When the access token expires, RFC 3339 UTC, computed from the token reply's `expires_in`
    # (RFC 6749 §5.1) at receipt; a field 0.171 does not know (so it keeps it, and ignores it).
    # Used when the access token carries no readable `exp` (an opaque token).
    access_token_expires_at: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # what this model does not know, written back as it was

    def __repr__(self) -> str:
        return f"TokenData(account_id={self.account_id!r}, <tokens redacted>)"

    def to_json(self) -> dict[str, Any]:
        # Codex CLI 0.171 cannot read null tokens: "" for a missing refresh token, the placeholder
        # for a missing id_token (it reads back as None).
        data: dict[str, Any] = {
            "id_token": self.id_token or NO_ID_TOKEN,
            "access_token": self.access_token,
            "refresh_token": self.refresh_token or "",
        }
        if self.oauth_provenance is not None:
            data["oauth_provenance"] = dict(self.oauth_provenance)
        if self.login_owner_id is not None:
            data["login_owner_id"] = self.login_owner_id
        data["account_id"] = self.account_id
        if self.access_token_expires_at is not None:
            data["access_token_expires_at"] = self.access_token_expires_at
        return _with_extra(data, self.extra)

    @classmethod
    def from_json(cls, tokens: Mapping[str, Any]) -> TokenData:
        _require_strings(tokens, _TOKEN_CREDENTIALS, where="tokens.")
        provenance = tokens.get("oauth_provenance")
        owner = tokens.get("login_owner_id")
        expiry = tokens.get("access_token_expires_at")
        if not (isinstance(expiry, str) and rfc3339.to_epoch(expiry) is not None):
            expiry = None  # anything else is kept verbatim in extra
        modelled = {*_TOKEN_CREDENTIALS}
        if expiry is not None:
            modelled.add("access_token_expires_at")
        if isinstance(provenance, dict):
            modelled.add("oauth_provenance")
        if isinstance(owner, str):
            modelled.add("login_owner_id")
        return cls(
            id_token=None if tokens.get("id_token") == NO_ID_TOKEN else _optional_str(tokens.get("id_token")),
            access_token=str(tokens.get("access_token") or ""),
            refresh_token=_optional_str(tokens.get("refresh_token")),
            account_id=_optional_str(tokens.get("account_id")),
            oauth_provenance=dict(provenance) if isinstance(provenance, dict) else None,
            login_owner_id=owner if isinstance(owner, str) else None,
            access_token_expires_at=expiry,
            extra=_unmodelled(tokens, modelled),
        )


@record(frozen=True)
class AuthDotJson:
    """The auth.json document: an immutable record (codexlogin.record, as the frozen dataclass it
    was; `codex login status` reads it on every start)."""

    auth_mode: str  # CHATGPT | APIKEY | PERSONAL_ACCESS_TOKEN
    openai_api_key: str | None = None
    tokens: TokenData | None = None
    last_refresh: str | None = None
    personal_access_token: str | None = None
    # A personal access token's issuer and client, when not the default ones (ChatGPT tokens keep
    # theirs in tokens.oauth_provenance, as 0.171 does).
    oauth_provenance: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # what this model does not know, written back as it was

    def __repr__(self) -> str:
        return f"AuthDotJson(auth_mode={self.auth_mode!r}, <secrets redacted>)"

    def origin(self) -> Mapping[str, Any] | None:
        """The provenance of the stored tokens ({issuer, client_id}); None: the default issuer."""
        if self.auth_mode == CHATGPT:
            return self.tokens.oauth_provenance if self.tokens is not None else None
        return self.oauth_provenance if self.auth_mode == PERSONAL_ACCESS_TOKEN else None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.auth_mode != PERSONAL_ACCESS_TOKEN:  # 0.171 tells a PAT by its field, not a mode
            data["auth_mode"] = self.auth_mode
        data["OPENAI_API_KEY"] = self.openai_api_key
        if self.tokens is not None:
            data["tokens"] = self.tokens.to_json()
        if self.personal_access_token is not None:
            data["personal_access_token"] = self.personal_access_token
        if self.oauth_provenance is not None:
            data["oauth_provenance"] = dict(self.oauth_provenance)
        if self.last_refresh is not None:
            data["last_refresh"] = self.last_refresh
        return _with_extra(data, self.extra)

    @classmethod
    def from_json(cls, data: object) -> AuthDotJson:
        if not isinstance(data, dict):
            raise ValueError("auth.json is not a JSON object")
        # A credential of the wrong type is not guessed at (a list sent as a token): the file is
        # invalid, status says so in one line, logout removes it.
        _require_strings(data, ("auth_mode", "OPENAI_API_KEY", "personal_access_token"), where="")
        if data.get("tokens") is not None and not isinstance(data.get("tokens"), dict):
            raise ValueError(f"tokens is {_kind(data['tokens'])}, not an object")
        tokens = data.get("tokens")
        token_data = TokenData.from_json(tokens) if isinstance(tokens, dict) else None
        api_key = data.get("OPENAI_API_KEY")
        pat = data.get("personal_access_token")
        last_refresh = data.get("last_refresh")
        provenance = data.get("oauth_provenance")
        modelled = {"auth_mode", "OPENAI_API_KEY"}
        modelled |= {"oauth_provenance"} if isinstance(provenance, dict) else set()
        modelled |= {"tokens"} if token_data is not None else set()
        modelled |= {"personal_access_token"} if isinstance(pat, str) else set()
        modelled |= {"last_refresh"} if isinstance(last_refresh, str) else set()
        mode = data.get("auth_mode")
        if not mode:
            mode = CHATGPT if token_data else PERSONAL_ACCESS_TOKEN if isinstance(pat, str) and pat else APIKEY
        return cls(
            auth_mode=str(mode),
            openai_api_key=api_key if isinstance(api_key, str) else None,
            tokens=token_data,
            last_refresh=last_refresh if isinstance(last_refresh, str) else None,
            personal_access_token=pat if isinstance(pat, str) else None,
            oauth_provenance=dict(provenance) if isinstance(provenance, dict) else None,
            extra=_unmodelled(data, modelled),
        )

    def keeping_unknown_fields_of(self, previous: AuthDotJson | None) -> AuthDotJson:
        """This document plus the fields of `previous` that the model does not know (top level, and
        inside `tokens` when both have tokens): a new login replaces the credentials, never what
        another codex stored next to them. Known fields are this document's."""
        if previous is None:
            return self
        tokens = self.tokens
        if tokens is not None and previous.tokens is not None:
            tokens = replace(tokens, extra={**previous.tokens.extra, **tokens.extra})
        return replace(self, tokens=tokens, extra={**previous.extra, **self.extra})


def _with_extra(data: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        data.setdefault(key, value)  # a modelled value always wins
    return data


def _unmodelled(data: Mapping[str, Any], modelled: set[str]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in modelled}


def _kind(value: object) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "an object"}.get(
        type(value), "not a string"
    )


def _require_strings(data: Mapping[str, Any], keys: tuple[str, ...], *, where: str) -> None:
    """ValueError naming the first of `keys` whose value is neither a string nor null."""
    for key in keys:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{where}{key} is {_kind(value)}, not a string")


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def expiry_from_expires_in(expires_in: int | None, *, now: float) -> str | None:
    """`access_token_expires_at` for a token reply received at `now` (None: no usable expires_in)."""
    if expires_in is None:
        return None
    return rfc3339.from_epoch(now + expires_in)
