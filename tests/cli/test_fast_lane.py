"""The fast lane (cli/fast.py) against cyclopts (cli/app.py), the one definition of the command line.

1. Its flags (cli/flags.py's table) are the cyclopts commands' flags: every flag it takes is a
   flag of that command with the same parameter name and type; every other flag hands off.
2. For every shape it accepts (hypothesis over real and mistyped flags and values), cyclopts
   parses the same command and both make equal Settings.
3. Real processes: `codex` (fast lane) and cli.app.main (cyclopts only) print the same and exit
   the same for status (logged out, logged in, JSON, a bad config) and the first phase of the
   browser login (up to the URL, then SIGTERM); the fast lane never loads cyclopts, rich or attrs.
`codex login log` is not a fast-lane shape: it runs for a while anyway, so cyclopts parses it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import typing
from pathlib import Path

import pytest
from harness import issue_tokens, issuer_in_thread, store_tokens
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from codexlogin.cli import fast
from codexlogin.cli.app import app
from codexlogin.cli.flags import HOT_FLAGS, ISSUER_FLAGS
from codexlogin.config import load_settings
from codexlogin.devissuer import DevIssuer

KINDS = {"bool": bool, "int": int, "float": float, "str": str, "path": Path}


def cyclopts_arguments(*path: str):
    command_app = app
    for name in path:
        command_app = command_app[name]
    return [a for a in command_app.assemble_argument_collection(parse_docstring=True) if a.names != ("*",)]


def _base_type(hint):
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if args else hint


@pytest.mark.parametrize("command", sorted(HOT_FLAGS))
def test_the_hot_flags_are_the_cyclopts_commands_flags(command):
    path, table = ("login",) if command == "login" else ("login", command), HOT_FLAGS[command]
    arguments = {name: a for a in cyclopts_arguments(*path) for name in a.names}
    for flag, (name, kind) in table.items():
        assert flag in arguments, f"{flag} is not a flag of `codex {' '.join(path)}`"
        assert arguments[flag].field_info.name == name
        assert _base_type(arguments[flag].hint) is KINDS[kind], flag
    sample = {"bool": None, "int": "5", "float": "5", "str": "x", "path": "x"}
    prefix = list(path)
    for flag in arguments:
        if flag in table:
            kind = table[flag][1]
            tokens = [flag] if kind == "bool" else [flag, sample[kind]]
            assert fast.parse([*prefix, *tokens]) is not None, flag
        else:  # not served: cyclopts parses it (and anything after it)
            assert fast.parse([*prefix, flag]) is None, flag
            assert fast.parse([*prefix, flag, "x"]) is None, flag


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["logout"],
        ["login", "--help"],
        ["login", "-h"],
        ["login", "status", "--help"],
        ["--version"],
        ["login", "status", "--check"],
        ["login", "status", "-c", "port=1"],
        ["login", "--device-auth"],
        ["login", "status", "--json", "--json"],
        ["login", "--port"],
        ["login", "--port", "-1"],
        ["login", "--port", "1e3"],
        ["login", "--port", "0x10"],
        ["login", "--timeout", ".5"],
        ["login", "--timeout", "5."],
        ["login", "--timeout", "nan"],
        ["login", "--no-browser=true"],
        ["login", "--issuer="],
        ["login", "--issuer", "--port"],
        ["login", "stauts"],
        ["login", "status", "x"],
        ["login", "--json"],
        ["login", "status", "--port", "1"],
        ["login", "--", "status"],
        ["login", "--port", "١"],
        ["login", "log", "-"],
        ["login", "log", ""],
        ["login", "log", "--task", "x"],
        ["login", "log", "--last", "-1"],
        ["login", "log", "--json", "--json"],
        ["login", "log", "--help"],
        ["login", "log", "x", "--follow"],
        ["login", "log", "--", "x"],
        ["login", "log", "--no-color=yes"],
        # `codex login log` in every shape, the ones the fast lane used to serve included
        ["login", "log"],
        ["login", "log", "codex-login.log"],
        ["login", "log", "--no-color", "--summary"],
        ["login", "log", "--json", "--failed", "--last", "1"],
        ["login", "log", "--log-dir", "logs"],
    ],
)
def test_other_shapes_go_to_cyclopts(argv):
    assert fast.parse(argv) is None


VALUES = {
    "int": st.one_of(st.from_regex(r"\A[0-9]{1,6}\Z"), st.sampled_from(["-1", "0x1f", "1_0", "+5", "", "99999999"])),
    "float": st.one_of(
        st.from_regex(r"\A[0-9]{1,4}(\.[0-9]{1,3})?\Z"), st.sampled_from(["1e3", ".5", "5.", "inf", "-0", "", "1.2.3"])
    ),
    "str": st.one_of(st.sampled_from(["http://127.0.0.1:9", "https://auth.example", "app_x", "-x", ""]), st.text(max_size=8)),
    "path": st.sampled_from(["logs", "/tmp/x", "-x", "", "a b"]),
}


@st.composite
def shapes(draw):
    command = draw(st.sampled_from(["login", "status"]))
    table = HOT_FLAGS[command]
    others = ["--json", "--check", "--device-auth", "--with-api-key", "-c", "--help", "--no-browsr", "status", "x"]
    argv = ["login"] + (["status"] if command == "status" else [])
    for _ in range(draw(st.integers(0, 5))):
        argv += draw_option(draw, table, others, mistyped=draw(st.integers(0, 9)) == 0)
    return argv


def draw_option(draw, table, others, *, mistyped):
    """One option of `table` as tokens (`--flag`, `--flag value` or `--flag=value`); `mistyped`:
    maybe one of `others`, which the fast lane must hand to cyclopts."""
    flag = draw(st.sampled_from(sorted(table) + others if mistyped else sorted(table)))
    kind = table[flag][1] if flag in table else "bool"
    if kind == "bool":
        return [flag]
    if draw(st.booleans()):
        return [f"{flag}={draw(VALUES[kind])}"]
    return [flag, draw(VALUES[kind])]


def cyclopts_settings(argv):
    """What the cyclopts path would run: the command's name and the Settings it makes."""
    command, bound, _ = app.parse_args(argv, exit_on_error=False, print_error=False)
    bound.apply_defaults()  # what the call gets: IssuerOptions() when no shared flag was given
    arguments = dict(bound.arguments)
    options = arguments.pop("options")
    if command.__name__ == "status":
        assert not arguments.get("check")
        return "status", bool(arguments.get("json_")), options.settings()
    assert command.__name__ == "login"
    assert not any(arguments.get(k) for k in ("with_api_key", "with_access_token", "device_auth"))
    flags = {k: arguments.get(k) for k in ("port", "no_browser", "timeout")}
    return "login", False, options.settings(**flags)


