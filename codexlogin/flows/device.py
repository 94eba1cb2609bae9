"""`codex login --device-auth`: a one-time code entered on another device, in the issuer's dialect.

The standard dialect speaks the OAuth 2.0 device authorization grant (RFC 8628):
1. POST {issuer}{device_code_path} (client_id, scope) → device_code, user_code, verification_uri
   (+ _complete), expires_in, interval (default 5 s). A 404 means the issuer has no device login.
2. Print where to go and the user code (terminal only; never logged) and a phishing warning.
3. Poll {issuer}/oauth/token with grant_type=urn:ietf:params:oauth:grant-type:device_code every
   `interval` seconds: authorization_pending → keep polling; slow_down → +5 s for this and every
   later poll; access_denied → Denied; expired_token or the local expires_in deadline → TimedOut.
   Transient network failures back off exponentially and give up after a few in a row.
4. Then as the browser login (flows.complete): forced-workspace check, save under
   $CODEX_HOME/auth.lock (no API-key exchange after a device login, as in Codex CLI 0.171).

The openai dialect speaks Codex CLI 0.171's protocol: POST {issuer}/api/accounts/deviceauth/usercode
JSON {client_id} → device_auth_id, user_code, interval (a string); the user enters the code at
{issuer}/codex/device (15 minutes); POST {issuer}/api/accounts/deviceauth/token JSON
{device_auth_id, user_code} at once and then every interval (403/404: not yet) → the
authorization code and the PKCE verifier the issuer made, redeemed at /oauth/token with
redirect_uri {issuer}/deviceauth/callback. A 404 for the usercode request means no device login.

The whole polling loop is one `codex:device_poll` action whose end carries the number of polls;
no message per poll. Timing is trio's clock, so tests run it on MockClock.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import trio

from codexlogin import diagnostics
from codexlogin.config import Settings
from codexlogin.credentials.model import AuthDotJson
from codexlogin.credentials.policy import check_login_method
from codexlogin.credentials.store import check_writable
from codexlogin.errors import Denied, TimedOut, UsageError
from codexlogin.flows.complete import complete_chatgpt_login, exchange_failed
from codexlogin.flows.discover import discover
from codexlogin.flows.ui import LoginUI
from codexlogin.listener.prepare import check_save_targets, codex_home_problem
from codexlogin.oauth.client import (
    OPENAI_DEVICE_LIFETIME,
    DeviceAuthorization,
    IssuerClient,
    OpenAIDeviceGrant,
    TokenResponse,
    issuer_session,
)
from codexlogin.oauth.errors import IssuerError, IssuerRejected, IssuerUnreachable
from codexlogin.oauth.issuer import configured_issuer
from codexlogin.terminal import minutes

if TYPE_CHECKING:
    import httpx

SLOW_DOWN_STEP = 5
DEFAULT_INTERVAL = 5
MAX_INTERVAL = 60
MAX_TRANSIENT_FAILURES = 3
MAX_DEVICE_LIFETIME = 24 * 3600  # an issuer's longer (or absurd) expires_in is cut to a day
DEFAULT_LIFETIME = 900  # RFC 8628 leaves it to the issuer; ours and many others use 15 minutes


class DeviceLoginUnavailable(UsageError):
    outcome = "device_login_unavailable"


def _unavailable(endpoint: str) -> DeviceLoginUnavailable:
    return DeviceLoginUnavailable(
        f"device login is not enabled on this issuer ({endpoint} returned HTTP 404); use `codex login` (browser)",
        error_code="device_login_unavailable",
    )


async def request_device_authorization(issuer: IssuerClient) -> DeviceAuthorization:
    """RFC 8628 §3.1, or the openai dialect's usercode request: where to go and which code to enter."""
    openai = issuer.dialect.device_protocol == "openai"
    endpoint = issuer.issuer.openai_device_usercode_endpoint if openai else issuer.issuer.device_code_endpoint
    with diagnostics.schema.DEVICE_AUTHORIZATION(endpoint=endpoint) as action:
        try:
            device = await (issuer.request_openai_device_code() if openai else issuer.request_device_code())
        except IssuerRejected as exc:
            if exc.status == 404:
                raise _unavailable(endpoint) from None
            raise exchange_failed(exc) from None
        except IssuerError as exc:
            raise exchange_failed(exc) from None
        if not 0 < device.expires_in <= MAX_DEVICE_LIFETIME:  # 10**400 (or 0) is no lifetime to wait for
            device = replace(device, expires_in=MAX_DEVICE_LIFETIME if device.expires_in > 0 else DEFAULT_LIFETIME)
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
    deadline = trio.current_time() + min(device.expires_in, MAX_DEVICE_LIFETIME)  # 10**400 is no float
    polls = slow_downs = transient = 0
    result = "error"
    with diagnostics.schema.DEVICE_POLL(interval=interval, expires_in=device.expires_in) as action:
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
                        raise Denied("the device sign-in was denied (access_denied)", error_code="access_denied") from None
                    if code == "expired_token":
                        result = "expired"
                        raise TimedOut(
                            "the device code expired before the sign-in was completed; run `codex login --device-auth` again",
                            error_code="expired_token",
                        ) from None
                    raise exchange_failed(exc) from None
                result = "approved"
                action.add_success_fields(polls=polls, slow_downs=slow_downs, final_interval=interval, result=result)
                return response
        finally:
            if result != "approved":
                diagnostics.schema.DEVICE_POLL_STOPPED.log(
                    polls=polls, slow_downs=slow_downs, final_interval=interval, result=result
                )


