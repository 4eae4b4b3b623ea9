"""On-disk cache of what instrumenting a function builds, so a fresh process need not build it.

Instrumenting a function (instrument.py) and building its resume twin (twin.py) import
`bytecode` and run the analysis: most of what a fresh process pays before its first turn
(issue 11). Both results are cached under ``~/.cache/autograms/code/`` (one file per function
for its normal code and call sites, one for its twin), so a process that finds them loads the
function's code with `marshal` and never imports the rewrite. The analysis itself (`Flow`,
the rewritten layout) is built again only if a rarer path asks for it (a changed-code remap,
a pause through C code, a GOTO check): `FunctionInfo.flow` builds it then.

An entry is used only when everything the build depends on is what it was: the function's
code (its marshalled bytes, compared whole), module and qualified name, the CPython build,
the library's version, the engine's and `bytecode`'s source files (names, sizes and
modification times), the shape of the hooks and routes, and the string values of the globals
an ``ADDRESS=`` names. Objects the code holds that `marshal` cannot write (the hooks, the
engine's callbacks and sentinels) are written as where they come from and looked up again on
load. An entry is written whole to a temporary file and renamed into place, and carries a
CRC-32 of its contents: a stale, truncated, corrupt or unreadable entry is built again (and
rewritten), never used. The cache stays bounded: each function keeps its newest few entries
(older ones are from earlier edits, library versions or Python builds), and a cache folder the
newest few thousand functions' folders (see `_evict`).

``AUTOGRAMS_CODE_CACHE=off`` turns the cache off; any other value is the folder to use.
"""

from __future__ import annotations

import marshal
import os
import pickle
import sys
import threading
import zlib
from types import CodeType, FunctionType
from typing import TYPE_CHECKING, Any

from .identity import own_registration
from .label_values import label_value
from .registry import (
    FrameHooks,
    FunctionInfo,
    Twin,
    register,
    register_twin,
    register_variant,
)

if TYPE_CHECKING:
    from .routing import GlobalRoutes

#: The environment variable that turns the cache off ("off", "0", "no") or names its folder.
ENV: str = "AUTOGRAMS_CODE_CACHE"
_OFF = frozenset({"off", "0", "no", "false"})
#: Changes whenever the layout of an entry changes.
_FORMAT = 2
_MAGIC = b"AGCODE02"
#: Entries kept per function (its folder): the newest, by when they were written.
_KEEP_PER_FUNCTION = 4
#: Functions' folders kept per cache tag: the most recently written.
_KEEP_FUNCTIONS = 2000
#: The marshal format of keys, whose bytes are compared (see `_entry_of`).
_MARSHAL_KEY = 2

#: id(info) -> (path of its entry, key) for the functions this process instrumented.
_entries: dict[int, tuple[str, bytes]] = {}
_stamp: list[bytes] = []
#: the cache tag folders this process has pruned (`_evict`)
_pruned: set[str] = set()


class _NotPortable(Exception):
    """A constant of the code is neither marshallable nor found again by name."""


def _debug(message: str, *arguments: Any) -> None:
    import logging  # imported when first used (a turn that logs nothing never imports it)

    logging.getLogger("autograms").debug(message, *arguments)


def folder() -> str | None:
    """The cache folder, or None when the cache is turned off."""
    setting = os.environ.get(ENV)
    if setting is None:
        home = os.path.expanduser("~")
        return None if home == "~" else os.path.join(home, ".cache", "autograms", "code")
    if setting.strip().lower() in _OFF or not setting.strip():
        return None
    return setting


def instrument(
    function: FunctionType, hooks: FrameHooks | None = None, routes: GlobalRoutes | None = None
) -> FunctionInfo:
    """`instrument.instrument`, through the cache: rewrite `function` in place (its
    ``__code__``) and register it; idempotent."""
    known = own_registration(function)
    if known is not None:
        return known
    where = folder()
    entry = _entry_of(where, function, hooks, routes) if where is not None else None
    if entry is not None:
        info = _load(entry, function, hooks, routes)
        if info is not None:
            return info
    from .instrument import instrument as build  # the rewrite, loaded only on a miss

    info = build(function, hooks, routes)
    if entry is not None:
        _entries[id(info)] = entry
        _store(entry[0], entry[1], _portable_info(info, hooks, routes))
        twin_of(info)  # cached too: the next process resumes without building anything
        _evict(entry[0])
    return info


def twin_of(info: FunctionInfo) -> Twin:
    """The twin of `info`'s function: from the cache, else built (and cached)."""
    if info.twin is None:
        with info.twin_lock:
            if info.twin is None:
                info.twin = _cached_twin(info) or _built_twin(info)
                register_twin(info)
    return info.twin


