"""Settings, resolved as defaults < $CODEX_HOME/config.toml < environment < `-c key=value` < flags.

Environment variables are `CODEX_LOGIN_<KEY>` (e.g. CODEX_LOGIN_ISSUER), plus CODEX_HOME itself.
Pure and import-light: no I/O beyond reading config.toml.
"""

from __future__ import annotations

import os

from codexlogin import DEFAULT_CLIENT_ID, DEFAULT_ISSUER, DEFAULT_PORT
from codexlogin.errors import UsageError
from codexlogin.pathtext import expanded_path_text, joined, path_text

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up: `codex login status`)
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from dataclasses import dataclass as record  # what a type checker sees; codexlogin.record at run time
    from pathlib import Path
    from typing import Any, ClassVar

    from codexlogin.otelconfig import OtelSettings
else:
    from codexlogin.record import record  # dataclass(frozen=True) without its start-up cost

ENV_PREFIX = "CODEX_LOGIN_"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
CREDENTIAL_STORES = ("file", "keyring", "auto", "ephemeral")
DIALECTS = ("auto", "openai", "standard")
REDIRECT_HOSTS = ("127.0.0.1", "localhost", "[::1]")
LOGIN_METHODS = ("chatgpt", "api")
DEFAULT_DEVICE_CODE_PATH = "/oauth/device/code"


@record(frozen=True)
class Settings:
    """The effective settings of one command: an immutable record (codexlogin.record, as the frozen
    dataclass it was: `dataclasses.replace(settings, issuer=…)` makes a changed copy). For
    `codex login status`'s start-up, `codex_home` may be given as the text load_settings made
    (pathtext) and becomes a Path on first read; the status path reads `home_text` and
    `auth_file_text` instead."""

    codex_home: Path  # given as a Path or its text (see __init__)
    issuer: str = DEFAULT_ISSUER
    client_id: str = DEFAULT_CLIENT_ID
    port: int = DEFAULT_PORT
    no_browser: bool = False
    timeout: float = 600.0  # seconds waiting for the browser; 0 = no limit
    exchange_timeout: float = 30.0  # seconds for one request to the issuer
    log_dir: Path | None = None  # None → $CODEX_HOME/log
    device_code_path: str = DEFAULT_DEVICE_CODE_PATH
    forced_login_method: str | None = None
    forced_chatgpt_workspace_id: tuple[str, ...] = ()
    cli_auth_credentials_store: str = "file"
    dialect: str = "auto"  # auto | openai | standard (oauth.dialects)
    redirect_host: str | None = None  # None: the dialect's (127.0.0.1 for both: RFC 8252 §7.3)
    fallback_port: int | None = None  # None: the dialect's (openai: 1457 when port is 1455)
    ignored_overrides: tuple[str, ...] = ()  # `-c` keys that are other Codex settings (not settable)
    # Where each setting that is not a default came from: (key, source_label(...)) pairs, so a
    # command can tell an explicit `--issuer` from the default (oauth.issuer.issuer_conflict).
    origins: tuple[tuple[str, str], ...] = ()
    # config.toml's [otel] table (codexlogin.otelconfig), None when absent or exporter = "none".
    otel: OtelSettings | None = None
    if TYPE_CHECKING:
        __record_fields__: ClassVar[tuple[str, ...]]  # set by codexlogin.record

    def __init__(
        self,
        codex_home: Path | str,
        issuer: str = DEFAULT_ISSUER,
        client_id: str = DEFAULT_CLIENT_ID,
        port: int = DEFAULT_PORT,
        no_browser: bool = False,
        timeout: float = 600.0,
        exchange_timeout: float = 30.0,
        log_dir: Path | None = None,
        device_code_path: str = DEFAULT_DEVICE_CODE_PATH,
        forced_login_method: str | None = None,
        forced_chatgpt_workspace_id: tuple[str, ...] = (),
        cli_auth_credentials_store: str = "file",
        dialect: str = "auto",
        redirect_host: str | None = None,
        fallback_port: int | None = None,
        ignored_overrides: tuple[str, ...] = (),
        origins: tuple[tuple[str, str], ...] = (),
        otel: OtelSettings | None = None,
    ) -> None:
        # The record's own __init__ but for codex_home: text is kept as `_home_text` (no pathlib)
        # and __getattr__ makes the Path when codex_home is first read.
        if isinstance(codex_home, str):
            object.__setattr__(self, "_home_text", path_text(codex_home))
        else:
            object.__setattr__(self, "codex_home", codex_home)
        values = (
            issuer,
            client_id,
            port,
            no_browser,
            timeout,
            exchange_timeout,
            log_dir,
            device_code_path,
            forced_login_method,
            forced_chatgpt_workspace_id,
            cli_auth_credentials_store,
            dialect,
            redirect_host,
            fallback_port,
            ignored_overrides,
            origins,
            otel,
        )
        for name, value in zip(self.__record_fields__[1:], values, strict=True):
            object.__setattr__(self, name, value)

    if not TYPE_CHECKING:  # hidden from type checkers, which would let any attribute through it

        def __getattr__(self, name: str) -> object:
            if name != "codex_home" or "_home_text" not in self.__dict__:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            from pathlib import Path

            home = Path(self.__dict__["_home_text"])
            object.__setattr__(self, "codex_home", home)
            return home

    @property
    def home_text(self) -> str:
        """`str(self.codex_home)`, without loading pathlib."""
        text: str | None = self.__dict__.get("_home_text")
        return text if text is not None else str(self.codex_home)

    @property
    def auth_file_text(self) -> str:
        """`str(self.auth_file)`, without loading pathlib."""
        return joined(self.home_text, "auth.json")

    def source_of(self, key: str) -> str | None:
        """Where `key` was set (`--issuer`, `env CODEX_LOGIN_ISSUER`, `-c issuer`, `config.toml`),
        or None when it is the default."""
        return next((source for name, source in self.origins if name == key), None)

    @property
    def resolved_log_dir(self) -> Path:
        return self.log_dir if self.log_dir is not None else self.codex_home / "log"

    @property
    def log_file(self) -> Path:
        return self.resolved_log_dir / "codex-login.log"

    @property
    def auth_file(self) -> Path:
        return self.codex_home / "auth.json"


