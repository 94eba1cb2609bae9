"""The org-setup step through our real CLI: `codex login` with no issuer setting at all, against a
stand-in https://auth.openai.com (tests/standin_openai.py: the dev issuer on 127.0.0.1:443 in a
network namespace of its own, named in a bind-mounted /etc/hosts, its trustme CA the bind-mounted
system bundle). A scripted browser approves, follows to the callback and reads the success page.

A new API organisation owner's page sends the browser on to
`https://platform.openai.com/org-setup?p&t&with_org&project_id` (0.171's target, `t` the id_token
just saved); an owner whose setup is finished, or a user who owns no organisation, stays on the page.
Skipped only where the namespaces cannot be made (not root, no unshare/mount): CI runs as root.
scripts/interop_codex.py (org_setup_checks) compares the same with the real Codex CLI.
"""

from __future__ import annotations

import html
import json
import os
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import trio
from standin_openai import browser_target, driver_argv, in_standin_namespace, namespace_problem, query_of, read_run, standin_files

from codexlogin.devissuer import ORG_OWNER_NEEDS_SETUP

CODEX = str(Path(sys.executable).parent / "codex")
with tempfile.TemporaryDirectory() as _probe_dir:
    PROBLEM = namespace_problem(Path(_probe_dir))
pytestmark = [
    pytest.mark.skipif(PROBLEM is not None, reason=f"stand-in auth.openai.com: {PROBLEM}"),
    pytest.mark.filterwarnings("ignore::trio.TrioDeprecationWarning"),
]


def child_env(home: Path) -> dict[str, str]:
    """No issuer, CA, proxy or Codex variable of this machine: the default issuer, found by name."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CODEX_", "OPENAI_", "SSL_CERT")) and not k.lower().endswith("_proxy")
    }
    return {**env, "HOME": str(home), "CODEX_HOME": str(home), "BROWSER": "true", "NO_COLOR": "1"}


async def default_login(tmp_path: Path, claims: dict) -> tuple[dict, dict, str]:
    """Our `codex login` (default issuer) at the stand-in, the browser played through: (the
    driver's report, the auth.json written, codex-login.log)."""
    files = standin_files(tmp_path)
    home = tmp_path / "standin-home"
    home.mkdir(mode=0o700)
    cli = [CODEX, "login", "--no-browser", "--port", "0"]
    argv = in_standin_namespace(files, driver_argv(files, claims, cli), network=True)
    with trio.fail_after(90):
        result = await trio.run_process(argv, env=child_env(home), capture_stdout=True, capture_stderr=True, check=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    report = read_run(result.stdout)
    shown = f"{report['stdout']}{report['stderr']}"
    assert report["exit"] == 0 and report["auth_json"], shown
    assert report["status"] == 200 and report["hops"][0] == "302 https://auth.openai.com/oauth/authorize", report["hops"]
    assert "POST /oauth/token" in report["issuer_paths"]  # the stand-in, not another issuer, completed it
    log = "".join(path.read_text() for path in home.rglob("codex-login.log"))
    return report, json.loads((home / "auth.json").read_text()), log


async def test_a_new_organisation_owner_goes_on_to_the_org_setup(tmp_path):
    report, saved, log = await default_login(tmp_path, ORG_OWNER_NEEDS_SETUP)
    id_token = saved["tokens"]["id_token"]
    target = browser_target(report)
    assert target is not None, report["page"]
    assert urlsplit(target)[:3] == ("https", "platform.openai.com", "/org-setup")
    assert query_of(target) == {"p": "pro", "t": id_token, "with_org": "org-dev", "project_id": "proj_dev"}
    assert f'<a href="{html.escape(target, quote=True)}">' in report["page"]  # and a link, for a browser without refresh
    assert "Finish setting up your API organization" in report["page"]
    assert id_token not in log and id_token not in report["stdout"] + report["stderr"]  # the page only


@pytest.mark.parametrize(
    "claims",
    [{**ORG_OWNER_NEEDS_SETUP, "completed_platform_onboarding": True}, {}],
    ids=["owner-set-up-already", "owns-no-organisation"],
)
async def test_without_needs_setup_the_page_stays(tmp_path, claims):
    report, _saved, _log = await default_login(tmp_path, claims)
    assert browser_target(report) is None
    assert "You can close this tab" in report["page"] and "platform.openai.com" not in report["page"]
