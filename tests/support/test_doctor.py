"""`codex login doctor`: each check failing in turn against real things, then all passing.

Rules: loopback only, port 0 everywhere; the issuer is the dev issuer served over real HTTP (or
HTTPS with a trustme CA) in the test nursery; a hard `trio.fail_after` on every I/O test; the
command itself runs in a worker thread (it calls trio.run) or as `python -m codexlogin login doctor`.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import replace
from email.utils import formatdate
from functools import partial

import pytest
import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from codexlogin import diagnostics
from codexlogin._asgi import answer_lifespan
from codexlogin.cli import doctor as doctor_command
from codexlogin.cli import doctor_text
from codexlogin.cli.boundary import command
from codexlogin.cli.console import ConsoleUI
from codexlogin.config import load_settings
from codexlogin.credentials.files import save_auth
from codexlogin.credentials.model import AuthDotJson, TokenData
from codexlogin.flows.browser import sign_in
from codexlogin.support import doctor
from codexlogin.support.doctor import browser as doctor_browser

PLANTED = {
    "id_token": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJwbGFudGVkIn0.planted-id-sig",
    "access_token": "planted-access-token-1f2e3d",
    "refresh_token": "planted-refresh-token-9a8b7c",
    "api_key": "sk-planted-api-key-0123456789",
}


@pytest.fixture(autouse=True)
def _desktop(monkeypatch, tmp_path):
    """A local desktop session with a launchable browser; no SSH, no WSL."""
    monkeypatch.setenv("BROWSER", shlex.quote(sys.executable))
    monkeypatch.setenv("DISPLAY", ":0")
    for name in ("SSH_CONNECTION", "SSH_TTY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    version = tmp_path / "proc-version"
    version.write_text("Linux version 6.1.0 (gcc)\n")
    monkeypatch.setattr(doctor_browser, "PROC_VERSION", version)


def make_settings(tmp_path, issuer_url, **changes):
    settings = load_settings({"issuer": issuer_url, "port": 0})
    return replace(settings, **{"log_dir": tmp_path / "log", **changes})


async def run_checks(settings):
    with trio.fail_after(30), diagnostics.open_log(settings.resolved_log_dir):
        report = await doctor.run_checks(settings)
    assert [check.name for check in report.checks] == list(doctor.CHECK_NAMES)
    return report, {check.name: check for check in report.checks}


async def run_command(settings, *, as_json=False):
    """The command as the CLI runs it (trio.run inside, behind the CLI's failure boundary), in a worker thread."""
    out = io.StringIO()
    with trio.fail_after(30):
        code = await trio.to_thread.run_sync(partial(command(doctor_command.run_doctor), settings, as_json=as_json, stdout=out))
    return code, out.getvalue()


def log_messages(settings):
    return [json.loads(line) for line in settings.log_file.read_text().splitlines()]


# --- all pass -------------------------------------------------------------------------------------


async def test_all_checks_pass_exit_0_and_each_check_is_a_logged_action(tmp_path, dev_issuer):
    settings = make_settings(tmp_path, dev_issuer.issuer_url)
    code, out = await run_command(settings)
    assert code == 0, out
    lines = out.splitlines()
    assert [line.split()[1] for line in lines[:-1]] == list(doctor.CHECK_NAMES)
    assert all(line.startswith("ok ") for line in lines[:-1]), out
    assert lines[-1] == "All 10 checks passed."
    assert f"{dev_issuer.issuer_url}/.well-known/openid-configuration: HTTP 200 in " in out

    messages = log_messages(settings)
    root = [m for m in messages if m.get("action_type") == "codex:command"]
    assert root[0]["command"] == "login doctor" and root[-1]["action_status"] == "succeeded"
    ended = {
        m["action_type"]: m
        for m in messages
        if m.get("action_type", "").startswith("codex:doctor:") and m["action_status"] != "started"
    }
    assert set(ended) == {f"codex:doctor:{name}" for name in doctor.CHECK_NAMES}
    assert all(m["action_status"] == "succeeded" and m["status"] == "ok" for m in ended.values())
    assert all(m["task_uuid"] == root[0]["task_uuid"] for m in ended.values())


async def test_json_is_one_object_with_every_check(tmp_path, dev_issuer):
    code, out = await run_command(make_settings(tmp_path, dev_issuer.issuer_url), as_json=True)
    data = json.loads(out)
    assert code == 0 and data["ok"] is True and data["exit_code"] == 0
    assert [c["name"] for c in data["checks"]] == list(doctor.CHECK_NAMES)
    for check in data["checks"]:
        assert set(check) == {"name", "status", "detail", "hint", "duration_ms"}
        assert check["status"] == "ok" and isinstance(check["duration_ms"], float)


# --- each check failing in turn ---------------------------------------------------------------


async def test_port_held_by_a_foreign_socket_fails(tmp_path, dev_issuer, nursery):
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]

    async def hang_up():  # accepts and closes: not HTTP
        with listener:
            while True:
                conn, _ = await listener.accept()
                conn.close()

    nursery.start_soon(hang_up)
    settings = make_settings(tmp_path, dev_issuer.issuer_url, port=port)
    code, out = await run_command(settings)
    line = next(line for line in out.splitlines() if " callback_port " in line)
    assert code == 1
    assert line.startswith("FAIL")
    assert f"127.0.0.1:{port} is in use by another program: it does not answer HTTP" in line
    assert "--port" in line


