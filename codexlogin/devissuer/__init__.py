"""A local development OAuth 2.0 / OIDC issuer: the README's offline demo and the test suite's issuer.

A raw ASGI app (no framework) served by hypercorn on trio, bound to 127.0.0.1 only. It implements
authorization code + PKCE with loopback redirects (RFC 6749, 7636, 8252), refresh-token rotation
with replay detection, the token-exchange grant that mints an API key, the device authorization
grant (RFC 8628), token revocation (RFC 7009) and OIDC discovery. `Faults` lets tests make it
misbehave while it runs. State lives in memory; timers use `trio.current_time()` so MockClock works.

It speaks two dialects at once, told apart by endpoint and body type (no mode switch):

  both      GET  /oauth/authorize (+ /oauth/authorize/decision): any extra parameters are accepted
                 and kept in the request log (scope "... api.connectors.read api.connectors.invoke",
                 allowed_workspace_id=a,b, id_token_add_organizations, originator, ...)
            POST /oauth/token, form body: every grant; JSON body: the same, except refresh (below)
            POST /oauth/revoke, form or JSON body {"token", "token_type_hint", "client_id"}
  standard  GET  /.well-known/openid-configuration and /.well-known/oauth-authorization-server (RFC 8414;
                 Faults.discovery_status / discovery_issuer / discovery_extra make them absent or hostile)
            GET/POST /oauth/userinfo with "Authorization: Bearer <access token>" (OIDC Core §5.3): 401 with
                 an RFC 6750 challenge once the token is revoked (its grant too) or expired
            POST /oauth/introspect {token, client_id} (RFC 7662, public client unless
                 Faults.introspection_public_client is False): {"active": ...}
            POST /oauth/device/code, then grant_type=...:device_code at /oauth/token
            GET/POST /device (the user's page)
  openai    POST /api/accounts/deviceauth/usercode {"client_id"} -> {"device_auth_id", "user_code"
                 (or "usercode": Faults.usercode_field), "interval": "5"}
            POST /api/accounts/deviceauth/token {"device_auth_id", "user_code"} -> 403 pending (404 for
                 an unknown id), 400 access_denied, 410 expired, then 200 {"authorization_code",
                 "code_challenge", "code_verifier"}, redeemed at /oauth/token with grant_type=
                 authorization_code and redirect_uri={issuer}/deviceauth/callback
            GET/POST /codex/device (the user's page: the code alone approves)
            POST /oauth/token with a JSON refresh {"client_id", "grant_type", "refresh_token",
                 "refresh_reason"}: a reused token -> 401 refresh_token_reused, a revoked grant ->
                 401 refresh_token_invalidated
            GET  /api/accounts/v1/user-auth-credential/whoami with "Authorization: Bearer at-..."
                 (`issue_personal_access_token`) -> {"email", "chatgpt_user_id", "chatgpt_account_id",
                 "chatgpt_plan_type", "chatgpt_account_is_fedramp"}, else 401
  /api/accounts/* errors are {"error": {"code", "message"}}; /oauth/* errors {"error", "error_description"}.

    python -m codexlogin.devissuer [--port N] [--auto-approve]   # serve until Ctrl-C
    python -m codexlogin.devissuer browse URL [--deny]            # scripted "browser" for $BROWSER
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import html
import json
import math
import re
import secrets
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import trio

from codexlogin._asgi import answer_lifespan

if TYPE_CHECKING:
    from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, Scope

AUTH_CLAIMS = "https://api.openai.com/auth"
GRANT_AUTH_CODE = "authorization_code"
GRANT_REFRESH = "refresh_token"
GRANT_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
GRANT_DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
DEFAULT_SCOPE = "openid profile email offline_access"
CODE_LIFETIME = 60.0
DEVICE_CODE_LIFETIME = 900
DEVICE_POLL_INTERVAL = 5
MAX_BODY = 1 << 20
_PKCE_RE = re.compile(r"[A-Za-z0-9._~-]{43,128}")
_CHALLENGE_RE = re.compile(r"[A-Za-z0-9_-]{43}")
_USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # RFC 8628 §6.1: no vowels, no look-alikes
_JSON_HEADERS = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
# The openai dialect (see the module docstring).
DEVICEAUTH_CALLBACK_PATH = "/deviceauth/callback"  # the redirect_uri of a deviceauth code: {issuer}+this
ONBOARDING_STATE_SUFFIX = ".onboarding_entrypoint=life_sciences"  # a value for Faults.state_suffix
MISSING_ENTITLEMENT_DESCRIPTION = "Codex is not enabled for this account (missing_codex_entitlement)"
# A route's handler: the request → (status, body, content type, extra headers).
_Reply = tuple[int, bytes, str | None, list[tuple[bytes, bytes]]]
_Handler = Callable[["Request"], Awaitable[_Reply]]


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _with_params(uri: str, params: dict[str, str]) -> str:
    """Add query parameters to a redirect URI, keeping its own query (RFC 6749 §3.1.2)."""
    parts = urlsplit(uri)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _request_id_headers(request_id: str) -> list[tuple[bytes, bytes]]:
    value = request_id.encode("latin-1")
    return [(b"x-request-id", value), (b"x-openai-request-id", value), (b"cf-ray", value + b"-DEV")]


def _is_deviceauth_callback(uri: str, issuer_url: str) -> bool:
    """`{issuer}/deviceauth/callback`, the issuer's loopback host spelt 127.0.0.1 or localhost."""
    try:
        parts, issuer = urlsplit(uri), urlsplit(issuer_url)
        same_port = parts.port is not None and parts.port == issuer.port
    except ValueError:
        return False
    return (
        parts.scheme == issuer.scheme and same_port and parts.hostname in ("localhost", "127.0.0.1")
        and "@" not in parts.netloc and parts.path == DEVICEAUTH_CALLBACK_PATH
        and not parts.query and not parts.fragment
    )


