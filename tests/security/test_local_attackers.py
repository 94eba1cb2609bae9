"""Issue 10, "The listener and local attackers": hostile local programs and files, and saves that
fail after the sign-in. Real sockets on 127.0.0.1 and ::1, real files, real other processes.

- The other loopback: the callback port is held on both 127.0.0.1 and [::1] (RFC 8252 §7.3); a
  program on [::1]:port is a clear exit 6; a host without IPv6 goes on with 127.0.0.1 alone.
- Takeover across homes: a login of ours with another CODEX_HOME is named as such.
- Files: auth.lock never follows a symlink; a planted or loose login-cancel.key is not trusted;
  an empty one is replaced; a foreign-owned or loose auth.json is warned about (status, doctor);
  `bundle -o` never replaces a non-regular file; stale `.auth.json.*.tmp` files are removed.
- Save failures: the store is checked before anything is opened (exit 7); the lock wait is bounded
  by --timeout; tokens that could not be saved are revoked.
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from contextlib import ExitStack, closing
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import trio
from harness import Run, approve, approving_browser, assert_no_listener, assert_port_free, make_settings, port_of, run_cli

from codexlogin.credentials.files import load_auth, save_auth
from codexlogin.credentials.lock import hold_file_lock
from codexlogin.credentials.model import AuthDotJson
from codexlogin.errors import Cancelled, LoginFailure, PortUnavailable, StorageFailed
from codexlogin.listener.decide import CANCEL_HEADER, CHALLENGE_HEADER, cancel_proof
from codexlogin.listener.prepare import CANCEL_KEY_FILE, load_or_create_cancel_key, reserve_browser_login

CODEX = [sys.executable, "-m", "codexlogin"]
IS_ROOT = os.geteuid() == 0
OTHER_UID = 65534  # nobody


async def codex(*args, env, timeout=30):
    with trio.fail_after(timeout):
        result = await trio.run_process([*CODEX, *args], env=env, capture_stdout=True, capture_stderr=True, check=False)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def env_for(codex_home, **extra):
    return {**os.environ, "CODEX_HOME": str(codex_home), "PYTHONUNBUFFERED": "1", **extra}


def held_ipv6(port=0):
    """A real program's socket listening on [::1]:port (never answering)."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind(("::1", port))
    sock.listen(5)
    return sock


def free_on_both():
    """(port, holders): a foreign program listens on [::1]:port, and 127.0.0.1:port is kept free
    for a login (bound with SO_REUSEADDR, never listening: a login still gets it, while no port-0
    bind elsewhere is handed it) until `holders` is closed."""
    for _ in range(50):
        six = held_ipv6()
        port = six.getsockname()[1]
        four = socket.socket()
        four.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            four.bind(("127.0.0.1", port))
        except OSError:
            four.close()
            six.close()
            continue
        holders = ExitStack()
        holders.enter_context(closing(six))
        holders.enter_context(closing(four))
        return port, holders
    raise AssertionError("no port free on both loopbacks")


def revoked_tokens(issuer):
    return [params.get("token") for method, path, params in issuer.requests if path == "/oauth/revoke"]


# --- the other loopback -------------------------------------------------------------------------


async def test_the_login_listens_on_both_loopbacks_and_completes_through_ipv6(tmp_path, dev_issuer):
    """A browser that resolves `localhost` to ::1 reaches our listener, not someone else's."""

    async def ipv6_browser(run, url):
        port = port_of(url)
        async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
            root = await client.get(f"http://[::1]:{port}/")  # our listener's 404 page
            assert root.status_code == 404 and "Codex" in root.text
            location = (await client.get(url)).headers["location"]
            parts = urlsplit(location)
            run.pages.append(await client.get(parts._replace(netloc=f"[::1]:{port}").geturl(), headers={"Host": parts.netloc}))

    with trio.fail_after(15):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url))
        auth = await run(ipv6_browser)
    assert not isinstance(auth, LoginFailure), auth
    assert run.pages[0].status_code == 200
    assert load_auth(run.settings.auth_file).auth_mode == "chatgpt"
    port = port_of(run.url)
    for host in ("127.0.0.1", "::1"):  # both freed again
        assert_no_listener(port, host)


