"""Doctor's issuer checks: the custom CA bundle (CODEX_CA_CERTIFICATE / SSL_CERT_FILE) loads, and
GET {issuer}/.well-known/openid-configuration answers (timing, proxy environment and trust shown;
what discovery finds for a standard issuer). What it saw is kept in `IssuerProbe` for the clock.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from codexlogin.errors import UsageError
from codexlogin.oauth.tls import ca_source
from codexlogin.redact import sanitize_proxy, sanitize_url, scrub_text
from codexlogin.support.doctor.report import FAIL, OK, WARN, Result, format_ms

if TYPE_CHECKING:
    from codexlogin.config import Settings

DISCOVERY_PATH = "/.well-known/openid-configuration"
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
NO_PROXY_VARS = ("NO_PROXY", "no_proxy")


def proxy_env(environ: Mapping[str, str]) -> list[str]:
    """`NAME=value` for each proxy variable set, read as httpx reads it (no scheme: http://), without
    userinfo or secret query values (`<invalid-url>` when it cannot be parsed)."""
    shown = [f"{name}={sanitize_proxy(environ[name])}" for name in PROXY_VARS if environ.get(name)]
    shown += [f"{name}={scrub_text(environ[name])}" for name in NO_PROXY_VARS if environ.get(name)]
    return shown


def check_ca_bundle(settings: Settings) -> Result:
    from codexlogin.oauth.tls import bundle_certificate_count, ssl_verify_setting

    source = ca_source(os.environ)
    if source is None:
        return OK, "system trust store (CODEX_CA_CERTIFICATE and SSL_CERT_FILE are unset)", None
    name, path = source
    try:
        ssl_verify_setting(os.environ)
        count = bundle_certificate_count(path)
    except UsageError as error:
        return FAIL, error.detail, f"point {name} at a readable PEM file holding your CA certificate(s), or unset it"
    detail = f"custom CA in use: {name}={path} ({count} CA certificate{'s' if count != 1 else ''})"
    if name == "CODEX_CA_CERTIFICATE" and os.environ.get("SSL_CERT_FILE"):
        detail += "; SSL_CERT_FILE is ignored"
    return OK, detail, None


@dataclass
class IssuerProbe:
    """What the issuer check saw, for the clock check."""

    date_header: str | None = None
    received_at: float | None = None
    reachable: bool = False
    device_authorization: bool = False  # the discovery document names a device_authorization_endpoint


_TRANSPORT_HINTS = {
    "timeout": "check your network, VPN or proxy (HTTPS_PROXY); the issuer did not answer in time",
    "connect": "check your network, firewall or proxy settings (HTTPS_PROXY, NO_PROXY) and the issuer URL",
    "dns": "check DNS and your network connection, and the issuer URL",
    "proxy": "fix the proxy's credentials in that variable, or add the issuer's host to NO_PROXY",
    "tls": "TLS verification failed: if your network inspects TLS, set CODEX_CA_CERTIFICATE to your organisation's CA bundle (PEM)",
    "other": "check your network and proxy settings",
}


async def check_issuer(settings: Settings, timeout: float, probe: IssuerProbe, ca_failed: bool) -> Result:
    import httpx
    import trio

    from codexlogin.oauth.client import issuer_session
    from codexlogin.oauth.errors import classify_transport_error, failure_message, transport_words
    from codexlogin.oauth.issuer import configured_issuer
    from codexlogin.oauth.proxy import PROXY_URL_ADVICE, check_proxy_environment

    issuer = configured_issuer(settings)  # what a new login would talk to
    url = issuer.base + DISCOVERY_PATH
    shown = sanitize_url(url)
    proxies = proxy_env(os.environ)
    route = f"via {', '.join(proxies)}" if proxies else "no proxy in the environment"
    source = ca_source(os.environ)
    trust = f"CA from {source[0]} and the system's" if source else "system CAs"
    dialect = issuer.dialect.name
    if ca_failed:
        return FAIL, f"{shown} not tried: the custom CA bundle cannot be loaded (see ca_bundle)", "fix the CA bundle first"
    try:  # a malformed proxy: named, never shown (httpx's own error would quote the value)
        check_proxy_environment()
    except UsageError as error:
        return FAIL, f"{shown} not tried: {error.detail.partition(';')[0]}", f"fix or unset it: {PROXY_URL_ADVICE}"
    started = time.perf_counter()
    try:
        with trio.fail_after(timeout):
            async with issuer_session(settings, issuer) as client:
                response = await client.http.get(url)
    except trio.TooSlowError:
        kind, message = "timeout", f"no reply within {timeout:g} s"
    except httpx.HTTPError as exc:  # in words: the host DNS could not resolve, the proxy variable
        kind = classify_transport_error(exc)
        message = scrub_text(transport_words(kind, url, failure_message(exc)))
    except UsageError as error:  # the CA bundle changed under us
        return FAIL, error.detail, "fix the CA bundle first"
    else:
        elapsed = time.perf_counter() - started
        probe.reachable = True
        probe.received_at = time.time()
        probe.date_header = response.headers.get("date")
        facts = f"{shown}: HTTP {response.status_code} in {format_ms(elapsed)} ({route}; {trust}; {dialect} dialect)"
        if response.status_code >= 500:
            return WARN, facts, "the issuer has a problem right now; try again later"
        if dialect == "standard":  # the login reads discovery (oauth.discovery): say what it finds
            from codexlogin.oauth.discovery import fetch_discovery

            found = await fetch_discovery(settings, issuer, budget=min(timeout, 3.0))
            probe.device_authorization = found.get("device_authorization_endpoint") is not None
            if found.rejected:
                hint = "the login goes on with the defaults; pass --issuer as the provider names itself if its endpoints live elsewhere"
                return WARN, f"{facts}; discovery: {found.describe()}", hint
            return OK, f"{facts}; discovery: {found.describe()}", None
        named = _discovery_issuer(response)
        probe.device_authorization = _discovery_field(response, "device_authorization_endpoint") is not None
        if named is not None and named.rstrip("/") != issuer.base:
            return (
                WARN,
                f"{facts}; its discovery document names the issuer {sanitize_url(named)}",
                "set --issuer to the exact issuer URL the provider names, or callbacks are refused as from another issuer",
            )
        return OK, facts, None
    elapsed = time.perf_counter() - started
    hint = _TRANSPORT_HINTS.get(kind, _TRANSPORT_HINTS["other"])
    chain_text = ""
    if kind == "tls":  # what was presented, and which trust it chains to (through the proxy, if any)
        chain_text, hint = await _presented_chain(url, timeout, hint)
    return FAIL, f"{shown}: {kind} after {format_ms(elapsed)}: {message} ({route}; {trust}){chain_text}", hint


SAVE_CA_HINT = (
    "the chain ends at a root that is not a public one, as from a TLS-inspecting proxy: run"
    " `codex login doctor --save-ca FILE`, check the saved root's fingerprint with your IT team, then set"
    " CODEX_CA_CERTIFICATE=FILE (or install that root in the system's trust store)"
)


async def _presented_chain(url: str, timeout: float, hint: str) -> tuple[str, str]:
    """'; presented chain: …' for the detail, and the hint (a TLS-inspecting proxy's when the chain
    leads to no trusted root); nothing added when the chain cannot be read."""
    import trio

    from codexlogin.oauth.chain import ChainError, read_chain

    try:
        with trio.fail_after(timeout * 3):  # three handshakes: the chain, the system store, the bundle
            chain = await trio.to_thread.run_sync(read_chain, url, timeout, abandon_on_cancel=True)
    except (ChainError, trio.TooSlowError) as problem:
        return f"; presented chain not read: {scrub_text(str(problem) or 'no answer in time')}", hint
    text = f"; {scrub_text(chain.describe())}"
    return text, SAVE_CA_HINT if not (chain.os_store or chain.custom) else hint


def _discovery_issuer(response: Any) -> str | None:
    return _discovery_field(response, "issuer")


def _discovery_field(response: Any, name: str) -> str | None:
    if response.status_code != 200:
        return None
    try:
        data = response.json()
    except (ValueError, UnicodeDecodeError):
        return None
    value = data.get(name) if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None
