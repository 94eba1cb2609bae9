"""codexlogin.record: the start-up path's values (settings, auth.json's model, the login's values
up to its URL) behave as frozen dataclasses do, without dataclasses loaded to make them."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest

from codexlogin.credentials.model import AuthDotJson, TokenData
from codexlogin.record import field, record, replace


@record(frozen=True)
class Point:
    x: int
    y: int = 0
    label: str = ""


@record(frozen=True, repr=False)
class Secret:
    value: str

    def __repr__(self) -> str:
        return "Secret(<redacted>)"


@dataclasses.dataclass(frozen=True)
class DataclassPoint:
    x: int
    y: int = 0
    label: str = ""


def test_a_record_is_built_compared_hashed_and_shown_as_a_frozen_dataclass():
    for args, kwargs in (((1,), {}), ((1, 2), {"label": "a"}), ((), {"x": 3, "y": 4})):
        ours, theirs = Point(*args, **kwargs), DataclassPoint(*args, **kwargs)
        assert (ours.x, ours.y, ours.label) == (theirs.x, theirs.y, theirs.label)
        assert repr(ours) == repr(theirs).replace("DataclassPoint", "Point")
    assert Point(1, 2) == Point(x=1, y=2) and Point(1) != Point(2) and Point(1) != DataclassPoint(1)
    assert hash(Point(1, 2)) == hash(Point(1, 2)) and len({Point(1), Point(1), Point(2)}) == 2
    assert repr(Secret("hunter2")) == "Secret(<redacted>)"


def test_a_record_is_frozen_and_replace_makes_a_changed_copy():
    point = Point(1, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 5  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del point.y  # type: ignore[misc]
    moved = replace(point, y=7)
    assert moved == Point(1, 7) and point == Point(1, 2)
    with pytest.raises(TypeError):
        replace(point, z=1)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), ((1, 2, "a", 4), {}), ((1,), {"x": 2}), ((1,), {"z": 2})],
)
def test_wrong_arguments_are_a_type_error_as_for_a_dataclass(args, kwargs):
    with pytest.raises(TypeError):
        DataclassPoint(*args, **kwargs)
    with pytest.raises(TypeError):
        Point(*args, **kwargs)


@record(frozen=True)
class Bag:
    KIND: ClassVar[str] = "bag"  # not a field, as for a dataclass
    name: str
    items: Mapping[str, Any] = field(default_factory=dict)


def test_a_default_factory_makes_a_value_per_record_and_dataclasses_takes_a_record():
    first, second = Bag("a"), Bag("b")
    assert first.items == {} and first.items is not second.items
    assert "items" not in Bag.__dict__  # as dataclasses: no shared default left on the class
    assert Bag("a", {"k": 1}).items == {"k": 1} and Bag(name="a", items={"k": 1}) == Bag("a", {"k": 1})
    assert dataclasses.is_dataclass(first) and [f.name for f in dataclasses.fields(Bag)] == ["name", "items"]
    assert dataclasses.fields(Bag)[1].default_factory is dict
    assert dataclasses.asdict(Bag("a", {"k": 1})) == {"name": "a", "items": {"k": 1}}
    assert dataclasses.replace(first, name="c") == Bag("c") and replace(first, name="c") == Bag("c")
    assert pickle.loads(pickle.dumps(Point(1, 2))) == Point(1, 2) and copy.deepcopy(first) == first
    assert Point.__match_args__ == ("x", "y", "label") and Bag.KIND == "bag"


def test_a_field_without_default_after_one_with_a_default_is_refused_as_by_dataclasses():
    with pytest.raises(TypeError):

        @record(frozen=True)
        class Wrong:  # pragma: no cover - never made
            x: int = 0
            y: int


def _login() -> AuthDotJson:
    tokens = TokenData("id", "access", "refresh", "acct", oauth_provenance={"issuer": "https://auth.openai.com"})
    return AuthDotJson("chatgpt", tokens=tokens, last_refresh="2026-12-07T10:00:00Z")


def test_the_auth_json_model_keeps_its_fields_in_their_old_order_with_their_defaults():
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


def test_the_auth_json_model_compares_replaces_pickles_and_stays_frozen():
    login = _login()
    assert login == _login() and login != AuthDotJson("apikey")
    assert login.tokens is not None
    refreshed = dataclasses.replace(login, tokens=dataclasses.replace(login.tokens, access_token="new"))
    assert refreshed.tokens is not None and refreshed.tokens.access_token == "new"
    assert login.tokens.access_token == "access"
    assert replace(refreshed, tokens=login.tokens) == login
    assert pickle.loads(pickle.dumps(login)) == login and copy.deepcopy(login) == login
    assert dataclasses.asdict(login)["tokens"]["account_id"] == "acct"
    assert "access" not in repr(login) + repr(login.tokens)  # the redacted reprs stay
    with pytest.raises(dataclasses.FrozenInstanceError):
        login.auth_mode = "apikey"  # type: ignore[misc]
    with pytest.raises(TypeError):
        replace(login, no_such_field=1)  # type: ignore[call-arg]