async def _hang_up_on(nursery) -> int:
    """A foreign program on a free port: it accepts and closes (not HTTP)."""
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    async def hang_up():
        with listener:
            while True:
                conn, _ = await listener.accept()
                conn.close()

    nursery.start_soon(hang_up)
    return listener.getsockname()[1]


async def test_openai_dialect_a_busy_port_with_a_free_fallback_is_a_warning(tmp_path, dev_issuer, nursery, reserved_port):
    port = await _hang_up_on(nursery)
    fallback = reserved_port()
    settings = make_settings(tmp_path, dev_issuer.issuer_url, port=port, dialect="openai", fallback_port=fallback)
    code, out = await run_command(settings)
    line = next(line for line in out.splitlines() if " callback_port " in line)
    assert code == 0 and line.startswith("warn") and f"falls back to port {fallback}" in line


async def test_openai_dialect_both_ports_busy_fails_without_advising_another_port(tmp_path, dev_issuer, nursery):
    port, fallback = await _hang_up_on(nursery), await _hang_up_on(nursery)
    settings = make_settings(tmp_path, dev_issuer.issuer_url, port=port, dialect="openai", fallback_port=fallback)
    code, out = await run_command(settings)
    assert code == 1 and f"fallback port {fallback}" in out and "only on these ports" in out
    assert "--port" not in out[out.index(" callback_port ") : out.index(" loopback ")]


async def test_port_held_by_a_foreign_http_server_says_what_answered(tmp_path, nursery):
    url = await nursery.start(serve_app, date_app(time.time()))
    port = int(url.rsplit(":", 1)[1])
    status, detail, hint = await _bounded(doctor.check_callback_port(make_settings(tmp_path, url, port=port)))
    assert status == "fail" and "it answers HTTP 200" in detail and "--port" in hint


async def test_port_held_by_our_own_listener_passes_and_is_not_cancelled(tmp_path, dev_issuer):
    from harness import approve, port_of

    settings = make_settings(tmp_path, dev_issuer.issuer_url, no_browser=True, timeout=0)
    send_url, receive_url = trio.open_memory_channel(1)
    outcome = []

    async def login():
        with diagnostics.open_log(settings.resolved_log_dir):
            outcome.append(await sign_in(settings, ConsoleUI(io.StringIO()), on_listening=send_url.send_nowait))

    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(login)
            url = await receive_url.receive()
            status, detail, hint = await doctor.check_callback_port(replace(settings, port=port_of(url)))
            assert outcome == []
            # Still waiting, not cancelled (doctor never sends /cancel): the sign-in completes.
            await approve(url)
    assert status == "ok" and "held by a `codex login` in progress" in detail and hint is None
    assert outcome[0].tokens is not None


