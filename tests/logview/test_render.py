"""`codex login log`: reading codex-login.log back (codexlogin.logview, codexlogin.cli.log).

Rules for this module: every input log is built here from fixed UUIDs and timestamps; golden
renderings live in tests/golden/ (plain, no colour, fixed width) — regenerate them with
`UPDATE_GOLDEN=1 pytest tests/logview/test_render.py` and review the diff before committing.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cyclopts import App

from codexlogin.cli import log as logcmd
from codexlogin.logview import tree
from codexlogin.logview.render import render
from codexlogin.logview.select import Options, Stats, parse_time
from codexlogin.logview.summary import outcome_words
from codexlogin.logview.tree import TreeBuilder

GOLDEN = Path(__file__).parent.parent / "golden"
ROOT = Path(__file__).resolve().parents[2]
T0 = 1_790_000_000.0  # 2026-09-21T14:13:20Z

U_OK = "11111111-1111-4111-8111-111111111111"
U_DENIED = "22222222-2222-4222-8222-222222222222"
U_TOKEN = "33333333-3333-4333-8333-333333333333"
U_CANCEL = "44444444-4444-4444-8444-444444444444"
U_UNFINISHED = "55555555-5555-4555-8555-555555555555"
ISSUER = "https://auth.openai.com"


class Task:
    """Messages of one eliot task with deterministic timestamps (+0.25 s each)."""

    def __init__(self, uuid: str, start: float) -> None:
        self.uuid, self.t, self.messages = uuid, start, []

    def _add(self, level: list[int], **fields: object) -> Task:
        self.messages.append({"task_uuid": self.uuid, "task_level": level, "timestamp": self.t, **fields})
        self.t += 0.25
        return self

    def start(self, level: list[int], kind: str, **fields: object) -> Task:
        return self._add(level, action_type=kind, action_status="started", **fields)

    def ok(self, level: list[int], kind: str, **fields: object) -> Task:
        return self._add(level, action_type=kind, action_status="succeeded", **fields)

    def fail(self, level: list[int], kind: str, exception: str, reason: str, **fields: object) -> Task:
        return self._add(level, action_type=kind, action_status="failed", exception=exception, reason=reason, **fields)

    def msg(self, level: list[int], kind: str, **fields: object) -> Task:
        return self._add(level, message_type=kind, **fields)


def _login(uuid: str, start: float) -> Task:
    return (
        Task(uuid, start)
        .start([1], "codex:command", command="login", flow="browser", version="0.1.0", issuer=ISSUER)
        .start([2, 1], "codex:listener", host="127.0.0.1", port=1455)
        .ok([2, 2], "codex:listener")
    )


def _callback(task: Task, level: int, **flags: bool) -> Task:
    fields = {"path": "/auth/callback", "has_code": True, "has_state": True, "has_error": False, "state_valid": True}
    return task.start([level, 1], "codex:callback", **{**fields, **flags})


def run_success(start: float = T0) -> Task:
    task = _callback(_login(U_OK, start), 3).ok([3, 2], "codex:callback")
    return (
        task.start(
            [4, 1],
            "codex:token_exchange",
            issuer=ISSUER,
            token_endpoint=f"{ISSUER}/oauth/token",
            redirect_uri="http://localhost:1455/auth/callback",
        )
        .ok([4, 2], "codex:token_exchange", status=200)
        .start([5, 1], "codex:save_credentials", store="file")
        .ok([5, 2], "codex:save_credentials")
        .ok([6], "codex:command", outcome="success", exit_code=0)
    )


def run_denied(start: float = T0 + 100) -> Task:
    task = _callback(_login(U_DENIED, start), 3, has_code=False, has_error=True)
    return (
        task.msg([3, 2], "codex:callback:oauth_error", error_code="access_denied", has_error_description=True)
        .ok([3, 3], "codex:callback")
        .fail(
            [4],
            "codex:command",
            "codexlogin.errors.Denied",
            "sign-in was denied: access_denied",
            outcome="denied",
            exit_code=3,
            error_code="access_denied",
        )
    )


def run_token_failure(start: float = T0 + 200) -> Task:
    task = _callback(_login(U_TOKEN, start), 3).ok([3, 2], "codex:callback")
    return (
        task.start(
            [4, 1],
            "codex:token_exchange",
            issuer=ISSUER,
            token_endpoint=f"{ISSUER}/oauth/token",
            redirect_uri="http://localhost:1455/auth/callback",
        )
        .fail(
            [4, 2],
            "codex:token_exchange",
            "codexlogin.errors.TokenExchangeFailed",
            "token exchange failed: invalid_grant",
            status=400,
            error_code="invalid_grant",
            error_message="Invalid authorization code",
            outcome="token_exchange_failed",
            exit_code=4,
        )
        # The failure is logged once, where it happened; the root says where, and the run's result.
        ._add(
            [5],
            action_type="codex:command",
            action_status="failed",
            failed_in="codex:token_exchange",
            outcome="token_exchange_failed",
            exit_code=4,
        )
    )


def run_cancelled(start: float = T0 + 300) -> Task:
    task = _callback(_login(U_CANCEL, start), 3)
    return task.fail([3, 2], "codex:callback", "trio.Cancelled", "Cancelled").fail(
        [4], "codex:command", "trio.Cancelled", "Cancelled", outcome="cancelled", exit_code=130
    )


def run_unfinished(start: float = T0 + 400) -> Task:
    return _callback(_login(U_UNFINISHED, start), 3).msg([3, 2], "codex:callback:state_mismatch", severity="warning")


RUNS = {
    "success": run_success,
    "denied": run_denied,
    "token_exchange_failed": run_token_failure,
    "cancelled": run_cancelled,
    "unfinished": run_unfinished,
}


def lines(*tasks: Task) -> list[str]:
    return [json.dumps(m) + "\n" for t in tasks for m in t.messages]


def show(text_lines: list[str], **options: object) -> tuple[str, Stats]:
    out = io.StringIO()
    stats = render([text_lines], out, Options(**options))  # type: ignore[arg-type]
    return out.getvalue(), stats


def golden(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def all_runs() -> list[Task]:
    return [make() for make in RUNS.values()]


# --- golden renderings ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(RUNS))
def test_golden_tree(name):
    text, stats = show(lines(RUNS[name]()))
    assert stats.runs == 1 and stats.skipped == 0
    golden(name, text)


def test_golden_summary_lists_runs_in_time_order_with_failures_marked_then_a_tally():
    text, _ = show(lines(*all_runs()), mode="summary")
    golden("summary", text)
    rows = text.splitlines()
    assert rows[0].startswith("  START")
    assert [row[OUTCOME_COLUMN:] for row in rows[1:-1]] == [
        "signed in",
        "denied: access_denied",
        "exchange failed: invalid_grant",
        "cancelled",
        "never finished",
    ]
    assert [row[2:].split()[2] for row in rows[1:-1]] == ["11111111", "22222222", "33333333", "44444444", "55555555"]
    assert [row[0] for row in rows[1:-1]] == [" ", "!", "!", "!", "!"]  # failed, cancelled, unfinished: marked
    assert rows[-1] == "5 runs: 1 succeeded, 2 failed, 1 cancelled, 1 unfinished"
    assert max(map(len, rows)) <= 80


OUTCOME_COLUMN = 50  # mark(1) START(14) RUN(8) COMMAND(13) TIME(5), a space after the mark, two after each


def test_summary_fits_80_columns_whatever_the_error():
    long_error = (
        Task("77777777-7777-4777-8777-777777777777", T0)
        .start([1], "codex:command", command="login", flow="browser-with-a-very-long-flow-name")
        .fail([2], "codex:command", "x.Error", "why", outcome="token_exchange_failed", error_code="e" * 200)
    )
    text, _ = show(lines(long_error), mode="summary")
    row = text.splitlines()[1]
    assert len(row) == 80 and row.endswith("…")
    outcome = row[OUTCOME_COLUMN + 9 :]  # the command column widened to its 22-column limit
    assert outcome.startswith("exchange failed: eee"), row
    assert "login browser-with-a…" not in row and "login…" in row  # the command is cut at a word, not inside one


def test_summary_words_never_show_a_class_name_and_say_the_http_status():
    html_502 = (
        Task("88888888-8888-4888-8888-888888888888", T0)
        .start([1], "codex:command", command="login", flow="browser")
        .start([2, 1], "codex:token_exchange")
        .fail([2, 2], "codex:token_exchange", "codexlogin.errors.NetworkError", "HTTP 502", outcome="network_error", status=502)
        .fail(
            [3],
            "codex:command",
            "codexlogin.errors.NetworkError",
            "x",
            failed_in="codex:token_exchange",
            outcome="network_error",
            exit_code=10,
        )
    )
    check = (
        Task("99999999-9999-4999-8999-999999999999", T0 + 1)
        .start([1], "codex:command", command="login status", flow="check")
        ._add(
            [2],
            action_type="codex:command",
            action_status="failed",
            exception="codexlogin.errors.NetworkError",
            reason="x",
            outcome="network_error",
            kind="connect",
        )
    )
    text, _ = show(lines(html_502, check), mode="summary")
    rows = text.splitlines()
    assert rows[1].endswith("network error: HTTP 502"), rows
    assert "login status check" in rows[2] and rows[2].endswith("network error: connect"), rows
    assert "codexlogin." not in text


@pytest.mark.parametrize(
    "outcome, command, status, words",
    [
        ("success", "login", "succeeded", "signed in"),
        ("success", "logout", "succeeded", "logged out"),
        ("denied", "login", "failed", "denied"),
        ("timed_out", "login", "failed", "timed out"),
        ("failed", "login", "cancelled", "cancelled"),
        ("port_unavailable", "login", "failed", "port busy"),
        ("something_new", "login", "failed", "something new"),
    ],
)
def test_outcome_words(outcome, command, status, words):
    assert outcome_words(outcome, command, status) == words


def test_plain_output_is_ascii_and_marks_failures():
    text, _ = show(lines(*all_runs()))
    assert text.isascii() and "\x1b" not in text
    assert "codex:command/1 => [FAILED]" in text
    assert "codex:token_exchange/4/1 => [FAILED]" in text
    assert "codex:command/1 => [CANCELLED]" in text  # trio.Cancelled is not a failure
    assert "codex:command/1 => [UNFINISHED]" in text
    assert "2026-09-21T14:13:20.000Z" in text


def test_keyboard_interrupt_and_outcome_cancelled_render_as_cancelled():
    task = (
        Task(U_CANCEL, T0)
        .start([1], "codex:command", command="login", flow="device", version="0.1.0")
        .start([2, 1], "codex:device_poll")
        .fail([2, 2], "codex:device_poll", "builtins.KeyboardInterrupt", "")
        .fail([3], "codex:command", "codexlogin.errors.Cancelled", "login cancelled (Ctrl-C)", outcome="cancelled", exit_code=130)
    )
    text, _ = show(lines(task))
    assert text.count("[CANCELLED]") == 2 and "[FAILED]" not in text


def test_colour_path_uses_rich_markup_safely():
    task = Task(U_OK, T0).start([1], "app:act", note="[red]not markup[/red]").fail([2], "app:act", "x.Error", "boom")
    out = io.StringIO()
    render([lines(task)], out, Options(color=True))
    text = out.getvalue()
    assert "└── app:act/1 ⇒ ✗ FAILED" in text
    assert "note: [red]not markup[/red]" in text


def test_local_time_flag_shows_an_offset(monkeypatch):
    text, _ = show(lines(run_success()), local=True)
    assert "2026-09-21T14:13:20.000Z" not in text
    assert "T" in text.splitlines()[1]


def test_json_mode_nests_children_and_keeps_structure():
    text, _ = show(lines(run_token_failure(), run_success()), mode="json")
    trees = [json.loads(line) for line in text.splitlines()]
    assert [t["task_uuid"] for t in trees] == [U_TOKEN, U_OK]
    failed = trees[0]
    assert failed["failed"] is True and failed["status"] == "failed"
    assert failed["end_fields"]["outcome"] == "token_exchange_failed"
    exchange = failed["children"][2]
    assert exchange["type"] == "codex:token_exchange" and exchange["end_fields"]["status"] == 400
    assert [c["task_level"] for c in failed["children"]] == [[2, 1], [3, 1], [4, 1]]


# --- filters keep whole trees ------------------------------------------------------------------


def _tree(name: str) -> str:
    return (GOLDEN / f"{name}.txt").read_text(encoding="utf-8")


def test_failed_filter_keeps_runs_with_any_failure_whole():
    ok_with_inner_failure = (
        Task("66666666-6666-4666-8666-666666666666", T0 + 500)
        .start([1], "codex:command", command="login", flow="browser", version="0.1.0")
        .start([2, 1], "codex:api_key_exchange")
        .fail([2, 2], "codex:api_key_exchange", "codexlogin.oauth.client.IssuerError", "no api key", status=403)
        .ok([3], "codex:command", outcome="success", exit_code=0)
    )
    text, stats = show(lines(*all_runs(), ok_with_inner_failure), failed=True)
    assert stats.runs == 5
    for name in ("denied", "token_exchange_failed", "cancelled", "unfinished"):
        assert _tree(name) in text
    assert U_OK not in text
    assert "codex:api_key_exchange/2/1 => [FAILED]" in text
    summary, _ = show(lines(ok_with_inner_failure), mode="summary")
    assert "signed in: codex:api_key_exch…" in summary


def test_last_keeps_the_most_recent_runs_in_start_order():
    text, _ = show(lines(*all_runs()), last=2)
    assert text == _tree("cancelled") + _tree("unfinished")


def test_task_filter_accepts_a_prefix_and_keeps_the_tree_whole():
    text, _ = show(lines(*all_runs()), task="33333333")
    assert text == _tree("token_exchange_failed")
    text, _ = show(lines(*all_runs()), task=U_DENIED.upper())
    assert text == _tree("denied")


def test_since_and_until_select_runs_by_start_time():
    since = parse_time("2026-09-21T14:15:00Z")
    until = parse_time("2026-09-21T14:18:00+00:00")
    text, stats = show(lines(*all_runs()), since=since, until=until)
    assert stats.runs == 2 and text == _tree("denied") + _tree("token_exchange_failed")


def test_parse_time_forms():
    now = 1_000_000.0
    assert parse_time("30m", now=now) == now - 1800
    assert parse_time("2h", now=now) == now - 7200
    assert parse_time("7d", now=now) == now - 7 * 86400
    assert parse_time("2026-09-21") == parse_time("2026-09-21T00:00:00Z")
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_time("yesterday")


def test_grep_is_case_insensitive_over_fields_and_keeps_the_tree():
    text, _ = show(lines(*all_runs()), grep="INVALID_GRANT")
    assert text == _tree("token_exchange_failed")
    text, _ = show(lines(*all_runs()), grep="state_mismatch")
    assert text == _tree("unfinished")
    text, stats = show(lines(*all_runs()), grep="no such text")
    assert text == "" and stats.runs == 0


# --- robustness ------------------------------------------------------------------------------


def test_interleaved_tasks_are_separated():
    a, b = run_success(), run_denied()
    mixed = [m for pair in zip(a.messages, b.messages, strict=False) for m in pair]
    mixed += a.messages[len(b.messages) :]
    text, stats = show([json.dumps(m) + "\n" for m in mixed])
    assert stats.runs == 2
    assert text == _tree("denied") + _tree("success")  # in the order the runs ended


def test_malformed_and_truncated_lines_are_counted_not_fatal():
    good = lines(run_success(), run_denied())
    truncated = lines(run_token_failure())
    data = [
        "not json at all\n",
        good[0],
        "\n",
        '{"no": "eliot keys"}\n',
        "[1, 2]\n",
        '{"task_uuid": "x", "task_level": []}\n',
        *good[1:],
        *truncated[:-1],
        truncated[-1][:25],  # the writer died mid-line: no newline, cut JSON
    ]
    text, stats = show(data)
    assert stats.skipped == 5
    assert _tree("success") in text and _tree("denied") in text
    assert f"{U_TOKEN}\n+-- codex:command/1 => [UNFINISHED]" in text


def test_messages_out_of_order_and_missing_fields():
    task = (
        Task("77777777-7777-4777-8777-777777777777", T0)
        .msg([3], "app:late")
        .msg([2], "app:early")
        ._add([4, 2], action_type="app:child", action_status="succeeded")  # its start is missing
        .ok([5], "app:root")  # the root start is missing too
    )
    for m in task.messages[:2]:
        del m["timestamp"]
    text, _ = show(lines(task))
    assert text.index("app:early/2") < text.index("app:late/3") < text.index("app:child/4/1")
    assert "app:late/3 -" in text


def test_foreign_eliot_log_renders_generically():
    foreign = [
        {"task_uuid": "f-1", "task_level": [1], "timestamp": T0, "message_type": "twisted:log", "log_text": "hi"},
        {
            "task_uuid": "f-2",
            "task_level": [1],
            "timestamp": T0,
            "action_type": "http:request",
            "action_status": "started",
            "method": "GET",
            "nested": {"a": [1, 2]},
        },
        {
            "task_uuid": "f-2",
            "task_level": [2, 1],
            "timestamp": T0 + 1,
            "action_type": "db:query",
            "action_status": "started",
            "sql": "select 1",
        },
        {
            "task_uuid": "f-2",
            "task_level": [2, 2],
            "timestamp": T0 + 2,
            "message_type": "eliot:traceback",
            "traceback": "Traceback (most recent call last):\n  boom\nValueError: x",
            "exception": "builtins.ValueError",
        },
        {
            "task_uuid": "f-2",
            "task_level": [2, 3],
            "timestamp": T0 + 2,
            "action_type": "db:query",
            "action_status": "failed",
            "exception": "builtins.ValueError",
            "reason": "x",
        },
        {
            "task_uuid": "f-2",
            "task_level": [3],
            "timestamp": T0 + 3,
            "action_type": "http:request",
            "action_status": "succeeded",
            "code_status": 200,
        },
    ]
    data = [json.dumps(m) + "\n" for m in foreign]
    text, stats = show(data)
    assert stats.runs == 2
    assert "f-1\n+-- twisted:log/1 2026-09-21T14:13:20.000Z\n      log_text: hi\n" in text
    assert "+-- http:request/1 => succeeded" in text and 'nested: {"a":[1,2]}' in text
    assert "      traceback: Traceback (most recent call last):\n" in text  # continuation lines indented
    summary, _ = show(data, mode="summary")
    assert "http:request" in summary and "twisted:log" in summary
    failed, _ = show(data, failed=True)  # the inner failure and the traceback count
    assert "http:request" in failed and "twisted:log" not in failed


def test_control_characters_cannot_drive_the_terminal():
    task = Task(U_OK, T0).msg([1], "app:msg", note="\x1b[2Jcleared\rback\ttab")
    text, _ = show(lines(task))
    assert "\x1b" not in text and "\r" not in text
    assert "note: \\x1b[2Jcleared\\rback\\ttab" in text


def test_memory_holds_only_open_tasks():
    builder = TreeBuilder()
    for i in range(3000):
        for line in lines(run_success(T0 + i)):
            builder.feed(line.replace(U_OK, f"{i:08d}-0000-4000-8000-000000000000"))
    assert builder.open == {}
    for line in lines(run_unfinished()):
        builder.feed(line)
    assert len(builder.open) == 1


def test_long_silent_tasks_are_given_up_as_unfinished_and_shown_last(monkeypatch):
    monkeypatch.setattr(tree, "STALE_AFTER", 10)
    data = lines(run_unfinished()) + [
        line.replace(U_OK, f"{i:08d}-0000-4000-8000-000000000000")
        for i in range(600)
        for line in lines(run_success(T0 + 1000 + i))
    ]
    builder = TreeBuilder()
    expired = False
    for line in data:
        builder.feed(line)
        expired = expired or bool(builder.stale)
    assert expired and U_UNFINISHED not in builder.open
    text, stats = show(data, mode="summary")
    assert stats.runs == 601 and text.splitlines()[1][OUTCOME_COLUMN:] == "never finished"
    text, _ = show(data)
    assert text.endswith(_tree("unfinished"))


# --- scrubbing -------------------------------------------------------------------------------

SECRETS = ["SECRETCODE123", "ACCESSTOKEN456", "SECRETSTATE789", "BEARERCRED000"]


def planted() -> list[str]:
    messages = [
        {
            "task_uuid": "f-9",
            "task_level": [1],
            "timestamp": T0,
            "action_type": "old:login",
            "action_status": "started",
            "code": "SECRETCODE123",
            "access_token": "ACCESSTOKEN456",
            "url": "http://localhost:1455/auth/callback?code=SECRETCODE123&state=SECRETSTATE789",
            "headers": {"Authorization": "Bearer BEARERCRED000"},
        },
        {
            "task_uuid": "f-9",
            "task_level": [2],
            "timestamp": T0 + 1,
            "message_type": "old:debug",
            "text": "sent Authorization: Bearer BEARERCRED000 with code=SECRETCODE123",
        },
        {
            "task_uuid": "f-9",
            "task_level": [3],
            "timestamp": T0 + 2,
            "action_type": "old:login",
            "action_status": "failed",
            "exception": "x.Error",
            "reason": "bad code=SECRETCODE123",
            "detail": "refresh failed: token=ACCESSTOKEN456",
            "tokens": ["ACCESSTOKEN456"],
        },
    ]
    return [json.dumps(m) + "\n" for m in messages]


@pytest.mark.parametrize(
    "options",
    [{}, {"mode": "summary"}, {"mode": "json"}, {"color": True}, {"grep": "redacted"}, {"failed": True}],
    ids=["tree", "summary", "json", "color", "grep", "failed"],
)
def test_planted_secrets_never_shown(options):
    text, stats = show(planted(), **options)
    assert stats.runs == 1
    for secret in SECRETS:
        assert secret not in text
    if options.get("mode") != "summary":
        assert "<redacted>" in text


@pytest.mark.parametrize("needle", [*SECRETS, "secretcode"])
def test_grep_matches_scrubbed_values_only(needle):
    text, stats = show(planted(), grep=needle)
    assert stats.runs == 0 and text == ""


# --- the command --------------------------------------------------------------------------------


def write_log(path: Path, *tasks: Task) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines(*tasks)), encoding="utf-8")
    return path


def test_command_defaults_to_the_configured_log(tmp_path, capsys):
    write_log(tmp_path / "logs" / "codex-login.log", run_success())
    assert logcmd.log(log_dir=tmp_path / "logs") == 0
    assert capsys.readouterr().out == _tree("success")


def test_command_reads_default_codex_home_log(capsys):
    from codexlogin.config import load_settings

    write_log(load_settings().log_file, run_denied())
    assert logcmd.log(summary=True) == 0
    assert "access_denied" in capsys.readouterr().out


def test_command_missing_log_is_one_line_and_exit_1(tmp_path, capsys):
    missing = tmp_path / "nope.log"
    assert logcmd.log([str(missing)]) == 1
    err = capsys.readouterr().err
    assert err == f"error: no log at {missing} (run codex login first or pass a path)\n"


@pytest.mark.parametrize(
    "kwargs", [{"since": "yesterday"}, {"until": "2026-13-40"}, {"last": 0}, {"summary": True, "json": True}]
)
def test_command_usage_errors_exit_2(tmp_path, capsys, kwargs):
    path = write_log(tmp_path / "a.log", run_success())
    assert logcmd.log([str(path)], **kwargs) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_command_merges_files_and_stdin_with_tasks_spanning_files(tmp_path, capsys, monkeypatch):
    denied = lines(run_denied())
    first = tmp_path / "a.log"
    first.write_text("".join(lines(run_success()) + denied[:3]) + "garbage\n")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("".join(denied[3:]).encode())))
    assert logcmd.log([str(first), "-"]) == 0
    captured = capsys.readouterr()
    assert captured.out == _tree("success") + _tree("denied")
    assert captured.err == "warning: skipped 1 lines that are not eliot JSON\n"


def test_command_registered_by_import_path_in_a_cyclopts_app(tmp_path, capsys):
    path = write_log(tmp_path / "a.log", *all_runs())
    app = App(result_action="return_value")
    app.command("codexlogin.cli.log:log", name="log")
    assert app(["log", str(path), "--failed", "--last", "1", "--no-color"]) == 0
    assert capsys.readouterr().out == _tree("unfinished")
    assert app(["log", str(path), "--summary", "--grep", "denied"]) == 0
    assert "access_denied" in capsys.readouterr().out

    app = App(result_action="return_value")
    app.command("codexlogin.cli.log:log", name="log")
    with pytest.raises(SystemExit) as exit_info:
        app(["log", "--no-failed"])  # no negative flags
    assert exit_info.value.code == 2
    capsys.readouterr()
    app(["log", "--help"])
    help_text = capsys.readouterr().out
    for flag in (
        "--last",
        "--task",
        "--failed",
        "--since",
        "--until",
        "--grep",
        "--summary",
        "--json",
        "--local",
        "--no-color",
        "--log-dir",
    ):
        assert flag in help_text
    assert "in start-time order, failed runs marked" in " ".join(help_text.replace("│", " ").split())


def test_cli_wiring(tmp_path):
    path = write_log(tmp_path / "a.log", run_success())
    result = subprocess.run(
        [sys.executable, "-m", "codexlogin", "login", "log", str(path), "--no-color"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == _tree("success")


# `python -m codexlogin` and the `codex` console script (codexlogin.cli:main); the per-module
# `python -m codexlogin.cli.log` entry point is gone, the command is reached through the CLI.
@pytest.mark.parametrize(
    "module", [["-m", "codexlogin", "login", "log"], ["-c", "from codexlogin.cli import main; main()", "login", "log"]]
)
@pytest.mark.parametrize("mode", [[], ["--summary"], ["--json"]])
def test_closed_pipe_ends_quietly_with_exit_0(tmp_path, module, mode):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import gen_log
    finally:
        sys.path.pop(0)
    path = tmp_path / "big.log"
    with path.open("w") as handle:
        gen_log.generate(3000, handle)
    child = subprocess.Popen(
        [sys.executable, *module, str(path), *mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert child.stdout is not None and child.stderr is not None
    assert child.stdout.readline()  # like `| head -1`
    child.stdout.close()
    err = child.stderr.read().decode()
    child.stderr.close()
    assert child.wait(timeout=60) == 0
    assert "Traceback" not in err and "Exception ignored" not in err
    assert err == ""


# --- --format text: the reference CLI's tracing lines ---------------------------------------------

from codexlogin.logview import text as textview  # noqa: E402


def show_text(text_lines: list[str], **options: object) -> str:
    return show(text_lines, mode="text", formatter=textview.render_text, **options)[0]


def test_golden_text_format():
    text = show_text(lines(*all_runs()))
    golden("text", text)
    assert text.isascii()


def test_text_format_lines_read_like_the_reference_cli():
    denied = show_text(lines(run_denied())).splitlines()
    assert (
        denied[0]
        == "2026-09-21T14:15:00.000000Z  INFO codex_cli::login: starting browser login flow issuer=https://auth.openai.com"
    )
    callback = next(i for i, line in enumerate(denied) if "received login callback" in line)
    assert denied[callback].endswith(
        "Z  INFO codex_login::server: received login callback path=/auth/callback "
        "has_code=false has_state=true has_error=true state_valid=true"
    )
    assert denied[callback + 1].endswith(
        ' WARN codex_login::server: oauth callback returned error error_code="access_denied" has_error_description=true'
    )
    ok = show_text(lines(run_success()))
    assert (
        "INFO codex_login::server: starting oauth token exchange issuer=https://auth.openai.com "
        "token_endpoint=https://auth.openai.com/oauth/token redirect_uri=http://localhost:1455/auth/callback"
    ) in ok
    assert "INFO codex_login::server: oauth token exchange succeeded status=200 OK\n" in ok
    failed = show_text(lines(run_token_failure()))
    assert (
        'ERROR codex_login::server: oauth token exchange failed status=400 Bad Request outcome=token_exchange_failed exit_code=4 error_code="invalid_grant"'
        in failed
    )
    assert failed.count(" ERROR ") == 1 and "WARN codex_cli::login: login flow failed outcome=token_exchange_failed" in failed
    assert "WARN codex_cli::login: login flow cancelled" in show_text(lines(run_cancelled()))
    assert "WARN codex_cli::login: login flow never finished" in show_text(lines(run_unfinished()))


def test_every_declared_type_has_its_own_text_line():
    """No declared action or message falls through to the generic `codexlogin` line."""
    from codexlogin.diagnostics import names, schema

    for kind in schema.ACTION_TYPES - set(names.DOCTOR_CHECKS.values()) - {schema.COMMAND.action_type}:
        assert kind in textview._STARTS and kind in textview._ENDS, kind
    for kind in schema.MESSAGE_TYPES - {schema.LIBRARY_LOG.message_type}:
        assert kind in textview._MESSAGES, kind


def test_text_format_scrubs_and_escapes():
    text = show_text(
        planted()
        + [
            json.dumps({"task_uuid": "e-1", "task_level": [1], "timestamp": T0, "message_type": "x:y", "note": "\x1b[31mred"})
            + "\n"
        ]
    )
    for secret in SECRETS:
        assert secret not in text
    assert "\x1b" not in text and "<redacted>" in text


def test_command_format_text(tmp_path, capsys):
    path = write_log(tmp_path / "a.log", run_success())
    assert logcmd.log([str(path)], format="text") == 0
    assert capsys.readouterr().out == show_text(lines(run_success()))


# --- filters that match nothing, wrapping, the run reference ------------------------------------------


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"grep": "nothing-like-this"}, "--grep nothing-like-this"),
        ({"task": "9999"}, "--task 9999"),
        ({"since": "2099-01-01"}, "--since"),
    ],
)
def test_filters_that_match_nothing_say_so_and_exit_1(tmp_path, capsys, kwargs, words):
    path = write_log(tmp_path / "a.log", run_success())
    assert logcmd.log([str(path)], **kwargs) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"no runs match {words} in {path}\n"
    assert logcmd.log([str(path)], summary=True, **kwargs) == 1
    assert "no runs match" in capsys.readouterr().err


def test_failed_filter_on_a_log_without_failures_exits_1(tmp_path, capsys):
    path = write_log(tmp_path / "a.log", run_success())
    assert logcmd.log([str(path)], failed=True) == 1
    assert capsys.readouterr().err == f"no runs match --failed in {path}\n"
    assert logcmd.log([str(path)]) == 0  # no filter: not a "no match"


def test_long_field_values_wrap_under_their_line_at_the_width():
    task = Task(U_OK, T0).start(
        [1], "codex:command", command="login", flow="browser", issuer="https://auth.example.com/" + "a" * 50 + " " + "b" * 30
    )
    task.ok([2], "codex:command", outcome="success")
    text, _ = show(lines(task), width=40)
    body = text.splitlines()
    assert max(map(len, body[1:])) <= 40 or body[1].startswith("+-- codex:command")  # the head line is not wrapped
    fields = [line for line in body if line.startswith("    ")]
    issuer = [i for i, line in enumerate(fields) if "issuer:" in line][0]
    assert all(len(line) <= 40 for line in fields)
    assert fields[issuer + 1].startswith("        ")  # a continuation: four more spaces
    joined = "".join(line.strip() for line in fields[issuer : issuer + 4])
    assert "a" * 50 in joined and "b" * 30 in joined
    assert show(lines(task))[0].count("\n") < text.count("\n")  # no width: no wrapping


def test_command_wraps_at_the_terminal_width_only_on_a_terminal(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("COLUMNS", "44")
    assert logcmd._width(Terminal()) == 44
    assert logcmd._width(io.StringIO()) is None  # a pipe or file: never wrapped


def test_grep_finds_a_run_by_its_reference():
    task = run_denied()
    task.messages[0]["reference"] = "K7Q2M9XD"
    text, stats = show(lines(run_success(), task, run_token_failure()), grep="k7q2m9xd")
    assert stats.runs == 1 and "reference: K7Q2M9XD" in text and U_DENIED in text
    summary, stats = show(lines(run_success(), task), grep="K7Q2M9XD", mode="summary")
    assert stats.runs == 1 and "22222222" in summary
    assert "reference=K7Q2M9XD" in show_text(lines(task), grep="K7Q2M9XD")


@pytest.mark.parametrize("tail", ["[/]", "[bold]x[/]", "[/x", "\\[/]", "[link=x]y[/link]"])
def test_a_field_wrapped_inside_markup_is_shown_as_text_in_colour(tail):
    """A wrapped field's "…[/" and the next line's "]…" are printed together: each must stay text,
    never become a tag (once a MarkupError, found by hypothesis in test_hostile_input)."""
    import io

    from codexlogin.logview.render import render
    from codexlogin.logview.select import Options

    for n in range(40, 140):
        value = "a" * n + tail + "b" * 5
        message = {"task_uuid": "t1", "task_level": [1], "timestamp": 1.7e9, "message_type": "x", "detail": value}
        out = io.StringIO()
        render([iter([json.dumps(message) + "\n"])], out, Options(mode="tree", color=True, width=80))
        shown = "".join(line.strip(" │├└─") for line in out.getvalue().splitlines())
        assert tail.replace("\\", "") in shown.replace("\\", "") or tail in shown
