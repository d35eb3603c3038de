"""chatenv.records against the standard library: every record class chatenv defines, built
once by chatenv.records and once by `dataclasses` from the same source, behaves the same
(fields, signature, repr, equality, hashing, frozenness, replace); and the decorator's own
rules, each next to what `dataclasses` does with the same class body."""

from __future__ import annotations

import ast
import copy
import dataclasses
import importlib
import importlib.util
import inspect
import pickle
import pkgutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pytest

import chatenv
from chatenv import records

if TYPE_CHECKING:
    from types import ModuleType

SRC = Path(chatenv.__file__).parent


class Value:
    """A field value that equals only itself, with a stable repr."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


def _modules() -> list[ModuleType]:
    found = []
    for info in pkgutil.walk_packages([str(SRC)], "chatenv."):
        if info.name.endswith("__main__"):
            continue
        found.append(importlib.import_module(info.name))
    return found


def _with_stdlib(module: ModuleType) -> ModuleType:
    """The module's source run again, with `dataclasses`' decorator and field in place of
    chatenv.records' ones."""
    assert module.__file__ is not None
    spec = importlib.util.spec_from_file_location(f"_stdlib.{module.__name__}", module.__file__)
    assert spec is not None and spec.loader is not None
    copy_ = importlib.util.module_from_spec(spec)
    saved = records.dataclass, records.field
    records.dataclass, records.field = dataclasses.dataclass, dataclasses.field  # type: ignore[assignment]
    try:
        sys.modules[spec.name] = copy_
        spec.loader.exec_module(copy_)
    finally:
        records.dataclass, records.field = saved  # type: ignore[assignment]
        sys.modules.pop(spec.name, None)
    return copy_


def _record_classes(module: ModuleType) -> list[tuple[str, type]]:
    found = []
    for name, value in vars(module).items():
        if isinstance(value, type) and value.__module__ == module.__name__:
            if "__record_fields__" in value.__dict__:
                found.append((name, value))
            for inner_name, inner in vars(value).items():  # a record defined inside a class
                if isinstance(inner, type) and "__record_fields__" in inner.__dict__:
                    found.append((f"{name}.{inner_name}", inner))
    return found


def _lookup(module: ModuleType, dotted: str) -> Any:
    value: Any = module
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def _missing(value: object) -> object:
    return "MISSING" if repr(value) == "MISSING" or value is dataclasses.MISSING else value


def _field_table(kind: type) -> list[tuple[object, ...]]:
    table = []
    for f in records.fields(kind):
        factory = _missing(f.default_factory)
        table.append(
            (
                f.name,
                f.init,
                f.repr,
                f.compare,
                repr(_missing(f.default)),
                factory if factory == "MISSING" else getattr(factory, "__qualname__", factory),
            )
        )
    return table


def _compare_instances(ours: type, theirs: type) -> None:
    names = [f.name for f in records.fields(ours) if f.init]
    values = {n: Value(n) for n in names}
    a, b = ours(**values), theirs(**values)
    assert repr(a) == repr(b)
    assert (a == ours(**values)) == (b == theirs(**values))
    assert (ours.__hash__ is None) == (theirs.__hash__ is None)
    if ours.__hash__ is not None:
        assert hash(a) == hash(b)
    for name in names:
        other = {**values, name: Value("other")}
        assert (a == ours(**other)) == (b == theirs(**other)), name
        assert repr(records.replace(a, **{name: Value("x")})) == repr(
            dataclasses.replace(b, **{name: Value("x")})
        )
    if names:
        ours_error = theirs_error = None
        try:
            setattr(a, names[0], 1)
        except AttributeError as exc:
            ours_error = type(exc).__name__
        try:
            setattr(b, names[0], 1)
        except AttributeError as exc:
            theirs_error = type(exc).__name__
        assert ours_error == theirs_error


