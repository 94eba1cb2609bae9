"""auth.json under $CODEX_HOME: read, atomic 0600 write, removal.

The write goes to a temp file in the same directory (created 0600), is fsynced, then replaces the
old file, so a crash or a full disk leaves the previous auth.json as it was.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from codexlogin.errors import ExitCode, StorageFailed


class InvalidAuthData(StorageFailed):
    """The stored credentials were read but their content is not usable auth.json.

    A StorageFailed, so every `except StorageFailed` keeps treating it as "stored but unreadable",
    but with exit code 8 (present but unusable): exit 7 is for I/O failures (EACCES, EIO, a
    directory where auth.json should be), the stored content is fine or unknown there.
    """

    exit_code = ExitCode.CREDENTIALS_UNUSABLE
    outcome = "credentials_unusable"


@dataclass(frozen=True, repr=False)
class TokenData:
    # Only access_token is required: RFC 6749 makes refresh tokens optional and a plain OAuth
    # server sends no id_token.
    id_token: str | None
    access_token: str
    refresh_token: str | None
    account_id: str | None = None

    def __repr__(self) -> str:
        return f"TokenData(account_id={self.account_id!r}, <tokens redacted>)"


@dataclass(frozen=True, repr=False)
class AuthDotJson:
    auth_mode: str  # "chatgpt" | "apikey"
    openai_api_key: str | None = None
    tokens: TokenData | None = None
    last_refresh: str | None = None

    def __repr__(self) -> str:
        return f"AuthDotJson(auth_mode={self.auth_mode!r}, <secrets redacted>)"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"auth_mode": self.auth_mode, "OPENAI_API_KEY": self.openai_api_key}
        if self.tokens is not None:
            data["tokens"] = {
                "id_token": self.tokens.id_token,
                "access_token": self.tokens.access_token,
                "refresh_token": self.tokens.refresh_token,
                "account_id": self.tokens.account_id,
            }
        if self.last_refresh is not None:
            data["last_refresh"] = self.last_refresh
        return data

    @classmethod
    def from_json(cls, data: object) -> AuthDotJson:
        if not isinstance(data, dict):
            raise ValueError("auth.json is not a JSON object")
        tokens = data.get("tokens")
        token_data = None
        if isinstance(tokens, dict):
            token_data = TokenData(
                id_token=_optional_str(tokens.get("id_token")),
                access_token=str(tokens.get("access_token") or ""),
                refresh_token=_optional_str(tokens.get("refresh_token")),
                account_id=_optional_str(tokens.get("account_id")),
            )
        api_key = data.get("OPENAI_API_KEY")
        mode = data.get("auth_mode") or ("chatgpt" if token_data else "apikey")
        return cls(
            auth_mode=str(mode),
            openai_api_key=api_key if isinstance(api_key, str) else None,
            tokens=token_data,
            last_refresh=data.get("last_refresh") if isinstance(data.get("last_refresh"), str) else None,
        )


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


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
    try:
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
