"""`codex login bundle [-o PATH]`: one file support can ask for, with nothing secret in it.

The archive (zip, or tar.gz when PATH ends in .tar.gz / .tgz) holds:

  README.txt              what this is, and notes (e.g. "no codex-login.log at …")
  manifest.json           created_at, version, members, notes, runs included
  environment.json        codexlogin and library versions, Python, OS
  settings.json           the settings that shape a login, from an allow-list (issuer sanitised)
  doctor.json, doctor.txt `codex login doctor` run now (its checks are logged under this run)
  codex-login.log.txt     the last N runs (default 20) of codex-login.log as action trees
  codex-login.log.jsonl   the same runs, one JSON tree per line
  codex-login.summary.txt the same runs, one line each

The log members come from codexlogin.logview, which scrubs every field it shows, so a secret left
in the log by an older or foreign writer does not reach the bundle. Never included: auth.json,
tokens, API keys, the cancel key, keyring contents, raw log lines. The log is read before this
run writes to it, so the bundle's own run is not in it.

The archive is built in memory and written atomically with mode 0600
(storage.write_private_file_atomically); its path is printed on stdout, and on stderr what to do
with it (WHAT_TO_DO). `-o` never creates directories: a missing parent is a usage error. Exit
codes: 0 written (even when doctor checks failed or there is no log), 2 usage error (a missing
directory too), 7 the file cannot be written.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import sys
import tarfile
import time
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codexlogin import __version__
from codexlogin.redact import sanitize_url, scrub_fields, scrub_text

if TYPE_CHECKING:
    from collections.abc import Callable

    from codexlogin.config import Settings
    from codexlogin.support.doctor import Report

DEFAULT_LAST = 20
LIBRARIES = ("trio", "httpx", "httpcore", "hypercorn", "h11", "cyclopts", "eliot", "rich", "keyring")
LOG_MEMBERS = {
    "tree": "codex-login.log.txt",
    "json": "codex-login.log.jsonl",
    "summary": "codex-login.summary.txt",
}


@dataclass
class LogSnapshot:
    """The rendered last-N runs of codex-login.log, or why there are none."""

    members: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    runs: int = 0


def default_name(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"codex-login-support-{now.strftime('%Y%m%dT%H%M%SZ')}.zip"


def archive_kind(path: Path) -> str:
    name = path.name.lower()
    return "tar.gz" if name.endswith((".tar.gz", ".tgz")) else "zip"


#: What the command says after writing the file (stderr; the path itself goes to stdout).
WHAT_TO_DO = "send this file to support; it holds no credentials (no auth.json, tokens, API keys or keyring contents)"


def resolve_output(output: Path | None, now: datetime | None = None, *, force: bool = False) -> Path:
    """`-o PATH` made absolute (a directory gets the default name inside), else the default in cwd.

    A missing parent directory is a usage error (exit 2): the bundle never creates directories.
    An existing file is a usage error too unless `force`: a bundle never replaces a file unasked.
    """
    from codexlogin.errors import UsageError

    if output is None:
        output = Path.cwd() / default_name(now)
    else:
        output = output.expanduser().absolute()
        if not output.is_symlink() and output.is_dir():
            output = output / default_name(now)
        elif not output.parent.exists() and not output.parent.is_symlink():
            raise UsageError(f"-o {output}: the directory {output.parent} does not exist; create it first or choose another path")
    refuse_non_regular_target(output)
    if not force:
        refuse_existing_file(output)
    return output


def refuse_existing_file(path: Path) -> None:
    """UsageError (exit 2) when `path` exists: replacing it takes --force."""
    from codexlogin.errors import UsageError

    if os.path.lexists(path):
        raise UsageError(
            f"refusing to replace {path}: the file exists; nothing was written. Pass --force to replace it, or choose another -o"
        )


def refuse_non_regular_target(path: Path) -> None:
    """UsageError (exit 2) when `path` exists and is not a regular file: the atomic write would
    replace a symlink, device node, FIFO or socket (e.g. -o /dev/sda, a planted link)."""
    import stat

    from codexlogin.errors import UsageError

    try:
        mode = os.lstat(path).st_mode
    except OSError:  # absent, or its directory is unusable: the write itself reports that (exit 7)
        return
    if not stat.S_ISREG(mode):
        kind = (
            "a symbolic link"
            if stat.S_ISLNK(mode)
            else "a FIFO"
            if stat.S_ISFIFO(mode)
            else "a device node"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "not a regular file"
        )
        raise UsageError(
            f"refusing to write the bundle to {path}: it is {kind}; nothing was replaced. Pass -o with a regular file or a directory"
        )


def snapshot_log(log_file: Path, last: int) -> LogSnapshot:
    """Render the last `last` runs of `log_file` (and its rotated predecessor) three ways."""
    from codexlogin.diagnostics.rotation import log_files_in_order, open_text
    from codexlogin.logview.render import render
    from codexlogin.logview.select import Options

    snapshot = LogSnapshot()
    files = log_files_in_order(log_file) or [log_file]
    for mode, member in LOG_MEMBERS.items():
        out = io.StringIO()
        try:
            with contextlib.ExitStack() as stack:
                streams = [stack.enter_context(open_text(path)) for path in files]
                stats = render(streams, out, Options(mode=mode, last=last))
        except FileNotFoundError:
            snapshot.notes.append(f"no codex-login.log at {log_file} (no login has run with this log directory)")
            return snapshot
        except OSError as exc:
            snapshot.notes.append(f"cannot read {log_file}: {exc.strerror or exc}")
            return snapshot
        snapshot.members[member] = out.getvalue()
        snapshot.runs = stats.runs
        skipped = stats.skipped
    note = f"codex-login.log: the last {snapshot.runs} run{'s' if snapshot.runs != 1 else ''} (at most {last})"
    if skipped:
        note += f"; {skipped} line{'s' if skipped != 1 else ''} that are not eliot JSON were left out"
    snapshot.notes.append(note)
    return snapshot


def environment_info() -> dict[str, Any]:
    from importlib import metadata

    libraries: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            libraries[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            libraries[name] = None
    return {
        "codexlogin": __version__,
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "executable": sys.executable,
        "os": platform.system(),
        "os_release": platform.release(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "libraries": libraries,
    }


def settings_info(settings: Settings) -> dict[str, Any]:
    """An allow-list of settings (a new secret setting can never slip in), issuer sanitised."""
    from codexlogin.oauth.tls import ca_source
    from codexlogin.support.doctor import proxy_env

    info: dict[str, Any] = {
        "issuer": sanitize_url(settings.issuer),
        "client_id": settings.client_id,
        "port": settings.port,
        "no_browser": settings.no_browser,
        "timeout": settings.timeout,
        "exchange_timeout": settings.exchange_timeout,
        "codex_home": str(settings.codex_home),
        "log_dir": str(settings.resolved_log_dir),
        "device_code_path": settings.device_code_path,
        "cli_auth_credentials_store": settings.cli_auth_credentials_store,
        "forced_login_method": settings.forced_login_method,
        "forced_chatgpt_workspace_id": list(settings.forced_chatgpt_workspace_id),
        # Which CODEX_LOGIN_* variables are set (names only), the proxy and CA environment.
        "environment_overrides": sorted(name for name in os.environ if name.startswith("CODEX_LOGIN_")),
        "proxy_env": proxy_env(os.environ),
        "ca_bundle": "=".join(ca_source(os.environ) or ()) or None,
    }
    if settings.cli_auth_credentials_store != "file":
        from codexlogin.credentials.keyring import backend_name as keyring_backend_name

        info["keyring_backend"] = keyring_backend_name()
    scrubbed = scrub_fields(info)
    return scrubbed if isinstance(scrubbed, dict) else {}


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False) + "\n"


def build_members(
    settings: Settings, snapshot: LogSnapshot, report: Any, created: datetime, doctor_text: Callable[[Report], str]
) -> dict[str, str]:
    """Every member's name and text, in archive order; `doctor_text` writes doctor.txt (the command
    line's text form of a report, cli.doctor_text: support does not format for the terminal)."""
    from codexlogin.support.doctor import Check, Report

    doctor_json = scrub_fields(report.to_json())
    assert isinstance(doctor_json, dict)  # scrub_fields turns a dict into a dict
    members: dict[str, str] = {
        "environment.json": _json(environment_info()),
        "settings.json": _json(settings_info(settings)),
        "doctor.json": _json(doctor_json),
        "doctor.txt": doctor_text(Report([Check(**check) for check in doctor_json["checks"]])),
        **snapshot.members,
    }
    names = ["README.txt", "manifest.json", *members]
    notes = [scrub_text(note) for note in snapshot.notes]
    manifest = {
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "codexlogin": __version__,
        "members": names,
        "log_runs": snapshot.runs,
        "doctor_ok": bool(doctor_json.get("ok")),
        "notes": notes,
    }
    readme = (
        "codex login support bundle\n"
        "==========================\n\n"
        f"Created {manifest['created_at']} by codexlogin {__version__} (`codex login bundle`).\n"
        "It holds no credentials: no auth.json, tokens, API keys or keyring contents, and the\n"
        "log excerpts are scrubbed of secrets.\n\n"
        "Members:\n" + "".join(f"  {name}\n" for name in names) + "\nNotes:\n" + "".join(f"  - {note}\n" for note in notes)
    )
    return {"README.txt": readme, "manifest.json": _json(manifest), **members}


