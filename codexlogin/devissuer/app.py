"""The dev issuer's ASGI app and its routes: `DevIssuer` and `serve_dev_issuer`.

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

Where the rest lives: `grants` (authorize, the token grants, revocation, userinfo, introspection),
`device` (RFC 8628), `openai` (the openai dialect's endpoints and JSON refresh), `faults`, `jwt`,
`core` (state and reply helpers shared by all of them).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import trio

from codexlogin._asgi import answer_lifespan

from .core import (
    _JSON_HEADERS,
    DEFAULT_SCOPE,
    GRANT_AUTH_CODE,
    GRANT_DEVICE_CODE,
    GRANT_REFRESH,
    GRANT_TOKEN_EXCHANGE,
    Request,
    _Handler,
    _OAuthError,
    _Reply,
)
from .device import DeviceFlow
from .grants import Grants
from .openai import OpenAIDialect

if TYPE_CHECKING:
    from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, Scope

MAX_BODY = 1 << 20


def _request_id_headers(request_id: str) -> list[tuple[bytes, bytes]]:
    value = request_id.encode("latin-1")
    return [(b"x-request-id", value), (b"x-openai-request-id", value), (b"cf-ray", value + b"-DEV")]


class DevIssuer(OpenAIDialect, DeviceFlow, Grants):
    """The ASGI app. Serve it with `serve_dev_issuer`.

    DevIssuer(*, auto_approve=False, client_ids=None, email="dev@example.com", plan="pro",
              account_id="acct_dev", access_token_lifetime=3600, device_auto_approve_after=None,
              id_token_auth_claims=None)
    (the constructor is `IssuerCore`'s): `auto_approve` skips the approval page and approves openai
    device codes when issued; `client_ids` None accepts any client; `device_auto_approve_after` N
    approves a device code at its Nth poll; `id_token_auth_claims` are added to the id_token's
    AUTH_CLAIMS (ORG_OWNER_NEEDS_SETUP: a new API organisation owner), the attribute of that name
    may be changed between logins.
    """

    @cached_property
    def _routes(self) -> dict[str, dict[str, _Handler]]:
        """Path -> method -> handler; built once per issuer (a test may swap a handler in it)."""
        return {
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

    # ---- discovery ----------------------------------------------------------------------------

    async def _discovery(self, request: Request) -> _Reply:
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
                ["none"] if f.introspection_public_client else ["client_secret_basic"]
            )
        return self._json(
            200,
            {
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
            },
        )

    # ---- token endpoint -----------------------------------------------------------------------

    async def _token(self, request: Request) -> _Reply:
        if self.faults.token_delay:
            await trio.sleep(self.faults.token_delay)
        status, body, content_type, headers = self._token_reply(request)
        if status >= 400 and self.faults.request_id is not None:
            headers = [*headers, *_request_id_headers(self.faults.request_id)]
        return status, body, content_type, headers

    def _token_reply(self, request: Request) -> _Reply:
        form = request.params
        grant_type = form.get("grant_type")
        f = self.faults
        if grant_type == GRANT_AUTH_CODE and f.token_status is not None:
            return f.token_status, f.token_body or b"", f.token_content_type, _JSON_HEADERS
        handlers = {
            GRANT_AUTH_CODE: self._grant_auth_code,
            # A JSON refresh is the openai dialect's (`openai`); a form one is RFC 6749 §6.
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


async def serve_dev_issuer(
    issuer: DevIssuer,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    certfile: str | None = None,
    issuer_url: str | None = None,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve `issuer` with hypercorn until cancelled; `task_status.started(issuer_url)`. With
    `certfile` (key and chain in one PEM) it serves HTTPS; `issuer_url` is what it calls itself
    instead of the bound address (a stand-in `https://auth.openai.com` on 127.0.0.1:443 whose name
    the client resolves there)."""
    from hypercorn.config import Config
    from hypercorn.trio import serve

    config = Config()
    config.bind = [f"{host}:{port}"]
    config.errorlog = None  # no "Running on ..." banner
    config.accesslog = None  # its lines hold query strings (codes, states)
    # hypercorn's default (5 s) equals the deviceauth poll interval: a client reusing its pooled
    # connection would race the server closing it. 75 s, like common front ends.
    config.keep_alive_timeout = 75
    if certfile is not None:
        config.certfile = config.keyfile = certfile
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(partial(serve, issuer, config, shutdown_trigger=trio.sleep_forever))
        issuer.issuer_url = issuer_url or binds[0]
        task_status.started(issuer.issuer_url)
