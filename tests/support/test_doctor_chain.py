"""doctor on a TLS failure (issue 24): the chain a TLS-inspecting proxy presents, read through that
proxy, each certificate's subject, issuer and fingerprint, whether it chains to the system store,
the custom bundle or neither; `--save-ca FILE` writes the presented root (0600) and, once set as
CODEX_CA_CERTIFICATE, the issuer verifies.

The proxy is real, on 127.0.0.1:0: it answers CONNECT for any host, then terminates TLS itself with
a certificate for that host from its own trustme CA ("Example Corp TLS Inspection"), sending leaf
and root as such proxies do, and answers the request itself (nothing leaves the machine).
"""

from __future__ import annotations

import hashlib
import os
import ssl
import stat
import sys
from pathlib import Path

import pytest
import trio
import trustme

CODEX = str(Path(sys.executable).parent / "codex")
ISSUER = "https://issuer.example"


@pytest.fixture
def inspection(tmp_path):
    ca = trustme.CA(organization_name="Example Corp TLS Inspection")
    leaf = ca.issue_cert("issuer.example")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    chain = tmp_path / "presented.pem"
    chain.write_bytes(leaf.private_key_pem.bytes() + leaf.cert_chain_pems[0].bytes() + ca.cert_pem.bytes())
    context.load_cert_chain(str(chain))
    return {"ca": ca, "leaf": leaf, "context": context}


async def inspecting_proxy(context, *, task_status=trio.TASK_STATUS_IGNORED):
    async def handle(stream):
        async with stream:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = await stream.receive_some(4096)
                if not chunk:
                    return
                head += chunk
            await stream.send_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            tls = trio.SSLStream(stream, context, server_side=True)
            try:
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = await tls.receive_some(4096)
                    if not chunk:
                        return
                    request += chunk
                body = b'{"issuer": "https://issuer.example"}'
                await tls.send_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n")
                await tls.send_all(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                await tls.aclose()
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass

    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    task_status.started(listeners[0].socket.getsockname()[1])
    await trio.serve_listeners(handle, listeners)


def env_for(tmp_path, proxy_port, **extra):
    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR", "CODEX_CA_CERTIFICATE")}
    env = {k: v for k, v in env.items() if not k.lower().endswith("_proxy")}
    return {
        **env,
        "CODEX_HOME": str(tmp_path / "home"),
        "CODEX_LOGIN_ISSUER": ISSUER,
        "HTTPS_PROXY": f"http://127.0.0.1:{proxy_port}",
        **extra,
    }


async def doctor(env, *args):
    with trio.fail_after(60):
        result = await trio.run_process(
            [CODEX, "login", "doctor", *args], env=env, capture_stdout=True, capture_stderr=True, check=False
        )
    return result, result.stdout.decode()


def issuer_line(stdout):
    return next(line for line in stdout.splitlines() if line.split()[1:2] == ["issuer"])


def sha256_of(pem: bytes) -> str:
    der = ssl.PEM_cert_to_DER_cert(pem.decode())
    return ":".join(f"{byte:02X}" for byte in hashlib.sha256(der).digest())


async def test_doctor_shows_the_proxys_chain_and_saves_its_root(tmp_path, nursery, inspection):
    port = await nursery.start(inspecting_proxy, inspection["context"])
    env = env_for(tmp_path, port)
    _, out = await doctor(env)
    line = issuer_line(out)
    leaf_sha, root_sha = sha256_of(inspection["leaf"].cert_chain_pems[0].bytes()), sha256_of(inspection["ca"].cert_pem.bytes())
    assert line.startswith("FAIL") and " tls after " in line, line
    assert "presented chain (through the proxy from HTTPS_PROXY) #1 subject" in line
    assert "#1 subject O=trustme" in line and f"sha256 {leaf_sha}" in line
    assert "#2 subject O=Example Corp TLS Inspection" in line and f"sha256 {root_sha}" in line
    assert "it does not chain to the system's trust store" in line
    assert "TLS-inspecting proxy" in line and "--save-ca FILE" in line

    saved = tmp_path / "proxy-root.pem"
    result, out = await doctor(env, "--save-ca", str(saved))
    assert f"saved the presented root to {saved}" in out and f"sha256 {root_sha}" in out, out + result.stderr.decode()
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert ssl.PEM_cert_to_DER_cert(saved.read_text()) == ssl.PEM_cert_to_DER_cert(inspection["ca"].cert_pem.bytes().decode())

    _, out = await doctor({**env, "CODEX_CA_CERTIFICATE": str(saved)})
    line = issuer_line(out)
    assert not line.startswith("FAIL") and "HTTP 200" in line and "CA from CODEX_CA_CERTIFICATE" in line, line


async def test_the_verdict_names_the_custom_bundle(tmp_path, nursery, inspection):
    """A bundle that holds the root: the chain verifies through it (the login then works); a
    bundle that does not: neither."""
    from codexlogin.oauth.chain import read_chain

    port = await nursery.start(inspecting_proxy, inspection["context"])
    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    env = env_for(tmp_path, port, CODEX_CA_CERTIFICATE=str(other))
    _, out = await doctor(env)
    assert "chains to neither the system's trust store nor the custom bundle" in issuer_line(out)

    inspection["ca"].cert_pem.write_to_path(str(tmp_path / "root.pem"))
    os_env = {"HTTPS_PROXY": f"http://127.0.0.1:{port}", "CODEX_CA_CERTIFICATE": str(tmp_path / "root.pem")}
    with pytest.MonkeyPatch.context() as patch:
        for name in ("SSL_CERT_FILE", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
            patch.delenv(name, raising=False)
        for name, value in os_env.items():
            patch.setenv(name, value)
        with trio.fail_after(30):
            chain = await trio.to_thread.run_sync(read_chain, ISSUER + "/", 10.0)
    assert chain.custom is True and chain.os_store is False and chain.via == "HTTPS_PROXY"
    assert chain.verdict() == "chains to the custom bundle (CODEX_CA_CERTIFICATE), not to the system's trust store"


async def test_save_ca_refuses_a_plain_http_issuer(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEX_")}
    env |= {"CODEX_HOME": str(tmp_path / "home"), "CODEX_LOGIN_ISSUER": "http://127.0.0.1:9"}
    result, _ = await doctor(env, "--save-ca", str(tmp_path / "x.pem"))
    assert result.returncode == 2 and "is not https" in result.stderr.decode()
    assert not (tmp_path / "x.pem").exists()
