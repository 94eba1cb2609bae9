"""An independent OpenID Provider for scripts/interop_oidc2.sh: django-oauth-toolkit (PyPI) in a
one-file Django project made at run time (settings in code, sqlite in a work directory).

    python dot_server.py setup  --dir DIR --port P --callback-port C   # migrate, user, clients, key
    python dot_server.py serve  --dir DIR --port P --callback-port C   # HTTP on 127.0.0.1:P (trace.jsonl)
    python dot_server.py tokens --dir DIR                              # JSON: every token's state
    python dot_server.py revoke-all --dir DIR                          # revoke every token (server side)

Clients (all public, no secret): `codex-interop` (authorization code + PKCE S256 + refresh, OIDC
RS256 id_token, nonce echoed; redirect URIs BOTH http://localhost:C/auth/callback and
http://127.0.0.1:C/auth/callback, registered exactly), `codex-interop-device` (RFC 8628 device
grant). `introspector` is a confidential client (secret in DIR/introspector.secret) the script uses
for RFC 7662 introspection. The user is `interop-user` / the password in DIR/password.

Endpoints are where codexlogin looks by default (/oauth/authorize, /oauth/token, /oauth/revoke,
/oauth/device/code) and are also published by discovery (/.well-known/openid-configuration and
/.well-known/oauth-authorization-server), together with /oauth/userinfo and /oauth/introspect.
The authorization response carries `iss` (RFC 9207). Every request is traced to DIR/trace.jsonl
(with its secrets: the trace stays in the temporary work directory, which the script removes).
"""

from __future__ import annotations

import argparse
import json
import secrets
import threading
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

CLIENT_ID = "codex-interop"
DEVICE_CLIENT_ID = "codex-interop-device"
INTROSPECTOR_ID = "introspector"
USERNAME = "interop-user"
EMAIL = "interop-user@example.test"
SCOPES = {
    "openid": "OpenID Connect",
    "profile": "Your profile",
    "email": "Your email address",
    "offline_access": "Access while you are away (a refresh token)",
    "introspection": "Introspect tokens",
}

LOGIN_TEMPLATE = """<!doctype html><html><head><title>Sign in - interop DOT</title></head><body>
<h1>Sign in</h1>{% if form.errors %}<p class="error">Wrong username or password.</p>{% endif %}
<form method="post" action="{{ request.path }}">{% csrf_token %}
<input type="hidden" name="next" value="{{ next }}">
<label>Username <input type="text" name="username" autocomplete="username"></label>
<label>Password <input type="password" name="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button></form></body></html>"""


def configure(work: Path, port: int, callback_port: int) -> None:
    import django
    from django.conf import settings

    issuer = f"http://127.0.0.1:{port}"
    key_file = work / "oidc.key"
    settings.configure(
        DEBUG=False,
        SECRET_KEY=(work / "django.secret").read_text() if (work / "django.secret").exists() else "setup-only",
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "oauth2_provider",
        ],
        MIDDLEWARE=[
            f"{__name__}.TraceMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(work / "db.sqlite3")}},
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "OPTIONS": {
                    "context_processors": ["django.template.context_processors.request"],
                    "loaders": [
                        ("django.template.loaders.locmem.Loader", {"registration/login.html": LOGIN_TEMPLATE}),
                        "django.template.loaders.app_directories.Loader",
                    ],
                },
            }
        ],
        LOGIN_URL="/accounts/login/",
        STATIC_URL="/static/",
        APPEND_SLASH=False,
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"],
        LOGGING_CONFIG=None,
        OAUTH2_PROVIDER={
            "OIDC_ENABLED": True,
            "OIDC_ISS_ENDPOINT": issuer,
            "OIDC_RSA_PRIVATE_KEY": key_file.read_text() if key_file.exists() else "",
            "OAUTH2_VALIDATOR_CLASS": f"{__name__}.Validator",
            "SCOPES": SCOPES,
            "DEFAULT_SCOPES": ["openid"],
            "PKCE_REQUIRED": True,
            "ALLOWED_REDIRECT_URI_SCHEMES": ["http"],
            "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
            "REQUEST_APPROVAL_PROMPT": "force",
            "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,  # RFC 9207 iss in the authorization response
            "OAUTH_DEVICE_VERIFICATION_URI": f"{issuer}/oauth/device",
            "DEVICE_FLOW_INTERVAL": 1,
        },
    )
    settings.INTEROP = {"work": work, "issuer": issuer, "callback_port": callback_port}
    django.setup()
    urlpatterns[:] = _urlpatterns()


