"""`codex login log --har`: a browser HAR merged into the matching run (codexlogin.logview.har).

Rules for this module: the real-browser tests drive Debian's /usr/bin/chromium headless over the
DevTools protocol (tests/cdp_har.py) through a real login against the dev issuer on 127.0.0.1:0,
each under a hard trio.fail_after; they are skipped only when chromium is not installed (CI must
`apt-get install chromium`). Synthetic HARs are built here with fixed times; every output format is
checked for planted secrets.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

import cdp_har
import pytest
import trio
from harness import Run, make_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_render import ISSUER, T0, Task, lines, run_denied, run_success, run_token_failure

from codexlogin.cli import log as logcmd
from codexlogin.logview import har as harmod
from codexlogin.logview.select import Options, Stats, iter_runs

if os.environ.get("CI") and not cdp_har.available():  # .ci/run installs it: a skip there would hide a failure
    raise RuntimeError("CI: Debian's chromium is missing at /usr/bin/chromium (.ci/run installs it)")
needs_chromium = pytest.mark.skipif(
    not cdp_har.available(), reason="needs Debian's chromium at /usr/bin/chromium (CI: apt-get install chromium)"
)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def entry(
    ts: float,
    url: str,
    status: int = 200,
    *,
    method: str = "GET",
    location: str = "",
    error: str | None = None,
    kind: str = "document",
    mime: str = "text/html",
    headers=(),
    cookies=(),
    post: str | None = None,
    body: str | None = None,
    response_headers=(),
) -> dict:
    response = {
        "status": status,
        "statusText": "",
        "headers": [{"name": "Location", "value": location}] if location else [],
        "cookies": list(cookies),
        "content": {"mimeType": mime, "size": 0},
        "redirectURL": location,
    }
    response["headers"] += list(response_headers)
    if body is not None:
        response["content"]["text"] = body
    if error is not None:
        response["_error"] = error
    request = {"method": method, "url": url, "headers": list(headers), "cookies": list(cookies), "queryString": []}
    if post is not None:
        request["postData"] = {"mimeType": "application/x-www-form-urlencoded", "text": post}
    return {"startedDateTime": iso(ts), "time": 5, "_resourceType": kind, "request": request, "response": response}


def har_text(*entries: dict) -> str:
    return json.dumps({"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": list(entries)}})


CALLBACK = "http://localhost:1455/auth/callback"
AUTHORIZE = (
    f"{ISSUER}/oauth/authorize?response_type=code&client_id=app_X&redirect_uri="
    f"{urllib.parse.quote(CALLBACK, safe='')}&scope=openid&code_challenge=CHALLENGE0123456789abcdef"
    "&code_challenge_method=S256&state=STATEVALUE0123456789"
)


def browser_ok(t: float) -> list[dict]:
    """What a browser records for run_success (the run's callback comes 0.75 s after its start)."""
    return [
        entry(t + 0.3, AUTHORIZE, 302, location=f"{CALLBACK}?code=CODEVALUE0123456789&state=STATEVALUE0123456789"),
        entry(t + 0.6, f"{CALLBACK}?code=CODEVALUE0123456789&state=STATEVALUE0123456789"),
    ]


def merged_for(har: str, *tasks: Task) -> harmod.Merged:
    document = harmod.load_har(har)
    runs = [run for run, _ in iter_runs([lines(*tasks)], Options(), Stats())]
    run = harmod.match_run(document, runs)
    assert run is not None
    return harmod.merge(document, run)


# --- scrubbing URLs ---------------------------------------------------------------------------------


def test_scrub_url_keeps_only_public_oauth_parameters():
    url = harmod.scrub_url(AUTHORIZE + "&login_hint=alice%40example.com&nonce=N0NCE#frag")
    assert "client_id=app_X" in url and "scope=openid" in url and "code_challenge_method=S256" in url
    for secret in ("STATEVALUE", "CHALLENGE0123", "alice", "N0NCE", "frag"):
        assert secret not in url
    assert "state=<redacted>" in url and "login_hint=<redacted>" in url


def test_scrub_url_drops_userinfo_random_path_segments_and_nested_redirect_queries():
    nested = urllib.parse.quote("http://localhost:1455/auth/callback?code=NESTEDCODE", safe="")
    url = harmod.scrub_url(f"https://user:pw@idp.example/magic/aB3dE5fG7hJ9kL1mN3pQ5rS7/x?redirect_uri={nested}")
    assert "pw" not in url and "aB3dE5fG7hJ9kL1mN3pQ5rS7" not in url and "NESTEDCODE" not in url
    assert url.startswith("https://idp.example/magic/<redacted>/x?redirect_uri=http%3A%2F%2Flocalhost%3A1455")


def test_load_har_rejects_what_is_not_a_har_without_quoting_it():
    for text in ("not json SECRET", json.dumps({"log": {"SECRET": 1}}), "[]"):
        with pytest.raises(harmod.HarError) as info:
            harmod.load_har(text)
        assert "SECRET" not in str(info.value)


# --- matching and verdicts ------------------------------------------------------------------------


def test_success_chain_is_merged_in_time_order_and_completes():
    merged = merged_for(har_text(*browser_ok(T0)), run_success())
    text = harmod.render_merged(merged)
    assert merged.broke is False and text.endswith("result: the chain completed: signed in\n")
    times = [e.ts for e in merged.events]
    assert times == sorted(times)
    sources = [e.source for e in merged.events]
    assert sources.index("browser") > 0 and "log" in sources[sources.index("browser") :]
    assert "GET http://localhost:1455/auth/callback?code=<redacted>&state=<redacted> -> 200" in text
    assert "received login callback path=/auth/callback has_code=true" in text


def test_the_har_is_matched_to_the_run_it_overlaps_and_by_port():
    other = run_denied(T0 + 5000)
    merged = merged_for(har_text(*browser_ok(T0 + 5000)), run_success(), other)
    assert merged.run.uuid == other.uuid


def test_a_har_far_from_every_run_matches_none_and_the_command_says_so(tmp_path, capsys):
    log = tmp_path / "a.log"
    log.write_text("".join(lines(run_success())))
    har = tmp_path / "b.har"
    har.write_text(har_text(*browser_ok(T0 + 86400)))
    assert logcmd.log([str(log)], har=har) == 1
    assert "no run in" in capsys.readouterr().err


def test_a_run_without_a_listener_is_matched_only_by_its_reference():
    status = Task("88888888-8888-4888-8888-888888888888", T0 + 0.1)
    status.start([1], "codex:command", command="login status", flow="status")
    status.ok([2], "codex:command", outcome="success")
    document = harmod.load_har(har_text(*browser_ok(T0)))
    runs = [run for run, _ in iter_runs([lines(status)], Options(), Stats())]
    assert harmod.match_run(document, runs) is None
    status.messages[0]["reference"] = "REF12345"
    document = harmod.load_har(har_text(*browser_ok(T0), entry(T0 + 1, "https://x.example/?q=1", body="REF12345")))
    runs = [run for run, _ in iter_runs([lines(status)], Options(), Stats())]
    assert harmod.match_run(document, runs) is not None


def test_the_reference_in_the_har_picks_the_run_even_out_of_the_time_window():
    task = run_success()
    task.messages[0]["reference"] = "K7Q2M9XD"
    page = entry(T0 + 9000, f"{CALLBACK}?error=access_denied", body="<p>Reference: K7Q2M9XD</p>")
    merged = merged_for(har_text(page), run_denied(T0 + 9000), task)
    assert merged.run.uuid == task.uuid
    assert "(reference K7Q2M9XD)" in harmod.render_merged(merged)


def test_verdict_issuer_error_page_instead_of_a_redirect():
    task = Task("66666666-6666-4666-8666-666666666666", T0)
    task.start([1], "codex:command", command="login", flow="browser", issuer=ISSUER)
    task.start([2, 1], "codex:listener", host="127.0.0.1", port=1455)
    task.t += 600
    task.fail([2, 2], "codex:listener", "codexlogin.errors.TimedOut", "timed out")
    task.fail([3], "codex:command", "codexlogin.errors.TimedOut", "timed out", outcome="timed_out", exit_code=5)
    merged = merged_for(har_text(entry(T0 + 1, AUTHORIZE, 400)), task)
    assert merged.broke and "never requested /auth/callback: the issuer answered 400 at /oauth/authorize" in merged.verdict


def test_verdict_callback_unreachable():
    task = run_success()
    har = har_text(
        entry(T0 + 0.3, AUTHORIZE, 302, location=CALLBACK + "?code=C&state=S"),
        entry(T0 + 0.5, CALLBACK + "?code=C&state=S", 0, error="net::ERR_CONNECTION_REFUSED"),
    )
    merged = merged_for(har, task)
    assert merged.verdict.startswith("the browser could not reach the callback on port 1455: net::ERR_CONNECTION_REFUSED")
    assert merged.verdict.endswith("(was codex login still waiting?)")


def test_the_verdict_names_the_program_as_invoked(monkeypatch):
    monkeypatch.setattr("sys.argv", ["/usr/local/bin/codexlogin", "login", "log", "--har", "x.har"])
    har = har_text(entry(T0 + 0.5, CALLBACK + "?code=C&state=S", 0, error="net::ERR_CONNECTION_REFUSED"))
    assert merged_for(har, run_success()).verdict.endswith("(was codexlogin login still waiting?)")


def test_verdict_token_exchange_failed_names_the_error():
    merged = merged_for(har_text(*browser_ok(T0 + 200)), run_token_failure())
    assert merged.broke and merged.verdict.startswith("callback reached, token exchange failed: invalid_grant")


def test_verdict_denied_and_no_authorize_at_all():
    assert (
        "error from the issuer: access_denied"
        in merged_for(
            har_text(entry(T0 + 100.3, AUTHORIZE, 302), entry(T0 + 100.5, CALLBACK + "?error=access_denied")), run_denied()
        ).verdict
    )
    merged = merged_for(har_text(entry(T0 + 1, "https://example.com/")), run_success())
    assert merged.verdict.startswith("the browser never requested the authorize URL")


def validate_against_schema(name: str, data: object) -> None:
    import jsonschema

    from codexlogin.schemas import schema_path

    jsonschema.Draft202012Validator(json.loads(schema_path(name).read_text())).validate(data)


def test_json_carries_the_same_timeline(tmp_path, capsys):
    log = tmp_path / "a.log"
    log.write_text("".join(lines(run_success())))
    har = tmp_path / "b.har"
    har.write_text(har_text(*browser_ok(T0)))
    assert logcmd.log([str(log)], har=har, json=True) == 0
    data = json.loads(capsys.readouterr().out)
    validate_against_schema("log", data)  # the published schema (codexlogin/schemas/log.json)
    assert data["verdict"] == "the chain completed: signed in" and data["broke"] is False
    assert [e["source"] for e in data["timeline"]].count("browser") == 2
    assert {e["phase"] for e in data["timeline"]} >= {"authorize", "callback", "login"}
    assert logcmd.log([str(log)], har=har) == 0
    text = capsys.readouterr().out
    assert len(text.splitlines()) == len(data["timeline"]) + 2


# --- planted secrets never print --------------------------------------------------------------------

_secret = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", min_size=16, max_size=40)
_where = st.sampled_from(
    ["query", "query_unknown", "fragment", "userinfo", "cookie", "set_cookie", "authorization", "post", "body", "location"]
)
_encoding = st.sampled_from(["raw", "percent", "base64", "json"])


def _encode(secret: str, how: str) -> str:
    if how == "percent":
        return urllib.parse.quote(secret + "/+=", safe="")
    if how == "base64":
        return base64.b64encode(secret.encode()).decode()
    if how == "json":
        return json.dumps({"token": secret})
    return secret


def _plant(secret: str, where: str, how: str) -> list[dict]:
    value = _encode(secret, how)
    q = urllib.parse.quote(value, safe="")
    t = T0
    base = browser_ok(t)
    if where == "query":
        base.append(entry(t + 0.62, f"{CALLBACK}?code={q}&state={q}"))
    elif where == "query_unknown":
        base.append(entry(t + 0.2, f"https://idp.example/login?session_hint={q}&ticket={q}"))
    elif where == "fragment":
        base.append(entry(t + 0.2, f"https://idp.example/done#access_token={q}"))
    elif where == "userinfo":
        base.append(entry(t + 0.2, f"https://alice:{q}@idp.example/"))
    elif where == "cookie":
        base.append(
            entry(
                t + 0.2,
                "https://idp.example/",
                headers=[{"name": "Cookie", "value": f"sid={value}"}],
                cookies=[{"name": "sid", "value": value}],
            )
        )
    elif where == "set_cookie":
        base.append(entry(t + 0.2, "https://idp.example/", response_headers=[{"name": "Set-Cookie", "value": f"sid={value}"}]))
    elif where == "authorization":
        base.append(entry(t + 0.2, "https://idp.example/api", headers=[{"name": "Authorization", "value": f"Bearer {value}"}]))
    elif where == "post":
        base.append(entry(t + 0.2, "https://idp.example/login", 302, method="POST", post=f"password={q}&user=alice"))
    elif where == "body":
        base.append(entry(t + 0.2, "https://idp.example/", body=f"<script>var t='{value}'</script>"))
    elif where == "location":
        base.append(entry(t + 0.2, "https://idp.example/x", 302, location=f"{CALLBACK}?code={q}#{q}"))
    return base


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secret=_secret, where=_where, how=_encoding)
def test_planted_har_secrets_never_print_in_any_format(secret, where, how):
    document = har_text(*_plant(secret, where, how))
    merged = merged_for(document, run_success())
    outputs = [harmod.render_merged(merged), harmod.merged_json(merged)]
    for output in outputs:
        for form in {secret, _encode(secret, how), urllib.parse.quote(_encode(secret, how), safe="")}:
            if len(form) >= 8:
                assert form not in output, (where, how)


