"""Persistent globals: module-level names whose values belong to each session.

    with set_persistent_globals():
        visits = 0
        basket = []

Names defined (or rebound) inside the block are registered for the module. Inside functions
of that module decorated afterwards with ``@autograms_function()`` or ``@autograms_node``,
inside its plain (undecorated) functions and methods, and inside the lambdas, nested functions,
comprehensions and generator expressions of both, every read and write of these names
goes to the current session's copy (the engine routes the bytecode's global accesses; see
``autograms._frames.routing``), and so does ``module.NAME`` from other modules (the module gets
a class of its own with an attribute per name; ``globals()`` and ``vars(module)`` stay the
module's own values). Plain functions are routed when a turn starts, so a helper
the program calls sees what the program sees. The module's own values are never changed by a
session, so concurrent sessions cannot leak into each other. Outside a session (at import,
with no session current) the names are ordinary module globals.
"""

from __future__ import annotations

import io
import pickle
import sys
import threading
from collections.abc import Iterable, Iterator
from types import CodeType, FunctionType
from typing import TYPE_CHECKING, Any

from . import _frames
from ._frames import GlobalRoutes
from ._state import ModuleGlobals, program_values
from ._context import get_memory, running_turns, track_turns

if TYPE_CHECKING:
    from .memory import MemoryObject

_lock = threading.Lock()
#: types whose values are never kept as the module's own in a session's values: equal ones
#: are alike
_PLAIN = frozenset({int, float, complex, str, bytes, bool, type(None)})
_modules: dict[str, _ModuleGlobals] = {}


class _ModuleGlobals:
    """The persistent names of one module and their initial values."""

    def __init__(self, module: str, namespace: dict[str, Any]) -> None:
        self.module = module
        self.namespace = namespace
        #: the persistent names
        self.names: frozenset[str] = frozenset()
        #: every name's initial value in one pickle, so that names bound to one object (or to
        #: objects sharing one) share it in each session too; taken when a session first needs
        #: it, once the module's body has run (None: not taken since the last names were added)
        self._initial: bytes | None = None
        self.routes = GlobalRoutes(frozenset(), self.load, self.store, self.delete)
        #: size of the namespace when its plain functions were last routed
        self._scanned = -1
        #: code objects routing produced (not to be routed again)
        self._routed: set[CodeType] = set()

    def rebind(self, namespace: dict[str, Any]) -> None:
        """Follow the module to `namespace`: its file was run again under the same name
        (``load_autogram`` after an edit), and the plain functions to route are the new ones."""
        self.namespace = namespace
        self._scanned, self._routed = -1, set()
        self._initial = None

    def add(self, names: dict[str, Any]) -> None:
        for name, value in names.items():
            try:
                pickle.dumps(value)
            except Exception as exc:
                raise TypeError(
                    f"persistent global {name!r} of {self.module} must be picklable: {exc}"
                ) from exc
        self.names = self.names.union(names)
        self._initial = None
        # worker threads of a turn reach its session; module-level objects a program puts
        # in these values stay the module's own
        track_turns()
        _frames.set_attachment_values(program_values)
        self.routes = GlobalRoutes(self.names, self.load, self.store, self.delete)
        self._scanned, self._routed = -1, set()  # more names: route the helpers again
        self._route_attributes(names)

    def _route_attributes(self, names: dict[str, Any]) -> None:
        """Make ``module.NAME`` -- read, assigned or deleted from another module -- reach the
        session's value as the module's own code does: the module gets a class of its own
        whose attributes of these names go through the routes."""
        module = sys.modules.get(self.module)
        if module is None or vars(module) is not self.namespace:
            return  # a namespace no import made: nothing else reaches it as a module
        kind = type(module)
        if kind.__dict__.get("_persistent_globals_of") is not self:
            kind = type(kind.__name__, (kind,), {"_persistent_globals_of": self})
            module.__class__ = kind
        for name in names:
            setattr(kind, name, _SessionAttribute(self, name))

    def route_helpers(self) -> None:
        """Route the module's plain functions and methods (those defined since the last
        time; a function is routed once)."""
        if len(self.namespace) == self._scanned:
            return
        self._scanned = len(self.namespace)
        filename = self.namespace.get("__file__")
        for function in _functions_in(list(self.namespace.values()), self.module):
            code = function.__code__
            if code in self._routed or _frames.lookup(code) is not None:
                continue
            if filename is not None and code.co_filename != filename:
                continue  # a wrapper from another module (functools.wraps copies __module__)
            _frames.route_function(function, self.routes)
            self._routed.add(function.__code__)

    def _session(self, name: str) -> ModuleGlobals | None:
        """The current session's values (None: the module's own, outside every session)."""
        memory = get_memory()
        if memory is None:
            memory = _turn_of_other_thread(self.module, name)
            if memory is None:
                return None
        return memory.persistent_globals(self.module)

    def load(self, name: str) -> Any:
        session = self._session(name)
        if session is None:
            return _module_value(self.namespace, name)
        values = session["values"]
        if name not in values:
            if name not in session["deleted"]:
                self._start(session)
            if name not in values:
                raise NameError(f"name {name!r} is not defined")
        return values[name]

    def initial_values(self) -> dict[str, Any]:
        """A new copy of the module's values of its persistent names, all in one (a name
        the module's body deleted has none); the module's other globals inside them are the
        module's own objects, as in the module itself."""
        blob = self._initial
        if blob is None:
            blob = self._initial = self._pickled_initial()
        return _InitialUnpickler(io.BytesIO(blob), self).load()

    def _pickled_initial(self) -> bytes:
        namespace, names = self.namespace, self.names
        values = {name: namespace[name] for name in sorted(names) if name in namespace}
        # the module's other globals inside the values are saved by name (`LST` in
        # `ITEMS = [LST]`): each session's copy holds the module's own object. A value itself
        # is the session's own even when another global names it (`ITEMS = LST`): shared,
        # one session's changes would reach every other one.
        own = set(map(id, values.values()))
        bound = {key: name for key, (name, _) in shared_globals(namespace, own).items()}
        buffer = io.BytesIO()
        try:
            _InitialPickler(buffer, bound).dump(values)
        except Exception as exc:
            raise TypeError(
                f"the persistent globals of {self.module} must be picklable: {exc}"
            ) from exc
        return buffer.getvalue()

    def global_named(self, name: str) -> Any:
        """The module's global `name`, which initial values hold by name."""
        try:
            return self.namespace[name]
        except KeyError:
            raise NameError(
                f"the persistent globals of {self.module} hold its global {name!r}, "
                "which no longer exists"
            ) from None

    def _start(self, session: ModuleGlobals) -> None:
        """Give `session` the initial value of each name it has neither set nor deleted."""
        values, deleted = session["values"], session["deleted"]
        for name, value in self.initial_values().items():
            if name not in values and name not in deleted:
                values[name] = value

    def store(self, value: Any, name: str) -> None:
        session = self._session(name)
        if session is None:
            self.namespace[name] = value
            return
        session["values"][name] = value
        if name in session["deleted"]:
            session["deleted"].remove(name)

    def delete(self, name: str) -> None:
        session = self._session(name)
        if session is None:
            del self.namespace[name]
            return
        self.load(name)  # NameError if already gone
        session["values"].pop(name)
        session["deleted"].append(name)