def test_every_record_class_of_chatenv_behaves_as_its_dataclass_twin() -> None:
    compared = 0
    for module in _modules():
        classes = _record_classes(module)
        if not classes:
            continue
        twin = _with_stdlib(module)
        for dotted, ours in classes:
            theirs = _lookup(twin, dotted)
            assert dataclasses.is_dataclass(theirs), dotted
            where = f"{module.__name__}.{dotted}"
            assert _field_table(ours) == _field_table(theirs), where
            assert str(inspect.signature(ours)) == str(inspect.signature(theirs)), where
            assert ours.__match_args__ == theirs.__match_args__, where
            for f in records.fields(ours):
                assert (f.name in ours.__dict__) == (f.name in theirs.__dict__), where
            if not hasattr(ours, "__post_init__"):
                _compare_instances(ours, theirs)
            compared += 1
    assert compared > 140  # every record chatenv has, not a handful


def test_no_chatenv_module_uses_dataclasses_but_records() -> None:
    """A `from dataclasses import` puts the cost back (and doctor's import guard fails)."""
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.name == "records.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "dataclasses":
                offenders.append(str(path.relative_to(SRC)))
            if isinstance(node, ast.Import) and any(a.name == "dataclasses" for a in node.names):
                offenders.append(str(path.relative_to(SRC)))
    assert offenders == []


# --- the decorator's rules, each beside dataclasses' ------------------------------------------


def _both(body: dict[str, Any], **options: Any) -> tuple[type, type]:
    made = []
    for decorate in (records.dataclass, dataclasses.dataclass):
        namespace = {k: copy.copy(v) for k, v in body.items()}
        if "__annotations__" in body:
            namespace["__annotations__"] = dict(body["__annotations__"])
        made.append(decorate(**options)(type("Thing", (), namespace)))
    return made[0], made[1]


def _error(make: Any) -> tuple[type[BaseException], str] | None:
    try:
        make()
    except Exception as exc:
        return type(exc), str(exc)
    return None


@pytest.mark.parametrize("frozen", [False, True])
def test_defaults_factories_and_init_false(frozen: bool) -> None:
    for decorate, field in (
        (records.dataclass, records.field),
        (dataclasses.dataclass, dataclasses.field),
    ):
        kind = decorate(frozen=frozen)(
            type(
                "Thing",
                (),
                {
                    "__annotations__": {"a": "int", "b": "list[int]", "c": "str", "d": "int"},
                    "b": field(default_factory=list),
                    "c": "x",
                    "d": field(default=4, init=False, repr=False),
                },
            )
        )
        one, two = kind(1), kind(1)
        assert one.b == [] and one.b is not two.b  # a new list each time
        assert repr(one) == "Thing(a=1, b=[], c='x')"
        assert one.d == 4 and kind.c == "x" and kind.d == 4
        assert "b" not in kind.__dict__  # a factory's field is no class attribute
        assert (
            str(inspect.signature(kind))
            == "(a: 'int', b: 'list[int]' = <factory>, c: 'str' = 'x') -> None"
        )


def test_the_errors_are_dataclasses_errors() -> None:
    cases: list[dict[str, Any]] = [
        {"__annotations__": {"a": "list[int]"}, "a": []},  # a mutable default
        {"__annotations__": {"a": "int", "b": "int"}, "a": 1},  # required after a default
        {"__annotations__": {}, "a": records.field(default=1)},  # field() without a type
    ]
    for body in cases:
        ours = _error(lambda body=body: records.dataclass(type("T", (), dict(body))))
        std_body = dict(body)
        if isinstance(body.get("a"), records.Field):  # type: ignore[attr-defined]
            std_body["a"] = dataclasses.field(default=1)
        theirs = _error(lambda b=std_body: dataclasses.dataclass(type("T", (), dict(b))))
        assert ours is not None and theirs is not None
        assert ours[0] is theirs[0], (ours, theirs)


def test_what_it_does_not_do_it_refuses() -> None:
    plain = type("T", (), {"__annotations__": {"a": "int"}})
    for option in ({"order": True}, {"slots": True}, {"kw_only": True}, {"eq": False}):
        with pytest.raises(TypeError, match="does not support"):
            records.dataclass(**option)(plain)
    base = records.dataclass(type("Base", (), {"__annotations__": {"a": "int"}}))
    with pytest.raises(TypeError, match="cannot inherit"):
        records.dataclass(type("Child", (base,), {"__annotations__": {"b": "int"}}))
    with pytest.raises(TypeError, match="InitVar"):
        records.dataclass(type("T", (), {"__annotations__": {"a": "InitVar[int]"}}))
    with pytest.raises(ValueError, match="both default and default_factory"):
        records.field(default=1, default_factory=list)


