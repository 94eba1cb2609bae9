"""The `[otel]` table of $CODEX_HOME/config.toml, read with Codex's own key names.

    [otel]
    environment = "prod"
    trace_exporter = { otlp-http = { endpoint = "https://collector:4318/v1/traces", protocol = "binary",
                                     headers = { "x-api-key" = "…" },
                                     tls = { ca-certificate = "certs/ca.pem" } } }

`trace_exporter` (else `exporter`) is `"none"`, `{ otlp-http = {endpoint, protocol = "binary" |
"json", headers, tls} }` or `{ otlp-grpc = {endpoint, headers, tls} }`; `tls` holds
`ca-certificate`, `client-certificate`, `client-private-key` (relative paths are under CODEX_HOME).
Codex's other [otel] keys (`log_user_prompt`, metrics…) are left alone; a bad value of a key read
here is a one-line UsageError naming the key. Pure: no I/O, no OpenTelemetry import.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from codexlogin.errors import UsageError

EXPORTER_KINDS = ("otlp-http", "otlp-grpc")
PROTOCOLS = ("binary", "json")
TLS_KEYS = ("ca-certificate", "client-certificate", "client-private-key")
TRACES_PATH = "/v1/traces"


@dataclass(frozen=True)
class OtelSettings:
    """Where a run's trace goes. `headers` may hold an API key: shown by name only (describe)."""

    kind: str  # otlp-http | otlp-grpc
    endpoint: str  # for otlp-http the full traces URL (…/v1/traces)
    protocol: str = "binary"
    headers: tuple[tuple[str, str], ...] = ()
    environment: str = "dev"
    ca_certificate: Path | None = None
    client_certificate: Path | None = None
    client_private_key: Path | None = None
    key: str = "trace_exporter"  # the [otel] key it was read from

    def describe(self) -> str:
        """One line for `codex login config`: kind, protocol, endpoint, header names, TLS files."""
        from codexlogin.redact import sanitize_url

        parts = [self.kind]
        if self.kind == "otlp-http":
            parts.append(self.protocol)
        parts.append(sanitize_url(self.endpoint))
        if self.headers:
            parts.append("headers " + ",".join(name for name, _ in self.headers))
        if self.ca_certificate or self.client_certificate:
            parts.append("tls")
        return " ".join(parts) + f" (environment {self.environment})"


def _bad(key: str, source: str, value: object, expected: str) -> UsageError:
    shown = repr(value) if isinstance(value, str | int | float | bool) else type(value).__name__
    return UsageError(f"invalid value for otel.{key} in {source}: {shown[:200]} (expected {expected})")


def _traces_endpoint(endpoint: str, kind: str) -> str:
    """Codex's endpoint is the signal's full URL; an `exporter` shared with logs names /v1/logs and a
    bare collector URL names none: the trace goes to the same collector's /v1/traces."""
    if kind != "otlp-http":
        return endpoint
    parts = urlsplit(endpoint)
    path = parts.path.rstrip("/")
    if path.endswith("/v1/logs") or path.endswith("/v1/metrics"):
        path = path.rsplit("/", 1)[0] + "/traces"
    elif not path.endswith(TRACES_PATH):
        path += TRACES_PATH
    return parts._replace(path=path).geturl()


def _tls_path(value: object, key: str, source: str, codex_home: Path) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise _bad(key, source, value, "a file path")
    path = Path(value).expanduser()
    return path if path.is_absolute() else codex_home / path


def parse_otel(table: object, source: str, codex_home: Path | None = None) -> OtelSettings | None:
    """OtelSettings from the [otel] table, or None when there is none or the exporter is "none"."""
    if table is None:
        return None
    if not isinstance(table, dict):
        raise UsageError(f"invalid value for otel in {source}: expected a table")
    home = codex_home if codex_home is not None else Path(source).parent
    environment = table.get("environment", "dev")
    if not isinstance(environment, str) or not environment.strip():
        raise _bad("environment", source, environment, "a non-empty string")
    key = "trace_exporter" if "trace_exporter" in table else "exporter"
    exporter = table.get(key, "none")
    if exporter == "none":
        return None
    if not isinstance(exporter, dict) or len(exporter) != 1 or next(iter(exporter)) not in EXPORTER_KINDS:
        raise _bad(key, source, exporter, '"none", { otlp-http = {…} } or { otlp-grpc = {…} }')
    kind, options = next(iter(exporter.items()))
    where = f"{key}.{kind}"
    if not isinstance(options, dict):
        raise _bad(where, source, options, "a table")
    endpoint = options.get("endpoint")
    try:
        parts = urlsplit(endpoint) if isinstance(endpoint, str) else None
        ok = parts is not None and parts.scheme in ("http", "https") and bool(parts.hostname) and not parts.username
        if parts is not None:
            parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        ok = False
    if not ok or any(char.isspace() for char in str(endpoint)):
        raise _bad(f"{where}.endpoint", source, endpoint, "an http(s) URL without user name or password")
    assert isinstance(endpoint, str)
    protocol = options.get("protocol", "binary")
    if kind == "otlp-http" and protocol not in PROTOCOLS:
        raise _bad(f"{where}.protocol", source, protocol, '"binary" or "json"')
    headers = options.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise _bad(f"{where}.headers", source, headers, "a table of strings")
    if any("\n" in k + v or "\r" in k + v for k, v in headers.items()):
        raise _bad(f"{where}.headers", source, "…", "header names and values on one line")
    tls = options.get("tls", {})
    if not isinstance(tls, dict):
        raise _bad(f"{where}.tls", source, tls, "a table")
    files = {name: _tls_path(tls[name], f"{where}.tls.{name}", source, home) for name in TLS_KEYS if name in tls}
    if ("client-certificate" in files) != ("client-private-key" in files):
        raise _bad(f"{where}.tls", source, "…", "client-certificate and client-private-key together")
    return OtelSettings(
        kind=kind,
        endpoint=_traces_endpoint(endpoint, kind),
        protocol=str(protocol),
        headers=tuple(sorted(headers.items())),
        environment=environment,
        ca_certificate=files.get("ca-certificate"),
        client_certificate=files.get("client-certificate"),
        client_private_key=files.get("client-private-key"),
        key=key,
    )