def _to_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError
    return int(value)


def _to_optional_int(value: object) -> int | None:
    return None if str(value) == "" else _to_int(value)


def _to_float(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError
    return float(value)


def _to_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError


def _to_optional_path(value: object) -> Path | None:
    if not str(value):
        return None
    from pathlib import Path  # only for a log_dir given

    return Path(str(value)).expanduser()


def _to_words(value: object) -> tuple[str, ...]:
    """A TOML list, or one comma-separated string (env, `-c`)."""
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    return tuple(str(item).strip() for item in items if str(item).strip())


def _to_optional_str(value: object) -> str | None:
    return str(value) if str(value) else None


#: Each setting a user may set, and how a raw value (TOML, env, `-c`, flag) becomes its type.
CONVERTERS: dict[str, Callable[[object], object]] = {
    "issuer": str,
    "client_id": str,
    "port": _to_int,
    "no_browser": _to_bool,
    "timeout": _to_float,
    "exchange_timeout": _to_float,
    "log_dir": _to_optional_path,
    "device_code_path": str,
    "forced_login_method": _to_optional_str,
    "forced_chatgpt_workspace_id": _to_words,
    "cli_auth_credentials_store": str,
    "dialect": str,
    "redirect_host": _to_optional_str,
    "fallback_port": _to_optional_int,
}
_KEYS = CONVERTERS  # the settable keys


def default_codex_home(environ: Mapping[str, str]) -> Path:
    from pathlib import Path

    return Path(codex_home_text(environ))


def codex_home_text(environ: Mapping[str, str]) -> str:
    """`str(default_codex_home(environ))`, without loading pathlib."""
    return expanded_path_text(environ.get("CODEX_HOME") or "~/.codex")


def _coerce(key: str, value: object, source: str) -> object:
    """Turn a raw value from TOML, env or -c into the field's type, or raise a one-line UsageError."""
    try:
        return CONVERTERS[key](value)
    except (TypeError, ValueError, OverflowError):
        raise UsageError(f"invalid value for {key} from {source}: {value!r}") from None


def override_value(text: str) -> object:
    """A `-c` value as Codex CLI 0.171 reads it: TOML (`"chatgpt"`, `["a","b"]`, `1455`, `true`),
    else the text itself (`chatgpt`, `http://…`)."""
    text = text.strip()
    if not text:
        return text
    import tomllib  # only when a -c is given (the fast lane takes none)

    try:
        return tomllib.loads(f"value = {text}")["value"]
    except (tomllib.TOMLDecodeError, RecursionError):
        return text


def parse_overrides(pairs: list[str] | tuple[str, ...]) -> tuple[dict[str, object], tuple[str, ...]]:
    """`-c key=value` pairs: (the login's own settings, the keys that are not login settings).

    Keys may use '-' or '_'; values are TOML with a literal fallback (`override_value`). Codex's
    other settings (`-c model=o3`) are accepted and left to the rest of Codex, as 0.171's scripts
    pass them; the CLI mentions them once.
    """
    result: dict[str, object] = {}
    ignored: list[str] = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise UsageError(f"-c expects key=value, got {pair!r}")
        if key in _KEYS:
            result[key] = override_value(value)
        else:
            ignored.append(key)
    return result, tuple(ignored)


#: config.toml is read only up to this size (Codex's own settings are a few KB).
MAX_CONFIG_BYTES = 4 * 1024 * 1024


def special_file_kind(mode: int) -> str:
    """What a non-regular file is, for a one-line message."""
    import stat

    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    return "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket or other special file"


def refuse_special_file(path: Path | str) -> None:
    """OSError(EINVAL) saying what `path` is when it is a FIFO, device or socket (reading one would
    wait for a writer or never end); nothing for a regular file or a directory. A missing path
    raises FileNotFoundError."""
    import errno
    import stat

    mode = os.stat(path).st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise OSError(errno.EINVAL, f"{special_file_kind(mode)}, not a regular file", str(path))


def read_regular_bytes(path: Path | str, *, limit: int | None = None) -> bytes:
    """The bytes of `path` (at most `limit` + 1 of them), which must be a regular file.

    Opened with O_NONBLOCK, so a FIFO never waits for a writer. FileNotFoundError when missing;
    IsADirectoryError for a directory; OSError(EINVAL) whose strerror says what it is (e.g. "a FIFO,
    not a regular file") for a FIFO, a device (/dev/zero would never end) or a socket.
    """
    import errno
    import stat

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "a directory, not a regular file", str(path))
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, f"{special_file_kind(mode)}, not a regular file", str(path))
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as handle:
        return handle.read() if limit is None else handle.read(limit + 1)


