"""Every `--json` output (status, doctor, log) against the JSON Schemas the package publishes
(codexlogin/schemas/*.json), through the real command line in a subprocess; and status --json's
values in the cases the README documents (a failed --check, a world-readable auth.json)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time

import jsonschema
import pytest
import trio
from harness import NINE_DAYS_AGO, issue_tokens, issuer_in_thread, jwt_with_exp, store_tokens

from codexlogin import DEFAULT_CLIENT_ID
from codexlogin.config import load_settings
from codexlogin.credentials.files import save_auth
from codexlogin.credentials.model import AuthDotJson, TokenData
from codexlogin.devissuer import DevIssuer
from codexlogin.schemas import SCHEMA_NAMES, schema_path

CODEX = [sys.executable, "-m", "codexlogin"]


def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads(schema_path(name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def codex(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = subprocess.run([*CODEX, *args], capture_output=True, text=True, env=env or dict(os.environ), timeout=60)
    return result.returncode, result.stdout, result.stderr


def status_json(*args: str) -> tuple[int, dict, str]:
    code, out, err = codex("login", "status", "--json", *args)
    assert out.count("\n") == 1, (out, err)
    data = json.loads(out)
    validator("status").validate(data)
    return code, data, err


def test_the_schemas_ship_as_package_data_and_are_valid():
    for name in SCHEMA_NAMES:
        validator(name)
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert "*.json" in pyproject["tool"]["setuptools"]["package-data"]["codexlogin.schemas"]
    assert any(dep.startswith("jsonschema") for dep in pyproject["project"]["optional-dependencies"]["test"])


def test_status_json_in_every_offline_state_matches_its_schema():
    settings = load_settings({})
    assert status_json()[1]["status"] == "not_logged_in"
    save_auth(settings.auth_file, AuthDotJson("apikey", openai_api_key="sk-proj-0123456789abcdefghij"))
    code, data, err = status_json()
    assert code == 0 and data["mode"] == "apikey" and data["problem"] is None and err == ""
    settings.auth_file.write_text("{not json")
    assert status_json()[1]["status"] == "unusable"
    settings.auth_file.unlink()
    settings.auth_file.mkdir()
    code, data, _ = status_json()
    assert code == 7 and data["status"] == "storage_error" and data["logged_in"] is False


@pytest.mark.parametrize("mode", [0o644, 0o666])
def test_a_world_readable_auth_json_shows_in_problem_and_warns_on_stderr(mode):
    settings = load_settings({})
    save_auth(settings.auth_file, AuthDotJson("apikey", openai_api_key="sk-proj-0123456789abcdefghij"))
    settings.auth_file.chmod(mode)
    code, data, err = status_json()
    assert code == 0 and data["status"] == "logged_in" and data["logged_in"] is True
    assert f"has mode {mode:04o}" in data["problem"] and "chmod 600" in data["problem"]
    assert err.startswith("warning: ") and f"has mode {mode:04o}" in err and err.count("\n") == 1
    code, out, err = codex("login", "status")  # text (on stderr, as 0.171): the warning first, lower-case
    assert out == "" and err.startswith(f"warning: {settings.auth_file} has mode {mode:04o}")
    assert err.splitlines()[1].startswith("API key configured - sk-proj-***") and "Warning" not in err


def test_status_check_json_matches_its_schema_when_proven_and_when_rejected():
    issuer = DevIssuer(access_token_lifetime=120)
    settings = load_settings({})
    with issuer_in_thread(issuer) as url:
        store_tokens(settings, issue_tokens(issuer, url), issuer=url)
        code, data, _ = status_json("--check")
        assert code == 0 and data["check"]["online"] is True and data["reference"]
        issuer.faults.refresh_error = "invalid_grant"
        store_tokens(settings, issue_tokens(issuer, url), issuer=url)
        code, data, _ = status_json("--check")
    assert code == 8 and data["status"] == "check_failed" and data["logged_in"] is False
    assert data["check"] == {"refreshed": False, "reason": None, "online": False, "proof": None}
    assert data["error"]["exit_code"] == 8


def test_a_network_error_during_check_leaves_the_stored_login_standing(refused_port):
    url = f"http://127.0.0.1:{refused_port()}"
    tokens = TokenData(
        "id", jwt_with_exp(int(time.time()) + 30), "rt", oauth_provenance={"issuer": url, "client_id": DEFAULT_CLIENT_ID}
    )
    save_auth(load_settings({}).auth_file, AuthDotJson("chatgpt", tokens=tokens, last_refresh=NINE_DAYS_AGO))
    code, data, err = status_json("--check")
    assert code == 10 and data["status"] == "check_failed"
    assert data["logged_in"] is True  # the issuer did not answer: nothing speaks against the login
    assert data["check"] == {"refreshed": False, "reason": None, "online": False, "proof": None}
    assert data["error"]["exit_code"] == 10 and err.startswith("error: ")


async def test_doctor_json_matches_its_schema_healthy_and_failing(dev_issuer, refused_port):
    for issuer, expected in ((dev_issuer.issuer_url, 0), (f"http://127.0.0.1:{refused_port()}", 1)):
        with trio.fail_after(60):
            result = await trio.run_process(
                [*CODEX, "login", "doctor", "--json", "-c", f"issuer={issuer}", "-c", "port=0"],
                capture_stdout=True,
                capture_stderr=True,
                check=False,
            )
        data = json.loads(result.stdout)
        validator("doctor").validate(data)
        assert result.returncode == expected == data["exit_code"]


async def test_log_json_matches_its_schema_for_success_failure_and_cancel(dev_issuer, tmp_path):
    env = {
        **os.environ,
        "BROWSER": f"{shlex.quote(sys.executable)} -m codexlogin.devissuer browse %s",
        "PYTHONUNBUFFERED": "1",
    }
    with trio.fail_after(60):
        await trio.run_process([*CODEX, "login", "--issuer", dev_issuer.issuer_url, "--port", "0"], env=env, capture_stderr=True)
        dev_issuer.faults.token_status, dev_issuer.faults.token_body = 400, b'{"error":"invalid_grant"}'
        await trio.run_process(
            [*CODEX, "login", "--issuer", dev_issuer.issuer_url, "--port", "0"], env=env, capture_stderr=True, check=False
        )
        result = await trio.run_process([*CODEX, "login", "log", "--json"], capture_stdout=True, capture_stderr=True)
    lines = result.stdout.decode().splitlines()
    assert len(lines) == 2
    runs = [json.loads(line) for line in lines]
    for run in runs:
        validator("log").validate(run)
    assert [run["failed"] for run in runs] == [False, True]
