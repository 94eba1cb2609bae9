"""The `(ref …; more: …)` tail of an `error:` line only where the log holds the run and helps:
not after a usage error, nor when codex-login.log could not be written (the user's own Ctrl-C: the
pty test in test_first_use.py). Every warning on stderr as `warning: …`. Through the real CLI."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

from harness import NINE_DAYS_AGO, jwt_with_exp

from codexlogin import DEFAULT_CLIENT_ID
from codexlogin.config import load_settings
from codexlogin.credentials.files import save_auth
from codexlogin.credentials.model import AuthDotJson, TokenData

CODEX = [sys.executable, "-m", "codexlogin"]
TAIL = re.compile(r" \(ref [A-Z2-7]{8}; more: codex login log --grep [A-Z2-7]{8}, codex login doctor\)$")


def codex(*args: str, **env: str) -> tuple[int, str, str]:
    result = subprocess.run([*CODEX, *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=60)
    return result.returncode, result.stdout, result.stderr


def store_login_at(issuer: str) -> None:
    tokens = TokenData(
        "id", jwt_with_exp(int(time.time()) + 30), "rt", oauth_provenance={"issuer": issuer, "client_id": DEFAULT_CLIENT_ID}
    )
    save_auth(load_settings({}).auth_file, AuthDotJson("chatgpt", tokens=tokens, last_refresh=NINE_DAYS_AGO))


def test_a_logged_failure_points_to_its_run(refused_port):
    store_login_at(f"http://127.0.0.1:{refused_port()}")
    code, _, err = codex("login", "status", "--check")
    assert code == 10 and TAIL.search(err.splitlines()[-1]), err


def test_no_pointer_to_a_log_that_could_not_be_written(refused_port, tmp_path):
    store_login_at(f"http://127.0.0.1:{refused_port()}")
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    code, out, err = codex("login", "status", "--check", "--json", "--log-dir", str(not_a_dir))
    lines = err.splitlines()
    assert code == 10 and lines[0].startswith("warning: cannot write codex-login.log"), err
    assert lines[-1].startswith("error: ") and "(ref " not in err and "more:" not in err
    assert '"reference"' not in out  # nothing to find


def test_no_pointer_after_a_usage_error(refused_port):
    store_login_at(f"http://127.0.0.1:{refused_port()}")
    code, _, err = codex("login", "status", "--check", "--issuer", "http://127.0.0.1:9")  # another issuer: refused
    assert code == 2 and err.startswith("error: ") and "(ref " not in err, err
