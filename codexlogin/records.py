"""Immutable records without `@dataclass`: `codex login status` reads Settings and auth.json on
every start, and `import dataclasses` alone (inspect, ast, dis, tokenize) cost more than its whole
answer, before `@dataclass` compiled each class's methods.

A `Record` subclass names its fields in order (`FIELDS`), gives `__slots__` and writes its own
`__init__` (which stores through `_init`). It gets what the frozen dataclass gave: equality, hash
and repr by its fields, assignment refused with `dataclasses.FrozenInstanceError`, pickling, and
`dataclasses.replace`, `fields`, `asdict` and `is_dataclass` still take it: `__dataclass_fields__`
is built on first use, from a dataclass twin with the same fields (`DEFAULTS`, `FACTORIES`).
`replace(record, **changes)` here makes a changed copy without loading dataclasses. Stdlib only.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up: `codex login status`)
if TYPE_CHECKING:
    from collections.abc import Callable
    from dataclasses import Field
    from typing import Any, ClassVar, TypeVar

    RecordT = TypeVar("RecordT", bound="Record")


class _DataclassFields:
    """A Record class's `__dataclass_fields__`, made when something first asks for it."""

    def __get__(self, instance: object, owner: type[Record]) -> dict[str, Field[Any]]:
        import dataclasses

        annotations: dict[str, object] = {}
        for klass in reversed(owner.__mro__):
            annotations.update(getattr(klass, "__annotations__", {}))
        for name in owner.FIELDS:  # a field read through a property: its return annotation
            if name not in annotations and isinstance(getattr(owner, name, None), property):
                annotations[name] = getattr(owner, name).fget.__annotations__.get("return", "object")
        namespace: dict[str, object] = {"__annotations__": {name: annotations[name] for name in owner.FIELDS}}
        for name, default in owner.DEFAULTS.items():
            namespace[name] = default
        for name, factory in owner.FACTORIES.items():
            namespace[name] = dataclasses.field(default_factory=factory)
        twin: Any = dataclasses.dataclass(frozen=True)(type(owner.__name__, (), namespace))
        fields: dict[str, Field[Any]] = twin.__dataclass_fields__
        type.__setattr__(owner, "__dataclass_fields__", fields)  # later reads find the dict itself
        return fields


class Record:
    """Base of the immutable records (see the module docstring)."""

    __slots__ = ()
    #: The fields, in the order of `__init__`'s parameters, equality, hash and repr.
    FIELDS: ClassVar[tuple[str, ...]] = ()
    #: Fields with a default value, and fields whose default is made per record (a dict).
    DEFAULTS: ClassVar[dict[str, object]] = {}
    FACTORIES: ClassVar[dict[str, Callable[[], object]]] = {}
    if TYPE_CHECKING:
        __dataclass_fields__: ClassVar[dict[str, Field[Any]]]
    else:
        __dataclass_fields__ = _DataclassFields()

    def _init(self, *values: object) -> None:
        """Store `values` in the slots, in `__slots__` order (for __init__ and unpickling)."""
        slots: tuple[str, ...] = self.__slots__
        for name, value in zip(slots, values, strict=True):
            object.__setattr__(self, name, value)

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.FIELDS)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Record)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return f"{type(self).__qualname__}({', '.join(f'{name}={getattr(self, name)!r}' for name in self.FIELDS)})"

    def __setattr__(self, name: str, value: object) -> None:
        from dataclasses import FrozenInstanceError  # what a frozen dataclass raises

        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __getstate__(self) -> tuple[object, ...]:
        slots: tuple[str, ...] = self.__slots__
        return tuple(getattr(self, name) for name in slots)

    def __setstate__(self, state: tuple[object, ...]) -> None:
        self._init(*state)


def replace(record: RecordT, **changes: object) -> RecordT:
    """`dataclasses.replace` for a Record, without importing dataclasses."""
    values = {name: getattr(record, name) for name in record.FIELDS}
    values.update(changes)
    return type(record)(**values)