async def poll_openai_device(issuer: IssuerClient, device: DeviceAuthorization) -> OpenAIDeviceGrant:
    """The openai dialect's polling (Codex CLI 0.171): at once, then every `interval` seconds until
    the code is entered (403/404 mean not yet), for at most the code's 15 minutes."""
    interval = min(max(device.interval or DEFAULT_INTERVAL, 1), MAX_INTERVAL)
    deadline = trio.current_time() + min(device.expires_in, MAX_DEVICE_LIFETIME)  # 10**400 is no float
    polls = transient = 0
    result = "error"
    with diagnostics.schema.DEVICE_POLL(interval=interval, expires_in=device.expires_in) as action:
        try:
            while True:
                polls += 1
                try:
                    grant = await issuer.poll_openai_device(device)
                except IssuerUnreachable as exc:
                    transient += 1
                    if transient >= MAX_TRANSIENT_FAILURES:
                        raise exchange_failed(exc) from None
                    grant = None
                except IssuerRejected as exc:
                    if exc.error_code == "access_denied":
                        result = "denied"
                        raise Denied("the device sign-in was denied (access_denied)", error_code="access_denied") from None
                    if exc.status == 410 or exc.error_code in ("expired", "expired_token"):
                        result = "expired"
                        raise _expired() from None
                    raise exchange_failed(exc) from None
                else:
                    transient = 0
                if grant is not None:
                    result = "approved"
                    action.add_success_fields(polls=polls, slow_downs=0, final_interval=interval, result=result)
                    return grant
                if trio.current_time() + interval > deadline:
                    await trio.sleep_until(deadline)
                    result = "expired"
                    raise _expired()
                await trio.sleep(interval)
        finally:
            if result != "approved":
                diagnostics.schema.DEVICE_POLL_STOPPED.log(polls=polls, slow_downs=0, final_interval=interval, result=result)


def _expired() -> TimedOut:
    return TimedOut(
        f"the device code expired after {minutes(OPENAI_DEVICE_LIFETIME)} without a sign-in; run `codex login --device-auth` again",
        error_code="expired_token",
    )


async def _openai_device_tokens(issuer: IssuerClient, device: DeviceAuthorization, ui: LoginUI) -> TokenResponse:
    """Poll, then redeem the code with the verifier the issuer made, as a normal code exchange."""
    grant = await poll_openai_device(issuer, device)
    ui.status("Code entered; exchanging it for tokens…")
    redirect_uri = issuer.issuer.openai_device_redirect_uri
    with diagnostics.schema.TOKEN_EXCHANGE(
        issuer=issuer.issuer.base, token_endpoint=issuer.issuer.token_endpoint, redirect_uri=redirect_uri
    ) as action:
        try:
            token_response = await issuer.exchange_code(grant.authorization_code, redirect_uri, grant.code_verifier)
        except IssuerError as error:
            raise exchange_failed(error) from None
        action.add_success_fields(status=token_response.status)
    return token_response


async def device_login(
    settings: Settings, ui: LoginUI, *, transport: httpx.AsyncBaseTransport | None = None
) -> tuple[AuthDotJson, str]:
    """Run the whole device login; return (the saved credentials, the backend they went to).

    Cancelling it stops the polling and an unfinished save; the CLI does that on an ending signal
    (cli.signals.run_flow). It installs no signal handler of its own."""
    check_login_method(settings, "chatgpt")
    check_writable(settings)  # before any code is shown: tokens that cannot be saved are never obtained
    check_save_targets(settings)  # a directory at auth.json, a symlinked auth.lock: found now, not after
    problem = codex_home_problem(settings.codex_home)
    if problem is not None:
        ui.warning(f"{problem[0]}; {problem[1]}")
    return await _device_login(settings, ui, transport)


async def _device_login(settings: Settings, ui: LoginUI, transport: httpx.AsyncBaseTransport | None) -> tuple[AuthDotJson, str]:
    # The issuer the settings name, built once for this run (standard dialect: its device endpoint, discovered, bounded).
    run_issuer = await discover(settings, configured_issuer(settings), transport=transport)
    # A poll every 5+ s would reuse an idle keep-alive connection just as servers tend to close it
    # (hypercorn and many proxies idle-close after 5 s): a fresh connection per request.
    async with issuer_session(settings, run_issuer, transport=transport, fresh_connections=True) as issuer:
        device = await request_device_authorization(issuer)
        ui.device_code(device)
        with ui.waiting("Waiting for the code to be entered…", timeout=device.expires_in):
            if issuer.dialect.device_protocol == "openai":
                token_response = await _openai_device_tokens(issuer, device, ui)
            else:
                token_response = await poll_for_tokens(issuer, device)
        # 0.171 mints no API key after a device login; RFC replies may lack id and refresh tokens
        return await complete_chatgpt_login(settings, issuer, token_response, ui, api_key_exchange=False)


__all__ = ["DeviceLoginUnavailable", "device_login", "poll_for_tokens", "poll_openai_device", "request_device_authorization"]
