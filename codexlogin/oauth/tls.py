"""Which CAs the issuer client trusts: the operating system's store, as Codex CLI 0.171 and pip
trust it, plus CODEX_CA_CERTIFICATE (else SSL_CERT_FILE) added to it, never replacing it.

- macOS and Windows: the `truststore` package (the Keychain, the Windows certificate store), with
  the custom bundle loaded into it.
- Elsewhere (OpenSSL): the system bundle truststore's OpenSSL backend would use (OpenSSL's own
  file and directory, else the distribution's usual file, e.g. /etc/ssl/certs/ca-certificates.crt),
  loaded by us once. truststore.SSLContext would load it again for every connection, and through
  OpenSSL's defaults an SSL_CERT_FILE would replace the system's roots instead of adding to them.

One context per process and CA setting, built only for an https issuer, and no file ever loaded
twice: a custom bundle is loaded (and so checked) before the login touches its port, the system
store on the first request (for the openai dialect, after the URL is shown). A plain-http issuer
(the dev issuer on 127.0.0.1) loads no file at all; its custom bundle need only be readable.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping

from codexlogin.config import special_file_kind
from codexlogin.errors import UsageError

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing (~3 ms) before the sign-in URL; mypy reads this alike

if TYPE_CHECKING:
    import ssl  # loaded where a context is made: `codex login` shows its URL without it

CA_VARIABLES = ("CODEX_CA_CERTIFICATE", "SSL_CERT_FILE")
# truststore's OpenSSL candidates (certifi-system-store's list), when OpenSSL's own file is missing
SYSTEM_BUNDLE_CANDIDATES = (
    "/etc/ssl/cert.pem",  # Alpine, Arch, Fedora 34-43, RHEL 9-10, BSD
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # Fedora 44+
    "/etc/pki/tls/cert.pem",  # older Fedora, RHEL, CentOS
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu
    "/etc/ssl/ca-bundle.pem",  # SUSE
)
NATIVE_STORE_PLATFORMS = ("darwin", "win32")


def ca_source(environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """(variable, path) of the custom CA bundle in force, or None for the system store alone."""
    environ = os.environ if environ is None else environ
    for name in CA_VARIABLES:
        if environ.get(name):
            return name, environ[name]
    return None


def trust_store_name() -> str:
    """The system store in words, for doctor and the README."""
    if sys.platform == "darwin":
        return "the macOS Keychain (truststore)"
    if sys.platform == "win32":
        return "the Windows certificate store (truststore)"
    cafile, capath = system_bundle_locations()
    return f"the system's OpenSSL store ({' and '.join(filter(None, (cafile, capath))) or 'none found'})"


def system_bundle_locations() -> tuple[str | None, str | None]:
    """(file, hashed directory) of the system's roots on an OpenSSL platform. OpenSSL's compiled-in
    paths, not SSL_CERT_FILE / SSL_CERT_DIR (those are the custom bundle here, added on top)."""
    import ssl

    paths = ssl.get_default_verify_paths()
    cafile = paths.openssl_cafile if paths.openssl_cafile and os.path.isfile(paths.openssl_cafile) else None
    capath = paths.openssl_capath if paths.openssl_capath and _holds_hashed_certs(paths.openssl_capath) else None
    if cafile is None:
        cafile = next((path for path in SYSTEM_BUNDLE_CANDIDATES if os.path.isfile(path)), None)
    return cafile, capath


def _holds_hashed_certs(path: str) -> bool:
    import re

    try:
        return any(re.fullmatch(r"[0-9a-fA-F]{8}\.[0-9]", name) for name in os.listdir(path))
    except OSError:
        return False


class _Trust:
    """One CA setting's context, and whether the system store is in it yet."""

    def __init__(self, context: ssl.SSLContext, system_loaded: bool):
        self.context = context
        self.system_loaded = system_loaded


_built: dict[tuple[object, ...], _Trust] = {}
_PLAIN: list[ssl.SSLContext] = []  # the one context of http-only issuers


def _key(source: tuple[str, str] | None) -> tuple[object, ...]:
    """The CA setting and its file's identity: a rewritten bundle is a new setting."""
    if source is None:
        return ()
    try:
        info = os.stat(source[1])
        return (*source, info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
    except (OSError, ValueError):
        return source


def _new_trust() -> _Trust:
    """A verifying client context; on macOS and Windows it holds the system's roots already."""
    import ssl

    if sys.platform in NATIVE_STORE_PLATFORMS:
        import truststore

        return _Trust(truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT), True)
    return _Trust(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), False)  # CERT_REQUIRED, hostname checks