async def test_a_program_on_ipv6_loopback_is_refused_with_exit_6(tmp_path, dev_issuer):
    port, holders = free_on_both()
    with holders:
        with trio.fail_after(20):
            run = Run(make_settings(tmp_path, dev_issuer.issuer_url, port=port, timeout=3.0))
            failure = await run(approving_browser)
        assert isinstance(failure, PortUnavailable), failure
        assert failure.exit_code == 6
        assert f"port {port} on [::1] is in use by another program" in failure.detail
        assert dev_issuer.token_requests() == []
        assert_no_listener(port)  # and 127.0.0.1 was not left held


async def test_the_cli_names_the_ipv6_holder_and_exits_6(tmp_path, dev_issuer):
    port, holders = free_on_both()
    with holders:
        code, out, err = await codex(
            "login",
            "--issuer",
            dev_issuer.issuer_url,
            "--port",
            str(port),
            "--no-browser",
            "--timeout",
            "3",
            env=env_for(tmp_path / "home"),
        )
    assert code == 6, err
    assert "[::1]" in err and str(port) in err and "another program" in err
    assert "http://" not in err.split("error:")[0], "no sign-in URL before the refusal"


@pytest.mark.parametrize("code", [errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT])
def test_without_ipv6_the_login_goes_on_with_127_0_0_1(tmp_path, monkeypatch, code):
    """A host without IPv6: binding ::1 fails with EADDRNOTAVAIL / EAFNOSUPPORT."""
    real_socket = socket.socket

    class NoIPv6(real_socket):
        def bind(self, address):
            if self.family == socket.AF_INET6:
                raise OSError(code, os.strerror(code))
            return super().bind(address)

    monkeypatch.setattr(socket, "socket", NoIPv6)
    prepared = reserve_browser_login(make_settings(tmp_path, "http://127.0.0.1:1"))
    try:
        assert len(prepared.socks) == 1 and prepared.socks[0].family == socket.AF_INET
    finally:
        prepared.socks[0].close()


NETNS_PROBE = """
import json, os, sys
from codexlogin.config import load_settings
from codexlogin.listener.prepare import reserve_browser_login
settings = load_settings({"issuer": "http://127.0.0.1:1", "port": 0, "no_browser": True})
prepared = reserve_browser_login(settings)
print(json.dumps([s.getsockname()[0] for s in prepared.socks]))
"""


