"""The listener's decisions as a pure function: no sockets needed."""

import html
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codexlogin.listener.decide import Action, CallbackRequest, decide, host_allowed, render_page

STATE = "expected-state-value-0123456789abcdef"
PORT = 1455


def callback(params=None, *, path="/auth/callback", method="GET", host=f"localhost:{PORT}", token=None, raw=None):
    query = raw if raw is not None else urlencode(params or {}).encode()
    return CallbackRequest(method=method, path=path, raw_query=query, host=host, cancel_token=token)


def run(request, *, finished=False, cancel_key="k" * 43):
    return decide(request, expected_state=STATE, port=PORT, cancel_key=cancel_key, finished=finished)


def test_valid_code_and_state_exchanges():
    decision = run(callback({"code": "the-code", "state": STATE}))
    assert decision.action is Action.EXCHANGE
    assert decision.code == "the-code"
    assert decision.log_facts == {"has_code": True, "has_state": True, "has_error": False, "state_valid": True}
    assert "the-code" not in repr(decision)


@pytest.mark.parametrize("params", [{"code": "c"}, {"code": "c", "state": "wrong"}, {"code": "c", "state": ""}])
def test_missing_or_wrong_state_is_400_and_keeps_waiting(params):
    decision = run(callback(params))
    assert (decision.action, decision.status) == (Action.IGNORE, 400)
    assert decision.log_facts["state_valid"] is False


def test_error_with_valid_state_is_denied_with_escaped_detail():
    decision = run(callback({"error": "access_denied", "error_description": "<b>no</b>", "state": STATE}))
    assert decision.action is Action.DENIED
    assert decision.error_code == "access_denied"
    assert "&lt;b&gt;no&lt;/b&gt;" in decision.page and "<b>no</b>" not in decision.page


def test_error_with_wrong_state_cannot_end_the_login():
    decision = run(callback({"error": "access_denied", "state": "forged"}))
    assert (decision.action, decision.status) == (Action.IGNORE, 400)


def test_our_state_without_code_or_error_ends_the_login_in_0171s_words():
    decision = run(callback({"state": STATE}))
    assert (decision.action, decision.status) == (Action.FAILED, 200)
    assert decision.error_code == "missing_authorization_code"
    assert "Missing authorization code. Sign-in could not be completed." in decision.page


def test_a_missing_code_with_another_state_keeps_waiting():
    decision = run(callback({"state": "forged"}))
    assert (decision.action, decision.status) == (Action.IGNORE, 400)


@pytest.mark.parametrize("path", ["/favicon.ico", "/", "/auth/callback/", "/AUTH/CALLBACK"])
def test_other_paths_404(path):
    assert run(callback({"code": "c", "state": STATE}, path=path)).status == 404


def test_non_get_refused():
    assert run(callback({"code": "c", "state": STATE}, method="POST")).status == 405
    assert run(callback({"code": "c", "state": STATE}, method="HEAD")).status == 405


def test_cancel_is_a_challenge_answered_with_our_key():
    from codexlogin.listener.decide import CHALLENGE_HEADER, cancel_proof

    key, nonce = "k" * 43, "n" * 43

    def cancel(token=None, *, cancel_key=key, cancel_nonce=nonce):
        request = callback(path="/cancel", token=token)
        return decide(request, expected_state=STATE, port=PORT, cancel_key=cancel_key, cancel_nonce=cancel_nonce, finished=False)

    challenge = cancel()
    assert challenge.status == 401 and dict(challenge.headers)[CHALLENGE_HEADER.encode()] == nonce.encode()
    assert cancel(cancel_proof(key, nonce, PORT)).action is Action.CANCEL
    assert cancel(key).status == 403, "the key itself is not a proof"
    assert cancel(cancel_proof(key, nonce, PORT + 1)).status == 403, "a proof made for another port is refused"
    assert cancel(cancel_proof(key, "other-nonce", PORT)).status == 403, "a proof for another listener is refused"
    assert cancel(cancel_proof("x" * 43, nonce, PORT)).status == 403
    assert cancel(cancel_proof(key, nonce, PORT), cancel_key=None).status == 403


def test_after_outcome_a_callback_gets_already_finished():
    decision = run(callback({"code": "c", "state": STATE}), finished=True)
    assert decision.action is Action.ALREADY_FINISHED
    assert "already finished" in decision.page


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        (f"localhost:{PORT}", True),
        (f"127.0.0.1:{PORT}", True),
        (f"[::1]:{PORT}", True),
        (f"LOCALHOST:{PORT}", True),
        ("localhost:1", False),
        (f"evil.example:{PORT}", False),
        (f"localhost.evil.example:{PORT}", False),
        (None, False),
    ],
)
def test_host_check_blocks_dns_rebinding(host, allowed):
    assert host_allowed(host, PORT) is allowed
    assert (run(callback({"code": "c", "state": STATE}, host=host)).action is Action.EXCHANGE) is allowed


def test_repeated_keys_first_wins_and_bad_utf8_is_tolerated():
    decision = run(callback(raw=b"code=first&code=second&state=" + STATE.encode() + b"&x=%ff%fe\xff"))
    assert decision.code == "first"


@settings(max_examples=300, deadline=None)
@given(
    path=st.text(max_size=40),
    raw=st.binary(max_size=300),
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "get"]),
)
def test_fuzz_never_crashes_and_never_exchanges_without_state(path, raw, method):
    decision = run(CallbackRequest(method=method, path=path, raw_query=raw, host=f"localhost:{PORT}"))
    if decision.action is Action.EXCHANGE:
        assert STATE.encode() in raw
    assert "<script" not in decision.page.lower()


@given(st.text(min_size=1, max_size=80))
def test_pages_escape_everything(text):
    """Whatever text goes in comes out exactly as html.escape(text), wherever it is placed."""
    sentinel = "SENTINEL0SENTINEL"
    template = render_page(sentinel, sentinel, ok=False, details=sentinel)
    assert render_page(text, text, ok=False, details=text) == template.replace(sentinel, html.escape(text))


def test_iss_parameter_must_name_our_issuer():
    ours = "https://auth.example.com"
    params = {"code": "c", "state": STATE}
    good = decide(
        callback({**params, "iss": ours + "/"}),
        expected_state=STATE,
        port=PORT,
        cancel_key=None,
        finished=False,
        expected_issuer=ours,
    )
    assert good.action is Action.EXCHANGE
    absent = decide(callback(params), expected_state=STATE, port=PORT, cancel_key=None, finished=False, expected_issuer=ours)
    assert absent.action is Action.EXCHANGE
    bad = decide(
        callback({**params, "iss": "https://evil.example"}),
        expected_state=STATE,
        port=PORT,
        cancel_key=None,
        finished=False,
        expected_issuer=ours,
    )
    assert (bad.action, bad.status) == (Action.IGNORE, 400)
