"""auth.json as Codex CLI 0.171 writes it: round-trips that keep every field, provenance, owner id,
nanosecond `last_refresh`.

Real files under tmp_path; logins and refreshes against the dev issuer over HTTP on 127.0.0.1,
each under trio.fail_after.
"""

from __future__ import annotations

import io
import json
import re
import time
from dataclasses import replace

import pytest
import trio
from harness import MemoryKeyring, Run, approving_browser, issue_tokens_async, make_settings

from codexlogin import DEFAULT_CLIENT_ID, diagnostics, rfc3339
from codexlogin.cli.console import ConsoleUI
from codexlogin.credentials.files import load_auth, save_auth
from codexlogin.credentials.model import AuthDotJson, TokenData
from codexlogin.credentials.status import evaluate, refresh_due
from codexlogin.credentials.store import load_credentials
from codexlogin.errors import LoginFailure
from codexlogin.flows.apikey import api_key_login
from codexlogin.flows.refresh import refresh_credentials

NS_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z")
OWNER_ID = re.compile(r"[A-Za-z0-9_-]{43}")
ID_TOKEN = "eyJhbGciOiAibm9uZSJ9.eyJlbWFpbCI6ICJkZXZAZXhhbXBsZS5jb20ifQ.c2ln"
ACCESS_TOKEN = "eyJhbGciOiAibm9uZSJ9.eyJleHAiOiAxNzk2MTYwODEwfQ.c2ln"

# What 0.171 wrote after a device login (FINDINGS §5), plus fields a newer codex may add.
WRITTEN_BY_0171 = {
    "auth_mode": "chatgpt",
    "OPENAI_API_KEY": None,
    "tokens": {
        "id_token": ID_TOKEN,
        "access_token": ACCESS_TOKEN,
        "refresh_token": "rt-device",
        "oauth_provenance": {"issuer": "http://127.0.0.1:18559", "client_id": DEFAULT_CLIENT_ID},
        "login_owner_id": "Tv_cAly4dJPsrL5ek1f1R4jbsN78e6nANrY49RUG_xA",
        "account_id": "acct_dev",
        "future_token_field": {"kept": [1, 2]},
    },
    "last_refresh": "2026-12-01T20:33:32.445329355Z",
    "agent_identity": {"id": "agent-1", "key": "k"},
    "bedrock_region": "us-east-1",
}


