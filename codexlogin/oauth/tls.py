"""Which CAs the issuer client trusts: the system's, plus CODEX_CA_CERTIFICATE (else SSL_CERT_FILE)."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping

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


def bundle_certificate_count(path: str) -> int:
    """How many CA certificates the custom bundle itself holds (the system's not counted)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=path)
    return len(context.get_ca_certs())
