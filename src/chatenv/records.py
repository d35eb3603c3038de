"""chatenv's records: the classes `@dataclass` makes, built without the cost of `dataclasses`.

Every result, fact and plan in chatenv is a small (mostly frozen) dataclass; `chatenv doctor`
alone defines 58 of them before it can check anything. On Python 3.11 the standard decorator
spends 0.3-0.7 ms on each (it compiles six functions one by one and, for a class without a
docstring, formats `inspect.signature`), and importing `dataclasses` pulls in `inspect`,
`ast`, `dis` and `tokenize` (~11 ms): 44-55 ms of a 0.18 s doctor run, timed in-process.
This module makes the same classes for the subset chatenv uses in 0.12-0.18 ms each (a class
of six fields; the standard decorator took 0.72 ms for the same frozen class): one compiled
`__init__`, and `__repr__`, `__eq__`, `__hash__` and the frozen `__setattr__`/`__delattr__`
shared or closed over instead of compiled.

What it supports, with the standard library's semantics (tests/test_records.py builds every
record class of chatenv both ways and compares them): `@dataclass` and `@dataclass(frozen=True)`;
`field(default=..., default_factory=..., init=..., repr=..., compare=...)`; `__post_init__`;
`ClassVar` annotations skipped; a class's own `__init__`, `__repr__`, `__eq__` or explicit
`__hash__` kept; the standard errors for a mutable default, a required field after a
defaulted one, and a `field()` without an annotation. Anything else (`order=`, `slots=`,
`kw_only=`, `InitVar`, inheriting from a record) is refused with a TypeError, so that a new
use fails at import instead of quietly differing.

mypy sees the standard `dataclasses` names (the import under TYPE_CHECKING), so its dataclass
plugin checks every record. `fields`, `replace` and `is_dataclass` accept these records and,
for other code's classes (a test's double), standard dataclasses too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = ["FrozenInstanceError", "dataclass", "field", "fields", "is_dataclass", "replace"]

if TYPE_CHECKING:
    from dataclasses import FrozenInstanceError, dataclass, field, fields, is_dataclass, replace
else:
    import typing as _typing

    class _Sentinel:
        __slots__ = ("_text",)

        def __init__(self, text):
            self._text = text

        def __repr__(self):
            return self._text

    MISSING = _Sentinel("MISSING")
    #: the default an __init__ shows for a field with a default_factory (as dataclasses shows it)
    _FACTORY = _Sentinel("<factory>")
    _FIELDS = "__record_fields__"
    _object_setattr = object.__setattr__

    class FrozenInstanceError(AttributeError):
        """An assignment to, or deletion of, a field of a frozen record."""

    class Field:
        """One field of a record: what `field()` returns, and what `fields()` lists."""

        __slots__ = ("compare", "default", "default_factory", "init", "name", "repr", "type")

        def __init__(self, default, default_factory, init, repr, compare):
            self.name = None
            self.type = None
            self.default = default
            self.default_factory = default_factory
            self.init = init
            self.repr = repr
            self.compare = compare

        def __repr__(self):
            return (
                f"Field(name={self.name!r}, type={self.type!r}, default={self.default!r}, "
                f"default_factory={self.default_factory!r}, init={self.init!r}, "
                f"repr={self.repr!r}, compare={self.compare!r})"
            )

    def field(*, default=MISSING, default_factory=MISSING, init=True, repr=True, compare=True):
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        return Field(default, default_factory, init, repr, compare)

    def dataclass(cls=None, /, **options):
        unsupported = set(options) - {"frozen"}
        if unsupported:
            raise TypeError(f"chatenv.records.dataclass does not support {sorted(unsupported)}")
        frozen = bool(options.get("frozen", False))

        def wrap(cls):
            return _process(cls, frozen)

        return wrap if cls is None else wrap(cls)

    def _is_classvar(annotation):
        if isinstance(annotation, str):
            return annotation.startswith(("ClassVar", "typing.ClassVar"))
        return annotation is _typing.ClassVar or _typing.get_origin(annotation) is _typing.ClassVar

    def _is_initvar(annotation):
        if isinstance(annotation, str):
            return annotation.startswith(("InitVar", "dataclasses.InitVar"))
        return type(annotation).__name__ == "InitVar"

    def _collect(cls, annotations):
        """The fields in annotation order; class attributes set as dataclasses sets them."""
        body = cls.__dict__
        for name, value in body.items():
            if isinstance(value, Field) and name not in annotations:
                raise TypeError(f"{name!r} is a field but has no type annotation")
        found = []
        seen_default = False
        for name, annotation in annotations.items():
            if _is_classvar(annotation):
                continue
            if _is_initvar(annotation):
                raise TypeError(f"{cls.__qualname__}.{name}: InitVar is not supported")
            value = body.get(name, MISSING)
            if isinstance(value, Field):
                one = value
                if one.default is MISSING:
                    delattr(cls, name)
                else:
                    setattr(cls, name, one.default)
            else:
                one = Field(value, MISSING, True, True, True)
            one.name = name
            one.type = annotation
            if one.default is not MISSING and type(one.default).__hash__ is None:
                raise ValueError(
                    f"mutable default {type(one.default)} for field {name} is not allowed:"
                    " use default_factory"
                )
            if one.init:
                if one.default is not MISSING or one.default_factory is not MISSING:
                    seen_default = True
                elif seen_default:
                    raise TypeError(f"non-default argument {name!r} follows default argument")
            found.append(one)
        return tuple(found)

    def _process(cls, frozen):
        for base in cls.__mro__[1:]:
            if _FIELDS in base.__dict__ or "__dataclass_fields__" in base.__dict__:
                raise TypeError(f"{cls.__qualname__}: a record cannot inherit from a dataclass")
        body = cls.__dict__
        annotations = body.get("__annotations__", {})
        found = _collect(cls, annotations)

        setattr(cls, _FIELDS, found)
        cls.__record_repr__ = tuple(f.name for f in found if f.repr)
        cls.__record_compare__ = tuple(f.name for f in found if f.compare)
        if "__init__" not in body:
            cls.__init__ = _make_init(cls, found, frozen, annotations)
        if "__repr__" not in body:
            cls.__repr__ = _repr
        if "__eq__" not in body:
            cls.__eq__ = _eq
        class_hash = body.get("__hash__", MISSING)
        explicit_hash = not (class_hash is MISSING or (class_hash is None and "__eq__" in body))
        if not explicit_hash:
            cls.__hash__ = _hash if frozen else None
        if frozen:
            if "__setattr__" in body or "__delattr__" in body:
                raise TypeError(f"cannot overwrite __setattr__ or __delattr__ in {cls.__name__}")
            names = frozenset(f.name for f in found)
            cls.__setattr__, cls.__delattr__ = _frozen_methods(cls, names)
        if "__match_args__" not in body:
            cls.__match_args__ = tuple(f.name for f in found if f.init)
        return cls

    def _make_init(cls, found, frozen, annotations):
        scope = {"_records_missing": _FACTORY, "_records_set": _object_setattr}
        params = []
        lines = []
        for one in found:
            name = one.name
            if one.default is not MISSING:
                scope[f"_records_default_{name}"] = one.default
            if one.default_factory is not MISSING:
                scope[f"_records_factory_{name}"] = one.default_factory
            if one.init:
                if one.default is not MISSING:
                    params.append(f"{name}=_records_default_{name}")
                    value = name
                elif one.default_factory is not MISSING:
                    params.append(f"{name}=_records_missing")
                    value = f"_records_factory_{name}() if {name} is _records_missing else {name}"
                else:
                    params.append(name)
                    value = name
            elif one.default is not MISSING:
                value = f"_records_default_{name}"
            elif one.default_factory is not MISSING:
                value = f"_records_factory_{name}()"
            else:
                continue
            lines.append(
                f"  _records_set(self, {name!r}, {value})" if frozen else f"  self.{name} = {value}"
            )
        if hasattr(cls, "__post_init__"):
            lines.append("  self.__post_init__()")
        source = f"def __init__(self, {', '.join(params)}):\n" + ("\n".join(lines) or "  pass")
        made = {}
        exec(source, scope, made)
        init = made["__init__"]
        init.__qualname__ = f"{cls.__qualname__}.__init__"
        init.__module__ = cls.__module__
        init.__annotations__ = {
            **{f.name: annotations[f.name] for f in found if f.init},
            "return": None,
        }
        return init

    def _repr(self):
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__record_repr__)
        return f"{type(self).__qualname__}({shown})"

    def _eq(self, other):
        if other.__class__ is self.__class__:
            names = self.__record_compare__
            return tuple(getattr(self, n) for n in names) == tuple(getattr(other, n) for n in names)
        return NotImplemented

    def _hash(self):
        return hash(tuple(getattr(self, name) for name in self.__record_compare__))

    def _frozen_methods(cls, names):
        def __setattr__(self, name, value):
            if type(self) is cls or name in names:
                raise FrozenInstanceError(f"cannot assign to field {name!r}")
            super(cls, self).__setattr__(name, value)

        def __delattr__(self, name):
            if type(self) is cls or name in names:
                raise FrozenInstanceError(f"cannot delete field {name!r}")
            super(cls, self).__delattr__(name)

        __setattr__.__qualname__ = f"{cls.__qualname__}.__setattr__"
        __delattr__.__qualname__ = f"{cls.__qualname__}.__delattr__"
        return __setattr__, __delattr__

    def _standard(obj):
        kind = obj if isinstance(obj, type) else type(obj)
        return _FIELDS not in kind.__dict__ and hasattr(kind, "__dataclass_fields__")

    def is_dataclass(obj):
        kind = obj if isinstance(obj, type) else type(obj)
        return _FIELDS in kind.__dict__ or hasattr(kind, "__dataclass_fields__")

    def fields(class_or_instance):
        if _standard(class_or_instance):
            import dataclasses

            return dataclasses.fields(class_or_instance)
        kind = class_or_instance if isinstance(class_or_instance, type) else type(class_or_instance)
        try:
            return kind.__dict__[_FIELDS]
        except KeyError:
            raise TypeError("must be called with a dataclass type or instance") from None

    def replace(obj, /, **changes):
        if _standard(obj):
            import dataclasses

            return dataclasses.replace(obj, **changes)
        if isinstance(obj, type) or _FIELDS not in type(obj).__dict__:
            raise TypeError("replace() should be called on dataclass instances")
        for one in type(obj).__dict__[_FIELDS]:
            if not one.init:
                if one.name in changes:
                    raise ValueError(
                        f"field {one.name} is declared with init=False,"
                        " it cannot be specified with replace()"
                    )
                continue
            if one.name not in changes:
                changes[one.name] = getattr(obj, one.name)
        return obj.__class__(**changes)
