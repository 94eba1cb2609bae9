"""A run's trace reaches a real OTLP/HTTP receiver: PyPI oteltest's otelsink (its HttpSink and
request parsing, bound to 127.0.0.1 port 0), over both protocols (`binary` and `json`).

The real `codex` command runs in a subprocess against the dev issuer: a browser login and a
failing `status --check` arrive as traces whose spans mirror the log's actions with the run's
reference; nothing received holds a planted secret; a collector that accepts and never answers
adds at most the export deadline (2 s) and leaves the exit code as it was.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import socket
import sys
import threading
import time
from http.server import HTTPServer
from pathlib import Path

import pytest
import trio
from harness import issue_tokens_async, store_tokens

from codexlogin.config import load_settings
from codexlogin.devissuer import DevIssuer, serve_dev_issuer

sink = pytest.importorskip("oteltest.sink")
from google.protobuf.json_format import MessageToJson  # noqa: E402
from oteltest.sink.handler import AccumulatingHandler  # noqa: E402

CODEX = [sys.executable, "-m", "codexlogin"]
PROTOCOLS = ["binary", "json"]


class _Received(AccumulatingHandler):  # type: ignore[misc]
    """otelsink's accumulating handler, telling the test when a trace arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = threading.Event()

    def handle_trace(self, request, headers):
        super().handle_trace(request, headers)
        self.arrived.set()


class _LoopbackHTTPServer(HTTPServer):
    """otelsink binds every interface on a fixed port: the test binds 127.0.0.1 port 0."""

    bound = threading.Event()

    def __init__(self, address, handler):
        super().__init__(("127.0.0.1", 0), handler)
        type(self).bound.set()


@pytest.fixture
def otelsink(monkeypatch):
    """A running otelsink HttpSink: (received, traces URL)."""
    import logging

    bound = threading.Event()
    monkeypatch.setattr(_LoopbackHTTPServer, "bound", bound)
    monkeypatch.setattr(sink, "HTTPServer", _LoopbackHTTPServer)
    received = _Received()
    http_sink = sink.HttpSink(received, logging.getLogger("otelsink"), port=0)
    http_sink.start()
    assert bound.wait(10)
    port = http_sink.httpd.server_address[1]
    yield received, f"http://127.0.0.1:{port}/v1/traces"
    http_sink.stop()


@pytest.fixture
def silent_collector():
    """A collector that accepts connections and never answers: (its traces URL, the
    time.monotonic() of each connection it accepted)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    arrivals: list[float] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            arrivals.append(time.monotonic())
            held.append(conn)  # kept open, never read from or answered

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1/traces", arrivals
    stop.set()
    listener.close()
    for conn in held:
        conn.close()


def write_otel(home, endpoint: str, protocol: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        '[otel]\nenvironment = "test"\n'
        f'trace_exporter = {{ otlp-http = {{ endpoint = "{endpoint}", protocol = "{protocol}",'
        ' headers = { "x-otel-key" = "header-value-not-in-body" } } }\n'
    )


def env_for(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_LOGIN_", "OTEL_")) and "proxy" not in k.lower()}
    env.update(
        CODEX_HOME=str(tmp_path / "codex-home"),
        BROWSER=f"{shlex.quote(sys.executable)} -m codexlogin.devissuer browse %s",
        PYTHONUNBUFFERED="1",
    )
    return env


async def codex(*args, env):
    with trio.fail_after(60):
        done = await trio.run_process([*CODEX, *args], env=env, capture_stdout=True, capture_stderr=True, check=False)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def log_actions(tmp_path) -> tuple[str, list[str]]:
    """The last run's reference and its action types, in the order they started."""
    lines = [json.loads(line) for line in (tmp_path / "codex-home" / "log" / "codex-login.log").read_text().splitlines()]
    root = [line for line in lines if line.get("action_type") == "codex:command" and line["action_status"] == "started"][-1]
    task = [line for line in lines if line["task_uuid"] == root["task_uuid"]]
    started = sorted((line for line in task if line.get("action_status") == "started"), key=lambda line: line["task_level"])
    return root["reference"], [line["action_type"] for line in started]


