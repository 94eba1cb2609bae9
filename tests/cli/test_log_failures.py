"""A failed login as support sees it through the real `codex login log` (a subprocess): one
ERROR line in `--format text`, the summary's outcome in words with the issuer's status or code,
in time order with failures marked; the callback page's words for an issuer's 400."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

import trio
from harness import Run, approving_browser, make_settings

CODEX = [sys.executable, "-m", "codexlogin"]
HTML_502 = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"


def log_view(log_file, *args: str) -> str:
    result = subprocess.run([*CODEX, "login", "log", str(log_file), *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_failures_read_once_and_in_words(tmp_path, dev_issuer):
    settings = make_settings(tmp_path, dev_issuer.issuer_url)
    with trio.fail_after(30):
        await Run(settings)(approving_browser)  # signed in
        dev_issuer.faults.token_status, dev_issuer.faults.token_body = 400, b'{"error": "invalid_grant"}'
        refused = Run(settings)
        await refused(approving_browser)
        dev_issuer.faults.token_status, dev_issuer.faults.token_body = 502, HTML_502
        dev_issuer.faults.token_content_type = "text/html"
        gateway = Run(settings)
        await gateway(approving_browser)
    # the callback's own page: an OAuth refusal is not a gateway error
    assert refused.pages[0].status_code == 400 and "The issuer refused to complete this sign-in" in refused.pages[0].text
    assert gateway.pages[0].status_code == 502 and "could not complete this sign-in" in gateway.pages[0].text

    text = log_view(settings.log_file, "--format", "text")
    errors = [line for line in text.splitlines() if " ERROR " in line]
    assert len(errors) == 2, errors  # one per failed run: the token exchange's
    assert all("oauth token exchange failed" in line for line in errors)

    rows = log_view(settings.log_file, "--summary").splitlines()
    assert rows[1].startswith(" ") and rows[1].endswith("signed in")
    assert rows[2].startswith("!") and rows[2].endswith("exchange failed: invalid_grant")
    assert rows[3].startswith("!") and rows[3].endswith("network error: HTTP 502")
    assert all(" login " in row for row in rows[1:4]) and "codexlogin." not in "\n".join(rows)
    starts = [row[2:16] for row in rows[1:4]]
    assert starts == sorted(starts)

    tree = log_view(settings.log_file, "--no-color", "--last", "1")
    assert tree.count("status: 502") == 2  # the exchange's issuer reply, and the callback's own answer
    assert tree.count("failed_in: codex:token_exchange") == 2 and tree.count("kind: unavailable") == 1


async def test_the_text_view_of_a_real_cli_login_has_one_error_line(tmp_path, dev_issuer):
    env = {
        **os.environ,
        "CODEX_HOME": str(tmp_path / "home"),
        "BROWSER": f"{shlex.quote(sys.executable)} -m codexlogin.devissuer browse %s",
    }
    dev_issuer.faults.token_status, dev_issuer.faults.token_body = 502, HTML_502
    dev_issuer.faults.token_content_type = "text/html"
    with trio.fail_after(60):
        login = await trio.run_process(
            [*CODEX, "login", "--issuer", dev_issuer.issuer_url, "--port", "0"], env=env, capture_stderr=True, check=False
        )
        assert login.returncode == 10
        shown = await trio.run_process([*CODEX, "login", "log", "--format", "text"], env=env, capture_stdout=True)
    lines = shown.stdout.decode().splitlines()
    assert sum(" ERROR " in line for line in lines) == 1, lines