# --- URLs: codexlogin's default paths, under oauth2_provider's names (so discovery names them) ------


def _with_device_endpoint(view_class):
    """The metadata view, plus RFC 8628 §4's device_authorization_endpoint (DOT omits it)."""
    from django.http import JsonResponse

    inner = view_class.as_view()

    def view(request, *args, **kwargs):
        response = inner(request, *args, **kwargs)
        if response.status_code != 200:
            return response
        data = json.loads(response.content)
        data["device_authorization_endpoint"] = request.build_absolute_uri("/oauth/device/code")
        out = JsonResponse(data)
        out["Access-Control-Allow-Origin"] = "*"
        return out

    return view


def _urlpatterns():
    from django.contrib.auth import views as auth_views
    from django.urls import include, path, re_path
    from oauth2_provider import views

    oauth = [
        path("oauth/authorize", views.AuthorizationView.as_view(), name="authorize"),
        path("oauth/token", views.TokenView.as_view(), name="token"),
        path("oauth/revoke", views.RevokeTokenView.as_view(), name="revoke-token"),
        path("oauth/introspect", views.IntrospectTokenView.as_view(), name="introspect"),
        path("oauth/userinfo", views.UserInfoView.as_view(), name="user-info"),
        path("oauth/device/code", views.DeviceAuthorizationView.as_view(), name="device-authorization"),
        path("oauth/device", views.DeviceUserCodeView.as_view(), name="device"),
        path("oauth/device-confirm/<slug:client_id>/<slug:user_code>", views.DeviceConfirmView.as_view(), name="device-confirm"),
        path(
            "oauth/device-grant-status/<slug:client_id>/<slug:user_code>",
            views.DeviceGrantStatusView.as_view(),
            name="device-grant-status",
        ),
        re_path(
            r"^\.well-known/openid-configuration/?$",
            _with_device_endpoint(views.ConnectDiscoveryInfoView),
            name="oidc-connect-discovery-info",
        ),
        path(
            ".well-known/oauth-authorization-server",
            _with_device_endpoint(views.OAuthServerMetadataView),
            name="oauth-server-metadata",
        ),
        path(".well-known/jwks.json", views.JwksInfoView.as_view(), name="jwks-info"),
    ]
    return [
        path("", include((oauth, "oauth2_provider"))),
        path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    ]


urlpatterns: list = []  # filled by configure(), after django.setup()


def _validator_class():
    from oauth2_provider.oauth2_validators import OAuth2Validator

    class _Validator(OAuth2Validator):
        def get_additional_claims(self, request):
            return {"email": request.user.email, "email_verified": True, "name": "Interop User"}

    return _Validator


def __getattr__(name):  # the validator class is made after django.setup()
    if name == "Validator":
        cls = _validator_class()
        globals()["Validator"] = cls
        return cls
    raise AttributeError(name)


# --- the trace ----------------------------------------------------------------------------------

_trace_lock = threading.Lock()


