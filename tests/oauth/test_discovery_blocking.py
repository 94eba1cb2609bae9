"""Discovery's two drivers (issue 24): the blocking http.client one, used before trio so the
standard dialect's sign-in URL is shown without waiting for trio and httpx, and the httpx one
inside a run. One look-up (oauth.discovery.DiscoveryLookup) decides for both, so against the same
real issuer they must come to the same Discovery, found or not, and for the same reason.

The blocking driver runs in a worker thread here: the dev issuer is served by this test's trio loop.
"""

from __future__ import annotations

import socket
import time
from dataclasses import replace

import pytest
import trio

from codexlogin.config import load_settings
from codexlogin.oauth import tls
from codexlogin.oauth.discovery import fetch_discovery
from codexlogin.oauth.discovery_blocking import fetch_discovery_blocking
from codexlogin.oauth.issuer import configured_issuer
from codexlogin.record import replace as changed


def settings_for(tmp_path, url):
    return replace(load_settings({"issuer": url}), log_dir=tmp_path / "log", exchange_timeout=10)


async def both_drivers(tmp_path, url, budget=1.5):
    settings = settings_for(tmp_path, url)
    issuer = configured_issuer(settings)
    assert issuer.wants_discovery  # the standard dialect
    with trio.fail_after(30):
        blocking = await trio.to_thread.run_sync(lambda: fetch_discovery_blocking(issuer, budget=budget))
        in_run = await fetch_discovery(settings, issuer, budget=budget)
    return blocking, in_run


async def test_both_drivers_find_the_same_document(tmp_path, dev_issuer):
    blocking, in_run = await both_drivers(tmp_path, dev_issuer.issuer_url)
    assert blocking is not None and blocking.found and blocking.get("token_endpoint")
    assert blocking == in_run


@pytest.mark.parametrize(
    ("fault", "problem"),
    [
        ("wrong_path", "openid-configuration: HTTP 404; oauth-authorization-server: HTTP 404"),
        ("other_issuer", "not this one"),
        ("oversized", "larger than"),
    ],
)
async def test_both_drivers_reject_alike(tmp_path, dev_issuer, fault, problem):
    from codexlogin.oauth.discovery import MAX_DOCUMENT_BYTES

    url = dev_issuer.issuer_url
    if fault == "wrong_path":
        url += "/wrong"
    elif fault == "other_issuer":
        dev_issuer.faults.discovery_issuer = "https://elsewhere.example"
    else:
        dev_issuer.faults.discovery_extra = {"padding": "a" * (MAX_DOCUMENT_BYTES + 10)}
    blocking, in_run = await both_drivers(tmp_path, url)
    assert blocking is not None and not blocking.found and problem in (blocking.problem or "")
    assert blocking == in_run


async def test_an_unreachable_issuer_is_named_alike(tmp_path, refused_port):
    blocking, in_run = await both_drivers(tmp_path, f"http://127.0.0.1:{refused_port()}")
    assert blocking is not None and blocking.unreachable == "connect"
    assert blocking == in_run  # the same kind, problem ("unreachable (ConnectError)") and words


async def test_a_silent_issuer_costs_the_budget_and_no_more(tmp_path):
    with socket.socket() as silent:  # accepts (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        started = time.monotonic()
        blocking, in_run = await both_drivers(tmp_path, f"http://127.0.0.1:{silent.getsockname()[1]}", budget=0.5)
    assert blocking is not None and blocking.problem == "no answer within 0.5s" and not blocking.unreachable
    assert blocking == in_run
    assert time.monotonic() - started < 5


async def test_a_proxy_leaves_discovery_to_the_run(tmp_path, monkeypatch, dev_issuer):
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    issuer = configured_issuer(settings_for(tmp_path, dev_issuer.issuer_url))
    assert fetch_discovery_blocking(issuer) is None  # httpx honours the proxy; http.client here would not
    assert dev_issuer.requests_to("/.well-known/openid-configuration") == []


async def test_https_discovery_uses_the_runs_one_tls_context(tmp_path, monkeypatch, pki, https_issuer):
    """Before the URL and in the run, one context: the custom bundle and the system store are
    each loaded once, into the context both drivers use."""
    monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(pki["ca"]))
    monkeypatch.setattr(tls, "_built", {})
    loads: list[str] = []
    real_bundle, real_system = tls._load_bundle, tls.load_system_store
    monkeypatch.setattr(tls, "_load_bundle", lambda *a: (loads.append("bundle"), real_bundle(*a))[1])
    monkeypatch.setattr(tls, "load_system_store", lambda *a: (loads.append("system"), real_system(*a))[1])
    blocking, in_run = await both_drivers(tmp_path, https_issuer.issuer_url)
    assert blocking is not None and blocking.found and blocking == in_run
    assert sorted(loads) == ["bundle", "system"]
    assert len(tls._built) == 1


async def test_an_untrusted_certificate_is_a_tls_failure_alike(tmp_path, monkeypatch, pki, https_issuer):
    monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(pki["other_ca"]))
    monkeypatch.setattr(tls, "_built", {})
    blocking, in_run = await both_drivers(tmp_path, https_issuer.issuer_url)
    assert blocking is not None and blocking.unreachable == "tls"
    assert changed(blocking, unreachable_words="") == changed(in_run, unreachable_words="")
    # http.client says what OpenSSL said (httpx over trio gives only "ConnectError"), and so what to do
    assert "CERTIFICATE_VERIFY_FAILED" in blocking.unreachable_words and "TLS-inspecting proxy" in blocking.unreachable_words


