"""This run's issuer discovery, applied and logged: `discover(settings)` → the settings with the
metadata found (`Settings.discovered`), or unchanged (the default /oauth/* paths) with the reason
in the log (`codex:discovery`). See oauth.discovery for what is fetched and validated.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

from codexlogin import diagnostics
from codexlogin.config import Settings
from codexlogin.oauth.discovery import DISCOVERY_BUDGET, ENDPOINT_NAMES, Discovery, fetch_discovery, wants_discovery

if TYPE_CHECKING:
    import ssl

    import httpx


async def discover(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    verify: ssl.SSLContext | bool | None = None,
    budget: float = DISCOVERY_BUDGET,
) -> Settings:
    """The settings with this run's discovery applied (standard dialect; logged as codex:discovery)."""
    if not wants_discovery(settings):
        return settings
    started = time.monotonic()
    found = await fetch_discovery(settings, transport=transport, verify=verify, budget=budget)
    return apply_discovery(settings, found, time.monotonic() - started)


def apply_discovery(settings: Settings, found: Discovery, elapsed: float) -> Settings:
    """Log what a look-up found (inside the run's log) and put it in the settings."""
    diagnostics.log_discovery(
        source=found.source,
        url=found.url or "",
        identifier=found.get("issuer") or settings.issuer_base,
        endpoints=[name for name in ENDPOINT_NAMES if found.get(name)],
        problem=found.problem,
        elapsed=round(elapsed, 3),
    )
    # A failed look-up is remembered too (one entry no endpoint reads), so this run asks only once.
    return replace(settings, discovered=found.metadata if found.found else (("discovery", "none"),))