def attributes(span_or_resource) -> dict:
    out = {}
    for kv in span_or_resource.attributes:
        value = kv.value
        out[kv.key] = getattr(value, value.WhichOneof("value")) if value.WhichOneof("value") else None
    return out


def received_spans(received: _Received) -> list:
    return [
        span
        for request in received.telemetry.get_trace_requests()
        for resource_spans in request.pbreq.resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    ]


def everything_received(received: _Received) -> str:
    """Every request as otelsink parsed it, as JSON and as the raw protobuf bytes (latin-1)."""
    parts = []
    for request in received.telemetry.get_trace_requests():
        parts.append(MessageToJson(request.pbreq))
        parts.append(request.pbreq.SerializeToString().decode("latin-1"))
    return "\n".join(parts)


def assert_mirrors_the_log(spans: list, reference: str, actions: list[str]) -> None:
    roots = [span for span in spans if not span.parent_span_id]
    assert len(roots) == 1 and roots[0].name == "codex:command"
    root = roots[0]
    assert attributes(root)["codex.reference"] == reference
    assert {span.trace_id for span in spans} == {root.trace_id}  # one trace per run
    assert sorted(span.name for span in spans) == sorted(actions)
    by_id = {span.span_id: span for span in spans}
    for span in spans:
        if span is not root:
            assert span.parent_span_id in by_id  # every child hangs in the tree
        assert span.end_time_unix_nano >= span.start_time_unix_nano > 0


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_browser_login_arrives_as_one_trace_mirroring_the_log(tmp_path, dev_issuer, otelsink, protocol):
    received, endpoint = otelsink
    write_otel(tmp_path / "codex-home", endpoint, protocol)
    code, _, err = await codex("login", "--issuer", dev_issuer.issuer_url, "--port", "0", env=env_for(tmp_path))
    assert code == 0, err
    assert received.arrived.wait(5)
    reference, actions = log_actions(tmp_path)
    spans = received_spans(received)
    assert_mirrors_the_log(spans, reference, actions)
    root = next(span for span in spans if not span.parent_span_id)
    root_attributes = attributes(root)
    assert root_attributes["codex.command"] == "login" and root_attributes["codex.outcome"] == "success"
    assert root_attributes["process.exit.code"] == 0 and root_attributes["codex.dialect"] == "standard"
    assert root_attributes["codex.issuer"] == dev_issuer.issuer_url and "codex.version" in root_attributes
    assert root.status.code == 1  # STATUS_CODE_OK
    exchange = next(span for span in spans if span.name == "codex:token_exchange")
    assert exchange.status.code == 1
    headers = {name.lower(): value for name, value in received.telemetry.get_trace_requests()[0].headers.items()}
    assert headers.get("x-otel-key") == "header-value-not-in-body"
    content_type = headers.get("content-type")
    assert content_type == ("application/json" if protocol == "json" else "application/x-protobuf")
    if protocol == "json":  # OTLP/JSON ids are hex: otelsink's protobuf parser reads them as base64
        assert len(base64.b64encode(root.trace_id).decode()) == 32
    # the planted secrets: every token the login stored, and the API key
    stored = json.loads((tmp_path / "codex-home" / "auth.json").read_text())
    secrets = [value for value in stored["tokens"].values() if isinstance(value, str) and len(value) > 12]
    secrets += [stored["OPENAI_API_KEY"]] if stored.get("OPENAI_API_KEY") else []
    assert secrets
    body = everything_received(received)
    for secret in secrets:
        assert secret not in body
        for piece in secret.split("."):  # a JWT's parts too
            assert len(piece) < 16 or piece not in body
    assert "header-value-not-in-body" not in body


