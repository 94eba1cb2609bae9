"""`codex login log --har` against a hostile HAR (issue 22, point 7).

The verdict line and the browser lines are one line each with control characters escaped, and
the HAR scrubbing shows only words: `;jsessionid=` path parameters, short or all-letter path
secrets and non-words inside public parameters (`scope`, `error_description`) are `<redacted>`.
Through the real CLI in a subprocess, then the class with hypothesis (logview.harscrub).
"""

from __future__ import annotations

import json
import os
import string
import subprocess
import sys
import urllib.parse

from hypothesis import given, settings
from hypothesis import strategies as st
from test_har import AUTHORIZE, CALLBACK, browser_ok, entry, har_text, merged_for
from test_render import T0, lines, run_success

from codexlogin.logview import har as harmod
from codexlogin.logview.harscrub import is_word, scrub_url
from codexlogin.terminal import CONTROL_ESCAPES

CONTROL_CHARACTERS = {chr(i) for i in CONTROL_ESCAPES}


def codex_log_har(tmp_path, har: str, *tasks) -> tuple[int, str, str]:
    log = tmp_path / "codex-login.log"
    log.write_text("".join(lines(*(tasks or (run_success(),)))))
    har_file = tmp_path / "browser.har"
    har_file.write_text(har)
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200"}
    result = subprocess.run(
        [sys.executable, "-m", "codexlogin", "login", "log", str(log), "--har", str(har_file)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    return result.returncode, result.stdout, result.stderr


HOSTILE = "\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07\x1b[2J\u202e\nwhere it broke: forged"


def test_the_verdict_line_escapes_the_browser_error_it_quotes(tmp_path):
    har = har_text(
        entry(T0 + 0.3, AUTHORIZE, 302, location=CALLBACK + "?code=C&state=S"),
        entry(T0 + 0.5, CALLBACK + "?code=C&state=S", 0, error=HOSTILE),
    )
    code, out, err = codex_log_har(tmp_path, har)
    assert code == 0, err
    assert not CONTROL_CHARACTERS & set(out.replace("\n", ""))
    verdicts = [line for line in out.splitlines() if line.startswith(("where it broke: ", "result: "))]
    assert len(verdicts) == 1 and "forged" in verdicts[0]  # the forged line is part of the one verdict
    assert verdicts[0].startswith("where it broke: the browser could not reach the callback on port 1455: ")
    assert "\\x1b]8;;https://evil.example/\\x07click" in verdicts[0]


def test_the_verdict_escapes_an_issuer_path(tmp_path):
    task_lines = run_success()
    task_lines.messages = [
        m for m in task_lines.messages if m.get("action_type") not in ("codex:callback", "codex:token_exchange")
    ]
    har = har_text(entry(T0 + 0.3, "https://idp.example/oauth/authorize;x=\x1b[31m" + "?client_id=a", 400))
    code, out, err = codex_log_har(tmp_path, har, task_lines)
    assert code == 0, err
    assert "\x1b" not in out


SECRETS = {
    "jsessionid": "0F3A9C2B7D1E",
    "short": "Q7zK",
    "letters": "QwErTyUiOpAsDfGhJkLz",
    "lowercase": "kqzmwptxrvbdnlhg",
    "scope": "sEcReTsCoPeVaLuE",
    "description": "Zx9Yw8Vu7",
}


def test_har_scrubbing_drops_path_parameters_short_and_all_letter_path_secrets_and_non_words_in_public_values(tmp_path):
    description = urllib.parse.quote_plus(f"The code {SECRETS['description']} was rejected.")
    har = har_text(
        *browser_ok(T0),
        entry(T0 + 0.1, f"https://idp.example/login;jsessionid={SECRETS['jsessionid']}/next"),
        entry(T0 + 0.15, f"https://idp.example/m/{SECRETS['short']}"),
        entry(T0 + 0.2, f"https://idp.example/magic/{SECRETS['letters']}/go"),
        entry(T0 + 0.25, f"https://idp.example/t/{SECRETS['lowercase']}"),
        entry(T0 + 0.27, f"https://idp.example/x?scope=openid+{SECRETS['scope']}+email&error_description={description}"),
    )
    code, out, err = codex_log_har(tmp_path, har)
    assert code == 0, err
    for name, secret in SECRETS.items():
        assert secret not in out, name
    assert "https://idp.example/login;jsessionid=<redacted>/next" in out
    assert "https://idp.example/m/<redacted>" in out and "https://idp.example/magic/<redacted>/go" in out
    assert "scope=openid%20<redacted>%20email" in out
    assert "error_description=The%20code%20<redacted>%20was%20rejected." in out
    assert "GET http://localhost:1455/auth/callback?code=<redacted>&state=<redacted> -> 200" in out  # still useful


def test_the_short_sign_in_address_is_redacted_even_when_all_letters():
    assert scrub_url("http://localhost:1455/abcdefghijkl") == "http://localhost:1455/<redacted>"
    assert scrub_url("http://localhost:1455/cancel") == "http://localhost:1455/cancel"
    assert scrub_url("http://127.0.0.1:9/oauth/authorize?prompt=login") == "http://127.0.0.1:9/oauth/authorize?prompt=login"


# --- the classes, with hypothesis -----------------------------------------------------------------

_anything = st.text(min_size=1, max_size=60)


@settings(max_examples=150, deadline=None)
@given(error=_anything, path=_anything)
def test_property_har_text_never_drives_the_terminal(error, path):
    har = har_text(
        entry(T0 + 0.3, AUTHORIZE, 302, location=CALLBACK + "?code=C&state=S"),
        entry(T0 + 0.4, "https://idp.example/" + urllib.parse.quote(path, safe="/;=") + "/x", 0, error=error),
        entry(T0 + 0.5, CALLBACK + "?code=C&state=S", 0, error=error),
    )
    merged = merged_for(har, run_success())
    text = harmod.render_merged(merged)
    assert not CONTROL_CHARACTERS & set(text.replace("\n", ""))
    assert len(text.splitlines()) == len(merged.events) + 2  # a head, one line per event, one verdict


_secret = st.text(alphabet=string.ascii_letters + string.digits, min_size=4, max_size=40).filter(
    lambda s: not is_word(s, capital=True)
)
_anywhere = st.sampled_from(["segment", "parameter", "parameter_value", "scope", "error_description", "error", "bare_query"])


def _plant(secret: str, where: str) -> str:
    if where == "segment":
        return f"https://idp.example/a/{secret}/b"
    if where == "parameter":
        return f"https://idp.example/a;{secret}/b"
    if where == "parameter_value":
        return f"https://idp.example/a;jsessionid={secret}/b"
    if where == "bare_query":
        return f"https://idp.example/a?{secret}"
    return f"https://idp.example/a?{where}=" + urllib.parse.quote_plus(f"some words {secret}. more")


@settings(max_examples=300, deadline=None)
@given(secret=_secret, where=_anywhere)
def test_property_a_non_word_never_shows_anywhere_in_a_har_url(secret, where):
    url = _plant(secret, where)
    planted = merged_for(har_text(*browser_ok(T0), entry(T0 + 0.2, url)), run_success())
    baseline = merged_for(har_text(*browser_ok(T0), entry(T0 + 0.2, _plant("PLACEHOLDER0", where))), run_success())
    for render in (harmod.render_merged, harmod.merged_json):  # the secret shows no more often than without it
        assert render(planted).count(secret) == render(baseline).count(secret), (where, render(planted))


@settings(max_examples=100, deadline=None)
@given(value=st.text(alphabet=string.ascii_letters + string.digits + "-_.~", min_size=1, max_size=40))
def test_property_a_path_parameter_value_never_shows(value):
    shown = scrub_url(f"https://idp.example/login;jsessionid={value}")
    assert shown == "https://idp.example/login;jsessionid=<redacted>"


def test_json_output_has_the_same_scrubbing(tmp_path):
    har = har_text(*browser_ok(T0), entry(T0 + 0.1, f"https://idp.example/login;jsessionid={SECRETS['jsessionid']}"))
    merged = merged_for(har, run_success())
    data = json.loads(harmod.merged_json(merged))
    assert any(e.get("url") == "https://idp.example/login;jsessionid=<redacted>" for e in data["timeline"])
