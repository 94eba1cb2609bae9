"""diagnostics.py: everything is checked through the real codex-login.log written by open_log.

(eliot's MemoryLogger bypasses destinations, so it cannot prove scrubbing.)
"""

from __future__ import annotations

import io
import json
import logging
import os
import stat
import string
from pathlib import Path

import eliot
import httpx
import pytest
import trio
from eliot import Field, MessageType
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codexlogin import __version__
from codexlogin import diagnostics as diag
from codexlogin.cli.console import ConsoleUI
from codexlogin.diagnostics import destination, schema
from codexlogin.errors import TokenExchangeFailed
from codexlogin.redact import REDACTED

# eliot's own write_traceback (used on serialization failures) calls a deprecated API.
ELIOT_TRACEBACK_DEPRECATION = "ignore:MessageType.__call__:DeprecationWarning"


def read_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def task_messages(messages: list[dict], task_uuid: str) -> list[dict]:
    return [m for m in messages if m.get("task_uuid") == task_uuid]


class Opaque:
    """Not JSON-serialisable; its repr holds secrets."""

    def __init__(self, secret: str):
        self.secret = secret

    def __repr__(self) -> str:
        return f"Opaque(code={self.secret!r}, url='https://auth.example/cb?state={self.secret}')"

    __str__ = __repr__


def _explode(value: object) -> object:
    raise ValueError(f"cannot serialize {value!r} for https://auth.example/oauth/token?code=x")


# Ad-hoc types of these tests (the product declares its own in diagnostics/schema.py).
TEST_FIELDS = schema.ScrubbedMessageType("codex:test:fields", [], "")
TEST_CONNECT = schema.ScrubbedActionType("codex:test:connect", [], [], "")
TEST_FAILURE = schema.ScrubbedActionType("codex:test:failure", [], [], "")
TEST_HELLO = schema.ScrubbedMessageType("codex:test:hello", [], "")
TEST_INSIDE = schema.ScrubbedMessageType("codex:test:inside", [], "")
TEST_OUTSIDE = schema.ScrubbedMessageType("codex:test:outside", [], "")
TEST_STILL_RUNNING = schema.ScrubbedMessageType("codex:test:still_running", [], "")
TEST_X = schema.ScrubbedMessageType("codex:test:x", [], "")
TEST_X_ACTION = schema.ScrubbedActionType("codex:test:x", [], [], "")
TEST_A = schema.ScrubbedMessageType("codex:test:a", [], "")
TEST_B = schema.ScrubbedMessageType("codex:test:b", [], "")
TEST_CHILD = schema.ScrubbedMessageType("codex:test:child", [], "")

COMMAND = schema.COMMAND.action_type
TOKEN_EXCHANGE = schema.TOKEN_EXCHANGE.action_type
CALLBACK = schema.CALLBACK.action_type
API_KEY_EXCHANGE = schema.API_KEY_EXCHANGE.action_type
LISTENER = schema.LISTENER.action_type
SAVE_CREDENTIALS = schema.SAVE_CREDENTIALS.action_type
STATE_MISMATCH = schema.STATE_MISMATCH.message_type
OAUTH_ERROR = schema.OAUTH_ERROR.message_type
LIBRARY_LOG = schema.LIBRARY_LOG.message_type

EXPLODING = MessageType(
    "codex:test:exploding",
    [Field("obj", _explode, "always fails"), Field("note", lambda v: v, "text")],
    "A typed message whose serializer raises: forces eliot:serialization_failure.",
)


def _raising_destination(message: dict) -> None:
    raise RuntimeError(f"destination down while writing {message!r}")


def _httpx_status_error(url: str) -> httpx.HTTPStatusError:
    with httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(400))) as client:
        response = client.post(url)
    try:
        response.raise_for_status()
    except httpx.HTTPStatusError as exc:
        return exc
    raise AssertionError("expected a 400")


