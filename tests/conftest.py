"""Test rules for the whole suite.

- Loopback only: every server binds 127.0.0.1 with port 0; nothing reaches another address.
- No port is chosen by binding, closing and binding again (another test or process may take it in
  between, all the more under `pytest -n`): a listener on port 0 is asked which port it got, and a
  port that must refuse or stay free is held by a socket until the test ends (`refused_port`,
  `reserved_port`).
- Every I/O test runs under a hard `trio.fail_after` bound so a hang fails fast.
- Timeouts are tested on trio's MockClock, never with real sleeps.
- CODEX_HOME always points into tmp_path: the real home directory is never touched.
- Under CI (the CI variable set) hypothesis is derandomized: the same examples every run, so a
  red build is reproducible; locally it explores new examples each run.
"""

from __future__ import annotations

import errno
import os
import socket
from functools import partial

import pytest
import trio
import trio.testing
from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")


def pytest_configure(config):
    """Compile codexlogin to bytecode once, before any test (on the xdist controller, before the
    workers start). With PYTHONDONTWRITEBYTECODE set (as in CI) an editable install never gets
    .pyc files, so every `python -m codexlogin` a test starts would compile each module it
    imports from source again (20-40 ms of CPU per process, hundreds of processes). The variable
    only stops Python from writing bytecode, not from reading it; the __pycache__ dirs are
    git-ignored and a stale entry is recompiled (its timestamp no longer matches)."""
    if hasattr(config, "workerinput"):  # an xdist worker: the controller has done it
        return
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("codexlogin")
    for package_dir in (spec and spec.submodule_search_locations) or ():
        compileall.compile_dir(package_dir, quiet=2)  # a read-only install only loses the speed-up
    _rewrite_test_modules_once(config)


def _rewrite_test_modules_once(config):
    """Cache pytest's assertion-rewritten test modules once, before the xdist workers start.

    With PYTHONDONTWRITEBYTECODE set pytest never caches them, so each worker would parse and
    rewrite every test module again (~2.5 s of CPU each); pytest reads a cached one all the same.
    This uses pytest's private rewrite helpers, as its import hook does: if they change, the
    workers just rewrite the modules themselves, as without this."""
    if config.getoption("assertmode", "rewrite") != "rewrite":
        return
    from pathlib import Path

    try:
        from _pytest.assertion import rewrite

        state = config.stash[rewrite.assertstate_key]
        for path in sorted(Path(__file__).parent.rglob("test_*.py")):
            pyc = rewrite.get_cache_dir(path) / (path.name[:-3] + rewrite.PYC_TAIL)
            if rewrite._read_pyc(path, pyc, state.trace) is None and rewrite.try_makedirs(pyc.parent):
                source_key, code = rewrite._rewrite_test(path, config)
                rewrite._write_pyc(state, code, source_key, pyc)
    except Exception:  # noqa: BLE001  # only a speed-up: the workers rewrite what is missing
        return


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    """With workers (`-n`), schedule with `--dist worksteal` unless a --dist was given: an idle
    worker takes queued tests from a busy one, so a few slow tests at the end of one worker's share
    do not leave the other cores idle. (Set here, not in addopts, so `-p no:xdist` still works.)"""
    if getattr(config.option, "numprocesses", None) and getattr(config.option, "dist", None) == "no":
        config.option.dist = "worksteal"


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: unknown with `-p no:xdist`
def pytest_xdist_auto_num_workers(config):
    """`-n auto`: two workers per core. Many tests spend most of their time waiting on a CLI
    subprocess, a socket or a product timeout (a 2 s cancel request, a collector that never
    answers), leaving a core idle with one worker per core. PYTEST_XDIST_AUTO_NUM_WORKERS still
    overrides it, as in pytest-xdist."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # pytest-xdist's own hook reads it
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return 2 * cores


CLOCK_FIXTURES = {"mock_clock", "autojump_clock"}


def pytest_collection_modifyitems(items):
    """Every test on an autojumping clock is a concurrency test: it races real I/O against
    virtual time. `.ci/run` repeats the `concurrency` tests under load to prove they do not flake."""
    for item in items:
        if CLOCK_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.concurrency)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Point CODEX_HOME and HOME at tmp dirs and clear settings from the environment."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex-home"))
    for name in list(os.environ):
        if name.startswith("CODEX_LOGIN_") or name in ("BROWSER", "SSL_CERT_FILE", "CODEX_CA_CERTIFICATE"):
            monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
async def dev_issuer(nursery):
    """The project's development issuer, auto-approving, served over real HTTP on 127.0.0.1:0."""
    from codexlogin.devissuer import DevIssuer, serve_dev_issuer

    issuer = DevIssuer(auto_approve=True)
    await nursery.start(serve_dev_issuer, issuer)
    return issuer


