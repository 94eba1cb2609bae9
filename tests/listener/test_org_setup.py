"""A new API organisation owner goes on to the platform's org setup, as Codex CLI 0.171's success page.

0.171's login server reads the id_token's `https://api.openai.com/auth` claims: `is_org_owner` true
and `completed_platform_onboarding` not true means `needs_setup`, and its page then redirects after
3 seconds to `{platform}/org-setup?p=<plan>&t=<id_token>&with_org=<organization_id>&project_id=…`.
We do the same for the default issuer (and its platform only), without a script (the page's CSP
allows none): a meta refresh and a link.
"""

from __future__ import annotations

import base64
import html
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import trio

from codexlogin import diagnostics
from codexlogin.credentials.model import AuthDotJson, TokenData
from codexlogin.listener.app import LoginSession
from codexlogin.listener.decide import CallbackRequest, org_setup_url
from codexlogin.redact import register_secrets
from codexlogin.redact.secrets import run_secrets

DEFAULT = "https://auth.openai.com"
STATE = "expected-state-value-0123456789abcdef"


def jwt(auth: dict) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part({'email': 'owner@example.com', 'https://api.openai.com/auth': auth})}.sig"


OWNER = {"is_org_owner": True, "completed_platform_onboarding": False, "organization_id": "org-1", "project_id": "proj-1"}
ACCESS = jwt({"chatgpt_plan_type": "plus"})


def test_the_rule_and_the_target_are_0171s():
    id_token = jwt(OWNER)
    url = org_setup_url(DEFAULT, id_token, ACCESS)
    assert url is not None
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "platform.openai.com", "/org-setup")
    assert {k: v[0] for k, v in parse_qs(parts.query).items()} == {
        "p": "plus",
        "t": id_token,
        "with_org": "org-1",
        "project_id": "proj-1",
    }


@pytest.mark.parametrize(
    ("claims", "issuer"),
    [
        ({**OWNER, "completed_platform_onboarding": True}, DEFAULT),  # set up already
        ({**OWNER, "is_org_owner": False}, DEFAULT),  # not the owner
        ({k: v for k, v in OWNER.items() if k != "is_org_owner"}, DEFAULT),  # no claim: no setup
        (OWNER, "http://127.0.0.1:8080"),  # another issuer's token never goes to OpenAI's platform
    ],
)
def test_no_setup_step_otherwise(claims, issuer):
    assert org_setup_url(issuer, jwt(claims), ACCESS) is None


async def finished_page(tmp_path, id_token: str, org_setup_issuer: str | None) -> str:
    auth = AuthDotJson("chatgpt", tokens=TokenData(id_token=id_token, access_token=ACCESS, refresh_token="rt-x"))

    async def complete(code: str) -> AuthDotJson:
        return auth

    session = LoginSession(STATE, 1455, None, complete, org_setup_issuer=org_setup_issuer)
    request = CallbackRequest("GET", "/auth/callback", f"code=c&state={STATE}".encode(), host="localhost:1455")
    # in a logged run, as the login's listener is (its actions must not wait for another test's log)
    with (
        trio.fail_after(10),
        diagnostics.open_log(tmp_path / "log"),
        diagnostics.command_action("login", "browser"),
        run_secrets(),
    ):
        register_secrets(id_token)  # as the login does: the page is masked, yet 0.171's URL carries it
        status, page, _headers = await session.handle(request)
    assert status == 200
    return page


async def test_the_success_page_goes_on_to_the_org_setup(tmp_path):
    id_token = jwt(OWNER)
    page = await finished_page(tmp_path, id_token, DEFAULT)
    url = html.escape(org_setup_url(DEFAULT, id_token, ACCESS) or "", quote=True)
    assert f'<meta http-equiv="refresh" content="3;url={url}">' in page and f'<a href="{url}">' in page
    assert "Finish setting up your API organization" in page


async def test_without_needs_setup_the_success_page_stays(tmp_path):
    page = await finished_page(tmp_path / "1", jwt({**OWNER, "completed_platform_onboarding": True}), DEFAULT)
    assert "refresh" not in page and "platform.openai.com" not in page
    assert "You can close this tab" in page
    page = await finished_page(tmp_path / "2", jwt(OWNER), None)  # the standard dialect: no such step
    assert "refresh" not in page
