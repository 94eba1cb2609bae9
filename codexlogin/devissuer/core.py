"""The dev issuer's shared core: its in-memory state, the records in it, and the reply helpers.

`IssuerCore` is the base of the endpoint mixins (`grants` → `device` → `openai`, assembled into
`DevIssuer` in `app`): the constructor's settings, `faults`, every bookkeeping dict (pending
authorizations, codes, grants, refresh and access tokens, device codes, personal access tokens),
the request log with its helpers for tests, client checks, and the helpers that shape replies.
State lives in memory only; timers use `trio.current_time()` so MockClock works.
"""

from __future__ import annotations

import html
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from .faults import Faults

AUTH_CLAIMS = "https://api.openai.com/auth"
#: `id_token_auth_claims` of a user who owns an API organisation whose platform setup is unfinished
#: (the openai dialect's `needs_setup`: Codex CLI 0.171's success page sends them to the org setup).
ORG_OWNER_NEEDS_SETUP = {
    "is_org_owner": True,
    "completed_platform_onboarding": False,
    "organization_id": "org-dev",
    "project_id": "proj_dev",
}
GRANT_AUTH_CODE = "authorization_code"
GRANT_REFRESH = "refresh_token"
GRANT_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
GRANT_DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
DEFAULT_SCOPE = "openid profile email offline_access"
CODE_LIFETIME = 60.0
DEVICE_POLL_INTERVAL = 5
_JSON_HEADERS = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
# The openai dialect (see `openai`): constants the authorization and token endpoints share with it.
DEVICEAUTH_CALLBACK_PATH = "/deviceauth/callback"  # the redirect_uri of a deviceauth code: {issuer}+this
MISSING_ENTITLEMENT_DESCRIPTION = "Codex is not enabled for this account (missing_codex_entitlement)"
# A route's handler: the request → (status, body, content type, extra headers).
_Reply = tuple[int, bytes, str | None, list[tuple[bytes, bytes]]]
_Handler = Callable[["Request"], Awaitable[_Reply]]


def _with_params(uri: str, params: dict[str, str]) -> str:
    """Add query parameters to a redirect URI, keeping its own query (RFC 6749 §3.1.2)."""
    parts = urlsplit(uri)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


class _OAuthError(Exception):
    def __init__(self, error: str, description: str | None = None, status: int = 400) -> None:
        super().__init__(error)
        self.error, self.description, self.status = error, description, status


@dataclass(frozen=True)
class Request:
    """One request as the issuer saw it; `DevIssuer.request_log` keeps them all, in order."""

    method: str
    path: str
    params: dict[str, str]  # the query (GET) or the form / JSON body (POST), values as strings
    media_type: str  # the body's Content-Type without parameters, lower case ("" when absent)
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "

    @property
    def is_json(self) -> bool:
        return self.media_type == "application/json"


@dataclass(eq=False)
class _Grant:
    """One user authorisation; every token issued under it dies when it is revoked."""

    client_id: str
    scope: str
    revoked: bool = False


@dataclass(eq=False)
class _Code:
    client_id: str
    redirect_uri: str
    challenge: str
    scope: str
    expires_at: float
    nonce: str | None = None
    grant: _Grant | None = None  # set once redeemed; a replay revokes it (RFC 6749 §4.1.2)
    via_deviceauth: bool = False  # issued by the openai deviceauth poll (redirect_uri: the issuer's callback)


@dataclass(eq=False)
class _Refresh:
    grant: _Grant
    rotated: bool = False


@dataclass(eq=False)
class _Device:
    device_code: str
    user_code: str
    client_id: str
    scope: str
    expires_at: float
    interval: int = DEVICE_POLL_INTERVAL
    status: str = "pending"  # pending | approved | denied | consumed
    last_poll: float | None = None
    polls: int = 0
    dialect: str = "rfc"  # rfc (device_code polled at /oauth/token) | openai (device_auth_id, deviceauth/token)


