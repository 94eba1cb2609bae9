"""Which CAs the issuer client trusts: CODEX_CA_CERTIFICATE, then SSL_CERT_FILE, else the system's."""

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
    """The httpx `verify` value: a context for the custom CA bundle, else True (default trust store)."""
    source = ca_source(environ)
    if source is None:
        return True
    name, path = source
    try:
        return ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(
            f"cannot load CA bundle {path} from {name}: {getattr(exc, 'strerror', None) or exc}"
            " (check CODEX_CA_CERTIFICATE and SSL_CERT_FILE)"
        ) from None
