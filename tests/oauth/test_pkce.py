import base64
import hashlib
import re

from hypothesis import given
from hypothesis import strategies as st

from codexlogin.oauth.pkce import generate_pkce, generate_state, s256_challenge, states_match


def test_verifier_is_rfc7636_sized_and_unreserved():
    codes = generate_pkce()
    assert 43 <= len(codes.verifier) <= 128
    assert re.fullmatch(r"[A-Za-z0-9\-._~]+", codes.verifier)


def test_challenge_is_unpadded_base64url_sha256():
    codes = generate_pkce()
    digest = hashlib.sha256(codes.verifier.encode()).digest()
    assert codes.challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert "=" not in codes.challenge


def test_rfc7636_appendix_b_vector():
    assert s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_values_are_fresh_and_repr_hides_verifier():
    first, second = generate_pkce(), generate_pkce()
    assert first.verifier != second.verifier
    assert generate_state() != generate_state()
    assert first.verifier not in repr(first)


@given(st.text(min_size=1, max_size=64))
def test_states_match_only_identical(received):
    expected = generate_state()
    assert states_match(expected, expected)
    assert states_match(expected, received) == (received == expected)


def test_states_match_rejects_missing():
    assert not states_match("abc", None)
    assert not states_match("abc", "")


def test_token_expiry_claims_that_are_not_finite_are_ignored():
    import base64
    import json

    from codexlogin.oauth.jwt import expires_at

    def token(payload: bytes) -> str:
        return "e30." + base64.urlsafe_b64encode(payload).rstrip(b"=").decode() + ".sig"

    assert expires_at(token(b'{"exp": 1e999}')) is None
    assert expires_at(token(b'{"exp": NaN}')) is None
    assert expires_at(token(json.dumps({"exp": 1700000000}).encode())) == 1700000000