class TraceMiddleware:
    """One JSON line per request: what the client sent and what the server answered."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings

        entry = {"method": request.method, "path": request.path, "query": dict(request.GET.items())}
        if request.method == "POST" and request.path.startswith("/oauth/") and request.path not in ("/oauth/device",):
            form = dict(request.POST.items())
            if not request.path.startswith("/oauth/device-confirm"):
                entry["form"] = form
            else:
                entry["form"] = {k: v for k, v in form.items() if k == "action"}
            entry["client_auth"] = (
                "basic"
                if request.META.get("HTTP_AUTHORIZATION", "").startswith("Basic ")
                else ("bearer" if request.META.get("HTTP_AUTHORIZATION", "").startswith("Bearer ") else "none")
            )
        elif request.path.startswith("/oauth/userinfo"):
            entry["client_auth"] = "bearer" if request.META.get("HTTP_AUTHORIZATION", "").startswith("Bearer ") else "none"
        response = self.get_response(request)
        entry["status"] = response.status_code
        location = response.get("Location")
        if location:
            parts = urlsplit(location)
            entry["location"] = {
                "host": parts.hostname,
                "port": parts.port,
                "path": parts.path,
                "params": dict(parse_qsl(parts.query)),
            }
        if request.path in ("/oauth/token", "/oauth/device/code", "/oauth/introspect", "/oauth/userinfo", "/oauth/revoke"):
            try:
                entry["response"] = json.loads(response.content or b"null")
            except ValueError:
                entry["response"] = None
        line = json.dumps(entry, sort_keys=True)
        with _trace_lock, open(settings.INTEROP["work"] / "trace.jsonl", "a") as f:
            f.write(line + "\n")
        return response


# --- commands -----------------------------------------------------------------------------------


def setup(work: Path, port: int, callback_port: int) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    work.mkdir(parents=True, exist_ok=True)
    (work / "django.secret").write_text(secrets.token_urlsafe(40))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (work / "oidc.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    password = secrets.token_urlsafe(12)
    (work / "password").write_text(password)
    introspector_secret = secrets.token_urlsafe(24)
    (work / "introspector.secret").write_text(introspector_secret)

    configure(work, port, callback_port)
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from oauth2_provider.models import get_application_model

    call_command("migrate", verbosity=0, interactive=False)
    user = get_user_model().objects.create_user(USERNAME, EMAIL, password)
    Application = get_application_model()
    redirects = f"http://localhost:{callback_port}/auth/callback http://127.0.0.1:{callback_port}/auth/callback"
    Application.objects.create(
        client_id=CLIENT_ID,
        name="Codex CLI (interop)",
        user=user,
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=redirects,
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=False,
        client_secret="",
    )
    Application.objects.create(
        client_id=DEVICE_CLIENT_ID,
        name="Codex CLI device (interop)",
        user=user,
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_DEVICE_CODE,
        algorithm=Application.RS256_ALGORITHM,
        client_secret="",
    )
    Application.objects.create(
        client_id=INTROSPECTOR_ID,
        name="introspector",
        user=user,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=introspector_secret,
    )
    print(f"setup done: user {USERNAME}, clients {CLIENT_ID}, {DEVICE_CLIENT_ID}, {INTROSPECTOR_ID}; redirects {redirects}")


def serve(work: Path, port: int, callback_port: int) -> None:
    configure(work, port, callback_port)
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    httpd = ThreadedWSGIServer(("127.0.0.1", port), WSGIRequestHandler, allow_reuse_address=True)
    httpd.set_app(WSGIHandler())
    print(
        f"provider listening on http://127.0.0.1:{port} (django-oauth-toolkit; clients {CLIENT_ID}, "
        f"{DEVICE_CLIENT_ID}; redirects http://localhost:{callback_port}/auth/callback and "
        f"http://127.0.0.1:{callback_port}/auth/callback)",
        flush=True,
    )
    httpd.serve_forever()


def tokens(work: Path) -> None:
    configure(work, 0, 0)
    from oauth2_provider.models import get_access_token_model, get_refresh_token_model

    out = {
        "access": [
            {
                "token": t.token,
                "client": t.application.client_id if t.application else None,
                "valid": t.is_valid(),
                "scope": t.scope,
            }
            for t in get_access_token_model().objects.select_related("application")
        ],
        "refresh": [
            {"token": t.token, "client": t.application.client_id if t.application else None, "revoked": t.revoked is not None}
            for t in get_refresh_token_model().objects.select_related("application")
        ],
    }
    print(json.dumps(out))


def revoke_all(work: Path) -> None:
    configure(work, 0, 0)
    from oauth2_provider.models import get_access_token_model, get_refresh_token_model

    n = 0
    for t in get_refresh_token_model().objects.filter(revoked__isnull=True):
        t.revoke()
        n += 1
    for t in get_access_token_model().objects.all():
        t.revoke()
        n += 1
    print(f"revoked {n} tokens")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["setup", "serve", "tokens", "revoke-all"])
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--callback-port", type=int, default=0)
    args = parser.parse_args()
    if args.command == "setup":
        setup(args.dir, args.port, args.callback_port)
    elif args.command == "serve":
        serve(args.dir, args.port, args.callback_port)
    elif args.command == "tokens":
        tokens(args.dir)
    else:
        revoke_all(args.dir)


if __name__ == "__main__":
    main()
