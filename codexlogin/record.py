"""`record`: `dataclasses.dataclass(frozen=True)` for the values the browser login builds before its
sign-in URL (the issuer, its dialect, PKCE, the reservation, the prepared login), at a fraction of
its start-up cost.

dataclasses compiles each class's `__init__`, `__repr__`, `__eq__`, `__hash__` and frozen
`__setattr__` with `exec` when the class is defined: ~5 M instructions a class, 35 M for the seven
the URL needs, a sixth of what `codex login` runs before it. Here the methods are shared ones that
read the field names (the class's own annotations, in order) from the class. Only what those
classes use: frozen, keyword or positional fields with plain defaults (no `field()`, no inheritance
of fields, no `__post_init__`), `repr=False` keeps the class's own `__repr__`, and `replace`.

Type checkers see `dataclasses.dataclass` (the modules import it under TYPE_CHECKING), so
constructor calls and `replace` are checked as for any dataclass.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing before the sign-in URL; mypy reads this alike
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    T = TypeVar("T")

_MISSING = object()


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a record (as dataclasses.FrozenInstanceError)."""


def _fields(cls: type) -> tuple[str, ...]:
    return cls.__record_fields__  # type: ignore[attr-defined, no-any-return]


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    cls = type(self)
    names, defaults = cls.__record_fields__, cls.__record_defaults__
    if len(args) > len(names):
        raise TypeError(f"{cls.__name__}() takes {len(names)} positional arguments but {len(args)} were given")
    values = dict(zip(names, args, strict=False))
    for name, value in kwargs.items():
        if name not in names:
            raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {name!r}")
        if name in values:
            raise TypeError(f"{cls.__name__}() got multiple values for argument {name!r}")
        values[name] = value
    for name in names:
        value = values.get(name, defaults.get(name, _MISSING))
        if value is _MISSING:
            raise TypeError(f"{cls.__name__}() missing required argument: {name!r}")
        object.__setattr__(self, name, value)


def _values(self: Any) -> tuple[Any, ...]:
    return tuple(getattr(self, name) for name in type(self).__record_fields__)


def _eq(self: Any, other: object) -> bool:
    if type(other) is not type(self):
        return NotImplemented  # type: ignore[no-any-return]
    return bool(_values(self) == _values(other))


def _hash(self: Any) -> int:
    return hash(_values(self))


def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in type(self).__record_fields__)
    return f"{type(self).__qualname__}({shown})"


def _frozen(self: Any, name: str, *_value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def record(*, frozen: bool = True, repr: bool = True) -> Callable[[type[T]], type[T]]:  # noqa: A002 - dataclass's name
    """The class decorator; only `frozen=True` (every record is a value)."""
    assert frozen, "records are frozen"

    def build(cls: type[T]) -> type[T]:
        target: Any = cls  # its methods are set here, as dataclasses sets them
        names = tuple(cls.__dict__.get("__annotations__", {}))
        target.__record_fields__ = names
        target.__record_defaults__ = {name: cls.__dict__[name] for name in names if name in cls.__dict__}
        target.__init__ = _init
        target.__eq__ = _eq
        target.__hash__ = _hash
        target.__setattr__ = _frozen
        target.__delattr__ = _frozen
        if repr and "__repr__" not in cls.__dict__:
            target.__repr__ = _repr
        return cls

    return build


def replace(obj: T, **changes: Any) -> T:
    """A copy of the record `obj` with `changes` (as dataclasses.replace)."""
    cls = type(obj)
    unknown = set(changes) - set(_fields(cls))
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {sorted(unknown)[0]!r}")
    return cls(**{name: changes.get(name, getattr(obj, name)) for name in _fields(cls)})