def is_loopback_redirect(uri: str | None) -> bool:
    """RFC 8252 §7.3: http on localhost / 127.0.0.1 with an explicit port, no userinfo or fragment."""
    if not uri:
        return False
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme == "http"
        and parts.hostname in ("localhost", "127.0.0.1")
        and port is not None
        and "@" not in parts.netloc
        and not parts.fragment
    )


class _OAuthError(Exception):
    def __init__(self, error: str, description: str | None = None, status: int = 400) -> None:
        super().__init__(error)
        self.error, self.description, self.status = error, description, status


@dataclass
class Faults:
    """Fault-injection knobs; mutable, and read on every request, so tests can flip them live."""

    token_status: int | None = None  # authorization_code grant answers this status...
    token_body: bytes | None = None  # ...with this raw body
    token_content_type: str = "application/json"
    token_delay: float = 0.0  # trio.sleep before answering any /oauth/token request
    api_key_exchange_error: str | None = None  # token-exchange answers 400 {"error": this}
    device_code_enabled: bool = True  # False -> /oauth/device/code and deviceauth/usercode answer 404
    revoke_status: int | None = None  # /oauth/revoke answers this status
    refresh_error: str | None = None  # refresh_token grant answers 400 {"error": this}
    # -- mostly for the openai dialect --
    state_suffix: str | None = None  # appended to every `state` redirected back (ONBOARDING_STATE_SUFFIX)
    request_id: str | None = None  # /oauth/token error replies carry x-request-id, x-openai-request-id, cf-ray
    missing_codex_entitlement: bool = False  # authorize and the deviceauth poll deny, saying so
    deviceauth_pending_status: int = 403  # the deviceauth poll's "not yet" status (the real CLI: 403 or 404)
    # The usercode reply names the code "user_code" or "usercode", never both: the real CLI reads
    # either (a serde alias) and refuses a reply with both ("duplicate field `user_code`").
    usercode_field: str = "user_code"
    # -- discovery, proofs and strictness (the standard dialect) --
    discovery_status: int | None = None  # /.well-known/* answer this status (404: no discovery)
    discovery_issuer: str | None = None  # the `issuer` the documents name (default: the identifier)
    discovery_extra: dict[str, Any] | None = None  # merged into the discovery documents (hostile values)
    userinfo_enabled: bool = True  # False: /oauth/userinfo 404 and not advertised
    introspection_enabled: bool = True  # False: /oauth/introspect 404 and not advertised
    introspection_public_client: bool = True  # False: advertise client_secret_basic only, 401 without it
    require_nonce: bool = False  # an openid authorize request without nonce -> invalid_request
    id_token_nonce: str | None = None  # the id_token carries this nonce instead of the request's
    callback_iss: str | None = None  # add iss=this to every redirect back (RFC 9207); "self": the identifier
    opaque_access_tokens: bool = False  # access tokens are random strings, not JWTs (no exp claim)
    expires_in: Any = None  # the token reply's expires_in instead of the lifetime (hostile values too)
    # RFC 8252 §8.3 strictness: redirect URIs the client registered. A `localhost` one must match
    # exactly (port too); for 127.0.0.1 / [::1] the port is ignored (§7.3). None: any loopback one.
    registered_redirects: tuple[str, ...] | None = None
    hang_paths: frozenset[str] = frozenset()  # requests to these paths are logged, then never answered


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


