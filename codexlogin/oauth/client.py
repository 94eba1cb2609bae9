"""The issuer over httpx: code exchange, API-key exchange, refresh, revoke, device code.

Every request raises an IssuerError (oauth.errors) unless the reply is a usable 2xx; each request
is bounded by `exchange_timeout`, and callers bound a sequence of requests with their own cancel
scopes. The httpx client is owned by `issuer_session`.
"""

from __future__ import annotations

import math
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from codexlogin import safejson
from codexlogin.config import Settings
from codexlogin.oauth.authorize import authorize_url as authorize_url  # re-exported: the URL's home is oauth.authorize
from codexlogin.oauth.authorize import login_nonce as login_nonce
from codexlogin.oauth.authorize import with_query as with_query
from codexlogin.oauth.errors import IssuerRejected, IssuerUnreachable, parse_oauth_error, transport_failure
from codexlogin.oauth.issuer import Issuer
from codexlogin.oauth.proxy import check_proxy_environment
from codexlogin.oauth.tls import ssl_verify_setting
from codexlogin.redact import register_secrets, sanitize_url

if TYPE_CHECKING:
    import httpx  # imported where a client is made: the browser login prints its URL first

OPENAI_DEVICE_LIFETIME = 15 * 60  # the codes are good for 15 minutes (Codex CLI 0.171)
OPENAI_DEVICE_INTERVAL = 5
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"


@dataclass(frozen=True, repr=False)
class TokenResponse:
    access_token: str
    id_token: str | None = None
    refresh_token: str | None = None
    expires_in: int | None = None
    status: int = 200

    def __repr__(self) -> str:
        return "TokenResponse(<redacted>)"


@dataclass(frozen=True, repr=False)
class OpenAIDeviceGrant:
    """What the openai dialect's device endpoint hands over once the code is entered."""

    authorization_code: str
    code_verifier: str

    def __repr__(self) -> str:
        return "OpenAIDeviceGrant(<redacted>)"


@dataclass(frozen=True, repr=False)
class DeviceAuthorization:
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: int
    interval: int

    def __repr__(self) -> str:
        return f"DeviceAuthorization(verification_uri={self.verification_uri!r}, <codes redacted>)"


#: Our reasons for a refresh (logged, shown by `status --json`) -> the `refresh_reason` Codex CLI
#: 0.171 sends: "proactive_expiry" for a due one (its access token expires within 5 minutes), "forced"
#: when asked to refresh anyway (0.171's `account/read {refreshToken: true}`; our `status --check`).
#: "stale" (an opaque access token of unknown expiry, last refreshed over 8 days ago) has no 0.171
#: counterpart (it reads the expiry from the JWT): it is a due refresh too.
WIRE_REFRESH_REASONS = {"expiring": "proactive_expiry", "stale": "proactive_expiry", "forced": "forced"}


@asynccontextmanager
async def issuer_session(
    settings: Settings,
    issuer: Issuer,
    *,
    verify: ssl.SSLContext | bool | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    fresh_connections: bool = False,
    identified: bool = False,
) -> AsyncIterator[IssuerClient]:
    """An IssuerClient for `issuer` (oauth.issuer: the run's, or the stored credential's) whose
    httpx client lives exactly as long as the block.

    `verify`: a context to use instead (None: the process's one, oauth.tls, with the system store
    only when `issuer` has an https URL). `transport`: tests inject one.
    `fresh_connections`: a new connection per request, for callers that wait between requests as
    long as servers keep idle connections (device polling every 5+ s). `identified`: requests made
    with stored credentials (whoami, revocation, refresh), which the openai dialect sends with Codex
    CLI 0.171's originator and User-Agent; its login requests carry neither (oauth.useragent).

    A proxy variable httpx cannot parse is a UsageError naming the variable, raised before any
    request (httpx itself would raise with part of the value, e.g. a password, in its message).
    """
    import httpx

    if transport is None:  # httpx reads the proxy environment only without an injected transport
        check_proxy_environment()

    from codexlogin.oauth.useragent import identity_headers

    identity = identity_headers(issuer.dialect.name, identified=identified)
    headers = {"Accept": "application/json", **{name: value for name, value in identity.items() if value is not None}}
    if fresh_connections:
        headers["Connection"] = "close"
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(settings.exchange_timeout),
        verify=session_verify(issuer, verify),
        trust_env=True,
        follow_redirects=False,
        headers=headers,
        transport=transport,
    ) as http:
        for name in (name for name, value in identity.items() if value is None):
            del http.headers[name]  # not httpx's own "python-httpx/…" either: 0.171 sends none
        yield IssuerClient(settings, issuer, http)