# --- a real HAR from a real headless Chromium ----------------------------------------------------

PLANTED_COOKIE = "plantedCookieValue0123456789"
PLANTED_BEARER = "plantedBearerValue0123456789"


async def _login_recorded_by_chromium(tmp_path: Path, issuer, **changes) -> tuple[Run, dict]:
    settings_ = make_settings(tmp_path, issuer.issuer_url, **changes)
    run = Run(settings_)
    box: dict = {}

    def record(url: str) -> None:
        host = urllib.parse.urlsplit(issuer.issuer_url).hostname
        with cdp_har.Chromium() as browser:
            box["har"] = browser.record(
                url,
                done=cdp_har.entry_done(r"/auth/callback" if not changes.get("timeout") else r"/oauth/authorize"),
                cookies=[
                    {"name": "idp_session", "value": PLANTED_COOKIE, "domain": host, "path": "/"},
                    {"name": "cb_session", "value": PLANTED_COOKIE, "domain": "localhost", "path": "/"},
                ],
                extra_headers={"Authorization": f"Bearer {PLANTED_BEARER}"},
            )

    async def chromium(run_: Run, url: str) -> None:
        await trio.to_thread.run_sync(record, url)

    await run(chromium)
    return run, box["har"]


def _render_with_har(tmp_path: Path, run: Run, har: dict, capsys, *extra: str) -> tuple[str, dict]:
    path = tmp_path / "recorded.har"
    path.write_text(json.dumps(har))
    assert logcmd.log([str(run.settings.log_file)], har=path) == 0
    text = capsys.readouterr().out
    assert logcmd.log([str(run.settings.log_file)], har=path, json=True) == 0
    data = json.loads(capsys.readouterr().out)
    return text, data


