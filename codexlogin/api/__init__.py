"""The public Python API, re-exported by the top package (`codexlogin.open_login_server`, …).

Loaded only when a program first reads one of these names from `codexlogin` (its module
`__getattr__`), so `codex login status` never pays for trio, httpx or eliot. The names and what
they do: README, "Python API"; tests/test_public_api.py pins the list.
"""

from codexlogin.api.account import Account, access_token, api_key_login, logout, read_account
from codexlogin.api.run import resolve_settings
from codexlogin.api.server import (
    DeviceLogin,
    LoginServer,
    open_device_login,
    open_login_server,
    serve_device_login,
    serve_login,
)
from codexlogin.config import Settings, load_settings
from codexlogin.errors import (
    Cancelled,
    CredentialsUnusable,
    Denied,
    ExitCode,
    InternalError,
    LoginFailure,
    NetworkError,
    NotLoggedIn,
    PolicyViolation,
    PortUnavailable,
    StorageFailed,
    Terminated,
    TimedOut,
    TokenExchangeFailed,
    UsageError,
)
from codexlogin.flows.logout import LogoutResult
from codexlogin.flows.token import AccessToken
from codexlogin.oauth.issuer import IssuerConflict

__all__ = [
    "AccessToken",
    "Account",
    "Cancelled",
    "CredentialsUnusable",
    "Denied",
    "DeviceLogin",
    "ExitCode",
    "InternalError",
    "IssuerConflict",
    "LoginFailure",
    "LoginServer",
    "LogoutResult",
    "NetworkError",
    "NotLoggedIn",
    "PolicyViolation",
    "PortUnavailable",
    "Settings",
    "StorageFailed",
    "Terminated",
    "TimedOut",
    "TokenExchangeFailed",
    "UsageError",
    "access_token",
    "api_key_login",
    "load_settings",
    "logout",
    "open_device_login",
    "open_login_server",
    "read_account",
    "resolve_settings",
    "serve_device_login",
    "serve_login",
]
