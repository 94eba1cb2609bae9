"""`codex login --device-auth`: the OAuth 2.0 device authorization grant (RFC 8628).

1. POST {issuer}{device_code_path} (client_id, scope) → device_code, user_code, verification_uri
   (+ _complete), expires_in, interval (default 5 s). A 404 means the issuer has no device login.
2. Print where to go and the user code (terminal only; never logged) and a phishing warning.
3. Poll {issuer}/oauth/token with grant_type=urn:ietf:params:oauth:grant-type:device_code every
   `interval` seconds: authorization_pending → keep polling; slow_down → +5 s for this and every
   later poll; access_denied → Denied; expired_token or the local expires_in deadline → TimedOut.
   Transient network failures back off exponentially and give up after a few in a row.
4. Then as the browser login (flows.complete): optional API-key exchange, forced-workspace check,
   save under $CODEX_HOME/auth.lock.

The whole polling loop is one `codex:device_poll` action whose end carries the number of polls;
no message per poll. Timing is trio's clock, so tests run it on MockClock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from codexlogin import diagnostics
from codexlogin.config import Settings
from codexlogin.credentials.model import AuthDotJson
from codexlogin.credentials.policy import check_login_method
from codexlogin.errors import Denied, TimedOut, UsageError
from codexlogin.flows.complete import complete_chatgpt_login, exchange_failed
from codexlogin.flows.ui import LoginUI
from codexlogin.oauth.client import DeviceAuthorization, IssuerClient, TokenResponse, issuer_session
from codexlogin.oauth.errors import IssuerError, IssuerRejected, IssuerUnreachable
from codexlogin.terminal import minutes

if TYPE_CHECKING:
    import httpx

SLOW_DOWN_STEP = 5
DEFAULT_INTERVAL = 5
MAX_INTERVAL = 60
MAX_TRANSIENT_FAILURES = 3


class DeviceLoginUnavailable(UsageError):
    outcome = "device_login_unavailable"


async def request_device_authorization(issuer: IssuerClient) -> DeviceAuthorization:
    settings = issuer.settings
    with diagnostics.device_authorization_action(settings.device_code_endpoint) as action:
        try:
            device = await issuer.request_device_code()
        except IssuerRejected as exc:
            if exc.status == 404:
                raise DeviceLoginUnavailable(
                    "device login is not enabled on this issuer"
                    f" ({settings.device_code_endpoint} returned HTTP 404); use `codex login` (browser)",
                    error_code="device_login_unavailable",
                ) from None
            raise exchange_failed(exc) from None
        except IssuerError as exc:
            raise exchange_failed(exc) from None
        action.add_success_fields(
            expires_in=device.expires_in,
            interval=device.interval,
            has_verification_uri_complete=bool(device.verification_uri_complete),
        )
    return device


async def _poll_once(issuer: IssuerClient, device: DeviceAuthorization) -> TokenResponse:
    """One poll. A pooled keep-alive connection the server closed while we waited (servers often
    idle-close after ~5 s, the poll interval) fails before the request is processed: retry at once."""
    try:
        return await issuer.poll_device_token(device.device_code)
    except IssuerUnreachable as exc:
        if exc.kind == "timeout":
            raise
    return await issuer.poll_device_token(device.device_code)


async def poll_for_tokens(issuer: IssuerClient, device: DeviceAuthorization) -> TokenResponse:
    """Poll until the user approves, denies or the code expires (RFC 8628 §3.4–3.5)."""
    interval = min(max(device.interval or DEFAULT_INTERVAL, 1), MAX_INTERVAL)
    deadline = trio.current_time() + device.expires_in
    polls = slow_downs = transient = 0
    result = "error"
    with diagnostics.device_poll_action(interval, device.expires_in) as action:
        try:
            while True:
                wait = interval * (2**transient)
                if trio.current_time() + wait > deadline:
                    await trio.sleep_until(deadline)
                    result = "expired"
                    raise TimedOut(
                        f"the device code expired after {minutes(device.expires_in)} without a sign-in;"
                        " run `codex login --device-auth` again",
                        error_code="expired_token",
                    )
                await trio.sleep(wait)
                polls += 1
                try:
                    response = await _poll_once(issuer, device)
                except IssuerUnreachable as exc:
                    transient += 1
                    if transient >= MAX_TRANSIENT_FAILURES:
                        raise exchange_failed(exc) from None
                    continue
                except IssuerRejected as exc:
                    transient = 0
                    code = exc.error_code
                    if code == "authorization_pending":
                        continue
                    if code == "slow_down":
                        slow_downs += 1
                        interval += SLOW_DOWN_STEP
                        continue
                    if code == "access_denied":
                        result = "denied"
                        raise Denied(
                            "the device sign-in was denied (access_denied)", error_code="access_denied"
                        ) from None
                    if code == "expired_token":
                        result = "expired"
                        raise TimedOut(
                            "the device code expired before the sign-in was completed;"
                            " run `codex login --device-auth` again",
                            error_code="expired_token",
                        ) from None
                    raise exchange_failed(exc) from None
                result = "approved"
                action.add_success_fields(polls=polls, slow_downs=slow_downs, final_interval=interval, result=result)
                return response
        finally:
            if result != "approved":
                diagnostics.log_device_poll_stopped(
                    polls=polls, slow_downs=slow_downs, final_interval=interval, result=result
                )


async def device_login(
    settings: Settings, ui: LoginUI, *, transport: httpx.AsyncBaseTransport | None = None
) -> tuple[AuthDotJson, str]:
    """Run the whole device login; return (the saved credentials, the backend they went to)."""
    check_login_method(settings, "chatgpt")
    # A poll every 5+ s would reuse an idle keep-alive connection just as servers tend to close it
    # (hypercorn and many proxies idle-close after 5 s): a fresh connection per request.
    async with issuer_session(settings, transport=transport, fresh_connections=True) as issuer:
        device = await request_device_authorization(issuer)
        ui.device_code(device)
        with ui.waiting("Waiting for the code to be entered… (Ctrl-C to cancel)"):
            token_response = await poll_for_tokens(issuer, device)
        # id_token and refresh_token are optional (RFC 6749), as in the browser login
        return await complete_chatgpt_login(settings, issuer, token_response, ui)


__all__ = ["DeviceLoginUnavailable", "device_login", "poll_for_tokens", "request_device_authorization"]