def _read_config_toml(path: str) -> dict[str, object]:
    """config.toml as a table; {} when there is none. A FIFO, device or directory, a file over
    MAX_CONFIG_BYTES, invalid or too deeply nested TOML: a one-line UsageError (exit 2)."""
    try:
        raw = read_regular_bytes(path, limit=MAX_CONFIG_BYTES)
    except (FileNotFoundError, NotADirectoryError):  # also: CODEX_HOME under a regular file
        return {}
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise UsageError(f"{path} is larger than {MAX_CONFIG_BYTES // (1024 * 1024)} MiB; is it the right file?")
    import tomllib  # only when config.toml exists: its regexes cost ~3 ms at start-up

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses per nesting level: 5000 nested arrays or tables
        raise UsageError(f"{path} is not valid TOML: nested too deeply") from None
    # config.toml is shared with the rest of Codex: unknown keys belong to others (the caller skips them).
    return data


def source_label(layer: str, key: str) -> str:
    """Where a setting came from, as `codex login config` shows it."""
    if layer == "environment":
        return f"env {ENV_PREFIX}{key.upper()}"
    if layer == "-c":
        return f"-c {key}"
    if layer == "flags":
        return f"--{key.replace('_', '-')}"
    return "config.toml"


def load_settings(
    flags: Mapping[str, object] | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    environ: Mapping[str, str] | None = None,
    *,
    sources: dict[str, str] | None = None,
) -> Settings:
    """The effective settings. `sources`, when given, is filled with where each setting that is not
    a default came from (`source_label`), and `codex_home` with `env CODEX_HOME` when it is set."""
    environ = os.environ if environ is None else environ
    codex_home = codex_home_text(environ)
    config_file = joined(codex_home, "config.toml")
    login_overrides, ignored = parse_overrides(overrides)
    config_toml = _read_config_toml(config_file)
    layers: list[tuple[str, Mapping[str, object]]] = [
        (config_file, {key: value for key, value in config_toml.items() if key in _KEYS}),
        (
            "environment",
            {key: environ[ENV_PREFIX + key.upper()] for key in _KEYS if environ.get(ENV_PREFIX + key.upper()) not in (None, "")},
        ),
        ("-c", login_overrides),
        ("flags", {k: v for k, v in (flags or {}).items() if v is not None}),
    ]
    values: dict[str, Any] = {}  # each value _coerce'd to its own field's type, as Settings declares it
    origins: dict[str, str] = {}
    for source, layer in layers:
        for key, value in layer.items():
            values[key] = _coerce(key, value, source)
            origins[key] = source_label(source, key)
    if sources is not None:
        sources.update(origins)
        if environ.get("CODEX_HOME"):
            sources["codex_home"] = "env CODEX_HOME"
    otel = None
    if config_toml.get("otel") is not None:  # otelconfig loads only for an [otel] table
        from pathlib import Path

        from codexlogin.otelconfig import parse_otel

        otel = parse_otel(config_toml["otel"], config_file, Path(codex_home))
    if otel is not None and sources is not None:
        sources["otel"] = "config.toml [otel]"
    settings = Settings(codex_home, **values, ignored_overrides=ignored, origins=tuple(origins.items()), otel=otel)
    validate(settings)
    return settings


