"""`codex login bundle`: what the archive holds, and that no secret ever does.

Rules: loopback only, port 0; the dev issuer over real HTTP in the test nursery; a real browser
login (harness) writes the log and auth.json first; a hard `trio.fail_after` on every I/O test;
the command runs in a worker thread (it calls trio.run) or as `python -m codexlogin login bundle`.
"""

from __future__ import annotations

import json
import os
import shlex
import stat
import sys
import tarfile
import zipfile
from functools import partial

import pytest
import trio
from harness import Run, approving_browser, make_settings, run_cli

from codexlogin.support import bundle as bundle_mod
from codexlogin.support import doctor

MEMBERS = [
    "README.txt",
    "manifest.json",
    "environment.json",
    "settings.json",
    "doctor.json",
    "doctor.txt",
    "codex-login.log.txt",
    "codex-login.log.jsonl",
    "codex-login.summary.txt",
]

FOREIGN_SECRETS = [
    "foreign-password-7q7q7q",
    "foreign-code-3k3k3k",
    "eyJhbGciOiJIUzI1NiJ9.eyJmb3JlaWduIjoxfQ.foreignsig",
    "sk-foreign0123456789abcdef",
    "foreign-bearer-5m5m5m",
    "foreign-cookie-8n8n8n",
    "foreign-userinfo-2p2p2p",
]


