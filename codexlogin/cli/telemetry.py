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
    from codexlogin.diagnostics.telemetry import GRPC_INSTALL_HINT, INSTALL_HINT, ExtraMissing, export_run
    from codexlogin.redact import scrub_text

    otel = settings.otel
    assert otel is not None
    try:
        problem = export_run(messages, otel, {"codex.dialect": _dialect(settings, issuer)}, __version__)
    except ExtraMissing:
        hint = GRPC_INSTALL_HINT if otel.kind == "otlp-grpc" else INSTALL_HINT
        problem = f"the OpenTelemetry extra is not installed (install it with: {hint})"
    except Exception as exc:  # a bug in building the trace must not change the run's outcome
        problem = f"internal error: {type(exc).__name__}"
    if problem is None:
        return
    problem = scrub_text(problem)
    with contextlib.suppress(Exception):
        schema.OTEL_EXPORT_FAILED.log(endpoint=otel.endpoint, reason=problem)
    with contextlib.suppress(Exception):
        ConsoleUI().warning(f"telemetry not sent to the [otel] collector: {problem}")


#: A backfill may carry many runs: it waits longer than a run's own export (still bounded).
BACKFILL_DEADLINE = 10.0


def backfill(endpoint: str, streams: list[Any], settings: Settings) -> int:
    """`codex login log --otlp ENDPOINT [PATH…]`: the runs in `streams` (log lines, rotated files,
    a user's bundle) sent as traces with their original timestamps. Every line is scrubbed again as
    it is read (a file from elsewhere may predate a scrubbing rule). The collector's protocol,
    headers and TLS files come from [otel] when it names an otlp-http exporter; else binary."""
    import dataclasses
    import json

    from codexlogin import __version__
    from codexlogin.diagnostics.scrubbing import scrub_message
    from codexlogin.diagnostics.telemetry import INSTALL_HINT, ExtraMissing, build_trace, run_spans, send_spans
    from codexlogin.errors import NetworkError, NotLoggedIn, UsageError
    from codexlogin.otelconfig import parse_otel
    from codexlogin.redact import sanitize_url, scrub_text

    try:
        target = parse_otel({"trace_exporter": {"otlp-http": {"endpoint": endpoint}}}, "--otlp", settings.codex_home)
    except UsageError:
        raise UsageError(f"--otlp expects the collector's http(s) URL, got {sanitize_url(endpoint)!r}") from None
    assert target is not None
    if settings.otel is not None and settings.otel.kind == "otlp-http":
        target = dataclasses.replace(settings.otel, endpoint=target.endpoint)
    else:
        target = dataclasses.replace(target, environment="backfill")
    messages: list[dict[str, Any]] = []
    for stream in streams:
        for line in stream:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if isinstance(message, dict):
                messages.append(scrub_message(message))
    roots = run_spans(messages)
    if not roots:
        raise NotLoggedIn("no runs to send: the log holds no codex:command run")
    try:
        spans = build_trace(roots, target, {"codex.backfill": True}, __version__)
        problem = send_spans(spans, target, BACKFILL_DEADLINE)
    except ExtraMissing:
        raise UsageError(f"--otlp needs the OpenTelemetry extra: install it with {INSTALL_HINT}") from None
    if problem is not None:
        raise NetworkError(f"could not send the runs to {sanitize_url(target.endpoint)}: {scrub_text(problem)}")
    print(f"sent {len(roots)} run(s), {len(spans)} spans, to {sanitize_url(target.endpoint)}", flush=True)
    return 0