@pytest.mark.skipif(shutil.which("unshare") is None or shutil.which("ip") is None, reason="needs unshare and ip")
def test_without_ipv6_in_a_real_network_namespace(tmp_path):
    """The same, for real: a fresh network namespace whose loopback has no ::1."""
    script = f"ip link set lo up && ip -6 addr del ::1/128 dev lo 2>/dev/null; exec {shlex.quote(sys.executable)} -c {shlex.quote(NETNS_PROBE)}"
    env = env_for(tmp_path / "home")
    result = subprocess.run(
        ["unshare", "-n", "sh", "-c", script], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    if result.returncode != 0 and "Operation not permitted" in result.stderr:
        pytest.skip("unshare -n is not permitted here")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["127.0.0.1"]


# --- takeover across homes ----------------------------------------------------------------------


@pytest.mark.concurrency
@pytest.mark.parametrize("second_home", ["private", "world_writable"])
async def test_a_login_with_another_codex_home_is_named_and_left_running(tmp_path, dev_issuer, second_home):
    first = Run(replace(make_settings(tmp_path / "a", dev_issuer.issuer_url), codex_home=tmp_path / "home-a"))
    second_codex_home = tmp_path / "home-b"
    if second_home == "world_writable":  # its cancel key is not trusted: it cannot prove anything
        second_codex_home.mkdir()
        second_codex_home.chmod(0o777)
    listening = trio.Event()

    async def wait(run, url):
        listening.set()

    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(first, wait)
            await listening.wait()
            port = port_of(first.url)
            second = Run(replace(make_settings(tmp_path / "b", dev_issuer.issuer_url, port=port), codex_home=second_codex_home))
            failure = await second(approving_browser)
            assert isinstance(failure, PortUnavailable), failure
            assert failure.exit_code == 6
            assert f"port {port} is in use by another codex login (other CODEX_HOME)" in failure.detail
            assert "Ctrl-C" in failure.detail and "same CODEX_HOME" in failure.detail
            if second_home == "world_writable":
                assert "no usable login-cancel.key" in failure.detail and "others cannot write" in failure.detail
            else:
                assert "its login-cancel.key differs" in failure.detail
            assert "another program" not in failure.detail
            assert first.result is None, "the other home's login keeps its port"
            # the first login is still there and still works
            first.pages.append(await approve(first.url))
        # the nursery has waited for the first login to finish
    assert not isinstance(first.result, LoginFailure), first.result
    assert_port_free(first.url)


# --- files ---------------------------------------------------------------------------------------


async def test_auth_lock_symlink_is_refused_never_followed(tmp_path):
    home = tmp_path / "codexhome"
    home.mkdir(mode=0o700)
    target = tmp_path / "victim"
    (home / "auth.lock").symlink_to(target)
    with trio.fail_after(5):
        with pytest.raises(StorageFailed, match="symbolic link"):
            async with hold_file_lock(home / "auth.lock", timeout=1):
                pass
    assert not target.exists(), "O_CREAT through the link created the target"
    existing = tmp_path / "existing"
    existing.write_text("keep")
    (home / "auth.lock").unlink()
    (home / "auth.lock").symlink_to(existing)
    with pytest.raises(StorageFailed):
        async with hold_file_lock(home / "auth.lock", timeout=1):
            pass
    assert existing.read_text() == "keep"


async def test_a_login_whose_lock_is_a_symlink_saves_nothing_and_revokes(tmp_path, dev_issuer):
    settings = make_settings(tmp_path, dev_issuer.issuer_url)
    settings.codex_home.mkdir(mode=0o700)
    target = tmp_path / "planted-target"

    async def plant_then_approve(run, url):  # planted after the checks before the URL (issue 22 #6)
        (settings.codex_home / "auth.lock").symlink_to(target)
        await approving_browser(run, url)

    with trio.fail_after(20):
        run = Run(settings)
        failure = await run(plant_then_approve)
    assert isinstance(failure, StorageFailed) and failure.exit_code == 7
    assert not target.exists() and not settings.auth_file.exists()
    revoked = revoked_tokens(dev_issuer)
    assert len(revoked) == 1 and not dev_issuer.token_active(revoked[0])
    assert "the new tokens were revoked at the issuer" in failure.detail


def _cancel_key_home(tmp_path, mode):
    home = tmp_path / "codexhome"
    home.mkdir()
    home.chmod(mode)
    return home


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o722])
def test_a_cancel_key_in_a_group_or_world_writable_home_is_not_trusted(tmp_path, mode):
    home = _cancel_key_home(tmp_path, mode)
    planted = "planted-by-someone-else-0123456789abcdef"
    (home / CANCEL_KEY_FILE).write_text(planted)
    (home / CANCEL_KEY_FILE).chmod(0o600)
    assert load_or_create_cancel_key(home) is None
    assert (home / CANCEL_KEY_FILE).read_text() == planted


@pytest.mark.skipif(not IS_ROOT, reason="chown to another user needs root")
def test_a_cancel_key_owned_by_another_user_is_replaced(tmp_path):
    home = _cancel_key_home(tmp_path, 0o700)
    planted = "planted-by-someone-else-0123456789abcdef"
    (home / CANCEL_KEY_FILE).write_text(planted)
    (home / CANCEL_KEY_FILE).chmod(0o600)
    os.chown(home / CANCEL_KEY_FILE, OTHER_UID, OTHER_UID)
    key = load_or_create_cancel_key(home)
    assert key is not None and key != planted
    st = (home / CANCEL_KEY_FILE).stat()
    assert st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) == 0o600