@dataclass(eq=False)
class _PersonalAccessToken:
    email: str
    account_id: str
    plan: str
    user_id: str
    revoked: bool = False


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - dev issuer</title></head>
<body><h1>{title}</h1>
{body}
</body></html>
"""


def _page(title: str, body: str) -> bytes:
    return _PAGE.format(title=html.escape(title), body=body).encode("utf-8")


class IssuerCore:
    """The settings and state every endpoint shares; `DevIssuer` (in `app`) is the ASGI app built on it."""

    def __init__(
        self,
        *,
        auto_approve: bool = False,
        client_ids: set[str] | None = None,
        email: str = "dev@example.com",
        plan: str = "pro",
        account_id: str = "acct_dev",
        access_token_lifetime: int = 3600,
        device_auto_approve_after: int | None = None,
        id_token_auth_claims: dict[str, Any] | None = None,
    ) -> None:
        self.auto_approve = auto_approve
        # Added to the id_token's AUTH_CLAIMS (over the defaults); read at each issue, so a test may
        # change it between logins (ORG_OWNER_NEEDS_SETUP: a new organisation owner).
        self.id_token_auth_claims: dict[str, Any] = dict(id_token_auth_claims or {})
        self.client_ids = client_ids
        self.email, self.plan, self.account_id = email, plan, account_id
        self.access_token_lifetime = access_token_lifetime
        self.device_auto_approve_after = device_auto_approve_after
        self.faults = Faults()
        self.issuer_url = ""
        self.identifier: str | None = None  # what it calls itself (iss, discovery); None: issuer_url
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # (method, path, params) of each request
        self.request_log: list[Request] = []  # the same requests, with media type and headers
        self._key = secrets.token_bytes(32)
        self._pending: dict[str, dict[str, str]] = {}
        self._codes: dict[str, _Code] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._access: dict[str, _Grant] = {}
        self._access_expiry: dict[str, float] = {}  # time.time() when each access token expires
        self._revoked_access: set[str] = set()
        self._devices: dict[str, _Device] = {}
        self._user_codes: dict[str, str] = {}
        self._pats: dict[str, _PersonalAccessToken] = {}

    # ---- helpers for tests ------------------------------------------------------------------

    def token_requests(
        self,
        grant_type: str | None = None,
        *,
        media_type: str | None = None,
    ) -> list[dict[str, str]]:
        """The params of each /oauth/token request (of `grant_type`, sent as `media_type`, if given).
        A JSON refresh's `refresh_reason` is among them."""
        return [
            r.params
            for r in self.request_log
            if r.path == "/oauth/token"
            and (grant_type is None or r.params.get("grant_type") == grant_type)
            and (media_type is None or r.media_type == media_type)
        ]

    def requests_to(self, path: str) -> list[Request]:
        """Every request to `path`, in order."""
        return [r for r in self.request_log if r.path == path]

    @property
    def issuer_identifier(self) -> str:
        return self.identifier or self.issuer_url

    def authorize_requests(self) -> list[dict[str, str]]:
        """The query of each /oauth/authorize request: scope, allowed_workspace_id, state, … as sent."""
        return [r.params for r in self.request_log if r.path == "/oauth/authorize"]

    # ---- replies ------------------------------------------------------------------------------

    @staticmethod
    def _json(status: int, data: dict[str, Any]) -> _Reply:
        return status, json.dumps(data).encode(), "application/json", _JSON_HEADERS

    @staticmethod
    def _html(status: int, title: str, body: str) -> _Reply:
        return status, _page(title, body), "text/html; charset=utf-8", [(b"cache-control", b"no-store")]

    @staticmethod
    def _redirect(location: str) -> _Reply:
        return 302, b"", None, [(b"location", location.encode("ascii")), (b"cache-control", b"no-store")]

    @classmethod
    def _oauth_error(cls, exc: _OAuthError) -> _Reply:
        data = {"error": exc.error}
        if exc.description:
            data["error_description"] = exc.description
        return cls._json(exc.status, data)

    # ---- clients and parameters -------------------------------------------------------------

    def _client_ok(self, client_id: str | None) -> bool:
        return bool(client_id) and (self.client_ids is None or client_id in self.client_ids)

    @staticmethod
    def _require(form: dict[str, str], *names: str) -> list[str]:
        missing = [n for n in names if not form.get(n)]
        if missing:
            raise _OAuthError("invalid_request", f"missing parameter: {', '.join(missing)}")
        return [form[n] for n in names]

    def _check_client(self, client_id: str | None) -> None:
        if not self._client_ok(client_id):
            raise _OAuthError("invalid_client", "unknown client", status=401)
