"""codexlogin.record: the start-up path's values behave as frozen dataclasses do."""

from __future__ import annotations

import dataclasses

import pytest

from codexlogin.record import FrozenInstanceError, record, replace


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
    with pytest.raises(FrozenInstanceError):
        point.x = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
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