def _built_twin(info: FunctionInfo) -> Twin:
    from .twin import build_twin  # the rewrite, loaded only on a miss

    twin = build_twin(info)
    entry = _entries.get(id(info))
    if entry is not None:
        try:
            data = {
                "code": _portable_code(twin.code, _known_objects(info.hooks, None)),
                "site_map": twin.site_map,
                "stub_offsets": twin.stub_offsets,
            }
        except _NotPortable as exc:
            _debug("code cache: the twin of %s is not cached (%s)", info.qualname, exc)
        else:
            _store(entry[0] + ".twin", entry[1], data)
    return twin


def _cached_twin(info: FunctionInfo) -> Twin | None:
    entry = _entries.get(id(info))
    data = _read(entry[0] + ".twin", entry[1]) if entry is not None else None
    if data is None:
        return None
    try:
        code = _restored_code(data["code"], info.hooks, None)
        return Twin(
            code=code,
            function=resume_function(info, code),
            site_map=data["site_map"],
            stub_offsets=data["stub_offsets"],
        )
    except Exception as exc:  # noqa: BLE001 - any unusable entry is built again
        _debug("code cache: twin entry of %s not used (%s)", info.qualname, exc)
        return None


def resume_function(info: FunctionInfo, code: CodeType) -> FunctionType:
    """The twin as a function taking no arguments: every parameter has a default (the resume
    entry overwrites them all)."""
    original = info.function
    defaults = (None,) * code.co_argcount or None
    function = FunctionType(
        code, original.__globals__, original.__name__, defaults, original.__closure__
    )
    kwonly = code.co_varnames[code.co_argcount : code.co_argcount + code.co_kwonlyargcount]
    function.__kwdefaults__ = dict.fromkeys(kwonly) or None
    function.__qualname__ = original.__qualname__
    return function


# -- keys --------------------------------------------------------------------------------------


def _entry_of(
    where: str, function: FunctionType, hooks: FrameHooks | None, routes: GlobalRoutes | None
) -> tuple[str, bytes] | None:
    """The path of `function`'s entry and the key it must carry, or None if it has none."""
    try:
        key = marshal.dumps(  # version 2: no back-references, so the bytes depend on the values
            (  # alone (later versions' depend on reference counts: another process, other bytes)
                _FORMAT,
                sys.version,
                sys.implementation.cache_tag,
                _library_stamp(),
                function.__module__,
                function.__qualname__,
                _code_key(function.__code__),
                _hooks_shape(hooks),
                None if routes is None else tuple(sorted(routes.names)),
            ),
            _MARSHAL_KEY,
        )
    except (ValueError, OSError):  # an unmarshallable constant; an unreadable folder
        return None
    name = f"{function.__module__}.{function.__qualname__}"[:150]
    path = os.path.join(where, sys.implementation.cache_tag, name, f"{zlib.crc32(key):08x}")
    return path, key


def _code_key(code: CodeType) -> tuple:
    """Everything of `code` as plain values, its line table included (the rewrite copies line
    numbers), and frozensets sorted (their order depends on the process's hash seed)."""
    return (
        code.co_code,
        tuple(_const_key(const) for const in code.co_consts),
        code.co_names,
        code.co_varnames,
        code.co_cellvars,
        code.co_freevars,
        code.co_filename,
        code.co_name,
        code.co_qualname,
        code.co_firstlineno,
        code.co_linetable,
        code.co_exceptiontable,
        code.co_flags,
        code.co_argcount,
        code.co_posonlyargcount,
        code.co_kwonlyargcount,
        code.co_stacksize,
    )


def _const_key(const: Any) -> Any:
    if isinstance(const, CodeType):
        return ("code", _code_key(const))
    if type(const) is frozenset:
        return ("frozenset", tuple(sorted((type(item).__name__, repr(item)) for item in const)))
    if type(const) is tuple:
        return ("tuple", tuple(_const_key(item) for item in const))
    return (type(const).__name__, const)


def _library_stamp() -> bytes:
    """The library's version, and the name, size and modification time of every source file
    of the engine and of `bytecode` (read once per process)."""
    if not _stamp:
        from importlib.util import find_spec

        from .._version import __version__

        parts: list = [__version__]
        spec = find_spec("bytecode")
        folders = [os.path.dirname(__file__)]
        folders += list(getattr(spec, "submodule_search_locations", None) or [])
        for path in folders:
            with os.scandir(path) as entries:
                files = sorted((e.name, e.stat()) for e in entries if e.name.endswith(".py"))
                parts += [(name, stat.st_size, stat.st_mtime_ns) for name, stat in files]
        _stamp.append(marshal.dumps(parts, _MARSHAL_KEY))
    return _stamp[0]


