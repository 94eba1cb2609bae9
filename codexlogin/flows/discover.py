"""This run's issuer discovery, applied and logged: `discover(settings, issuer)` → the issuer with
the metadata found, or with the default /oauth/* paths and the reason in the log
(`codex:discovery`). Only the standard dialect discovers, once per run (`Issuer.wants_discovery`).
See oauth.discovery for what is fetched and validated.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from codexlogin import diagnostics
from codexlogin.config import Settings
from codexlogin.credentials.model import AuthDotJson
from codexlogin.flows.ui import LoginUI
from codexlogin.oauth.discovery import DISCOVERY_BUDGET, ENDPOINT_NAMES, Discovery, discovered, fetch_discovery, login_verdict
from codexlogin.oauth.issuer import Issuer, credential_issuer, refuse_conflict

if TYPE_CHECKING:
    import ssl

    import httpx


async def discover(
    settings: Settings,
    issuer: Issuer,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    verify: ssl.SSLContext | bool | None = None,
    budget: float = DISCOVERY_BUDGET,
) -> Issuer:
    """`issuer` with this run's discovery applied (standard dialect; logged as codex:discovery)."""
    if not issuer.wants_discovery:
        return issuer
    started = time.monotonic()
    found = await fetch_discovery(settings, issuer, transport=transport, verify=verify, budget=budget)
    return apply_discovery(issuer, found, time.monotonic() - started)


async def discover_for_login(
    settings: Settings,
    issuer: Issuer,
    ui: LoginUI | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    verify: ssl.SSLContext | bool | None = None,
) -> Issuer:
    """`discover`, for a login that is about to show its sign-in URL: an issuer whose host cannot
    be reached ends the login at once (NetworkError, exit 10) instead of after the whole --timeout;
    a discovery that failed otherwise is said (`ui.warning`) before the URL, since a wrong issuer
    URL or path is the likeliest cause of a sign-in page that then fails."""
    if not issuer.wants_discovery:
        return issuer
    started = time.monotonic()
    found = await fetch_discovery(settings, issuer, transport=transport, verify=verify)
    discovered_issuer = apply_discovery(issuer, found, time.monotonic() - started)
    failure, warning = login_verdict(issuer, found)
    if failure is not None:
        raise failure
    if warning is not None and ui is not None:
        ui.warning(warning)
    return discovered_issuer


def apply_discovery(issuer: Issuer, found: Discovery, elapsed: float) -> Issuer:
    """Log what a look-up found (inside the run's log) and put it in the issuer."""
    log_discovery(issuer, found, elapsed)
    return discovered(issuer, found)


def log_discovery(issuer: Issuer, found: Discovery, elapsed: float) -> None:
    diagnostics.schema.DISCOVERY.log(
        source=found.source,
        url=found.url or "",
        identifier=found.get("issuer") or issuer.base,
        endpoints=[name for name in ENDPOINT_NAMES if found.get(name)],
        problem=found.problem,
        elapsed=round(elapsed, 3),
    )


async def discover_stored(
    settings: Settings,
    auth: AuthDotJson,
    *,
    doing: str | None,
    known: Issuer | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Issuer:
    """The issuer that issued the stored credential `auth` (its provenance; none: the default),
    discovered. `doing` (e.g. "status --check"): refuse with IssuerConflict (exit 2) when a setting
    names another issuer or client; None (logout) goes to the credential's issuer regardless.
    `known`: an issuer this run already built and discovered for the same credential (reused
    only when it is the very same origin)."""
    issuer = credential_issuer(auth.origin())
    if doing is not None:
        refuse_conflict(settings, issuer, doing=doing)
    if known is not None and (known.base, known.client_id, known.dialect) == (issuer.base, issuer.client_id, issuer.dialect):
        return known
    return await discover(settings, issuer, transport=transport)
