"""The public API of the top package, pinned (in the manner of httpx's tests/test_exported_members.py).

`codexlogin.__all__` is the contract: adding or removing a name is a deliberate change made here
too. Every name resolves, the lazy re-export loads nothing heavy until one is read, and the names
are re-exported from their homes (codexlogin.api), not redefined.
"""

from __future__ import annotations

import subprocess
import sys
import types

import codexlogin
import codexlogin.api

PUBLIC = [
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


def test_all_is_pinned_and_sorted():
    assert codexlogin.__all__ == sorted(PUBLIC)


def test_every_exported_name_resolves_and_is_listed_by_dir():
    for name in codexlogin.__all__:
        assert getattr(codexlogin, name) is not None
    assert set(codexlogin.__all__) <= set(dir(codexlogin))


def test_the_api_package_exports_what_the_top_package_reexports():
    constants = {"DEFAULT_CLIENT_ID", "DEFAULT_ISSUER", "DEFAULT_PORT", "__version__"}
    assert sorted(codexlogin.api.__all__) == sorted(set(PUBLIC) - constants)
    for name in codexlogin.api.__all__:
        assert getattr(codexlogin, name) is getattr(codexlogin.api, name)


def test_no_other_public_names_in_the_top_package():
    """Besides __all__, only submodules (codexlogin.errors, …) are public attributes."""
    extra = {
        name
        for name, value in vars(codexlogin).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name not in codexlogin.__all__
    }
    assert extra == set()


def test_failures_are_one_tree():
    for name in codexlogin.__all__:
        value = getattr(codexlogin, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, codexlogin.LoginFailure), name


def test_importing_the_package_stays_light_and_unknown_names_fail():
    code = (
        "import sys, codexlogin\n"
        "heavy = [m for m in ('trio', 'httpx', 'eliot', 'hypercorn', 'codexlogin.api') if m in sys.modules]\n"
        "from codexlogin import errors\n"
        "try:\n    codexlogin.no_such_name\nexcept AttributeError:\n    missing = True\n"
        "print(heavy, missing, 'codexlogin.api' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[] True False"