def session_verify(issuer: Issuer, verify: ssl.SSLContext | bool | None = None) -> ssl.SSLContext | bool:
    """The TLS setting `issuer_session` gives httpx: `verify`, else the process's one context for
    this CA setting (oauth.tls, built and loaded once: asking again costs nothing)."""
    return ssl_verify_setting(https=uses_tls(issuer)) if verify is None else verify


def uses_tls(issuer: Issuer) -> bool:
    """Whether any URL of `issuer` (its base, the endpoints discovery found) is https: only then is
    the system's trust store loaded."""
    urls = [issuer.base, *(value for key, value in issuer.metadata if key.endswith("_endpoint"))]
    return any(url[:6].lower() == "https:" for url in urls)


REQUEST_ID_HEADERS = ("x-request-id", "x-openai-request-id", "cf-ray")
MAX_EXPIRES_IN = 10 * 366 * 24 * 3600  # ten years: a longer lifetime is clamped to this
MAX_USERINFO_BYTES = 64 * 1024


def usable_expires_in(value: object) -> int | None:
    """RFC 6749 §5.1 `expires_in` (seconds, a JSON number): None when absent, not a number (a
    string, a bool), not finite or not positive; a huge value (10**400) is clamped."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value <= 0:
        return None
    return int(min(value, MAX_EXPIRES_IN))


async def read_bounded(response: httpx.Response, limit: int) -> bytes:
    """At most `limit` bytes of a streamed body (the caller bounds the time). A declared length
    over the limit is not read at all; otherwise the rest is read and dropped, because leaving
    httpx's byte iterators half-consumed leaks them (ResourceWarning)."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return b""
    kept = bytearray()
    async for chunk in response.aiter_bytes():
        if len(kept) < limit:
            kept += chunk[: limit - len(kept)]
    return bytes(kept)


def _bearer_challenge(header: str) -> tuple[str | None, str | None]:
    """(error, error_description) from `WWW-Authenticate: Bearer error="…", error_description="…"`
    (RFC 6750 §3), bounded."""
    import re

    found = dict(re.findall(r'(error|error_description)\s*=\s*"([^"]{0,2000})"', header[:8192]))
    return found.get("error") or None, found.get("error_description") or None


