"""`codex login log --json`: one JSON object per run tree and line, children nested, fields scrubbed."""

from __future__ import annotations

import json
from typing import Any

from codexlogin.logview.tree import STRUCTURE_KEYS, Node, Run, scrubbed_fields

__all__ = ["render_json"]


def _node_json(node: Node) -> dict[str, Any]:
    kind = "action_type" if node.is_action else "message_type"
    start = scrubbed_fields(node.start)[0] if node.start else {}
    end = scrubbed_fields(node.end)[0] if node.end else {}
    name = start.get(kind, end.get(kind))
    data: dict[str, Any] = {
        "type": name,
        "kind": "action" if node.is_action else "message",
        "task_level": list(node.level),
        "timestamp": node.start_ts,
    }
    if node.is_action:
        data["status"] = node.status
        data["end_timestamp"] = node.end_ts
        data["duration"] = node.duration
    data["fields"] = {k: v for k, v in start.items() if k not in STRUCTURE_KEYS}
    if node.is_action:
        data["end_fields"] = {k: v for k, v in end.items() if k not in STRUCTURE_KEYS}
    if node.children:
        data["children"] = [_node_json(child) for child in node.sorted_children()]
    return data


def render_json(run: Run) -> str:
    data = {"task_uuid": run.uuid_text, "failed": run.failed, **_node_json(run.root)}
    return json.dumps(data, separators=(",", ":"), default=str) + "\n"
