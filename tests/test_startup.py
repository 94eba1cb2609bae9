"""Start-up cost guards (issue 5, Speed; issue 24): what the fast paths must not import.

`codex login status` (offline) must not load trio, httpx, hypercorn, eliot, rich or keyring through
the real CLI (cyclopts app, lazy command registration); the browser login loads httpx only after
the sign-in URL is printed. Logged out, status loads none of the stdlib modules that cost more than
its whole answer (typing, dataclasses and inspect, pathlib and urllib.parse, json, datetime,
tomllib) nor our modules it does not need (test_logged_out_status_loads_only_what_it_needs).
scripts/bench_speed.py and scripts/bench_startup.py measure the times themselves.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("trio", "httpx", "hypercorn", "eliot", "rich", "keyring")


def _probe(code: str, tmp_path) -> list[str]:
    env = dict(os.environ, CODEX_HOME=str(tmp_path / "home"))
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path
    )
    assert result.stderr == "" or "Traceback" not in result.stderr, result.stderr
    return result.stdout.splitlines()


def test_cli_login_status_imports_nothing_heavy(tmp_path):
    code = (
        "import runpy, sys\n"
        "sys.argv = ['codex', 'login', 'status']\n"
        "try:\n    runpy.run_module('codexlogin', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as exit:\n    status = exit.code\n"
        f"print(status, sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    assert _probe(code, tmp_path)[-1] == "1 []"  # not logged in, nothing heavy loaded


#: What a logged-out `codex login status` does without (issue 24: each costs more than the answer).
STATUS_NEVER = (
    "typing",
    "dataclasses",
    "inspect",
    "pathlib",
    "urllib.parse",
    "json",
    "datetime",
    "tomllib",
    "codexlogin.otelconfig",
    "codexlogin.rfc3339",
    "codexlogin.safejson",
    "codexlogin.credentials.model",
    "codexlogin.credentials.keyring",
    "codexlogin.credentials.policy",
    "codexlogin.oauth.jwt",
    "codexlogin.oauth.issuer",
)


def _status_modules(home: Path, tmp_path: Path) -> tuple[int, set[str]]:
    """The exit code of `codex login status` with CODEX_HOME=home, and the modules it loaded: with
    `python -S` and the checkout on sys.path, so that no import finder of the test venv (the
    editable install's loads pathlib) hides what status itself loads."""
    code = (
        "import sys\n"
        "sys.argv = ['codex', 'login', 'status']\n"
        "from codexlogin.cli import main\n"
        "try:\n    main()\n"
        "except SystemExit as exit:\n    status = exit.code\n"
        "print(status, sorted(sys.modules))\n"
    )
    env = dict(os.environ, CODEX_HOME=str(home), PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    result = subprocess.run(
        [sys.executable, "-S", "-c", code], check=False, capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path
    )
    assert "Traceback" not in result.stderr, result.stderr
    status, _, modules = result.stdout.strip().partition(" ")
    return int(status), set(eval(modules))  # noqa: S307 - our own child's print of a list of names


def test_logged_out_status_loads_only_what_it_needs(tmp_path):
    status, modules = _status_modules(tmp_path / "logged-out", tmp_path)
    assert status == 1
    assert sorted(modules & {*STATUS_NEVER, *HEAVY}) == []


def test_logged_in_status_loads_the_model_without_dataclasses(tmp_path):
    """Logged in with an API key: the credential model and what reads it load (json, and pathlib
    for the read); still no typing, dataclasses or inspect (codexlogin.record), tomllib,
    otelconfig or keyring. (A ChatGPT login also loads oauth.issuer, a dataclass.)"""
    home = tmp_path / "logged-in"
    home.mkdir()
    (home / "auth.json").write_text('{"auth_mode": "apikey", "OPENAI_API_KEY": "sk-proj-0123456789abcdefghijklmnop"}')
    (home / "auth.json").chmod(0o600)
    status, modules = _status_modules(home, tmp_path)
    assert status == 0
    assert "codexlogin.credentials.model" in modules
    never = {"typing", "dataclasses", "inspect", "tomllib", "codexlogin.otelconfig", "codexlogin.credentials.keyring"}
    assert sorted(modules & {*never, *HEAVY}) == []


def test_browser_flow_defers_httpx(tmp_path):
    code = "import sys, codexlogin.flows.browser; print(sorted(m for m in ('httpx', 'httpcore') if m in sys.modules))"
    assert _probe(code, tmp_path) == ["[]"]


def test_console_script_is_the_light_entry_point(tmp_path):
    """`codex` and `codexlogin` (the console scripts) run codexlogin.cli:main, which loads no CLI library itself:
    cyclopts comes in only for shapes the fast lane hands over."""
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"] == {"codex": "codexlogin.cli:main", "codexlogin": "codexlogin.cli:main"}
    code = "import sys, codexlogin.cli; print(sorted(m for m in ('cyclopts', 'rich', 'attr', 'json', 'dataclasses') if m in sys.modules))"
    assert _probe(code, tmp_path) == ["[]"]


_URL_PROBE = """
import os, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class NoDocument(BaseHTTPRequestHandler):  # an issuer without discovery documents: 404
    def do_GET(self):
        self.send_error(404)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), NoDocument)
threading.Thread(target=server.serve_forever, daemon=True).start()
heavy = {heavy!r}


class UntilTheUrl:
    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        if "/authorize?" in text:
            late = sorted(m for m in heavy if m in sys.modules)
            self.stream.write("URL " + repr(late) + "\\n")
            self.stream.flush()
            os._exit(0)
        return self.stream.write(text)

    def __getattr__(self, name):
        return getattr(self.stream, name)


sys.stderr = UntilTheUrl(sys.stderr)
sys.argv = ["codex", "login", "--no-browser", "--port", "0", "--issuer", "http://127.0.0.1:%d" % server.server_port]
from codexlogin.cli import main

sys.exit(main())
"""


def _heavy_before_url(tmp_path, dialect: str) -> str:
    env = dict(os.environ, CODEX_HOME=str(tmp_path / "home"), CODEX_LOGIN_DIALECT=dialect, BROWSER="true")
    env = {k: v for k, v in env.items() if not k.lower().endswith("_proxy")}
    code = _URL_PROBE.replace(
        "{heavy!r}", repr(("trio", "httpx", "httpcore", "hypercorn", "eliot", "h2", "wsproto", "rich", "cyclopts"))
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path, check=False
    )
    lines = [line for line in result.stderr.splitlines() if line.startswith("URL ")]
    assert lines, result.stderr
    return lines[0]


def test_the_browser_login_prints_its_url_before_trio_httpx_hypercorn_or_eliot_load(tmp_path):
    """Issue 24: everything the sign-in URL does not need (the event loop, the HTTP client and
    server, the log) loads after it is shown: the openai dialect, and the standard dialect, whose
    discovery before the URL runs over http.client (oauth.discovery_blocking)."""
    assert _heavy_before_url(tmp_path, "openai") == "URL []"
    assert _heavy_before_url(tmp_path, "standard") == "URL []"
