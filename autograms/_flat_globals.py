"""AutoGRAMS' flat layout of a session's globals, over this library's per-module one.

AutoGRAMS kept one dict of user globals per session (``memory_dict['user_globals']``, shared by
every module) and the persistent globals' values in ``memory_dict['globals_snapshot']``. A
session here keeps both per module (``SessionState``'s ``user_globals`` and
``persistent_globals``), so two bot modules never clash. This module translates:

* `FlatUserGlobals` is what ``memory_dict['user_globals']`` gives: a dict of every module's
  user globals by name, whose changes go to the module holding the name;
* `per_module` reads a dict given as ``user_globals`` (assigned to ``memory_dict``, or in a
  ``memory_dict`` a new session starts from) in either layout;
* values of the flat layout that no module holds yet wait under the module name
  `UNCLAIMED` ("", which no module has) until a module first uses the session's globals:
  it takes those of its names (`claim`).
"""

from __future__ import annotations

import copy
import sys
from typing import Any

#: the per-module key holding flat values no module has taken yet
UNCLAIMED = ""


class FlatUserGlobals(dict):
    """A session's user globals by name, as AutoGRAMS' ``memory_dict['user_globals']``.

    A snapshot of the values when read (a plain dict to ``json`` and ``copy``), whose changes
    go to the session: a name is set in the module holding it, a new name in the only module
    using user globals (or kept for the first module that will). A module's name, as key,
    still gives that module's dict (the per-module layout of earlier releases).
    """

    def __init__(self, modules: dict[str, dict[str, Any]]) -> None:
        super().__init__()
        #: the session's per-module dicts (``SessionState['user_globals']``)
        self.modules = modules
        for values in _holders(modules):
            for name, value in values.items():
                super().setdefault(name, value)

    def __missing__(self, key: str) -> Any:
        if key != UNCLAIMED and isinstance(self.modules.get(key), dict):
            return self.modules[key]
        raise KeyError(key)

    def __setitem__(self, name: str, value: Any) -> None:
        _holder(self.modules, name)[name] = value
        super().__setitem__(name, value)

    def __delitem__(self, name: str) -> None:
        super().__delitem__(name)
        for values in _holders(self.modules):
            values.pop(name, None)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for name, value in dict(*args, **kwargs).items():
            self[name] = value

    def setdefault(self, name: str, default: Any = None) -> Any:
        if name not in self:
            self[name] = default
        return self[name]

    def pop(self, name: str, *default: Any) -> Any:
        if name not in self:
            return super().pop(name, *default)
        value = self[name]
        del self[name]
        return value

    def popitem(self) -> tuple[str, Any]:
        name = next(reversed(self))
        return name, self.pop(name)

    def clear(self) -> None:
        for name in list(self):
            del self[name]

    def __ior__(self, other: Any) -> FlatUserGlobals:
        self.update(other)
        return self

    def __reduce__(self) -> tuple:
        # pickled or deep-copied: a view of a copy of the per-module dicts
        return (FlatUserGlobals, (self.modules,))


def _holders(modules: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The per-module dicts, the unclaimed values last."""
    held = [values for module, values in modules.items() if module != UNCLAIMED]
    if UNCLAIMED in modules:
        held.append(modules[UNCLAIMED])
    return held


def _holder(modules: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    """The dict a value of `name` is set in: the one holding the name, else the only
    module's, else the unclaimed values."""
    held = _holders(modules)
    for values in held:
        if name in values:
            return values
    owners = [module for module in modules if module != UNCLAIMED]
    if len(owners) == 1:
        return modules[owners[0]]
    return modules.setdefault(UNCLAIMED, {})


def per_module(value: Any, current: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The per-module user globals for `value` given as ``user_globals``: a `FlatUserGlobals`
    (copied), or a dict whose keys are modules (imported ones, each with a dict) or names of
    the flat layout. With `current` (the session's, when assigning to its ``memory_dict``),
    flat names go to the module holding them now, and its names left out are dropped, as
    assigning AutoGRAMS' dict replaced it."""
    if isinstance(value, FlatUserGlobals):
        if current is not None and value.modules is current:
            return current
        return copy.deepcopy(value.modules)
    modules: dict[str, Any] = {}
    flat: dict[str, Any] = {}
    for key, item in dict(value).items():
        if key != UNCLAIMED and key in sys.modules and isinstance(item, dict):
            modules[key] = item
        else:
            flat[key] = item
    if UNCLAIMED in value and isinstance(value[UNCLAIMED], dict):  # saved by this module
        flat.pop(UNCLAIMED)
        flat.update(value[UNCLAIMED])
    for module in current or {}:
        if module != UNCLAIMED and module not in modules:
            modules[module] = {}
    for name, item in flat.items():
        owner = next((m for m, held in (current or {}).items() if name in held), None)
        if owner is not None and owner != UNCLAIMED:
            modules[owner][name] = item
        else:
            _holder(modules, name)[name] = item
    return modules


def claim(modules: dict[str, dict[str, Any]], values: dict[str, Any], names: tuple) -> None:
    """A module starting to use the session's user globals (`values`, its defaults) takes
    the unclaimed values of its `names`."""
    waiting = modules.get(UNCLAIMED)
    if not waiting:
        return
    for name in names:
        if name in waiting:
            values[name] = waiting.pop(name)
    if not waiting:
        del modules[UNCLAIMED]