@pytest.fixture
def refused_port():
    """`refused_port()`: a 127.0.0.1 port that refuses connections until the test ends.

    Its socket is bound and never listens (Linux answers a connect to it with a reset, as for a
    closed port) and stays open, so the port is given to no other listener meanwhile.
    """
    held: list[socket.socket] = []

    def take() -> int:
        sock = socket.socket()
        held.append(sock)
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

    yield take
    for sock in held:
        sock.close()


@pytest.fixture
def silent_port():
    """`silent_port()`: a 127.0.0.1 port that takes connections and never says a word.

    Its socket listens and never accepts: the kernel completes each TCP handshake into the backlog,
    so a client connects (the host is there) and then waits for an answer (an HTTP reply, a TLS
    handshake) that never comes. Held until the test ends.
    """
    held: list[socket.socket] = []

    def take() -> int:
        sock = socket.socket()
        held.append(sock)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        return sock.getsockname()[1]

    yield take
    for sock in held:
        sock.close()


@pytest.fixture
def reserved_port():
    """`reserved_port()`: a free port that a login can listen on, kept free until the test ends.

    Held on 127.0.0.1 (and [::1], which a login binds too) by sockets bound with SO_REUSEADDR that
    never listen: a login binding the port with SO_REUSEADDR (as ours does) still gets it, while
    the kernel hands it to no port-0 bind and no outgoing connection meanwhile.
    """
    held: list[socket.socket] = []

    def bind(family: int, host: str, port: int) -> socket.socket:
        sock = socket.socket(family)
        held.append(sock)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        return sock

    def take() -> int:
        for _ in range(20):
            port = bind(socket.AF_INET, "127.0.0.1", 0).getsockname()[1]
            try:
                bind(socket.AF_INET6, "::1", port)
            except OSError as error:
                if error.errno == errno.EADDRINUSE:  # [::1]:port is someone else's: another port
                    continue
                if error.errno not in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):  # else no IPv6 here
                    raise
            return port
        raise AssertionError("no port free on both 127.0.0.1 and [::1] in 20 tries")

    yield take
    for sock in held:
        sock.close()


def _no_threads_under_autojump(monkeypatch):
    """A worker thread races an autojumping clock: time jumps while the thread works, so on a loaded
    machine a test fails at random. Forbid it (this also catches trio's threaded name lookup:
    tests connect to 127.0.0.1 / ::1, never to a name)."""

    async def refuse(*args, **kwargs):
        raise AssertionError("worker thread started under an autojumping MockClock: do the work on the loop")

    monkeypatch.setattr(trio.to_thread, "run_sync", refuse)


@pytest.fixture
def mock_clock(monkeypatch):
    """Virtual time that jumps ahead once every task has been idle for 50 ms of real time.

    A small real threshold (not 0) lets loopback I/O finish before time jumps, so only the
    deliberate waits (a hanging issuer, an absent user) are skipped. No worker threads, so
    nothing but those waits can let time jump.
    """
    _no_threads_under_autojump(monkeypatch)
    return trio.testing.MockClock(autojump_threshold=0.05)


@pytest.fixture
def autojump_clock(monkeypatch):
    """pytest-trio's autojump clock (threshold 0), with the same rules as `mock_clock`."""
    _no_threads_under_autojump(monkeypatch)
    return trio.testing.MockClock(autojump_threshold=0)


@pytest.fixture
def clock(request):
    """pytest-trio uses this clock: the mock one when a test asks for `mock_clock`."""
    if "mock_clock" in request.fixturenames:
        return request.getfixturevalue("mock_clock")
    return None


@pytest.fixture
def pki(tmp_path):
    """A trustme CA with a server certificate for 127.0.0.1/localhost, another CA, and a malformed PEM."""
    import trustme

    ca, other = trustme.CA(), trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    paths = {name: tmp_path / f"{name}.pem" for name in ("ca", "other_ca", "server", "malformed")}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    other.cert_pem.write_to_path(str(paths["other_ca"]))
    server.private_key_and_cert_chain_pem.write_to_path(str(paths["server"]))
    paths["malformed"].write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    return paths


@pytest.fixture
async def https_issuer(nursery, pki):
    """The dev issuer (device codes approved after 1 s) over HTTPS on 127.0.0.1:0, with `pki`'s
    server certificate (signed by pki["ca"])."""
    from codexlogin.devissuer import DevIssuer, serve_dev_issuer

    issuer = DevIssuer(device_auto_approve_after=1)
    await nursery.start(partial(serve_dev_issuer, issuer, certfile=str(pki["server"])))
    assert issuer.issuer_url.startswith("https://127.0.0.1:")
    return issuer
