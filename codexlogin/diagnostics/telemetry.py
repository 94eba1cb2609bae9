"""One run's action tree as one OpenTelemetry trace, built from the run's scrubbed messages.

`RunRecorder` is a `ScrubbingDestination` (the same scrubbing as codex-login.log) that keeps the
run's messages in memory; `run_spans` turns eliot messages into span specifications (pure, no
OpenTelemetry import: `codex login log --otlp` reuses it on lines read back from a log); `export_run`
imports the SDK (the optional extra `codexlogin[otel]`), builds the trace and sends it once, bounded
by `deadline` seconds: a collector that never answers costs at most that.

Mapping: the root action `codex:command` is the root span, each child action a child span (start,
duration, status: ERROR with the scrubbed reason for a failed one), each message a span event;
fields become `codex.*` attributes, with OpenTelemetry's semantic names where one fits
(`http.response.status_code`, `error.type`, `process.exit.code`, `service.version`).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from codexlogin.diagnostics import names

#: How long one export may take, in total: a hanging collector adds at most this to a run.
EXPORT_DEADLINE = 2.0
INSTALL_HINT = "pip install 'codexlogin[otel]'"
GRPC_INSTALL_HINT = "pip install 'codexlogin[otel-grpc]'"

_ENVELOPE = frozenset({"timestamp", "task_uuid", "task_level", "action_type", "action_status", "message_type"})
#: Log fields that have an OpenTelemetry semantic-convention name.
_SEMANTIC = {"status": "http.response.status_code", "exception": "error.type", "exit_code": "process.exit.code"}


class ExtraMissing(Exception):
    """The OpenTelemetry SDK or its OTLP exporter is not installed."""


@dataclass
class SpanSpec:
    """One action of the tree, ready to become a span."""

    name: str
    start: float  # eliot timestamps: seconds since the epoch
    end: float | None = None
    status: str = "unset"  # ok | error | unset (the action never ended in the log)
    reason: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[tuple[str, float, dict[str, Any]]] = field(default_factory=list)
    children: list[SpanSpec] = field(default_factory=list)


def _attribute_value(value: object) -> Any:
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return list(value)
    return json.dumps(value, sort_keys=True, default=str)


def attributes_of(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A message's fields as span attributes: envelope left out, None dropped, semantic names used."""
    result: dict[str, Any] = {}
    for key, value in fields.items():
        if key in _ENVELOPE or value is None:
            continue
        result[_SEMANTIC.get(key, f"codex.{key}")] = _attribute_value(value)
    return result


def run_spans(messages: Iterable[Mapping[str, Any]]) -> list[SpanSpec]:
    """The root spans of the runs among `messages` (one per `codex:command` task), in log order.
    A message of another task (logged outside any action) becomes an event of the run it fell in."""
    by_task: dict[str, list[Mapping[str, Any]]] = {}
    for message in messages:
        by_task.setdefault(str(message.get("task_uuid")), []).append(message)
    roots: list[SpanSpec] = []
    strays: list[Mapping[str, Any]] = []
    for task in by_task.values():
        root = _task_tree(task)
        if root is not None and root.name == names.COMMAND:
            roots.append(root)
        else:
            strays.extend(message for message in task if "message_type" in message)
    for message in strays:
        when = float(message.get("timestamp", 0.0))
        home = next((root for root in roots if root.start <= when <= (root.end or when)), roots[-1] if roots else None)
        if home is not None:
            home.events.append((str(message["message_type"]), when, attributes_of(message)))
    roots.sort(key=lambda root: root.start)
    return roots


