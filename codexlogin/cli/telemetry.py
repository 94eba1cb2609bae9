"""A logged run's trace, sent to the `[otel]` collector once the run has ended (issue: login telemetry).

`exported_run(settings, issuer)` wraps a run inside its open codex-login.log: nothing happens (and
nothing is imported) without an `[otel]` exporter. With one, the run's scrubbed messages are kept
(the same ScrubbingDestination as the log file's) and, when the run ends, exported once, bounded
by diagnostics.telemetry.EXPORT_DEADLINE. A failed export is one warning line and a
`codex:otel:export_failed` message in the log; it never changes the run's exit code.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from codexlogin.config import Settings


def _dialect(settings: Settings, issuer: str) -> str:
    if settings.dialect != "auto":
        return settings.dialect
    from codexlogin.oauth.issuer import auto_dialect

    return str(auto_dialect(issuer).name)


@contextlib.contextmanager
def exported_run(settings: Settings, issuer: str) -> Iterator[None]:
    """Record the block's scrubbed messages and export them as one trace when it ends."""
    otel = settings.otel
    if otel is None:
        yield
        return
    import eliot

    from codexlogin.diagnostics import ScrubbingDestination
    from codexlogin.diagnostics.telemetry import RunRecorder

    recorder = RunRecorder()
    destination = ScrubbingDestination(recorder)
    eliot.add_destinations(destination)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            eliot.remove_destination(destination)
        _export(recorder.messages, settings, issuer)


def _export(messages: list[dict[str, Any]], settings: Settings, issuer: str) -> None:
    from codexlogin import __version__
    from codexlogin.cli.console import ConsoleUI
    from codexlogin.diagnostics import schema
    from codexlogin.diagnostics.telemetry import INSTALL_HINT, ExtraMissing, export_run
    from codexlogin.redact import scrub_text

    otel = settings.otel
    assert otel is not None
    try:
        problem = export_run(messages, otel, {"codex.dialect": _dialect(settings, issuer)}, __version__)
    except ExtraMissing:
        problem = f"the OpenTelemetry extra is not installed (install it with: {INSTALL_HINT})"
    except Exception as exc:  # a bug in building the trace must not change the run's outcome
        problem = f"internal error: {type(exc).__name__}"
    if problem is None:
        return
    problem = scrub_text(problem)
    with contextlib.suppress(Exception):
        schema.OTEL_EXPORT_FAILED.log(endpoint=otel.endpoint, reason=problem)
    with contextlib.suppress(Exception):
        ConsoleUI().warning(f"telemetry not sent to the [otel] collector: {problem}")