def load_system_store(context: ssl.SSLContext) -> None:
    cafile, capath = system_bundle_locations()
    if cafile or capath:
        context.load_verify_locations(cafile=cafile, capath=capath)


def _trust(environ: Mapping[str, str] | None) -> _Trust:
    """This CA setting's context, the custom bundle loaded into it (once)."""
    source = ca_source(environ)
    if source is not None:
        check_ca_files(environ)
    key = _key(source)
    trust = _built.get(key)
    if trust is None:
        trust = _new_trust()
        if source is not None:
            _load_bundle(trust.context, *source)
        _built[key] = trust
    return trust


def ssl_verify_setting(environ: Mapping[str, str] | None = None, *, https: bool = True) -> ssl.SSLContext:
    """The httpx `verify` value: the system's roots plus the custom bundle (a UsageError, exit 2,
    when the bundle cannot be read or loaded). Built once per process and CA setting.

    `https=False` (an issuer whose URLs are all plain http): a context that holds no roots, so
    verifies nothing, and loads no file; a custom bundle is only checked to be a readable regular
    file (it is parsed when an https URL needs it).

    The bundle adds to the system roots, never replaces them (as Codex CLI 0.171): a file holding
    only a corporate proxy's CA must still let auth.openai.com verify when the proxy is bypassed.
    """
    if not https:
        check_ca_bundle(https=False, environ=environ)
        if not _PLAIN:
            import ssl

            _PLAIN.append(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
        return _PLAIN[0]
    trust = _trust(environ)
    if not trust.system_loaded:
        load_system_store(trust.context)
        trust.system_loaded = True
    return trust.context


def check_ca_bundle(*, https: bool, environ: Mapping[str, str] | None = None) -> None:
    """A login's early check, before it touches its port: for an https issuer the custom bundle is
    loaded now (into the context its requests will use: never twice), the system's store on the
    first request; for an http issuer the bundle need only be a readable regular file."""
    if https:
        if ca_source(environ) is not None:  # without a custom bundle there is nothing to check yet
            _trust(environ)
        return
    source = ca_source(environ)
    if source is not None:
        check_ca_files(environ)
        _check_readable(*source)


def _check_readable(name: str, path: str) -> None:
    try:
        with open(path, "rb"):
            pass
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"cannot load CA bundle {path} from {name}: {getattr(exc, 'strerror', None) or exc}"
            " (check CODEX_CA_CERTIFICATE and SSL_CERT_FILE)"
        ) from None


def _load_bundle(context: ssl.SSLContext, name: str, path: str) -> None:
    import ssl

    try:
        context.load_verify_locations(cafile=path)
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise UsageError(
            f"cannot load CA bundle {path} from {name}: {getattr(exc, 'strerror', None) or exc}"
            " (check CODEX_CA_CERTIFICATE and SSL_CERT_FILE)"
        ) from None


def _kind(path: str) -> str | None:
    """None for a regular file (or a path that cannot be stat'ed: the load says why), else what it is."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    return None if stat.S_ISREG(mode) else special_file_kind(mode)


def check_ca_files(environ: Mapping[str, str] | None = None) -> None:
    """Every CA variable that is set names a regular file: a FIFO would hang the load for ever, a
    device would be read without end (SSL_CERT_FILE is checked even when CODEX_CA_CERTIFICATE
    wins: other TLS clients of the process, the proxy's, read it). Else a one-line UsageError
    (exit 2) naming the variable."""
    environ = os.environ if environ is None else environ
    for name in CA_VARIABLES:
        path = environ.get(name)
        kind = _kind(path) if path else None
        if kind is not None:
            raise UsageError(
                f"CA bundle {path} from {name} is {kind}; it must be a regular file"
                " (check CODEX_CA_CERTIFICATE and SSL_CERT_FILE)"
            )


def bundle_certificate_count(path: str) -> int:
    """How many CA certificates the custom bundle itself holds (the system's not counted)."""
    kind = _kind(path)
    if kind is not None:
        raise UsageError(f"CA bundle {path} is {kind}; it must be a regular file")
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=path)
    return len(context.get_ca_certs())