def shared_globals(namespace: dict[str, Any], own: set[int]) -> dict[int, tuple[str, Any]]:
    """The globals of a module (`namespace`) that a session's copy of its per-session values
    holds as the module's own objects, by id: (name, object). Objects only (not plain values,
    not ``__dunder__`` names), and none of the values themselves (ids in `own`): a value is
    each session's own even when another global names it, since shared, one session's changes
    would reach every other one."""
    return {
        id(value): (name, value)
        for name, value in namespace.items()
        if type(value) not in _PLAIN and id(value) not in own and not name.startswith("__")
    }


class _InitialPickler(pickle.Pickler):
    """Saves the objects `bound` names (id -> global name) as that name."""

    def __init__(self, file: io.BytesIO, bound: dict[int, str]) -> None:
        super().__init__(file, pickle.HIGHEST_PROTOCOL)
        self.bound = bound

    def persistent_id(self, obj: Any) -> str | None:
        return self.bound.get(id(obj))


class _InitialUnpickler(pickle.Unpickler):
    """Loads a name `_InitialPickler` saved as the module's object of that name."""

    def __init__(self, file: io.BytesIO, owner: _ModuleGlobals) -> None:
        super().__init__(file)
        self.owner = owner

    def persistent_load(self, pid: Any) -> Any:
        return self.owner.global_named(pid)


def _turn_of_other_thread(module: str, name: str) -> MemoryObject | None:
    """The session of a thread that has none of its own (a worker thread a turn started:
    threads do not inherit the session): the one whose turn runs now, if one does; with
    several, which one started the thread is unknown, and the access is refused."""
    running = running_turns()
    if len(running) <= 1:
        return running[0] if running else None
    raise RuntimeError(
        f"persistent global {name!r} of {module} was used by thread "
        f"{threading.current_thread().name!r}, which runs no session, while several sessions "
        "run turns: its session is unknown (pass the values the thread needs as arguments, "
        "or let the turn's own thread read and write the persistent globals)"
    )


