"""Personal access tokens: 0.171's auth.json shape, `status`, `logout`, and `--with-access-token`.

The dev issuer over real HTTP on 127.0.0.1 (port 0) mints the tokens and answers whoami; real
files under tmp_path; every I/O test under trio.fail_after.
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import replace

import pytest
import trio
from harness import HangingPath, issuer_in_thread, provenance_of, run_cli

from codexlogin import diagnostics
from codexlogin.config import load_settings
from codexlogin.credentials.files import load_auth, save_auth
from codexlogin.credentials.model import PERSONAL_ACCESS_TOKEN, AuthDotJson
from codexlogin.devissuer import DevIssuer, serve_dev_issuer
from codexlogin.errors import ExitCode, NetworkError, PolicyViolation, TokenExchangeFailed, UsageError
from codexlogin.flows.access_token import PIPE_HINT, access_token_login, read_access_token
from codexlogin.flows.logout import logout_flow
from codexlogin.flows.ui import SilentUI
from codexlogin.oauth.issuer import WHOAMI_PATH

pytestmark = pytest.mark.filterwarnings("ignore::trio.TrioDeprecationWarning")

PAT = "at-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-vwxyz"
PAT_FILE = {"OPENAI_API_KEY": None, "personal_access_token": PAT}  # what 0.171 stores


def settings(**changes):
    return replace(load_settings({}), **changes)


@pytest.fixture(autouse=True)
def _default_issuer_unreachable(monkeypatch):
    """`status` asks whoami for a stored token (as 0.171): a token of the default issuer
    (https://auth.openai.com) meets a refused proxy here, never the network."""
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")


def write_pat_file(data=PAT_FILE):
    path = settings().auth_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    path.chmod(0o600)  # as codex writes it: a looser mode is warned about


def run_status(capsys, *args, **options):
    code = run_cli("login", "status", *args, **options)
    out, err = capsys.readouterr()
    return code, out, err


# --- the stored shape -----------------------------------------------------------------------------


def test_the_0171_shape_reads_as_its_own_mode_and_is_written_back_exactly():
    write_pat_file()
    auth = load_auth(settings().auth_file)
    assert auth is not None and auth.auth_mode == PERSONAL_ACCESS_TOKEN and auth.personal_access_token == PAT
    assert auth.tokens is None and auth.openai_api_key is None
    save_auth(settings().auth_file, auth)
    assert json.loads(settings().auth_file.read_text()) == PAT_FILE
    assert settings().auth_file.read_text() == json.dumps(PAT_FILE, indent=2) + "\n"
    assert AuthDotJson(PERSONAL_ACCESS_TOKEN, personal_access_token=PAT).to_json() == PAT_FILE


# --- status ---------------------------------------------------------------------------------------


def test_status_says_personal_access_token_masked_when_the_issuer_cannot_be_reached(capsys):
    write_pat_file()
    code, out, err = run_status(capsys)  # the issuer cannot be reached: the offline answer, with a warning
    assert (code, out) == (0, "") and err.startswith("warning: could not check the personal access token online (")
    assert err.endswith("); showing it as stored\nLogged in using personal access token - at-AbCdE***vwxyz\n"), err
    code, _, out = run_status(capsys, issuer="http://127.0.0.1:9")  # a 0.171 file: the default issuer's
    assert code == 0 and "Note: the stored login was issued by https://auth.openai.com, but --issuer names" in out
    code, out, _ = run_status(capsys, json_=True)
    data = json.loads(out)
    assert code == 0 and data["status"] == "logged_in" and data["mode"] == "personal_access_token"
    assert data["personal_access_token"] == "at-AbCdE***vwxyz" and data["api_key"] is None
    assert PAT not in out and PAT[8:-5] not in out


def test_an_empty_stored_token_is_unusable(capsys):
    write_pat_file({"OPENAI_API_KEY": None, "personal_access_token": "  ", "auth_mode": "personal_access_token"})
    code, _, out = run_status(capsys)
    assert code == ExitCode.CREDENTIALS_UNUSABLE and "personal access token is empty" in out


@pytest.mark.parametrize(("forced", "code"), [("chatgpt", 0), ("api", ExitCode.POLICY_VIOLATION)])
def test_a_personal_access_token_counts_as_a_chatgpt_login_for_forced_login_method(capsys, forced, code):
    write_pat_file()
    got, _, out = run_status(capsys, config=(f"forced_login_method={forced}",))
    words = "Logged in using personal access token" if code == 0 else "Not logged in: the personal access token at-"
    assert got == code and out.splitlines()[-1].startswith(words)  # after the warning: the issuer is not reachable here


# --- logout ---------------------------------------------------------------------------------------


def test_logout_removes_it_without_asking_the_issuer(capsys):
    issuer = DevIssuer()
    with issuer_in_thread(issuer) as url:
        token = issuer.issue_personal_access_token()
        write_pat_file({"OPENAI_API_KEY": None, "personal_access_token": token})
        assert run_cli("logout", issuer=url) == 0
        assert issuer.request_log == [] and issuer.token_active(token)  # as 0.171: no network
    assert capsys.readouterr() == ("", f"Successfully logged out: removed the personal access token {token[:8]}***{token[-5:]}\n")
    assert not settings().auth_file.exists()


async def test_logout_flow_reports_nothing_revoked(tmp_path):
    write_pat_file()
    s = settings(log_dir=tmp_path / "log")
    with trio.fail_after(10), diagnostics.open_log(s.resolved_log_dir):
        result = await logout_flow(s)
    assert result.removed and result.revoked is None and result.warning is None


# --- codex login --with-access-token --------------------------------------------------------------


@contextmanager
def piped(data: bytes):
    read_fd, write_fd = os.pipe()
    os.write(write_fd, data)
    os.close(write_fd)
    with os.fdopen(read_fd, "r", encoding="utf-8") as stream:
        yield stream


@contextmanager
def terminal():
    primary, secondary = os.openpty()
    try:
        with os.fdopen(secondary, "r", encoding="utf-8", closefd=True) as stream:
            yield stream
    finally:
        os.close(primary)


def flow_settings(tmp_path, url, **changes):
    return settings(issuer=url, log_dir=tmp_path / "log", exchange_timeout=10, **changes)


def whoami_requests(issuer):
    return [r for r in issuer.request_log if r.path == WHOAMI_PATH]


async def login_with(s, token: str, **kwargs):
    with piped(f"{token}\n".encode()) as stdin, trio.fail_after(kwargs.pop("bound", 20)):
        return await access_token_login(s, stdin, SilentUI(), **kwargs)


async def test_a_good_token_is_checked_at_whoami_and_stored_in_the_0171_shape(tmp_path, dev_issuer):
    token = dev_issuer.issue_personal_access_token(email="pat@example.com", account_id="acct_pat", plan="pro")
    s = flow_settings(tmp_path, dev_issuer.issuer_url)
    auth, backend, account = await login_with(s, token)
    assert backend == "file" and auth.personal_access_token == token
    assert (account.email, account.account_id, account.plan, account.user_id) == (
        "pat@example.com",
        "acct_pat",
        "pro",
        "user_dev",
    )
    # 0.171's shape, plus where the token came from (not the default issuer: next commands go there)
    provenance = provenance_of(dev_issuer.issuer_url)
    assert json.loads(s.auth_file.read_text()) == {
        "OPENAI_API_KEY": None,
        "personal_access_token": token,
        "oauth_provenance": provenance,
    }
    assert stat.S_IMODE(s.auth_file.stat().st_mode) == 0o600
    (request,) = whoami_requests(dev_issuer)
    assert request.method == "GET" and request.headers["authorization"] == f"Bearer {token}"


@pytest.mark.parametrize("revoked", [False, True])
async def test_a_token_the_issuer_rejects_is_exit_4_and_nothing_is_saved(tmp_path, dev_issuer, revoked):
    token = dev_issuer.issue_personal_access_token() if revoked else "at-never-issued-0123456789"
    if revoked:
        dev_issuer.revoke_personal_access_token(token)
    s = flow_settings(tmp_path, dev_issuer.issuer_url)
    with pytest.raises(TokenExchangeFailed) as info:
        await login_with(s, token)
    failure = info.value
    assert failure.exit_code == ExitCode.TOKEN_EXCHANGE_FAILED and failure.detail.startswith(
        "the issuer rejected the access token"
    )
    assert failure.error_code == ("token_revoked" if revoked else "invalid_token") and "401" in failure.detail
    assert PIPE_HINT in failure.detail and token not in failure.detail
    assert not s.auth_file.exists()


async def test_an_unreachable_issuer_is_exit_10_like_every_request_to_the_issuer(tmp_path, refused_port):
    s = flow_settings(tmp_path, f"http://127.0.0.1:{refused_port()}")
    with pytest.raises(NetworkError) as info:
        await login_with(s, "at-0123456789abcdef")
    assert info.value.exit_code == ExitCode.NETWORK_ERROR
    assert info.value.fields["kind"] == "connect" and "whoami endpoint" in info.value.detail
    assert not s.auth_file.exists()


async def test_a_silent_issuer_is_given_up_after_exchange_timeout(tmp_path, mock_clock, dev_issuer, nursery):
    url = await nursery.start(serve_dev_issuer, HangingPath(dev_issuer, WHOAMI_PATH))
    s = flow_settings(tmp_path, url)
    with pytest.raises(NetworkError) as info:
        await login_with(s, dev_issuer.issue_personal_access_token(), bound=100)
    assert info.value.fields["kind"] == "timeout" and "within 10s" in info.value.detail
    assert 10 <= trio.current_time() < 12 and not s.auth_file.exists()


@pytest.mark.parametrize(("allowed", "ok"), [(("acct_pat",), True), (("acct_other", "acct_pat"), True), (("acct_other",), False)])
async def test_the_workspace_policy_applies_to_the_account_whoami_names(tmp_path, dev_issuer, allowed, ok):
    token = dev_issuer.issue_personal_access_token(account_id="acct_pat")
    s = flow_settings(tmp_path, dev_issuer.issuer_url, forced_chatgpt_workspace_id=allowed)
    if ok:
        await login_with(s, token)
        assert s.auth_file.exists()
        return
    with pytest.raises(PolicyViolation) as info:
        await login_with(s, token)
    assert info.value.error_code == "workspace_mismatch" and "acct_pat" in info.value.detail
    assert not s.auth_file.exists()


async def test_forced_api_login_refuses_it_before_reading_or_asking(tmp_path, dev_issuer):
    s = flow_settings(tmp_path, dev_issuer.issuer_url, forced_login_method="api")
    stdin = io.StringIO(dev_issuer.issue_personal_access_token())
    with trio.fail_after(10), pytest.raises(PolicyViolation):
        await access_token_login(s, stdin, SilentUI())
    assert stdin.tell() == 0 and whoami_requests(dev_issuer) == [] and not s.auth_file.exists()


async def test_forced_chatgpt_login_accepts_it(tmp_path, dev_issuer):
    s = flow_settings(tmp_path, dev_issuer.issuer_url, forced_login_method="chatgpt")
    await login_with(s, dev_issuer.issue_personal_access_token())
    assert s.auth_file.exists()


async def test_it_replaces_a_chatgpt_login_and_keeps_unknown_fields(tmp_path, dev_issuer):
    s = flow_settings(tmp_path, dev_issuer.issuer_url)
    s.auth_file.parent.mkdir(parents=True, exist_ok=True)
    s.auth_file.write_text(
        json.dumps(
            {
                "auth_mode": "chatgpt",
                "OPENAI_API_KEY": None,
                "agent_identity": {"id": "a"},
                "tokens": {"id_token": "i", "access_token": "a", "refresh_token": "r", "account_id": "acct_dev"},
                "last_refresh": "2026-12-01T20:33:32.445329355Z",
            }
        )
    )
    token = dev_issuer.issue_personal_access_token()
    await login_with(s, token)
    provenance = provenance_of(dev_issuer.issuer_url)
    assert json.loads(s.auth_file.read_text()) == {
        "OPENAI_API_KEY": None,
        "personal_access_token": token,
        "oauth_provenance": provenance,
        "agent_identity": {"id": "a"},
    }


# reading stdin: the --with-api-key rules


async def test_a_terminal_is_refused_with_the_pipe_hint():
    with terminal() as stdin, pytest.raises(UsageError) as info:
        await read_access_token(stdin)
    assert PIPE_HINT in info.value.detail and "terminal" in info.value.detail


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "no access token on stdin"),
        (b" \n\t\n", "no access token on stdin"),
        (b"at-one at-two\n", "does not hold a single access token"),
        (b"at-a\nat-b\n", "does not hold a single access token"),
        (b"at-" + b"x" * 5000, "does not hold a single access token"),
        (b"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJl\n", "agent identity tokens (JWTs) are not supported"),
        (b"sk-proj-0123456789abcdefghij\n", "use `--with-api-key`"),
        (b"ghp_0123456789abcdef\n", "supports only personal access tokens (at-"),
        (b"at-\n", "supports only personal access tokens (at-"),
    ],
)
async def test_odd_input_is_a_one_line_usage_error_that_never_repeats_it(data, message):
    with piped(data) as stdin, pytest.raises(UsageError) as info:
        await read_access_token(stdin)
    failure = info.value
    assert message in failure.detail and failure.exit_code == ExitCode.USAGE and "\n" not in failure.detail
    secret = data.strip().decode()
    assert len(secret) < 4 or secret not in failure.detail