def archive_bytes(members: dict[str, str], kind: str, created: datetime) -> bytes:
    """A zip or tar.gz of `members`, each member mode 0600, dated `created`."""
    buffer = io.BytesIO()
    stamp = created.timestamp()
    if kind == "tar.gz":
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for name, text in members.items():
                data = text.encode("utf-8")
                tar_info = tarfile.TarInfo(name)
                tar_info.size, tar_info.mtime, tar_info.mode = len(data), int(stamp), 0o600
                archive.addfile(tar_info, io.BytesIO(data))
    else:
        date_time = time.gmtime(stamp)[:6]
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, text in members.items():
                zip_info = zipfile.ZipInfo(name, date_time=date_time)
                zip_info.compress_type = zipfile.ZIP_DEFLATED
                zip_info.external_attr = (0o100600 & 0xFFFF) << 16
                archive.writestr(zip_info, text.encode("utf-8"))
    return buffer.getvalue()


def write_bundle(
    settings: Settings,
    path: Path,
    report: Report,
    last: int = DEFAULT_LAST,
    *,
    snapshot: LogSnapshot | None = None,
    doctor_text: Callable[[Report], str],
    force: bool = False,
) -> Path:
    """Build the archive with the doctor checks' `report` (doctor.txt written by `doctor_text`) and
    write it atomically (0600); an existing file is replaced only when `force`. Inside a flow."""
    from codexlogin import diagnostics
    from codexlogin.credentials.files import write_private_file_atomically

    snapshot = snapshot if snapshot is not None else snapshot_log(settings.log_file, last)
    created = datetime.now(UTC)
    kind = archive_kind(path)
    members = build_members(settings, snapshot, report, created, doctor_text)
    with diagnostics.schema.BUNDLE_WRITE(path=str(path), format=kind, members=list(members)) as action:
        payload = archive_bytes(members, kind, created)
        refuse_non_regular_target(path)  # again: the doctor checks took a while
        if not force:
            refuse_existing_file(path)
        try:  # without --force: a file that appeared since the checks is not replaced either
            write_private_file_atomically(path, payload, replace=force)
        except FileExistsError:
            refuse_existing_file(path)
            raise
        action.add_success_fields(size=len(payload), log_runs=snapshot.runs)
    return path
