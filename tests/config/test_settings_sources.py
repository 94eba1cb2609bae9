"""`codex login config`: every setting's value and the layer it came from, secrets never shown.

Real files in tmp dirs, the real command in a subprocess; nothing is contacted.
"""

from __future__ import annotations

import json
import os
import sys

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from codexlogin.cli.settings import setting_rows
from codexlogin.config import load_settings, source_label

CODEX = [sys.executable, "-m", "codexlogin"]


def clean_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEX_LOGIN_") and not k.lower().endswith("_proxy")}
    env.pop("CODEX_CA_CERTIFICATE", None)
    env.pop("SSL_CERT_FILE", None)
    return {**env, "CODEX_HOME": str(tmp_path / "codex-home"), **extra}


async def codex_config(*args, env):
    with trio.fail_after(30):
        result = await trio.run_process(
            [*CODEX, "login", "config", *args], env=env, capture_stdout=True, capture_stderr=True, check=False
        )
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def test_each_layer_is_recorded_and_the_highest_wins(tmp_path):
    home = tmp_path / "codex-home"
    home.mkdir()
    (home / "config.toml").write_text('port = 1460\ndialect = "standard"\ntimeout = 5\nexchange_timeout = 9\nmodel = "o3"\n')
    env = {"CODEX_HOME": str(home), "CODEX_LOGIN_TIMEOUT": "30", "CODEX_LOGIN_EXCHANGE_TIMEOUT": "12"}
    sources: dict[str, str] = {}
    settings_ = load_settings(
        {"exchange_timeout": 3.0, "issuer": None}, ["exchange_timeout=4", "client_id=cli"], env, sources=sources
    )
    assert (settings_.port, settings_.timeout, settings_.exchange_timeout, settings_.client_id) == (1460, 30.0, 3.0, "cli")
    assert sources == {
        "codex_home": "env CODEX_HOME",
        "port": "config.toml",
        "dialect": "config.toml",
        "timeout": "env CODEX_LOGIN_TIMEOUT",
        "exchange_timeout": "--exchange-timeout",
        "client_id": "-c client_id",
    }
    assert source_label("environment", "log_dir") == "env CODEX_LOGIN_LOG_DIR"


async def test_the_command_names_every_source(tmp_path):
    home = tmp_path / "codex-home"
    home.mkdir()
    (home / "config.toml").write_text("port = 1460\n")
    env = clean_env(tmp_path, CODEX_LOGIN_TIMEOUT="30")
    code, out, err = await codex_config("--json", "-c", "exchange_timeout=5", "--issuer", "https://idp.example.com", env=env)
    assert code == 0 and err == "", err
    rows = {row["name"]: row for row in json.loads(out)["settings"]}
    assert (rows["issuer"]["value"], rows["issuer"]["source"]) == ("https://idp.example.com", "--issuer")
    assert (rows["port"]["value"], rows["port"]["source"]) == ("1460", "config.toml")
    assert (rows["timeout"]["value"], rows["timeout"]["source"]) == ("30", "env CODEX_LOGIN_TIMEOUT")
    assert (rows["exchange_timeout"]["value"], rows["exchange_timeout"]["source"]) == ("5", "-c exchange_timeout")
    assert (rows["client_id"]["source"], rows["codex_home"]["source"]) == ("default", "env CODEX_HOME")
    assert (
        rows["dialect"]["value"] == "auto (standard)" and rows["redirect_host"]["value"] == "127.0.0.1 (the standard dialect's)"
    )
    assert rows["log_dir"]["value"] == f"{home / 'log'} ($CODEX_HOME/log)"
    assert rows["ca_bundle"] == {"name": "ca_bundle", "value": "system trust store", "source": "default"}

    code, text, _ = await codex_config("-c", "exchange_timeout=5", env=env)
    lines = text.splitlines()
    assert code == 0 and lines[0].split() == ["setting", "value", "source"]
    assert any(line.split() == ["exchange_timeout", "5", "-c", "exchange_timeout"] for line in lines)
    assert any(line.split() == ["fallback_port", "none", "default"] for line in lines)  # port 1460: no fallback
    assert any(line.split() == ["dialect", "auto", "(openai)", "default"] for line in lines)

    (home / "config.toml").unlink()
    code, text, _ = await codex_config(env=env)
    assert any(line.split() == ["fallback_port", "1457", "(the", "openai", "dialect's)", "default"] for line in text.splitlines())
    assert lines[-1].startswith("Precedence: default < config.toml")


async def test_a_bad_setting_is_a_usage_error(tmp_path):
    code, out, err = await codex_config("-c", "port=nope", env=clean_env(tmp_path))
    assert code == 2 and out == "" and err.startswith("error: invalid value for port from -c")


@settings(max_examples=100, deadline=None)
@given(
    user=st.text("abcdefghij", min_size=3, max_size=8),
    password=st.text("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789%", min_size=8, max_size=24),
)
def test_proxy_credentials_are_never_shown(tmp_path_factory, user, password):
    env = {
        "CODEX_HOME": str(tmp_path_factory.mktemp("home")),
        "HTTPS_PROXY": f"http://{user}:{password}@proxy.corp:3128",
        "all_proxy": f"socks5://{user}:{password}@s:1080",
    }
    rows = setting_rows(load_settings({}, (), env), {}, env)
    shown = json.dumps(rows)
    assert password not in shown and f"{user}:" not in shown
    assert {"name": "https_proxy", "value": "http://proxy.corp:3128", "source": "env HTTPS_PROXY"} in rows
    assert {"name": "all_proxy", "value": "socks5://s:1080", "source": "env all_proxy"} in rows


@pytest.mark.parametrize("name", ["CODEX_CA_CERTIFICATE", "SSL_CERT_FILE"])
def test_the_ca_bundle_names_its_variable(tmp_path, name):
    env = {"CODEX_HOME": str(tmp_path), name: "/etc/corp-ca.pem"}
    rows = {row["name"]: row for row in setting_rows(load_settings({}, (), env), {}, env)}
    assert rows["ca_bundle"] == {"name": "ca_bundle", "value": "/etc/corp-ca.pem", "source": f"env {name}"}