async def test_no_stdin_at_all():
    with pytest.raises(UsageError):
        await read_access_token(None)


# through the command line


def cli_login(monkeypatch, stdin, *flags, url, tmp_path):
    monkeypatch.setattr(sys, "stdin", stdin)
    return run_cli("login", *flags, issuer=url, log_dir=str(tmp_path / "log"))


def test_the_command_prints_a_masked_success_line_and_logs_no_token(tmp_path, monkeypatch, capsys):
    issuer = DevIssuer()
    with issuer_in_thread(issuer) as url:
        token = issuer.issue_personal_access_token()
        with piped(token.encode()) as stdin:
            code = cli_login(monkeypatch, stdin, "--with-access-token", url=url, tmp_path=tmp_path)
        out, err = capsys.readouterr()
        assert code == 0, err
        masked = f"{token[:8]}***{token[-5:]}"
        assert out == "" and err == (
            f"Successfully logged in using a personal access token - {masked}. Credentials saved to {settings().auth_file}\n"
            "Logged in as dev@example.com (pro)\n"
        )
        code, _, out = run_status(capsys, "--check", issuer=url, log_dir=str(tmp_path / "log"))
        assert code == 0 and out.startswith(f"Logged in using personal access token - {masked} as dev@example.com (pro)")
        assert "the issuer accepts the personal access token" in out
    log = (tmp_path / "log" / "codex-login.log").read_text()
    assert token not in log and token[8:-5] not in log
    roots = [json.loads(line) for line in log.splitlines() if '"codex:command"' in line]
    assert roots[0]["flow"] == "access_token" and roots[1]["action_status"] == "succeeded"


