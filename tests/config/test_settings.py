from pathlib import Path

import pytest

from codexlogin import DEFAULT_CLIENT_ID, DEFAULT_ISSUER, DEFAULT_PORT
from codexlogin.config import load_settings
from codexlogin.errors import UsageError
from codexlogin.oauth.issuer import configured_issuer


def test_defaults(tmp_path):
    settings = load_settings(environ={"CODEX_HOME": str(tmp_path)})
    assert settings.issuer == DEFAULT_ISSUER
    assert settings.client_id == DEFAULT_CLIENT_ID
    assert settings.port == DEFAULT_PORT
    assert settings.timeout == 600
    assert settings.log_file == tmp_path / "log" / "codex-login.log"
    assert settings.origins == ()  # nothing set: every setting is a default
    issuer = configured_issuer(settings)
    assert issuer.token_endpoint == "https://auth.openai.com/oauth/token"
    assert issuer.revoke_endpoint == "https://auth.openai.com/oauth/revoke"
    assert issuer.dialect.name == "openai" and issuer.provenance() == {"issuer": DEFAULT_ISSUER, "client_id": DEFAULT_CLIENT_ID}


def test_precedence_defaults_file_env_overrides_flags(tmp_path):
    (tmp_path / "config.toml").write_text('port = 1000\ntimeout = 10\nclient_id = "from-file"\nmodel = "unrelated"\n')
    environ = {"CODEX_HOME": str(tmp_path), "CODEX_LOGIN_PORT": "2000", "CODEX_LOGIN_TIMEOUT": "20"}
    settings = load_settings({"port": 4000}, ["timeout=30", "port=3000"], environ)
    assert settings.client_id == "from-file"
    assert settings.timeout == 30
    assert settings.port == 4000


def test_codex_home_defaults_under_home(monkeypatch, tmp_path):
    settings = load_settings(environ={"HOME": str(tmp_path)})
    assert settings.codex_home == Path("~/.codex").expanduser()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["port=70000"], "port must be between"),
        (["port=abc"], "invalid value for port"),
        (["novalue"], "expects key=value"),
        (["issuer=ftp://x"], "http(s) URL"),
        (["issuer=http://example.com"], "must use https"),
        (["issuer=https://user:pw@example.com"], "user name or password"),
        (["timeout=-1"], "timeouts must be positive"),
        (["cli_auth_credentials_store=disk"], "cli_auth_credentials_store"),
        (["forced_login_method=magic"], "forced_login_method"),
    ],
)
def test_bad_values_are_one_line_usage_errors(tmp_path, overrides, message):
    with pytest.raises(UsageError) as info:
        load_settings(overrides=overrides, environ={"CODEX_HOME": str(tmp_path)})
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_broken_config_file_is_usage_error(tmp_path):
    (tmp_path / "config.toml").write_text("port = [")
    with pytest.raises(UsageError, match="not valid TOML"):
        load_settings(environ={"CODEX_HOME": str(tmp_path)})


def test_loopback_http_issuer_allowed(tmp_path):
    settings = load_settings({"issuer": "http://127.0.0.1:8080/"}, environ={"CODEX_HOME": str(tmp_path)})
    assert configured_issuer(settings).authorize_endpoint == "http://127.0.0.1:8080/oauth/authorize"
    assert settings.source_of("issuer") == "--issuer" and settings.source_of("port") is None


def test_workspace_list_from_env(tmp_path):
    settings = load_settings(environ={"CODEX_HOME": str(tmp_path), "CODEX_LOGIN_FORCED_CHATGPT_WORKSPACE_ID": "a, b"})
    assert settings.forced_chatgpt_workspace_id == ("a", "b")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["issuer=https://[::1"], "not a valid URL"),
        (["issuer=http://127.0.0.1:99999"], "not a valid URL"),
        (["timeout=nan"], "finite"),
        (["exchange_timeout=inf"], "finite"),
    ],
)
def test_malformed_values_are_usage_errors_not_tracebacks(tmp_path, overrides, message):
    with pytest.raises(UsageError, match=message):
        load_settings(overrides=overrides, environ={"CODEX_HOME": str(tmp_path)})


def test_config_toml_that_is_not_utf8_is_a_usage_error(tmp_path):
    (tmp_path / "config.toml").write_bytes(b"\xff\xfe port = 1")
    with pytest.raises(UsageError, match="not valid TOML"):
        load_settings(environ={"CODEX_HOME": str(tmp_path)})


def test_other_codex_settings_in_c_are_accepted_and_set_aside():
    settings = load_settings({}, ["model=o3", "port=0", "model-reasoning-effort=high"], environ={"CODEX_HOME": "/nonexistent"})
    assert settings.port == 0 and settings.ignored_overrides == ("model", "model_reasoning_effort")


def test_every_settable_field_has_a_converter():
    """config.CONVERTERS is the one list of what a user may set: every Settings field but the
    run-made ones, each with its own converter."""
    from dataclasses import fields

    from codexlogin.config import CONVERTERS, Settings

    made = {"codex_home", "ignored_overrides", "origins", "otel"}  # otel: the [otel] table (otelconfig)
    assert set(CONVERTERS) == {f.name for f in fields(Settings)} - made


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        ("port", "0", 0),
        ("port", 8080, 8080),
        ("fallback_port", "", None),
        ("no_browser", "yes", True),
        ("no_browser", False, False),
        ("timeout", "1.5", 1.5),
        ("log_dir", "", None),
        ("forced_chatgpt_workspace_id", "a, b,", ("a", "b")),
        ("forced_chatgpt_workspace_id", ["a", " b "], ("a", "b")),
        ("redirect_host", "", None),
    ],
)
def test_each_converter_takes_what_toml_env_and_flags_give(tmp_path, key, raw, expected):
    from codexlogin.config import CONVERTERS

    assert CONVERTERS[key](raw) == expected


@pytest.mark.parametrize(
    ("key", "raw"), [("port", True), ("port", 1.5), ("timeout", True), ("no_browser", "maybe"), ("port", "1e999")]
)
def test_a_value_a_converter_refuses_is_a_usage_error_naming_the_key(tmp_path, key, raw):
    (tmp_path / "config.toml").write_text(f"{key} = {raw!r}\n".replace("True", "true").replace("'", '"'))
    with pytest.raises(UsageError, match=f"invalid value for {key} from "):
        load_settings(environ={"CODEX_HOME": str(tmp_path)})