def _normalize_user_code(user_code: str) -> str:
    raw = "".join(ch for ch in user_code.upper() if ch.isalnum())
    return f"{raw[:4]}-{raw[4:]}"


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - dev issuer</title></head>
<body><h1>{title}</h1>
{body}
</body></html>
"""


def _page(title: str, body: str) -> bytes:
    return _PAGE.format(title=html.escape(title), body=body).encode("utf-8")


class DevIssuer:
    """The ASGI app. Serve it with `serve_dev_issuer`."""

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
    ) -> None:
        self.auto_approve = auto_approve
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
        self._routes: dict[str, dict[str, _Handler]] = {
            # shared by both dialects (/oauth/token and /oauth/revoke take form or JSON bodies)
            "/oauth/authorize": {"GET": self._authorize},
            "/oauth/authorize/decision": {"POST": self._decision},
            "/oauth/token": {"POST": self._token},
            "/oauth/revoke": {"POST": self._revoke},
            # standard (RFC) dialect only
            "/.well-known/openid-configuration": {"GET": self._discovery},
            "/.well-known/oauth-authorization-server": {"GET": self._discovery},
            "/oauth/userinfo": {"GET": self._userinfo, "POST": self._userinfo},
            "/oauth/introspect": {"POST": self._introspect},
            "/oauth/device/code": {"POST": self._device_code},
            "/device": {"GET": self._device_page, "POST": self._device_decision},
            # openai dialect only
            "/api/accounts/deviceauth/usercode": {"POST": self._deviceauth_usercode},
            "/api/accounts/deviceauth/token": {"POST": self._deviceauth_token},
            "/codex/device": {"GET": self._codex_device_page, "POST": self._codex_device_decision},
            "/api/accounts/v1/user-auth-credential/whoami": {"GET": self._whoami},
        }

    # ---- helpers for tests ------------------------------------------------------------------

    def token_requests(
        self, grant_type: str | None = None, *, media_type: str | None = None,
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

    def issue_personal_access_token(
        self, *, email: str | None = None, account_id: str | None = None, plan: str | None = None,
    ) -> str:
        """Mint a personal access token ("at-…") that whoami accepts; the account defaults to the issuer's."""
        token = f"at-{secrets.token_urlsafe(32)}"
        self._pats[token] = _PersonalAccessToken(
            email=email or self.email, account_id=account_id or self.account_id, plan=plan or self.plan,
            user_id="user_dev",
        )
        return token

    def revoke_personal_access_token(self, token: str) -> None:
        self._pats[token].revoked = True

    def approve_device(self, user_code: str) -> None:
        self._device_by_user_code(user_code).status = "approved"

    def deny_device(self, user_code: str) -> None:
        self._device_by_user_code(user_code).status = "denied"

    def token_active(self, token: str) -> bool:
        """Whether a refresh, access or personal access token issued here is still usable (not rotated or
        revoked)."""
        if (refresh := self._refresh.get(token)) is not None:
            return not refresh.rotated and not refresh.grant.revoked
        if (pat := self._pats.get(token)) is not None:
            return not pat.revoked
        grant = self._access.get(token)
        return (
            grant is not None and not grant.revoked and token not in self._revoked_access
            and self._access_expiry.get(token, math.inf) > time.time()
        )

    def verify_jwt(self, token: str, *, typ: str | None = None) -> dict[str, Any] | None:
        """The claims of an unexpired JWT this instance signed (of header `typ`, if given), else None."""
        try:
            header, payload, signature = token.split(".")
            expected = hmac.new(self._key, f"{header}.{payload}".encode("ascii"), hashlib.sha256).digest()
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

    def _device_by_user_code(self, user_code: str) -> _Device:
        device_code = self._user_codes.get(_normalize_user_code(user_code))
        if device_code is None:
            raise KeyError(f"unknown user code {user_code!r}")
        return self._devices[device_code]

    # ---- ASGI plumbing ----------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if not self.issuer_url:  # served by something other than serve_dev_issuer
            host, port = scope.get("server") or ("127.0.0.1", 80)
            self.issuer_url = f"http://{host}:{port}"
        method, path = scope["method"], scope["path"]
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            if message["type"] != "http.request":  # nothing else comes on an http scope (no more_body: the end)
                break
            body += message.get("body", b"")
            if len(body) > MAX_BODY:
                await self._send(send, 413, b"payload too large", "text/plain")
                return
            if not message.get("more_body"):
                break
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope.get("headers") or []:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if method == "POST":
            params = self._parse_body(media_type, body)
        else:
            params = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        self.requests.append((method, path, params))
        request = Request(method, path, params, media_type, headers)
        self.request_log.append(request)
        route = self._routes.get(path)
        if path in self.faults.hang_paths:
            await trio.sleep_forever()
        if route is None:
            await self._send(send, 404, b"not found", "text/plain")
        elif method not in route:
            allow = ", ".join(route).encode()
            await self._send(send, 405, b"method not allowed", "text/plain", [(b"allow", allow)])
        else:
            status, payload, content_type, reply_headers = await route[method](request)
            await self._send(send, status, payload, content_type, reply_headers)

    @staticmethod
    def _parse_body(media_type: str, body: bytes) -> dict[str, str]:
        """Form-encoded (as RFC 6749 requires), or a JSON object (the openai dialect's bodies)."""
        text = body.decode("utf-8", "replace")
        if media_type == "application/json":
            try:
                data = json.loads(text)
            except ValueError:
                return {}
            return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
        return dict(parse_qsl(text, keep_blank_values=True))

    @staticmethod
    async def _send(
        send: ASGISendCallable, status: int, body: bytes, content_type: str | None, headers: Iterable[tuple[bytes, bytes]] = ()
    ) -> None:
        out = [(b"content-length", str(len(body)).encode())]
        if content_type:
            out.append((b"content-type", content_type.encode("latin-1")))
        out.extend(headers)
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    @staticmethod
    def _json(status: int, data: dict[str, Any]):
        return status, json.dumps(data).encode(), "application/json", _JSON_HEADERS

    @staticmethod
    def _html(status: int, title: str, body: str):
        return status, _page(title, body), "text/html; charset=utf-8", [(b"cache-control", b"no-store")]

    @staticmethod
    def _redirect(location: str):
        return 302, b"", None, [(b"location", location.encode("ascii")), (b"cache-control", b"no-store")]

    @classmethod
    def _oauth_error(cls, exc: _OAuthError):
        data = {"error": exc.error}
        if exc.description:
            data["error_description"] = exc.description
        return cls._json(exc.status, data)

    # ---- discovery ----------------------------------------------------------------------------

    async def _discovery(self, request: Request):
        """OIDC Discovery and RFC 8414 (the same document at both well-known paths)."""
        f = self.faults
        if f.discovery_status is not None:
            return f.discovery_status, b"not found", "text/plain", []
        base = self.issuer_url
        extra: dict[str, Any] = {}
        if f.userinfo_enabled:
            extra["userinfo_endpoint"] = f"{base}/oauth/userinfo"
        if f.introspection_enabled:
            extra["introspection_endpoint"] = f"{base}/oauth/introspect"
            extra["introspection_endpoint_auth_methods_supported"] = (
                ["none"] if f.introspection_public_client else ["client_secret_basic"])
        return self._json(200, {
            "issuer": f.discovery_issuer or self.issuer_identifier,
            "authorization_endpoint": f"{base}/oauth/authorize",
            "token_endpoint": f"{base}/oauth/token",
            "revocation_endpoint": f"{base}/oauth/revoke",
            "device_authorization_endpoint": f"{base}/oauth/device/code",
            "authorization_response_iss_parameter_supported": f.callback_iss is not None,
            **extra,
            **(f.discovery_extra or {}),
            "response_types_supported": ["code"],
            "grant_types_supported": [GRANT_AUTH_CODE, GRANT_REFRESH, GRANT_TOKEN_EXCHANGE, GRANT_DEVICE_CODE],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": DEFAULT_SCOPE.split(),
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["HS256"],
        })

    # ---- authorization endpoint ---------------------------------------------------------------

    def _client_ok(self, client_id: str | None) -> bool:
        return bool(client_id) and (self.client_ids is None or client_id in self.client_ids)

    async def _authorize(self, request: Request):
        q = request.params
        client_id, redirect_uri, state = q.get("client_id"), q.get("redirect_uri"), q.get("state")
        # Never redirect to a URI we have not validated (RFC 6749 §4.1.2.1): show the error instead.
        if not self._client_ok(client_id):
            return self._html(400, "Invalid client", "<p>Unknown or missing client_id.</p>")
        if not is_loopback_redirect(redirect_uri):
            return self._html(400, "Invalid redirect_uri", "<p>redirect_uri must be http://localhost:PORT/… "
                                                             "or http://127.0.0.1:PORT/… (RFC 8252).</p>")
        if not self._redirect_registered(redirect_uri or ""):
            return self._html(400, "Invalid redirect_uri", "<p>The redirect_uri is not registered for this client.</p>")
        error = None
        if q.get("response_type") != "code":
            error = ("unsupported_response_type", "response_type must be code")
        elif not _CHALLENGE_RE.fullmatch(q.get("code_challenge", "")):
            error = ("invalid_request", "code_challenge is required (PKCE)")
        elif q.get("code_challenge_method") != "S256":
            error = ("invalid_request", "code_challenge_method must be S256")
        elif self.faults.require_nonce and "openid" in q.get("scope", "").split() and not q.get("nonce"):
            error = ("invalid_request", "nonce required")
        if error is None and self.faults.missing_codex_entitlement:
            error = ("access_denied", MISSING_ENTITLEMENT_DESCRIPTION)
        if error is not None:
            return self._redirect(self._redirect_params(q, {"error": error[0], "error_description": error[1]}))
        if self.auto_approve:
            return self._redirect(self._issue_code(q))
        pending_id = secrets.token_urlsafe(24)
        self._pending[pending_id] = dict(q)
        e = lambda s: html.escape(s or "", quote=True)  # noqa: E731
        body = (
            f"<p>Application <strong>{e(client_id)}</strong> asks to sign in as "
            f"<strong>{e(self.email)}</strong>.</p>\n"
            f"<dl><dt>Scope</dt><dd>{e(q.get('scope', DEFAULT_SCOPE))}</dd>"
            f"<dt>Redirect</dt><dd>{e(redirect_uri)}</dd><dt>State</dt><dd>{e(state)}</dd></dl>\n"
            '<form method="post" action="/oauth/authorize/decision">\n'
            f'<input type="hidden" name="pending_id" value="{e(pending_id)}">\n'
            '<button type="submit" name="decision" value="approve">Approve</button>\n'
            '<button type="submit" name="decision" value="deny">Deny</button>\n</form>'
        )
        return self._html(200, "Authorize application", body)

    def _redirect_registered(self, redirect_uri: str) -> bool:
        registered = self.faults.registered_redirects
        if registered is None or redirect_uri in registered:
            return True
        parts = urlsplit(redirect_uri)
        if parts.hostname not in ("127.0.0.1", "::1"):
            return False  # RFC 8252 §8.3: a localhost redirect must match exactly, port included
        for uri in registered:  # §7.3: the port of an IP-literal loopback redirect is not compared
            other = urlsplit(uri)
            if (other.scheme, other.hostname, other.path) == (parts.scheme, parts.hostname, parts.path):
                return True
        return False

    def _redirect_params(self, q: dict[str, str], params: dict[str, str]) -> str:
        if q.get("state") is not None:
            params["state"] = q["state"] + (self.faults.state_suffix or "")
        if self.faults.callback_iss is not None:
            params["iss"] = self.issuer_identifier if self.faults.callback_iss == "self" else self.faults.callback_iss
        return _with_params(q["redirect_uri"], params)

    def _issue_code(self, q: dict[str, str]) -> str:
        code = secrets.token_urlsafe(32)
        self._codes[code] = _Code(
            client_id=q["client_id"], redirect_uri=q["redirect_uri"], challenge=q["code_challenge"],
            scope=q.get("scope") or DEFAULT_SCOPE, expires_at=trio.current_time() + CODE_LIFETIME,
            nonce=q.get("nonce") or None,
        )
        return self._redirect_params(q, {"code": code})

    async def _decision(self, request: Request):
        form = request.params
        q = self._pending.pop(form.get("pending_id", ""), None)
        if q is None:
            return self._html(400, "Unknown request", "<p>This request is unknown or already answered.</p>")
        if form.get("decision") == "approve":
            return self._redirect(self._issue_code(q))
        denied = {"error": "access_denied", "error_description": "The user denied the request"}
        return self._redirect(self._redirect_params(q, denied))

    # ---- token endpoint -----------------------------------------------------------------------

    async def _token(self, request: Request):
        if self.faults.token_delay:
            await trio.sleep(self.faults.token_delay)
        status, body, content_type, headers = self._token_reply(request)
        if status >= 400 and self.faults.request_id is not None:
            headers = [*headers, *_request_id_headers(self.faults.request_id)]
        return status, body, content_type, headers

    def _token_reply(self, request: Request):
        form = request.params
        grant_type = form.get("grant_type")
        if grant_type == GRANT_AUTH_CODE and self.faults.token_status is not None:
            f = self.faults
            return f.token_status, f.token_body or b"", f.token_content_type, _JSON_HEADERS
        handlers = {
            GRANT_AUTH_CODE: self._grant_auth_code,
            # A JSON refresh is the openai dialect's (see its section below); a form one is RFC 6749 §6.
            GRANT_REFRESH: self._grant_refresh_json if request.is_json else self._grant_refresh,
            GRANT_TOKEN_EXCHANGE: self._grant_token_exchange,
            GRANT_DEVICE_CODE: self._grant_device_code,
        }
        try:
            if not grant_type:
                raise _OAuthError("invalid_request", "grant_type is required")
            if grant_type not in handlers:
                raise _OAuthError("unsupported_grant_type", f"grant_type {grant_type} is not supported")
            return self._json(200, handlers[grant_type](form))
        except _OAuthError as exc:
            return self._oauth_error(exc)

    @staticmethod
    def _require(form: dict[str, str], *names: str) -> list[str]:
        missing = [n for n in names if not form.get(n)]
        if missing:
            raise _OAuthError("invalid_request", f"missing parameter: {', '.join(missing)}")
        return [form[n] for n in names]

    def _check_client(self, client_id: str | None) -> None:
        if not self._client_ok(client_id):
            raise _OAuthError("invalid_client", "unknown client", status=401)

    def _grant_auth_code(self, form: dict[str, str]) -> dict[str, Any]:
        code, redirect_uri, client_id, verifier = self._require(
            form, "code", "redirect_uri", "client_id", "code_verifier")
        self._check_client(client_id)
        record = self._codes.get(code)
        if record is None:
            raise _OAuthError("invalid_grant", "unknown authorization code")
        if record.grant is not None:  # replay: the code may have been stolen; kill what it bought
            record.grant.revoked = True
            raise _OAuthError("invalid_grant", "authorization code already used")
        if trio.current_time() > record.expires_at:
            raise _OAuthError("invalid_grant", "authorization code expired")
        if record.client_id != client_id or not self._redirect_matches(record, redirect_uri):
            raise _OAuthError("invalid_grant", "client_id or redirect_uri does not match the authorization request")
        if not _PKCE_RE.fullmatch(verifier):
            raise _OAuthError("invalid_grant", "malformed code_verifier")
        challenge = _b64url(hashlib.sha256(verifier.encode("ascii")).digest())
        if not hmac.compare_digest(challenge, record.challenge):
            raise _OAuthError("invalid_grant", "code_verifier does not match code_challenge")
        record.grant = _Grant(client_id=client_id, scope=record.scope)
        return self._issue_tokens(record.grant, nonce=record.nonce)

    def _redirect_matches(self, record: _Code, redirect_uri: str) -> bool:
        if redirect_uri == record.redirect_uri:
            return True
        # A deviceauth code names the issuer's own callback; accept it spelt with localhost too.
        return record.via_deviceauth and _is_deviceauth_callback(redirect_uri, self.issuer_url)

    def _grant_refresh(self, form: dict[str, str]) -> dict[str, Any]:
        if self.faults.refresh_error is not None:
            raise _OAuthError(self.faults.refresh_error)
        (token,) = self._require(form, "refresh_token")
        record = self._refresh.get(token)
        if record is None or record.grant.revoked:
            raise _OAuthError("invalid_grant", "refresh token is invalid or revoked")
        if form.get("client_id") and form["client_id"] != record.grant.client_id:
            raise _OAuthError("invalid_grant", "refresh token was issued to another client")
        if record.rotated:  # replay of a rotated token: assume theft, revoke the whole grant
            record.grant.revoked = True
            raise _OAuthError("invalid_grant", "refresh token already used")
        record.rotated = True
        return self._issue_tokens(record.grant)

    def _grant_token_exchange(self, form: dict[str, str]) -> dict[str, Any]:
        if self.faults.api_key_exchange_error is not None:
            raise _OAuthError(self.faults.api_key_exchange_error)
        requested, subject, subject_type = self._require(
            form, "requested_token", "subject_token", "subject_token_type")
        if requested != "openai-api-key":
            raise _OAuthError("invalid_target", "only requested_token=openai-api-key is supported")
        if subject_type != ID_TOKEN_TYPE:
            raise _OAuthError("invalid_request", f"subject_token_type must be {ID_TOKEN_TYPE}")
        claims = self.verify_jwt(subject, typ="JWT")
        if claims is None or claims.get("iss") != self.issuer_identifier:
            raise _OAuthError("invalid_grant", "subject_token is not a valid id_token from this issuer")
        if form.get("client_id") and form["client_id"] != claims.get("aud"):
            raise _OAuthError("invalid_grant", "subject_token was issued to another client")
        return {
            "access_token": f"sk-dev-{secrets.token_urlsafe(24)}",
            "issued_token_type": "urn:openai:params:oauth:token-type:api-key",
            "token_type": "N_A",
        }

    def _grant_device_code(self, form: dict[str, str]) -> dict[str, Any]:
        device_code, client_id = self._require(form, "device_code", "client_id")
        self._check_client(client_id)
        device = self._devices.get(device_code)
        if device is None or device.client_id != client_id or device.dialect != "rfc":
            raise _OAuthError("invalid_grant", "unknown device_code")
        now = trio.current_time()
        device.polls += 1
        if now > device.expires_at:
            raise _OAuthError("expired_token", "the device code has expired")
        # Half a second of slack: a client that waits `interval` after each reply must never be
        # told to slow down just because its request arrived a moment early.
        too_fast = device.last_poll is not None and now - device.last_poll < device.interval - 0.5
        device.last_poll = now
        if too_fast and device.status in ("pending", "approved"):
            device.interval += 5  # RFC 8628 §3.5: every later poll must wait 5 s longer
            raise _OAuthError("slow_down", f"poll at most every {device.interval} seconds")
        if device.status == "pending" and self.device_auto_approve_after is not None:
            if device.polls >= self.device_auto_approve_after:
                device.status = "approved"
        if device.status == "pending":
            raise _OAuthError("authorization_pending", "the user has not yet approved")
        if device.status == "denied":
            raise _OAuthError("access_denied", "the user denied the request")
        if device.status == "consumed":
            raise _OAuthError("invalid_grant", "device code already used")
        device.status = "consumed"
        return self._issue_tokens(_Grant(client_id=client_id, scope=device.scope))

    def _issue_tokens(self, grant: _Grant, *, nonce: str | None = None) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.issuer_identifier, "aud": grant.client_id, "sub": "user_dev", "iat": now,
            "exp": now + self.access_token_lifetime, "email": self.email,
            AUTH_CLAIMS: {"chatgpt_account_id": self.account_id, "chatgpt_plan_type": self.plan,
                          "chatgpt_user_id": "user_dev"},
        }
        id_claims = {**claims, "email_verified": True, "jti": secrets.token_urlsafe(12)}
        nonce = self.faults.id_token_nonce or nonce
        if nonce is not None:
            id_claims["nonce"] = nonce  # OIDC Core §2: the authorization request's nonce
        id_token = self._sign(id_claims, "JWT")
        if self.faults.opaque_access_tokens:
            access_token = f"opaque-{secrets.token_urlsafe(32)}"
        else:
            access_token = self._sign({**claims, "scope": grant.scope, "jti": secrets.token_urlsafe(12)}, "at+jwt")
        refresh_token = f"rt-dev-{secrets.token_urlsafe(32)}"
        self._access[access_token] = grant
        self._access_expiry[access_token] = now + self.access_token_lifetime
        self._refresh[refresh_token] = _Refresh(grant)
        expires_in = self.access_token_lifetime if self.faults.expires_in is None else self.faults.expires_in
        return {
            "id_token": id_token, "access_token": access_token, "refresh_token": refresh_token,
            "token_type": "Bearer", "expires_in": expires_in, "scope": grant.scope,
        }

    def _sign(self, claims: dict[str, Any], typ: str) -> str:
        header = _b64url(json.dumps({"alg": "HS256", "typ": typ}, separators=(",", ":")).encode())
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self._key, f"{header}.{payload}".encode("ascii"), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64url(signature)}"

    # ---- proofs: userinfo (OIDC Core §5.3) and introspection (RFC 7662) ------------------------

    async def _userinfo(self, request: Request):
        """The Bearer access token's claims; 401 with an RFC 6750 challenge once it is revoked,
        expired or unknown."""
        if not self.faults.userinfo_enabled:
            return 404, b"not found", "text/plain", []
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        if not token or token not in self._access or not self.token_active(token):
            description = "the access token is revoked or expired" if token in self._access else "unknown access token"
            challenge = f'Bearer error="invalid_token", error_description="{description}"'.encode()
            return 401, b"", None, [(b"www-authenticate", challenge)]
        return self._json(200, {
            "sub": "user_dev", "email": self.email, "email_verified": True,
            AUTH_CLAIMS: {"chatgpt_account_id": self.account_id, "chatgpt_plan_type": self.plan},
        })

    async def _introspect(self, request: Request):
        form = request.params
        if not self.faults.introspection_enabled:
            return 404, b"not found", "text/plain", []
        if not self.faults.introspection_public_client and "authorization" not in request.headers:
            return self._oauth_error(_OAuthError("invalid_client", "client authentication required", status=401))
        token = form.get("token")
        if not token:
            return self._oauth_error(_OAuthError("invalid_request", "missing parameter: token"))
        if not self.token_active(token):
            return self._json(200, {"active": False})
        grant = self._refresh[token].grant if token in self._refresh else self._access.get(token)
        reply: dict[str, Any] = {"active": True, "sub": "user_dev", "token_type": "Bearer"}
        if grant is not None:
            reply.update(client_id=grant.client_id, scope=grant.scope)
        if token in self._access_expiry:
            reply["exp"] = int(self._access_expiry[token])
        return self._json(200, reply)

    # ---- revocation (RFC 7009) ----------------------------------------------------------------

    async def _revoke(self, request: Request):
        form = request.params
        if self.faults.revoke_status is not None:
            return self.faults.revoke_status, b"", None, []
        token = form.get("token")
        if not token:
            return self._oauth_error(_OAuthError("invalid_request", "missing parameter: token"))
        if (refresh := self._refresh.get(token)) is not None:
            refresh.grant.revoked = True  # §2.1: revoking a refresh token ends the whole grant
        elif token in self._access:
            self._revoked_access.add(token)
        elif (pat := self._pats.get(token)) is not None:
            pat.revoked = True
        return 200, b"", None, []  # §2.2: 200 even for unknown tokens (form and JSON bodies alike)

    # ---- device authorization (RFC 8628) ------------------------------------------------------

    async def _device_code(self, request: Request):
        form = request.params
        if not self.faults.device_code_enabled:
            return 404, b"not found", "text/plain", []
        try:
            self._check_client(form.get("client_id"))
        except _OAuthError as exc:
            return self._oauth_error(exc)
        device = self._new_device(form["client_id"], form.get("scope") or DEFAULT_SCOPE, dialect="rfc")
        device_code, user_code = device.device_code, device.user_code
        verification_uri = f"{self.issuer_url}/device"
        return self._json(200, {
            "device_code": device_code, "user_code": user_code, "verification_uri": verification_uri,
            "verification_uri_complete": _with_params(verification_uri, {"user_code": user_code}),
            "expires_in": DEVICE_CODE_LIFETIME, "interval": DEVICE_POLL_INTERVAL,
        })

    def _new_device(self, client_id: str, scope: str, *, dialect: str) -> _Device:
        device_code = secrets.token_urlsafe(32)
        while True:
            user_code = _normalize_user_code("".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(8)))
            if user_code not in self._user_codes:
                break
        device = self._devices[device_code] = _Device(
            device_code=device_code, user_code=user_code, client_id=client_id, scope=scope,
            expires_at=trio.current_time() + DEVICE_CODE_LIFETIME, dialect=dialect,
        )
        self._user_codes[user_code] = device_code
        return device

    async def _device_page(self, request: Request):
        q = request.params
        user_code = html.escape(q.get("user_code", ""), quote=True)
        return self._html(200, "Connect a device", (
            '<form method="post" action="/device">\n'
            f'<label>Code <input name="user_code" value="{user_code}" autocomplete="off"></label>\n'
            '<button type="submit" name="decision" value="approve">Approve</button>\n'
            '<button type="submit" name="decision" value="deny">Deny</button>\n</form>'
        ))

    async def _device_decision(self, request: Request):
        form = request.params
        return self._decide_device(form.get("user_code", ""), approve=form.get("decision") == "approve")

    def _decide_device(self, user_code: str, *, approve: bool):
        """The user's answer on a device page (either dialect's): approve or deny a pending code."""
        try:
            device = self._device_by_user_code(user_code)
        except KeyError:
            device = None
        if device is None or device.status != "pending" or trio.current_time() > device.expires_at:
            return self._html(400, "Unknown code", "<p>That code is unknown, expired or already used.</p>")
        device.status = "approved" if approve else "denied"
        title = "Device connected" if device.status == "approved" else "Request denied"
        return self._html(200, title, "<p>You can return to your device.</p>")

    # ==== the openai dialect ====================================================================
    # The Codex CLI's own protocol with auth.openai.com. /api/accounts/* errors are JSON
    # {"error": {"code": ..., "message": ...}}; /oauth/token errors stay RFC-shaped.

    @staticmethod
    def _api_error(status: int, code: str, message: str) -> _Reply:
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        return status, body, "application/json", _JSON_HEADERS

    async def _deviceauth_usercode(self, request: Request):
        form = request.params
        if not self.faults.device_code_enabled:  # the real CLI reads 404 as "device login not enabled"
            return self._api_error(404, "not_found", "device code login is not enabled")
        if not self._client_ok(form.get("client_id")):
            return self._api_error(401, "invalid_client", "unknown client")
        device = self._new_device(form["client_id"], DEFAULT_SCOPE, dialect="openai")
        if self.auto_approve:
            device.status = "approved"
        return self._json(200, {
            "device_auth_id": device.device_code, self.faults.usercode_field: device.user_code,
            "interval": str(DEVICE_POLL_INTERVAL),
        })

    async def _deviceauth_token(self, request: Request):
        """Poll: 403 (Faults.deviceauth_pending_status) pending, 404 unknown, 410 expired, 400
        access_denied / already used; once approved, 200 with a code and the PKCE pair made here."""
        form = request.params
        device = self._devices.get(form.get("device_auth_id", ""))
        if (device is None or device.dialect != "openai"
                or device.user_code != _normalize_user_code(form.get("user_code", ""))):
            return self._api_error(404, "deviceauth_not_found", "unknown device_auth_id or user_code")
        now = trio.current_time()
        device.polls += 1
        device.last_poll = now
        if now > device.expires_at:
            return self._api_error(410, "expired", "the device code has expired; start again")
        if device.status == "pending" and self.device_auto_approve_after is not None:
            if device.polls >= self.device_auto_approve_after:
                device.status = "approved"
        if device.status == "pending":
            return self._api_error(self.faults.deviceauth_pending_status, "deviceauth_authorization_pending",
                                   "the user has not yet approved this device")
        if device.status == "denied" or (device.status == "approved" and self.faults.missing_codex_entitlement):
            entitled = not self.faults.missing_codex_entitlement
            return self._api_error(400, "access_denied",
                                   "the user denied the request" if entitled else MISSING_ENTITLEMENT_DESCRIPTION)
        if device.status == "consumed":
            return self._api_error(400, "deviceauth_already_used", "this device code was already exchanged")
        device.status = "consumed"
        verifier = secrets.token_urlsafe(48)  # 64 unreserved characters (RFC 7636 §4.1)
        challenge = _b64url(hashlib.sha256(verifier.encode("ascii")).digest())
        code = secrets.token_urlsafe(32)
        self._codes[code] = _Code(
            client_id=device.client_id, redirect_uri=self.issuer_url + DEVICEAUTH_CALLBACK_PATH,
            challenge=challenge, scope=device.scope, expires_at=now + CODE_LIFETIME, via_deviceauth=True,
        )
        return self._json(200, {"authorization_code": code, "code_challenge": challenge, "code_verifier": verifier})

    async def _codex_device_page(self, request: Request):
        user_code = html.escape(request.params.get("user_code", ""), quote=True)
        return self._html(200, "Enter your one-time code", (
            '<form method="post" action="/codex/device">\n'
            f'<label>Code <input name="user_code" value="{user_code}" autocomplete="off"></label>\n'
            '<button type="submit" name="decision" value="approve">Continue</button>\n'
            '<button type="submit" name="decision" value="deny">Cancel</button>\n</form>'
        ))

    async def _codex_device_decision(self, request: Request):
        form = request.params  # the code alone approves; decision=deny denies
        return self._decide_device(form.get("user_code", ""), approve=form.get("decision") != "deny")

    def _grant_refresh_json(self, form: dict[str, str]) -> dict[str, Any]:
        """The JSON refresh: the form refresh's rotation, but a rotated token's reuse (which revokes
        the grant) answers 401 refresh_token_reused, and a revoked grant 401 refresh_token_invalidated."""
        if self.faults.refresh_error is not None:
            raise _OAuthError(self.faults.refresh_error)
        (token,) = self._require(form, "refresh_token")
        record = self._refresh.get(token)
        if record is None:
            raise _OAuthError("invalid_grant", "refresh token is invalid")
        if form.get("client_id") and form["client_id"] != record.grant.client_id:
            raise _OAuthError("invalid_grant", "refresh token was issued to another client")
        if record.rotated:
            record.grant.revoked = True
            raise _OAuthError("refresh_token_reused", "Your refresh token has already been used to generate "
                              "a new access token. Please try signing in again.", status=401)
        if record.grant.revoked:
            raise _OAuthError("refresh_token_invalidated", "Your refresh token has been invalidated. "
                              "Please try signing in again.", status=401)
        record.rotated = True
        return self._issue_tokens(record.grant)

    async def _whoami(self, request: Request):
        """A personal access token's account: 200 {"email", "chatgpt_user_id", "chatgpt_account_id",
        "chatgpt_plan_type", "chatgpt_account_is_fedramp": false}, or 401 for anything else."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        pat = self._pats.get(token.strip()) if scheme.lower() == "bearer" else None
        if pat is None or pat.revoked:
            code = "token_revoked" if pat is not None else "invalid_token"
            status, body, content_type, headers = self._api_error(401, code, "the access token is invalid or revoked")
            return status, body, content_type, [*headers, (b"www-authenticate", b'Bearer error="invalid_token"')]
        return self._json(200, {
            "email": pat.email, "chatgpt_user_id": pat.user_id, "chatgpt_account_id": pat.account_id,
            "chatgpt_plan_type": pat.plan, "chatgpt_account_is_fedramp": False,
        })


async def serve_dev_issuer(
    issuer: DevIssuer, *, host: str = "127.0.0.1", port: int = 0,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve `issuer` with hypercorn until cancelled; `task_status.started(issuer_url)`."""
    from hypercorn.config import Config
    from hypercorn.trio import serve

    config = Config()
    config.bind = [f"{host}:{port}"]
    config.errorlog = None  # no "Running on ..." banner
    config.accesslog = None  # its lines hold query strings (codes, states)
    # hypercorn's default (5 s) equals the deviceauth poll interval: a client reusing its pooled
    # connection would race the server closing it. 75 s, like common front ends.
    config.keep_alive_timeout = 75
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(partial(serve, issuer, config, shutdown_trigger=trio.sleep_forever))
        issuer.issuer_url = binds[0]
        task_status.started(issuer.issuer_url)


