"""`record`: `dataclasses.dataclass(frozen=True)` for the values read or built before `codex login
status` answers or the sign-in URL is printed (Settings, auth.json's model, the issuer, its dialect,
PKCE, the reservation, the prepared login, ...), at a fraction of its start-up cost.

`import dataclasses` alone (inspect, ast, dis, tokenize) costs more than status's whole answer, and
`@dataclass` compiles each class's `__init__`, `__repr__`, `__eq__`, `__hash__` and frozen
`__setattr__` with `exec` (~5 M instructions a class). Here the methods are shared ones that read
the field names (the class's own annotations, in order) from the class.

One way to declare a record, as a dataclass is declared:

    TYPE_CHECKING = False
    if TYPE_CHECKING:
        from dataclasses import dataclass as record, field   # what a type checker sees
    else:
        from codexlogin.record import field, record

    @record(frozen=True)
    class Login:
        mode: str
        key: str | None = None
        extra: Mapping[str, Any] = field(default_factory=dict)

What a record supports, as the frozen dataclass does: positional or keyword fields with plain
defaults or `field(default_factory=...)` (no other `field()` options, no inheritance of fields, no
`__post_init__`; `ClassVar` annotations are not fields); equality, hash and repr by the fields; a
method the class defines itself (`__init__`, `__repr__`, ...) is kept, as dataclasses keeps it (an
own `__init__` stores the fields with `object.__setattr__`: config.Settings keeps CODEX_HOME as text);
assignment and deletion refused with `dataclasses.FrozenInstanceError`; pickling and copying.
`replace(record, **changes)` here makes a changed copy without loading dataclasses, and
`dataclasses.replace`, `fields`, `asdict` and `is_dataclass` still take a record: its
`__dataclass_fields__` is built on first use, from a dataclass twin with the same fields.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing at start-up; mypy reads this alike
if TYPE_CHECKING:
    from collections.abc import Callable
    from dataclasses import Field
    from typing import Any, TypeVar

    T = TypeVar("T")


class _Factory:
    """A field's default made per record (`field(default_factory=...)`)."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], object]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], Any]) -> Any:
    """`dataclasses.field(default_factory=...)`: a default made anew for each record (a dict)."""
    return _Factory(default_factory)


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    cls = type(self)
    names, defaults = cls.__record_fields__, cls.__record_defaults__
    values = kwargs
    if args:
        if len(args) > len(names):
            raise TypeError(f"{cls.__name__}() takes {len(names)} positional arguments but {len(args)} were given")
        values = dict(zip(names, args, strict=False))
        for name, value in kwargs.items():
            if name in values:
                raise TypeError(f"{cls.__name__}() got multiple values for argument {name!r}")
            values[name] = value
    given = 0
    for name in names:
        if name in values:
            value = values[name]
            given += 1
        elif name in defaults:
            value = defaults[name]
            if type(value) is _Factory:
                value = value.make()
        else:
            raise TypeError(f"{cls.__name__}() missing required argument: {name!r}")
        object.__setattr__(self, name, value)
    if given < len(values):
        unknown = next(name for name in values if name not in names)
        raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {unknown!r}")


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


def _setattr(self: Any, name: str, value: object) -> None:
    from dataclasses import FrozenInstanceError  # what a frozen dataclass raises

    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _delattr(self: Any, name: str) -> None:
    from dataclasses import FrozenInstanceError

    raise FrozenInstanceError(f"cannot delete field {name!r}")


class _DataclassFields:
    """A record class's `__dataclass_fields__`, made when something first asks for it."""

    def __get__(self, instance: object, owner: type) -> dict[str, Field[Any]]:
        import dataclasses

        target: Any = owner
        annotations = owner.__dict__["__annotations__"]
        namespace: dict[str, object] = {"__annotations__": {name: annotations[name] for name in target.__record_fields__}}
        for name, default in target.__record_defaults__.items():
            namespace[name] = dataclasses.field(default_factory=default.make) if type(default) is _Factory else default
        twin: Any = dataclasses.dataclass(frozen=True)(type(owner.__name__, (), namespace))
        fields: dict[str, Field[Any]] = twin.__dataclass_fields__
        type.__setattr__(owner, "__dataclass_fields__", fields)  # later reads find the dict itself
        return fields


def record(*, frozen: bool = True, repr: bool = True) -> Callable[[type[T]], type[T]]:  # noqa: A002 - dataclass's name
    """The class decorator; only `frozen=True` (every record is a value)."""
    assert frozen, "records are frozen"

    def build(cls: type[T]) -> type[T]:
        target: Any = cls  # its methods are set here, as dataclasses sets them
        namespace = cls.__dict__
        fields: list[str] = []
        defaults: dict[str, object] = {}
        for name, annotation in namespace.get("__annotations__", {}).items():
            if isinstance(annotation, str) and annotation.startswith(("ClassVar", "typing.ClassVar")):
                continue  # not a field (annotations are text: `from __future__ import annotations`)
            fields.append(name)
            if name in namespace:
                default = defaults[name] = namespace[name]
                if type(default) is _Factory:
                    delattr(cls, name)  # as dataclasses does: the class keeps no shared default
            elif defaults:
                raise TypeError(f"non-default argument {name!r} follows default argument")
        names = tuple(fields)
        target.__record_fields__ = names
        target.__record_defaults__ = defaults
        setattr(target, "__match_args__", names)  # noqa: B010 - mypy refuses the plain assignment
        target.__dataclass_fields__ = _DataclassFields()
        methods = {"__init__": _init, "__eq__": _eq, "__setattr__": _setattr, "__delattr__": _delattr}
        if repr:
            methods["__repr__"] = _repr
        for name, method in methods.items():
            if name not in cls.__dict__:  # a method the class defines itself is kept, as dataclasses keeps it
                setattr(target, name, method)
        if cls.__dict__.get("__hash__") is None:  # None: the one `__eq__` in a class body implies
            target.__hash__ = _hash
        return cls

    return build


def replace(obj: T, **changes: Any) -> T:
    """A copy of the record `obj` with `changes` (as dataclasses.replace)."""
    cls: Any = type(obj)
    names = cls.__record_fields__
    unknown = set(changes) - set(names)
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {sorted(unknown)[0]!r}")
    return cls(**{name: changes.get(name, getattr(obj, name)) for name in names})  # type: ignore[no-any-return]