def _hooks_shape(hooks: FrameHooks | None) -> tuple | None:
    if hooks is None:
        return None
    present = tuple(getattr(hooks, name) is not None for name in FrameHooks.__slots__)
    return (*present, hooks.enter_gate is hooks.leave_gate)


# -- entries -----------------------------------------------------------------------------------


def _portable_info(
    info: FunctionInfo, hooks: FrameHooks | None, routes: GlobalRoutes | None
) -> dict | None:
    known = _known_objects(hooks, routes)
    try:
        return {
            "code": _portable_code(info.normal_code, known),
            "fingerprint": info.fingerprint,
            "sites": info.sites,
            "labels": info.labels,
            "label_sites": info.label_sites,
            "restore_names": info.restore_names,
            "user_locals": info.user_locals,
            "has_cells": info.has_cells,
            "routes_globals": info.routes_globals,
            "site_map": info.site_map,
            "label_globals": _label_globals(info),
            "address_values": _address_values(info.function, _address_keys(info)),
            "variants": _gate_variants(info, hooks),
        }
    except _NotPortable as exc:
        _debug("code cache: %s is not cached (%s)", info.qualname, exc)
        return None


#: The sets of the hooks' gates whose variants (variants.py) an entry carries: those the dialog
#: layer asks for (``_call_modes``), each patched in a scan of the whole code.
_VARIANT_ROLES = (("enter_gate",), ("enter_gate", "leave_gate"))


def _gate_variants(info: FunctionInfo, hooks: FrameHooks | None) -> dict[tuple, bytes]:
    """The bytecode of the normal code's variants without the checks of the hooks' gates
    (same length and offsets: only the bytecode differs), by the gates' roles."""
    from .variants import without_gates

    variants = {}
    for roles in _VARIANT_ROLES:
        gates = _gates(hooks, roles)
        if gates is not None:
            variants[roles] = without_gates(info, gates).co_code
    return variants


def _gates(hooks: FrameHooks | None, roles: tuple[str, ...]) -> frozenset | None:
    gates = [getattr(hooks, role, None) for role in roles]
    return None if None in gates else frozenset(gates)


def _variant_codes(
    code: CodeType, hooks: FrameHooks | None, saved: dict
) -> list[tuple[frozenset, CodeType]]:
    variants = []
    for roles, raw in saved.items():
        gates = _gates(hooks, roles)
        if gates is None or len(raw) != len(code.co_code):
            raise ValueError(f"the variant without {roles} does not fit")
        variants.append((gates, code.replace(co_code=raw)))
    return variants


def _label_globals(info: FunctionInfo) -> dict[str, str | None]:
    """The globals the function's code names, each with its value if a string (an
    ``ADDRESS=`` may name one: the labels found depend on it)."""
    namespace = info.function.__globals__
    names = set(info.original_code.co_names)
    return {name: _string_or_none(namespace.get(name)) for name in sorted(names)}


def _address_keys(info: FunctionInfo) -> list[str]:
    """The globals and class attributes the function's ``ADDRESS=`` arguments read."""
    from .sites import address_expressions  # the analysis's vocabulary: at store time only

    return sorted({key for key in address_expressions(info.flow).values() if key is not None})


def _address_values(function: FunctionType, keys: list[str]) -> dict[str, str | None]:
    """Each of `keys` with the label it gives now (label_values.py: a constant defined below
    the function, read from the module's code, or a class attribute)."""
    namespace = function.__globals__
    return {key: label_value(namespace, key) for key in keys}


def _string_or_none(value: Any) -> str | None:
    return value if type(value) is str else None