def plant_everywhere(secret: str) -> str:
    """Log `secret` through every path we know of; return the root task_uuid."""
    issuer = f"https://user:{secret}@auth.example/?code={secret}#{secret}"
    with diag.command_action("login", "browser", issuer=issuer, client_id="app_x") as root:
        task_uuid = root.task_uuid
        # Helper fields: URLs with secrets, secret-named fields, nested secrets.
        with schema.TOKEN_EXCHANGE(
            issuer=issuer,
            token_endpoint=f"https://auth.example/oauth/token?code={secret}",
            redirect_uri=f"http://localhost:1455/cb?state={secret}",
        ) as action:
            action.add_success_fields(status=200, access_token=secret, body=f'{{"id_token": "{secret}"}}')
        TEST_FIELDS.log(
            code=secret,
            tokens={"access_token": secret, "refresh_token": secret},
            headers={"Authorization": f"Bearer {secret}", "Cookie": f"sid={secret}"},
            error_message=f"invalid_grant: code={secret} was already used",
            note=f"see https://auth.example/cb?code={secret}&state={secret}",
            obj=Opaque(secret),
            has_code=True,
            state_valid=False,
        )
        with schema.CALLBACK(
            path=f"/auth/callback?code={secret}&state={secret}",
            has_code=True,
            has_state=True,
            has_error=False,
            state_valid=False,
        ):
            schema.STATE_MISMATCH.log(severity="warning")
        schema.OAUTH_ERROR.log(error_code=f"access_denied code={secret}", has_error_description=True)

        # Raw eliot, bypassing the declared types: only the destination can scrub these.
        with eliot.start_action(action_type="codex:test:raw", code=secret, obj=Opaque(secret), url=issuer):
            eliot.log_message(message_type="codex:test:raw_message", refresh_token=secret, text=f"state={secret}")

        # Exceptions inside actions: httpx-style messages with URLs and secrets.
        with pytest.raises(httpx.HTTPStatusError):
            with schema.API_KEY_EXCHANGE(token_endpoint=f"https://auth.example/oauth/token?subject_token={secret}"):
                raise _httpx_status_error(f"https://user:{secret}@auth.example/oauth/token?code={secret}")
        with pytest.raises(httpx.ConnectError):
            with TEST_CONNECT():
                raise httpx.ConnectError(f"cannot connect to https://auth.example/?code={secret}")
        with pytest.raises(TokenExchangeFailed):
            with TEST_FAILURE():
                raise TokenExchangeFailed(
                    f"token exchange failed: refresh_token={secret}",
                    detail=f"raw backend body {{'access_token': '{secret}'}} {secret}",
                    error_code="invalid_grant",
                )

        # eliot:serialization_failure: a typed message whose serializer raises.
        EXPLODING.log(obj=Opaque(secret), note=f"https://u:{secret}@h/?code={secret}")

        # eliot:destination_failure: another destination raises; eliot embeds the whole message.
        eliot.add_destinations(_raising_destination)
        try:
            eliot.log_message(
                message_type="codex:test:destination",
                code=secret,
                obj=Opaque(secret),
                text=f"https://auth.example/cb?code={secret}",
            )
        finally:
            eliot.remove_destination(_raising_destination)

        # Library loggers: INFO is dropped, WARNING is forwarded scrubbed.
        logging.getLogger("httpx").info("HTTP Request: POST https://auth.example/oauth/token?code=%s", secret)
        logging.getLogger("hypercorn.error").warning("bad request /auth/callback?code=%s&state=%s", secret, secret)

        root.add_success_fields(outcome="success", exit_code=0)
    return task_uuid


# --------------------------------------------------------------------------------------------
# Scrubbing through the real file
# --------------------------------------------------------------------------------------------