def _task_tree(task: Sequence[Mapping[str, Any]]) -> SpanSpec | None:
    actions: dict[tuple[int, ...], SpanSpec] = {}
    root: SpanSpec | None = None
    for message in sorted(task, key=lambda m: list(m.get("task_level") or [0])):
        level = tuple(int(part) for part in (message.get("task_level") or [1]))
        prefix, when = level[:-1], float(message.get("timestamp", 0.0))
        status = message.get("action_status")
        if "action_type" in message and status == "started":
            spec = SpanSpec(name=str(message["action_type"]), start=when, attributes=attributes_of(message))
            parent = actions.get(prefix[:-1]) if prefix else None
            if parent is not None:
                parent.children.append(spec)
            elif root is None:
                root = spec
            actions[prefix] = spec
        elif "action_type" in message and status in ("succeeded", "failed") and prefix in actions:
            spec = actions[prefix]
            spec.end, spec.status = when, "ok" if status == "succeeded" else "error"
            spec.attributes.update(attributes_of(message))
            if status == "failed":
                spec.reason = str(message.get("reason") or message.get("exception") or "failed")
        elif "message_type" in message:
            owner = actions.get(prefix) or root
            if owner is not None:
                owner.events.append((str(message["message_type"]), when, attributes_of(message)))
    return root


class RunRecorder:
    """Keeps the scrubbed messages of a run (add it as an eliot destination through
    ScrubbingDestination, like the log file)."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def __call__(self, message: dict[str, Any]) -> None:
        self.messages.append(message)


def _nanos(seconds: float) -> int:
    return int(seconds * 1_000_000_000)


def _quiet_sdk_loggers() -> None:
    """The SDK logs export failures at WARNING: they must not print (the caller warns once)."""
    logger = logging.getLogger("opentelemetry")
    logger.propagate = False
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())


def build_trace(roots: Sequence[SpanSpec], otel: Any, extra: Mapping[str, Any], version: str) -> list[Any]:
    """SDK ReadableSpans for the runs in `roots` (one trace each), with `extra` on each root span."""
    try:
        from opentelemetry import context, trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
        from opentelemetry.trace import Status, StatusCode
    except ImportError as exc:
        raise ExtraMissing(str(exc)) from None
    _quiet_sdk_loggers()
    finished: list[ReadableSpan] = []

    class Keep(SpanProcessor):  # type: ignore[misc,unused-ignore]  # Any when the extra is absent
        def on_end(self, span: ReadableSpan) -> None:
            finished.append(span)

    resource = Resource.create(
        {"service.name": "codex-login", "service.version": version, "deployment.environment.name": otel.environment}
    )
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)  # nothing to flush at exit: sent once
    provider.add_span_processor(Keep())
    tracer = provider.get_tracer("codexlogin", version)

    def emit(spec: SpanSpec, parent: Any, attributes: Mapping[str, Any]) -> None:
        ctx = trace.set_span_in_context(parent) if parent is not None else context.Context()
        span = tracer.start_span(spec.name, context=ctx, start_time=_nanos(spec.start), attributes=dict(attributes))
        for name, when, event_attributes in spec.events:
            span.add_event(name, event_attributes, timestamp=_nanos(when))
        if spec.status == "error":
            span.set_status(Status(StatusCode.ERROR, spec.reason))
        elif spec.status == "ok":
            span.set_status(Status(StatusCode.OK))
        for child in spec.children:
            emit(child, span, child.attributes)
        end = spec.end if spec.end is not None else max([spec.start, *(when for _, when, _ in spec.events)])
        span.end(end_time=_nanos(end))

    for root in roots:
        emit(root, None, {**root.attributes, **extra})
    return finished


def _json_body(spans: Sequence[Any]) -> bytes:
    """OTLP/JSON: protobuf's JSON mapping with the ids as hex (not base64) and enums as integers."""
    import base64

    from google.protobuf.json_format import MessageToDict
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    def hex_ids(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: base64.b64decode(value).hex() if key in ("traceId", "spanId", "parentSpanId") else hex_ids(value)
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [hex_ids(item) for item in node]
        return node

    document = MessageToDict(encode_spans(spans), use_integers_for_enums=True)
    return json.dumps(hex_ids(document)).encode("utf-8")


def _send_json(spans: Sequence[Any], otel: Any, deadline: float) -> None:
    import ssl
    import urllib.request

    request = urllib.request.Request(otel.endpoint, data=_json_body(spans), method="POST")
    request.add_header("Content-Type", "application/json")
    for name, value in otel.headers:
        request.add_header(name, value)
    tls = None
    if otel.endpoint.startswith("https:"):
        tls = ssl.create_default_context(cafile=str(otel.ca_certificate) if otel.ca_certificate else None)
        if otel.client_certificate:
            tls.load_cert_chain(str(otel.client_certificate), str(otel.client_private_key))
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=tls) if tls else urllib.request.HTTPHandler())
    with opener.open(request, timeout=deadline) as reply:
        reply.read(65536)


