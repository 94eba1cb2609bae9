"""The proxy environment, read exactly as httpx 0.28 reads it, checked before any request.

httpx (`_utils.get_environment_proxies`, `_config.Proxy`) takes `urllib.request.getproxies()`'s
`http`, `https` and `all` entries (from `<scheme>_proxy` variables, lower case preferred, an empty
lower-case one hiding the upper-case one, `HTTP_PROXY` ignored under CGI), prepends `http://` to a
value without `://`, and parses it when the client is made: a password with an unencoded `/`, `#`
or `?` then raises `InvalidURL("Invalid port: '<part of the password>'")`, and an unknown scheme
`ValueError` with the whole value; a `socks5://` proxy without the socksio package (httpx's `socks`
extra) raises ImportError. `check_proxy_environment` makes each a usage error (exit 2) that names
the variable and never shows its value.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from codexlogin.errors import UsageError

HTTPX_PROXY_KEYS = ("http", "https", "all")  # the getproxies() entries httpx uses, in its order
PROXY_URL_ADVICE = (
    "expected [http://|https://|socks5://][user:password@]host:port, with '/', '#', '?', '@' and ':' "
    "percent-encoded in a user name or password (e.g. %2F for '/')"
)


def proxy_variable_names(environ: Mapping[str, str]) -> dict[str, str]:
    """{getproxies() key: the variable it comes from} for the keys httpx uses, following
    `urllib.request.getproxies_environment`'s rules."""
    names: dict[str, str] = {}
    for name, value in environ.items():  # first pass: any case
        if value and name.lower().endswith("_proxy"):
            names[name.lower()[:-6]] = name
    if "REQUEST_METHOD" in environ:  # CVE-2016-1000110: urllib forgets HTTP_PROXY under CGI
        names.pop("http", None)
    for name, value in environ.items():  # second pass: lower case wins, an empty one removes
        if name.endswith("_proxy"):
            if value:
                names[name[:-6]] = name
            else:
                names.pop(name[:-6], None)
    return {key: names[key] for key in HTTPX_PROXY_KEYS if key in names}


def proxy_in_force(environ: Mapping[str, str] | None = None) -> bool:
    """Whether httpx would send an issuer request through a proxy: a proxy variable it reads, or on
    macOS and Windows the system's proxy setting (urllib reads it there, and httpx from urllib)."""
    env = os.environ if environ is None else environ
    if proxy_variable_names(env):
        return True
    if environ is None and sys.platform in ("darwin", "win32"):
        import urllib.request

        return any(urllib.request.getproxies().get(key) for key in HTTPX_PROXY_KEYS)
    return False


def check_proxy_environment(environ: Mapping[str, str] | None = None) -> None:
    """Raise UsageError, naming the variable (never its value), for a proxy httpx cannot use."""
    import urllib.request

    import httpx

    env = os.environ if environ is None else environ
    if environ is None:
        proxies = urllib.request.getproxies()  # what httpx reads (the system settings on macOS/Windows)
    else:
        proxies = {key: env[name] for key, name in proxy_variable_names(env).items()}
    names = proxy_variable_names(env)
    for key in HTTPX_PROXY_KEYS:
        value = proxies.get(key)
        if not value:
            continue
        url = value if "://" in value else f"http://{value}"
        where = names.get(key) or f"the system's {key} proxy setting"
        try:
            proxy = httpx.Proxy(url=url)
        except Exception:  # InvalidURL, ValueError: their messages quote the value
            raise UsageError(f"{where} is not a valid proxy URL; {PROXY_URL_ADVICE}") from None
        if proxy.url.scheme.startswith("socks") and not socks_support():
            # httpx would raise ImportError when the client is made (exit 70, after the URL was shown)
            raise UsageError(f"{where} is a SOCKS proxy, which needs httpx's socks extra: pip install 'httpx[socks]'")


def socks_support() -> bool:
    """Whether httpx can use a SOCKS proxy (its `socks` extra, the socksio package, is installed)."""
    import importlib.util

    try:
        return importlib.util.find_spec("socksio") is not None
    except (ImportError, ValueError):  # a broken or None entry in sys.modules
        return False


__all__ = ["check_proxy_environment", "proxy_in_force", "proxy_variable_names", "socks_support"]