# ---- the scripted browser -----------------------------------------------------------------------

_PENDING_RE = re.compile(r'name="pending_id" value="([^"]*)"')


def browse(url: str, *, deny: bool = False, timeout: float = 10.0, out=None) -> int:
    """Act as the user's browser: open `url`, answer an approval page, follow redirects to the
    loopback callback. Prints the final page's status line; 0 on a 2xx final page, else 1."""
    import httpx

    out = out or sys.stdout

    def to_loopback(request: httpx.Request) -> None:
        # The callback is http://localhost:PORT/...; the listener binds 127.0.0.1 only, so go
        # there directly (the Host header keeps saying localhost) instead of trying ::1 first.
        if request.url.host == "localhost":
            request.url = request.url.copy_with(host="127.0.0.1")

    try:
        with httpx.Client(follow_redirects=True, timeout=timeout, trust_env=False,
                          event_hooks={"request": [to_loopback]}) as client:
            response = client.get(url)
            match = _PENDING_RE.search(response.text) if response.status_code == 200 else None
            if match is not None:
                decision = {"pending_id": html.unescape(match.group(1)), "decision": "deny" if deny else "approve"}
                response = client.post(response.url.join("/oauth/authorize/decision"), data=decision)
    except httpx.HTTPError as exc:
        print(f"browse: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    reason = response.reason_phrase or httpx.codes.get_reason_phrase(response.status_code)
    print(f"{response.http_version} {response.status_code} {reason}", file=out)
    return 0 if response.is_success else 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["browse"]:
        parser = argparse.ArgumentParser(prog="python -m codexlogin.devissuer browse",
                                         description="Scripted browser: approve and follow to the callback.")
        parser.add_argument("url")
        parser.add_argument("--deny", action="store_true", help="press Deny instead of Approve")
        args = parser.parse_args(argv[1:])
        return browse(args.url, deny=args.deny)
    parser = argparse.ArgumentParser(prog="python -m codexlogin.devissuer",
                                     description="Local development OAuth issuer on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    parser.add_argument("--auto-approve", action="store_true",
                        help="skip the approval page; openai device codes are approved when issued")
    args = parser.parse_args(argv)
    issuer = DevIssuer(auto_approve=args.auto_approve)

    async def run() -> None:
        async with trio.open_nursery() as nursery:
            url = await nursery.start(partial(serve_dev_issuer, issuer, port=args.port))
            print(url, flush=True)

    try:
        trio.run(run)
    except* KeyboardInterrupt:  # Ctrl-C; trio/hypercorn may wrap it in an exception group
        pass
    return 0

