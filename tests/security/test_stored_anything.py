"""Whatever is stored, `status` reports it in one line and `logout` removes it (exit 0).

auth.json is read by other programs and may hold anything: a JWT whose payload nests 100,000
levels deep (once a RecursionError, exit 70 in status, status --check and logout: the user could
not even log out), megabyte tokens, wrong JSON types, bytes that are not UTF-8, a provenance that
names no usable issuer. Through the real CLI; every https request goes to a tripwire proxy on
loopback (a file without provenance belongs to https://auth.openai.com, which is never reached).
"""

from __future__ import annotations

import base64
import json
import os
import sys

import pytest
import trio
from test_issuer_binding import Tripwire

CODEX = [sys.executable, "-m", "codexlogin"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


DEEP_PAYLOAD = _b64(('{"a":' * 100_000 + "1" + "}" * 100_000).encode())
DEEP_JWT = f"e30.{DEEP_PAYLOAD}.c2ln"
MEGA = 2_000_000

STORED: dict[str, bytes] = {
    "a 100,000-deep JWT": json.dumps(
        {
            "auth_mode": "chatgpt",
            "OPENAI_API_KEY": None,
            "tokens": {"id_token": DEEP_JWT, "access_token": DEEP_JWT, "refresh_token": "rt-deep", "account_id": None},
        }
    ).encode(),
    "megabyte tokens": json.dumps(
        {
            "auth_mode": "chatgpt",
            "OPENAI_API_KEY": None,
            "tokens": {"id_token": "e30." + "A" * MEGA + ".c2ln", "access_token": "x" * MEGA, "refresh_token": "r" * MEGA},
        }
    ).encode(),
    "a token that is a list": json.dumps(
        {"auth_mode": "chatgpt", "tokens": {"id_token": 5, "access_token": ["x"], "refresh_token": {"a": 1}}}
    ).encode(),
    "tokens that are a list": json.dumps({"auth_mode": "chatgpt", "tokens": [1, 2]}).encode(),
    "an auth_mode that is a list": json.dumps({"auth_mode": ["chatgpt"], "OPENAI_API_KEY": None}).encode(),
    "an access token that is a number": json.dumps({"OPENAI_API_KEY": None, "personal_access_token": 5}).encode(),
    "a provenance naming no issuer": json.dumps(
        {
            "auth_mode": "chatgpt",
            "tokens": {
                "id_token": "e30.e30.c2ln",
                "access_token": "at",
                "refresh_token": "rt",
                "oauth_provenance": {"issuer": 5, "client_id": None},
            },
        }
    ).encode(),
    "a provenance naming a plain-http remote issuer": json.dumps(
        {
            "auth_mode": "chatgpt",
            "tokens": {
                "id_token": "e30.e30.c2ln",
                "access_token": "at",
                "refresh_token": "rt",
                "oauth_provenance": {"issuer": "http://idp.example", "client_id": "c"},
            },
        }
    ).encode(),
    "bytes that are not UTF-8": b'{"auth_mode": "apikey", "OPENAI_API_KEY": "sk-\xff\xfe"}',
    "a 100,000-deep document": b"[" * 100_000 + b"]" * 100_000,
}


async def codex(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    with trio.fail_after(60):
        result = await trio.run_process([*CODEX, *args], env=env, capture_stdout=True, capture_stderr=True, check=False)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


@pytest.mark.parametrize("what", list(STORED))
async def test_status_reports_it_and_logout_removes_it(tmp_path, nursery, what):
    tripwire = Tripwire()
    await nursery.start(tripwire.serve)
    home = tmp_path / "codex-home"
    home.mkdir()
    auth_file = home / "auth.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEX_LOGIN_")}
    env.update(CODEX_HOME=str(home), HTTPS_PROXY=tripwire.url, NO_PROXY="")

    def plant() -> None:
        auth_file.write_bytes(STORED[what])
        auth_file.chmod(0o600)

    plant()
    code, err, out = await codex("login", "status", env=env)  # the text on stderr, as Codex CLI 0.171
    assert code in (0, 8) and "Traceback" not in out + err and err == "", (code, out, err)
    if code == 8:
        assert out.count("\n") == 1 and out.startswith("Credentials are stored but unusable: ")
    code, out, _ = await codex("login", "status", "--json", env=env)
    assert code in (0, 8) and json.loads(out)["status"] in ("logged_in", "unusable")

    code, out, err = await codex("login", "status", "--check", env=env)
    assert code in (0, 8, 10) and "Traceback" not in out + err, (code, out, err)
    assert err.count("\n") <= 1  # one error line at most
    assert auth_file.exists()  # a check never loses what is stored

    plant()
    code, out, err = await codex("logout", env=env)
    assert code == 0 and "Traceback" not in out + err, (code, out, err)
    assert out == "" and "Successfully logged out" in err and err.count("\n") <= 2  # a warning at most, then the line
    assert not auth_file.exists()
    for raw in tripwire.received:  # only ever a CONNECT to the default issuer, never a token
        assert raw.startswith(b"CONNECT auth.openai.com:443 "), raw[:100]


# --- the same depth guard for log lines from outside -------------------------------------------------

DEEP = '{"a":' * 100_000 + "1" + "}" * 100_000
HOSTILE_LOG = (
    "\n".join(
        [
            '{"task_uuid":"u1","task_level":[1],"action_type":"codex:command","action_status":"started","timestamp":1.0,"x":'
            + DEEP
            + "}",
            "[" * 100_000,
            '{"task_uuid":"u2","task_level":[1],"action_type":"codex:command","action_status":"started","timestamp":1.0,"command":"login"}',
            '{"task_uuid":"u2","task_level":[2],"action_type":"codex:command","action_status":"succeeded","timestamp":2.0}',
        ]
    )
    + "\n"
)


@pytest.mark.parametrize("view", [[], ["--json"], ["--summary"], ["--format", "text"]])
async def test_a_log_line_nested_100000_deep_is_skipped_in_every_view(tmp_path, view):
    log = tmp_path / "hostile.log"
    log.write_text(HOSTILE_LOG)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEX_LOGIN_")}
    env.update(CODEX_HOME=str(tmp_path / "codex-home"), NO_COLOR="1")
    code, out, err = await codex("login", "log", *view, str(log), env=env)
    assert code == 0 and "Traceback" not in out + err and "internal error" not in err, (code, err)
    assert ("login flow finished" if "text" in view else "u2") in out and "skipped 2 lines that are not eliot JSON" in err


def test_follow_skips_a_line_nested_too_deeply():
    from codexlogin.logview.follow import _parse

    assert _parse("[" * 100_000) is None and _parse('{"a": 1}') == {"a": 1}