@pytest.mark.parametrize(("content", "mode"), [(b"", 0o600), (b"short", 0o600), (b"\xff" * 40, 0o600), (b"x" * 43, 0o644)])
def test_an_empty_corrupt_or_loose_cancel_key_is_replaced_atomically(tmp_path, content, mode):
    """A full disk on the first login used to leave a 0-byte key forever (takeover never worked)."""
    home = _cancel_key_home(tmp_path, 0o700)
    (home / CANCEL_KEY_FILE).write_bytes(content)
    (home / CANCEL_KEY_FILE).chmod(mode)
    key = load_or_create_cancel_key(home)
    assert key is not None and len(key) >= 32 and key.encode() != content
    assert (home / CANCEL_KEY_FILE).read_text() == key
    assert stat.S_IMODE((home / CANCEL_KEY_FILE).stat().st_mode) == 0o600
    assert load_or_create_cancel_key(home) == key, "the key is stable once good"
    assert sorted(p.name for p in home.iterdir()) == [CANCEL_KEY_FILE], "no temp file left"


def test_a_cancel_key_symlink_is_not_followed(tmp_path):
    home = _cancel_key_home(tmp_path, 0o700)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("x" * 43)
    elsewhere.chmod(0o600)
    (home / CANCEL_KEY_FILE).symlink_to(elsewhere)
    key = load_or_create_cancel_key(home)
    assert key is not None and key != "x" * 43
    assert not (home / CANCEL_KEY_FILE).is_symlink() and elsewhere.read_text() == "x" * 43


async def test_a_planted_cancel_key_cannot_cancel_our_login(tmp_path, dev_issuer):
    """In a world-writable CODEX_HOME another user plants login-cancel.key and uses it to cancel
    our login (and then takes its port); the planted key is not trusted, so /cancel is refused."""
    settings = make_settings(tmp_path, dev_issuer.issuer_url)
    home = settings.codex_home
    home.mkdir()
    home.chmod(0o777)
    planted = "planted-by-someone-else-0123456789abcdef"
    (home / CANCEL_KEY_FILE).write_text(planted)
    (home / CANCEL_KEY_FILE).chmod(0o600)
    statuses = []

    async def attacker_then_user(run, url):
        port = port_of(url)
        async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
            challenge = await client.get(f"http://127.0.0.1:{port}/cancel")
            nonce = challenge.headers.get(CHALLENGE_HEADER) or "no-nonce"
            reply = await client.get(
                f"http://127.0.0.1:{port}/cancel", headers={CANCEL_HEADER: cancel_proof(planted, nonce, port)}
            )
            statuses.append(reply.status_code)
        run.pages.append(await approve(url))

    with trio.fail_after(15):
        run = Run(settings)
        result = await run(attacker_then_user)
    assert not isinstance(result, Cancelled), result
    assert not isinstance(result, LoginFailure), result
    assert statuses and statuses[0] != 200


def _write_auth(path: Path, mode: int) -> None:
    save_auth(path, AuthDotJson(auth_mode="apikey", openai_api_key="sk-test-0123456789abcdef"))
    path.chmod(mode)


@pytest.mark.parametrize(("mode", "level"), [(0o666, "FAIL"), (0o620, "FAIL"), (0o644, "WARN"), (0o640, "WARN")])
def test_a_loose_auth_json_is_warned_about_by_status_and_flagged_by_doctor(tmp_path, capsys, mode, level):
    from codexlogin.config import load_settings
    from codexlogin.support.doctor import check_auth_json

    settings = load_settings({})
    _write_auth(settings.auth_file, mode)
    code = run_cli("login", "status")
    out, err = capsys.readouterr()
    assert code == 0
    assert (
        f"warning: {settings.auth_file} has mode {mode:04o}" in err
        and f"chmod 600 {settings.auth_file}" in err
        and "arning" not in out
    )
    result, detail, hint = check_auth_json(settings)
    assert result == level.lower() and f"mode {mode:04o}" in detail and hint and "chmod 600" in hint


def test_a_private_auth_json_gets_no_warning(tmp_path, capsys):
    from codexlogin.config import load_settings

    _write_auth(load_settings({}).auth_file, 0o600)
    assert run_cli("login", "status") == 0
    out, err = capsys.readouterr()
    assert "Warning" not in out + err


