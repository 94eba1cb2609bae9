"""Device login (RFC 8628) against the dev issuer over real HTTP, on trio's autojump MockClock.

Rules: 127.0.0.1 only, port 0; a hard trio.fail_after around every test; all waiting (the 5 s
poll interval, slow_down, the 15-minute expiry) is virtual time, never a real sleep.
"""

from __future__ import annotations

import io
import json

import pytest
import trio
from harness import DeviceRun as Run
from harness import IssuerWrapper, read_body
from harness import device_settings as make_settings

from codexlogin.cli.console import PHISHING_WARNING, ConsoleUI
from codexlogin.devissuer import GRANT_DEVICE_CODE
from codexlogin.errors import (
    Denied,
    ExitCode,
    LoginFailure,
    PolicyViolation,
    TimedOut,
)
from codexlogin.flows.device import (
    DeviceLoginUnavailable,
)

pytestmark = pytest.mark.filterwarnings("ignore::trio.TrioDeprecationWarning")


class PollRecorder(IssuerWrapper):
    """ASGI wrapper: notes the (virtual) time of each device-code poll and can answer one with
    `slow_down` itself — the dev issuer, once it has said slow_down, keeps raising its own interval.
    `await wait_for_polls(n)` returns once n polls have been answered."""

    def __init__(self, inner, slow_down_on: set[int] = frozenset()):
        self.inner, self.slow_down_on, self.times = inner, slow_down_on, []
        self.answered = 0
        self._answer = trio.Event()

    async def wait_for_polls(self, count):
        while self.answered < count:
            await self._answer.wait()

    def _note_answered(self):
        self.answered += 1
        self._answer.set()
        self._answer = trio.Event()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != "/oauth/token":
            return await self.inner(scope, receive, send)
        body = await read_body(receive)
        poll = b"device_code" in body and b"grant_type=urn" in body
        if poll:
            self.times.append(trio.current_time())
            if len(self.times) in self.slow_down_on:
                payload = json.dumps({"error": "slow_down"}).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 400,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
                    }
                )
                await send({"type": "http.response.body", "body": payload})
                self._note_answered()
                return
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.inner(scope, replay, send)
        if poll:
            self._note_answered()


async def recorded(nursery, issuer) -> PollRecorder:
    """`issuer` behind a PollRecorder served on a port of its own (`issuer.issuer_url` becomes its URL)."""
    from codexlogin.devissuer import serve_dev_issuer

    recorder = PollRecorder(issuer)
    await nursery.start(serve_dev_issuer, recorder)
    return recorder


async def test_pending_then_slow_down_then_success(tmp_path, mock_clock, dev_issuer, nursery):
    from codexlogin.devissuer import serve_dev_issuer

    recorder = PollRecorder(dev_issuer, slow_down_on={2})
    url = await nursery.start(serve_dev_issuer, recorder)
    with trio.fail_after(60):
        run = Run(make_settings(tmp_path, url))

        async def user(run):
            await recorder.wait_for_polls(3)  # pending, slow_down, pending
            dev_issuer.approve_device(run.user_code())

        started = trio.current_time()
        auth = await run(user)
    assert not isinstance(auth, LoginFailure), auth
    gaps = [round(b - a, 1) for a, b in zip([started, *recorder.times], recorder.times)]
    assert gaps == [5.0, 5.0, 10.0, 10.0]  # slow_down: +5 s for this and every later poll

    text = run.stderr.getvalue()
    user_code = run.user_code()
    assert f"{url}/device" in text and user_code in text
    assert f"{url}/device?user_code={user_code}" in text
    assert PHISHING_WARNING in text and "expires in 15 minutes" in text

    saved = json.loads(run.settings.auth_file.read_text())
    assert saved["auth_mode"] == "chatgpt" and saved["tokens"]["account_id"] == "acct_dev"
    assert saved["OPENAI_API_KEY"] is None  # the API-key exchange is the openai dialect's only
    assert dev_issuer.token_active(saved["tokens"]["refresh_token"])

    messages = run.log_messages()
    polls = [m for m in messages if m.get("action_type") == "codex:device_poll"]
    assert [m["action_status"] for m in polls] == ["started", "succeeded"]
    assert polls[1]["polls"] == 4 and polls[1]["slow_downs"] == 1 and polls[1]["final_interval"] == 10
    assert not [m for m in messages if m.get("message_type", "").startswith("codex:device_poll")]
    log = run.settings.log_file.read_text()
    device_code = dev_issuer.token_requests(GRANT_DEVICE_CODE)[0]["device_code"]
    for secret in (user_code, user_code.replace("-", ""), device_code, saved["tokens"]["refresh_token"]):
        assert secret not in log