@pytest.fixture(autouse=True)
def _desktop(monkeypatch, tmp_path):
    monkeypatch.setenv("BROWSER", shlex.quote(sys.executable))
    monkeypatch.setenv("DISPLAY", ":0")
    for name in ("SSH_CONNECTION", "SSH_TTY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


async def logged_in(tmp_path, issuer_url):
    """A real browser login: auth.json holds real tokens, codex-login.log holds the run."""
    run = Run(make_settings(tmp_path, issuer_url))
    with trio.fail_after(30):
        await run(approving_browser)
    assert run.settings.auth_file.exists()
    return run.settings


async def make_bundle(tmp_path, issuer_url, capsys, **kwargs):
    kwargs.setdefault("issuer", issuer_url)
    kwargs.setdefault("log_dir", tmp_path / "log")
    kwargs.setdefault("config", ("port=0",))
    with trio.fail_after(30):
        code = await trio.to_thread.run_sync(partial(run_cli, "login", "bundle", **kwargs))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def read_members(path):
    if str(path).endswith((".tar.gz", ".tgz")):
        with tarfile.open(path, "r:gz") as archive:
            infos = archive.getmembers()
            modes = {info.name: info.mode for info in infos}
            return {info.name: archive.extractfile(info).read().decode() for info in infos}, modes
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        modes = {info.filename: (info.external_attr >> 16) & 0o777 for info in infos}
        return {info.filename: archive.read(info).decode() for info in infos}, modes


def plant_foreign_log(settings):
    """Lines an older or foreign writer left in codex-login.log, secrets in plain sight."""
    lines = [
        {
            "task_uuid": "f0000000-0000-0000-0000-000000000001",
            "task_level": [1],
            "timestamp": 1.0,
            "action_type": "foreign:login",
            "action_status": "started",
            "password": FOREIGN_SECRETS[0],
            "url": f"https://user:{FOREIGN_SECRETS[6]}@issuer.example/cb?code={FOREIGN_SECRETS[1]}&x=1",
        },
        {
            "task_uuid": "f0000000-0000-0000-0000-000000000001",
            "task_level": [2],
            "timestamp": 2.0,
            "message_type": "foreign:note",
            "text": f"got id_token {FOREIGN_SECRETS[2]} and key {FOREIGN_SECRETS[3]}",
            "headers": {"Authorization": f"Bearer {FOREIGN_SECRETS[4]}", "Cookie": f"session={FOREIGN_SECRETS[5]}"},
        },
        {
            "task_uuid": "f0000000-0000-0000-0000-000000000001",
            "task_level": [3],
            "timestamp": 3.0,
            "action_type": "foreign:login",
            "action_status": "failed",
            "exception": "ValueError",
            "reason": f"bad refresh_token={FOREIGN_SECRETS[0]}",
        },
    ]
    with settings.log_file.open("a") as handle:
        handle.write("this line is not JSON " + FOREIGN_SECRETS[0] + "\n")
        for line in lines:
            handle.write(json.dumps(line) + "\n")


async def test_bundle_contents_and_mode(tmp_path, dev_issuer, capsys):
    await logged_in(tmp_path, dev_issuer.issuer_url)
    code, out, err = await make_bundle(tmp_path, dev_issuer.issuer_url, capsys)
    assert code == 0, err
    path = out.strip()
    assert os.path.dirname(path) == str(tmp_path)
    assert os.path.basename(path).startswith("codex-login-support-") and path.endswith("Z.zip")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    members, modes = read_members(path)
    assert list(members) == MEMBERS
    assert set(modes.values()) == {0o600}

    manifest = json.loads(members["manifest.json"])
    assert manifest["members"] == MEMBERS and manifest["log_runs"] == 1
    assert "codex-login.log: the last 1 run (at most 20)" in manifest["notes"]
    environment = json.loads(members["environment.json"])
    assert environment["codexlogin"] == "0.1.0" and environment["python"] == sys.version.split()[0]
    assert environment["libraries"]["trio"] and environment["os"]
    settings = json.loads(members["settings.json"])
    assert settings["issuer"] == dev_issuer.issuer_url and settings["port"] == 0
    assert settings["cli_auth_credentials_store"] == "file" and settings["forced_login_method"] is None
    assert {"client_id", "timeout", "exchange_timeout", "log_dir", "forced_chatgpt_workspace_id"} <= set(settings)
    report = json.loads(members["doctor.json"])
    assert [c["name"] for c in report["checks"]] == list(doctor.CHECK_NAMES)
    assert report["ok"] is True and "All 10 checks passed." in members["doctor.txt"]
    assert "codex:command/1 => succeeded" in members["codex-login.log.txt"]
    assert "codex:token_exchange" in members["codex-login.log.txt"]
    assert json.loads(members["codex-login.log.jsonl"])["type"] == "codex:command"
    assert "login/browser" in members["codex-login.summary.txt"]
    # The bundle's own run (with its doctor checks) went to the log, after the snapshot.
    log = (tmp_path / "log" / "codex-login.log").read_text()
    assert '"command":"login bundle"' in log and "codex:doctor:issuer" in log and "codex:bundle:write" in log
    assert "login bundle" not in members["codex-login.log.txt"]


async def test_planted_secrets_never_reach_any_member(tmp_path, dev_issuer, capsys, monkeypatch):
    settings = await logged_in(tmp_path, dev_issuer.issuer_url)
    stored = json.loads(settings.auth_file.read_text())
    secrets = [stored["tokens"][key] for key in ("id_token", "access_token", "refresh_token") if stored["tokens"][key]]
    assert len(secrets) == 3
    cancel_key = (settings.codex_home / "login-cancel.key").read_text().strip()
    plant_foreign_log(settings)
    raw = settings.log_file.read_text()
    assert all(secret in raw for secret in FOREIGN_SECRETS)  # the test has teeth
    monkeypatch.setenv("HTTPS_PROXY", "http://proxyuser:proxy-pass-4r4r@127.0.0.1:9")
    code, out, err = await make_bundle(tmp_path, dev_issuer.issuer_url, capsys, output=tmp_path / "b.tar.gz")
    assert code == 0, err
    members, _ = read_members(out.strip())
    everything = "\n".join(members.values()) + out + err
    for secret in [*secrets, *FOREIGN_SECRETS, cancel_key, "proxy-pass-4r4r", "proxyuser"]:
        assert secret not in everything, f"leaked: {secret[:16]}…"
    assert "foreign:login" in members["codex-login.log.txt"]  # the foreign run is there, scrubbed
    assert "1 line that are not eliot JSON were left out" in members["manifest.json"]
    assert "HTTPS_PROXY=http://127.0.0.1:9" in members["settings.json"]


async def test_tar_gz_variant(tmp_path, dev_issuer, capsys):
    await logged_in(tmp_path, dev_issuer.issuer_url)
    target = tmp_path / "out" / "support.tar.gz"
    target.parent.mkdir()  # -o never creates directories
    code, out, err = await make_bundle(tmp_path, dev_issuer.issuer_url, capsys, output=target)
    assert code == 0 and out == f"{target}\n"
    assert err.endswith(
        "Support bundle written (mode 0600): send this file to support; it holds no credentials"
        " (no auth.json, tokens, API keys or keyring contents).\n"
    )
    assert tarfile.is_tarfile(target) and not zipfile.is_zipfile(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    members, modes = read_members(target)
    assert list(members) == MEMBERS and set(modes.values()) == {0o600}
    assert [p.name for p in target.parent.iterdir()] == ["support.tar.gz"]  # no temp file left


async def test_output_directory_gets_the_default_name(tmp_path, dev_issuer, capsys):
    target = tmp_path / "dir"
    target.mkdir()
    code, out, _ = await make_bundle(tmp_path, dev_issuer.issuer_url, capsys, output=target)
    assert code == 0 and out.startswith(f"{target}/codex-login-support-") and zipfile.is_zipfile(out.strip())


async def test_missing_log_still_writes_the_bundle_and_says_so(tmp_path, capsys):
    url = "http://127.0.0.1:1"  # nothing listens: the doctor output records the failure
    code, out, err = await make_bundle(tmp_path, url, capsys, log_dir=tmp_path / "empty-log")
    assert code == 0
    members, _ = read_members(out.strip())
    assert not any(name.startswith("codex-login.log") for name in members)
    note = f"no codex-login.log at {tmp_path / 'empty-log' / 'codex-login.log'}"
    assert note in members["README.txt"] and note in json.loads(members["manifest.json"])["notes"][0]
    assert f"note: {note}" in err
    report = json.loads(members["doctor.json"])
    assert report["ok"] is False and any(c["name"] == "issuer" and c["status"] == "fail" for c in report["checks"])


async def test_last_keeps_the_most_recent_runs(tmp_path, capsys):
    log = tmp_path / "log" / "codex-login.log"
    log.parent.mkdir()
    with log.open("w") as handle:
        for i in range(30):
            handle.write(
                json.dumps({"task_uuid": f"run-{i:02d}", "task_level": [1], "timestamp": float(i), "message_type": "codex:ping"})
                + "\n"
            )
    code, out, _ = await make_bundle(tmp_path, "http://127.0.0.1:1", capsys, last=5)
    members, _ = read_members(out.strip())
    assert code == 0 and json.loads(members["manifest.json"])["log_runs"] == 5
    shown = [json.loads(line)["task_uuid"] for line in members["codex-login.log.jsonl"].splitlines()]
    assert shown == [f"run-{i}" for i in range(25, 30)]


async def test_unwritable_output_exits_7_and_bad_last_exits_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, out, err = await make_bundle(tmp_path, "http://127.0.0.1:1", capsys, output=blocker / "b.zip")
    assert code == 7 and out == "" and err.startswith(f"error: cannot write {blocker / 'b.zip'}")
    code, out, err = await make_bundle(tmp_path, "http://127.0.0.1:1", capsys, last=0)
    assert code == 2 and err == "error: --last must be at least 1, got 0\n"


async def test_a_missing_output_directory_is_one_line_and_exit_2_and_is_not_created(tmp_path, capsys):
    target = tmp_path / "missing" / "deeper" / "b.zip"
    code, out, err = await make_bundle(tmp_path, "http://127.0.0.1:1", capsys, output=target)
    assert code == 2 and out == ""
    assert err == f"error: -o {target}: the directory {target.parent} does not exist; create it first or choose another path\n"
    assert not (tmp_path / "missing").exists()


async def test_as_a_subprocess(tmp_path, dev_issuer):
    env = {**os.environ, "CODEX_LOGIN_ISSUER": dev_issuer.issuer_url, "CODEX_LOGIN_PORT": "0"}
    with trio.fail_after(60):
        result = await trio.run_process(
            [sys.executable, "-m", "codexlogin", "login", "bundle", "-o", "x.tgz"],
            env=env,
            cwd=tmp_path,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == f"{tmp_path / 'x.tgz'}\n"
    members, _ = read_members(tmp_path / "x.tgz")
    assert list(members)[:2] == ["README.txt", "manifest.json"]


def test_archive_bytes_round_trip(tmp_path):
    from datetime import UTC, datetime

    created = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    for name in ("a.zip", "a.tar.gz"):
        path = tmp_path / name
        path.write_bytes(bundle_mod.archive_bytes({"a.txt": "é\n"}, bundle_mod.archive_kind(path), created))
        assert read_members(path) == ({"a.txt": "é\n"}, {"a.txt": 0o600})
    assert bundle_mod.default_name(created) == "codex-login-support-20261124T100000Z.zip"
    assert bundle_mod.archive_kind(bundle_mod.Path("x.TGZ")) == "tar.gz"


async def test_an_existing_file_is_refused_without_force_and_replaced_with_it(tmp_path):
    """`bundle -o FILE` onto a file that exists: one line, exit 2, the file untouched; --force
    replaces it (issue 22, point 4). Through the real CLI in a subprocess."""
    target = tmp_path / "notes.zip"
    target.write_bytes(b"my own notes, not a bundle\n")
    env = {
        **os.environ,
        "CODEX_LOGIN_ISSUER": "http://127.0.0.1:1",
        "CODEX_LOGIN_PORT": "0",
        "CODEX_HOME": str(tmp_path / "home"),
    }

    async def bundle(*extra):
        with trio.fail_after(60):
            return await trio.run_process(
                [sys.executable, "-m", "codexlogin", "login", "bundle", "-o", str(target), *extra],
                env=env,
                cwd=tmp_path,
                capture_stdout=True,
                capture_stderr=True,
                check=False,
            )

    refused = await bundle()
    assert refused.returncode == 2 and refused.stdout == b""
    assert refused.stderr.decode() == (
        f"error: refusing to replace {target}: the file exists; nothing was written. Pass --force to replace it, or choose another -o\n"
    )
    assert target.read_bytes() == b"my own notes, not a bundle\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left
    replaced = await bundle("--force")
    assert replaced.returncode == 0, replaced.stderr
    members, _ = read_members(target)
    assert list(members)[:2] == ["README.txt", "manifest.json"]


def test_a_file_that_appears_during_the_checks_is_not_replaced(tmp_path):
    """The last check is the rename itself: a hard link that fails when the name is taken."""
    from codexlogin.credentials.files import write_private_file_atomically

    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    target = tmp_path / "b.zip"
    target.write_bytes(b"theirs")
    with pytest.raises(FileExistsError):
        write_private_file_atomically(target, b"ours", replace=False)
    assert target.read_bytes() == b"theirs" and sorted(p.name for p in tmp_path.iterdir()) == ["b.zip"]
    write_private_file_atomically(tmp_path / "new.zip", b"ours", replace=False)
    assert (tmp_path / "new.zip").read_bytes() == b"ours" and stat.S_IMODE((tmp_path / "new.zip").stat().st_mode) == 0o600