@pytest.mark.skipif(not IS_ROOT, reason="chown to another user needs root")
def test_a_foreign_owned_auth_json_is_warned_about_and_fails_doctor(tmp_path, capsys):
    from codexlogin.config import load_settings
    from codexlogin.support.doctor import check_auth_json

    settings = load_settings({})
    _write_auth(settings.auth_file, 0o600)
    os.chown(settings.auth_file, OTHER_UID, OTHER_UID)
    assert run_cli("login", "status") == 0
    out, err = capsys.readouterr()
    assert f"owned by uid {OTHER_UID}, not by you" in out + err
    result, detail, hint = check_auth_json(settings)
    assert result == "fail" and "planted" in detail and "rm " in hint


def _bundle(tmp_path, target, capsys):
    code = run_cli("login", "bundle", issuer="http://127.0.0.1:1", output=target)
    out, err = capsys.readouterr()
    return code, out, err


def test_bundle_onto_a_fifo_is_refused(tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code, out, err = _bundle(tmp_path, fifo, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "it is a FIFO" in err and "nothing was replaced" in err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.parametrize("to", ["file", "dir", "dangling"])
def test_bundle_onto_a_symlink_is_refused(tmp_path, capsys, to):
    target = tmp_path / "target"
    if to == "file":
        target.write_text("keep")
    elif to == "dir":
        target.mkdir()
    link = tmp_path / "link.zip"
    link.symlink_to(target)
    code, out, err = _bundle(tmp_path, link, capsys)
    assert code == 2 and out == "" and "symbolic link" in err and err.count("\n") == 1
    assert link.is_symlink()
    if to == "file":
        assert target.read_text() == "keep"
    if to == "dir":
        assert list(target.iterdir()) == []
    if to == "dangling":
        assert not target.exists()


def test_bundle_onto_a_device_node_is_refused(tmp_path, capsys):
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except (PermissionError, OSError):
        pytest.skip("cannot make a device node here")
    code, out, err = _bundle(tmp_path, device, capsys)
    assert code == 2 and "device node" in err
    assert stat.S_ISCHR(os.lstat(device).st_mode)


KILLED_WRITER = """
import os, sys, time
from pathlib import Path
from codexlogin.credentials.files import save_auth
from codexlogin.credentials.model import AuthDotJson

def stop(*args):
    print("written", flush=True)
    time.sleep(60)

os.replace = stop
save_auth(Path(sys.argv[1]), AuthDotJson(auth_mode="apikey", openai_api_key="sk-killed-writer-0123456789"))
"""


def test_a_temp_file_left_by_kill_9_is_removed_on_the_next_write(tmp_path):
    home = tmp_path / "codexhome"
    home.mkdir(mode=0o700)
    auth_file = home / "auth.json"
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(auth_file)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline() == "written\n"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(10)
        writer.stdout.close()
    stale = [p for p in home.iterdir() if p.name.startswith(".auth.json.") and p.name.endswith(".tmp")]
    assert len(stale) == 1 and "sk-killed-writer" in stale[0].read_text()
    # things that merely look alike are not ours to remove
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("keep")
    (home / ".auth.json.link.tmp").symlink_to(elsewhere)
    os.mkfifo(home / ".auth.json.fifo.tmp")
    (home / ".auth.json.dir.tmp").mkdir()
    (home / ".other.json.x.tmp").write_text("keep")
    save_auth(auth_file, AuthDotJson(auth_mode="apikey", openai_api_key="sk-next-0123456789abcdef"))
    names = sorted(p.name for p in home.iterdir())
    assert names == [".auth.json.dir.tmp", ".auth.json.fifo.tmp", ".auth.json.link.tmp", ".other.json.x.tmp", "auth.json"]
    assert elsewhere.read_text() == "keep"
    assert load_auth(auth_file).openai_api_key == "sk-next-0123456789abcdef"


# --- save failures after sign-in ----------------------------------------------------------------


def browser_script(tmp_path):
    marker = tmp_path / "browser-opened"
    script = tmp_path / "browse.sh"
    script.write_text(f"#!/bin/sh\ntouch {shlex.quote(str(marker))}\n")
    script.chmod(0o755)
    return marker, f"{script} %s"


@pytest.mark.parametrize("layout", ["parent_is_a_file", "home_is_a_file"])
async def test_an_unusable_codex_home_fails_before_anything_is_opened(tmp_path, dev_issuer, layout):
    """Works as root too: nothing can make a directory under a regular file."""
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    home = blocker / "codex-home" if layout == "parent_is_a_file" else blocker
    marker, browser = browser_script(tmp_path)
    code, out, err = await codex(
        "login",
        "--issuer",
        dev_issuer.issuer_url,
        "--port",
        "0",
        "--timeout",
        "3",
        env=env_for(home, BROWSER=browser, CODEX_LOGIN_LOG_DIR=str(tmp_path / "log")),
    )
    assert code == 7, err
    assert "cannot save credentials in" in err and str(home) in err
    assert "http://" not in err and "/oauth/authorize" not in err, "no sign-in URL was printed"
    assert dev_issuer.requests == []
    await trio.sleep(0.5)
    assert not marker.exists(), "no browser was opened"


async def test_an_unusable_codex_home_fails_the_device_login_before_a_code_is_requested(tmp_path, dev_issuer):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    code, out, err = await codex(
        "login",
        "--device-auth",
        "--issuer",
        dev_issuer.issuer_url,
        env=env_for(blocker / "codex-home", CODEX_LOGIN_LOG_DIR=str(tmp_path / "log")),
    )
    assert code == 7, err
    assert "cannot save credentials in" in err
    assert dev_issuer.requests == []


async def test_an_unusable_keyring_fails_before_the_url(tmp_path, dev_issuer):
    marker, browser = browser_script(tmp_path)
    code, out, err = await codex(
        "login",
        "--issuer",
        dev_issuer.issuer_url,
        "--port",
        "0",
        "--timeout",
        "3",
        "-c",
        "cli_auth_credentials_store=keyring",
        env=env_for(tmp_path / "home", BROWSER=browser, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring"),
    )
    assert code == 7, err
    assert "keyring" in err and "/oauth/authorize" not in err
    assert dev_issuer.requests == []
    assert not marker.exists()


async def _auth_json_made_a_directory_then_approve(run, url):
    """The save target turns bad during the sign-in: after the checks before the URL (issue 22 #6)."""
    run.settings.auth_file.mkdir(parents=True)
    (run.settings.auth_file / "keep").write_text("x")
    await approving_browser(run, url)


async def test_a_save_that_fails_after_sign_in_revokes_the_new_tokens(tmp_path, dev_issuer):
    """auth.json became a directory after the check (a real EISDIR, as root too)."""
    settings = make_settings(tmp_path, dev_issuer.issuer_url)
    with trio.fail_after(20):
        run = Run(settings)
        failure = await run(_auth_json_made_a_directory_then_approve)
    assert isinstance(failure, StorageFailed) and failure.exit_code == 7, failure
    assert "signed in, but nothing was saved: the new tokens were revoked at the issuer" in failure.detail
    revoked = revoked_tokens(dev_issuer)
    assert len(revoked) == 1 and not dev_issuer.token_active(revoked[0])
    assert revoked[0] not in run.log, "the revoked token never reaches the log"
    assert run.pages[0].status_code == 500
    assert_port_free(run.url)


async def test_revocation_that_fails_is_said_too(tmp_path, dev_issuer):
    dev_issuer.faults.revoke_status = 503
    settings = make_settings(tmp_path, dev_issuer.issuer_url)
    with trio.fail_after(20):
        failure = await Run(settings)(_auth_json_made_a_directory_then_approve)
    assert isinstance(failure, StorageFailed)
    assert "the new tokens could not be revoked at the issuer" in failure.detail


LOCK_HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(120)
"""


@pytest.mark.concurrency
async def test_a_lock_held_by_another_process_is_bounded_by_the_login_timeout(tmp_path, mock_clock, dev_issuer):
    settings = make_settings(tmp_path, dev_issuer.issuer_url, timeout=4.0)
    settings.codex_home.mkdir(mode=0o700)
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(settings.codex_home / "auth.lock")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        started = trio.current_time()  # virtual: the lock is polled on the MockClock
        with trio.fail_after(30):
            failure = await Run(settings)(approving_browser)
        elapsed = trio.current_time() - started
    finally:
        holder.kill()
        holder.wait(10)
        holder.stdout.close()
    assert isinstance(failure, StorageFailed) and failure.exit_code == 7, failure
    assert "held" in failure.detail and "auth.lock" in failure.detail
    assert elapsed < 4.0 + 2.0 + 3.0, f"the login ran {elapsed:.1f}s with --timeout 4"
    assert "the new tokens were revoked at the issuer" in failure.detail
    revoked = revoked_tokens(dev_issuer)
    assert len(revoked) == 1 and not dev_issuer.token_active(revoked[0])
    assert not settings.auth_file.exists()


async def test_a_device_login_that_cannot_save_revokes_the_new_tokens(tmp_path, mock_clock, dev_issuer):
    from harness import DeviceRun, device_settings

    settings = device_settings(tmp_path, dev_issuer.issuer_url)

    async def user(run):
        code = await run.wait_for_user_code()
        settings.auth_file.mkdir(parents=True)  # the save fails after the checks: EISDIR, as root too
        dev_issuer.approve_device(code)

    with trio.fail_after(120):
        failure = await DeviceRun(settings)(user)
    assert isinstance(failure, StorageFailed) and failure.exit_code == 7, failure
    assert "the new tokens were revoked at the issuer" in failure.detail
    revoked = revoked_tokens(dev_issuer)
    assert len(revoked) == 1 and not dev_issuer.token_active(revoked[0])


KEY_RACER = """
import sys, time
from pathlib import Path
from codexlogin.listener.prepare import load_or_create_cancel_key
start = float(sys.argv[2])
while time.time() < start:
    pass
print(load_or_create_cancel_key(Path(sys.argv[1])))
"""


@pytest.mark.concurrency
@pytest.mark.parametrize("start_with", ["nothing", "empty"])
def test_logins_starting_together_agree_on_one_cancel_key(tmp_path, start_with):
    """Real processes racing for a fresh (or empty) key: every one ends with the key on disk
    (takeover between them works), and no temp file is left."""
    home = tmp_path / "codexhome"
    home.mkdir(mode=0o700)
    if start_with == "empty":
        (home / CANCEL_KEY_FILE).write_bytes(b"")
        (home / CANCEL_KEY_FILE).chmod(0o600)
    start = time.time() + 1.5
    racers = [
        subprocess.Popen([sys.executable, "-c", KEY_RACER, str(home), str(start)], stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    keys = []
    for racer in racers:
        out, _ = racer.communicate(timeout=60)
        keys.append(out.strip())
    on_disk = (home / CANCEL_KEY_FILE).read_text()
    assert len(on_disk) >= 32
    if start_with == "nothing":  # the exclusive link: exactly one key wins, everyone reads it
        assert keys == [on_disk] * len(keys)
    else:  # replacing a broken key has no lock: every racer has a valid key, most (usually all) the one on disk
        assert all(len(key) >= 32 and key != "None" for key in keys)
        assert on_disk in keys
    assert sorted(p.name for p in home.iterdir()) == [CANCEL_KEY_FILE]


from hypothesis import HealthCheck, given  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    content=st.one_of(st.binary(max_size=80), st.text(KEY_ALPHABET, max_size=60).map(str.encode)),
    mode=st.sampled_from([0o600, 0o400, 0o640, 0o644, 0o660, 0o666, 0o700]),
)
def test_whatever_the_key_file_holds_the_key_used_is_valid_and_on_disk(tmp_path_factory, content, mode):
    home = tmp_path_factory.mktemp("keyprop")
    home.chmod(0o700)
    (home / CANCEL_KEY_FILE).write_bytes(content)
    (home / CANCEL_KEY_FILE).chmod(mode)
    key = load_or_create_cancel_key(home)
    assert key is not None and len(key) >= 32 and key.isprintable() and " " not in key
    assert (home / CANCEL_KEY_FILE).read_text().strip() == key
    if mode & 0o077:  # readable or writable by others: never trusted, replaced by a private one
        assert key.encode() != content.strip()
        assert stat.S_IMODE((home / CANCEL_KEY_FILE).stat().st_mode) == 0o600
    elif len(content) >= 32 and all(chr(b) in KEY_ALPHABET for b in content):
        assert key.encode() == content, "a good private key of ours is kept"
    else:
        assert key.encode() != content.strip(), "an empty, short or corrupt key is replaced"
    assert load_or_create_cancel_key(home) == key