async def test_auto_approved_after_pending_polls(tmp_path, mock_clock, dev_issuer):
    dev_issuer.device_auto_approve_after = 3
    with trio.fail_after(60):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url))
        auth = await run()
    assert auth.auth_mode == "chatgpt" and run.settings.auth_file.exists()
    assert len(dev_issuer.token_requests(GRANT_DEVICE_CODE)) == 3


async def test_denied(tmp_path, mock_clock, dev_issuer, nursery):
    recorder = await recorded(nursery, dev_issuer)
    with trio.fail_after(60):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url))

        async def user(run):
            await recorder.wait_for_polls(1)
            dev_issuer.deny_device(run.user_code())

        failure = await run(user)
    assert isinstance(failure, Denied) and failure.exit_code == ExitCode.DENIED
    assert "denied" in failure.detail
    assert not run.settings.auth_file.exists()
    stopped = [m for m in run.log_messages() if m.get("message_type") == "codex:device_poll:stopped"]
    assert len(stopped) == 1 and stopped[0]["result"] == "denied" and stopped[0]["polls"] in (1, 2)


async def test_expired_without_approval(tmp_path, mock_clock, dev_issuer, monkeypatch):
    monkeypatch.setattr("codexlogin.devissuer.device.DEVICE_CODE_LIFETIME", 60)  # fewer polls, same logic
    with trio.fail_after(100):  # virtual seconds
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url))
        started = trio.current_time()
        failure = await run()
        elapsed = trio.current_time() - started
    assert isinstance(failure, TimedOut) and failure.exit_code == ExitCode.TIMED_OUT
    assert "expired" in failure.detail and "--device-auth" in failure.detail
    assert 59 <= elapsed <= 61  # the code's expires_in, in virtual time
    assert not run.settings.auth_file.exists()
    stopped = [m for m in run.log_messages() if m.get("message_type") == "codex:device_poll:stopped"]
    assert stopped[0]["result"] == "expired" and stopped[0]["polls"] >= 10


async def test_issuer_without_device_login_says_so(tmp_path, mock_clock, dev_issuer):
    dev_issuer.faults.device_code_enabled = False
    with trio.fail_after(10):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url))
        failure = await run()
    assert isinstance(failure, DeviceLoginUnavailable) and failure.exit_code == ExitCode.USAGE
    assert "device login is not enabled on this issuer" in failure.detail
    assert "`codex login` (browser)" in failure.detail
    assert dev_issuer.token_requests() == []


async def test_workspace_mismatch_saves_nothing(tmp_path, mock_clock, dev_issuer):
    dev_issuer.device_auto_approve_after = 1
    with trio.fail_after(60):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url, forced_chatgpt_workspace_id=("acct_other",)))
        failure = await run()
    assert isinstance(failure, PolicyViolation) and failure.exit_code == ExitCode.POLICY_VIOLATION
    assert "acct_other" in failure.detail and "acct_dev" in failure.detail
    assert not run.settings.auth_file.exists()


