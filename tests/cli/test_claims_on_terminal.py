"""Issue 22 #2, claims reach the terminal raw: an id_token's email or plan (or the login it
replaced) holding ESC, an OSC 8 hyperlink, BEL, U+202E or a newline is shown inert and on one
line, in the login's "Logged in as …", its "replaced the login of …", `logout`'s line and
`status` (a newline there used to forge a second "Logged in as admin" line).

The real `codex` in a subprocess against the dev issuer; hypothesis for the escaping class.
"""

from __future__ import annotations

import os
import shlex
import sys

import trio
from hypothesis import given
from hypothesis import strategies as st

from codexlogin.cli.console import say_line
from codexlogin.cli.logout import logged_out_line
from codexlogin.credentials.status import StatusReport, replaced_note
from codexlogin.terminal import INVISIBLE_FORMAT, inline

CODEX = [sys.executable, "-m", "codexlogin"]
FORGED = "Logged in as admin@example.com"
HOSTILE_EMAIL = f"eve@example.com\n{FORGED}\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07\u202eexe.txt\x07"
HOSTILE_PLAN = "pro\x1b[2J\r"
#: What must never reach a terminal from a claim: C0 (newline included), DEL, C1, bidi and invisibles.
UNSAFE = {chr(i) for i in [*range(0x20), 0x7F, *range(0x80, 0xA0), *INVISIBLE_FORMAT]}


def env_for(tmp_path):
    return {
        **os.environ,
        "CODEX_HOME": str(tmp_path / "codex-home"),
        "BROWSER": f"{shlex.quote(sys.executable)} -m codexlogin.devissuer browse %s",
        "PYTHONUNBUFFERED": "1",
    }


async def codex(*args, env):
    with trio.fail_after(40):
        result = await trio.run_process([*CODEX, *args], env=env, capture_stdout=True, capture_stderr=True, check=False)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def assert_inert(text: str) -> None:
    for line in text.splitlines():
        assert not (set(line) & UNSAFE), repr(line)
        assert not line.startswith(FORGED), f"a forged line: {line!r}"


async def test_hostile_claims_are_one_inert_line_in_login_status_and_logout(tmp_path, dev_issuer):
    env = env_for(tmp_path)
    dev_issuer.email, dev_issuer.plan = HOSTILE_EMAIL, HOSTILE_PLAN
    code, out, err = await codex("login", "--issuer", dev_issuer.issuer_url, "--port", "0", env=env)
    assert code == 0, err
    assert_inert(out + err.replace("\r\x1b[2K", ""))  # the spinner's own erase is ours
    (said,) = [line for line in err.splitlines() if line.startswith("Logged in as ")]
    assert said.startswith("Logged in as eve@example.com\\nLogged in as admin@example.com\\x1b]8;;")
    assert "\\u202e" in said and "(pro\\x1b[2J\\r)" in said

    dev_issuer.email, dev_issuer.plan = "mallory@example.com", "plus"  # replaces the hostile login
    code, out, err = await codex("login", "--issuer", dev_issuer.issuer_url, "--port", "0", env=env)
    assert code == 0, err
    assert_inert(out + err.replace("\r\x1b[2K", ""))
    (said,) = [line for line in err.splitlines() if line.startswith("Logged in as ")]
    assert "replaced the login of eve@example.com\\nLogged in as admin" in said

    dev_issuer.email = HOSTILE_EMAIL
    code, out, err = await codex("login", "--issuer", dev_issuer.issuer_url, "--port", "0", env=env)
    assert code == 0, err
    code, out, err = await codex("login", "status", env=env)
    assert code == 0, err
    assert_inert(out + err)
    assert out == "" and len(err.splitlines()) == 1 and err.startswith("Logged in using ChatGPT as eve@example.com\\n")

    code, out, err = await codex("logout", env=env)
    assert code == 0, err
    assert_inert(out + err)
    assert out == "" and len(err.splitlines()) == 1
    assert err.startswith("Successfully logged out: removed the login of eve@example.com\\nLogged in as admin")


# --- the escaping class ---------------------------------------------------------------------------


@given(st.text())
def test_inline_is_one_inert_line_for_any_text(text):
    shown = inline(text)
    assert not (set(shown) & UNSAFE)
    assert len(shown.splitlines()) <= 1  # str.splitlines knows every line break there is
    if text.isprintable():
        assert shown == text  # ordinary text, e.g. an IDN email, is left as it is


@given(st.text(), st.text(), st.text(), st.text(), st.lists(st.text(alphabet=st.characters(min_codepoint=0x20)), max_size=2))
def test_status_text_is_one_line_per_line_whatever_the_claims(email, plan, account, problem, notes):
    for status in ("logged_in", "policy_violation", "storage_error", "unusable"):
        report = StatusReport(
            status, 0, "file", mode="chatgpt", email=email or None, plan=plan or None, account_id=account or None
        )
        report.problem, report.notes = problem, [note.replace("\n", " ") for note in notes]
        text = report.text()
        assert not (set(text) - {"\n"}) & UNSAFE
        expected = 1 + len(report.notes) if status in ("logged_in", "policy_violation") else 1
        assert len(text.split("\n")) == expected


@given(st.text(min_size=1), st.text(min_size=1))
def test_the_login_and_logout_lines_are_one_inert_line(before, after):
    import io

    old = StatusReport("logged_in", 0, "file", mode="chatgpt", email=before)
    new = StatusReport("logged_in", 0, "file", mode="chatgpt", email=after)
    for line in (f"Logged in as {after}; {replaced_note(old, new)}", logged_out_line(old.stored_login())):
        stream = io.StringIO()
        say_line(line, stream)
        written = stream.getvalue()
        assert written.endswith("\n") and written.count("\n") == 1
        assert not (set(written[:-1]) & UNSAFE)
