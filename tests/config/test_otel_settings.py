"""`[otel]` in $CODEX_HOME/config.toml, with Codex's key names: parsed per key, a bad value is a
usage error naming the key, and `codex login config` shows the exporter (never a header's value).

Real files in tmp dirs; the command runs in a subprocess; nothing is contacted.
"""

from __future__ import annotations

import json
import os
import sys

import pytest
import trio

from codexlogin.config import load_settings
from codexlogin.errors import UsageError


def clean_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEX_LOGIN_") and not k.lower().endswith("_proxy")}
    return {**env, "CODEX_HOME": str(tmp_path / "codex-home")}


CODEX = [sys.executable, "-m", "codexlogin"]


def settings_with(tmp_path, toml: str):
    home = tmp_path / "codex-home"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text(toml)
    return load_settings({}, [], {"CODEX_HOME": str(home)})


def test_no_otel_table_or_exporter_none_exports_nothing(tmp_path):
    assert settings_with(tmp_path, 'model = "o3"\n').otel is None
    assert settings_with(tmp_path, '[otel]\nenvironment = "prod"\nexporter = "none"\nlog_user_prompt = true\n').otel is None


def test_codex_key_names_are_read(tmp_path):
    otel = settings_with(
        tmp_path,
        '[otel]\nenvironment = "prod"\nlog_user_prompt = false\n'
        'trace_exporter = { otlp-http = { endpoint = "http://127.0.0.1:4318", protocol = "json",'
        ' headers = { "x-api-key" = "sekrit" }, tls = { ca-certificate = "certs/ca.pem" } } }\n',
    ).otel
    assert otel is not None
    assert (otel.kind, otel.protocol, otel.endpoint, otel.environment) == (
        "otlp-http",
        "json",
        "http://127.0.0.1:4318/v1/traces",
        "prod",
    )
    assert otel.headers == (("x-api-key", "sekrit"),)
    assert otel.ca_certificate == tmp_path / "codex-home" / "certs" / "ca.pem"
    assert "sekrit" not in otel.describe()


def test_the_shared_exporter_is_used_and_its_logs_path_becomes_traces(tmp_path):
    otel = settings_with(tmp_path, '[otel]\nexporter = { otlp-http = { endpoint = "https://collector.example/v1/logs" } }\n').otel
    assert otel is not None and otel.endpoint == "https://collector.example/v1/traces" and otel.protocol == "binary"
    assert otel.key == "exporter"


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ('[otel]\nexporter = "stdout"\n', "otel.exporter"),
        ('[otel]\ntrace_exporter = { otlp-http = { endpoint = "ftp://x" } }\n', "otel.trace_exporter.otlp-http.endpoint"),
        (
            '[otel]\nexporter = { otlp-http = { endpoint = "http://127.0.0.1:1", protocol = "xml" } }\n',
            "otel.exporter.otlp-http.protocol",
        ),
        (
            '[otel]\nexporter = { otlp-grpc = { endpoint = "http://127.0.0.1:1", headers = { a = 1 } } }\n',
            "otel.exporter.otlp-grpc.headers",
        ),
        ("[otel]\nenvironment = 3\n", "otel.environment"),
        (
            '[otel]\nexporter = { otlp-http = { endpoint = "http://127.0.0.1:1", tls = { ca-certificate = 5 } } }\n',
            "otel.exporter.otlp-http.tls.ca-certificate",
        ),
        ("otel = 5\n", "otel"),
    ],
)
def test_a_bad_value_is_a_usage_error_naming_the_key(tmp_path, toml, named):
    with pytest.raises(UsageError) as raised:
        settings_with(tmp_path, toml)
    assert f"invalid value for {named} in " in str(raised.value)


async def test_login_config_shows_the_exporter_without_header_values(tmp_path):
    home = tmp_path / "codex-home"
    home.mkdir()
    (home / "config.toml").write_text(
        '[otel]\ntrace_exporter = { otlp-http = { endpoint = "http://127.0.0.1:4318/v1/traces", headers = { authorization = "Bearer planted-otel-secret" } } }\n'
    )
    env = clean_env(tmp_path)
    with trio.fail_after(30):
        done = await trio.run_process(
            [*CODEX, "login", "config", "--json"], env=env, capture_stdout=True, capture_stderr=True, check=False
        )
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)["settings"]}
    assert rows["otel"]["value"].startswith("otlp-http binary http://127.0.0.1:4318/v1/traces headers authorization")
    assert rows["otel"]["source"] == "config.toml [otel]"
    assert b"planted-otel-secret" not in done.stdout + done.stderr
    (home / "config.toml").write_text(
        '[otel]\nexporter = { otlp-http = { endpoint = "http://127.0.0.1:4318", protocol = "xml" } }\n'
    )
    with trio.fail_after(30):
        done = await trio.run_process([*CODEX, "login", "config"], env=env, capture_stdout=True, capture_stderr=True, check=False)
    assert done.returncode == 2
    assert "otel.exporter.otlp-http.protocol" in done.stderr.decode() and "Traceback" not in done.stderr.decode()