@pytest.mark.filterwarnings(ELIOT_TRACEBACK_DEPRECATION)
def test_planted_secrets_never_reach_the_file_and_structure_is_intact(tmp_path, capsys):
    secret = "PLANTED7SECRET9XYZ"
    with diag.open_log(tmp_path / "logs") as log_path:
        task_uuid = plant_everywhere(secret)

    assert log_path == tmp_path / "logs" / "codex-login.log"
    raw = log_path.read_text(encoding="utf-8")
    assert secret not in raw
    captured = capsys.readouterr()
    assert secret not in captured.out + captured.err

    messages = task_messages(read_log(log_path), task_uuid)
    by_type: dict[str, list[dict]] = {}
    for message in messages:
        by_type.setdefault(message.get("action_type") or message["message_type"], []).append(message)

    root_start, root_end = by_type[COMMAND]
    assert root_start["action_status"] == "started"
    assert root_start["command"] == "login"
    assert root_start["flow"] == "browser"
    assert root_start["version"] == __version__
    assert root_start["issuer"] == "https://auth.example/?code=<redacted>"
    assert root_start["client_id"] == "app_x"
    assert root_end["action_status"] == "succeeded"
    assert root_end["outcome"] == "success" and root_end["exit_code"] == 0
    assert root_start["task_level"] == [1]

    start, end = by_type[TOKEN_EXCHANGE]
    assert start["token_endpoint"] == "https://auth.example/oauth/token?code=<redacted>"
    assert start["redirect_uri"] == "http://localhost:1455/cb?state=<redacted>"
    assert end["status"] == 200 and end["access_token"] == REDACTED and end["body"] == REDACTED

    fields = by_type["codex:test:fields"][0]
    assert fields["code"] == REDACTED and fields["tokens"] == REDACTED
    assert fields["headers"] == {"Authorization": REDACTED, "Cookie": REDACTED}
    assert fields["has_code"] is True and fields["state_valid"] is False

    callback_start, callback_end = by_type[CALLBACK]
    assert callback_start["path"] == "/auth/callback"
    assert (callback_start["has_code"], callback_start["has_state"]) == (True, True)
    assert (callback_start["has_error"], callback_start["state_valid"]) == (False, False)
    assert callback_end["action_status"] == "succeeded"
    assert by_type[STATE_MISMATCH][0]["severity"] == "warning"
    oauth_error = by_type[OAUTH_ERROR][0]
    assert oauth_error["error_code"] == "access_denied code=<redacted>"
    assert oauth_error["has_error_description"] is True

    api_start, api_end = by_type[API_KEY_EXCHANGE]
    assert api_end["action_status"] == "failed"
    assert api_end["exception"] == "httpx.HTTPStatusError"
    assert "https://auth.example/oauth/token?code=<redacted>" in api_end["reason"]

    failure_end = by_type["codex:test:failure"][1]
    assert failure_end["action_status"] == "failed"
    assert failure_end["outcome"] == "token_exchange_failed"
    assert failure_end["exit_code"] == 4
    assert failure_end["error_code"] == "invalid_grant"
    assert failure_end["reason"] == "token exchange failed: refresh_token=<redacted>"
    assert "raw backend body" not in raw  # .detail is terminal-only

    assert by_type["eliot:serialization_failure"][0]["message"]["message_type"] == "codex:test:exploding"
    destination_failures = by_type["eliot:destination_failure"]
    assert destination_failures[0]["message"]["code"] == REDACTED
    assert destination_failures[0]["exception"] == "builtins.RuntimeError"

    library = by_type[LIBRARY_LOG]
    assert [m["logger"] for m in library] == ["hypercorn.error"]
    assert library[0]["message"] == "bad request /auth/callback?code=<redacted>&state=<redacted>"
    assert "HTTP Request" not in raw


SECRET_ALPHABET = string.ascii_uppercase + string.digits
secrets_st = st.text(alphabet=SECRET_ALPHABET, min_size=8, max_size=40).filter(
    lambda s: sum(c.isdigit() for c in s) >= 1 and sum(c.isalpha() for c in s) >= 2
)


@pytest.mark.filterwarnings(ELIOT_TRACEBACK_DEPRECATION)
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret=secrets_st)
def test_property_generated_secrets_never_reach_the_file(tmp_path, secret):
    with diag.open_log(tmp_path / "property") as log_path:
        offset = log_path.stat().st_size
        task_uuid = plant_everywhere(secret)
    with log_path.open(encoding="utf-8") as file:
        file.seek(offset)
        written = file.read()
    assert secret not in written
    statuses = [json.loads(line).get("action_status") for line in written.splitlines() if task_uuid in line]
    assert statuses[0] == "started" and statuses[-1] == "succeeded"


# --------------------------------------------------------------------------------------------
# The file itself
# --------------------------------------------------------------------------------------------