def test_a_host_beyond_ascii_leaves_discovery_to_the_run(tmp_path):
    """httpx sends such a host in its IDNA form, which http.client would not: the run decides."""
    issuer = configured_issuer(settings_for(tmp_path, "https://exämple.invalid"))
    assert fetch_discovery_blocking(issuer) is None


async def test_a_trickling_issuer_costs_the_budget_and_no_more(tmp_path, nursery):
    """A peer that sends its reply a byte at a time, each within a socket timeout: the budget
    bounds the whole look-up (status line and headers included), as trio's bound does in the run,
    not each read."""
    trickle = b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * 400  # 20 s at a byte every 50 ms

    async def drip(stream: trio.SocketStream) -> None:
        try:
            await stream.receive_some(65536)
            for byte in trickle:
                await stream.send_all(bytes([byte]))
                await trio.sleep(0.05)
        except trio.BrokenResourceError:
            pass

    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    await nursery.start(trio.serve_listeners, drip, listeners)
    port = listeners[0].socket.getsockname()[1]
    issuer = configured_issuer(settings_for(tmp_path, f"http://127.0.0.1:{port}"))
    with trio.fail_after(30):
        started = time.monotonic()
        blocking = await trio.to_thread.run_sync(lambda: fetch_discovery_blocking(issuer, budget=0.5))
        elapsed = time.monotonic() - started
    assert blocking is not None and blocking.problem == "no answer within 0.5s" and not blocking.unreachable
    assert elapsed < 3, f"the look-up took {elapsed:.1f}s for a 0.5s budget"


async def test_a_host_name_that_cannot_be_encoded_is_a_dns_failure_alike(tmp_path, monkeypatch):
    """A label over 63 characters fails in the IDNA encoding before any query: no thread's
    traceback, no "no answer within" the budget that was not spent, and the httpx driver agrees."""
    import threading

    escaped: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: escaped.append(args.exc_value))
    blocking, in_run = await both_drivers(tmp_path, "https://" + "a" * 70 + ".example")
    assert escaped == []
    assert blocking is not None and blocking.unreachable == "dns" and "cannot resolve" in blocking.unreachable_words
    assert blocking == in_run


async def test_an_address_that_never_answers_does_not_hide_the_next_one(tmp_path, dev_issuer, monkeypatch):
    """A name with two addresses, the first of which drops every connection attempt (an IPv6 route
    that goes nowhere, a common fault): the next one is tried within trio's happy-eyeballs delay,
    so both drivers find the document (the run's httpx over trio does; the look-up before the URL
    spent its whole budget on the first address and fell back to the default /oauth/* paths)."""
    port = int(dev_issuer.issuer_url.rsplit(":", 1)[1])
    nowhere = socket.socket(socket.AF_INET6)  # [::1]:port, its accept queue full: a new SYN is dropped
    nowhere.bind(("::1", port))
    nowhere.listen(0)
    queued = []
    for _ in range(3):
        waiting = socket.socket(socket.AF_INET6)
        waiting.setblocking(False)
        waiting.connect_ex(("::1", port))
        queued.append(waiting)
    dev_issuer.issuer_url = f"http://localhost:{port}"
    system_getaddrinfo = socket.getaddrinfo

    def two_addresses(host, *args, **kwargs):  # the system resolver's answer for a dual-stack name
        if host == "localhost":
            return [
                (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", port, 0, 0)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
            ]
        return system_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", two_addresses)
    try:
        blocking, in_run = await both_drivers(tmp_path, f"http://localhost:{port}")
    finally:
        for sock in [nowhere, *queued]:
            sock.close()
    assert in_run.found, in_run.problem
    assert blocking is not None and blocking.found, blocking.problem
    assert blocking == in_run


@pytest.mark.parametrize("framing", ["content-length", "until-close"])
async def test_a_reply_that_closes_the_connection_is_read_alike(tmp_path, nursery, framing):
    """`Connection: close` (http.client then drops the connection's socket while its reply is
    still being read), with a Content-Length or an HTTP/1.0 body that ends at the close."""
    import json

    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    base = f"http://127.0.0.1:{listeners[0].socket.getsockname()[1]}"
    document = json.dumps({"issuer": base, "token_endpoint": f"{base}/token"}).encode()
    length = f"Content-Length: {len(document)}\r\n".encode() if framing == "content-length" else b""
    version = b"HTTP/1.1" if framing == "content-length" else b"HTTP/1.0"

    async def close_after_reply(stream: trio.SocketStream) -> None:
        try:
            await stream.receive_some(65536)
            await stream.send_all(
                version + b" 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n" + length + b"\r\n"
            )
            await stream.send_all(document)
        except trio.BrokenResourceError:
            pass
        finally:
            await stream.aclose()

    await nursery.start(trio.serve_listeners, close_after_reply, listeners)
    blocking, in_run = await both_drivers(tmp_path, base)
    assert in_run.found and in_run.get("token_endpoint") == f"{base}/token", in_run.problem
    assert blocking == in_run
