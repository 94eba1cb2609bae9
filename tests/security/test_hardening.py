"""The listener against hostile input and faults: floods, slow clients, fuzz, resets, TLS, disk.

Same rules as every I/O test here: 127.0.0.1 only, port 0, hard trio.fail_after bounds, and
MockClock wherever a timeout or a slow client would otherwise cost real time.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
from contextlib import closing
from functools import partial

import httpx
import pytest
import trio
import trustme
from harness import Run, approve, approving_browser, assert_port_free, callback_url, get, make_settings, query_of
from hypercorn.config import Config
from hypercorn.trio import serve
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codexlogin.credentials.files import load_auth, save_auth
from codexlogin.credentials.model import AuthDotJson
from codexlogin.devissuer import DevIssuer, serve_dev_issuer
from codexlogin.errors import Cancelled, LoginFailure, NetworkError, StorageFailed, TimedOut
from codexlogin.flows.browser import MAX_LOGGED_IGNORED_REQUESTS
from codexlogin.oauth.errors import classify_transport_error


def listener_port(url):
    return int(query_of(url)["redirect_uri"].split(":")[2].split("/")[0])


async def raw_exchange(port, payload: bytes) -> bytes:
    """Send raw bytes, return whatever comes back before the server closes (or 5 s pass)."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(payload)
        received = b""
        with trio.move_on_after(5):
            while chunk := await stream.receive_some(65536):
                received += chunk
        return received


async def test_flood_and_slow_clients_cannot_stop_the_login(tmp_path, dev_issuer, mock_clock):
    slow_streams = []

    async def hostile_then_good(run, url):
        port = listener_port(url)
        for _ in range(20):  # slowloris: a request line, then nothing
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            await stream.send_all(b"GET /auth/callback?code=x HTTP/1.1\r\nHost: loc")
            slow_streams.append(stream)
        async with httpx.AsyncClient(trust_env=False, timeout=600) as client:
            async with trio.open_nursery() as nursery:
                for index in range(MAX_LOGGED_IGNORED_REQUESTS + 150):
                    nursery.start_soon(client.get, f"http://127.0.0.1:{port}/junk{index}")
        run.pages.append(await approve(url))

    with trio.fail_after(120):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url))
        auth = await run(hostile_then_good)
    assert not isinstance(auth, LoginFailure), auth
    assert_port_free(run.url)
    callbacks = [m for m in run.log_messages() if m.get("action_type") == "codex:callback" and m["action_status"] == "started"]
    assert len(callbacks) == MAX_LOGGED_IGNORED_REQUESTS + 1, "junk beyond the cap is counted, not logged"
    unlogged = [m for m in run.log_messages() if m.get("message_type") == "codex:listener:unlogged_requests"]
    assert unlogged[0]["count"] == 150
    for stream in slow_streams:
        await stream.aclose()


async def test_slow_clients_cannot_hold_the_login_past_its_timeout(tmp_path, dev_issuer, mock_clock):
    streams = []

    async def slowloris(run, url):
        for _ in range(10):
            stream = await trio.open_tcp_stream("127.0.0.1", listener_port(url))
            await stream.send_all(b"GET / HTTP/1.1\r\n")
            streams.append(stream)

    with trio.fail_after(200):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url, timeout=60.0))
        failure = await run(slowloris)
        ended_at = trio.current_time()
    assert isinstance(failure, TimedOut)
    assert ended_at < 60 + 5, "the graceful shutdown deadline bounds slow clients"
    assert_port_free(run.url)
    for stream in streams:
        await stream.aclose()


