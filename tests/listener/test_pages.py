"""The listener's pages: snapshots of every page (a fixed reference), and what a real listener
serves for a run (its reference, `GET /` → the sign-in URL, the error card, the older tab).

Snapshots live in tests/snapshots/pages/; `UPDATE_SNAPSHOTS=1 pytest tests/listener/test_pages.py`
rewrites them (review the diff: a page is what a user sees).
"""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
import trio
from harness import Run, approve, callback_url, get, make_settings, query_of
from hypothesis import given
from hypothesis import strategies as st

from codexlogin.listener import decide as pages
from codexlogin.listener.decide import Action, CallbackRequest, decide

SNAPSHOTS = Path(__file__).parent.parent / "snapshots" / "pages"
REF = "K3XTQZ2A"
STATE = "expected-state-value-0123456789abcdef"
PORT = 1455
SIGN_IN = "https://auth.example.com/oauth/authorize?client_id=app_x&state=" + STATE
START = pages.start_path(STATE)  # the banner's short address: http://localhost:PORT/<this>


def request(path="/auth/callback", params=None, *, host=f"localhost:{PORT}", fetch_site=None, method="GET"):
    return CallbackRequest(method, path, urlencode(params or {}).encode(), host=host, fetch_site=fetch_site)


def decided(req, *, finished=False, sign_in_url=SIGN_IN, **more):
    return decide(
        req,
        expected_state=STATE,
        port=PORT,
        cancel_key=None,
        finished=finished,
        reference=REF,
        sign_in_url=sign_in_url,
        expected_issuer="https://auth.example.com",
        **more,
    )


PAGES = {
    "success": lambda: pages.success_page("alice@example.com (plus)", reference=REF),
    "success_no_account": lambda: pages.success_page(None, reference=REF),
    "denied": lambda: (
        decided(request(params={"error": "access_denied", "error_description": "The user declined", "state": STATE})).page
    ),
    "denied_entitlement": lambda: (
        decided(
            request(
                params={
                    "error": "access_denied",
                    "error_description": "Codex is not enabled (missing_codex_entitlement)",
                    "state": STATE,
                }
            )
        ).page
    ),
    "denied_other": lambda: decided(request(params={"error": "server_error", "state": STATE})).page,
    "older_tab": lambda: decided(request(params={"code": "c", "state": "an-older-state"})).page,
    "missing_state": lambda: decided(request(params={"code": "c"})).page,
    "missing_code": lambda: decided(request(params={"state": STATE})).page,
    "issuer_mismatch": lambda: decided(request(params={"code": "c", "state": STATE, "iss": "https://evil.example"})).page,
    "exchange_failed": lambda: pages.failure_page(
        "Sign-in failed", "token endpoint returned HTTP 500: upstream broke", error_code="server_error", reference=REF
    ),
    "not_found": lambda: decided(request("/favicon.ico")).page,
    "forbidden_host": lambda: decided(request(host="evil.example:1455")).page,
    "redirecting": lambda: decided(request(START)).page,
    "root_from_another_site": lambda: decided(request(START, fetch_site="cross-site")).page,
    "already_finished": lambda: decided(request(params={"code": "c", "state": STATE}), finished=True).page,
    "sign_in_address_reused": lambda: decided(request(START), start_used=True).page,
    "issuer_missing": lambda: decided(request(params={"code": "c", "state": STATE}), iss_required=True).page,
}


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_snapshot(name):
    page = PAGES[name]()
    path = SNAPSHOTS / f"{name}.html"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page, "utf-8")
    assert page == path.read_text("utf-8"), f"{name}: the page changed; UPDATE_SNAPSHOTS=1 rewrites the snapshot"


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_page_shows_the_reference(name):
    page = PAGES[name]()
    assert f"<dt>Reference</dt><dd><code>{REF}</code> (in the terminal, <code>codex login log --grep {REF}</code>" in page


def test_error_pages_are_cards_with_code_details_and_what_to_do():
    denied = PAGES["denied"]()
    assert "<dt>Error code</dt><dd><code>access_denied</code></dd>" in denied
    assert "<dt>Details</dt><dd><pre>The user declined</pre></dd>" in denied
    assert (
        "<dt>What to do</dt><dd>If you declined by mistake, return to your terminal and run <code>codex login</code> again.</dd>"
        in denied
    )
    entitlement = PAGES["denied_entitlement"]()
    assert pages.ENTITLEMENT_GUIDANCE in entitlement
    failed = PAGES["exchange_failed"]()
    assert "server_error" in failed and "codex login doctor" in failed


