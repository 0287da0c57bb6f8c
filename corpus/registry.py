"""Recipe step names lead to code in one hop: step `foo` is the class in `corpus/processors/foo.py` whose
`name` is "foo". Options are that class's keyword arguments, checked before any work starts."""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
import typing
from typing import Any

import corpus.processors
from corpus.errors import RecipeError


@functools.cache  # the processors folder is listed once per process, not at every step lookup
def step_names() -> tuple[str, ...]:
    return tuple(
        sorted(m.name for m in pkgutil.iter_modules(corpus.processors.__path__) if not m.name.startswith("_"))
    )


def step_class(name: str) -> type:
    if name not in step_names():
        raise RecipeError(f"unknown step {name!r}; allowed steps: {', '.join(step_names())}")
    module = importlib.import_module(f"corpus.processors.{name}")
    for obj in vars(module).values():
        if inspect.isclass(obj) and obj.__module__ == module.__name__ and getattr(obj, "name", None) == name:
            return obj
    raise RecipeError(f"corpus/processors/{name}.py defines no step class named {name!r}")


def step_options(cls: type) -> dict[str, inspect.Parameter]:
    params = inspect.signature(cls.__init__).parameters
    return {
        k: p for k, p in params.items() if k != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def _type_ok(value: Any, annotation: Any) -> bool:
    if annotation is inspect.Parameter.empty or annotation is Any:
        return True
    if isinstance(annotation, str):  # postponed annotations: judge by the spelled name
        names = {"int": int, "float": (int, float), "bool": bool, "str": str, "list": list, "dict": dict}
        allowed = [
            names[t.strip().split("[")[0]] for t in annotation.split("|") if t.strip().split("[")[0] in names
        ]
        if "None" in annotation and value is None:
            return True
        if not allowed:
            return True
        if isinstance(value, bool) and bool not in allowed:
            return False
        return isinstance(value, tuple(t for a in allowed for t in (a if isinstance(a, tuple) else (a,))))
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return any(_type_ok(value, a) for a in typing.get_args(annotation))
    base = origin or annotation
    if annotation is type(None):
        return value is None
    if base is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if base is int and isinstance(value, bool):
        return False
    return isinstance(value, base) if isinstance(base, type) else True


def check_options(name: str, options: dict[str, Any], internal: tuple[str, ...] = ()) -> None:
    """Refuse unknown or mistyped options, naming the bad key and the allowed ones."""
    cls = step_class(name)
    allowed = {k: p for k, p in step_options(cls).items() if k not in internal}
    for key, value in options.items():
        if key not in allowed:
            raise RecipeError(
                f"step {name!r}: unknown option {key!r}; allowed options: {', '.join(allowed) or '(none)'}"
            )
        if not _type_ok(value, allowed[key].annotation):
            raise RecipeError(
                f"step {name!r}: option {key!r} should be {allowed[key].annotation}, got {value!r}"
            )
    missing = [k for k, p in allowed.items() if p.default is inspect.Parameter.empty and k not in options]
    if missing:
        raise RecipeError(f"step {name!r}: missing required option(s): {', '.join(missing)}")
    if hasattr(cls, "validate_options"):
        cls.validate_options(options)


def build_step(name: str, options: dict[str, Any]):
    return step_class(name)(**options)