async def test_log_dir_under_a_regular_file_fails(tmp_path, dev_issuer, capsys):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    settings = make_settings(tmp_path, dev_issuer.issuer_url, log_dir=blocker / "log")
    code, out = await run_command(settings)
    line = next(line for line in out.splitlines() if " log_dir " in line)
    assert code == 1
    assert line.startswith("FAIL") and f"{blocker} is not a directory" in line and "--log-dir" in line
    err = capsys.readouterr().err
    assert "error: 1 of 10 checks failed: log_dir" in err


async def test_codex_home_under_a_regular_file_fails(tmp_path, dev_issuer):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    settings = make_settings(tmp_path, dev_issuer.issuer_url, codex_home=blocker / "home")
    _, checks = await run_checks(settings)
    assert checks["codex_home"].status == "fail"
    assert f"CODEX_HOME {blocker / 'home'} cannot be created: {blocker} is not a directory" in checks["codex_home"].detail
    assert "CODEX_HOME" in checks["codex_home"].hint


def test_missing_directory_with_a_writable_parent_is_ok(tmp_path):
    parent = tmp_path / "parent"
    parent.mkdir()
    status, detail, _ = doctor.probe_directory(parent / "a" / "b", "log directory", "hint")
    assert status == "ok" and "does not exist yet" in detail
    assert list(parent.iterdir()) == []  # nothing created, the probe file is gone


async def test_issuer_down_fails_with_timing_and_clock_is_not_compared(tmp_path, refused_port):
    url = f"http://127.0.0.1:{refused_port()}"
    code, out = await run_command(make_settings(tmp_path, url))
    lines = {line.split()[1]: line for line in out.splitlines()}
    assert code == 1
    assert lines["issuer"].startswith("FAIL")
    assert f"{url}/.well-known/openid-configuration: connect after " in lines["issuer"]
    assert "no proxy in the environment" in lines["issuer"] and "-> check your network" in lines["issuer"]
    assert lines["clock"].startswith("warn") and "not compared" in lines["clock"]


async def test_issuer_check_is_bounded_by_the_timeout(tmp_path, mock_clock, nursery):
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts into the backlog, never answers
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    with trio.fail_after(60):
        status, detail, _ = await doctor.check_issuer(
            make_settings(tmp_path, url, exchange_timeout=2), 2.0, doctor.IssuerProbe(), False
        )
    assert status == "fail" and "timeout" in detail and "no reply within 2 s" in detail
    listener.close()


async def test_proxy_in_use_is_shown_without_its_password(tmp_path, dev_issuer, monkeypatch, refused_port):
    proxy = f"http://alice:proxy-secret@127.0.0.1:{refused_port()}"
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.setenv("NO_PROXY", "example.internal")
    code, out = await run_command(make_settings(tmp_path, dev_issuer.issuer_url), as_json=True)
    issuer = next(c for c in json.loads(out)["checks"] if c["name"] == "issuer")
    assert code == 1 and issuer["status"] == "fail"  # the proxy is down: the issuer is not reached
    assert f"via HTTP_PROXY=http://127.0.0.1:{proxy.rsplit(':', 1)[1]}, NO_PROXY=example.internal" in issuer["detail"]
    assert "proxy-secret" not in out and "alice" not in out
    assert "proxy-secret" not in (tmp_path / "log" / "codex-login.log").read_text()


async def test_clock_skew_warns_but_does_not_fail(tmp_path, nursery):
    url = await nursery.start(serve_app, date_app(time.time() - 3 * 3600 - 125))
    code, out = await run_command(make_settings(tmp_path, url))
    lines = {line.split()[1]: line for line in out.splitlines() if not line.startswith("All")}
    assert lines["issuer"].startswith("ok") and lines["clock"].startswith("warn")
    assert "the local clock is 3 h 2 min ahead of the issuer's" in lines["clock"]
    assert "NTP" in lines["clock"]
    assert code == 0 and out.splitlines()[-1] == "All 10 checks passed (2 warnings)."


async def test_clock_in_step_is_ok(tmp_path, nursery):
    url = await nursery.start(serve_app, date_app(time.time()))
    _, checks = await run_checks(make_settings(tmp_path, url))
    assert checks["clock"].status == "ok" and "within" in checks["clock"].detail