def _exporter(otel: Any, deadline: float) -> Any:
    try:
        if otel.kind == "otlp-grpc":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

            credentials = None
            if otel.ca_certificate or otel.client_certificate:
                import grpc

                def read(path: Any) -> bytes | None:
                    return path.read_bytes() if path else None

                credentials = grpc.ssl_channel_credentials(
                    read(otel.ca_certificate), read(otel.client_private_key), read(otel.client_certificate)
                )
            headers = {name.lower(): value for name, value in otel.headers}  # gRPC metadata keys are lower case
            return GrpcExporter(endpoint=otel.endpoint, headers=headers, timeout=deadline, credentials=credentials)
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as exc:
        raise ExtraMissing(str(exc)) from None
    return OTLPSpanExporter(
        endpoint=otel.endpoint,
        headers=dict(otel.headers),
        timeout=deadline,
        certificate_file=str(otel.ca_certificate) if otel.ca_certificate else None,
        client_certificate_file=str(otel.client_certificate) if otel.client_certificate else None,
        client_key_file=str(otel.client_private_key) if otel.client_private_key else None,
    )


def send_spans(spans: Sequence[Any], otel: Any, deadline: float = EXPORT_DEADLINE) -> str | None:
    """Send `spans` in one request, waiting at most `deadline` seconds; None when the collector took
    them, else why not (one line). The request runs in a daemon thread: a collector that never
    answers leaves it behind, never the run."""
    if not spans:
        return None
    import time

    started = time.monotonic()
    if otel.kind == "otlp-http" and otel.protocol == "json":
        try:
            from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans  # noqa: F401
        except ImportError as exc:
            raise ExtraMissing(str(exc)) from None
        exporter = None
    else:
        exporter = _exporter(otel, deadline)
    outcome: list[str | None] = []

    def send() -> None:
        try:
            if exporter is None:
                _send_json(spans, otel, deadline)
                outcome.append(None)
            else:
                from opentelemetry.sdk.trace.export import SpanExportResult

                result = exporter.export(spans)
                outcome.append(None if result == SpanExportResult.SUCCESS else "the collector did not accept the trace")
        except Exception as exc:  # the reason only: never the request (its headers may hold a key)
            outcome.append(type(exc).__name__ + (f": {exc.reason}" if hasattr(exc, "reason") else ""))

    worker = threading.Thread(target=send, name="codex-login-otel-export", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - (time.monotonic() - started)))
    if worker.is_alive() or not outcome:
        return f"no answer within {max(deadline, EXPORT_DEADLINE):g} s"
    return outcome[0]


def export_run(
    messages: Iterable[Mapping[str, Any]], otel: Any, extra: Mapping[str, Any], version: str, deadline: float = EXPORT_DEADLINE
) -> str | None:
    """Export the run(s) among `messages` as traces; None on success, else the reason (one line).
    ExtraMissing when the OpenTelemetry extra is not installed."""
    import time

    started = time.monotonic()  # the deadline covers it all: the SDK's import, the trace, the request
    roots = run_spans(messages)
    spans = build_trace(roots, otel, extra, version)
    return send_spans(spans, otel, max(0.0, deadline - (time.monotonic() - started)))
