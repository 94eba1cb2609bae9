"""The operating system's trust store (issue 24), tested where it lives: a private mount namespace
(`unshare -m`) whose /etc/ssl/certs/ca-certificates.crt is a bind-mounted temp file holding a
trustme test CA; the machine's own store is never touched. A real `codex login doctor` there, with
no CA variable set, verifies an HTTPS dev issuer signed by that CA (discovery included); the control
run, outside the namespace, fails with a TLS error that names a TLS-inspecting proxy. The proxy case:
a "proxy" CA (trustme) signs the certificate presented for the issuer, in the OS store or added with
CODEX_CA_CERTIFICATE, and never replaces the store.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
import trio
import trustme

from codexlogin.devissuer import DevIssuer, serve_dev_issuer
from codexlogin.errors import UsageError
from codexlogin.oauth import tls
from codexlogin.oauth.tls import check_ca_bundle, ssl_verify_setting, system_bundle_locations

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
CODEX = str(Path(sys.executable).parent / "codex")


def _namespace_works() -> bool:
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None or not os.path.isfile(SYSTEM_BUNDLE):
        return False
    cafile = system_bundle_locations()[0]
    if cafile is None or os.path.realpath(cafile) != os.path.realpath(SYSTEM_BUNDLE):
        return False  # OpenSSL's system file is elsewhere on this machine
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"], capture_output=True, check=False)
    return probe.returncode == 0


needs_namespace = pytest.mark.skipif(not _namespace_works(), reason="needs unshare -m and Debian's system bundle")
pytestmark = pytest.mark.filterwarnings("ignore::trio.TrioDeprecationWarning")


@pytest.fixture
def proxy_pki(tmp_path):
    """A "TLS-inspecting proxy" CA and the certificate it presents for 127.0.0.1."""
    ca = trustme.CA(organization_name="Example Corp TLS Inspection")
    paths = {"ca": tmp_path / "proxy-ca.pem", "server": tmp_path / "presented.pem"}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(paths["server"]))
    return paths


@pytest.fixture
async def https_issuer(nursery, proxy_pki):
    issuer = DevIssuer()
    await nursery.start(partial(serve_dev_issuer, issuer, certfile=str(proxy_pki["server"])))
    return issuer


def child_env(tmp_path, issuer_url, **extra):
    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR", "CODEX_CA_CERTIFICATE")}
    env = {k: v for k, v in env.items() if not k.lower().endswith("_proxy")}
    return {**env, "CODEX_HOME": str(tmp_path / "home"), "CODEX_LOGIN_ISSUER": issuer_url, **extra}


async def doctor(env, *, system_bundle=None):
    """`codex login doctor`'s issuer line; with `system_bundle`, run where that file is the OS store."""
    argv = [CODEX, "login", "doctor"]
    if system_bundle is not None:
        script = 'mount --bind "$1" ' + SYSTEM_BUNDLE + ' && shift && exec "$@"'
        argv = ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", str(system_bundle), *argv]
    with trio.fail_after(60):
        result = await trio.run_process(argv, env=env, capture_stdout=True, capture_stderr=True, check=False)
    lines = result.stdout.decode().splitlines()
    return next(line for line in lines if line.split()[1:2] == ["issuer"])


@needs_namespace
async def test_the_os_store_is_trusted_without_a_ca_variable(tmp_path, proxy_pki, https_issuer):
    env = child_env(tmp_path, https_issuer.issuer_url)
    with_root = await doctor(env, system_bundle=proxy_pki["ca"])
    assert with_root.startswith("ok ") and "HTTP 200" in with_root and "system CAs" in with_root, with_root
    assert "discovery: openid-configuration" in with_root or "discovery:" in with_root
    control = await doctor(env)  # the machine's real store: the test CA is not in it
    assert control.startswith("FAIL") and " tls after " in control, control
    assert "a TLS-inspecting proxy" in control and "CODEX_CA_CERTIFICATE" in control


@needs_namespace
async def test_the_custom_bundle_adds_to_the_os_store(tmp_path, proxy_pki, https_issuer):
    """CODEX_CA_CERTIFICATE naming an unrelated CA does not hide the OS store's root."""
    unrelated = tmp_path / "unrelated.pem"
    trustme.CA().cert_pem.write_to_path(str(unrelated))
    env = child_env(tmp_path, https_issuer.issuer_url, CODEX_CA_CERTIFICATE=str(unrelated))
    line = await doctor(env, system_bundle=proxy_pki["ca"])
    assert line.startswith("ok ") and "CA from CODEX_CA_CERTIFICATE and the system's" in line, line
    env = child_env(tmp_path, https_issuer.issuer_url, SSL_CERT_FILE=str(proxy_pki["ca"]))  # the proxy root added
    line = await doctor(env)
    assert line.startswith("ok ") and "CA from SSL_CERT_FILE" in line, line


def test_one_context_per_setting_and_the_store_only_for_https(tmp_path, proxy_pki):
    http_only = ssl_verify_setting({}, https=False)
    assert http_only.cert_store_stats()["x509_ca"] == 0  # an http issuer loads no store
    assert http_only.verify_mode == ssl.CERT_REQUIRED and http_only.check_hostname
    custom_env = {"CODEX_CA_CERTIFICATE": str(proxy_pki["ca"])}
    assert ssl_verify_setting(custom_env, https=False) is http_only  # the bundle not parsed either
    both = ssl_verify_setting({})
    assert both is not http_only and ssl_verify_setting({}) is both  # built once, loaded once
    if system_bundle_locations() != (None, None):
        assert both.cert_store_stats()["x509_ca"] > 0
    check_ca_bundle(https=True, environ=custom_env)  # the login's early check: the bundle alone
    early = tls._built  # noqa: SLF001 - the context its requests will use
    custom = next(trust.context for key, trust in early.items() if key[:2] == ("CODEX_CA_CERTIFICATE", str(proxy_pki["ca"])))
    assert custom.cert_store_stats()["x509_ca"] == 1  # not the system store yet (the first request adds it)
    assert ssl_verify_setting(custom_env) is custom and ssl_verify_setting(custom_env) is custom
    assert custom.cert_store_stats()["x509_ca"] == both.cert_store_stats()["x509_ca"] + 1


def test_an_unreadable_bundle_is_refused_even_for_an_http_issuer(tmp_path):
    missing = str(tmp_path / "missing.pem")
    with pytest.raises(UsageError, match="cannot load CA bundle .* from SSL_CERT_FILE"):
        ssl_verify_setting({"SSL_CERT_FILE": missing}, https=False)