async def test_issuer_naming_itself_differently_warns(tmp_path, nursery):
    url = await nursery.start(serve_app, date_app(time.time(), issuer="https://elsewhere.example"))
    _, checks = await run_checks(make_settings(tmp_path, url))
    assert checks["issuer"].status == "warn" and "names the issuer https://elsewhere.example" in checks["issuer"].detail


# --- custom CA --------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::trio.TrioDeprecationWarning")
async def test_good_custom_ca_is_shown_and_the_https_issuer_is_reached(tmp_path, monkeypatch, pki, https_issuer):
    monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(pki["ca"]))
    _, checks = await run_checks(make_settings(tmp_path, https_issuer.issuer_url))
    assert checks["ca_bundle"].status == "ok"
    assert checks["ca_bundle"].detail == f"custom CA in use: CODEX_CA_CERTIFICATE={pki['ca']} (1 CA certificate)"
    assert checks["issuer"].status == "ok" and "HTTP 200" in checks["issuer"].detail
    assert "CA from CODEX_CA_CERTIFICATE" in checks["issuer"].detail


@pytest.mark.filterwarnings("ignore::trio.TrioDeprecationWarning")
async def test_wrong_ca_fails_the_issuer_as_tls(tmp_path, monkeypatch, pki, https_issuer):
    monkeypatch.setenv("SSL_CERT_FILE", str(pki["other_ca"]))
    _, checks = await run_checks(make_settings(tmp_path, https_issuer.issuer_url))
    assert checks["ca_bundle"].status == "ok" and "SSL_CERT_FILE=" in checks["ca_bundle"].detail
    assert checks["issuer"].status == "fail" and ": tls after " in checks["issuer"].detail
    assert "CODEX_CA_CERTIFICATE" in checks["issuer"].hint


@pytest.mark.filterwarnings("ignore::trio.TrioDeprecationWarning")
async def test_malformed_ca_pem_fails_with_clear_text(tmp_path, monkeypatch, pki, https_issuer):
    monkeypatch.setenv("CODEX_CA_CERTIFICATE", str(pki["malformed"]))
    code, out = await run_command(make_settings(tmp_path, https_issuer.issuer_url))
    lines = {line.split()[1]: line for line in out.splitlines()}
    assert code == 1
    assert lines["ca_bundle"].startswith("FAIL")
    assert f"cannot load CA bundle {pki['malformed']} from CODEX_CA_CERTIFICATE" in lines["ca_bundle"]
    assert "-> point CODEX_CA_CERTIFICATE at a readable PEM file" in lines["ca_bundle"]
    assert lines["issuer"].startswith("FAIL") and "not tried: the custom CA bundle cannot be loaded" in lines["issuer"]


# --- auth.json --------------------------------------------------------------------------------


def plant_auth(settings, mode=0o600):
    auth = AuthDotJson(
        "chatgpt",
        openai_api_key=PLANTED["api_key"],
        tokens=TokenData(PLANTED["id_token"], PLANTED["access_token"], PLANTED["refresh_token"], "acct-1"),
    )
    save_auth(settings.auth_file, auth)
    os.chmod(settings.auth_file, mode)


def test_auth_json_ok_missing_loose_mode_and_corrupt(tmp_path):
    settings = make_settings(tmp_path, "http://127.0.0.1:1")
    status, detail, _ = doctor.check_auth_json(settings)
    assert status == "ok" and "not logged in" in detail

    plant_auth(settings)
    status, detail, _ = doctor.check_auth_json(settings)
    assert status == "ok" and "chatgpt credentials stored" in detail and "mode 0600" in detail

    os.chmod(settings.auth_file, 0o644)
    status, detail, hint = doctor.check_auth_json(settings)
    assert status == "warn" and "mode 0644" in detail and hint == f"chmod 600 {settings.auth_file}"
    assert not any(secret in detail + hint for secret in PLANTED.values())

    settings.auth_file.write_text('{"tokens": {"access_token": "' + PLANTED["access_token"])
    status, detail, hint = doctor.check_auth_json(settings)
    assert status == "fail" and "not valid auth.json" in detail and "codex logout" in hint
    assert PLANTED["access_token"] not in detail