def _load(
    entry: tuple[str, bytes],
    function: FunctionType,
    hooks: FrameHooks | None,
    routes: GlobalRoutes | None,
) -> FunctionInfo | None:
    data = _read(*entry)
    if data is None:
        return None
    original = function.__code__
    try:
        if _label_globals_now(function, data["label_globals"]) != data["label_globals"]:
            return None
        address_values = data["address_values"]
        if _address_values(function, list(address_values)) != address_values:
            return None
        code = _restored_code(data["code"], hooks, routes)
        variants = _variant_codes(code, hooks, data["variants"])
        label_globals = {**data["label_globals"], **address_values}
        info = FunctionInfo(
            function=function,
            module=function.__module__,
            qualname=function.__qualname__,
            fingerprint=data["fingerprint"],
            original_code=original,
            flow=None,
            sites=data["sites"],
            labels=data["labels"],
            label_sites=data["label_sites"],
            hooks=hooks,
            restore_names=data["restore_names"],
            user_locals=data["user_locals"],
            has_cells=data["has_cells"],
            routes_globals=data["routes_globals"],
            normal_code=code,
            site_map=data["site_map"],
            layout=None,
            analyse=lambda: _analysis(original, label_globals, hooks, routes),
        )
    except Exception as exc:  # noqa: BLE001 - any unusable entry is built again
        _debug("code cache: entry of %s not used (%s)", function.__qualname__, exc)
        return None
    _entries[id(info)] = entry
    register(info)
    for gates, variant in variants:
        register_variant(info, gates, variant)
    function.__code__ = code
    return info


def _label_globals_now(function: FunctionType, saved: dict) -> dict:
    namespace = function.__globals__
    return {name: _string_or_none(namespace.get(name)) for name in saved}


def _analysis(
    original: CodeType,
    label_globals: dict[str, str | None],
    hooks: FrameHooks | None,
    routes: GlobalRoutes | None,
) -> tuple[Any, Any]:
    """The analysis and rewritten layout of a function whose code came from the cache: the
    build, run again (it is deterministic: the same code, hooks and routes, and the string
    values its globals had when it was decorated, which decide its labels)."""
    from .instrument import analysis_of

    return analysis_of(original, label_globals, hooks, routes)


def _read(path: str, key: bytes) -> dict | None:
    """The entry at `path` if it is whole and carries `key`, else None."""
    try:
        with open(path, "rb") as handle:
            blob = handle.read()
    except OSError:
        return None
    header = len(_MAGIC) + 4
    if len(blob) < header or not blob.startswith(_MAGIC):
        return None
    payload = blob[header:]
    if zlib.crc32(payload).to_bytes(4, "little") != blob[len(_MAGIC) : header]:
        return None
    try:
        stored_key, data = pickle.loads(payload)
    except Exception:  # noqa: BLE001 - unreadable: built again
        return None
    return data if stored_key == key and isinstance(data, dict) else None


