"""codexlogin: the Codex CLI sign-in (`codex login`) with a scrubbed diagnostic log.

Kept import-light on purpose: `codex login status` must start fast, so nothing here pulls in
trio, httpx, hypercorn or eliot. The public Python API (`open_login_server`, `read_account`,
`logout`, `access_token`, …; README, "Python API") lives in `codexlogin.api` and is re-exported
here lazily: the module `__getattr__` below loads it the first time a program reads one of its
names.
"""

#: typing.TYPE_CHECKING without importing typing (~3 ms at start-up); type checkers treat the name alike.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

DEFAULT_ISSUER = "https://auth.openai.com"
DEFAULT_CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
DEFAULT_PORT = 1455

__all__ = [
    "AccessToken",
    "Account",
    "Cancelled",
    "CredentialsUnusable",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_ISSUER",
    "DEFAULT_PORT",
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
    "__version__",
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

#: The names `codexlogin.api` provides (its `__all__`; tests/test_public_api.py checks both agree).
_API = frozenset(__all__) - {"DEFAULT_CLIENT_ID", "DEFAULT_ISSUER", "DEFAULT_PORT", "__version__"}


def __getattr__(name: str) -> "Any":
    """The public API, loaded on first use (PEP 562). Any other name is not here, so that
    `from codexlogin import errors` still imports the submodule."""
    if name not in _API:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from codexlogin import api  # the one import of the API layer from the top package

    value = getattr(api, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | _API)


if TYPE_CHECKING:
    from codexlogin.api import (
        AccessToken,
        Account,
        Cancelled,
        CredentialsUnusable,
        Denied,
        DeviceLogin,
        ExitCode,
        InternalError,
        IssuerConflict,
        LoginFailure,
        LoginServer,
        LogoutResult,
        NetworkError,
        NotLoggedIn,
        PolicyViolation,
        PortUnavailable,
        Settings,
        StorageFailed,
        Terminated,
        TimedOut,
        TokenExchangeFailed,
        UsageError,
        access_token,
        api_key_login,
        load_settings,
        logout,
        open_device_login,
        open_login_server,
        read_account,
        resolve_settings,
        serve_device_login,
        serve_login,
    )

del TYPE_CHECKING  # not a public name of the package
