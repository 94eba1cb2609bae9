"""The openai dialect's reachability probe beside a browser login (flows.reach, oauth.reach): the
URL first, then one bounded look at the route the token exchange will take, with no request sent.

Real sockets on 127.0.0.1; MockClock where the test is about time; a hard trio.fail_after on each.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import trio
from harness import Run, make_settings

from codexlogin.errors import NetworkError, TimedOut
from codexlogin.oauth.reach import PROBE_BUDGET, probe_reach, route_for


def openai_settings(tmp_path, issuer_url, **changes):
    return replace(make_settings(tmp_path, issuer_url), dialect="openai", **changes)


async def never_signs_in(run: Run, url: str) -> None:
    await trio.sleep_forever()


def probe_ends(run: Run) -> list[dict]:
    return [m for m in run.log_messages() if m.get("action_type") == "codex:issuer_probe" and m["action_status"] != "started"]


async def test_a_silent_https_issuer_is_a_warning_after_the_budget_and_the_login_keeps_waiting(tmp_path, silent_port, mock_clock):
    # TCP is taken (the backlog), the TLS handshake never answered: not a reason to give up.
    results = []
    with trio.fail_after(120):  # virtual seconds
        run = Run(openai_settings(tmp_path, f"https://127.0.0.1:{silent_port()}", timeout=60))
        started = trio.current_time()
        async with trio.open_nursery() as nursery:

            async def login() -> None:
                results.append(await run(never_signs_in))

            nursery.start_soon(login)
            await run.stderr.wait_for("warning: could not confirm")
            warned_after = trio.current_time() - started
    assert PROBE_BUDGET <= warned_after < PROBE_BUDGET + 1
    assert isinstance(results[0], TimedOut)  # it kept waiting, to the --timeout
    assert run.stderr.getvalue().count("warning:") == 1
    (end,) = probe_ends(run)
    assert (end["action_status"], end["result"], end["kind"]) == ("succeeded", "unclear", "timeout")


@pytest.mark.concurrency  # the probe races the listener's start and the login's wait
async def test_a_refused_issuer_ends_the_login_with_exit_10(tmp_path, refused_port):
    with trio.fail_after(10):
        run = Run(openai_settings(tmp_path, f"http://127.0.0.1:{refused_port()}"))
        failure = await run(never_signs_in)
    assert isinstance(failure, NetworkError) and failure.exit_code == 10 and failure.fields["kind"] == "connect"
    assert run.url is not None  # the URL came first
    (end,) = probe_ends(run)
    assert end["action_status"] == "failed" and end["kind"] == "connect"


def test_the_route_follows_httpx_proxy_rules(monkeypatch):
    for name in ("no_proxy", "NO_PROXY", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://user:pw@proxy.example:3128")
    route = route_for("https://auth.example.com/oauth/token")
    assert (route.host, route.port, route.tls, route.proxy is not None) == ("proxy.example", 3128, False, True)
    monkeypatch.setenv("NO_PROXY", "example.com")
    assert route_for("https://auth.example.com/oauth/token") == route_for("https://auth.example.com/x")
    direct = route_for("https://auth.example.com/oauth/token")
    assert (direct.host, direct.port, direct.tls, direct.proxy) == ("auth.example.com", 443, True, None)
    monkeypatch.delenv("NO_PROXY")
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1")
    assert route_for("http://127.0.0.1:8080/oauth/token").port == 1080  # all:// covers plain http
    monkeypatch.setenv("NO_PROXY", "*")
    assert route_for("http://127.0.0.1:8080/oauth/token").proxy is None


@pytest.mark.parametrize("host", ["127.0.0.1"])
async def test_probe_verdicts(host, refused_port, silent_port, mock_clock):
    with trio.fail_after(30):
        refused = await probe_reach(f"http://{host}:{refused_port()}/oauth/token", None)
        taken = await probe_reach(f"http://{host}:{silent_port()}/oauth/token", None)
    assert (refused.verdict, refused.kind) == ("unreachable", "connect")
    assert (taken.verdict, taken.kind) == ("reachable", None)


async def test_a_callback_that_came_first_wins_over_the_probe(tmp_path, refused_port):
    from harness import WatchedText

    from codexlogin import diagnostics
    from codexlogin.cli.console import ConsoleUI
    from codexlogin.flows.reach import probe_issuer
    from codexlogin.listener.app import LoginSession
    from codexlogin.oauth.issuer import configured_issuer

    async def never_completes(code: str):
        raise AssertionError("not called")

    settings = openai_settings(tmp_path, f"http://127.0.0.1:{refused_port()}")
    session = LoginSession("state", 1455, None, never_completes)
    session.exchanging = True  # a code arrived before the probe's answer: its exchange decides
    stderr = WatchedText()
    with trio.fail_after(10), diagnostics.open_log(settings.resolved_log_dir):
        await probe_issuer(session, configured_issuer(settings), None, ConsoleUI(stderr))
    assert session.outcome is None and stderr.getvalue() == ""
    ends = [
        m
        for m in Run(settings).log_messages()
        if m.get("action_type") == "codex:issuer_probe" and m["action_status"] != "started"
    ]
    assert [(m["action_status"], m["result"], m["kind"]) for m in ends] == [("succeeded", "unreachable", "connect")]


@pytest.mark.filterwarnings("ignore::trio.TrioDeprecationWarning")
async def test_the_handshake_uses_the_runs_own_trust_loaded_once(tmp_path, monkeypatch, pki, nursery, mock_clock):
    # The issuer's certificate chains to a CA only CODEX_CA_CERTIFICATE names: the probe's handshake
    # verifies it only with the context the token exchange uses, and the bundle is loaded once.
    from functools import partial

    from codexlogin.devissuer import DevIssuer, serve_dev_issuer
    from codexlogin.oauth import tls

    loads = []
    load_bundle = tls._load_bundle
    monkeypatch.setattr(tls, "_load_bundle", lambda *args: (loads.append(args[1:]), load_bundle(*args))[1])
    monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(pki["ca"]))
    url = await nursery.start(partial(serve_dev_issuer, DevIssuer(), certfile=str(pki["server"])))
    with trio.fail_after(120):  # virtual seconds
        run = Run(openai_settings(tmp_path, url, timeout=30))
        failure = await run(never_signs_in)
    assert isinstance(failure, TimedOut)  # nobody signed in; the issuer was there all along
    (end,) = probe_ends(run)
    assert (end["action_status"], end["result"]) == ("succeeded", "reachable")
    assert "warning:" not in run.stderr.getvalue()
    assert loads == [("CODEX_CA_CERTIFICATE", str(pki["ca"]))]


async def test_an_address_family_the_system_cannot_use_leaves_the_other_addresses_to_decide(refused_port, monkeypatch):
    """A name whose first address is of a family this kernel refuses (AF_INET6 where IPv6 is
    disabled; AppleTalk here, which no test machine supports): that address is skipped, as trio's
    open_tcp_stream skips it for the token exchange, and the refused IPv4 one decides the verdict."""
    import socket

    port = refused_port()
    system_getaddrinfo = socket.getaddrinfo

    def unusable_family_first(host, *args, **kwargs):
        if host == "localhost":
            return [
                (socket.AF_APPLETALK, socket.SOCK_STREAM, 0, "", (1, 2)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
            ]
        return system_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", unusable_family_first)
    with trio.fail_after(10):
        reach = await probe_reach(f"http://localhost:{port}/oauth/token", None)
    assert (reach.verdict, reach.kind) == ("unreachable", "connect"), reach
    assert reach.message.startswith("Connection refused"), reach.message  # the IPv4 attempt's words
