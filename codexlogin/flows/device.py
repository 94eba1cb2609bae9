"""`codex login --device-auth`: the OAuth 2.0 device authorization grant (RFC 8628).

1. POST {issuer}{device_code_path} (client_id, scope) → device_code, user_code, verification_uri
   (+ _complete), expires_in, interval (default 5 s). A 404 means the issuer has no device login.
2. Print where to go and the user code (terminal only; never logged) and a phishing warning.
3. Poll {issuer}/oauth/token with grant_type=urn:ietf:params:oauth:grant-type:device_code every
   `interval` seconds: authorization_pending → keep polling; slow_down → +5 s for this and every
   later poll; access_denied → Denied; expired_token or the local expires_in deadline → TimedOut.
   Transient network failures back off exponentially and give up after a few in a row.
4. Then as the browser login: optional API-key exchange, forced-workspace check, save (under
   $CODEX_HOME/auth.lock, see credentials.save_credentials_locked).

The whole polling loop is one `codex:device_poll` action whose end carries the number of polls;
no message per poll. Timing is trio's clock, so tests run it on MockClock.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import TextIO

import httpx
import trio

from codexlogin import diagnostics
from codexlogin.flows.browser import (
    build_chatgpt_auth,
    enforce_workspace,
    try_api_key_exchange,
)
from codexlogin.credentials.store import (
    check_login_method,
    describe_location,
    save_credentials_locked,
)
from codexlogin.oauth.client import (
    DeviceAuthorization,
    IssuerClient,
    IssuerRejected,
    IssuerUnreachable,
    TokenResponse,
    make_http_client,
)
from codexlogin.errors import Denied, TimedOut, UsageError
from codexlogin.config import Settings
from codexlogin.credentials.files import AuthDotJson

SLOW_DOWN_STEP = 5
DEFAULT_INTERVAL = 5
MAX_INTERVAL = 60
MAX_TRANSIENT_FAILURES = 3
PHISHING_WARNING = "Device codes are a common phishing target. Never share this code."


class DeviceLoginUnavailable(UsageError):
    outcome = "device_login_unavailable"


def _minutes(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute" + ("s" if minutes != 1 else "")


def announce(stderr: TextIO, device: DeviceAuthorization) -> None:
    """The instructions; the only place the user code goes (the terminal, never the log)."""
    # Issuer-supplied text must not drive the terminal.
    from codexlogin.cli import terminal_safe

    device = replace(
        device,
        verification_uri=terminal_safe(device.verification_uri),
        user_code=terminal_safe(device.user_code),
        verification_uri_complete=terminal_safe(device.verification_uri_complete) if device.verification_uri_complete else None,
    )
    lines = [
        "Follow these steps to sign in with ChatGPT using device code authorization:",
        "",
        "1. Open this link in your browser and sign in to your account",
        f"   {device.verification_uri}",
        "",
        f"2. Enter this one-time code (expires in {_minutes(device.expires_in)})",
        f"   {device.user_code}",
    ]
    if device.verification_uri_complete:
        lines += ["", "   Or open this link, which fills in the code for you:", f"   {device.verification_uri_complete}"]
    lines += ["", PHISHING_WARNING, ""]
    print("\n".join(lines), file=stderr, flush=True)


async def request_device_authorization(issuer: IssuerClient) -> DeviceAuthorization:
    settings = issuer.settings
    with diagnostics.named_action("codex:device_authorization", endpoint=settings.device_code_endpoint) as action:
        try:
            device = await issuer.request_device_code()
        except IssuerRejected as exc:
            if exc.status == 404:
                raise DeviceLoginUnavailable(
                    "device login is not enabled on this issuer"
                    f" ({settings.device_code_endpoint} returned HTTP 404); use `codex login` (browser)",
                    error_code="device_login_unavailable",
                ) from None
            raise
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
    with diagnostics.named_action("codex:device_poll", interval=interval, expires_in=device.expires_in) as action:
        try:
            while True:
                wait = interval * (2**transient)
                if trio.current_time() + wait > deadline:
                    await trio.sleep_until(deadline)
                    result = "expired"
                    raise TimedOut(
                        f"the device code expired after {_minutes(device.expires_in)} without a sign-in;"
                        " run `codex login --device-auth` again",
                        error_code="expired_token",
                    )
                await trio.sleep(wait)
                polls += 1
                try:
                    response = await _poll_once(issuer, device)
                except IssuerUnreachable:
                    transient += 1
                    if transient >= MAX_TRANSIENT_FAILURES:
                        raise
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
                    raise
                result = "approved"
                action.add_success_fields(polls=polls, slow_downs=slow_downs, final_interval=interval, result=result)
                return response
        finally:
            if result != "approved":
                diagnostics.log_event(
                    "codex:device_poll:stopped", polls=polls, slow_downs=slow_downs, final_interval=interval, result=result
                )


async def device_login(settings: Settings, *, stderr: TextIO | None = None, http: httpx.AsyncClient | None = None) -> AuthDotJson:
    """Run the whole device login; return the saved credentials or raise a LoginFailure."""
    auth, _backend = await device_login_and_save(settings, stderr=stderr, http=http)
    return auth


async def device_login_and_save(
    settings: Settings, *, stderr: TextIO | None = None, http: httpx.AsyncClient | None = None
) -> tuple[AuthDotJson, str]:
    """`device_login`, also returning the backend the credentials went to ("file" | "keyring")."""
    check_login_method(settings, "chatgpt")
    stderr = stderr or sys.stderr
    owned_http = http is None
    if http is None:
        http = make_http_client(settings)
        # A poll every 5+ s would reuse an idle keep-alive connection just as servers tend to close
        # it (hypercorn and many proxies idle-close after 5 s): a fresh connection per request.
        http.headers["Connection"] = "close"
    try:
        issuer = IssuerClient(settings, http)
        device = await request_device_authorization(issuer)
        announce(stderr, device)
        token_response = await poll_for_tokens(issuer, device)
        # id_token and refresh_token are optional (RFC 6749), as in the browser login
        api_key = await try_api_key_exchange(issuer, token_response.id_token)
        auth = build_chatgpt_auth(token_response, api_key)
        enforce_workspace(settings, auth)
        # under $CODEX_HOME/auth.lock: a refresh in flight must not overwrite this login afterwards
        backend = await save_credentials_locked(settings, auth)
        return auth, backend
    finally:
        if owned_http:
            await http.aclose()


def run_device_login(settings: Settings, *, stderr: TextIO | None = None) -> int:
    """`codex login --device-auth` as a logged flow; returns the exit code."""
    from functools import partial

    from codexlogin.cli import run_flow

    stderr = stderr or sys.stderr

    def success(saved: tuple[AuthDotJson, str]) -> None:
        _auth, backend = saved
        print(f"Successfully logged in. Credentials saved to {describe_location(settings, backend)}", file=stderr, flush=True)

    return run_flow(
        "login", "device", settings, lambda: trio.run(partial(device_login_and_save, settings, stderr=stderr)), success=success
    )


__all__ = ["DeviceLoginUnavailable", "announce", "device_login", "device_login_and_save", "poll_for_tokens", "request_device_authorization", "run_device_login"]