def test_file_mode_dir_mode_and_append_across_runs(tmp_path):
    log_dir = tmp_path / "a" / "b"
    with diag.open_log(log_dir) as log_path:
        with diag.command_action("login", "browser") as first:
            first.add_success_fields(outcome="success", exit_code=0)
    assert stat.S_IMODE(log_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(log_dir.stat().st_mode) == 0o700
    first_text = log_path.read_text(encoding="utf-8")

    with diag.open_log(log_dir) as again:
        with diag.command_action("logout", "none") as second:
            pass
    assert again == log_path
    text = log_path.read_text(encoding="utf-8")
    assert text.startswith(first_text)
    uuids = {m["task_uuid"] for m in read_log(log_path) if m.get("action_type") == COMMAND}
    assert {first.task_uuid, second.task_uuid} <= uuids


def test_existing_file_is_chmodded_to_0600(tmp_path):
    log_path = tmp_path / diag.LOG_FILE_NAME
    log_path.write_text('{"old": "line"}\n')
    os.chmod(log_path, 0o644)
    with diag.open_log(tmp_path):
        TEST_HELLO.log()
    assert stat.S_IMODE(log_path.stat().st_mode) == 0o600
    assert log_path.read_text().startswith('{"old": "line"}\n')


def test_nothing_is_written_after_the_block(tmp_path):
    with diag.open_log(tmp_path) as log_path:
        TEST_INSIDE.log()
    TEST_OUTSIDE.log()
    types = [m.get("message_type") for m in read_log(log_path)]
    assert "codex:test:inside" in types and "codex:test:outside" not in types


def test_unwritable_dir_warns_once_and_continues(tmp_path, capsys):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    log_dir = blocker / "logs"
    with diag.open_log(log_dir, warn=ConsoleUI().warning) as log_path:
        with diag.command_action("login", "browser", issuer="https://auth.example") as action:
            TEST_STILL_RUNNING.log(code="SECRET")
            action.add_success_fields(outcome="success", exit_code=0)
    assert log_path is None
    err = capsys.readouterr().err
    assert err.splitlines() == [f"warning: cannot write codex-login.log in {log_dir}: Not a directory; continuing without a log"]


def test_unwritable_file_warns_to_given_stream(tmp_path, capsys):
    (tmp_path / diag.LOG_FILE_NAME).mkdir()  # a directory where the file should be
    stream = io.StringIO()
    with diag.open_log(tmp_path, warn=ConsoleUI(stream).warning) as log_path:
        TEST_X.log()
    assert log_path is None
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"warning: cannot write codex-login.log in {tmp_path}: ")
    assert lines[0].endswith("; continuing without a log")
    assert capsys.readouterr().err == ""


def test_symlinked_log_file_is_refused(tmp_path, capsys):
    target = tmp_path / "elsewhere"
    target.write_text("")
    (tmp_path / diag.LOG_FILE_NAME).symlink_to(target)
    with diag.open_log(tmp_path, warn=ConsoleUI().warning) as log_path:
        TEST_X.log()
    assert log_path is None
    assert target.read_text() == ""
    assert len(capsys.readouterr().err.splitlines()) == 1


def test_scrubbing_destination_never_raises_and_reports_once():
    errors: list[BaseException] = []

    def broken(message: dict) -> None:
        raise OSError(28, "No space left on device")

    destination = diag.ScrubbingDestination(broken, on_error=errors.append)
    destination({"message_type": "codex:x"})
    destination({"message_type": "codex:y"})
    assert len(errors) == 1

    seen: list[dict] = []
    quiet = diag.ScrubbingDestination(seen.append)
    quiet({"message_type": "codex:x", "code": "c", "has_code": True})
    quiet(None)  # type: ignore[arg-type]
    assert seen == [{"message_type": "codex:x", "code": REDACTED, "has_code": True}, {"message_type": "codex:scrub_failure"}]


def test_write_failure_after_open_warns_once(tmp_path, capsys, monkeypatch):
    def disk_full(self, message):
        raise OSError(28, "No space left on device")

    with diag.open_log(tmp_path, warn=ConsoleUI().warning) as log_path:
        assert log_path is not None
        monkeypatch.setattr(destination.FileDestination, "__call__", disk_full)
        TEST_A.log()
        TEST_B.log()
        monkeypatch.undo()
    assert capsys.readouterr().err.splitlines() == [
        f"warning: cannot write codex-login.log in {tmp_path}: No space left on device; continuing without a log"
    ]


# --------------------------------------------------------------------------------------------
# Library loggers
# --------------------------------------------------------------------------------------------


def test_httpx_info_logging_emits_no_secret(tmp_path, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    root_handler = logging.StreamHandler()  # what a careless basicConfig(level=DEBUG) would add
    logging.getLogger().addHandler(root_handler)
    secret = "HTTPXSECRET42"
    try:
        with diag.open_log(tmp_path) as log_path:
            url = f"https://user:{secret}@auth.example/oauth/token?code={secret}&state={secret}"
            with httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200))) as client:
                client.post(url, data={"code": secret})
    finally:
        logging.getLogger().removeHandler(root_handler)
    captured = capsys.readouterr()
    assert secret not in captured.err + captured.out
    assert secret not in caplog.text
    assert "HTTP Request" not in captured.err + caplog.text
    assert secret not in log_path.read_text()
    for name in destination.LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        assert logger.level == logging.WARNING and logger.propagate is False


