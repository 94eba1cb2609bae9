"""The openai dialect: the Codex CLI 0.171's own protocol with auth.openai.com, as the dev issuer speaks it.

`OpenAIDialect` (a mixin on `DeviceFlow`) holds what only the openai dialect has: the deviceauth
endpoints (/api/accounts/deviceauth/usercode and /token, whose approved poll hands back an
authorization code with the PKCE pair made here, redeemed at /oauth/token with
redirect_uri={issuer}/deviceauth/callback), the /codex/device page (the code alone approves), the
JSON refresh (a reused token -> 401 refresh_token_reused, a revoked grant -> 401
refresh_token_invalidated), and personal access tokens with their whoami endpoint. The request and
reply shapes are in the endpoint table of `app`'s docstring.

/api/accounts/* errors are JSON {"error": {"code": ..., "message": ...}}; /oauth/token errors stay
RFC-shaped.
"""

from __future__ import annotations

import hashlib
import html
import json
import secrets
from typing import Any

import trio

from .core import (
    _JSON_HEADERS,
    CODE_LIFETIME,
    DEFAULT_SCOPE,
    DEVICE_POLL_INTERVAL,
    DEVICEAUTH_CALLBACK_PATH,
    MISSING_ENTITLEMENT_DESCRIPTION,
    Request,
    _Code,
    _OAuthError,
    _PersonalAccessToken,
    _Reply,
)
from .device import DeviceFlow, _normalize_user_code
from .jwt import _b64url


class OpenAIDialect(DeviceFlow):
    """The deviceauth endpoints, the /codex/device page, the JSON refresh, personal access tokens and whoami."""

    def issue_personal_access_token(
        self,
        *,
        email: str | None = None,
        account_id: str | None = None,
        plan: str | None = None,
    ) -> str:
        """Mint a personal access token ("at-…") that whoami accepts; the account defaults to the issuer's."""
        token = f"at-{secrets.token_urlsafe(32)}"
        self._pats[token] = _PersonalAccessToken(
            email=email or self.email,
            account_id=account_id or self.account_id,
            plan=plan or self.plan,
            user_id="user_dev",
        )
        return token

    def revoke_personal_access_token(self, token: str) -> None:
        self._pats[token].revoked = True

    @staticmethod
    def _api_error(status: int, code: str, message: str) -> _Reply:
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        return status, body, "application/json", _JSON_HEADERS

    async def _deviceauth_usercode(self, request: Request) -> _Reply:
        form = request.params
        if not self.faults.device_code_enabled:  # the real CLI reads 404 as "device login not enabled"
            return self._api_error(404, "not_found", "device code login is not enabled")
        if not self._client_ok(form.get("client_id")):
            return self._api_error(401, "invalid_client", "unknown client")
        device = self._new_device(form["client_id"], DEFAULT_SCOPE, dialect="openai")
        if self.auto_approve:
            device.status = "approved"
        return self._json(
            200,
            {
                "device_auth_id": device.device_code,
                self.faults.usercode_field: device.user_code,
                "interval": str(DEVICE_POLL_INTERVAL),
            },
        )

    async def _deviceauth_token(self, request: Request) -> _Reply:
        """Poll: 403 (Faults.deviceauth_pending_status) pending, 404 unknown, 410 expired, 400
        access_denied / already used; once approved, 200 with a code and the PKCE pair made here."""
        form = request.params
        device = self._devices.get(form.get("device_auth_id", ""))
        if device is None or device.dialect != "openai" or device.user_code != _normalize_user_code(form.get("user_code", "")):
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
            return self._api_error(
                self.faults.deviceauth_pending_status,
                "deviceauth_authorization_pending",
                "the user has not yet approved this device",
            )
        if device.status == "denied" or (device.status == "approved" and self.faults.missing_codex_entitlement):
            entitled = not self.faults.missing_codex_entitlement
            return self._api_error(
                400, "access_denied", "the user denied the request" if entitled else MISSING_ENTITLEMENT_DESCRIPTION
            )
        if device.status == "consumed":
            return self._api_error(400, "deviceauth_already_used", "this device code was already exchanged")
        device.status = "consumed"
        verifier = secrets.token_urlsafe(48)  # 64 unreserved characters (RFC 7636 §4.1)
        challenge = _b64url(hashlib.sha256(verifier.encode("ascii")).digest())
        code = secrets.token_urlsafe(32)
        self._codes[code] = _Code(
            client_id=device.client_id,
            redirect_uri=self.issuer_url + DEVICEAUTH_CALLBACK_PATH,
            challenge=challenge,
            scope=device.scope,
            expires_at=now + CODE_LIFETIME,
            via_deviceauth=True,
        )
        return self._json(200, {"authorization_code": code, "code_challenge": challenge, "code_verifier": verifier})

    async def _codex_device_page(self, request: Request) -> _Reply:
        user_code = html.escape(request.params.get("user_code", ""), quote=True)
        return self._html(
            200,
            "Enter your one-time code",
            (
                '<form method="post" action="/codex/device">\n'
                f'<label>Code <input name="user_code" value="{user_code}" autocomplete="off"></label>\n'
                '<button type="submit" name="decision" value="approve">Continue</button>\n'
                '<button type="submit" name="decision" value="deny">Cancel</button>\n</form>'
            ),
        )

    async def _codex_device_decision(self, request: Request) -> _Reply:
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
            raise _OAuthError(
                "refresh_token_reused",
                "Your refresh token has already been used to generate a new access token. Please try signing in again.",
                status=401,
            )
        if record.grant.revoked:
            raise _OAuthError(
                "refresh_token_invalidated", "Your refresh token has been invalidated. Please try signing in again.", status=401
            )
        record.rotated = True
        return self._issue_tokens(record.grant)

    async def _whoami(self, request: Request) -> _Reply:
        """A personal access token's account: 200 {"email", "chatgpt_user_id", "chatgpt_account_id",
        "chatgpt_plan_type", "chatgpt_account_is_fedramp": false}, or 401 for anything else."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        pat = self._pats.get(token.strip()) if scheme.lower() == "bearer" else None
        if pat is None or pat.revoked:
            code = "token_revoked" if pat is not None else "invalid_token"
            status, body, content_type, headers = self._api_error(401, code, "the access token is invalid or revoked")
            return status, body, content_type, [*headers, (b"www-authenticate", b'Bearer error="invalid_token"')]
        return self._json(
            200,
            {
                "email": pat.email,
                "chatgpt_user_id": pat.user_id,
                "chatgpt_account_id": pat.account_id,
                "chatgpt_plan_type": pat.plan,
                "chatgpt_account_is_fedramp": False,
            },
        )
