"""auth.json under $CODEX_HOME: read, atomic 0600 write, removal, owner/mode checks.

The write goes to a temp file in the same directory (created 0600), is fsynced, then replaces the
old file, so a crash or a full disk leaves the previous auth.json as it was.
"""

from __future__ import annotations

import os
import stat

from codexlogin.errors import ExitCode, StorageFailed

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up: `codex login status`)
if TYPE_CHECKING:
    from pathlib import Path

    from codexlogin.credentials.model import AuthDotJson


class InvalidAuthData(StorageFailed):
    """The stored credentials were read but their content is not usable auth.json.

    A StorageFailed, so every `except StorageFailed` keeps treating it as "stored but unreadable",
    but with exit code 8 (present but unusable): exit 7 is for I/O failures (EACCES, EIO, a
    directory where auth.json should be), the stored content is fine or unknown there.
    """

    exit_code = ExitCode.CREDENTIALS_UNUSABLE
    outcome = "credentials_unusable"


def temp_prefix(path: Path) -> str:
    return f".{path.name}."


TEMP_SUFFIX = ".tmp"


def remove_stale_temp_files(path: Path) -> list[str]:
    """Remove temp files of ours for `path` (`.auth.json.*.tmp`) that a killed writer (kill -9
    between the write and the rename) left behind: they may hold tokens. Only our own name
    pattern, only regular files we own (never a symlink, FIFO or directory). Called under
    $CODEX_HOME/auth.lock, so no live writer of ours has one open. The names removed."""
    prefix, removed = temp_prefix(path), list[str]()
    try:
        names = os.listdir(path.parent)
    except OSError:
        return removed
    for name in names:
        if not (name.startswith(prefix) and name.endswith(TEMP_SUFFIX)) or len(name) <= len(prefix) + len(TEMP_SUFFIX):
            continue
        candidate = path.parent / name
        try:
            st = os.lstat(candidate)
            if stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid():
                os.unlink(candidate)
                removed.append(name)
        except OSError:
            pass
    return removed


def permission_problem(path: Path | str) -> tuple[str, str, str] | None:
    """("fail" | "warn", what is wrong, what to do) for an auth.json that others own or may read
    or write; None when it is ours and 0600 (or absent). Tokens in a file another user owns or
    may write could be planted (you would work in their account); readable ones can be stolen."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    mode = stat.S_IMODE(st.st_mode)
    if st.st_uid != os.geteuid():
        return (
            "fail",
            f"{path} is owned by uid {st.st_uid}, not by you (uid {os.geteuid()}): another user may have planted these credentials",
            f"remove it (rm {path}) and run `codex login`",
        )
    if mode & 0o022:
        return (
            "fail",
            f"{path} has mode {mode:04o}: other users may replace your credentials",
            f"chmod 600 {path}, then run `codex login` to replace credentials you did not store",
        )
    if mode & 0o077:
        return "warn", f"{path} has mode {mode:04o}: other users may read your tokens", f"chmod 600 {path}"
    return None


def probe_writable(directory: Path) -> None:
    """StorageFailed unless a file can be created in `directory` (made if missing): a real create
    and unlink, not `os.access`, so it also holds for root (a path under a regular file, a
    read-only mount). The probe is named like our temp files, so a kill -9 leaves nothing lasting."""
    probe = directory / f"{temp_prefix(directory / 'auth.json')}{os.getpid()}.{os.urandom(6).hex()}{TEMP_SUFFIX}"
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600))
        try:
            os.unlink(probe)
        except FileNotFoundError:  # a save in another login removed it as a stale temp file
            pass
    except OSError as exc:
        raise StorageFailed(
            f"cannot save credentials in {directory}: {exc.strerror or exc}; nothing was opened."
            " Fix CODEX_HOME (it must be a writable directory) and run `codex login` again"
        ) from None


def write_private_file_atomically(path: Path, payload: bytes, *, replace: bool = True) -> None:
    """Replace `path` with `payload`, mode 0600; on any failure the old file stays and no temp file remains.

    `replace=False`: never replace a file that exists by the time of the rename (a hard link of the
    finished temp file, which fails when the name is taken); FileExistsError then, nothing changed.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:  # a parent that is a file is FileExistsError here: not the name taken
        raise StorageFailed(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        write_file_atomically(path, payload, prefix=temp_prefix(path), replace=replace)  # mkstemp: 0600
    except OSError as exc:
        if isinstance(exc, FileExistsError) and not replace:
            raise
        raise StorageFailed(f"cannot write {path}: {exc.strerror or exc}") from None


def write_file_atomically(
    path: Path,
    payload: bytes,
    *,
    prefix: str,
    mode: int | None = None,
    owner: tuple[int, int] | None = None,
    replace: bool = True,
) -> None:
    """The one atomic write: a temp file (`prefix`…`.tmp`) beside `path`, written, given `mode` (else
    mkstemp's 0600) and, for root, `owner`, fsynced, then renamed over `path` (`replace=False`:
    linked, FileExistsError when the name is taken), and the rename made durable. On any failure
    `path` is as it was, no temp file remains and the OSError is raised for the caller to word."""
    import tempfile  # writing only: reading (`codex login status`) must start fast

    fd, tmp_name = tempfile.mkstemp(prefix=prefix, suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            if owner is not None and os.geteuid() == 0:
                os.fchown(handle.fileno(), *owner)
            os.fsync(handle.fileno())
        if replace:
            os.replace(tmp_name, path)
        else:
            _link_without_replacing(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise
    try:  # make the rename durable; not all filesystems allow fsync on a directory
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def _link_without_replacing(tmp_name: str, path: Path) -> None:
    """Give the finished temp file the name `path` only if nothing holds it (FileExistsError
    otherwise). A filesystem without hard links falls back to a check before the rename."""
    import errno

    try:
        os.link(tmp_name, path)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        if os.path.lexists(path):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path)) from None
        os.replace(tmp_name, path)
    else:
        os.unlink(tmp_name)


def save_auth(auth_file: Path, auth: AuthDotJson) -> None:
    """Write auth.json (under auth.lock: every writer holds it), first removing stale temp files."""
    import json

    payload = json.dumps(auth.to_json(), indent=2).encode("utf-8") + b"\n"
    remove_stale_temp_files(auth_file)
    write_private_file_atomically(auth_file, payload)


def load_auth(auth_file: Path | str) -> AuthDotJson | None:
    """None when there is no auth.json; StorageFailed when it cannot be read (I/O), InvalidAuthData
    (a StorageFailed with exit code 8) when what was read is not valid auth.json."""
    from codexlogin.config import refuse_special_file

    try:
        refuse_special_file(auth_file)  # a FIFO or /dev/zero would hang or never end
        from pathlib import Path  # only once the file is there: logged out, status never loads it

        raw = Path(auth_file).read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StorageFailed(f"cannot read {auth_file}: {exc.strerror or exc}") from None
    from codexlogin import safejson
    from codexlogin.credentials.model import AuthDotJson  # only for a file that exists

    try:  # bounded depth: a hostile file can neither crash the read nor the write back
        return AuthDotJson.from_json(safejson.loads(raw))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidAuthData(f"{auth_file} is not valid auth.json: {exc}") from None


def delete_auth(auth_file: Path) -> bool:
    try:
        auth_file.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StorageFailed(f"cannot remove {auth_file}: {exc.strerror or exc}") from None
    return True
