"""Under WSL the login opens the Windows browser (issue 23): `wslview`, then `powershell.exe
Start-Process`, then `cmd.exe /c start`, and says which was used. Through the real command, with fake
executables on PATH (each records its arguments; a working one opens the URL the way the dev issuer's
browser does) and WSL told by WSL_DISTRO_NAME."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import pytest
import trio

from codexlogin.wsl import opener_argv, running_under_wsl

CODEX = [sys.executable, "-m", "codexlogin"]


def fake(bin_dir: Path, name: str, *, works: bool, opens: bool = False) -> Path:
    """An executable `name` that records its arguments in `name`.args; `opens`: it also signs in
    at the URL it was given (its last argument)."""
    record = bin_dir / f"{name}.args"
    lines = ["#!/bin/sh", f'printf "%s\\n" "$@" > {shlex.quote(str(record))}']
    if opens:
        browse = f"{shlex.quote(sys.executable)} -m codexlogin.devissuer browse"
        lines.append(f'for last; do :; done; {browse} "$last" >/dev/null 2>&1 &')
    lines.append("exit 0" if works else "exit 1")
    path = bin_dir / name
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o755)
    return record


def env_for(tmp_path: Path, bin_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_LOGIN_", "SSH_", "BROWSER"))}
    env.update(CODEX_HOME=str(tmp_path / "codex-home"), PATH=str(bin_dir), WSL_DISTRO_NAME="Ubuntu", DISPLAY=":0")
    return env


async def codex_login(tmp_path, bin_dir, issuer_url, timeout: str):
    argv = [*CODEX, "login", "--issuer", issuer_url, "--port", "0", "--timeout", timeout]
    with trio.fail_after(60):
        result = await trio.run_process(
            argv, env=env_for(tmp_path, bin_dir), capture_stdout=True, capture_stderr=True, check=False
        )
    return result.returncode, result.stderr.decode()


async def test_wslview_opens_the_windows_browser_and_the_login_says_so(tmp_path, dev_issuer):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = fake(bin_dir, "wslview", works=True, opens=True)
    fake(bin_dir, "powershell.exe", works=True)
    code, err = await codex_login(tmp_path, bin_dir, dev_issuer.issuer_url, "30")
    assert code == 0, err
    assert "Opened the sign-in in the Windows browser with wslview." in err
    (given,) = record.read_text().splitlines()  # the address to open, as one argument
    assert given.startswith("http://") and given in err  # the one the banner shows too
    assert not (bin_dir / "powershell.exe.args").exists()


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        ({"wslview": False, "powershell.exe": True, "cmd.exe": True}, "powershell.exe"),
        ({"powershell.exe": False, "cmd.exe": True}, "cmd.exe"),
    ],
)
async def test_the_next_windows_opener_is_tried_and_named(tmp_path, dev_issuer, present, expected):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    records = {name: fake(bin_dir, name, works=works) for name, works in present.items()}
    code, err = await codex_login(tmp_path, bin_dir, dev_issuer.issuer_url, "2")
    assert code == 5, err  # nobody signed in: the fakes only record
    assert f"Opened the sign-in in the Windows browser with {expected}." in err
    said = records[expected].read_text()
    assert "http://" in said
    for name in present:
        if list(present).index(name) > list(present).index(expected):
            assert not records[name].exists(), f"{name} was tried after {expected} worked"


def test_wsl_detection_and_the_command_lines(tmp_path):
    version = tmp_path / "version"
    version.write_text("Linux version 5.15.90.1-microsoft-standard-WSL2")
    assert running_under_wsl({}, version) and running_under_wsl({"WSL_DISTRO_NAME": "Ubuntu"}, tmp_path / "missing")
    version.write_text("Linux version 6.1.0-13-amd64")
    assert not running_under_wsl({}, version)
    url = "https://auth.example/authorize?a=1&b='x'"
    assert opener_argv("wslview", "/bin/wslview", url) == ["/bin/wslview", url]
    assert opener_argv("powershell.exe", "p", url)[-1] == "Start-Process 'https://auth.example/authorize?a=1&b=''x'''"
    assert opener_argv("cmd.exe", "c", url)[-1] == "https://auth.example/authorize?a=1^&b='x'"


def test_doctor_finds_the_windows_opener_under_wsl(tmp_path):
    from codexlogin.config import load_settings
    from codexlogin.support.doctor import browser_result

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake(bin_dir, "powershell.exe", works=True)
    settings = load_settings({"issuer": "http://127.0.0.1:1", "port": 0})
    status, detail, _hint = browser_result(settings, {"PATH": str(bin_dir), "WSL_DISTRO_NAME": "Ubuntu"}, "linux", "")
    assert status == "ok" and "through powershell.exe" in detail