def test_a_rejected_token_through_the_command_is_one_error_line_and_exit_4(tmp_path, monkeypatch, capsys):
    issuer = DevIssuer()
    with issuer_in_thread(issuer) as url, piped(b"at-not-a-real-token-0123456789") as stdin:
        code = cli_login(monkeypatch, stdin, "--with-access-token", url=url, tmp_path=tmp_path)
    err = capsys.readouterr().err
    assert code == ExitCode.TOKEN_EXCHANGE_FAILED and err.count("\n") == 1
    assert err.startswith("error: the issuer rejected the access token") and "at-not-a-real" not in err


@pytest.mark.parametrize(
    "flags",
    [("--with-api-key", "--with-access-token"), ("--with-access-token", "--device-auth"), ("--with-api-key", "--device-auth")],
)
def test_two_credential_sources_are_a_usage_error(tmp_path, monkeypatch, capsys, flags):
    code = cli_login(monkeypatch, io.StringIO("at-x"), *flags, url="http://127.0.0.1:9", tmp_path=tmp_path)
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE and "Choose one login credential source" in err and err.count("\n") == 1


def test_the_token_is_never_taken_from_argv(tmp_path, monkeypatch, capsys):
    with pytest.raises(SystemExit) as info:  # cyclopts refuses the stray argument: exit 2
        cli_login(
            monkeypatch, io.StringIO(""), "--with-access-token", "at-from-argv", url="http://127.0.0.1:9", tmp_path=tmp_path
        )
    assert info.value.code == ExitCode.USAGE and not settings().auth_file.exists()