def _store(path: str, key: bytes, data: dict | None) -> None:
    """Write the entry atomically (a whole file renamed into place); failures are ignored."""
    if data is None:
        return
    try:
        payload = pickle.dumps((key, data), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001 - a record that does not pickle: no entry
        _debug("code cache: %s not written (%s)", path, exc)
        return
    blob = _MAGIC + zlib.crc32(payload).to_bytes(4, "little") + payload
    temporary = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(temporary, "wb") as handle:
            handle.write(blob)
        os.replace(temporary, path)
    except OSError as exc:
        _debug("code cache: %s not written (%s)", path, exc)
        try:
            os.unlink(temporary)
        except OSError:
            pass


def _evict(path: str) -> None:
    """Bound the cache after writing the entry at `path`: its function's folder keeps its
    newest `_KEEP_PER_FUNCTION` entries, and (once per process) the cache tag's folder its
    `_KEEP_FUNCTIONS` most recently written functions' folders and no file of an older layout.
    A process that still needs a deleted entry builds it again."""
    function_folder = os.path.dirname(path)
    _keep_newest(function_folder, _KEEP_PER_FUNCTION)
    tag_folder = os.path.dirname(function_folder)
    if tag_folder not in _pruned:
        _pruned.add(tag_folder)
        _keep_newest(tag_folder, _KEEP_FUNCTIONS)


def _keep_newest(folder: str, keep: int) -> None:
    """Delete all but the `keep` newest items of `folder`: entries (with their twins) in a
    function's folder, functions' folders (and stray files) in a cache tag's folder."""
    import shutil  # a process that writes no entry never imports it

    try:
        with os.scandir(folder) as items:
            found = [(_written(item), item) for item in items if not item.name.endswith(".twin")]
    except OSError:
        return
    current = sorted((pair for pair in found if _current(pair[1])), key=lambda pair: -pair[0])
    for _, item in current[keep:] + [pair for pair in found if not _current(pair[1])]:
        try:
            if item.is_dir(follow_symlinks=False):
                shutil.rmtree(item.path, ignore_errors=True)
            else:
                os.unlink(item.path)
                if os.path.exists(item.path + ".twin"):
                    os.unlink(item.path + ".twin")
        except OSError:
            pass  # another process deleted it first, or it is in use: left for a later pass


def _written(item: os.DirEntry) -> int:
    try:
        return item.stat(follow_symlinks=False).st_mtime_ns
    except OSError:
        return 0


def _current(item: os.DirEntry) -> bool:
    """Whether `item` has this layout's shape: a function's folder, or an entry in one (an
    older layout wrote entries as files beside the functions' folders)."""
    if item.is_dir(follow_symlinks=False):
        return True
    name = item.name
    return len(name) == 8 or name.endswith(".tmp")


# -- constants marshal cannot write ------------------------------------------------------------

#: Engine modules searched first for a constant's name (those a cached turn imports anyway).
_PREFERRED = ("runtime", "errors", "registry", "hidden")


def _known_objects(hooks: FrameHooks | None, routes: GlobalRoutes | None) -> dict[int, tuple]:
    """id -> where to find it again, for the objects generated code may hold as constants:
    the hooks, the routes' callbacks, and the globals of the engine's modules."""
    known = dict(_engine_objects())
    for owner, kind in ((routes, "route"), (hooks, "hook")):  # the hooks' own first
        if owner is not None:
            known.update((id(getattr(owner, name)), (kind, name)) for name in owner.__slots__)
    return known


#: (the engine modules loaded, id -> (module, name) of their globals), made when they change.
_engine_index: list = [(), {}]


def _engine_objects() -> dict[int, tuple]:
    package = __name__.rpartition(".")[0]
    loaded = tuple(name for name in sys.modules if name.startswith(package + "."))
    if loaded != _engine_index[0]:
        names = [f"{package}.{name}" for name in _PREFERRED]
        objects: dict[int, tuple] = {}
        for module_name in [*names, *sorted(loaded)]:
            module = sys.modules.get(module_name)
            for name, value in vars(module).items() if module is not None else ():
                objects.setdefault(id(value), ("engine", module_name, name))
        _engine_index[:] = [loaded, objects]
    return _engine_index[1]


def _portable_code(code: CodeType, known: dict[int, tuple]) -> tuple[bytes, list]:
    """`code` as marshalled bytes with its unmarshallable constants left out, and where each
    of those is found again: [(path of constant indexes, where)]."""
    references: list = []
    stripped = _stripped(code, known, (), references)
    return marshal.dumps(stripped), references


def _stripped(code: CodeType, known: dict[int, tuple], path: tuple, references: list) -> CodeType:
    consts = list(code.co_consts)
    for index, const in enumerate(consts):
        if isinstance(const, CodeType):
            consts[index] = _stripped(const, known, (*path, index), references)
            continue
        try:
            marshal.dumps(const)
        except ValueError:
            references.append(((*path, index), _where(const, known)))
            consts[index] = None
    return code.replace(co_consts=tuple(consts))


def _where(const: Any, known: dict[int, tuple]) -> tuple:
    if type(const) is tuple:  # immutable: rebuilt from its items, whoever holds it
        return ("tuple", tuple(_where_in_tuple(item, known) for item in const))
    where = known.get(id(const))
    if where is not None:
        return where
    raise _NotPortable(f"constant {const!r} of type {type(const).__qualname__}")


def _where_in_tuple(item: Any, known: dict[int, tuple]) -> tuple:
    try:
        marshal.dumps(item)
    except ValueError:
        return _where(item, known)
    return ("value", item)


def _restored_code(
    portable: tuple[bytes, list], hooks: FrameHooks | None, routes: GlobalRoutes | None
) -> CodeType:
    raw, references = portable
    code = marshal.loads(raw)
    if not isinstance(code, CodeType):
        raise TypeError("not a code object")
    for path, where in references:
        code = _put(code, path, _found(where, hooks, routes))
    return code


def _put(code: CodeType, path: tuple, value: Any) -> CodeType:
    consts = list(code.co_consts)
    index = path[0]
    consts[index] = value if len(path) == 1 else _put(consts[index], path[1:], value)
    return code.replace(co_consts=tuple(consts))


def _found(where: tuple, hooks: FrameHooks | None, routes: GlobalRoutes | None) -> Any:
    kind = where[0]
    if kind == "value":
        return where[1]
    if kind == "tuple":
        return tuple(_found(item, hooks, routes) for item in where[1])
    if kind in ("hook", "route"):
        owner = hooks if kind == "hook" else routes
        value = getattr(owner, where[1])
        if value is None:
            raise LookupError(f"no {kind} {where[1]}")
        return value
    module = sys.modules.get(where[1])
    if module is None:
        import importlib

        module = importlib.import_module(where[1])
    return vars(module)[where[2]]
