"""First use through the real command line (a subprocess): one default style in help, no stray
parameter names, the unknown commands people type with the command they meant, the device-login
help's words, and the `codexlogin` console script naming itself in help and messages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CODEX = [sys.executable, "-m", "codexlogin"]
CODEXLOGIN = Path(sys.executable).parent / "codexlogin"  # the console script pip installed beside python


def run(argv: list[str]) -> tuple[int, str, str]:
    result = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "COLUMNS": "100"}, timeout=60)
    return result.returncode, result.stdout, result.stderr


def test_login_help_has_one_default_style_and_no_rfc_for_the_default_dialect():
    code, out, _ = run([*CODEX, "login", "--help"])
    assert code == 0 and "(default 1455)" in out
    assert "[default:" not in out
    assert "RFC 8628" not in out and "--device-auth" in out


def test_log_help_names_its_paths_once():
    code, out, _ = run([*CODEX, "login", "log", "--help"])
    assert code == 0 and "PATHS" in out
    assert "--paths" not in out and "--empty-paths" not in out


@pytest.mark.parametrize(
    ("argv", "meant"),
    [
        (["login", "help"], "codex login --help"),
        (["help"], "codex --help"),
        (["doctor"], "codex login doctor"),
        (["status"], "codex login status"),
        (["config"], "codex login config"),
    ],
)
def test_commands_people_type_are_unknown_with_the_command_they_meant(argv, meant):
    code, out, err = run([*CODEX, *argv])
    assert code == 2 and out == ""
    assert err.startswith(f'error: Unknown command "{argv[-1]}". Did you mean "{meant}"?') and err.count("\n") == 1


@pytest.mark.skipif(not CODEXLOGIN.exists(), reason="the package is not installed with its console scripts")
def test_codexlogin_runs_the_same_commands_under_its_own_name():
    code, out, err = run([str(CODEXLOGIN), "login", "status"])
    assert (code, out) == (1, "") and err == "Not logged in — run `codexlogin login`\n"
    code, out, _ = run([str(CODEXLOGIN), "login", "--help"])
    assert code == 0 and out.startswith("Usage: codexlogin login")
    assert "codexlogin login --with-api-key" in out and "codex login" not in out
    code, out, _ = run([str(CODEXLOGIN), "login", "status", "--help"])  # a lazily loaded command's page too
    assert code == 0 and out.startswith("Usage: codexlogin login status") and "codex login" not in out
    code, _, err = run([str(CODEXLOGIN), "doctor"])
    assert code == 2 and 'Did you mean "codexlogin login doctor"?' in err
    code, out, err = run([str(CODEXLOGIN), "login", "status", "--check", "--json"])  # the cyclopts path too
    assert code == 1 and '"not_logged_in"' in out
    code, _, err = run([str(CODEXLOGIN), "login", "--port", "x"])
    assert code == 2 and err.startswith("error: ")