def test_a_real_pipe_into_a_process(tmp_path):
    issuer = DevIssuer()
    with issuer_in_thread(issuer) as url:
        token = issuer.issue_personal_access_token()
        code = f"from codexlogin.cli.app import main; main(['login', '--with-access-token', '--issuer', {url!r}])"
        result = subprocess.run(
            [sys.executable, "-c", code],
            check=False,
            input=token + "\n",
            capture_output=True,
            text=True,
            timeout=60,
            env=os.environ.copy(),
        )
    assert result.returncode == 0, result.stderr
    provenance = provenance_of(url)
    stored = {"OPENAI_API_KEY": None, "personal_access_token": token, "oauth_provenance": provenance}
    assert json.loads((tmp_path / "codex-home" / "auth.json").read_text()) == stored


# status --check asks whoami


@pytest.mark.parametrize(
    ("case", "code", "kind"),
    [
        ("revoked", ExitCode.CREDENTIALS_UNUSABLE, "rejected"),
        ("unreachable", ExitCode.NETWORK_ERROR, "network"),
        ("other_workspace", ExitCode.POLICY_VIOLATION, None),
    ],
)
def test_status_check_reports_what_whoami_says(tmp_path, capsys, refused_port, case, code, kind):
    issuer = DevIssuer()
    with issuer_in_thread(issuer) as url:
        token = issuer.issue_personal_access_token(account_id="acct_pat")
        if case == "revoked":
            issuer.revoke_personal_access_token(token)
        target = f"http://127.0.0.1:{refused_port()}" if case == "unreachable" else url
        # stored by a login at `target`: the check goes there without --issuer
        provenance = provenance_of(target)
        write_pat_file({"OPENAI_API_KEY": None, "personal_access_token": token, "oauth_provenance": provenance})
        config = ("forced_chatgpt_workspace_id=acct_other",) if case == "other_workspace" else ()
        got, out, err = run_status(capsys, "--check", json_=True, log_dir=str(tmp_path / "log"), config=config)
    data = json.loads(out)
    assert got == code and data["mode"] == "personal_access_token" and token not in out + err
    if kind is None:
        assert data["status"] == "policy_violation" and "acct_pat" in data["problem"] and data["account_id"] == "acct_pat"
    else:
        assert data["status"] == "check_failed" and data["error"]["kind"] == kind
