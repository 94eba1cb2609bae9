"""The fast lane: the hot command shapes served without importing cyclopts, rich or attrs.

`codex login status [--json]` runs in shell prompts and CI loops, and `codex login [--no-browser]`
should print its URL at once; `import cyclopts` alone costs several times the interpreter's own
start-up. This module recognises exactly the argument shapes below and runs them; anything else
(help, version, errors, other flags, a repeated flag, `-c`) returns None and cyclopts (cli/app.py),
the one definition of the command line, parses it. The flags it takes are cli/flags.py's table,
which tests/test_fast_lane.py checks against the cyclopts commands; it also checks that both paths
parse every accepted shape to the same call and Settings, with the same output and exit code.

Accepted (each option at most once, as `--name value` or `--name=value`):
  login status [--json] [ISSUER]
  login [--no-browser] [--port DIGITS] [--timeout DIGITS[.DIGITS]] [ISSUER]
  ISSUER: [--issuer URL] [--client-id ID] [--log-dir DIR]   (a value never empty nor starting with -)
Environment and config.toml are read by config.load_settings on both paths alike.
"""

from __future__ import annotations

from codexlogin.cli.flags import HOT_FLAGS

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing (~3 ms) before the sign-in URL; mypy reads this alike

if TYPE_CHECKING:
    from codexlogin.config import Settings

_DIGITS = frozenset("0123456789")
_SETTINGS_FLAGS = ("issuer", "client_id", "log_dir", "port", "no_browser", "timeout")


def _value(kind: str, text: str) -> object | None:
    """The converted value, or None when the fast lane does not take this text (cyclopts will)."""
    if not text or text.startswith("-"):
        return None
    if kind == "int":
        return int(text) if set(text) <= _DIGITS and len(text) <= 6 else None
    if kind == "float":
        whole, dot, fraction = text.partition(".")
        if not whole or not set(whole) <= _DIGITS or (dot and (not fraction or not set(fraction) <= _DIGITS)):
            return None
        return float(text) if len(text) <= 12 else None
    if kind == "path":
        from pathlib import Path

        return Path(text)
    return text


def parse(argv: list[str]) -> tuple[str, dict[str, object]] | None:
    """("status" | "login", {parameter name: value}) for an accepted shape, else None."""
    if not argv or argv[0] != "login":
        return None
    if argv[1:2] == ["status"]:
        command, tokens = "status", argv[2:]
    else:
        command, tokens = "login", argv[1:]
    table = HOT_FLAGS[command]
    found: dict[str, object] = {}
    i = 0
    while i < len(tokens):
        flag, eq, inline = tokens[i].partition("=")
        spec = table.get(flag)
        if spec is None:
            return None
        name, kind = spec
        if name in found:
            return None
        if kind == "bool":
            if eq:
                return None
            found[name] = True
            i += 1
            continue
        if eq:
            text = inline
            i += 1
        elif i + 1 < len(tokens):
            text = tokens[i + 1]
            i += 2
        else:
            return None
        value = _value(kind, text)
        if value is None:
            return None
        found[name] = value
    return command, found


def _settings(found: dict[str, object]) -> Settings:
    """As IssuerOptions.settings(**the command's own flags) does: None means not given."""
    from codexlogin.config import load_settings

    return load_settings({key: found.get(key) for key in _SETTINGS_FLAGS})


def _status(found: dict[str, object]) -> int:
    """cli/status.py's offline path (no --check)."""
    from codexlogin.cli.status_print import print_status
    from codexlogin.credentials.status import read_status

    settings = _settings(found)
    report = read_status(settings)
    if report.mode == "personal_access_token":  # whoami, as Codex CLI 0.171 (imports trio only then)
        from codexlogin.cli.status_online import check_access_token_online

        warning = check_access_token_online(settings, report)
        if warning:
            report.warnings.append(warning)
    print_status(report, bool(found.get("json_")))
    return report.exit_code


def _login(found: dict[str, object]) -> int:
    from codexlogin.cli.login_browser import browser_login

    return browser_login(_settings(found))


def run(argv: list[str]) -> int | None:
    """Serve an accepted shape behind the same failure boundary as `@command`; None: not ours."""
    shape = parse(argv)
    if shape is None:
        return None
    command, found = shape
    if command == "login":
        from codexlogin.cli.boundary import within_boundary

        return within_boundary(_login, found, verbose_shown=False)  # as `login` without --verbose
    try:
        return _status(found)
    except Exception as exc:  # the boundary (and redact) load only on a failure: status stays light
        from codexlogin.cli.boundary import internal_error, report_failure
        from codexlogin.cli.streams import output_broken
        from codexlogin.errors import LoginFailure

        if output_broken(exc):
            raise
        return report_failure(exc if isinstance(exc, LoginFailure) else internal_error(exc))
