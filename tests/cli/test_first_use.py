"""First use and support (issue 12): the run's reference, who is logged in, SSH, text-mode
browsers, the waiting spinner and a clean Ctrl-C.

The CLI runs as a real subprocess (and once under a real pty) against the dev issuer served over
HTTP on 127.0.0.1:0; browsers are real programs found through BROWSER / PATH.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import stat
import sys
import webbrowser
from pathlib import Path

import pytest
import trio
from harness import Run, make_settings, query_of

from codexlogin.cli import console
from codexlogin.cli.boundary import next_step, report_failure
from codexlogin.cli.console import ERASE_LINE, ConsoleUI, Spinner, sign_in_banner, time_left
from codexlogin.errors import Cancelled
from codexlogin.flows import browser as browser_flow
from codexlogin.flows.ui import RemoteSession, remote_session

CODEX = [sys.executable, "-m", "codexlogin"]
REF = r"[A-Z2-7]{8}"


def env_for(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_LOGIN_", "SSH_"))}
    env.update(
        CODEX_HOME=str(tmp_path / "codex-home"),
        BROWSER=f"{shlex.quote(sys.executable)} -m codexlogin.devissuer browse %s",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


async def codex(*args, env):
    with trio.fail_after(60):
        result = await trio.run_process([*CODEX, *args], env=env, capture_stdout=True, capture_stderr=True, check=False)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def roots(tmp_path):
    log = tmp_path / "codex-home" / "log" / "codex-login.log"
    return [
        m
        for m in map(json.loads, log.read_text().splitlines())
        if m.get("action_type") == "codex:command" and m.get("action_status") == "started"
    ]


def screen(output: str) -> list[str]:
    """What a terminal shows for `output`: enough of one (CR, erase line, newline) for a spinner."""
    lines, current = [], ""
    index = 0
    while index < len(output):
        if output.startswith("\x1b[2K", index):
            current, index = "", index + 4
            continue
        char = output[index]
        if char == "\r":
            current = ""  # the next characters overwrite the line from its start
        elif char == "\n":
            lines.append(current)
            current = ""
        else:
            current += char
        index += 1
    return [*lines, current] if current else lines


# --- 1. a reference per run --------------------------------------------------------------------


async def test_a_failed_login_names_its_reference_and_the_next_step(tmp_path, dev_issuer):
    dev_issuer.faults.token_status = 500
    env = env_for(tmp_path)
    code, _out, err = await codex("login", "--issuer", dev_issuer.issuer_url, "--port", "0", env=env)
    assert code == 10, err  # a 5xx from the token endpoint: the issuer is unavailable (exit 10)
    line = err.strip().splitlines()[-1]
    match = re.fullmatch(rf"error: .+ \(ref ({REF}); more: codex login log --grep ({REF}), codex login doctor\)", line)
    assert match and match[1] == match[2], line
    reference = match[1]
    assert [root["reference"] for root in roots(tmp_path)] == [reference]

    # `codex login log --grep REF` finds that run (and only it)
    dev_issuer.faults.token_status = None
    assert (await codex("login", "--issuer", dev_issuer.issuer_url, "--port", "0", env=env))[0] == 0
    code, out, _ = await codex("login", "log", "--grep", reference, "--json", env=env)
    assert code == 0
    found = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert len(found) == 1 and reference in json.dumps(found[0])
    other = roots(tmp_path)[1]["reference"]
    assert other != reference and other not in json.dumps(found[0])


async def test_status_check_json_carries_the_runs_reference(tmp_path, dev_issuer):
    env = env_for(tmp_path)
    assert (await codex("login", "--issuer", dev_issuer.issuer_url, "--port", "0", env=env))[0] == 0
    code, out, _ = await codex("login", "status", "--check", "--json", "--issuer", dev_issuer.issuer_url, env=env)
    assert code == 0
    assert json.loads(out)["reference"] == roots(tmp_path)[-1]["reference"]
    code, out, _ = await codex("login", "status", "--json", env=env)
    assert code == 0 and "reference" not in json.loads(out)  # plain status logs no run


async def test_doctor_json_carries_the_runs_reference(tmp_path, dev_issuer):
    code, out, _ = await codex(
        "login", "doctor", "--json", "--issuer", dev_issuer.issuer_url, "--port", "0", env=env_for(tmp_path)
    )
    assert code == 0 and json.loads(out)["reference"] == roots(tmp_path)[-1]["reference"]


def test_the_next_step_suffix():
    assert next_step(None) == ""
    assert next_step("ABCDEFGH") == " (ref ABCDEFGH; more: codex login log --grep ABCDEFGH, codex login doctor)"
    assert next_step("ABCDEFGH", doctor=False) == " (ref ABCDEFGH; more: codex login log --grep ABCDEFGH)"
    out = io.StringIO()
    failure = Cancelled("login cancelled (Ctrl-C)")
    failure.reference = "ABCDEFGH"
    assert report_failure(failure, out) == 130
    assert out.getvalue() == "error: login cancelled (Ctrl-C)" + next_step("ABCDEFGH") + "\n"


def test_references_are_short_random_base32():
    from codexlogin.diagnostics.run import new_reference

    seen = {new_reference() for _ in range(2000)}
    assert len(seen) == 2000 and all(re.fullmatch(REF, ref) for ref in seen)


# --- 2. who is logged in -----------------------------------------------------------------------


async def test_login_status_and_logout_say_who(tmp_path, dev_issuer):
    env = env_for(tmp_path)
    issuer = ("--issuer", dev_issuer.issuer_url)
    code, out, err = await codex("login", "status", env=env)
    assert (code, out, err) == (1, "", "Not logged in — run `codex login`\n")  # stderr, as Codex CLI 0.171

    dev_issuer.email, dev_issuer.plan = "bob@example.com", "team"
    code, _, err = await codex("login", *issuer, "--port", "0", env=env)
    assert code == 0 and err.endswith("\nLogged in as bob@example.com (team)\n"), err

    dev_issuer.email, dev_issuer.plan = "alice@example.com", "plus"
    code, _, err = await codex("login", *issuer, "--port", "0", env=env)
    assert code == 0 and err.endswith("\nLogged in as alice@example.com (plus); replaced the login of bob@example.com\n"), err
    code, _, err = await codex("login", *issuer, "--port", "0", env=env)  # the same account again: nothing replaced
    assert code == 0 and err.endswith("\nLogged in as alice@example.com (plus)\n"), err

    code, _, out = await codex("login", "status", env=env)  # no --issuer: the stored login names its own
    assert (code, out) == (
        0,
        f"Logged in using ChatGPT as alice@example.com (plus), account acct_dev, issuer {dev_issuer.issuer_url.rstrip('/')}\n",
    )
    code, out, err = await codex("logout", env=env)
    assert (code, out, err) == (0, "", "Successfully logged out: removed the login of alice@example.com\n")
    code, out, err = await codex("logout", *issuer, env=env)
    assert (code, out, err) == (0, "", "Not logged in — nothing to remove\n")


async def test_an_api_key_login_says_which_login_it_replaced(tmp_path, dev_issuer):
    env = env_for(tmp_path)
    assert (await codex("login", "--issuer", dev_issuer.issuer_url, "--port", "0", env=env))[0] == 0
    with trio.fail_after(60):
        result = await trio.run_process(
            [*CODEX, "login", "--with-api-key"],
            env=env,
            stdin=b"sk-proj-0123456789abcdeXYZ\n",
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    err = result.stderr.decode()
    assert result.returncode == 0 and err.endswith("\nReplaced the login of dev@example.com\n"), err


# --- 3. over SSH, and text-mode browsers -------------------------------------------------------


def test_remote_session_from_the_ssh_variables():
    assert remote_session({}) is None
    session = remote_session({"SSH_CONNECTION": "198.51.100.4 51234 203.0.113.7 2222", "USER": "alice"})
    assert session == RemoteSession("alice", "203.0.113.7", "2222")
    assert session.forward_command(1455) == "ssh -L 1455:127.0.0.1:1455 -p 2222 alice@203.0.113.7"
    plain = remote_session({"SSH_CONNECTION": "198.51.100.4 51234 203.0.113.7 22", "USER": "bob"})
    assert plain.forward_command(1457) == "ssh -L 1457:127.0.0.1:1457 bob@203.0.113.7"
    tty_only = remote_session({"SSH_TTY": "/dev/pts/3", "LOGNAME": "carol"})
    assert tty_only is not None and tty_only.user == "carol" and tty_only.host


def test_banner_snapshots():
    url = "http://127.0.0.1:1455/oauth/authorize?state=s"
    short = "http://localhost:1455/abcdefghijkl"
    assert sign_in_banner(url, 1455, opening_browser=True, short_url=short) == (
        "Starting local login server on http://localhost:1455.\n"
        "If your browser did not open, navigate to http://localhost:1455/abcdefghijkl or to this URL to authenticate:\n"
        "\n"
        f"{url}\n"
        "\n"
        "On a remote or headless machine, use `codex login --device-auth` instead."
    )
    remote = RemoteSession("alice", "203.0.113.7")
    assert sign_in_banner(url, 1455, opening_browser=False, remote=remote, short_url=short) == (
        "Starting local login server on http://localhost:1455.\n"
        "\n"
        "This is an SSH session: a browser on your own computer cannot reach this machine's localhost,\n"
        "so the sign-in cannot come back here by itself. Either sign in with a code instead:\n"
        "\n"
        "    codex login --device-auth\n"
        "\n"
        "or forward the callback port from your computer (in a new terminal there) and keep it open:\n"
        "\n"
        "    ssh -L 1455:127.0.0.1:1455 alice@203.0.113.7\n"
        "\n"
        "then open http://localhost:1455/abcdefghijkl (or the URL below) in your computer's browser:\n"
        "\n"
        f"{url}"
    )


async def test_over_ssh_the_banner_offers_the_real_port(tmp_path, dev_issuer, monkeypatch):
    monkeypatch.setenv("SSH_CONNECTION", "198.51.100.4 51234 203.0.113.7 22")
    monkeypatch.setenv("USER", "alice")
    run = Run(make_settings(tmp_path, dev_issuer.issuer_url))

    async def browser(run, url):
        from harness import approve

        run.pages.append(await approve(url))

    with trio.fail_after(30):
        await run(browser)
    port = int(query_of(run.url)["redirect_uri"].split(":")[2].split("/")[0])
    shown = run.stderr.getvalue()
    assert port != 1455 and f"ssh -L {port}:127.0.0.1:{port} alice@203.0.113.7" in shown
    assert "cannot reach this machine's localhost" in shown and "codex login --device-auth" in shown


def fake_program(directory: Path, name: str, marker: Path) -> Path:
    path = directory / name
    path.write_text(f'#!/bin/sh\necho "$@" >> {shlex.quote(str(marker))}\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def fresh_webbrowser(monkeypatch, tmp_path):
    """webbrowser registers its choices once per process: start from nothing, with only our PATH."""
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    monkeypatch.setattr(webbrowser, "_browsers", {})
    monkeypatch.setattr(webbrowser, "_os_preferred_browser", None, raising=False)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(name, raising=False)
    return bin_dir


def test_text_mode_browsers_are_not_started(fresh_webbrowser, tmp_path, monkeypatch):
    marker = tmp_path / "started"
    fake_program(fresh_webbrowser, "w3m", marker)
    monkeypatch.setenv("BROWSER", "w3m")
    assert browser_flow.open_browser_skipping_text_mode("http://example.test/") == (False, "w3m")
    assert not marker.exists()


def test_text_mode_browser_found_on_path_is_skipped(fresh_webbrowser, tmp_path, monkeypatch):
    marker = tmp_path / "started"
    fake_program(fresh_webbrowser, "lynx", marker)
    monkeypatch.setenv("TERM", "xterm")
    assert browser_flow.open_browser_skipping_text_mode("http://example.test/") == (False, "lynx")
    assert not marker.exists()


def test_a_graphical_choice_after_a_text_mode_one_is_started(fresh_webbrowser, tmp_path, monkeypatch):
    text, gui = tmp_path / "text", tmp_path / "gui"
    fake_program(fresh_webbrowser, "elinks", text)
    opener = fake_program(fresh_webbrowser, "my-browser", gui)
    monkeypatch.setenv("BROWSER", f"/usr/bin/elinks %s{os.pathsep}{opener} %s")
    assert browser_flow.open_browser_skipping_text_mode("http://example.test/x") == (True, None)
    assert gui.read_text() == "http://example.test/x\n" and not text.exists()


async def test_the_login_prints_the_url_instead_of_starting_a_text_browser(tmp_path, dev_issuer, fresh_webbrowser, monkeypatch):
    from dataclasses import replace

    from harness import approve

    marker = tmp_path / "started"
    fake_program(fresh_webbrowser, "w3m", marker)
    monkeypatch.setenv("BROWSER", "w3m")
    run = Run(replace(make_settings(tmp_path, dev_issuer.issuer_url), no_browser=False))
    opened = trio.Event()

    async def browser(run, url):
        with trio.fail_after(10):
            await run.stderr.wait_for("Not starting w3m")
        opened.set()
        run.pages.append(await approve(url))

    with trio.fail_after(30):
        await run(browser)
    assert opened.is_set() and not marker.exists()
    assert (
        "Not starting w3m, a text-mode browser, in this terminal; open the URL above in a browser yourself."
        in run.stderr.getvalue()
    )


# --- 4. the spinner ----------------------------------------------------------------------------


class FakeTTY(io.StringIO):
    encoding = "utf-8"

    def isatty(self):
        return True


def test_time_left():
    assert [time_left(s) for s in (272, 271.2, 0.1, 0, -3, 3723)] == [
        "4:32 left",
        "4:32 left",
        "0:01 left",
        "0:00 left",
        "0:00 left",
        "1:02:03 left",
    ]


def test_spinner_line_shows_the_step_and_the_time_left():
    now = [100.0]
    spinner = Spinner(FakeTTY(), "Waiting for the browser sign-in…", timeout=600, clock=lambda: now[0], width=100)
    assert spinner.line(100.0) == "⠋ Waiting for the browser sign-in… 10:00 left (Ctrl-C to cancel)"
    assert spinner.line(100.0 + 328.15)[2:] == "Waiting for the browser sign-in… 4:32 left (Ctrl-C to cancel)"
    assert spinner.line(100.0 + Spinner.INTERVAL)[0] != spinner.line(100.0)[0]  # it turns
    spinner.message = "Signed in at the issuer; exchanging the code for tokens…"
    assert "exchanging the code" in spinner.line(101.0)
    no_limit = Spinner(FakeTTY(), "Waiting…", timeout=None, clock=lambda: 0.0, width=100)
    assert no_limit.line(0.0) == "⠋ Waiting… (Ctrl-C to cancel)"
    narrow = Spinner(FakeTTY(), "x" * 200, timeout=60, clock=lambda: 0.0, width=40)
    assert len(narrow.line(0.0)) == 39  # never wraps: one row to erase
    ascii_spinner = Spinner(io.StringIO(), "Waiting…", clock=lambda: 0.0, width=80)
    assert ascii_spinner.line(0.0).startswith("| ")


def test_waiting_erases_its_line_and_updates_on_status():
    tty = FakeTTY()
    ui = ConsoleUI(tty)
    with ui.waiting("Waiting for the browser sign-in…", timeout=300):
        ui.status("Signed in at the issuer; exchanging the code for tokens…")
        ui.warning("the keyring is locked")
    out = tty.getvalue()
    assert "Waiting for the browser sign-in… 5:00 left" in out and "exchanging the code for tokens…" in out
    assert out.endswith(ERASE_LINE) and ui.spinner is None
    assert screen(out) == ["warning: the keyring is locked"]


def test_ctrl_c_leaves_a_clean_line():
    tty = FakeTTY()
    ui = ConsoleUI(tty)
    with pytest.raises(KeyboardInterrupt), ui.waiting("Waiting for the code to be entered…", timeout=900):
        tty.write("^C")  # what the terminal echoes at the cursor, at the spinner's end
        raise KeyboardInterrupt
    failure = Cancelled("login cancelled (Ctrl-C)")
    failure.reference = "ABCDEFGH"
    report_failure(failure, tty)
    assert screen(tty.getvalue()) == ["error: login cancelled (Ctrl-C)" + next_step("ABCDEFGH")]


def test_no_spinner_and_no_rich_off_a_terminal():
    out = io.StringIO()
    ui = ConsoleUI(out)
    with ui.waiting("Waiting…", timeout=10):
        ui.status("exchanging…")
    assert out.getvalue() == "" and "rich" not in console.__dict__


async def test_the_console_path_imports_no_rich(tmp_path):
    code = "import sys, codexlogin.cli.login, codexlogin.cli.console; print(sorted(m for m in sys.modules if m.split('.')[0] == 'rich'))"
    with trio.fail_after(30):
        result = await trio.run_process([sys.executable, "-c", code], capture_stdout=True, check=True)
    assert result.stdout.decode().strip() == "[]"


@pytest.mark.concurrency
async def test_ctrl_c_in_a_real_terminal_leaves_a_clean_line(tmp_path, dev_issuer):
    """`codex login` under a real pty: the spinner shows the time left; ^C (the terminal's own
    interrupt character, echoed and turned into SIGINT by the line discipline) ends it with the
    error on a line of its own."""
    import fcntl
    import pty
    import termios

    master, slave = pty.openpty()
    env = env_for(tmp_path, TERM="xterm", COLUMNS="200")

    def controlling_tty():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    output = b""
    try:
        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                process = await nursery.start(
                    partial_run_process(
                        [*CODEX, "login", "--issuer", dev_issuer.issuer_url, "--port", "0", "--no-browser", "--timeout", "300"],
                        env=env,
                        stdin=slave,
                        stdout=slave,
                        stderr=slave,
                        preexec_fn=controlling_tty,
                    )
                )
                os.close(slave)
                slave = -1
                stream = trio.lowlevel.FdStream(master)
                sent = False
                while True:
                    try:
                        chunk = await stream.receive_some(4096)
                    except (OSError, trio.BrokenResourceError):
                        break  # EIO: the child closed the terminal
                    if not chunk:
                        break
                    output += chunk
                    if not sent and b" left (Ctrl-C to cancel)" in output:
                        await stream.send_all(b"\x03")
                        sent = True
                master = -1  # FdStream owns it now
                await stream.aclose()
        assert process.returncode == 130, output
    finally:
        for fd in (master, slave):
            if fd != -1:
                os.close(fd)
    text = output.decode("utf-8", "replace").replace("\r\n", "\n")
    shown = screen(text)
    assert re.search(r"Waiting for the browser sign-in… 4:[0-9]{2} left|Waiting for the browser sign-in… 5:00 left", text), text
    assert re.fullmatch(
        rf"error: login cancelled \(Ctrl-C\) \(ref {REF}; more: codex login log --grep {REF}, codex login doctor\)", shown[-1]
    ), shown
    assert not any("Waiting for the browser" in line for line in shown), shown  # the spinner left nothing behind


def partial_run_process(argv, **options):
    async def run(task_status=trio.TASK_STATUS_IGNORED):
        await trio.run_process(argv, check=False, task_status=task_status, **options)

    return run


class RecordingUI(ConsoleUI):
    """The console UI off a terminal, noting what the flow tells it while it waits."""

    def __init__(self):
        from harness import WatchedText

        text = WatchedText()
        super().__init__(text, text)  # the device prompt (stdout) and the rest (stderr) in one record
        self.events: list[tuple[str, object]] = []

    def waiting(self, message, *, timeout=None):
        self.events.append(("waiting", (message, timeout)))
        return super().waiting(message, timeout=timeout)

    def status(self, message):
        self.events.append(("status", message))


async def test_the_browser_flow_tells_the_spinner_its_deadline_and_steps(tmp_path, dev_issuer):
    from dataclasses import replace

    from harness import approve

    from codexlogin import diagnostics
    from codexlogin.flows.browser import sign_in

    settings = replace(make_settings(tmp_path, dev_issuer.issuer_url), timeout=240)
    ui = RecordingUI()
    send, receive = trio.open_memory_channel(1)

    async def user():
        await approve(await receive.receive())

    with trio.fail_after(30), diagnostics.open_log(settings.resolved_log_dir), diagnostics.command_action("login", "browser"):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(user)
            await sign_in(settings, ui, on_listening=send.send_nowait)
    assert ui.events == [
        ("waiting", ("Waiting for the browser sign-in…", 240)),
        ("status", "Signed in at the issuer; exchanging the code for tokens…"),
        ("status", "Saving the credentials…"),
    ]


@pytest.mark.concurrency
async def test_a_code_that_comes_before_the_issuer_client_is_exchanged_under_the_spinner(tmp_path, dev_issuer, mock_clock):
    """A browser that answers at once (the code reaches the listener the moment it serves): the
    spinner must be up before that exchange begins; trio runs ready tasks in a random order, so a
    flow that only started both at once would fail here about every other login (repeated to catch
    that)."""
    from harness import approve

    from codexlogin import diagnostics
    from codexlogin.flows.browser import sign_in

    for attempt in range(6):
        settings = make_settings(tmp_path / str(attempt), dev_issuer.issuer_url)
        ui = RecordingUI()
        send, receive = trio.open_memory_channel(1)

        async def user(receive=receive):
            await approve(await receive.receive())

        with trio.fail_after(60), diagnostics.open_log(settings.resolved_log_dir), diagnostics.command_action("login", "browser"):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(user)
                await sign_in(settings, ui, on_listening=send.send_nowait)
        assert [kind for kind, _ in ui.events] == ["waiting", "status", "status"], (attempt, ui.events)


async def test_the_device_flow_tells_the_spinner_the_codes_lifetime_and_the_exchange(tmp_path, mock_clock, nursery):
    from dataclasses import replace

    from codexlogin import diagnostics
    from codexlogin.devissuer import DevIssuer, serve_dev_issuer
    from codexlogin.flows.device import device_login

    issuer = DevIssuer()
    await nursery.start(serve_dev_issuer, issuer)
    settings = replace(make_settings(tmp_path, issuer.issuer_url), dialect="openai")
    ui = RecordingUI()

    async def user():
        match = await ui.stderr.wait_for(re.compile(r"\n   ([A-Z0-9]{4}-[A-Z0-9]{4,5})\n"))
        issuer.approve_device(match[1])

    with trio.fail_after(120), diagnostics.open_log(settings.resolved_log_dir), diagnostics.command_action("login", "device"):
        async with trio.open_nursery() as inner:
            inner.start_soon(user)
            await device_login(settings, ui)
    assert ui.events == [
        ("waiting", ("Waiting for the code to be entered…", 15 * 60)),
        ("status", "Code entered; exchanging it for tokens…"),
    ]