def test_a_classs_own_methods_are_kept_and_classvars_skipped() -> None:
    def __eq__(self: Any, other: object) -> bool:
        return True

    def __repr__(self: Any) -> str:
        return "mine"

    body = {
        "__annotations__": {"a": "int", "kind": "ClassVar[str]", "other": ClassVar[int]},
        "kind": "k",
        "other": 3,
        "__eq__": __eq__,
        "__repr__": __repr__,
    }
    ours, theirs = _both(body, frozen=True)
    for kind in (ours, theirs):
        assert repr(kind(1)) == "mine" and kind(1) == kind(2)
        # __eq__ of its own and no __hash__: frozen still hashes by the fields
        assert hash(kind(1)) == hash((1,))
        assert [f.name for f in (records.fields(kind))] == ["a"]
    hashed = {"__annotations__": {"a": "int"}, "__hash__": lambda self: 7}
    ours, theirs = _both(hashed)
    assert hash(ours(1)) == hash(theirs(1)) == 7


@pytest.mark.parametrize("frozen", [False, True])
def test_frozen_and_hashing_follow_dataclasses(frozen: bool) -> None:
    ours, theirs = _both({"__annotations__": {"a": "int", "b": "str"}, "b": "x"}, frozen=frozen)
    a, b = ours(1), theirs(1)
    assert (ours.__hash__ is None) == (theirs.__hash__ is None) == (not frozen)
    if frozen:
        assert hash(a) == hash(b) == hash((1, "x"))
        for target in (a, b):
            with pytest.raises(AttributeError, match="cannot assign to field 'a'"):
                target.a = 2  # type: ignore[attr-defined]
            with pytest.raises(AttributeError, match="cannot delete field 'a'"):
                del target.a  # type: ignore[attr-defined]
        assert isinstance(records.FrozenInstanceError("x"), AttributeError)
    else:
        a.a = 2  # type: ignore[attr-defined]
        assert a.a == 2  # type: ignore[attr-defined]
    assert ours(1) != theirs(1)  # another class: not equal, as dataclasses has it
    assert ours(1).__eq__(theirs(1)) is NotImplemented


def test_post_init_runs_after_the_fields_are_set() -> None:
    seen = []

    def __post_init__(self: Any) -> None:
        seen.append(self.a)
        object.__setattr__(self, "b", self.a * 2)

    kind = records.dataclass(frozen=True)(
        type(
            "T",
            (),
            {
                "__annotations__": {"a": "int", "b": "int"},
                "b": records.field(init=False),
                "__post_init__": __post_init__,
            },
        )
    )
    made = kind(3)
    assert seen == [3] and made.b == 6
    with pytest.raises(ValueError, match="init=False"):
        records.replace(made, b=1)
    assert records.replace(made, a=4).b == 8


@records.dataclass(frozen=True)
class Picklable:
    a: int
    b: tuple[str, ...] = ()


def test_records_pickle_and_copy_as_dataclasses_do() -> None:
    made = Picklable(1, ("x",))
    for again in (pickle.loads(pickle.dumps(made)), copy.copy(made), copy.deepcopy(made)):
        assert again == made and again is not made
        assert hash(again) == hash(made)


def test_fields_replace_and_is_dataclass_take_standard_dataclasses_too() -> None:
    @dataclasses.dataclass(frozen=True)
    class Standard:
        a: int

    assert records.is_dataclass(Standard) and records.is_dataclass(Standard(1))
    assert records.is_dataclass(Picklable) and records.is_dataclass(Picklable(1))
    assert not records.is_dataclass(object())
    assert [f.name for f in records.fields(Standard)] == ["a"]
    assert records.replace(Standard(1), a=2) == Standard(2)
    assert records.replace(Picklable(1), a=2) == Picklable(2)
    with pytest.raises(TypeError):
        records.replace(Picklable, a=2)  # type: ignore[type-var]
    with pytest.raises(TypeError):
        records.fields(object())
