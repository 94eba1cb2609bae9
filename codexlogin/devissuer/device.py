"""The device authorization grant (RFC 8628): device codes, the user's page, and polling.

`DeviceFlow` (a mixin on `Grants`) issues device codes at /oauth/device/code, serves the user's
page at /device (approve or deny), and answers the grant_type=...:device_code poll at
/oauth/token: authorization_pending, slow_down (+5 s per early poll, §3.5), access_denied,
expired_token, then the tokens. The openai dialect's device endpoints (`openai`) share its
device codes, user codes and approval. Tests tune the lifetime and interval by patching this
module's `DEVICE_CODE_LIFETIME` / `DEVICE_POLL_INTERVAL`.
"""

from __future__ import annotations

import html
import secrets
from typing import Any

import trio

from .core import DEFAULT_SCOPE, DEVICE_POLL_INTERVAL, Request, _Device, _Grant, _OAuthError, _Reply, _with_params
from .grants import Grants

DEVICE_CODE_LIFETIME = 900
_USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # RFC 8628 §6.1: no vowels, no look-alikes


def _normalize_user_code(user_code: str) -> str:
    raw = "".join(ch for ch in user_code.upper() if ch.isalnum())
    return f"{raw[:4]}-{raw[4:]}"


class DeviceFlow(Grants):
    """RFC 8628 device codes, the /device page, and the device_code grant."""

    def approve_device(self, user_code: str) -> None:
        self._device_by_user_code(user_code).status = "approved"

    def deny_device(self, user_code: str) -> None:
        self._device_by_user_code(user_code).status = "denied"

    def _device_by_user_code(self, user_code: str) -> _Device:
        device_code = self._user_codes.get(_normalize_user_code(user_code))
        if device_code is None:
            raise KeyError(f"unknown user code {user_code!r}")
        return self._devices[device_code]

    async def _device_code(self, request: Request) -> _Reply:
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
        return self._json(
            200,
            {
                "device_code": device_code,
                "user_code": user_code,
                "verification_uri": verification_uri,
                "verification_uri_complete": _with_params(verification_uri, {"user_code": user_code}),
                "expires_in": DEVICE_CODE_LIFETIME,
                "interval": DEVICE_POLL_INTERVAL,
            },
        )

    def _new_device(self, client_id: str, scope: str, *, dialect: str) -> _Device:
        device_code = secrets.token_urlsafe(32)
        while True:
            user_code = _normalize_user_code("".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(8)))
            if user_code not in self._user_codes:
                break
        device = self._devices[device_code] = _Device(
            device_code=device_code,
            user_code=user_code,
            client_id=client_id,
            scope=scope,
            expires_at=trio.current_time() + DEVICE_CODE_LIFETIME,
            dialect=dialect,
        )
        self._user_codes[user_code] = device_code
        return device

    async def _device_page(self, request: Request) -> _Reply:
        q = request.params
        user_code = html.escape(q.get("user_code", ""), quote=True)
        return self._html(
            200,
            "Connect a device",
            (
                '<form method="post" action="/device">\n'
                f'<label>Code <input name="user_code" value="{user_code}" autocomplete="off"></label>\n'
                '<button type="submit" name="decision" value="approve">Approve</button>\n'
                '<button type="submit" name="decision" value="deny">Deny</button>\n</form>'
            ),
        )

    async def _device_decision(self, request: Request) -> _Reply:
        form = request.params
        return self._decide_device(form.get("user_code", ""), approve=form.get("decision") == "approve")

    def _decide_device(self, user_code: str, *, approve: bool) -> _Reply:
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
