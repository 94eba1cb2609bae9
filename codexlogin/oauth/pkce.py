"""PKCE (RFC 7636, S256) and the OAuth state, from the operating system's CSPRNG (`os.urandom`, which is
all `secrets.token_bytes` does: `secrets` itself would load `random` before the sign-in URL)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing before the sign-in URL; mypy reads this alike
if TYPE_CHECKING:
    from dataclasses import dataclass as record  # what a type checker sees; codexlogin.record at run time
else:
    from codexlogin.record import record  # dataclass(frozen=True) without its start-up cost


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def s256_challenge(verifier: str) -> str:
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


@record(frozen=True, repr=False)
class PkceCodes:
    verifier: str
    challenge: str

    def __repr__(self) -> str:  # never leak the verifier through a repr in a traceback or log
        return "PkceCodes(<redacted>)"


def generate_pkce() -> PkceCodes:
    # 64 random bytes → 86 base64url characters, inside RFC 7636's 43..128 range.
    verifier = _b64url(os.urandom(64))
    return PkceCodes(verifier=verifier, challenge=s256_challenge(verifier))


def generate_state() -> str:
    return _b64url(os.urandom(32))


def states_match(expected: str, received: str | None) -> bool:
    """Constant-time comparison so response timing says nothing about the expected state."""
    if not received:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), received.encode("utf-8", "surrogateescape"))
