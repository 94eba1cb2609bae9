"""Under the `codexlogin` console script every message names `codexlogin` (issue 23, point 9): the
deep ones too (a flow's error, a status warning, the banners, doctor's advice, the completion
help and its files), through the real installed script in a subprocess. Under `codex` the words
stay Codex CLI 0.171's (the other CLI tests pin them)."""

from __future__ import annotations

import os
import re
import stat
import sys
from pathlib import Path

import pytest
import trio

CODEXLOGIN = Path(sys.executable).parent / "codexlogin"  # the console script pip installed beside python
WRONG_NAME = re.compile(r"(?<![\w/.-])codex\s+(login|logout|completion)\b")

pytestmark = pytest.mark.skipif(not CODEXLOGIN.exists(), reason="the package is not installed with its console scripts")


def env_for(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_LOGIN_", "SSH_"))}
    env.update(CODEX_HOME=str(tmp_path / "codex-home"), HOME=str(tmp_path / "home"), BROWSER="true", COLUMNS="100")
    env.update(extra)
    return env


async def codexlogin(tmp_path, *args, stdin=b"", **env_extra) -> tuple[int, str]:
    with trio.fail_after(60):
        result = await trio.run_process(
            [str(CODEXLOGIN), *args],
            env=env_for(tmp_path, **env_extra),
            stdin=stdin,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    return result.returncode, result.stdout.decode() + result.stderr.decode()


def assert_named_codexlogin(output: str) -> None:
    assert not WRONG_NAME.search(output), output
    assert "codexlogin login" in output or "codexlogin completion" in output, output


async def test_messages_name_codexlogin_when_invoked_so(tmp_path, refused_port, silent_port):
    refused = f"http://127.0.0.1:{refused_port()}"
    outputs = {}
    outputs["log, no log yet"] = await codexlogin(tmp_path, "login", "log")
    outputs["status"] = await codexlogin(tmp_path, "login", "status")
    outputs["status --check"] = await codexlogin(tmp_path, "login", "status", "--check")
    outputs["token"] = await codexlogin(tmp_path, "login", "token")
    outputs["--api-key"] = await codexlogin(tmp_path, "login", "--api-key", "sk-x")
    outputs["--with-api-key, empty"] = await codexlogin(tmp_path, "login", "--with-api-key")
    outputs["doctor"] = await codexlogin(tmp_path, "login", "doctor", "--issuer", refused)
    outputs["doctor --json"] = await codexlogin(tmp_path, "login", "doctor", "--json", "--issuer", refused)
    outputs["completion --help"] = await codexlogin(tmp_path, "completion", "--help")
    # The banner, then the probe's error (openai dialect, refused issuer) with the run's tail.
    outputs["browser login"] = await codexlogin(
        tmp_path, "login", "--no-browser", "--port", "0", "-c", "dialect=openai", "-c", f"issuer={refused}"
    )
    # The SSH banner, then the timeout's advice.
    outputs["ssh login"] = await codexlogin(
        tmp_path,
        "login",
        "--no-browser",
        "--port",
        "0",
        "--timeout",
        "1",
        "-c",
        "dialect=openai",
        "-c",
        f"issuer=http://127.0.0.1:{silent_port()}",
        SSH_CONNECTION="198.51.100.4 51234 203.0.113.7 22",
        USER="alice",
    )
    # A status warning from deep in the credential store: a loose auth.json.
    auth = tmp_path / "codex-home" / "auth.json"
    auth.write_text('{"OPENAI_API_KEY": "sk-test-key-0123456789"}')
    auth.chmod(0o644)
    outputs["status, loose auth.json"] = await codexlogin(tmp_path, "login", "status")
    auth.write_text("{not json")
    outputs["status, unusable"] = await codexlogin(tmp_path, "login", "status")
    outputs["status --json, unusable"] = await codexlogin(tmp_path, "login", "status", "--json")
    auth.chmod(stat.S_IRUSR | stat.S_IWUSR)
    for what, (_code, output) in outputs.items():
        assert not WRONG_NAME.search(output), (what, output)
    named = (
        "log, no log yet",
        "status",
        "status --check",
        "token",
        "--api-key",
        "doctor",
        "doctor --json",
        "browser login",
        "ssh login",
    )
    for what in (*named, "status, unusable"):
        assert "codexlogin login" in outputs[what][1], (what, outputs[what][1])
    assert outputs["browser login"][0] == 10 and outputs["ssh login"][0] == 5
    assert (
        "codexlogin login --device-auth" in outputs["ssh login"][1] and "run `codexlogin login` again" in outputs["ssh login"][1]
    )
    assert "completions/codexlogin" in outputs["completion --help"][1]


async def test_completion_install_writes_codexlogins_own_file(tmp_path):
    home = tmp_path / "home"  # the autouse fixture made it
    code, output = await codexlogin(tmp_path, "completion", "bash", "--install")
    assert code == 0, output
    completions = home / ".local" / "share" / "bash-completion" / "completions"
    assert [p.name for p in completions.iterdir()] == ["codexlogin"]  # never the real Codex CLI's `codex`
    assert (completions / "codexlogin").read_text().startswith("# Bash completion for codexlogin\n")
    assert "Installed bash completion for codexlogin" in output