def write(path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def saved(settings) -> dict:
    return json.loads(settings.auth_file.read_text())


# --- the document --------------------------------------------------------------------------------


def test_a_0171_file_round_trips_field_for_field_and_in_its_pretty_format(tmp_path):
    path = tmp_path / "auth.json"
    write(path, WRITTEN_BY_0171)
    auth = load_auth(path)
    assert auth is not None and auth.auth_mode == "chatgpt" and auth.tokens is not None
    assert auth.tokens.login_owner_id == WRITTEN_BY_0171["tokens"]["login_owner_id"]
    assert auth.tokens.oauth_provenance == WRITTEN_BY_0171["tokens"]["oauth_provenance"]
    save_auth(path, auth)
    text = path.read_text()
    assert json.loads(text) == WRITTEN_BY_0171
    # serde_json's pretty printer: 2-space indent, `": "`, same key order (we add a trailing newline)
    assert text == json.dumps(WRITTEN_BY_0171, indent=2) + "\n"
    assert list(json.loads(text)["tokens"]) == list(WRITTEN_BY_0171["tokens"])


def test_known_fields_with_values_the_model_does_not_hold_are_kept_verbatim():
    data = {
        "auth_mode": "apikey",
        "OPENAI_API_KEY": "sk-x",
        "personal_access_token": None,
        "last_refresh": 17,
        "tokens": None,
    }
    assert AuthDotJson.from_json(data).to_json() == data
    tokens = {
        "id_token": "i",
        "access_token": "a",
        "refresh_token": "r",
        "account_id": None,
        "oauth_provenance": "odd",
        "login_owner_id": 5,
    }
    back = AuthDotJson.from_json({"auth_mode": "chatgpt", "tokens": tokens}).to_json()["tokens"]
    assert back == tokens


def test_a_modelled_value_wins_over_a_kept_one():
    auth = AuthDotJson.from_json({"auth_mode": "apikey", "OPENAI_API_KEY": "sk-a", "last_refresh": 17})
    assert replace(auth, last_refresh="2026-01-01T00:00:00Z").to_json()["last_refresh"] == "2026-01-01T00:00:00Z"


def test_the_keyring_entry_keeps_unknown_fields_too(tmp_path):
    import keyring
    import keyring.backends.fail

    from codexlogin.credentials.store import save_credentials

    keyring.set_keyring(MemoryKeyring())
    try:
        settings = make_settings(tmp_path, "http://127.0.0.1:9", cli_auth_credentials_store="keyring")
        assert save_credentials(settings, AuthDotJson.from_json(WRITTEN_BY_0171), on_fallback=print) == "keyring"
        auth, backend = load_credentials(settings)
    finally:
        keyring.set_keyring(keyring.backends.fail.Keyring())
    assert backend == "keyring" and auth is not None and auth.to_json() == WRITTEN_BY_0171


# --- last_refresh ---------------------------------------------------------------------------------


def test_now_has_nanoseconds_in_utc_like_0171():
    stamp = rfc3339.now()
    assert NS_STAMP.fullmatch(stamp), stamp
    assert abs(rfc3339.to_epoch(stamp) - time.time()) < 5
    assert rfc3339.format_ns(1796157212_445329355) == "2026-12-01T20:33:32.445329355Z"


@pytest.mark.parametrize(
    ("text", "epoch"),
    [
        ("2026-12-01T20:33:32.445329355Z", 1796157212.445329355),
        ("2026-12-01T20:33:32.445329Z", 1796157212.445329),
        ("2026-12-01T20:33:32Z", 1796157212.0),
        ("2026-12-01T20:33:32+00:00", 1796157212.0),
        ("2026-12-01T22:33:32.5+02:00", 1796157212.5),
        ("2026-12-01t20:33:32z", 1796157212.0),
        ("2026-12-01T20:33:32", 1796157212.0),  # no zone: UTC
    ],
)
def test_every_last_refresh_form_is_read(text, epoch):
    assert rfc3339.to_epoch(text) == pytest.approx(epoch, abs=1e-6)


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01T00:00:00Z", "2026-12-01T20:33:32.Z"])
def test_what_is_not_a_timestamp_reads_as_unknown(text):
    assert rfc3339.to_epoch(text) is None


def test_the_refresh_rule_and_status_read_a_nanosecond_last_refresh():
    now = 1796157212.0
    recent, old = rfc3339.format_ns(int((now - 60) * 1e9)), rfc3339.format_ns(int((now - 9 * 86400) * 1e9))
    assert refresh_due("opaque", recent, now) is None and refresh_due("opaque", old, now) == "stale"
    settings = make_settings_offline()
    auth = AuthDotJson("chatgpt", tokens=TokenData("id", "opaque", "rt"), last_refresh=recent)
    report = evaluate(settings, auth, "file", now=now)
    assert report.exit_code == 0 and report.refresh_due is None and report.last_refresh == recent


def make_settings_offline():
    from codexlogin.config import load_settings

    return load_settings({})


# --- what a login writes, and what a rewrite keeps ------------------------------------------------


async def browser_login(tmp_path, issuer, **changes):
    with trio.fail_after(15):
        run = Run(make_settings(tmp_path, issuer.issuer_url, **changes))
        auth = await run(approving_browser)
    assert not isinstance(auth, LoginFailure), auth
    return run


async def test_a_chatgpt_login_writes_provenance_owner_id_and_a_nanosecond_stamp(tmp_path, dev_issuer):
    run = await browser_login(tmp_path, dev_issuer)
    data = saved(run.settings)
    assert list(data) == ["auth_mode", "OPENAI_API_KEY", "tokens", "last_refresh"]
    tokens = data["tokens"]
    assert list(tokens) == [
        "id_token",
        "access_token",
        "refresh_token",
        "oauth_provenance",
        "login_owner_id",
        "account_id",
        "access_token_expires_at",
    ]
    assert tokens["oauth_provenance"] == {
        "issuer": dev_issuer.issuer_url.rstrip("/"),
        "client_id": DEFAULT_CLIENT_ID,
        "dialect": "standard",
    }
    assert OWNER_ID.fullmatch(tokens["login_owner_id"])
    assert NS_STAMP.fullmatch(data["last_refresh"])
    assert run.settings.auth_file.read_text() == json.dumps(data, indent=2) + "\n"
    first_owner = tokens["login_owner_id"]
    run = await browser_login(tmp_path, dev_issuer)
    assert saved(run.settings)["tokens"]["login_owner_id"] != first_owner  # one per login


async def test_a_refresh_keeps_provenance_owner_id_and_every_unknown_field(tmp_path, dev_issuer):
    settings = make_settings(tmp_path, dev_issuer.issuer_url, exchange_timeout=10)
    with trio.fail_after(15):
        issued = await issue_tokens_async(dev_issuer, dev_issuer.issuer_url)
        stored = json.loads(json.dumps(WRITTEN_BY_0171))
        stored["tokens"].update(
            id_token=issued["id_token"], access_token=issued["access_token"], refresh_token=issued["refresh_token"]
        )
        stored["tokens"]["oauth_provenance"]["issuer"] = dev_issuer.issuer_url.rstrip("/")  # they came from there
        stored["last_refresh"] = "2020-01-01T00:00:00.123456789Z"
        write(settings.auth_file, stored)
        with diagnostics.open_log(settings.resolved_log_dir):
            result = await refresh_credentials(settings, force=True)
    assert result.refreshed
    data = saved(settings)
    assert data["tokens"]["refresh_token"] != issued["refresh_token"]
    assert NS_STAMP.fullmatch(data["last_refresh"]) and data["last_refresh"] != stored["last_refresh"]
    unchanged = {k: v for k, v in data.items() if k not in ("tokens", "last_refresh")}
    assert unchanged == {k: v for k, v in stored.items() if k not in ("tokens", "last_refresh")}
    for key in ("oauth_provenance", "login_owner_id", "account_id", "future_token_field"):
        assert data["tokens"][key] == stored["tokens"][key]


async def test_a_new_login_keeps_the_unknown_fields_next_to_the_credentials_it_replaces(tmp_path, dev_issuer):
    settings = make_settings(tmp_path, dev_issuer.issuer_url)
    write(settings.auth_file, WRITTEN_BY_0171)
    run = await browser_login(tmp_path, dev_issuer)
    data = saved(run.settings)
    assert data["agent_identity"] == WRITTEN_BY_0171["agent_identity"] and data["bedrock_region"] == "us-east-1"
    assert data["tokens"]["future_token_field"] == {"kept": [1, 2]}
    # the credentials themselves are the new login's
    assert data["tokens"]["refresh_token"] != "rt-device"
    assert data["tokens"]["login_owner_id"] != WRITTEN_BY_0171["tokens"]["login_owner_id"]
    assert data["tokens"]["oauth_provenance"]["issuer"] == dev_issuer.issuer_url.rstrip("/")


async def test_an_api_key_login_replaces_the_tokens_and_keeps_the_rest(tmp_path):
    settings = make_settings(tmp_path, "http://127.0.0.1:9")
    write(settings.auth_file, WRITTEN_BY_0171)
    with trio.fail_after(10):
        await api_key_login(settings, io.StringIO("sk-proj-0123456789abcdefghij\n"), ConsoleUI(io.StringIO()))
    assert saved(settings) == {
        "auth_mode": "apikey",
        "OPENAI_API_KEY": "sk-proj-0123456789abcdefghij",
        "agent_identity": {"id": "agent-1", "key": "k"},
        "bedrock_region": "us-east-1",
    }


async def test_a_corrupt_file_is_replaced_by_a_login(tmp_path):
    settings = make_settings(tmp_path, "http://127.0.0.1:9")
    settings.auth_file.parent.mkdir(parents=True, exist_ok=True)
    settings.auth_file.write_text("{not json")
    with trio.fail_after(10):
        await api_key_login(settings, io.StringIO("sk-proj-0123456789abcdefghij"), ConsoleUI(io.StringIO()))
    assert saved(settings) == {"auth_mode": "apikey", "OPENAI_API_KEY": "sk-proj-0123456789abcdefghij"}