async def _failing_check_setup(tmp_path, nursery):
    """Stored tokens whose refresh the issuer rejects: `status --check` exits 8."""
    issuer = DevIssuer(auto_approve=True, access_token_lifetime=120)
    url = await nursery.start(serve_dev_issuer, issuer)
    settings = load_settings({}, [], {"CODEX_HOME": str(tmp_path / "codex-home")})
    issued = await issue_tokens_async(issuer, url)
    store_tokens(settings, issued, issuer=url, api_key="sk-planted-0123456789abcdef")
    issuer.faults.refresh_error = "invalid_grant"
    return issued


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_failing_status_check_arrives_as_a_failed_trace(tmp_path, nursery, otelsink, protocol):
    received, endpoint = otelsink
    issued = await _failing_check_setup(tmp_path, nursery)
    write_otel(tmp_path / "codex-home", endpoint, protocol)
    code, _, err = await codex("login", "status", "--check", env=env_for(tmp_path))
    assert code == 8, err
    assert received.arrived.wait(5)
    reference, actions = log_actions(tmp_path)
    spans = received_spans(received)
    assert_mirrors_the_log(spans, reference, actions)
    root = next(span for span in spans if not span.parent_span_id)
    assert root.status.code == 2  # STATUS_CODE_ERROR
    assert attributes(root)["process.exit.code"] == 8 and attributes(root)["codex.command"] == "login status"
    refresh = next(span for span in spans if span.name == "codex:refresh")
    assert refresh.status.code == 2 and "invalid_grant" in refresh.status.message
    assert attributes(refresh)["error.type"] == "codexlogin.flows.refresh.RefreshRejected"
    assert attributes(refresh)["codex.error_code"] == "invalid_grant"
    body = everything_received(received)
    for secret in (issued["refresh_token"], issued["access_token"], issued["id_token"], "sk-planted-0123456789abcdef"):
        assert secret not in body
    assert "telemetry not sent" not in err


@pytest.mark.concurrency  # the export's thread against the 2 s deadline
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_silent_collector_adds_at_most_two_seconds_and_keeps_the_exit_code(tmp_path, nursery, silent_collector, protocol):
    url, arrivals = silent_collector
    plain, exporting = tmp_path / "plain", tmp_path / "exporting"
    for run_dir in (plain, exporting):
        await _failing_check_setup(run_dir, nursery)
    write_otel(exporting / "codex-home", url, protocol)
    runs: dict[Path, tuple[int, str, float, float]] = {}

    async def timed(run_dir: Path) -> None:
        started = time.monotonic()
        code, _, err = await codex("login", "status", "--check", env=env_for(run_dir))
        runs[run_dir] = (code, err, started, time.monotonic())

    async with trio.open_nursery() as both:  # side by side: a busy machine slows both alike
        both.start_soon(timed, plain)
        both.start_soon(timed, exporting)
    (baseline_code, _, plain_start, plain_end), (code, err, start, end) = runs[plain], runs[exporting]
    assert code == baseline_code == 8
    baseline, with_collector = plain_end - plain_start, end - start
    assert arrivals, "the export never reached the collector"
    held = end - arrivals[0]
    print(f"status --check: {baseline:.2f} s without a collector, {with_collector:.2f} s with a silent one ({held:.2f} s held)")
    assert held <= 2.0 + 1.0, held  # from the request to the exit: the 2 s deadline, 1 s to exit on a busy machine
    assert with_collector - baseline <= 2.0 + 1.0, (baseline, with_collector)  # 1 s: the SDK's import, a busy machine
    warnings = [line for line in err.splitlines() if "telemetry not sent" in line]
    assert len(warnings) == 1 and "no answer within 2 s" in warnings[0]
    log = (exporting / "codex-home" / "log" / "codex-login.log").read_text()
    assert '"codex:otel:export_failed"' in log


