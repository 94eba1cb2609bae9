"""auth.json under $CODEX_HOME: read, atomic 0600 write, removal.

The write goes to a temp file in the same directory (created 0600), is fsynced, then replaces the
old file, so a crash or a full disk leaves the previous auth.json as it was.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from codexlogin.credentials.model import AuthDotJson
from codexlogin.errors import ExitCode, StorageFailed


class InvalidAuthData(StorageFailed):
    """The stored credentials were read but their content is not usable auth.json.

    A StorageFailed, so every `except StorageFailed` keeps treating it as "stored but unreadable",
    but with exit code 8 (present but unusable): exit 7 is for I/O failures (EACCES, EIO, a
    directory where auth.json should be), the stored content is fine or unknown there.
    """

    exit_code = ExitCode.CREDENTIALS_UNUSABLE
    outcome = "credentials_unusable"


def write_private_file_atomically(path: Path, payload: bytes) -> None:
    """Replace `path` with `payload`, mode 0600; on any failure the old file stays and no temp file remains."""
    import tempfile  # writing only: reading (`codex login status`) must start fast

    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise StorageFailed(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:  # mkstemp already created it 0600
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException as exc:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise StorageFailed(f"cannot write {path}: {exc.strerror or exc}") from None
        raise
    try:  # make the rename durable; not all filesystems allow fsync on a directory
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def save_auth(auth_file: Path, auth: AuthDotJson) -> None:
    payload = json.dumps(auth.to_json(), indent=2).encode("utf-8") + b"\n"
    write_private_file_atomically(auth_file, payload)


def load_auth(auth_file: Path) -> AuthDotJson | None:
    """None when there is no auth.json; StorageFailed when it cannot be read (I/O), InvalidAuthData
    (a StorageFailed with exit code 8) when what was read is not valid auth.json."""
    from codexlogin.config import refuse_special_file

    try:
        refuse_special_file(auth_file)  # a FIFO or /dev/zero would hang or never end
        raw = auth_file.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StorageFailed(f"cannot read {auth_file}: {exc.strerror or exc}") from None
    try:
        return AuthDotJson.from_json(json.loads(raw))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidAuthData(f"{auth_file} is not valid auth.json: {exc}") from None
    except RecursionError:  # json.loads on deeply nested arrays/objects
        raise InvalidAuthData(f"{auth_file} is not valid auth.json: nested too deeply") from None


def delete_auth(auth_file: Path) -> bool:
    try:
        auth_file.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StorageFailed(f"cannot remove {auth_file}: {exc.strerror or exc}") from None
    return True
