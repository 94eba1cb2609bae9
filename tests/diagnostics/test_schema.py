"""The log schema is declared once (diagnostics/schema.py) and the flows log only what it declares.

A static check finds every `"codex:…"` literal in the package: the names are spelled only in the
eliot-free diagnostics/names.py, which the schema and the log's readers share. A dynamic check runs real logins against the dev
issuer over HTTP (127.0.0.1, port 0, hard time bounds) and reads codex-login.log back: every
`codex:*` type in it is declared, and no action starts with a field its type does not declare.
"""

from __future__ import annotations

import re
from pathlib import Path

import trio
from harness import Run, approving_browser, callback_url, get, make_settings

from codexlogin.diagnostics import names, schema, scrubbing
from codexlogin.logview import tree

PACKAGE = Path(__file__).resolve().parents[2] / "codexlogin"
DECLARED = schema.ACTION_TYPES | schema.MESSAGE_TYPES
START_FIELDS = {
    t.action_type: set(t._serializers.start.fields) - {"action_type", "action_status"}
    for t in (
        schema.COMMAND,
        schema.LISTENER,
        schema.CALLBACK,
        schema.TOKEN_EXCHANGE,
        schema.API_KEY_EXCHANGE,
        schema.SAVE_CREDENTIALS,
        schema.DEVICE_AUTHORIZATION,
        schema.DEVICE_POLL,
        schema.REVOKE,
        schema.REFRESH,
        schema.ISSUER_PROBE,
        schema.BUNDLE_WRITE,
        *schema.DOCTOR_CHECKS.values(),
    )
}
ENVELOPE = {"timestamp", "task_uuid", "task_level", "action_type", "action_status"}


def test_type_names_are_spelled_only_in_names():
    spelled = PACKAGE / "diagnostics" / "names.py"
    literals = {}
    for path in PACKAGE.rglob("*.py"):
        if path != spelled:
            for name in re.findall(r'"(codex:[a-z_:]+)"', path.read_text()):
                literals.setdefault(name, path.name)
    assert literals == {}
    named = {value for value in vars(names).values() if isinstance(value, str) and value.startswith(names.PREFIX)}
    assert named - {names.PREFIX} | set(names.DOCTOR_CHECKS.values()) == DECLARED
    assert tree.ROOT_TYPE == schema.COMMAND.action_type and scrubbing.SCRUB_FAILURE == schema.SCRUB_FAILURE.message_type
    assert START_FIELDS.keys() == schema.ACTION_TYPES


def assert_declared(messages: list[dict]) -> set[str]:
    seen = set()
    for message in messages:
        kind = message.get("action_type") or message.get("message_type") or ""
        if not kind.startswith("codex:"):
            continue
        seen.add(kind)
        assert kind in DECLARED, f"{kind} is logged but not declared in diagnostics/schema.py"
        if message.get("action_status") == "started":
            assert set(message) - ENVELOPE <= START_FIELDS[kind], (kind, set(message) - ENVELOPE - START_FIELDS[kind])
    return seen


async def test_a_browser_login_logs_only_declared_types(tmp_path, dev_issuer):
    async def mismatch_then_approve(run, url):
        await get(callback_url(url, code="x", state="not-the-state"))
        await approving_browser(run, url)

    with trio.fail_after(20):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url, dialect="openai"))  # with the API-key exchange
        await run(mismatch_then_approve)
    seen = assert_declared(run.log_messages())
    assert {
        "codex:command",
        "codex:listener",
        "codex:callback",
        "codex:callback:state_mismatch",
        "codex:token_exchange",
        "codex:api_key_exchange",
        "codex:save_credentials",
        "codex:issuer_probe",  # the openai dialect's reachability probe
    } <= seen


async def test_a_denied_login_logs_only_declared_types(tmp_path, dev_issuer):
    async def deny(run, url):
        await get(callback_url(url, error="access_denied", error_description="no", state=run_state(url)))

    with trio.fail_after(20):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url))
        await run(deny)
    assert "codex:callback:oauth_error" in assert_declared(run.log_messages())


def run_state(url: str) -> str:
    from harness import query_of

    return query_of(url)["state"]


async def test_one_failure_is_logged_once_where_it_happened(tmp_path, dev_issuer):
    """The token exchange's failure holds the issuer's facts; the listener and the command it
    leaves through say only `failed_in` (and the command the run's outcome and exit code)."""
    dev_issuer.faults.token_status = 400
    dev_issuer.faults.token_body = b'{"error": "invalid_grant", "error_description": "bad code"}'
    with trio.fail_after(20):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url))
        await run(approving_browser)
    ends = {m["action_type"]: m for m in run.log_messages() if m.get("action_status") == "failed"}
    assert set(ends) == {"codex:command", "codex:listener", "codex:token_exchange"}
    exchange = ends["codex:token_exchange"]
    assert exchange["status"] == 400 and exchange["error_code"] == "invalid_grant" and exchange["kind"] == "rejected"
    assert exchange["outcome"] == "token_exchange_failed" and exchange["exit_code"] == 4 and "reason" in exchange
    assert (
        set(ends["codex:listener"]) - ENVELOPE == {"failed_in"} and ends["codex:listener"]["failed_in"] == "codex:token_exchange"
    )
    root = ends["codex:command"]
    assert set(root) - ENVELOPE == {"failed_in", "outcome", "exit_code"}
    assert (root["failed_in"], root["outcome"], root["exit_code"]) == ("codex:token_exchange", "token_exchange_failed", 4)
    assert not any(key.startswith("_codex") for m in run.log_messages() for key in m)  # the internal token is never written