def test_the_state_mismatch_page_says_the_tab_belongs_to_an_older_sign_in():
    decision = decided(request(params={"code": "c", "state": "an-older-state"}))
    assert (decision.action, decision.status) == (Action.IGNORE, 400)
    assert "older sign-in" in decision.page and "Close this tab" in decision.page and "newest" in decision.page
    assert "state_mismatch" in decision.page
    missing = decided(request(params={"code": "c"}))
    assert "older sign-in" not in missing.page and "missing_state" in missing.page


def test_the_short_address_redirects_to_the_sign_in_url_only_when_the_user_opened_it():
    for site in (None, "none", "same-origin"):
        decision = decided(request(START, fetch_site=site))
        assert (decision.action, decision.status) == (Action.REDIRECT, 302)
        assert dict(decision.headers)[b"location"] == SIGN_IN.encode()
        assert STATE not in decision.page  # the body never carries the URL (the page is masked anyway)
    for site in ("cross-site", "same-site"):
        assert decided(request(START, fetch_site=site)).status == 403
    assert decided(request(START), finished=True).action is Action.ALREADY_FINISHED
    assert decided(request(START, method="POST")).status == 405
    assert decided(request(START, host="evil.example:1455")).status == 403
    assert decided(request(START), sign_in_url=None).status == 404  # no sign-in known: as before


def test_the_short_address_redirects_once_then_ends_the_login():
    """Issue 22 #1: the browser's copy of the address is in its argv, readable by every local user;
    a second use means someone else may hold the sign-in URL: refused, and the session ends it."""
    decision = decided(request(START), start_used=True)
    assert (decision.action, decision.status) == (Action.REUSED, 409)
    assert b"location" not in dict(decision.headers) and "sign_in_address_reused" in decision.page
    assert decided(request(START, fetch_site="cross-site"), start_used=True).status == 403  # not a use: refused first
    assert decided(request(START), start_used=True, finished=True).action is Action.ALREADY_FINISHED


def test_a_callback_without_iss_is_refused_when_the_issuer_promised_it():
    """Issue 22 #5, RFC 9207 §2.4."""
    missing = decided(request(params={"code": "c", "state": STATE}), iss_required=True)
    assert (missing.action, missing.status) == (Action.IGNORE, 400) and missing.log_facts["issuer_missing"]
    assert "issuer_missing" in missing.page
    named = decided(request(params={"code": "c", "state": STATE, "iss": "https://auth.example.com"}), iss_required=True)
    assert named.action is Action.EXCHANGE
    assert decided(request(params={"code": "c", "state": STATE})).action is Action.EXCHANGE  # not promised: optional
    # An error response without `iss` carries no code and ends the login as the error it reports
    # (django-oauth-toolkit promises `iss` but leaves it off a Cancel).
    denied = decided(request(params={"error": "access_denied", "state": STATE}), iss_required=True)
    assert denied.action is not Action.IGNORE and not denied.log_facts.get("issuer_missing")


def test_only_who_saw_the_terminal_can_fetch_the_sign_in_url():
    """The sign-in URL carries the state, PKCE challenge and nonce: a local program that could
    fetch it could sign the user in to its own account. `GET /` and near misses are our 404."""
    for path in ("/", "/index.html", START.upper(), START[:-1], START + "x", START + "/", "/" + "a" * (len(START) - 1), "/é"):
        decision = decided(request(path))
        assert (decision.action, decision.status) == (Action.IGNORE, 404), path
        assert b"location" not in dict(decision.headers)
    assert pages.start_path(STATE) == START and pages.start_path(STATE + "x") != START  # stable per sign-in
    assert STATE not in START and len(START) == 1 + pages.START_PATH_CHARS
    assert pages.start_url(PORT, STATE) == f"http://localhost:{PORT}{START}"


def test_doctor_still_recognises_our_404_page_whatever_the_reference():
    assert pages.is_not_found_page(decided(request("/codex-login-probe")).page)
    assert pages.is_not_found_page(pages._not_found_page(None))
    assert pages.is_not_found_page(pages._not_found_page("AAAAAAAA"))
    assert not pages.is_not_found_page(PAGES["denied"]())
    assert not pages.is_not_found_page(pages._not_found_page("<b>x</b>"))


