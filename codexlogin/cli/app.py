"""The `codex` command line: cyclopts parses, each command runs behind the one failure boundary.

This is the one definition of the command line. The hot shapes (`login status [--json]`, the
plain browser `login`) are served before this module loads by the fast lane (cli/fast.py), whose
flags (cli/flags.py) tests/test_fast_lane.py checks against the commands declared here.
Subcommands are registered by import path (cyclopts' lazy loading), so a command imports only
what it needs; each carries its one-line summary (the first line of its docstring, checked by a
test) so that `codex --help` and `codex login --help` list it without importing it.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from cyclopts import App, Parameter
from cyclopts.exceptions import CycloptsError

from codexlogin import __version__
from codexlogin.cli.boundary import command
from codexlogin.cli.login import login
from codexlogin.terminal import as_invoked, one_line, program_name

# A credential typed as an argument (`--with-api-key sk-…`) must not be echoed back by the error.
_CREDENTIAL_ARGUMENT = re.compile(r"\b(sk|at|rt)-[A-Za-z0-9_\-]{6,}")


def _unknown_command(error: CycloptsError) -> str | None:
    """`codex login stauts` reaches the login command as a stray word (its options are keywords
    only): name it as the unknown command it is, with the closest subcommand, as cyclopts does
    one level up. The word is the first token after the command chain, or the first unused one."""
    if error.app is None:
        return None
    commands = sorted(name for name in error.app if not name.startswith("-"))
    after = list(error.root_input_tokens or [])[len(error.command_chain or ()) :]
    candidates = [*after[:1], *(error.unused_tokens or [])[:1]]
    word = next((str(t) for t in candidates if not str(t).startswith("-")), None)
    if not commands or word is None or word in commands:
        return None
    message = f'Unknown command "{word}".'
    hint = _elsewhere(word, tuple(error.command_chain or ()))
    close = difflib.get_close_matches(word, commands, n=1, cutoff=0.6)
    if hint:
        message += f' Did you mean "{hint}"?'
    elif close:
        message += f' Did you mean "{close[0]}"?'
    return f"{message} Available commands: {', '.join(commands)}."


def _elsewhere(word: str, chain: tuple[str, ...]) -> str | None:
    """The whole command a word names one level away: `codex doctor` -> `codex login doctor`,
    `codex login help` -> `codex login --help`."""
    name = program_name()
    if word == "help":
        return " ".join((name, *chain, "--help"))
    if not chain and word in LOGIN_SUBCOMMANDS:
        return f"{name} login {word}"
    return None


def _one_line_error(error: CycloptsError) -> Any:
    """Parse errors as one plain line on stderr (cyclopts then exits 2), never a wrapped panel."""
    from rich.text import Text

    text = _unknown_command(error) or str(error)
    message = _CREDENTIAL_ARGUMENT.sub(lambda m: f"{m.group(1)}-***", one_line(text))
    if error.console is not None:  # the error console prints only this line: never wrapped
        error.console.soft_wrap = True
    return Text(f"error: {message} (see --help)")


#: name -> (import path, summary: the first line of the command's docstring; a test compares them).
LOGIN_SUBCOMMANDS = {
    "status": ("codexlogin.cli.status:status", "Show whether you are logged in, and how; exit 0 logged in, 1 not logged in."),
    "log": ("codexlogin.cli.log:log", "Show what happened in sign-in runs, as trees of actions from codex-login.log."),
    "doctor": (
        "codexlogin.cli.doctor:doctor",
        "Check what would break the browser login, one line per check, and say what to do.",
    ),
    "bundle": (
        "codexlogin.cli.bundle:bundle",
        "Write a support bundle: scrubbed log of recent runs, doctor output, versions, settings.",
    ),
    "config": ("codexlogin.cli.settings:config", "Show the effective login settings and where each came from."),
    "app-server": (
        "codexlogin.cli.app_server:app_server",
        "Serve the Codex app-server's account protocol (JSON-RPC lines) on stdin/stdout.",
    ),
    "token": ("codexlogin.cli.token:token", "Print the stored access token for scripts (refreshed first when it is due)."),
}
TOP_SUBCOMMANDS = {
    "logout": (
        "codexlogin.cli.logout:logout",
        "Log out: remove the stored credentials, then revoke their tokens at the issuer (best effort).",
    ),
}

app = App(
    name=program_name(),  # `codex` or `codexlogin`: help and usage name the command the user typed
    help="Sign in to Codex and inspect the sign-in for support.",
    version=__version__,
    error_formatter=_one_line_error,
    # One default style: each option's help says its default in words ("(default 1455)"); a flag's
    # "[default: False]" says nothing.
    default_parameter=Parameter(show_default=False),
)
login_app = App(name="login", help="Sign in to Codex (browser OAuth login by default).")
app.command(login_app)
login.__doc__ = as_invoked(login.__doc__ or "")  # before cyclopts reads it: `… | codexlogin login --with-api-key`
login_app.default(login)
for _name, (_path, _summary) in LOGIN_SUBCOMMANDS.items():
    login_app.command(_path, name=_name, help=_summary)
for _name, (_path, _summary) in TOP_SUBCOMMANDS.items():
    app.command(_path, name=_name, help=_summary)
#: The command chains of the commands registered by import path.
_LAZY_CHAINS = {("login", name) for name in LOGIN_SUBCOMMANDS} | {(name,) for name in TOP_SUBCOMMANDS}

Shell = Literal["bash", "zsh", "fish"]


@app.command(name="completion")
@command
def completion(
    shell: Shell,
    /,
    *,
    install: Annotated[bool, Parameter(negative=())] = False,
    force: Annotated[bool, Parameter(negative=())] = False,
) -> int:
    """Print the shell completion script for bash, zsh or fish (or install it with --install).

    `codex completion bash > ~/.local/share/bash-completion/completions/codex`, `codex completion
    zsh > ~/.zsh/completions/_codex` (a directory on $fpath), `codex completion fish >
    ~/.config/fish/completions/codex.fish`; or let --install write it to that place and add the
    line that loads it to the shell's start-up file.

    Parameters
    ----------
    shell
        The shell to complete in.
    install
        Write the script to the shell's usual place (and load it from its rc file) instead of printing it.
    force
        With --install: replace a file at the script's place that is not a codex completion script.
    """
    if force and not install:
        from codexlogin.errors import UsageError

        raise UsageError("--force only goes with --install")
    if install:  # atomic writes, symlinks written through, paths quoted (cli/completion_install.py)
        from codexlogin.cli.completion_install import install as install_script

        script = app.generate_completion(prog_name=program_name(), shell=shell)
        path = install_script(shell, script, force=force)
        print(
            f"Installed {shell} completion for {program_name()} in {path}; open a new shell to use it.",
            file=sys.stderr,
            flush=True,
        )
        return 0
    sys.stdout.write(app.generate_completion(prog_name=program_name(), shell=shell))
    sys.stdout.flush()
    return 0


def _completion_doc_as_invoked(doc: str) -> str:
    """The completion help with the invoked program's command and file names (`codexlogin
    completion bash > …/completions/codexlogin`): the places --install writes for that name."""
    name = program_name()
    if name == "codex":
        return doc
    for old, new in (("completions/codex.fish", f"completions/{name}.fish"), ("completions/_codex", f"completions/_{name}")):
        doc = doc.replace(old, new)
    doc = re.sub(r"completions/codex\b", f"completions/{name}", doc)
    return as_invoked(doc).replace("not a codex completion script", f"not a {name} completion script")


completion.__doc__ = _completion_doc_as_invoked(completion.__doc__ or "")  # before cyclopts reads it


def _whole_docstrings(tokens: Sequence[str]) -> None:
    """Give the lazily registered commands on this command line their whole docstring as help.

    cyclopts puts a lazy command's registration help (the summary its parent lists) on its own
    --help page too; without it, the page shows the docstring: summary, description, parameters.
    The commands named here are the ones cyclopts imports for this line anyway.
    """
    words = tuple(tokens[:2])  # before cyclopts resolves (and reads) a lazy command
    for lazy in (words, words[:1]):
        if lazy in _LAZY_CHAINS:
            _docstring_as_invoked(lazy)
    chain = app.parse_commands(list(tokens))[0]
    command = app
    for depth, name in enumerate(chain, 1):
        command = command[name]
        if tuple(chain[:depth]) in _LAZY_CHAINS:
            command.help = None  # None: cyclopts reads the docstring


def _docstring_as_invoked(chain: tuple[str, ...]) -> None:
    """Before cyclopts reads a lazy command's docstring: its examples name the invoked program
    (`codexlogin login status`), as the usage line does."""
    if program_name() == "codex":
        return
    import importlib

    table = LOGIN_SUBCOMMANDS if chain[0] == "login" else TOP_SUBCOMMANDS
    module_name, _, attribute = table[chain[-1]][0].partition(":")
    function = getattr(importlib.import_module(module_name), attribute)
    for target in (function, getattr(function, "__wrapped__", None)):  # @command keeps the docstring on both
        if target is not None and target.__doc__:
            target.__doc__ = as_invoked(target.__doc__)


def run_cyclopts(tokens: Sequence[str]) -> int:
    """Parse and run one command line with cyclopts; its exit code (help and version: 0)."""
    from codexlogin.cli.codex_options import as_overrides

    tokens = as_overrides(tokens)  # Codex CLI 0.171's global options, as `-c` after the command
    _whole_docstrings(tokens)
    try:
        code = app(list(tokens), result_action="return_value")
    except SystemExit as exit_:  # parse errors (2), --help and --version
        code = exit_.code
    return code if isinstance(code, int) else 0


def main(argv: Sequence[str] | None = None) -> None:
    """The entry point without the fast lane: cyclopts parses every shape."""
    from codexlogin.cli.entry import guarded

    sys.exit(guarded(run_cyclopts, sys.argv[1:] if argv is None else argv))
