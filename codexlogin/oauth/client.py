"""The issuer over httpx: authorize URL, code exchange, API-key exchange, refresh, revoke, device code.

Errors are typed: `IssuerRejected` for an HTTP error reply (RFC 6749 §5.2 parsed when it is JSON),
`IssuerUnreachable` for transport failures. Both keep the full reply for the terminal in `.detail`
and only scrubbed facts (status, error code, message, kind) in `str()` and `log_fields()`.
"""

from __future__ import annotations

import json
import math
import os
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode


from codexlogin import DEFAULT_ISSUER
from codexlogin.errors import TokenExchangeFailed, UsageError
from codexlogin.oauth.pkce import PkceCodes
from codexlogin.redact import register_secrets, sanitize_url, scrub_text
from codexlogin.config import Settings

if TYPE_CHECKING:
    import httpx  # imported where a client is made: the browser login prints its URL first

SCOPES = "openid profile email offline_access"
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
MAX_DETAIL_CHARS = 4000  # raw bodies shown on the terminal are cut here
MAX_LOGGED_MESSAGE_CHARS = 300  # an issuer's error_description in the log: enough to diagnose


class IssuerRejected(TokenExchangeFailed):
    """The issuer answered with a non-2xx status (or a 2xx that is not the JSON we need)."""

    def __init__(self, endpoint: str, status: int, error_code: str | None, error_message: str | None, body_text: str):
        self.status = status
        self.error_message = error_message
        self.body_text = body_text
        what = f"{endpoint} returned HTTP {status}"
        if error_code:
            summary = f"{what}: {error_code}" + (f": {error_message}" if error_message else "")
            detail = summary
        else:
            summary = f"{what} with a non-OAuth body"
            shown = body_text if len(body_text) <= MAX_DETAIL_CHARS else body_text[:MAX_DETAIL_CHARS] + "…"
            detail = f"{what}: {shown.strip() or '(empty body)'}"
        super().__init__(scrub_text(summary), detail=detail, error_code=error_code)

    def log_fields(self) -> dict[str, object]:
        fields = super().log_fields()
        fields["status"] = self.status
        if self.error_message:
            fields["error_message"] = scrub_text(self.error_message)[:MAX_LOGGED_MESSAGE_CHARS]
        return fields


class IssuerUnreachable(TokenExchangeFailed):
    """No usable HTTP reply: timeout, refused connection, DNS or TLS failure."""

    def __init__(self, endpoint: str, kind: str, message: str):
        self.kind = kind
        text = f"could not reach {endpoint} ({kind}): {scrub_text(message)}"
        super().__init__(text, detail=text, error_code=None)

    def log_fields(self) -> dict[str, object]:
        fields = super().log_fields()
        fields["kind"] = self.kind
        return fields


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
class DeviceAuthorization:
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: int
    interval: int

    def __repr__(self) -> str:
        return f"DeviceAuthorization(verification_uri={self.verification_uri!r}, <codes redacted>)"


