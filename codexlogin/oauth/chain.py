"""The certificate chain an https issuer presents to this machine, for doctor: each certificate's
subject, issuer and SHA-256 fingerprint as the client saw it (through the proxy when one is set for
the issuer), and whether the chain verifies against the operating system's store, the custom
bundle (CODEX_CA_CERTIFICATE, else SSL_CERT_FILE), or neither.

Python before 3.13 has no call for the chain a server presented, so the chain is read off the wire:
a TLS 1.2 handshake (whose Certificate message is not encrypted) through memory BIOs, the records
parsed here. A server that speaks only TLS 1.3 shows its leaf certificate alone. Blocking sockets
with timeouts: doctor runs this in a thread. Nothing here trusts what it reads: the handshakes that
read the chain do not verify it, and the verdicts come from separate, verifying handshakes.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from codexlogin.oauth.tls import ca_source, load_system_store

NAME_OIDS = {"2.5.4.3": "CN", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.6": "C"}
MAX_RECORD_BYTES = 256 * 1024  # what is read of a handshake, at most


class ChainError(Exception):
    """Why the chain could not be read (one line)."""


@dataclass(frozen=True)
class Certificate:
    der: bytes
    subject: str
    issuer: str

    @property
    def fingerprint(self) -> str:
        return ":".join(f"{byte:02X}" for byte in hashlib.sha256(self.der).digest())

    @property
    def self_signed(self) -> bool:
        return self.subject == self.issuer

    def pem(self) -> str:
        return ssl.DER_cert_to_PEM_cert(self.der)


@dataclass(frozen=True)
class PresentedChain:
    certificates: tuple[Certificate, ...]
    via: str | None  # the proxy variable it went through
    os_store: bool  # verifies against the system store alone
    custom: bool | None  # against the custom bundle alone (None: no bundle set)
    bundle: str | None = None  # the variable that names the custom bundle
    leaf_only: bool = False  # TLS 1.3 only: the rest of the chain could not be read

    @property
    def root(self) -> Certificate:
        """The top certificate presented (the root when the server sends it)."""
        return self.certificates[-1]

    def verdict(self) -> str:
        if self.os_store:
            return "chains to the system's trust store"
        if self.custom:
            return f"chains to the custom bundle ({self.bundle}), not to the system's trust store"
        if self.bundle:
            return "chains to neither the system's trust store nor the custom bundle"
        return "does not chain to the system's trust store"

    def describe(self) -> str:
        parts = [
            f"#{i} subject {cert.subject}, issuer {cert.issuer}, sha256 {cert.fingerprint}"
            for i, cert in enumerate(self.certificates, 1)
        ]
        # "VARIABLE: …" would read as a proxy setting to the scrubber: the variable goes in brackets
        how = f" (through the proxy from {self.via})" if self.via else ""
        leaf = " (TLS 1.3 only: the leaf alone)" if self.leaf_only else ""
        return f"presented chain{how}{leaf} {'; '.join(parts)}; it {self.verdict()}"


# --- DER: just enough to name a certificate's subject and issuer ---------------------------------


def _tlv(data: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the DER element at `at`."""
    tag, length = data[at], data[at + 1]
    at += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[at : at + count], "big")
        at += count
    if at + length > len(data):
        raise ValueError("truncated DER")
    return tag, at, at + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    items = []
    while start < end:
        tag, value, stop = _tlv(data, start)
        items.append((tag, value, stop))
        start = stop
    return items