async def test_tokens_never_reach_output_or_log(tmp_path, dev_issuer):
    settings = make_settings(tmp_path, dev_issuer.issuer_url)
    plant_auth(settings, 0o640)
    code, out = await run_command(settings, as_json=True)
    assert code == 0 and json.loads(out)["checks"][2]["status"] == "warn"
    text = out + settings.log_file.read_text()
    assert not any(secret in text for secret in PLANTED.values())


# --- browser ----------------------------------------------------------------------------------


def test_browser_hints(tmp_path, monkeypatch):
    settings = make_settings(tmp_path, "http://127.0.0.1:1")
    env = {"BROWSER": sys.executable, "DISPLAY": ":0"}
    assert doctor.browser_result(settings, env, "linux", "Linux version 6")[0] == "ok"

    status, detail, hint = doctor.browser_result(settings, {**env, "SSH_CONNECTION": "10.0.0.1 1 10.0.0.2 22"}, "linux", "")
    assert status == "warn" and "SSH session" in detail and "--device-auth" in hint and "ssh -L" in hint

    status, detail, hint = doctor.browser_result(
        settings, {"BROWSER": sys.executable}, "linux", "Linux 5.15-microsoft-standard-WSL2"
    )
    assert status == "warn" and "WSL" in detail and "wslview" in hint

    status, detail, hint = doctor.browser_result(settings, {"BROWSER": sys.executable}, "linux", "")
    assert status == "warn" and "no graphical display" in detail and "--device-auth" in hint

    assert doctor.browser_result(settings, {"BROWSER": sys.executable}, "darwin", "")[0] == "ok"

    status, detail, hint = doctor.browser_result(settings, {"BROWSER": "/nonexistent/browser %s", "DISPLAY": ":0"}, "linux", "")
    assert status == "fail" and "names no executable command" in detail and "BROWSER" in hint

    status, detail, _ = doctor.browser_result(replace(settings, no_browser=True), {}, "darwin", "")
    assert status == "ok" and "no_browser" in detail


# --- pure helpers -------------------------------------------------------------------------------


def test_proxy_env_and_skew_text():
    env = {"HTTPS_PROXY": "http://u:p@proxy:3128/?token=abc", "no_proxy": "localhost"}
    assert doctor.proxy_env(env) == ["HTTPS_PROXY=http://proxy:3128/?token=<redacted>", "no_proxy=localhost"]
    assert doctor.describe_skew(-45) == "45 s behind"
    assert doctor.describe_skew(600) == "10 min 0 s ahead of"
    assert doctor.describe_skew(7322) == "2 h 2 min ahead of"


def test_text_format_is_one_line_per_check():
    report = doctor.Report([doctor.Check("a", "ok", "fine"), doctor.Check("longer", "fail", "broken", "fix it")])
    assert doctor_text.format_text(report) == "ok    a       fine\nFAIL  longer  broken -> fix it\n"
    assert report.exit_code == 1


# --- as a command -------------------------------------------------------------------------------


