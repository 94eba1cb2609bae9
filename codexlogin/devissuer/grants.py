"""Grants: the authorization endpoint, the token grants, and the bookkeeping of what they issued.

`Grants` (a mixin on `IssuerCore`) holds authorization code + PKCE with loopback redirects
(RFC 6749, 7636, 8252; `/oauth/authorize` and its approval page), the authorization_code, form
refresh (RFC 6749 §6, rotation with replay detection) and token-exchange (id_token → API key)
grants, minting the tokens (`_issue_tokens`), which tokens are still good (`token_active`), and the
endpoints that answer from that bookkeeping: revocation (RFC 7009), userinfo (OIDC Core §5.3) and
introspection (RFC 7662). A grant is one user authorisation: revoking it kills every token issued
under it. The device grant is in `device`, the JSON refresh in `openai`; `app` dispatches
/oauth/token by grant_type.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import math
import re
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import trio

from .core import (
    AUTH_CLAIMS,
    CODE_LIFETIME,
    DEFAULT_SCOPE,
    DEVICEAUTH_CALLBACK_PATH,
    ID_TOKEN_TYPE,
    MISSING_ENTITLEMENT_DESCRIPTION,
    IssuerCore,
    Request,
    _Code,
    _Grant,
    _OAuthError,
    _Refresh,
    _Reply,
    _with_params,
)
from .jwt import _b64url, sign_jwt
from .jwt import verify_jwt as verify_jwt_with_key

_PKCE_RE = re.compile(r"[A-Za-z0-9._~-]{43,128}")
_CHALLENGE_RE = re.compile(r"[A-Za-z0-9_-]{43}")


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


def _is_deviceauth_callback(uri: str, issuer_url: str) -> bool:
    """`{issuer}/deviceauth/callback`, the issuer's loopback host spelt 127.0.0.1 or localhost."""
    try:
        parts, issuer = urlsplit(uri), urlsplit(issuer_url)
        same_port = parts.port is not None and parts.port == issuer.port
    except ValueError:
        return False
    return (
        parts.scheme == issuer.scheme
        and same_port
        and parts.hostname in ("localhost", "127.0.0.1")
        and "@" not in parts.netloc
        and parts.path == DEVICEAUTH_CALLBACK_PATH
        and not parts.query
        and not parts.fragment
    )


class Grants(IssuerCore):
    """Authorization codes, the token grants, and revocation / userinfo / introspection."""

    def token_active(self, token: str) -> bool:
        """Whether a refresh, access or personal access token issued here is still usable (not rotated or
        revoked)."""
        if (refresh := self._refresh.get(token)) is not None:
            return not refresh.rotated and not refresh.grant.revoked
        if (pat := self._pats.get(token)) is not None:
            return not pat.revoked
        grant = self._access.get(token)
        return (
            grant is not None
            and not grant.revoked
            and token not in self._revoked_access
            and self._access_expiry.get(token, math.inf) > time.time()
        )

    def verify_jwt(self, token: str, *, typ: str | None = None) -> dict[str, Any] | None:
        """The claims of an unexpired JWT this instance signed (of header `typ`, if given), else None."""
        return verify_jwt_with_key(self._key, token, typ=typ)

    # ---- authorization endpoint ---------------------------------------------------------------

    async def _authorize(self, request: Request) -> _Reply:
        q = request.params
        client_id, redirect_uri, state = q.get("client_id"), q.get("redirect_uri"), q.get("state")
        # Never redirect to a URI we have not validated (RFC 6749 §4.1.2.1): show the error instead.
        if not self._client_ok(client_id):
            return self._html(400, "Invalid client", "<p>Unknown or missing client_id.</p>")
        if not is_loopback_redirect(redirect_uri):
            return self._html(
                400,
                "Invalid redirect_uri",
                "<p>redirect_uri must be http://localhost:PORT/… or http://127.0.0.1:PORT/… (RFC 8252).</p>",
            )
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
        e: Callable[[str | None], str] = lambda s: html.escape(s or "", quote=True)  # noqa: E731
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
            client_id=q["client_id"],
            redirect_uri=q["redirect_uri"],
            challenge=q["code_challenge"],
            scope=q.get("scope") or DEFAULT_SCOPE,
            expires_at=trio.current_time() + CODE_LIFETIME,
            nonce=q.get("nonce") or None,
        )
        return self._redirect_params(q, {"code": code})

    async def _decision(self, request: Request) -> _Reply:
        form = request.params
        q = self._pending.pop(form.get("pending_id", ""), None)
        if q is None:
            return self._html(400, "Unknown request", "<p>This request is unknown or already answered.</p>")
        if form.get("decision") == "approve":
            return self._redirect(self._issue_code(q))
        denied = {"error": "access_denied", "error_description": "The user denied the request"}
        return self._redirect(self._redirect_params(q, denied))

    # ---- token grants (dispatched by `app`) ---------------------------------------------------

    def _grant_auth_code(self, form: dict[str, str]) -> dict[str, Any]:
        code, redirect_uri, client_id, verifier = self._require(form, "code", "redirect_uri", "client_id", "code_verifier")
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
        requested, subject, subject_type = self._require(form, "requested_token", "subject_token", "subject_token_type")
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

    def _issue_tokens(self, grant: _Grant, *, nonce: str | None = None) -> dict[str, Any]:
        now = int(time.time())
        auth = {"chatgpt_account_id": self.account_id, "chatgpt_plan_type": self.plan, "chatgpt_user_id": "user_dev"}
        claims: dict[str, Any] = {
            "iss": self.issuer_identifier,
            "aud": grant.client_id,
            "sub": "user_dev",
            "iat": now,
            "exp": now + self.access_token_lifetime,
            "email": self.email,
            AUTH_CLAIMS: auth,
        }
        id_claims = {**claims, "email_verified": True, "jti": secrets.token_urlsafe(12)}
        if self.id_token_auth_claims:  # the id_token's only: 0.171 reads the plan from the access token
            id_claims[AUTH_CLAIMS] = {**auth, **self.id_token_auth_claims}
        nonce = self.faults.id_token_nonce or nonce
        if nonce is not None and not self.faults.id_token_without_nonce:
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
            "id_token": id_token,
            "access_token": access_token,
            "refresh_token": refresh_token,
            "token_type": "Bearer",
            "expires_in": expires_in,
            "scope": grant.scope,
        }

    def _sign(self, claims: dict[str, Any], typ: str) -> str:
        return sign_jwt(self._key, claims, typ)

    # ---- proofs: userinfo (OIDC Core §5.3) and introspection (RFC 7662) ------------------------

    async def _userinfo(self, request: Request) -> _Reply:
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
        return self._json(
            200,
            {
                "sub": "user_dev",
                "email": self.email,
                "email_verified": True,
                AUTH_CLAIMS: {"chatgpt_account_id": self.account_id, "chatgpt_plan_type": self.plan},
            },
        )

    async def _introspect(self, request: Request) -> _Reply:
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

    async def _revoke(self, request: Request) -> _Reply:
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