def _assert_no_secrets(har: dict, run: Run, *outputs: str) -> None:
    from harness import query_of

    state = query_of(run.url)["state"]
    callback = (
        next(e for e in har["log"]["entries"] if "/auth/callback" in e["request"]["url"])
        if any("/auth/callback" in e["request"]["url"] for e in har["log"]["entries"])
        else None
    )
    secrets = [state, PLANTED_COOKIE, PLANTED_BEARER, query_of(run.url)["code_challenge"]]
    if callback is not None and "code=" in callback["request"]["url"]:
        secrets.append(query_of(callback["request"]["url"])["code"])
    raw = json.dumps(har)
    assert PLANTED_COOKIE in raw and PLANTED_BEARER in raw and state in raw  # the HAR holds them…
    for output in outputs:
        for secret in secrets:
            assert secret not in output  # …the outputs never


@needs_chromium
@pytest.mark.concurrency
async def test_real_chromium_har_of_a_successful_login(tmp_path, dev_issuer, capsys):
    with trio.fail_after(120):
        run, har = await _login_recorded_by_chromium(tmp_path, dev_issuer)
    assert not isinstance(run.result, Exception), run.stderr.getvalue()
    text, data = _render_with_har(tmp_path, run, har, capsys)
    assert data["verdict"] == "the chain completed: signed in", text
    phases = [(e["source"], e["phase"]) for e in data["timeline"]]
    assert ("browser", "authorize") in phases and ("browser", "callback") in phases
    browser_callback = next(i for i, p in enumerate(phases) if p == ("browser", "callback"))
    logged_callback = next(i for i, e in enumerate(data["timeline"]) if "received login callback" in e["text"])
    exchange_ok = next(i for i, e in enumerate(data["timeline"]) if "oauth token exchange succeeded" in e["text"])
    assert browser_callback < exchange_ok and logged_callback < exchange_ok
    _assert_no_secrets(har, run, text, json.dumps(data))