async def trickle_headers(port, host):
    """Headers that never end, 1 KiB at a time: hypercorn refuses once 16 KiB are pending."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(b"GET / HTTP/1.1\r\n" + host)
        received = b""
        with trio.move_on_after(5):
            try:
                for index in range(64):
                    await stream.send_all(b"X-Junk-%d: %s\r\n" % (index, b"B" * 1000))
                    await trio.sleep(0.01)
            except trio.BrokenResourceError:
                pass
            while chunk := await stream.receive_some(65536):
                received += chunk
        return received


async def test_oversized_request_is_refused_and_login_goes_on(tmp_path, dev_issuer):
    responses = []

    async def huge_then_good(run, url):
        port = listener_port(url)
        query = b"code=" + b"A" * 40_000 + b"&state=" + query_of(url)["state"].encode()
        host = b"Host: localhost:%d\r\n" % port
        responses.append(await raw_exchange(port, b"GET /auth/callback?" + query + b" HTTP/1.1\r\n" + host + b"\r\n"))
        responses.append(await trickle_headers(port, host))
        run.pages.append(await approve(url))

    with trio.fail_after(20):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url))
        auth = await run(huge_then_good)
    assert not isinstance(auth, LoginFailure)
    huge_query, endless_headers = responses
    assert huge_query.split(b" ")[1] == b"400", "the state past our 8 KiB query bound is never seen"
    assert endless_headers == b"" or endless_headers.split(b" ")[1] in (b"400", b"413", b"431"), endless_headers[:100]
    assert len(dev_issuer.token_requests("authorization_code")) == 1


methods = st.sampled_from([b"GET", b"POST", b"HEAD", b"PUT", b"OPTIONS", b"DELETE", b"TRACE", b"get", b"G\xffT"])
paths = st.one_of(
    st.sampled_from(
        [b"/auth/callback", b"/cancel", b"/favicon.ico", b"/", b"//auth/callback", b"/auth/callback/..", b"/%61uth/callback"]
    ),
    st.binary(min_size=1, max_size=40).map(lambda raw: b"/" + raw.replace(b" ", b"").replace(b"\r", b"").replace(b"\n", b"")),
)
query_keys = st.sampled_from([b"code", b"state", b"error", b"error_description", b"c%6fde", b"st%61te", b"code[]", b""])
query_values = st.one_of(
    st.binary(max_size=60),
    st.sampled_from([b"<script>alert(1)</script>", b"%3Cscript%3E", b"%ff%fe", b"\xff\xfe", b"%00", b"a" * 500]),
)
queries = st.lists(st.tuples(query_keys, query_values), max_size=8).map(
    lambda pairs: b"&".join(key + b"=" + value for key, value in pairs)
)
hosts = st.sampled_from([b"localhost:{port}", b"127.0.0.1:{port}", b"evil.example:{port}", b"localhost", b"", b"[::1]:{port}"])
extra_headers = st.lists(
    st.tuples(
        st.sampled_from([b"Cookie", b"Origin", b"X-Codex-Login-Cancel", b"Content-Length", b"Transfer-Encoding", b"Referer"]),
        st.binary(max_size=40).map(lambda v: v.replace(b"\r", b"").replace(b"\n", b"")),
    ),
    max_size=4,
)


def clean(raw: bytes) -> bytes:
    return raw.replace(b" ", b"%20").replace(b"\r", b"").replace(b"\n", b"")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(requests=st.lists(st.tuples(methods, paths, queries, hosts, extra_headers), min_size=1, max_size=4))
async def test_fuzzed_requests_never_crash_or_exchange_without_state(tmp_path_factory, requests):
    # Each hypothesis example is its own trio run, so the issuer is served per example, not by a fixture.
    dev_issuer = DevIssuer(auto_approve=True)
    replies = []

    async def fuzz_then_good(run, url):
        port = listener_port(url)
        for method, path, query, host, headers in requests:
            target = clean(path) + (b"?" + clean(query) if query else b"")
            head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
            payload = (
                method
                + b" "
                + target
                + b" HTTP/1.1\r\nHost: "
                + host.replace(b"{port}", str(port).encode())
                + b"\r\n"
                + head
                + b"Connection: close\r\n\r\n"
            )
            replies.append(await raw_exchange(port, payload))
        run.pages.append(await approve(url))

    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await nursery.start(serve_dev_issuer, dev_issuer)
            run = Run(make_settings(tmp_path_factory.mktemp("fuzz"), dev_issuer.issuer_url))
            auth = await run(fuzz_then_good)
            nursery.cancel_scope.cancel()
    assert not isinstance(auth, LoginFailure), auth
    assert len(dev_issuer.token_requests("authorization_code")) == 1
    for reply in replies:
        assert b"<script>" not in reply.lower()
        if reply:
            status = int(reply.split(b" ")[1])
            assert status in (302, 400, 401, 403, 404, 405, 413, 414, 431, 501), reply[:200]
            if status == 302:  # only `GET /`, and only ever to this run's sign-in URL
                assert b"\r\nlocation: " + run.url.encode() + b"\r\n" in reply, reply[:200]


# httpx leaves its request-body generator unclosed when the peer resets mid-request; trio reports
# that at garbage collection. It is httpx's, and harmless here.
@pytest.mark.filterwarnings("ignore:Async generator 'httpx._content.ByteStream.__aiter__':ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_issuer_resetting_the_connection(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    port = listener.getsockname()[1]

    async def resetter():
        sock = trio.socket.from_stdlib_socket(listener)
        while True:
            conn, _ = await sock.accept()
            await conn.recv(65536)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            conn.close()  # linger 0: the peer sees a TCP RST

    async def send_code(run, url):
        run.pages.append(await get(callback_url(url, code="c0de", state=query_of(url)["state"])))

    with closing(listener), trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(resetter)
            run = Run(make_settings(tmp_path, f"http://127.0.0.1:{port}"))
            failure = await run(send_code)
            nursery.cancel_scope.cancel()
    assert isinstance(failure, NetworkError) and failure.fields["kind"] in ("connect", "other")
    assert run.pages[0].status_code == 502 and "could not reach token endpoint" in run.pages[0].text


async def test_issuer_with_untrusted_certificate_is_a_tls_error(tmp_path, dev_issuer, monkeypatch):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.certfile, config.keyfile = str(cert_file), str(key_file)
    config.errorlog = config.accesslog = None
    other_ca = trustme.CA()  # the client trusts only this one
    other_ca.cert_pem.write_to_path(str(tmp_path / "other-ca.pem"))
    monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(tmp_path / "other-ca.pem"))

    async def send_code(run, url):
        run.pages.append(await get(callback_url(url, code="c0de", state=query_of(url)["state"])))

    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(partial(serve, dev_issuer, config, shutdown_trigger=trio.sleep_forever))
            run = Run(make_settings(tmp_path, binds[0]))
            failure = await run(send_code)
            nursery.cancel_scope.cancel()
    assert isinstance(failure, NetworkError) and failure.fields["kind"] == "tls", failure.detail


def test_dns_failures_are_classified():
    cause = socket.gaierror(-2, "Name or service not known")
    error = httpx.ConnectError("[Errno -2] Name or service not known")
    error.__cause__ = cause
    assert classify_transport_error(error) == "dns"
    assert classify_transport_error(httpx.ConnectError("[Errno 111] Connection refused")) == "connect"
    assert classify_transport_error(httpx.ReadTimeout("timed out")) == "timeout"


async def test_disk_full_at_save_keeps_previous_auth_json(tmp_path, dev_issuer, monkeypatch):
    settings = make_settings(tmp_path, dev_issuer.issuer_url)
    save_auth(settings.auth_file, AuthDotJson(auth_mode="apikey", openai_api_key="sk-previous-key-000"))
    before = settings.auth_file.read_bytes()

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with trio.fail_after(10):
        run = Run(settings)
        failure = await run(approving_browser)
    assert isinstance(failure, StorageFailed) and "No space left on device" in failure.detail
    assert settings.auth_file.read_bytes() == before
    assert [p.name for p in settings.codex_home.iterdir() if p.name.endswith(".tmp")] == []
    assert run.pages[0].status_code == 500


async def test_log_dir_vanishing_mid_run_does_not_stop_the_login(tmp_path, dev_issuer):
    import shutil

    async def remove_log_dir_then_approve(run, url):
        shutil.rmtree(run.settings.resolved_log_dir)
        run.pages.append(await approve(url))

    with trio.fail_after(10):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url))
        auth = await run(remove_log_dir_then_approve)
    assert not isinstance(auth, LoginFailure)
    assert load_auth(run.settings.auth_file).auth_mode == "chatgpt"


async def test_ctrl_c_during_the_exchange_saves_nothing(tmp_path, dev_issuer, mock_clock, nursery):
    from harness import PathWatch

    dev_issuer.faults.token_delay = 25  # virtual seconds, under the 30 s exchange bound
    exchange = PathWatch(dev_issuer, "/oauth/token")
    await nursery.start(serve_dev_issuer, exchange)

    async def callback_then_interrupt(run, url):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(lambda: _append(run, approve(url)))
            await exchange.reached.wait()
            os.kill(os.getpid(), signal.SIGINT)

    async def _append(run, awaitable):
        run.pages.append(await awaitable)

    from codexlogin.cli.signals import stop_on_signal  # the CLI takes the signals, not the flow

    with trio.fail_after(100), stop_on_signal() as stop:
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url), stop=stop)
        failure = await run(callback_then_interrupt)
    assert isinstance(failure, Cancelled)
    assert not run.settings.auth_file.exists()
    assert run.pages[0].status_code == 503
    assert_port_free(run.url)
    exchange_end = [m for m in run.log_messages() if m.get("action_type") == "codex:token_exchange"][-1]
    assert exchange_end["action_status"] == "failed" and exchange_end["exception"] == "trio.Cancelled"


def test_saved_auth_json_is_never_partially_written(tmp_path):
    (tmp_path / "store").mkdir()
    path = tmp_path / "store" / "auth.json"
    for index in range(20):
        save_auth(path, AuthDotJson(auth_mode="apikey", openai_api_key=f"sk-key-{index:04d}" * 50))
        assert json.loads(path.read_text())["OPENAI_API_KEY"].startswith(f"sk-key-{index:04d}")
    assert sorted(p.name for p in path.parent.iterdir()) == ["auth.json"]


async def test_a_signal_during_the_atomic_save_lets_the_save_finish(tmp_path, dev_issuer, monkeypatch):
    """The save has no checkpoint: a Ctrl-C that lands inside it is seen after it, by which time the
    credentials are complete on disk, so the login reports what is true: success."""
    real_fsync = os.fsync
    interrupted = []

    def fsync_then_interrupt(fd):
        if not interrupted:
            interrupted.append(True)
            os.kill(os.getpid(), signal.SIGINT)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_then_interrupt)
    from codexlogin.cli.signals import stop_on_signal  # the CLI takes the signals, not the flow

    with trio.fail_after(10), stop_on_signal() as stop:
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url), stop=stop)
        result = await run(approving_browser)
    assert interrupted
    assert not isinstance(result, LoginFailure), result
    assert load_auth(run.settings.auth_file).auth_mode == "chatgpt"
    assert [p.name for p in run.settings.codex_home.iterdir() if p.name.endswith(".tmp")] == []
    assert_port_free(run.url)