def _oid(raw: bytes) -> str:
    parts = [raw[0] // 40, raw[0] % 40]
    value = 0
    for byte in raw[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(map(str, parts))


def _name(data: bytes, start: int, end: int) -> str:
    fields = []
    for _set_tag, set_start, set_end in _children(data, start, end):
        for _seq_tag, seq_start, seq_end in _children(data, set_start, set_end):
            (_, oid_start, oid_end), (_, value_start, value_end) = _children(data, seq_start, seq_end)[:2]
            label = NAME_OIDS.get(_oid(data[oid_start:oid_end]))
            if label:
                fields.append(f"{label}={data[value_start:value_end].decode('utf-8', 'replace')}")
    return ", ".join(fields) or "(no name)"


def parse_certificate(der: bytes) -> Certificate:
    """Subject and issuer of a DER certificate (RFC 5280 §4.1)."""
    try:
        _, cert_start, cert_end = _tlv(der, 0)
        _, tbs_start, tbs_end = _children(der, cert_start, cert_end)[0]
        fields = _children(der, tbs_start, tbs_end)
        if fields[0][0] == 0xA0:  # [0] version
            fields = fields[1:]
        issuer, subject = fields[2], fields[4]  # serial, signature, issuer, validity, subject
        return Certificate(der, _name(der, subject[1], subject[2]), _name(der, issuer[1], issuer[2]))
    except (IndexError, ValueError):
        return Certificate(der, "(unreadable)", "(unreadable)")


# --- TLS records: the Certificate message of a TLS 1.2 handshake ----------------------------------


def certificates_in_handshake(raw: bytes) -> list[bytes]:
    """The DER certificates of the first Certificate message (type 11) in TLS 1.2 server records."""
    handshake = bytearray()
    at = 0
    while at + 5 <= len(raw):
        kind, length = raw[at], int.from_bytes(raw[at + 3 : at + 5], "big")
        if kind == 22:
            handshake += raw[at + 5 : at + 5 + length]
        at += 5 + length
    at = 0
    while at + 4 <= len(handshake):
        kind, length = handshake[at], int.from_bytes(handshake[at + 1 : at + 4], "big")
        body = bytes(handshake[at + 4 : at + 4 + length])
        if kind == 11 and len(body) == length:
            certs, cursor = [], 3
            while cursor + 3 <= len(body):
                size = int.from_bytes(body[cursor : cursor + 3], "big")
                certs.append(body[cursor + 3 : cursor + 3 + size])
                cursor += 3 + size
            return certs
        at += 4 + length
    return []


# --- connections: direct or through an http:// proxy's CONNECT ------------------------------------


def proxy_route(url: str) -> tuple[str, str] | None:
    """(variable, proxy URL) httpx would use for `url` (urllib's rules, NO_PROXY honoured)."""
    import urllib.request

    from codexlogin.oauth.proxy import proxy_variable_names

    host = urlsplit(url).hostname or ""
    if urllib.request.proxy_bypass(host):
        return None
    proxies = urllib.request.getproxies()
    names = proxy_variable_names(os.environ)
    for key in ("https", "all"):
        if proxies.get(key):
            return names.get(key, f"the system's {key} proxy setting"), proxies[key]
    return None


def open_route(host: str, port: int, timeout: float, proxy: str | None) -> socket.socket:
    if proxy is None:
        return socket.create_connection((host, port), timeout=timeout)
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if parts.scheme != "http":
        raise ChainError(f"cannot read the chain through a {parts.scheme} proxy")
    sock = socket.create_connection((parts.hostname or "", parts.port or 80), timeout=timeout)
    request = f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n"
    if parts.username is not None:
        secret = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        request += f"Proxy-Authorization: Basic {base64.b64encode(secret).decode()}\r\n"
    sock.sendall((request + "\r\n").encode("latin-1"))
    reply = b""
    while b"\r\n\r\n" not in reply and len(reply) < 16384:
        chunk = sock.recv(4096)
        if not chunk:
            break
        reply += chunk
    status = reply.split(b"\r\n", 1)[0].split()
    if len(status) < 2 or status[1] != b"200":
        sock.close()
        raise ChainError(f"the proxy answered CONNECT with {b' '.join(status[1:3]).decode('latin-1') or 'nothing'}")
    return sock


def _handshake(sock: socket.socket, context: ssl.SSLContext, host: str) -> tuple[ssl.SSLObject, bytes]:
    """Run a handshake over memory BIOs; (the TLS object, every byte the server sent)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=host)
    received = bytearray()
    while True:
        try:
            tls.do_handshake()
            sock.sendall(outgoing.read())
            return tls, bytes(received)
        except ssl.SSLWantReadError:
            sock.sendall(outgoing.read())
            chunk = sock.recv(65536)
            if not chunk or len(received) > MAX_RECORD_BYTES:
                raise ChainError("the connection closed during the TLS handshake") from None
            received += chunk
            incoming.write(chunk)
        except ssl.SSLError:
            received_bytes = bytes(received)
            if certificates_in_handshake(received_bytes):
                return tls, received_bytes
            raise


def _unverifying(maximum: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if maximum is not None:
        context.maximum_version = maximum
    return context


def _verifies(host: str, port: int, timeout: float, proxy: str | None, context: ssl.SSLContext) -> bool:
    context.check_hostname = False  # the question is the chain's root, not the name
    with open_route(host, port, timeout, proxy) as sock:
        try:
            _handshake(sock, context, host)
            return True
        except ssl.SSLCertVerificationError:
            return False
        except (ssl.SSLError, ChainError):
            return False


def read_chain(url: str, timeout: float = 10.0) -> PresentedChain:
    """The chain `url`'s server presents here, and which trust it chains to (blocking)."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ChainError(f"{url} is not an https URL: there is no certificate to show")
    host, port = parts.hostname, parts.port or 443
    route = proxy_route(url)
    proxy = route[1] if route else None
    try:
        leaf_only = False
        chain: list[bytes] = []
        if hasattr(ssl.SSLObject, "get_unverified_chain"):  # Python 3.13+: asked, not read off the wire
            with open_route(host, port, timeout, proxy) as sock:
                tls, _ = _handshake(sock, _unverifying(), host)
                chain = [bytes(der) for der in tls.get_unverified_chain() or ()]  # type: ignore[attr-defined]
        if not chain:
            try:
                with open_route(host, port, timeout, proxy) as sock:
                    _, raw = _handshake(sock, _unverifying(ssl.TLSVersion.TLSv1_2), host)
                chain = certificates_in_handshake(raw)
            except ssl.SSLError:
                chain = []
        if not chain:  # TLS 1.3 only: the leaf, from an unverified handshake
            with open_route(host, port, timeout, proxy) as sock:
                tls, _ = _handshake(sock, _unverifying(), host)
                leaf = tls.getpeercert(binary_form=True)
            chain, leaf_only = ([leaf] if leaf else []), True
        if not chain:
            raise ChainError("the server presented no certificate")
        system = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        load_system_store(system)
        os_store = _verifies(host, port, timeout, proxy, system)
        source = ca_source()
        custom = None
        if source is not None:
            bundle = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            bundle.load_verify_locations(cafile=source[1])
            custom = _verifies(host, port, timeout, proxy, bundle)
    except (OSError, ssl.SSLError) as exc:
        raise ChainError(f"could not read the chain: {exc}") from None
    certificates = tuple(parse_certificate(der) for der in chain)
    return PresentedChain(certificates, route[0] if route else None, os_store, custom, source[0] if source else None, leaf_only)


def save_root(chain: PresentedChain, path: str) -> Certificate:
    """Write the top presented certificate as PEM, mode 0600 (a new file or replaced in place)."""
    root = chain.root
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(root.pem())
    return root
