"""JSON Schemas (draft 2020-12) of the `--json` outputs, shipped as package data for scripts:
status.json (`codex login status --json`), doctor.json (`codex login doctor --json`) and
log.json (each line of `codex login log --json`, a run tree, or with `--har` the merged timeline).
tests/cli/test_json_schemas.py checks every output against them."""

from __future__ import annotations

from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parent
SCHEMA_NAMES = ("status", "doctor", "log")


def schema_path(name: str) -> Path:
    """The file of one published schema (`status`, `doctor` or `log`)."""
    return SCHEMA_DIR / f"{name}.json"