@given(st.text(min_size=1, max_size=60))
def test_card_fields_are_escaped(text):
    """Whatever goes into a card comes out exactly as html.escape(text), in every field."""
    sentinel = "SENTINEL0SENTINEL"
    template = pages.render_page("h", "m", ok=False, details=sentinel, error_code=sentinel, todo=sentinel, reference=sentinel)
    page = pages.render_page("h", "m", ok=False, details=text, error_code=text, todo=text, reference=text)
    assert page == template.replace(sentinel, html.escape(text))


# --- a real listener (hypercorn on 127.0.0.1:0) against the dev issuer --------------------------


def root_of(run: Run) -> dict:
    return next(m for m in run.log_messages() if m.get("action_type") == "codex:command" and m.get("action_status") == "started")


async def test_a_real_listener_redirects_the_short_address_and_names_the_account_with_the_runs_reference(tmp_path, dev_issuer):
    dev_issuer.email, dev_issuer.plan = "alice@example.com", "plus"
    run = Run(make_settings(tmp_path, dev_issuer.issuer_url))

    async def browser(run, url):
        port = int(query_of(url)["redirect_uri"].rsplit(":", 1)[1].split("/")[0])
        root = await get(f"http://localhost:{port}/", follow_redirects=False)
        assert root.status_code == 404 and "location" not in root.headers  # the sign-in URL is not for anyone to fetch
        short_url = re.search(r"(http://localhost:\d+/\w+) or this URL", run.stderr.getvalue()).group(1)
        short = await get(short_url, follow_redirects=False, headers={"Sec-Fetch-Site": "none"})
        run.pages.append(short)
        assert short.status_code == 302 and short.headers["location"] == url
        run.pages.append(await get(callback_url(url, code="x", state="an-older-state")))
        run.pages.append(await approve(short.headers["location"]))

    with trio.fail_after(30):
        await run(browser)
    reference = root_of(run)["reference"]
    assert re.fullmatch(r"[A-Z2-7]{8}", reference)
    redirect, older, success = run.pages
    assert [redirect.status_code, older.status_code, success.status_code] == [302, 400, 200]
    assert "older sign-in" in older.text
    assert "Signed in to Codex as alice@example.com (plus)" in success.text
    for page in run.pages:
        assert f"<code>{reference}</code>" in page.text
    assert "Starting local login server on http://localhost:" in run.stderr.getvalue()
    decisions = [m.get("decision") for m in run.log_messages() if m.get("action_type") == "codex:callback" and m.get("decision")]
    assert decisions[:2] == ["ignore", "redirect"]  # GET / is our 404; the short address redirects
    start = pages.start_path(query_of(run.url)["state"]).lstrip("/")
    assert start in run.stderr.getvalue() and start not in json.dumps(run.log_messages())  # a secret of the run


async def test_an_exchange_failure_page_is_an_error_card_with_the_reference(tmp_path, dev_issuer):
    dev_issuer.faults.token_status = 500
    dev_issuer.faults.token_body = json.dumps({"error": "server_error", "error_description": "upstream broke"}).encode()
    run = Run(make_settings(tmp_path, dev_issuer.issuer_url))

    async def browser(run, url):
        run.pages.append(await approve(url))

    with trio.fail_after(30):
        await run(browser)
    page = run.pages[0]
    assert page.status_code == 502
    assert "<dt>Error code</dt><dd><code>server_error</code></dd>" in page.text
    assert "upstream broke" in page.text and "codex login doctor" in page.text
    assert f"<code>{root_of(run)['reference']}</code>" in page.text


def test_no_page_shows_a_literal_markdown_backtick():
    """Our own words name commands in <code>, never in Markdown backticks (a page is not Markdown)."""
    for path in SNAPSHOTS.glob("*.html"):
        assert "`" not in path.read_text("utf-8"), path.name


def test_the_missing_state_page_says_it_cannot_finish_and_that_the_login_waits():
    page = (SNAPSHOTS / "missing_state.html").read_text("utf-8")
    assert "Sign-in failed" not in page and "<pre>" not in page  # no failure headline, no sentence in a code box
    assert "cannot finish the sign-in" in page and "keeps waiting" in page