async def test_forced_api_login_method_refuses_device_login(tmp_path, mock_clock, dev_issuer):
    with trio.fail_after(10):
        run = Run(make_settings(tmp_path, dev_issuer.issuer_url, forced_login_method="api"))
        failure = await run()
    assert isinstance(failure, PolicyViolation) and "--with-api-key" in failure.detail
    assert dev_issuer.requests == []


async def test_the_save_waits_for_the_auth_lock(tmp_path, mock_clock, dev_issuer, nursery):
    """A token refresh in flight holds $CODEX_HOME/auth.lock: the device login saves only after it
    (else the refresh would write its tokens over the new login)."""
    from codexlogin.credentials.lock import hold_file_lock, refresh_lock_path

    dev_issuer.device_auto_approve_after = 1
    recorder = await recorded(nursery, dev_issuer)
    run = Run(make_settings(tmp_path, dev_issuer.issuer_url))
    outcome = []

    async def login():
        outcome.append(await run())

    with trio.fail_after(200):
        async with trio.open_nursery() as nursery, hold_file_lock(refresh_lock_path(run.settings), timeout=1):
            nursery.start_soon(login)
            await recorder.wait_for_polls(1)
            await trio.sleep(3)  # virtual: approved by now, the save is waiting for the lock
            assert outcome == [] and not run.settings.auth_file.exists()
    assert not isinstance(outcome[0], LoginFailure), outcome[0]
    assert json.loads(run.settings.auth_file.read_text())["auth_mode"] == "chatgpt"


@pytest.mark.parametrize("backend", ["keyring", "file"])
def test_success_line_names_where_the_credentials_went(tmp_path, monkeypatch, capsys, backend):
    """`codex login --device-auth` through the CLI against a real dev issuer (in its own thread:
    the command runs its own trio loop); the last line says where the credentials went."""
    import keyring
    import keyring.backends.fail
    from harness import MemoryKeyring, issuer_in_thread

    from codexlogin.cli.app import app
    from codexlogin.devissuer import DevIssuer

    monkeypatch.setattr("codexlogin.devissuer.device.DEVICE_POLL_INTERVAL", 1)  # real time here: one short poll
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    try:
        with issuer_in_thread(DevIssuer(device_auto_approve_after=1)) as url:
            settings = make_settings(tmp_path, url, cli_auth_credentials_store=backend)
            argv = [
                "login",
                "--device-auth",
                "--issuer",
                url,
                "--log-dir",
                str(settings.log_dir),
                "-c",
                f"cli_auth_credentials_store={backend}",
            ]
            assert app(argv, result_action="return_value") == 0
    finally:
        keyring.set_keyring(keyring.backends.fail.Keyring())
    where = "the system keyring (service Codex Auth)" if backend == "keyring" else str(settings.auth_file)
    out, err = capsys.readouterr()
    assert "one-time code" in out  # the device prompt: stdout, as Codex CLI 0.171
    assert err == f"Successfully logged in. Credentials saved to {where}\nLogged in as dev@example.com (pro)\n", err
    assert settings.auth_file.exists() == (backend == "file") and len(memory.entries) == (backend == "keyring")


def test_issuer_supplied_device_text_cannot_drive_the_terminal():
    from codexlogin.oauth.client import DeviceAuthorization

    device = DeviceAuthorization(
        device_code="dc-0123456789",
        user_code="ABCD\x1b[2J-EFGH",
        verification_uri="https://issuer.example/device\x1b]0;pwned\x07",
        verification_uri_complete="https://issuer.example/device?user_code=ABCD\r\nFAKE PROMPT",
        expires_in=900,
        interval=5,
    )
    out = io.StringIO()
    ConsoleUI(stdout=out).device_code(device)  # what the CLI prints (on stdout, as Codex CLI 0.171)
    text = out.getvalue()
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    assert (
        "ABCD\\x1b[2J-EFGH" in text
        and "FAKE PROMPT"
        in text.splitlines()[text.splitlines().index("   Or open this link, which fills in the code for you:") + 1]
    )
