"""The command line's first use (issue 12): help lists every subcommand with its summary, a
mistyped subcommand gets "did you mean", shell completion for bash, zsh and fish.

Help snapshots live in tests/golden/help-*.txt (100 columns, no colour); regenerate them with
`UPDATE_GOLDEN=1 pytest tests/cli/test_help.py` and review the diff before committing.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cyclopts.help.help import docstring_parse

from codexlogin.cli.app import LOGIN_SUBCOMMANDS, TOP_SUBCOMMANDS

GOLDEN = Path(__file__).parent.parent / "golden"
CODEX = [sys.executable, "-m", "codexlogin"]


def codex(*args: str, **env: str) -> tuple[int, str, str]:
    environ = {**os.environ, "COLUMNS": "100", "LINES": "50", "NO_COLOR": "1", "TERM": "dumb", **env}
    result = subprocess.run([*CODEX, *args], capture_output=True, text=True, timeout=60, env=environ, check=False)
    return result.returncode, result.stdout, result.stderr


def golden(name: str, text: str) -> None:
    text = "\n".join(line.rstrip() for line in text.splitlines()) + "\n"
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", [*LOGIN_SUBCOMMANDS, *TOP_SUBCOMMANDS])
def test_each_lazy_summary_is_its_commands_first_docstring_line(name):
    import_path, summary = {**LOGIN_SUBCOMMANDS, **TOP_SUBCOMMANDS}[name]
    module, _, attribute = import_path.partition(":")
    function = getattr(importlib.import_module(module), attribute)
    assert docstring_parse(function.__doc__, "markdown").short_description == summary


@pytest.mark.parametrize(
    ("args", "name"),
    [(["--help"], "help-codex"), (["login", "--help"], "help-login"), (["completion", "--help"], "help-completion")],
)
def test_help_snapshots(args, name):
    code, out, err = codex(*args)
    assert (code, err) == (0, "")
    golden(name, out)


def test_help_lists_every_subcommand_with_its_summary():
    _, top, _ = codex("--help")
    _, login, _ = codex("login", "--help")
    for listing, table in ((top, TOP_SUBCOMMANDS), (login, LOGIN_SUBCOMMANDS)):
        flat = " ".join(listing.replace("│", " ").split())
        for name, (_path, summary) in table.items():
            assert f"{name} {summary}" in flat


def test_a_subcommands_own_help_keeps_its_whole_docstring():
    code, out, _ = codex("login", "status", "--help")
    assert code == 0
    flat = " ".join(out.split())
    assert "Show whether you are logged in" in flat and "Reads the stored credentials" in flat


@pytest.mark.parametrize("name", [*LOGIN_SUBCOMMANDS, *TOP_SUBCOMMANDS])
def test_each_lazy_commands_own_help_shows_its_description(name):
    """Registered with its summary (for the parent's list), its own page still has the rest."""
    import_path, summary = {**LOGIN_SUBCOMMANDS, **TOP_SUBCOMMANDS}[name]
    module, _, attribute = import_path.partition(":")
    description = docstring_parse(getattr(importlib.import_module(module), attribute).__doc__, "markdown").long_description
    code, out, _ = codex(*(["login", name] if name in LOGIN_SUBCOMMANDS else [name]), "--help")
    flat = " ".join(out.replace("│", " ").split())
    assert code == 0 and summary in flat
    assert " ".join(description.split()[:5]) in flat


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["login", "stauts"],
            'error: Unknown command "stauts". Did you mean "status"? Available commands: app-server, bundle, config, doctor, log, status, token. (see --help)',
        ),
        (
            ["login", "doctr", "--json"],
            'error: Unknown command "doctr". Did you mean "doctor"? Available commands: app-server, bundle, config, doctor, log, status, token. (see --help)',
        ),
        (
            ["login", "xyzzy"],
            'error: Unknown command "xyzzy". Available commands: app-server, bundle, config, doctor, log, status, token. (see --help)',
        ),
        (
            ["lgoin"],
            'error: Unknown command "lgoin". Did you mean "login"? Available commands: completion, login, logout. (see --help)',
        ),
        (["login", "--no-browsr"], "error: Unknown option: --no-browsr. Did you mean --no-browser? (see --help)"),
    ],
)
def test_mistyped_subcommand_or_flag_is_one_line_with_a_suggestion(args, line):
    code, out, err = codex(*args, COLUMNS="40")  # one line even on a narrow terminal
    assert (code, out, err) == (2, "", line + "\n")


def test_bash_completion_completes_subcommands_and_flags(tmp_path):
    code, script, _ = codex("completion", "bash")
    assert code == 0 and "complete " in script
    probe = tmp_path / "probe.sh"
    probe.write_text(
        script + '\ncomplete_words() { COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ));'
        ' COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMPREPLY=(); _codex; echo "${COMPREPLY[*]}"; }\n'
        "complete_words codex login st\ncomplete_words codex login --no-b\ncomplete_words codex lo\n"
    )
    result = subprocess.run(["bash", str(probe)], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    status, no_browser, top = result.stdout.splitlines()
    assert status == "status"
    assert no_browser == "--no-browser"
    assert set(top.split()) == {"login", "logout"}


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_name_every_command(shell):
    code, script, err = codex("completion", shell)
    assert (code, err) == (0, "")
    flags = ("-l no-browser", "-l json") if shell == "fish" else ("--no-browser", "--json")
    for word in ("login", "logout", "status", "doctor", "bundle", *flags):
        assert word in script
    checker = shutil.which(shell)
    if checker:  # syntax check where the shell is installed
        assert subprocess.run([checker, "-n"], input=script, text=True, timeout=30, check=False).returncode == 0


def test_completion_install_writes_the_script_under_home(tmp_path):
    home = tmp_path / "home"
    code, out, err = codex("completion", "fish", "--install", HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    assert code == 0 and out == ""
    installed = list(home.rglob("codex.fish"))
    assert len(installed) == 1 and "login" in installed[0].read_text()
    assert str(installed[0]) in err


def test_unknown_shell_is_a_usage_error():
    code, _, err = codex("completion", "tcsh")
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1