async def test_without_the_extra_a_configured_exporter_says_how_to_install_it(tmp_path, nursery, silent_collector):
    await _failing_check_setup(tmp_path, nursery)
    write_otel(tmp_path / "codex-home", silent_collector[0], "binary")
    blocker = tmp_path / "no-otel"
    blocker.mkdir()
    (blocker / "opentelemetry").mkdir()  # a namespace without the SDK: the extra "not installed"
    (blocker / "opentelemetry" / "__init__.py").write_text("raise ImportError('no opentelemetry here')\n")
    env = {**env_for(tmp_path), "PYTHONPATH": str(blocker)}
    code, _, err = await codex("login", "status", "--check", env=env)
    assert code == 8
    assert "pip install 'codexlogin[otel]'" in err and "Traceback" not in err


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_log_otlp_backfills_a_saved_log_with_its_original_timestamps(tmp_path, nursery, otelsink, protocol):
    received, endpoint = otelsink
    await _failing_check_setup(tmp_path, nursery)
    env = env_for(tmp_path)
    code, _, _ = await codex("login", "status", "--check", env=env)  # no [otel]: only the log has it
    assert code == 8 and not received.arrived.is_set()
    reference, actions = log_actions(tmp_path)
    saved = tmp_path / "from-a-user.log"
    saved.write_bytes((tmp_path / "codex-home" / "log" / "codex-login.log").read_bytes())
    started = next(
        json.loads(line)["timestamp"] for line in saved.read_text().splitlines() if f'"reference":"{reference}"' in line
    )
    if protocol == "json":  # the protocol (and headers) of [otel] apply, the endpoint is --otlp's
        write_otel(tmp_path / "codex-home", "http://127.0.0.1:9/unused", "json")
    code, out, err = await codex("login", "log", "--otlp", endpoint, str(saved), env=env)
    assert code == 0, err
    assert out.startswith("sent 1 run(s), ")
    assert received.arrived.wait(5)
    spans = received_spans(received)
    assert_mirrors_the_log(spans, reference, actions)
    root = next(span for span in spans if not span.parent_span_id)
    assert abs(root.start_time_unix_nano - int(started * 1e9)) < 1000  # the run's own time, not now
    assert attributes(root)["codex.backfill"] is True


async def test_log_otlp_refuses_a_bad_url_and_a_dead_collector(tmp_path, refused_port):
    log = tmp_path / "codex-home" / "log"
    log.mkdir(parents=True)
    run = {"task_uuid": "t", "task_level": [1], "timestamp": 1.0, "action_type": "codex:command", "action_status": "started"}
    (log / "codex-login.log").write_text(json.dumps({**run, "reference": "ABCDEFGH"}) + "\n")
    code, _, err = await codex("login", "log", "--otlp", "ftp://collector", env=env_for(tmp_path))
    assert code == 2 and "--otlp expects the collector's http(s) URL" in err
    code, _, err = await codex("login", "log", "--otlp", f"http://127.0.0.1:{refused_port()}", env=env_for(tmp_path))
    assert code == 10 and "could not send the runs" in err and "Traceback" not in err


@pytest.fixture
def grpc_sink():
    """otelsink's gRPC trace servicer on 127.0.0.1 port 0 (its GrpcSink binds every interface on a
    fixed port): (received, endpoint)."""
    from concurrent import futures

    grpc = pytest.importorskip("grpc")
    pytest.importorskip("opentelemetry.exporter.otlp.proto.grpc.trace_exporter")
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

    received = _Received()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(sink._TraceServiceServicer(received.handle_trace), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield received, f"http://127.0.0.1:{port}"
    server.stop(grace=None)


async def test_a_failing_status_check_arrives_over_otlp_grpc(tmp_path, nursery, grpc_sink):
    received, endpoint = grpc_sink
    await _failing_check_setup(tmp_path, nursery)
    home = tmp_path / "codex-home"
    (home / "config.toml").write_text(
        f'[otel]\nexporter = {{ otlp-grpc = {{ endpoint = "{endpoint}", headers = {{ "X-Otel-Key" = "k" }} }} }}\n'
    )
    code, _, err = await codex("login", "status", "--check", env=env_for(tmp_path))
    assert code == 8, err
    assert received.arrived.wait(5), err
    reference, actions = log_actions(tmp_path)
    assert_mirrors_the_log(received_spans(received), reference, actions)
