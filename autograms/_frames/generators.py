"""Generators that hold no running frame, saved as the call that makes the same generator.

A generator that has started and not finished holds a suspended frame, which cannot be saved:
the pause is refused (resources.py). Two states hold no such frame, and a program keeps
generators in those states across pauses as a matter of course:

* **finished** (used up, or closed): it only ever raises StopIteration again. It comes back as
  a generator of the same code, name and qualified name, closed before it ever ran;
* **not started yet** (``g = words(text)``, never advanced): its frame holds nothing but its
  arguments. It comes back as a new call of its code (found where it is, as a function's
  code) with those arguments, in its module's namespace. A generator whose code reads
  variables of an enclosing function (a closure) would lose its link to them, so it is still
  refused, as is a coroutine.

The functions the saved data names (`finished_generator`, `unstarted_generator`) are part of
the snapshot format: keep their module and names.
"""

from __future__ import annotations

import inspect
import sys
import types
from typing import Any

from . import module_objects
from .closures import function_from, locate_code
from .resources import ResourceRefused


def reduce_generator(generator: types.GeneratorType) -> tuple:
    """A generator as the call that makes it again; ResourceRefused when it is running."""
    state = inspect.getgeneratorstate(generator)
    code = generator.gi_code
    names = (generator.__name__, generator.__qualname__)
    if state == inspect.GEN_CLOSED:
        return (finished_generator, (code, *names))
    frame = generator.gi_frame
    if state == inspect.GEN_CREATED and not code.co_freevars and not code.co_cellvars:
        arguments = module_objects.referenced_values(_arguments(code, frame.f_locals))
        namespace = _namespace(frame.f_globals)
        if isinstance(namespace, str):
            locate_code(code, namespace)  # saved as where it is, as a function's code
        return (unstarted_generator, (code, namespace, *names, arguments))
    raise ResourceRefused(generator)


def _arguments(code: types.CodeType, bound: dict[str, Any]) -> dict[str, Any]:
    count = code.co_argcount + code.co_kwonlyargcount
    count += bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
    return {name: bound[name] for name in code.co_varnames[:count]}


def _namespace(namespace: dict[str, Any]) -> str | dict:
    """The module whose namespace this is, by name (the namespace itself if none owns it)."""
    name = namespace.get("__name__")
    module = sys.modules.get(name) if isinstance(name, str) else None
    return name if module is not None and vars(module) is namespace else namespace


def finished_generator(code: types.CodeType, name: str, qualname: str) -> types.GeneratorType:
    """A finished generator of `code`: it was closed before it ever ran."""
    closure = tuple(types.CellType() for _ in code.co_freevars) or None
    function = types.FunctionType(code, {}, name, None, closure)
    function.__qualname__ = qualname
    generator = function(*_placeholders(code), **_keyword_placeholders(code))
    generator.close()
    return generator


def _placeholders(code: types.CodeType) -> list[None]:
    return [None] * code.co_argcount


def _keyword_placeholders(code: types.CodeType) -> dict[str, None]:
    first = code.co_argcount
    return dict.fromkeys(code.co_varnames[first : first + code.co_kwonlyargcount])


def unstarted_generator(
    code: types.CodeType, namespace: str | dict, name: str, qualname: str, arguments: dict
) -> types.GeneratorType:
    """A generator of `code` called with `arguments` (by parameter name), not started."""
    function = function_from(code, namespace, name, None)
    function.__qualname__ = qualname
    names = code.co_varnames
    positional = [arguments[n] for n in names[: code.co_argcount]]
    keywords = {n: arguments[n] for n in names[code.co_argcount :][: code.co_kwonlyargcount]}
    rest = code.co_argcount + code.co_kwonlyargcount
    if code.co_flags & inspect.CO_VARARGS:
        positional += arguments[names[rest]]
        rest += 1
    if code.co_flags & inspect.CO_VARKEYWORDS:
        keywords.update(arguments[names[rest]])
    return function(*positional, **keywords)