def env_names(*path: str) -> dict[str, str]:
    """flag -> the CODEX_LOGIN_* variable its cyclopts help names ([env: …])."""
    names = {}
    for argument in cyclopts_arguments(*path):
        match = re.search(r"\[env: (CODEX_LOGIN_\w+)\]", argument.parameter.help or "")
        if match:
            names[argument.names[0]] = match.group(1)
    return names


def test_every_settings_flag_of_the_fast_lane_has_its_env_variable():
    """The environment is read by config.load_settings on both paths; the help says which."""
    login_env = env_names("login")
    assert set(HOT_FLAGS["login"]) <= set(login_env)
    assert set(ISSUER_FLAGS) <= set(env_names("login", "status"))


ENVIRONMENTS = st.fixed_dictionaries(
    {},
    optional={
        "CODEX_LOGIN_PORT": st.sampled_from(["0", "8080", "99999", "x"]),
        "CODEX_LOGIN_NO_BROWSER": st.sampled_from(["1", "0", "true", "maybe"]),
        "CODEX_LOGIN_TIMEOUT": st.sampled_from(["30", "0", "-1"]),
        "CODEX_LOGIN_ISSUER": st.sampled_from(["http://127.0.0.1:7", "ftp://x"]),
        "CODEX_LOGIN_LOG_DIR": st.just("/tmp/fast-lane-logs"),
    },
)


@hyp_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=shapes(), environment=ENVIRONMENTS)
def test_both_paths_agree_on_every_accepted_shape(argv, environment):
    shape = fast.parse(argv)
    if shape is None:
        return
    command, found = shape
    saved = dict(os.environ)
    os.environ.update(environment)
    try:
        try:
            fast_settings = fast._settings(found)
        except Exception as fast_error:  # e.g. an invalid issuer: cyclopts must fail the same way
            with pytest.raises(type(fast_error)) as cyclopts_error:
                cyclopts_settings(argv)
            assert str(cyclopts_error.value) == str(fast_error)
            return
        assert cyclopts_settings(argv) == (command, bool(found.get("json_")), fast_settings)
    finally:
        os.environ.clear()
        os.environ.update(saved)


# --- real processes ---------------------------------------------------------------------------

FAST = [sys.executable, "-m", "codexlogin"]
CYCLOPTS = [sys.executable, "-c", "import sys; from codexlogin.cli.app import main; main(sys.argv[1:])"]


def run(entry, *args, env=None):
    result = subprocess.run([*entry, *args], capture_output=True, text=True, timeout=60, env=env or os.environ, check=False)
    return result.returncode, result.stdout, result.stderr


def assert_same(*args, env=None):
    fast_result = run(FAST, *args, env=env)
    assert fast_result == run(CYCLOPTS, *args, env=env)
    return fast_result


