"""diagnostics.telemetry.run_spans: eliot messages (as codex-login.log holds them) → span trees.

Pure: no OpenTelemetry import, no I/O.
"""

from __future__ import annotations

from codexlogin.diagnostics.telemetry import attributes_of, run_spans


def message(task_level, when, task="t1", **fields):
    return {"task_uuid": task, "task_level": task_level, "timestamp": when, **fields}


def test_actions_nest_by_task_level_and_messages_become_events():
    log = [
        message([1], 1.0, action_type="codex:command", action_status="started", reference="REF12345", command="login"),
        message([2, 1], 1.1, action_type="codex:listener", action_status="started"),
        message([2, 2, 1], 1.2, action_type="codex:callback", action_status="started"),
        message([2, 2, 2], 1.3, message_type="codex:callback:state_mismatch", severity="warning"),
        message(
            [2, 2, 3],
            1.4,
            action_type="codex:callback",
            action_status="failed",
            exception="x.Denied",
            reason="denied",
            status=400,
        ),
        message([2, 3], 1.5, action_type="codex:listener", action_status="succeeded"),
        message([3], 1.6, action_type="codex:command", action_status="failed", outcome="denied", exit_code=3),
        message([1], 1.35, task="t2", message_type="codex:library_log", level="WARNING", message="stray"),
    ]
    [root] = run_spans(log)
    assert (root.name, root.start, root.end, root.status) == ("codex:command", 1.0, 1.6, "error")
    assert root.attributes["codex.reference"] == "REF12345" and root.attributes["process.exit.code"] == 3
    [listener] = root.children
    [callback] = listener.children
    assert (listener.status, callback.status, callback.reason) == ("ok", "error", "denied")
    assert callback.attributes["http.response.status_code"] == 400 and callback.attributes["error.type"] == "x.Denied"
    assert [name for name, _, _ in callback.events] == ["codex:callback:state_mismatch"]
    assert [name for name, _, _ in root.events] == ["codex:library_log"]  # outside any action, during the run


def test_an_unfinished_action_is_unset_and_a_log_without_runs_has_none():
    [root] = run_spans([message([1], 5.0, action_type="codex:command", action_status="started")])
    assert root.end is None and root.status == "unset"
    assert run_spans([message([1], 1.0, message_type="codex:discovery")]) == []


def test_attributes_leave_the_envelope_and_flatten_structures():
    fields = attributes_of({"task_uuid": "t", "timestamp": 1.0, "ports": [1455, 1457], "names": ["a"], "none": None})
    assert fields == {"codex.ports": "[1455, 1457]", "codex.names": ["a"]}