class IssuerClient:
    """Requests to one issuer (`self.issuer`: its endpoints, client id and dialect); `settings`
    only bound each request (exchange_timeout)."""

    def __init__(self, settings: Settings, issuer: Issuer, http: httpx.AsyncClient):
        self.settings = settings
        self.issuer = issuer
        self.http = http
        self.dialect = issuer.dialect

    @contextmanager
    def _bounded(self, what: str, url: str) -> Iterator[None]:
        """One request to the issuer, bounded by exchange_timeout; a timeout or a transport failure
        becomes IssuerUnreachable, in words (the host, the proxy variable)."""
        import httpx
        import trio

        try:
            with trio.fail_after(self.settings.exchange_timeout):
                yield
        except trio.TooSlowError:
            raise IssuerUnreachable(
                what, "timeout", f"no reply from {sanitize_url(url)} within {self.settings.exchange_timeout:g}s"
            ) from None
        except httpx.HTTPError as exc:
            raise transport_failure(what, url, exc) from None

    async def _post(
        self, url: str, *, what: str, form: dict[str, str] | None = None, body: dict[str, str] | None = None
    ) -> httpx.Response:
        """POST a form (or, with `body`, JSON), bounded by exchange_timeout; raise an IssuerError
        unless the reply is 2xx."""
        with self._bounded(what, url):
            response = await self.http.post(url, data=form, json=body)
        if not response.is_success:
            code, message = parse_oauth_error(response.content)
            request_id = next((response.headers[h] for h in REQUEST_ID_HEADERS if response.headers.get(h)), None)
            raise IssuerRejected(
                what, response.status_code, code, message, response.content.decode("utf-8", "replace"), request_id=request_id
            )
        return response

    async def _post_for_json(
        self, url: str, *, what: str, form: dict[str, str] | None = None, body: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """The status and JSON object of a 2xx reply."""
        response = await self._post(url, what=what, form=form, body=body)
        try:
            data = safejson.loads(response.content)
        except ValueError:  # not JSON, not UTF-8, or nested too deeply
            data = None
        if not isinstance(data, dict):
            raise IssuerRejected(what, response.status_code, None, None, response.content.decode("utf-8", "replace"))
        return response.status_code, data

    @staticmethod
    def _tokens(data: dict[str, Any], what: str, *, need: tuple[str, ...], status: int = 200) -> TokenResponse:
        missing = [key for key in need if not isinstance(data.get(key), str) or not data.get(key)]
        if missing:
            raise IssuerRejected(what, 200, "invalid_response", f"reply lacks {', '.join(missing)}", "")
        register_secrets(data.get("access_token"), data.get("id_token"), data.get("refresh_token"))
        return TokenResponse(
            access_token=data["access_token"],
            id_token=data.get("id_token") if isinstance(data.get("id_token"), str) else None,
            refresh_token=data.get("refresh_token") if isinstance(data.get("refresh_token"), str) else None,
            expires_in=usable_expires_in(data.get("expires_in")),
            status=status,
        )

    @property
    def _login_reply_needs(self) -> tuple[str, ...]:
        # 0.171 cannot read an auth.json without all three; RFC 6749 makes id and refresh optional.
        return ("id_token", "access_token", "refresh_token") if self.dialect.full_token_reply else ("access_token",)

    async def exchange_code(self, code: str, redirect_uri: str, verifier: str) -> TokenResponse:
        register_secrets(code, verifier)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.issuer.client_id,
            "code_verifier": verifier,
        }
        status, data = await self._post_for_json(self.issuer.token_endpoint, form=form, what="token endpoint")
        return self._tokens(data, "token endpoint", need=self._login_reply_needs, status=status)

    async def exchange_api_key(self, id_token: str) -> str:
        register_secrets(id_token)
        form = {
            "grant_type": TOKEN_EXCHANGE_GRANT,
            "client_id": self.issuer.client_id,
            "requested_token": "openai-api-key",
            "subject_token": id_token,
            "subject_token_type": ID_TOKEN_TYPE,
        }
        _, data = await self._post_for_json(self.issuer.token_endpoint, form=form, what="API-key exchange")
        return self._tokens(data, "API-key exchange", need=("access_token",)).access_token  # registered there

    async def refresh(self, refresh_token: str, reason: str) -> TokenResponse:
        """openai: JSON with `refresh_reason` in Codex CLI 0.171's words (WIRE_REFRESH_REASONS);
        standard: RFC 6749 §6, no scope (the grant stays as it is)."""
        register_secrets(refresh_token)
        fields = {"client_id": self.issuer.client_id, "grant_type": "refresh_token", "refresh_token": refresh_token}
        if self.dialect.json_requests:
            status, data = await self._post_for_json(
                self.issuer.token_endpoint,
                body={**fields, "refresh_reason": WIRE_REFRESH_REASONS.get(reason, reason)},
                what="token refresh",
            )
        else:
            status, data = await self._post_for_json(self.issuer.token_endpoint, form=fields, what="token refresh")
        return self._tokens(data, "token refresh", need=("access_token",), status=status)

    async def revoke(self, token: str, token_type_hint: str) -> int:
        """RFC 7009 (a form) or, for the openai dialect, the same fields as JSON."""
        register_secrets(token)
        fields = {"token": token, "token_type_hint": token_type_hint, "client_id": self.issuer.client_id}
        if self.dialect.json_requests:
            response = await self._post(self.issuer.revoke_endpoint, body=fields, what="revocation endpoint")
        else:
            response = await self._post(self.issuer.revoke_endpoint, form=fields, what="revocation endpoint")
        return response.status_code

    # --- proving the credentials online (`codex login status --check`) ------------------------

    async def userinfo(self, access_token: str, endpoint: str) -> dict[str, Any]:
        """OIDC Core §5.3 UserInfo: GET with the access token as a Bearer token; its claims.
        A refusal is IssuerRejected with the WWW-Authenticate error (RFC 6750 §3) when the body has none."""
        register_secrets(access_token)
        what = "userinfo endpoint"
        body = b""
        with self._bounded(what, endpoint):
            headers = {"Authorization": f"Bearer {access_token}"}
            async with self.http.stream("GET", endpoint, headers=headers) as response:
                body = await read_bounded(response, MAX_USERINFO_BYTES)  # the claims are small
        if not response.is_success:
            code, message = parse_oauth_error(body)
            if code is None:
                code, message = _bearer_challenge(response.headers.get("www-authenticate", ""))
            raise IssuerRejected(what, response.status_code, code, message, body.decode("utf-8", "replace"))
        try:
            data = safejson.loads(body)
        except ValueError:
            data = None  # OIDC allows a signed JWT reply; its status alone proves the token
        return data if isinstance(data, dict) else {}

    async def introspect(self, token: str, endpoint: str, token_type_hint: str = "access_token") -> dict[str, Any]:
        """RFC 7662 as a public client (client_id only): the reply, whose `active` says it all."""
        register_secrets(token)
        form = {"token": token, "token_type_hint": token_type_hint, "client_id": self.issuer.client_id}
        _, data = await self._post_for_json(endpoint, form=form, what="introspection endpoint")
        return data

    # --- device login: RFC 8628 (standard) ---------------------------------------------------

    async def request_device_code(self) -> DeviceAuthorization:
        form = {"client_id": self.issuer.client_id, "scope": self.dialect.scopes}
        _, data = await self._post_for_json(self.issuer.device_code_endpoint, form=form, what="device authorization endpoint")
        register_secrets(data.get("device_code"), data.get("user_code"))
        try:
            return DeviceAuthorization(
                device_code=str(data["device_code"]),
                user_code=str(data["user_code"]),
                verification_uri=str(data.get("verification_uri") or data["verification_url"]),
                verification_uri_complete=data.get("verification_uri_complete"),
                expires_in=int(data.get("expires_in") or 900),
                interval=int(data.get("interval") or 5),
            )
        except (KeyError, TypeError, ValueError, OverflowError):
            raise IssuerRejected(
                "device authorization endpoint",
                200,
                "invalid_response",
                "reply lacks device_code, user_code or verification_uri",
                "",
            ) from None

    async def poll_device_token(self, device_code: str) -> TokenResponse:
        register_secrets(device_code)
        form = {"grant_type": DEVICE_CODE_GRANT, "device_code": device_code, "client_id": self.issuer.client_id}
        status, data = await self._post_for_json(self.issuer.token_endpoint, form=form, what="token endpoint")
        return self._tokens(data, "token endpoint", need=("access_token",), status=status)

    # --- device login: the openai dialect (Codex CLI 0.171) ------------------------------------

    async def request_openai_device_code(self) -> DeviceAuthorization:
        """`POST /api/accounts/deviceauth/usercode` {client_id} → device_auth_id, user_code, interval."""
        _, data = await self._post_for_json(
            self.issuer.openai_device_usercode_endpoint,
            body={"client_id": self.issuer.client_id},
            what="device code endpoint",
        )
        user_code = data.get("user_code") or data.get("usercode")
        register_secrets(data.get("device_auth_id"), user_code)
        try:
            interval = int(str(data.get("interval") or OPENAI_DEVICE_INTERVAL).strip())
            if not (isinstance(data["device_auth_id"], str) and isinstance(user_code, str) and user_code):
                raise ValueError
            return DeviceAuthorization(
                device_code=data["device_auth_id"],
                user_code=user_code,
                verification_uri=self.issuer.openai_device_verification_uri,
                verification_uri_complete=None,
                expires_in=OPENAI_DEVICE_LIFETIME,
                interval=interval,
            )
        except (KeyError, TypeError, ValueError, OverflowError):
            raise IssuerRejected(
                "device code endpoint", 200, "invalid_response", "reply lacks device_auth_id or user_code", ""
            ) from None

    async def poll_openai_device(self, device: DeviceAuthorization) -> OpenAIDeviceGrant | None:
        """One poll: None while the code is not entered yet (403/404), the server's PKCE pair after."""
        try:
            _, data = await self._post_for_json(
                self.issuer.openai_device_token_endpoint,
                body={"device_auth_id": device.device_code, "user_code": device.user_code},
                what="device token endpoint",
            )
        except IssuerRejected as error:
            if error.status in (403, 404):
                error.expected()  # "not yet": no error reply for --verbose
                return None
            raise
        fields = [data.get(name) for name in ("authorization_code", "code_verifier")]
        if not all(isinstance(value, str) and value for value in fields):
            raise IssuerRejected(
                "device token endpoint", 200, "invalid_response", "reply lacks authorization_code or code_verifier", ""
            )
        register_secrets(*fields)
        return OpenAIDeviceGrant(authorization_code=data["authorization_code"], code_verifier=data["code_verifier"])
