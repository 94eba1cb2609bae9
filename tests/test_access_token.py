"""Personal access tokens: 0.171's auth.json shape, `status`, `logout`, and `--with-access-token`.

The dev issuer over real HTTP on 127.0.0.1 (port 0) mints the tokens and answers whoami; real
files under tmp_path; every I/O test under trio.fail_after.
"""

from __future__ import annotations

import json

import pytest
import trio
from harness import issuer_in_thread, run_cli

from codexlogin import diagnostics
from codexlogin.config import load_settings
from codexlogin.credentials.files import load_auth, save_auth
from codexlogin.credentials.model import PERSONAL_ACCESS_TOKEN, AuthDotJson
from codexlogin.devissuer import DevIssuer
from codexlogin.errors import ExitCode
from codexlogin.flows.logout import logout_flow

pytestmark = pytest.mark.filterwarnings("ignore::trio.TrioDeprecationWarning")

PAT = "at-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-vwxyz"
PAT_FILE = {"OPENAI_API_KEY": None, "personal_access_token": PAT}  # what 0.171 stores


def settings(**changes):
    from dataclasses import replace

    return replace(load_settings({}), **changes)


def write_pat_file(data=PAT_FILE):
    path = settings().auth_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


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


def test_status_says_personal_access_token_masked_offline(capsys):
    write_pat_file()
    code, out, err = run_status(capsys, issuer="http://127.0.0.1:9")  # nothing listens: offline
    assert (code, out, err) == (0, "Logged in using personal access token - at-AbCdE***vwxyz\n", "")
    code, out, _ = run_status(capsys, json_=True)
    data = json.loads(out)
    assert code == 0 and data["status"] == "logged_in" and data["mode"] == "personal_access_token"
    assert data["personal_access_token"] == "at-AbCdE***vwxyz" and data["api_key"] is None
    assert PAT not in out and PAT[8:-5] not in out


def test_an_empty_stored_token_is_unusable(capsys):
    write_pat_file({"OPENAI_API_KEY": None, "personal_access_token": "  ", "auth_mode": "personal_access_token"})
    code, out, _ = run_status(capsys)
    assert code == ExitCode.CREDENTIALS_UNUSABLE and "personal access token is empty" in out


@pytest.mark.parametrize(("forced", "code"), [("chatgpt", 0), ("api", ExitCode.POLICY_VIOLATION)])
def test_a_personal_access_token_counts_as_a_chatgpt_login_for_forced_login_method(capsys, forced, code):
    write_pat_file()
    got, out, _ = run_status(capsys, config=(f"forced_login_method={forced}",))
    assert got == code and out.startswith("Logged in using personal access token")


# --- logout ---------------------------------------------------------------------------------------


def test_logout_removes_it_without_asking_the_issuer(capsys):
    issuer = DevIssuer()
    with issuer_in_thread(issuer) as url:
        token = issuer.issue_personal_access_token()
        write_pat_file({"OPENAI_API_KEY": None, "personal_access_token": token})
        assert run_cli("logout", issuer=url) == 0
        assert issuer.request_log == [] and issuer.token_active(token)  # as 0.171: no network
    assert capsys.readouterr() == ("Successfully logged out\n", "")
    assert not settings().auth_file.exists()


async def test_logout_flow_reports_nothing_revoked(tmp_path):
    write_pat_file()
    s = settings(log_dir=tmp_path / "log")
    with trio.fail_after(10), diagnostics.open_log(s.resolved_log_dir):
        result = await logout_flow(s)
    assert result.removed and result.revoked is None and result.warning is None
