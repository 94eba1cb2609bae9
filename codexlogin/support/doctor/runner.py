"""Running doctor's checks: each one a logged `codex:doctor:<name>` action, the I/O ones concurrent,
the report in CHECK_NAMES order.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from codexlogin.redact import scrub_text
from codexlogin.support.doctor.browser import check_browser
from codexlogin.support.doctor.clock import clock_result
from codexlogin.support.doctor.endpoints import check_endpoints
from codexlogin.support.doctor.files import check_auth_json, check_codex_home, check_log_dir
from codexlogin.support.doctor.issuer import IssuerProbe, check_ca_bundle, check_issuer
from codexlogin.support.doctor.ports import check_callback_port, check_loopback
from codexlogin.support.doctor.report import CHECK_NAMES, FAIL, NETWORK_TIMEOUT, Check, CheckFailed, Report, Result

if TYPE_CHECKING:
    from codexlogin.config import Settings


async def _run_one(name: str, results: dict[str, Check], fn: Callable[[], Awaitable[Result]]) -> Check:
    from codexlogin import diagnostics

    started = time.perf_counter()
    try:
        with diagnostics.schema.DOCTOR_CHECKS[name]() as action:
            try:
                status, detail, hint = await fn()
            except Exception as exc:  # noqa: BLE001 - a bug in one check must not hide the others
                status = FAIL
                detail = f"the check itself failed: {type(exc).__name__}: {scrub_text(str(exc))}"
                hint = "please report this, with the file from `codex login bundle`"
            check = Check(name, status, detail, hint, round((time.perf_counter() - started) * 1000, 1))
            results[name] = check
            if status == FAIL:
                raise CheckFailed(check)
            extra = {"hint": hint} if hint else {}
            action.add_success_fields(status=status, detail=detail, duration_ms=check.duration_ms, **extra)
    except CheckFailed:
        pass
    return results[name]


async def run_checks(settings: Settings) -> Report:
    """Run every check (I/O ones concurrently); the report lists them in CHECK_NAMES order."""
    import trio

    timeout = min(float(settings.exchange_timeout), NETWORK_TIMEOUT)
    results: dict[str, Check] = {}

    def sync(fn: Callable[[Any], Result]) -> Callable[[], Awaitable[Result]]:
        async def call() -> Result:
            return fn(settings)

        return call

    probe = IssuerProbe()
    issuer_checked = trio.Event()

    async def device_login() -> bool:
        """Whether `codex login --device-auth` works here: always in the openai dialect (0.171's
        device endpoints), for a standard issuer when its discovery document names the endpoint."""
        from codexlogin.oauth.issuer import configured_issuer

        if configured_issuer(settings).dialect.device_protocol == "openai":
            return True
        await issuer_checked.wait()
        return probe.device_authorization

    async def issuer_chain() -> None:
        ca = await _run_one("ca_bundle", results, sync(check_ca_bundle))
        try:
            await _run_one("issuer", results, lambda: check_issuer(settings, timeout, probe, ca.status == FAIL))
        finally:
            issuer_checked.set()

        await _run_one("endpoints", results, lambda: check_endpoints(settings, timeout, probe))

        async def clock() -> Result:
            return clock_result(probe)

        await _run_one("clock", results, clock)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(_run_one, "callback_port", results, lambda: check_callback_port(settings))
        nursery.start_soon(_run_one, "loopback", results, lambda: check_loopback(settings))
        nursery.start_soon(_run_one, "browser", results, lambda: check_browser(settings, timeout, device_login))
        nursery.start_soon(issuer_chain)
        for name, fn in (("codex_home", check_codex_home), ("log_dir", check_log_dir), ("auth_json", check_auth_json)):
            await _run_one(name, results, sync(fn))
    return Report([results[name] for name in CHECK_NAMES])
