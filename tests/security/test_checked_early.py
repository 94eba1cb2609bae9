"""Issue 22 #6, checked too late: what the save will touch (a directory at auth.json or auth.lock,
a symlinked auth.lock) is found before the sign-in URL is printed, not after the whole sign-in
and code exchange; a CODEX_HOME another user owns or may write is warned about by the login and
failed by doctor. The real `codex` in a subprocess, against the dev issuer on 127.0.0.1.
"""

from __future__ import annotations

import os
import shlex
import sys

import pytest
import trio

CODEX = [sys.executable, "-m", "codexlogin"]
NOBODY = 65534


def env_for(home):
    return {
        **os.environ,
        "CODEX_HOME": str(home),
        "BROWSER": f"{shlex.quote(sys.executable)} -m codexlogin.devissuer browse %s",
        "PYTHONUNBUFFERED": "1",
    }


async def codex(*args, env):
    with trio.fail_after(40):
        result = await trio.run_process([*CODEX, *args], env=env, capture_stdout=True, capture_stderr=True, check=False)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def _directory(path):
    path.mkdir()


def _symlink(path):
    target = path.parent.parent / "elsewhere"
    target.write_text("")
    path.symlink_to(target)


@pytest.mark.parametrize(
    ("name", "plant", "said"),
    [
        ("auth.json", _directory, "auth.json is a directory"),
        ("auth.lock", _directory, "auth.lock is a directory"),
        ("auth.lock", _symlink, "auth.lock is a symbolic link"),
    ],
)
@pytest.mark.parametrize("flags", [(), ("--device-auth",)])
async def test_a_planted_save_target_is_found_before_the_url_is_printed(tmp_path, dev_issuer, name, plant, said, flags):
    home = tmp_path / "codex-home"
    home.mkdir(mode=0o700)
    plant(home / name)
    code, out, err = await codex("login", *flags, "--issuer", dev_issuer.issuer_url, "--port", "0", env=env_for(home))
    assert code == 7, err
    (line,) = err.splitlines()
    assert line.startswith("error: cannot save credentials: ") and said in line and "nothing was opened" in line
    assert "http://" not in err.replace(str(home), "")  # no sign-in URL, no device code page
    assert dev_issuer.authorize_requests() == [] and dev_issuer.token_requests() == []
    assert dev_issuer.requests == [], "the issuer was not even asked"
    if name == "auth.lock" and plant is _symlink:
        assert (tmp_path / "elsewhere").read_text() == ""  # never followed


@pytest.mark.parametrize("unsafe", ["world-writable", "foreign-owned"])
async def test_an_unsafe_codex_home_is_warned_about_by_the_login_and_failed_by_doctor(tmp_path, dev_issuer, unsafe):
    home = tmp_path / "codex-home"
    home.mkdir(mode=0o700)
    if unsafe == "world-writable":
        home.chmod(0o777)
        expected = f"CODEX_HOME {home} has mode 0777: other users can create and replace files in it"
    else:
        if os.geteuid() != 0:
            pytest.skip("giving a directory to another user needs root")
        os.chown(home, NOBODY, NOBODY)
        expected = f"CODEX_HOME {home} is owned by uid {NOBODY}, not by you"
    code, out, err = await codex("login", "--issuer", dev_issuer.issuer_url, "--port", "0", env=env_for(home))
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and expected in warnings[0], err
    assert err.index("warning: ") < err.index("Starting local login server")  # said before the sign-in

    code, out, err = await codex("login", "doctor", "--issuer", dev_issuer.issuer_url, env=env_for(home))
    assert code == 1, out + err
    (line,) = [line for line in out.splitlines() if " codex_home " in line]
    assert line.startswith("FAIL") and expected in " ".join(out.split()), out