def test_status_same_output_and_exit_code_logged_out_and_in(tmp_path):
    assert assert_same("login", "status") == (1, "", "Not logged in — run `codex login`\n")  # stderr, as 0.171
    code, out, _ = assert_same("login", "status", "--json")
    assert code == 1 and json.loads(out)["status"] == "not_logged_in"
    issuer = DevIssuer(email="fast@example.com", plan="plus")
    with issuer_in_thread(issuer) as url:
        issued = issue_tokens(issuer, url)
    store_tokens(load_settings({}), issued)
    assert assert_same("login", "status") == (0, "", "Logged in using ChatGPT as fast@example.com (plus), account acct_dev\n")
    code, out, _ = assert_same("login", "status", "--json", "--log-dir", str(tmp_path / "logs"))
    assert code == 0 and json.loads(out)["email"] == "fast@example.com"
    code, _, err = assert_same("login", "status", "--issuer", "ftp://x")
    assert code == 2 and "issuer" in err
    Path(os.environ["CODEX_HOME"], "config.toml").write_text("port = 'many'\n")
    code, out, err = assert_same("login", "status")
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1


def _first_phase(entry, args, env):
    """Run a browser login to its printed URL, then SIGTERM: (banner, exit code, rest of stderr)."""
    proc = subprocess.Popen([*entry, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        lines, deadline = [], time.monotonic() + 30
        while not any("/oauth/authorize?" in line for line in lines):
            assert time.monotonic() < deadline
            line = proc.stderr.readline().decode()
            assert line, f"exited {proc.wait(10)} before the URL: {lines}"
            lines.append(line)
        lines.append(proc.stderr.readline().decode())  # the blank line after the URL
        proc.send_signal(signal.SIGTERM)
        out, rest = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    banner = "".join(lines)
    banner = re.sub(r"(localhost:|localhost%3A|127\.0\.0\.1%3A)\d+", r"\1PORT", banner)
    banner = re.sub(r"(localhost:PORT/)[a-z2-7]+\b", r"\1START", banner)  # the short address: per sign-in
    banner = re.sub(r"\b(state|code_challenge|nonce)=[\w-]+", r"\1=…", banner)
    # A SIGTERM before or after trio started leaves a clean line or not: a race, not a path difference.
    rest_text = re.sub(r"(ref |--grep )[A-Z2-7]{8}\b", r"\1REF", rest.decode())  # each run has its own
    return banner, proc.returncode, out.decode(), rest_text.lstrip("\n")


@pytest.mark.concurrency
@pytest.mark.parametrize("args", [["--no-browser"], ["--no-browser", "--timeout=30", "--client-id", "app_fast"]])
def test_login_first_phase_same_on_both_paths(tmp_path, args, silent_port):
    # The openai dialect: nothing to discover, so the banner comes first; the issuer takes
    # connections (its reachability probe passes: a refused one would end the login with exit 10)
    # and never answers, so the login is still waiting when SIGTERM comes.
    env = dict(os.environ, BROWSER="true", CODEX_LOGIN_DIALECT="openai")
    argv = ["login", "--port", "0", "--issuer", f"http://127.0.0.1:{silent_port()}", *args]
    fast_run, cyclopts_run = _first_phase(FAST, argv, env), _first_phase(CYCLOPTS, argv, env)
    assert fast_run == cyclopts_run
    banner, code, _out, rest = fast_run
    assert "or this URL in a browser to authenticate" in banner and code == 143 and "error: login terminated" in rest
    if "app_fast" in args:
        assert "client_id=app_fast" in banner


def test_fast_lane_loads_no_cli_library():
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['codex'] + sys.argv[1:]\n"
        "try:\n    runpy.run_module('codexlogin', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as exit:\n"
        "    heavy = sorted(m for m in ('cyclopts', 'rich', 'attr', 'attrs', 'trio', 'eliot') if m in sys.modules)\n"
        "    print(exit.code, heavy, file=sys.stderr)\n"
    )
    for args in (["login", "status"], ["login", "status", "--json"]):
        result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=60, check=False)
        assert result.stderr.splitlines()[-1] == "1 []", result.stderr
    # The browser login: nothing of the CLI library before the URL (importtime lines come in order).
    # In the openai dialect (nothing to discover); a standard issuer's URL follows its discovery,
    # which runs inside the logged run over httpx.
    env = dict(os.environ, PYTHONPROFILEIMPORTTIME="1", CODEX_LOGIN_DIALECT="openai")
    proc = subprocess.Popen(
        [*FAST, "login", "--no-browser", "--port", "0", "--issuer", "http://127.0.0.1:9"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        before = []
        for line in proc.stderr:
            if "/oauth/authorize?" in line:
                break
            before.append(line)
        else:
            pytest.fail("no URL")
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()
    imported = {line.rsplit("|", 1)[-1].strip() for line in before if line.startswith("import time:")}
    assert "codexlogin.listener.prepare" in imported
    assert not {
        m for m in imported if m.split(".")[0] in ("cyclopts", "rich", "attr", "attrs", "trio", "eliot", "hypercorn", "httpx")
    }