def parse_oauth_error(body: bytes) -> tuple[str | None, str | None]:
    """(error_code, error_message) from an RFC 6749 §5.2 body; `error` may also be {code, message}."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    error = data.get("error")
    message = data.get("error_description")
    if isinstance(error, dict):
        code = error.get("code") or error.get("type")
        message = message or error.get("message")
    else:
        code = error
    code = str(code) if isinstance(code, str | int) and str(code) else None
    message = str(message) if isinstance(message, str | int) and str(message) else None
    return code, message


def classify_transport_error(exc: BaseException) -> str:
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    chain: list[BaseException] = []
    cursor: BaseException | None = exc
    while cursor is not None and len(chain) < 10:
        chain.append(cursor)
        cursor = cursor.__cause__ or cursor.__context__
    if any(isinstance(item, ssl.SSLError) for item in chain) or "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return "tls"
    text = " ".join(str(item) for item in chain).lower()
    if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return "dns"
    if isinstance(exc, httpx.ConnectError):
        return "connect"
    return "other"


def ssl_verify_setting(environ: dict[str, str] | os._Environ[str] | None = None) -> ssl.SSLContext | bool:
    """CODEX_CA_CERTIFICATE, then SSL_CERT_FILE, else the default trust store."""
    environ = os.environ if environ is None else environ
    for name in ("CODEX_CA_CERTIFICATE", "SSL_CERT_FILE"):
        path = environ.get(name)
        if path:
            try:
                return ssl.create_default_context(cafile=path)
            except (OSError, ssl.SSLError) as exc:
                raise UsageError(
                    f"cannot load CA bundle {path} from {name}: {getattr(exc, 'strerror', None) or exc}"
                    " (check CODEX_CA_CERTIFICATE and SSL_CERT_FILE)"
                ) from None
    return True


def make_http_client(settings: Settings, verify: ssl.SSLContext | bool | None = None) -> httpx.AsyncClient:
    """`verify`: the result of an earlier `ssl_verify_setting()` (None: call it now)."""
    import httpx

    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.exchange_timeout),
        verify=ssl_verify_setting() if verify is None else verify,
        trust_env=True,
        follow_redirects=False,
        headers={"Accept": "application/json", "User-Agent": "codexlogin"},
    )


def authorize_url(settings: Settings, redirect_uri: str, pkce: PkceCodes, state: str) -> str:
    params = {
        "response_type": "code",
        "client_id": settings.client_id,
        "redirect_uri": redirect_uri,
        "scope": SCOPES,
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        "id_token_add_organizations": "true",
        "codex_cli_simplified_flow": "true",
        "state": state,
        "originator": "codex_cli_rs",
    }
    if settings.issuer_base != DEFAULT_ISSUER:
        # OIDC Core §11: offline_access (a refresh token) needs prompt=consent on a standard
        # provider; OpenAI's issuer grants it without, as the reference CLI relies on.
        params["prompt"] = "consent"
    if settings.forced_chatgpt_workspace_id:
        params["allowed_workspace_id"] = settings.forced_chatgpt_workspace_id[0]
    return f"{settings.authorize_endpoint}?{urlencode(params)}"


class IssuerClient:
    def __init__(self, settings: Settings, http: httpx.AsyncClient):
        self.settings = settings
        self.http = http

    def authorize_url(self, redirect_uri: str, pkce: PkceCodes, state: str) -> str:
        return authorize_url(self.settings, redirect_uri, pkce, state)

    async def _post(self, url: str, form: dict[str, str], *, what: str) -> httpx.Response:
        """POST a form, bounded by exchange_timeout overall; raise a typed error unless the reply is 2xx."""
        import httpx

        import trio

        try:
            with trio.fail_after(self.settings.exchange_timeout):
                response = await self.http.post(url, data=form)
        except trio.TooSlowError:
            raise IssuerUnreachable(
                what, "timeout", f"no reply from {sanitize_url(url)} within {self.settings.exchange_timeout:g}s"
            ) from None
        except httpx.HTTPError as exc:
            raise IssuerUnreachable(what, classify_transport_error(exc), str(exc) or type(exc).__name__) from None
        if not response.is_success:
            code, message = parse_oauth_error(response.content)
            raise IssuerRejected(what, response.status_code, code, message, response.content.decode("utf-8", "replace"))
        return response

    async def post_form(self, url: str, form: dict[str, str], *, what: str) -> tuple[int, dict[str, Any]]:
        """The status and JSON object of a 2xx reply."""
        response = await self._post(url, form, what=what)
        try:
            data = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
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
        expires = data.get("expires_in")
        return TokenResponse(
            access_token=data["access_token"],
            id_token=data.get("id_token") if isinstance(data.get("id_token"), str) else None,
            refresh_token=data.get("refresh_token") if isinstance(data.get("refresh_token"), str) else None,
            expires_in=int(expires) if isinstance(expires, int | float) and math.isfinite(expires) else None,
            status=status,
        )

    async def exchange_code(self, code: str, redirect_uri: str, verifier: str) -> TokenResponse:
        register_secrets(code, verifier)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.settings.client_id,
            "code_verifier": verifier,
        }
        status, data = await self.post_form(self.settings.token_endpoint, form, what="token endpoint")
        return self._tokens(data, "token endpoint", need=("access_token",), status=status)

    async def exchange_api_key(self, id_token: str) -> str:
        register_secrets(id_token)
        form = {
            "grant_type": TOKEN_EXCHANGE_GRANT,
            "client_id": self.settings.client_id,
            "requested_token": "openai-api-key",
            "subject_token": id_token,
            "subject_token_type": ID_TOKEN_TYPE,
        }
        _, data = await self.post_form(self.settings.token_endpoint, form, what="API-key exchange")
        return self._tokens(data, "API-key exchange", need=("access_token",)).access_token  # registered there

    async def refresh(self, refresh_token: str) -> TokenResponse:
        register_secrets(refresh_token)
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": self.settings.client_id,
            "scope": "openid profile email",
        }
        status, data = await self.post_form(self.settings.token_endpoint, form, what="token refresh")
        return self._tokens(data, "token refresh", need=("access_token",), status=status)

    async def revoke(self, token: str, token_type_hint: str) -> int:
        register_secrets(token)
        form = {"token": token, "token_type_hint": token_type_hint, "client_id": self.settings.client_id}
        response = await self._post(self.settings.revoke_endpoint, form, what="revocation endpoint")
        return response.status_code

    async def request_device_code(self) -> DeviceAuthorization:
        form = {"client_id": self.settings.client_id, "scope": SCOPES}
        _, data = await self.post_form(self.settings.device_code_endpoint, form, what="device authorization endpoint")
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
            raise IssuerRejected("device authorization endpoint", 200, "invalid_response", "reply lacks device_code, user_code or verification_uri", "") from None

    async def poll_device_token(self, device_code: str) -> TokenResponse:
        register_secrets(device_code)
        form = {"grant_type": DEVICE_CODE_GRANT, "device_code": device_code, "client_id": self.settings.client_id}
        status, data = await self.post_form(self.settings.token_endpoint, form, what="token endpoint")
        return self._tokens(data, "token endpoint", need=("access_token",), status=status)
