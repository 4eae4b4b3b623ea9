"""Value-stack items that snapshots written by earlier releases did not save.

Earlier releases read some loads again when a frame resumed instead of saving their values:
a bare global under the paused call (`[COUNT, ask()]`), a module attribute chain
(`settings.limit + ask()`) and the callable of a method call or of a global function
(`speaker.say(ask())`). This release saves them, because the paused call may change what such a
load reads (plain Python keeps the value it had already loaded). A snapshot without them would
be refused (`VALUE_STACK_CHANGED`); instead, when the session is loaded, each missing item is
read the way the release that wrote it would have read it on resume -- from the frame's saved
locals, the function's globals and the builtins. So such a session continues exactly as it
would have with that release.
"""

from __future__ import annotations

import builtins
from typing import Any

from .producers import producer_position
from .records import CallSite, Recipe, RecipeKind
from .registry import FunctionInfo
from .versions import FAST_LOADS

_ATTRIBUTE_LOADS = frozenset({"LOAD_ATTR", "LOAD_METHOD"})


class NotDerivable(Exception):
    """A saved value the earlier release did not save cannot be read again at load."""


def derivable(info: FunctionInfo, site: CallSite, missing: frozenset[str]) -> tuple[Recipe, ...]:
    """The recipes of `site` that fill the hidden values `missing`, when an earlier release
    read every one of them again on resume; raises NotDerivable otherwise."""
    recipes = tuple(recipe for recipe in site.recipes if recipe.name in missing)
    if {recipe.name for recipe in recipes} != missing:
        raise NotDerivable
    for recipe in recipes:
        if recipe.kind is RecipeKind.CAPTURE:
            _check_loads(info, recipe)
        elif recipe.kind is not RecipeKind.SPILL or _bare_global(info, site, recipe) is None:
            raise NotDerivable
    return recipes


def derive(info: FunctionInfo, site: CallSite, recipes: tuple[Recipe, ...], values: dict) -> dict:
    """`values` with the items of `recipes` read again as the earlier release would have."""
    filled = dict(values)
    globals_ = info.function.__globals__
    for recipe in recipes:
        if recipe.kind is RecipeKind.SPILL:
            filled[recipe.name] = _global(globals_, _bare_global(info, site, recipe))
        else:
            filled[recipe.name] = _evaluate(info, recipe, values, globals_)
    return filled


def _bare_global(info: FunctionInfo, site: CallSite, recipe: Recipe) -> str | None:
    """The global's name when every producer of the spilled item is a load of that global."""
    from .effects import is_pair_load  # loaded with the analysis, which `info.flow` needs

    names = set()
    for key in site.stack_keys[recipe.slot]:
        load = info.flow.instrs[producer_position(key)] if key >= 0 else None
        if load is None or load.name != "LOAD_GLOBAL" or is_pair_load(load):
            return None
        names.add(load.arg[1] if isinstance(load.arg, tuple) else load.arg)
    return names.pop() if len(names) == 1 else None


def _check_loads(info: FunctionInfo, recipe: Recipe) -> None:
    if recipe.kind is RecipeKind.SPILL:
        return
    if recipe.kind not in (RecipeKind.CAPTURE, RecipeKind.REEXECUTE):
        raise NotDerivable
    name = info.flow.instrs[recipe.load].name
    if name not in ("LOAD_CONST", "LOAD_GLOBAL", *FAST_LOADS, *_ATTRIBUTE_LOADS):
        raise NotDerivable  # LOAD_SUPER_ATTR and the like: not read back here
    for part in recipe.inputs:
        _check_loads(info, part)


def _evaluate(info: FunctionInfo, recipe: Recipe, values: dict, globals_: dict) -> Any:
    """What the load of `recipe` gives (for a method call's pair: the callable it calls)."""
    if recipe.kind is RecipeKind.SPILL:
        return _saved(values, recipe.name)
    load = info.flow.instrs[recipe.load]
    if load.name == "LOAD_CONST":
        return load.arg
    if load.name == "LOAD_GLOBAL":
        return _global(globals_, load.arg[1] if isinstance(load.arg, tuple) else load.arg)
    if load.name in FAST_LOADS:
        from .analysis import local_name  # loaded by `info.flow` already

        return _saved(values, local_name(load.arg))
    owner = _evaluate(info, recipe.inputs[-1], values, globals_)
    name = load.arg[1] if isinstance(load.arg, tuple) else load.arg
    return getattr(owner, name)


def _saved(values: dict, name: str) -> Any:
    if name not in values:
        raise NotDerivable
    return values[name]


def _global(globals_: dict, name: str | None) -> Any:
    if name in globals_:
        return globals_[name]
    if hasattr(builtins, name):
        return getattr(builtins, name)
    raise NameError(f"name {name!r} is not defined")