@needs_chromium
@pytest.mark.concurrency
async def test_real_chromium_har_of_a_failed_token_exchange(tmp_path, dev_issuer, capsys):
    dev_issuer.faults.token_status = 400
    dev_issuer.faults.token_body = b'{"error": "invalid_grant", "error_description": "code expired"}'
    with trio.fail_after(120):
        run, har = await _login_recorded_by_chromium(tmp_path, dev_issuer)
    text, data = _render_with_har(tmp_path, run, har, capsys)
    assert data["broke"] and data["verdict"].startswith("callback reached, token exchange failed: invalid_grant"), text
    assert "where it broke: callback reached, token exchange failed: invalid_grant" in text
    _assert_no_secrets(har, run, text, json.dumps(data))


@needs_chromium
@pytest.mark.concurrency
async def test_real_chromium_har_of_an_issuer_error_page_instead_of_a_redirect(tmp_path, dev_issuer, capsys):
    dev_issuer.client_ids = {"some-other-client"}  # our client id is "not registered": a 400 page
    with trio.fail_after(120):
        run, har = await _login_recorded_by_chromium(
            tmp_path, dev_issuer, timeout=3.0
        )  # the HAR matches even if it times out first
    assert type(run.result).__name__ == "TimedOut", run.result
    text, data = _render_with_har(tmp_path, run, har, capsys)
    assert data["verdict"].startswith(
        "the browser never requested /auth/callback: the issuer answered 400 at /oauth/authorize"
    ), text
    assert [e["status"] for e in data["timeline"] if e["source"] == "browser" and e["phase"] == "authorize"] == [400]
    _assert_no_secrets(har, run, text, json.dumps(data))


