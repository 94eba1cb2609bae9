"""Which CAs the issuer client trusts: the system's, plus CODEX_CA_CERTIFICATE (else SSL_CERT_FILE)."""

from __future__ import annotations

import os
import ssl
import stat
from collections.abc import Mapping

from codexlogin.config import special_file_kind
from codexlogin.errors import UsageError

CA_VARIABLES = ("CODEX_CA_CERTIFICATE", "SSL_CERT_FILE")


def ca_source(environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """(variable, path) of the custom CA bundle in force, or None for the default trust store."""
    environ = os.environ if environ is None else environ
    for name in CA_VARIABLES:
        if environ.get(name):
            return name, environ[name]
    return None


def ssl_verify_setting(environ: Mapping[str, str] | None = None) -> ssl.SSLContext | bool:
    """The httpx `verify` value: the system's CAs plus the custom bundle, else True (the defaults).

    The bundle adds to the system roots, never replaces them (as Codex CLI 0.171): a file holding
    only a corporate proxy's CA must still let auth.openai.com verify when the proxy is bypassed.
    """
    source = ca_source(environ)
    if source is None:
        return True
    check_ca_files(environ)
    name, path = source
    try:
        context = ssl.create_default_context()
        context.load_verify_locations(cafile=path)
        return context
    except (OSError, ssl.SSLError) as exc:
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
    """Every CA variable that is set names a regular file: a FIFO would hang the load for ever
    (OpenSSL itself opens SSL_CERT_FILE in `create_default_context`, even when
    CODEX_CA_CERTIFICATE wins), a device would be read without end. Else a one-line UsageError
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
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=path)
    return len(context.get_ca_certs())