def _unsafe_character(text: str) -> str | None:
    """The first whitespace, control, format (bidi U+202E, zero-width) or otherwise unprintable
    character in `text`, or None. urlsplit silently drops tabs and newlines, and keeps the rest."""
    for char in text:
        if char.isspace() or not char.isprintable():
            return char
    return None


def _finite(number: float) -> bool:
    """math.isfinite, without loading math at start-up: NaN and ±inf give NaN here."""
    return number - number == 0


def validate(settings: Settings) -> None:
    if settings.issuer != DEFAULT_ISSUER:  # the default passes these checks: urllib.parse loads for another
        validate_issuer_url(settings.issuer)
    if not settings.client_id.strip():
        raise UsageError("client id must not be empty")
    if not 0 <= settings.port <= 65535:
        raise UsageError(f"port must be between 0 and 65535, got {settings.port}")
    if settings.fallback_port is not None and not 1 <= settings.fallback_port <= 65535:
        raise UsageError(f"fallback_port must be between 1 and 65535, got {settings.fallback_port}")
    if not (_finite(settings.timeout) and _finite(settings.exchange_timeout)):
        raise UsageError("timeouts must be finite numbers of seconds (timeout 0 means no limit)")
    if settings.timeout < 0 or settings.exchange_timeout <= 0:
        raise UsageError("timeouts must be positive (timeout 0 means no limit)")
    if settings.cli_auth_credentials_store not in CREDENTIAL_STORES:
        raise UsageError(
            f"cli_auth_credentials_store must be one of {', '.join(CREDENTIAL_STORES)},"
            f" got {settings.cli_auth_credentials_store!r}"
        )
    if settings.dialect not in DIALECTS:
        raise UsageError(f"dialect must be one of {', '.join(DIALECTS)}, got {settings.dialect!r}")
    if settings.redirect_host not in (None, *REDIRECT_HOSTS):
        raise UsageError(f"redirect_host must be one of {', '.join(REDIRECT_HOSTS)}, got {settings.redirect_host!r}")
    if settings.forced_login_method not in (None, *LOGIN_METHODS):
        raise UsageError(f"forced_login_method must be one of {', '.join(LOGIN_METHODS)}, got {settings.forced_login_method!r}")


def validate_issuer_url(issuer: str) -> None:
    """A one-line UsageError unless `issuer` is an http(s) URL a login may go to."""
    bad = _unsafe_character(issuer)
    if bad is not None:
        raise UsageError(f"issuer URL must not contain spaces or control characters (U+{ord(bad):04X} found): {issuer!a}")
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(issuer)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port outside 0..65535 or not a number
    except ValueError:
        raise UsageError(f"issuer is not a valid URL: {issuer!r}") from None
    if parts.username or parts.password:  # said first, and the URL not shown: it holds a password
        raise UsageError("issuer URL must not contain a user name or password")
    if parts.scheme not in ("http", "https") or not hostname or parts.query or parts.fragment:
        shown = parts._replace(query="…" if parts.query else "", fragment="…" if parts.fragment else "").geturl()
        raise UsageError(f"issuer must be an http(s) URL without query or fragment, got {shown!r}")
    if parts.scheme == "http" and hostname not in LOOPBACK_HOSTS:
        raise UsageError("issuer must use https (plain http is only allowed for a loopback issuer)")