def test_quiet_library_loggers_is_idempotent():
    diag.quiet_library_loggers()
    diag.quiet_library_loggers()
    for name in destination.LIBRARY_LOGGERS:
        ours = [h for h in logging.getLogger(name).handlers if getattr(h, "_codexlogin_quiet", False)]
        assert len(ours) == 2  # (pytest attaches its own capture handlers to non-propagating loggers)


def test_library_exceptions_are_forwarded_scrubbed(tmp_path):
    with diag.open_log(tmp_path) as log_path:
        try:
            raise RuntimeError("ASGI blew up on /auth/callback?code=LIBSECRET1")
        except RuntimeError:
            logging.getLogger("hypercorn.error").exception("Error in ASGI Framework")
    text = log_path.read_text()
    assert "LIBSECRET1" not in text
    (message,) = [m for m in read_log(log_path) if m.get("message_type") == LIBRARY_LOG]
    assert message["level"] == "ERROR" and message["exception"] == "builtins.RuntimeError"
    assert "code=<redacted>" in message["traceback"]


# --------------------------------------------------------------------------------------------
# Helpers and trio behaviour
# --------------------------------------------------------------------------------------------


def _declared_types() -> list[eliot.ActionType | MessageType]:
    return [value for value in vars(schema).values() if isinstance(value, (eliot.ActionType, MessageType))] + list(
        schema.DOCTOR_CHECKS.values()
    )


def test_generic_types_must_be_namespaced():
    # The flows log by calling declared types, and every declared one is namespaced `codex:<something>`.
    for declared in _declared_types():
        name = getattr(declared, "action_type", None) or declared.message_type
        assert name.startswith("codex:") and len(name) > len("codex:"), name
    # Reserved field names are still refused.
    with pytest.raises(ValueError):
        TEST_X_ACTION(logger="mine")
    with pytest.raises(ValueError):
        TEST_X.log(task_uuid="forged")


def test_schema_constants():
    assert schema.ACTION_TYPES >= {
        "codex:command",
        "codex:listener",
        "codex:callback",
        "codex:token_exchange",
        "codex:api_key_exchange",
        "codex:save_credentials",
    }
    # The types the flows used to name ad hoc are declared too now.
    assert schema.ACTION_TYPES - {
        "codex:command",
        "codex:listener",
        "codex:callback",
        "codex:token_exchange",
        "codex:api_key_exchange",
        "codex:save_credentials",
    } == {
        "codex:device_authorization",
        "codex:device_poll",
        "codex:revoke",
        "codex:refresh",
        "codex:issuer_probe",
        "codex:bundle:write",
        *(f"codex:doctor:{name}" for name in schema.DOCTOR_CHECK_NAMES),
    }
    assert {STATE_MISMATCH, OAUTH_ERROR} == {"codex:callback:state_mismatch", "codex:callback:oauth_error"}
    assert {LIBRARY_LOG, schema.SCRUB_FAILURE.message_type} <= schema.MESSAGE_TYPES
    # Every declared type is documented (its description) and listed in ACTION_TYPES / MESSAGE_TYPES.
    declared = _declared_types()
    assert {getattr(t, "action_type", None) or t.message_type for t in declared} == schema.ACTION_TYPES | schema.MESSAGE_TYPES
    for t in declared:
        assert t.description.strip(), t


async def test_trio_tasks_share_the_task_and_timeouts_end_as_cancelled(tmp_path, autojump_clock):
    async def child(n: int) -> None:
        TEST_CHILD.log(n=n)

    with diag.open_log(tmp_path) as log_path:
        with diag.command_action("login", "browser") as root:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(child, 1)
                nursery.start_soon(child, 2)
            with trio.move_on_after(300):
                with schema.LISTENER(host="127.0.0.1", port=0):
                    await trio.sleep_forever()
            with schema.SAVE_CREDENTIALS(path=str(tmp_path / "auth.json"), mode="file"):
                pass
    messages = task_messages(read_log(log_path), root.task_uuid)
    assert sorted(m["n"] for m in messages if m.get("message_type") == "codex:test:child") == [1, 2]
    listener = [m for m in messages if m.get("action_type") == LISTENER]
    assert listener[0]["host"] == "127.0.0.1" and listener[0]["port"] == 0
    assert listener[1]["action_status"] == "failed"
    assert listener[1]["exception"] == "trio.Cancelled"
    save = [m for m in messages if m.get("action_type") == SAVE_CREDENTIALS]
    assert save[0]["mode"] == "file" and save[1]["action_status"] == "succeeded"
