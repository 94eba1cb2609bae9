"""The auth.json model is a codexlogin.records Record (no dataclasses import at start-up): to its
users it is still the frozen dataclass it was."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from codexlogin.credentials.model import AuthDotJson, TokenData
from codexlogin.records import replace


def _login() -> AuthDotJson:
    tokens = TokenData("id", "access", "refresh", "acct", oauth_provenance={"issuer": "https://auth.openai.com"})
    return AuthDotJson("chatgpt", tokens=tokens, last_refresh="2026-12-07T10:00:00Z")


def test_fields_in_their_old_order_with_their_defaults():
    assert [f.name for f in dataclasses.fields(TokenData)] == [
        "id_token",
        "access_token",
        "refresh_token",
        "account_id",
        "oauth_provenance",
        "login_owner_id",
        "access_token_expires_at",
        "extra",
    ]
    assert [f.name for f in dataclasses.fields(AuthDotJson)] == [
        "auth_mode",
        "openai_api_key",
        "tokens",
        "last_refresh",
        "personal_access_token",
        "oauth_provenance",
        "extra",
    ]
    bare = AuthDotJson("apikey")
    assert (bare.openai_api_key, bare.tokens, bare.extra) == (None, None, {})
    assert bare.extra is not AuthDotJson("apikey").extra  # a dict of its own, as default_factory gave


def test_equality_replace_pickle_and_frozen():
    login = _login()
    assert login == _login() and login != AuthDotJson("apikey")
    refreshed = dataclasses.replace(login, tokens=dataclasses.replace(login.tokens, access_token="new"))
    assert refreshed.tokens is not None and refreshed.tokens.access_token == "new"
    assert login.tokens is not None and login.tokens.access_token == "access"
    assert replace(refreshed, tokens=login.tokens) == login
    assert pickle.loads(pickle.dumps(login)) == login and copy.deepcopy(login) == login
    assert dataclasses.asdict(login)["tokens"]["account_id"] == "acct"
    assert "access" not in repr(login) + repr(login.tokens)  # the redacted reprs stay
    with pytest.raises(dataclasses.FrozenInstanceError):
        login.auth_mode = "apikey"  # type: ignore[misc]
    with pytest.raises(TypeError):
        replace(login, no_such_field=1)