def test_among_runs_reusing_the_port_the_one_closest_in_time_wins():
    runs = [run_success(T0 + 10 * i) for i in range(30)]
    for i, task in enumerate(runs):
        for message in task.messages:
            message["task_uuid"] = f"{i:08d}-0000-4000-8000-000000000000"
    merged = merged_for(har_text(*browser_ok(T0 + 150)), *runs)
    assert merged.run.uuid.startswith("00000015")
    assert merged.verdict == "the chain completed: signed in"


def _waiting_run() -> Task:
    """A login that listened on 1455 and timed out: no callback ever reached it."""
    task = Task("99999999-9999-4999-8999-999999999999", T0)
    task.start([1], "codex:command", command="login", flow="browser", issuer=ISSUER)
    task.start([2, 1], "codex:listener", host="127.0.0.1", port=1455)
    task.t += 60
    task.fail([2, 2], "codex:listener", "codexlogin.errors.TimedOut", "timed out")
    task.fail([3], "codex:command", "codexlogin.errors.TimedOut", "timed out", outcome="timed_out", exit_code=5)
    return task


def test_verdict_redirect_to_the_callback_that_the_browser_never_followed():
    har = har_text(entry(T0 + 1, AUTHORIZE, 302, location=CALLBACK + "?code=C0DE0123456789&state=S"))
    merged = merged_for(har, _waiting_run())
    assert merged.verdict.startswith("the issuer redirected to the callback but the browser never requested it")
    assert "C0DE0123456789" not in harmod.render_merged(merged)


def test_verdict_callback_answered_but_not_by_this_run():
    har = har_text(entry(T0 + 1, AUTHORIZE, 302, location=CALLBACK), entry(T0 + 1.2, CALLBACK + "?code=C&state=S", 200))
    assert merged_for(har, _waiting_run()).verdict.startswith("the browser reached the callback, but this run did not record it")


def test_verdict_state_mismatch():
    task = _waiting_run()  # with a callback whose state did not match, nested in the listener
    mismatch = Task(task.uuid, T0 + 1.5)
    mismatch.start(
        [2, 2, 1], "codex:callback", path="/auth/callback", has_code=True, has_state=True, has_error=False, state_valid=False
    )
    mismatch.msg([2, 2, 2], "codex:callback:state_mismatch", severity="warning")
    mismatch.ok([2, 2, 3], "codex:callback", status=400)
    task.messages[2:2] = mismatch.messages
    for message in task.messages[5:]:
        message["task_level"] = [2, 3] if message.get("action_type") == "codex:listener" else message["task_level"]
    har = har_text(entry(T0 + 1, AUTHORIZE, 302, location=CALLBACK), entry(T0 + 1.4, CALLBACK + "?code=C&state=OLD", 400))
    merged = merged_for(har, task)
    assert merged.verdict.startswith("callback reached, but its state did not match this run"), merged.verdict
    assert "WARN codex_login::server: login callback state mismatch" in harmod.render_merged(merged)


def test_long_timeline_lines_wrap_at_the_width():
    merged = merged_for(har_text(*browser_ok(T0)), run_success())
    wide, narrow = harmod.render_merged(merged), harmod.render_merged(merged, width=72)
    assert max(map(len, wide.splitlines())) > 72
    assert max(map(len, narrow.splitlines()[1:-1])) <= 72
    assert any(line.startswith(" " * 32) and line[32] != " " for line in narrow.splitlines())  # under the text, +4
    assert "".join(line.strip() for line in narrow.splitlines()).replace(" ", "") == "".join(
        line.strip() for line in wide.splitlines()
    ).replace(" ", "")