async def codex_doctor(*args, env):
    with trio.fail_after(60):
        result = await trio.run_process(
            [sys.executable, "-m", "codexlogin", "login", "doctor", *args],
            env=env,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    return result.returncode, result.stdout.decode(), result.stderr.decode()


async def test_subprocess_exit_codes(tmp_path, dev_issuer, refused_port):
    env = {**os.environ, "CODEX_LOGIN_ISSUER": dev_issuer.issuer_url, "CODEX_LOGIN_PORT": "0"}
    code, out, err = await codex_doctor("--json", env=env)
    assert (code, err) == (0, "") and json.loads(out)["ok"] is True

    code, out, err = await codex_doctor("--issuer", f"http://127.0.0.1:{refused_port()}", env=env)
    assert (
        code == 1
        and "FAIL  issuer" in out
        and re.fullmatch(
            r"error: 1 of 10 checks failed: issuer \(ref [A-Z2-7]{8}; more: codex login log --grep [A-Z2-7]{8}\)\n", err
        )
    )

    code, out, err = await codex_doctor("-c", "port=nope", env=env)
    assert code == 2 and out == "" and err.startswith("error: invalid value for port")


async def test_command_modules_import_light():
    code = "import sys, codexlogin.support.doctor, codexlogin.support.bundle, codexlogin.cli.doctor, codexlogin.cli.bundle; print(sorted(m for m in ('trio', 'httpx', 'eliot', 'hypercorn', 'rich') if m in sys.modules))"
    with trio.fail_after(30):
        result = await trio.run_process([sys.executable, "-c", code], capture_stdout=True)
    assert result.stdout.decode().strip() == "[]"


# --- test servers ---------------------------------------------------------------------------------


def date_app(server_time, issuer=None):
    """A tiny issuer stand-in whose Date header reads `server_time`."""

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        body = json.dumps({"issuer": issuer or app.issuer_url}).encode()
        headers = [(b"content-type", b"application/json"), (b"date", formatdate(server_time, usegmt=True).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


async def serve_app(app, *, task_status=trio.TASK_STATUS_IGNORED):
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.errorlog = config.accesslog = None
    config.include_date_header = False  # the app sets its own
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(partial(serve, app, config, shutdown_trigger=trio.sleep_forever))
        app.issuer_url = binds[0]
        task_status.started(binds[0])


async def _bounded(awaitable):
    with trio.fail_after(30):
        return await awaitable


# --- colour, wrapping and the browser check where the device login works ------------------------


WRAP_REPORT = doctor.Report(
    [
        doctor.Check("codex_home", "ok", "CODEX_HOME /home/alice/.codex is writable"),
        doctor.Check(
            "browser",
            "warn",
            "no browser found (webbrowser could not locate a runnable browser); the device login works with this issuer",
            "use `codex login --device-auth` (sign in on any device with a code); or set BROWSER to your browser's command",
        ),
        doctor.Check("issuer", "fail", "https://auth.example.com/.well-known/openid-configuration: dns after 3 ms", "check DNS"),
    ]
)


def test_text_snapshot_wrapped_at_60_columns_under_its_own_indent():
    assert doctor_text.format_text(WRAP_REPORT, width=60) == (
        "ok    codex_home  CODEX_HOME /home/alice/.codex is writable\n"
        "warn  browser     no browser found (webbrowser could not\n"
        "                  locate a runnable browser); the device\n"
        "                  login works with this issuer\n"
        "                  -> use `codex login --device-auth` (sign\n"
        "                     in on any device with a code); or set\n"
        "                     BROWSER to your browser's command\n"
        "FAIL  issuer      https://auth.example.com/.well-known/openi\n"
        "                  d-configuration: dns after 3 ms\n"
        "                  -> check DNS\n"
    )


def test_text_snapshot_coloured():
    report = doctor.Report(
        [doctor.Check("a", "ok", "fine"), doctor.Check("b", "warn", "hm"), doctor.Check("c", "fail", "no", "fix")]
    )
    assert doctor_text.format_text(report, color=True, width=80) == (
        "\x1b[32mok\x1b[0m    a  fine\n\x1b[33mwarn\x1b[0m  b  hm\n\x1b[1;31mFAIL\x1b[0m  c  no\n         -> fix\n"
    )
    assert "\x1b" not in doctor_text.format_text(report) and "\x1b" not in doctor_text.format_text(report, width=80)


@pytest.mark.parametrize("width", [1, 10, 30, 61, 200])
def test_wrapped_lines_fit_and_keep_every_word(width):
    text = doctor_text.format_text(WRAP_REPORT, width=width)
    limit = max(width, 18 + doctor_text.MIN_WRAP_COLUMNS)
    assert all(len(line) <= limit for line in text.splitlines())
    assert text.replace("\n", "").replace(" ", "") == doctor_text.format_text(WRAP_REPORT).replace("\n", "").replace(" ", "")


def test_terminal_layout_only_on_a_terminal():
    primary, secondary = os.openpty()
    with os.fdopen(secondary, "w") as tty:
        assert doctor_command.terminal_layout(tty, {"TERM": "xterm"})[0] is True
        assert doctor_command.terminal_layout(tty, {"NO_COLOR": "1"})[0] is False
        assert doctor_command.terminal_layout(tty, {"TERM": "dumb"})[0] is False
        assert doctor_command.terminal_layout(tty, {})[1] is not None
    os.close(primary)
    assert doctor_command.terminal_layout(io.StringIO(), {"TERM": "xterm"}) == (False, None)


def test_a_missing_browser_is_a_warning_where_the_device_login_works():
    failed = (doctor.FAIL, "no browser found", "set BROWSER to your browser's command, or use the device login")
    status, detail, hint = doctor.without_browser(failed)
    assert status == "warn" and detail == "no browser found; the device login works with this issuer"
    assert hint.startswith(doctor.DEVICE_AUTH_HINT)
    assert doctor.without_browser((doctor.OK, "x", None)) == (doctor.OK, "x", None)


@pytest.mark.parametrize(
    ("dialect", "discovery_names_device", "expected"),
    [("openai", False, "warn"), ("standard", True, "warn"), ("standard", False, "fail")],
)
async def test_browser_check_fails_only_where_no_device_login_works(
    tmp_path, dev_issuer, nursery, monkeypatch, dialect, discovery_names_device, expected
):
    monkeypatch.setenv("BROWSER", "/nonexistent/browser %s")
    url = dev_issuer.issuer_url if discovery_names_device else await nursery.start(serve_app, date_app(time.time()))
    _report, checks = await run_checks(make_settings(tmp_path, url, dialect=dialect))
    assert checks["browser"].status == expected, checks["browser"]
    if expected == "warn":
        assert "the device login works with this issuer" in checks["browser"].detail
        assert checks["browser"].hint.startswith(doctor.DEVICE_AUTH_HINT)


@pytest.mark.concurrency  # a worker thread reads the terminal while the child writes to it
async def test_on_a_terminal_doctor_is_coloured_and_wrapped_and_no_color_turns_colour_off(tmp_path, dev_issuer):
    env = {
        **os.environ,
        "CODEX_LOGIN_ISSUER": dev_issuer.issuer_url,
        "CODEX_LOGIN_PORT": "0",
        "CODEX_HOME": str(tmp_path / "home"),
        "COLUMNS": "64",
        "TERM": "xterm",
    }
    env.pop("NO_COLOR", None)

    async def on_a_terminal(extra):
        primary, secondary = os.openpty()
        try:
            with trio.fail_after(60):
                process = await trio.lowlevel.open_process(
                    [sys.executable, "-m", "codexlogin", "login", "doctor"],
                    env={**env, **extra},
                    stdout=secondary,
                    stderr=secondary,
                    stdin=subprocess.DEVNULL,
                )
                os.close(secondary)
                chunks = []
                while True:
                    try:
                        chunk = await trio.to_thread.run_sync(os.read, primary, 65536)
                    except OSError:  # EIO: the child closed the terminal
                        break
                    if not chunk:
                        break
                    chunks.append(chunk)
                await process.wait()
        finally:
            os.close(primary)
        return process.returncode, b"".join(chunks).decode().replace("\r\n", "\n")

    code, coloured = await on_a_terminal({})
    assert code == 0, coloured
    assert "\x1b[32mok\x1b[0m    codex_home" in coloured
    assert all(
        len(line) <= 64
        for line in coloured.replace("\x1b[32m", "")
        .replace("\x1b[33m", "")
        .replace("\x1b[1;31m", "")
        .replace("\x1b[0m", "")
        .splitlines()
    )
    assert any(line.startswith(" " * 17) for line in coloured.splitlines()), "long lines continue under the check's indent"
    code, plain = await on_a_terminal({"NO_COLOR": "1"})
    assert code == 0 and "\x1b" not in plain and "ok    codex_home" in plain


async def test_the_logged_discovery_line_keeps_the_issuer_before_its_closing_parenthesis(tmp_path, dev_issuer):
    """ "… endpoints from URL (issuer http://127.0.0.1:PORT)": the log scrubber used to read the `)`
    as part of the URL (a port of "PORT)"), and logged `<invalid-url>` instead of the issuer."""
    settings = make_settings(tmp_path, dev_issuer.issuer_url)
    code, out = await run_command(settings)
    assert code == 0, out
    logged = settings.log_file.read_text()
    assert f"(issuer {dev_issuer.issuer_url})" in logged
    assert "<invalid-url>" not in logged