class _SessionAttribute:
    """``module.NAME`` of a persistent global: the current session's value inside a turn, the
    module's own outside one."""

    __slots__ = ("globals", "name")

    def __init__(self, globals_: _ModuleGlobals, name: str) -> None:
        self.globals = globals_
        self.name = name

    def __get__(self, module: Any, owner: type | None = None) -> Any:
        if module is None:
            return self
        try:
            return self.globals.load(self.name)
        except NameError:
            raise self._missing(module) from None

    def __set__(self, module: Any, value: Any) -> None:
        self.globals.store(value, self.name)

    def __delete__(self, module: Any) -> None:
        try:
            self.globals.delete(self.name)
        except (NameError, KeyError):
            raise self._missing(module) from None

    def _missing(self, module: Any) -> AttributeError:
        return AttributeError(f"module {module.__name__!r} has no attribute {self.name!r}")


def _module_value(namespace: dict[str, Any], name: str) -> Any:
    try:
        return namespace[name]
    except KeyError:
        raise NameError(f"name {name!r} is not defined") from None


class set_persistent_globals:  # noqa: N801 - AutoGRAMS' name for a context manager
    """Context manager for module level: names it defines become per-session globals."""

    def __enter__(self) -> set_persistent_globals:
        self._namespace = sys._getframe(1).f_globals
        self._before = {name: id(value) for name, value in self._namespace.items()}
        return self

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> None:
        if kind is not None:
            return
        defined = {
            name: item
            for name, item in self._namespace.items()
            if self._before.get(name) != id(item) and not name.startswith("__")
        }
        module = self._namespace.get("__name__", "__main__")
        with _lock:
            entry = _modules.get(module)
            if entry is None:
                entry = _modules[module] = _ModuleGlobals(module, self._namespace)
            elif entry.namespace is not self._namespace:  # its file ran again (an edit)
                entry.rebind(self._namespace)
            entry.add(defined)


def get_persistent_globals() -> list[str]:
    """The persistent global names of the calling module."""
    module = sys._getframe(1).f_globals.get("__name__", "__main__")
    entry = _modules.get(module)
    return sorted(entry.names) if entry else []


def route_plain_helpers() -> None:
    """Route the plain functions of every module with persistent globals (before a turn)."""
    if not _modules:
        return
    with _lock:
        for entry in _modules.values():
            entry.route_helpers()


def _functions_in(values: list[Any], module: str) -> Iterator[FunctionType]:
    """The functions among `values` and the methods of classes among them, unwrapped, that
    belong to `module`."""
    for value in values:
        if isinstance(value, type) and value.__module__ == module:
            members = list(vars(value).values())
        else:
            members = [value]
        for member in members:
            for function in _unwrapped(member):
                if function.__module__ == module:
                    yield function


def _unwrapped(value: Any) -> Iterator[FunctionType]:
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    elif isinstance(value, property):
        yield from (f for f in (value.fget, value.fset, value.fdel) if isinstance(f, FunctionType))
        return
    seen = 0
    while value is not None and seen < 16:  # a wrapper's __wrapped__ chain
        if isinstance(value, FunctionType):
            yield value
        value = getattr(value, "__wrapped__", None)
        seen += 1


def globals_snapshot(sessions: dict[str, ModuleGlobals]) -> dict[str, Any]:
    """AutoGRAMS' ``memory_dict['globals_snapshot']``: the persistent globals of every module
    the session has used, by name -- the session's value, else the module's initial one."""
    snapshot: dict[str, Any] = {}
    for module, session in sessions.items():
        entry = _modules.get(module)
        if entry is not None:
            snapshot.update(entry.initial_values())
        snapshot.update(session["values"])
        for name in session["deleted"]:
            snapshot.pop(name, None)
    return snapshot


def module_holding(name: str, preferred: Iterable[str]) -> str | None:
    """Which module has a persistent global `name`: one of `preferred` if any has, else any
    module that registered persistent globals (None if none has)."""
    for module in [*preferred, *_modules]:
        entry = _modules.get(module)
        if entry is not None and name in entry.names:
            return module
    return None


def routes_for(module: str) -> GlobalRoutes | None:
    """How decorated functions of `module` reach its persistent globals (None if it has none)."""
    entry = _modules.get(module)
    return entry.routes if entry else None
