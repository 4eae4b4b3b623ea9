"""Exceptions with their chain and traceback, and tracebacks rebuilt from what they show.

Pickle saves an exception as its class, ``args`` and ``__dict__`` (so ``__notes__`` survive)
and drops ``__cause__``, ``__context__``, ``__suppress_context__`` and ``__traceback__``. Here
those four travel too, set on the exception once it exists (a chain may lead back to it), and
so do the attributes built-in classes keep outside both (an OSError's ``errno`` and
``filename``, an AttributeError's ``name`` and ``obj``, a NameError's ``name``).

A traceback holds live frames and cannot be saved. What it shows can: for every entry, the
file, function and module, the line and the column range (the ``^^^`` of a formatted
traceback). A resume rebuilds a real traceback from that, over stand-in frames whose code
names the same file, function and positions. So ``traceback.format_exception`` prints what it
printed before the pause, except that the frames' locals are gone.

The functions the saved data names (`restore_exception_state`, `traceback_from`) are part of
the snapshot format: keep their module and names.
"""

from __future__ import annotations

import copyreg
import itertools
import sys
import types
from typing import Any

from . import module_objects
from .memo import remember


PROTOCOL = 5

#: One traceback entry: file, function name, qualified name, module, line, and the
#: (line, end line, column, end column) of the instruction it stopped at.
#: (file, name, qualified name, module, line, position, the function's first line); entries
#: saved before the first line was kept have six items.
Entry = tuple

#: Exception class -> whether calling it with an instance's .args rebuilds those .args (not
#: so when __init__ needs other arguments, or formats them into a message); only grows.
_keeps_args_by_class: dict[type, bool] = {}
#: Stand-in code objects by entry, bounded.
_CODE_CACHE_SIZE = 512
_codes: dict[tuple, types.CodeType] = {}
#: Attributes of built-in exception classes that are neither in .args nor in __dict__ (and
#: that their reduction does not always carry: an OSError rebuilt without calling __init__).
_NATIVE_ATTRIBUTES: tuple[tuple[type, tuple[str, ...]], ...] = (
    (OSError, ("errno", "strerror", "filename", "filename2")),
    (AttributeError, ("name", "obj")),
    (NameError, ("name",)),
)
#: The module globals linecache reads a module's source through.
_SOURCE_GLOBALS = ("__file__", "__loader__", "__spec__")


# -- exceptions ------------------------------------------------------------------------------


def reduce_exception(exc: BaseException) -> Any:
    """`exc` as its own reduction plus its chain and traceback."""
    reduction = _own_reduction(exc)
    if not isinstance(reduction, tuple) or len(reduction) > 3:
        return NotImplemented  # a custom protocol: leave it to pickle (the chain is lost)
    factory, args = reduction[0], module_objects.referenced_items(reduction[1])
    own_state = reduction[2] if len(reduction) > 2 else None
    native = _native_attributes(exc)
    if native and (own_state is None or isinstance(own_state, dict)):
        own_state = {**(own_state or {}), **native}
    if isinstance(own_state, dict):
        own_state = module_objects.referenced_values(own_state)
    chain = (exc.__cause__, exc.__context__, exc.__suppress_context__, exc.__traceback__)
    return (factory, args, (own_state, *chain), None, None, restore_exception_state)


def _native_attributes(exc: BaseException) -> dict[str, Any]:
    """The attributes of `exc` its built-in classes keep outside .args and __dict__, those set
    (an OSError's str shows a filename2 set to None, unlike one never set)."""
    found = {}
    for kind, names in _NATIVE_ATTRIBUTES:
        if isinstance(exc, kind):
            found.update((name, getattr(exc, name)) for name in names)
    return {name: value for name, value in found.items() if value is not None}


def _own_reduction(exc: BaseException) -> tuple:
    """The exception's own reduction; for a class whose __init__ does not keep the arguments
    it is called with as .args, one that rebuilds it without calling __init__."""
    kind = type(exc)
    reduction = exc.__reduce_ex__(PROTOCOL)
    if reduction[0] is kind and not _keeps_args(kind, reduction[1]):
        return (copyreg.__newobj__, (kind,), {**exc.__dict__, "args": exc.args})
    return reduction


def _keeps_args(kind: type, args: tuple) -> bool:
    """Whether ``kind(*args)`` makes an exception whose .args are `args` (tried once per
    class, with the first instance saved)."""
    verdict = _keeps_args_by_class.get(kind)
    if verdict is None:
        try:
            rebuilt = kind(*args)
            verdict = type(rebuilt) is kind and bool(rebuilt.args == args)
        except Exception:  # noqa: BLE001 - any failure: rebuild without calling __init__
            verdict = False
        _keeps_args_by_class[kind] = verdict
    return verdict


def restore_exception_state(exc: BaseException, state: tuple) -> None:
    """Give a rebuilt exception its own state, then its chain and traceback."""
    own_state, cause, context, suppress_context, traceback = state
    if own_state is not None:
        exc.__setstate__(own_state)
    exc.__cause__ = cause
    exc.__context__ = context
    exc.__suppress_context__ = suppress_context
    exc.__traceback__ = traceback


# -- tracebacks ------------------------------------------------------------------------------


def reduce_traceback(traceback: types.TracebackType) -> tuple:
    return (traceback_from, (tuple(_entries(traceback)),))


def _entries(traceback: types.TracebackType | None) -> list[Entry]:
    entries = []
    while traceback is not None:
        frame, code = traceback.tb_frame, traceback.tb_frame.f_code
        entries.append(
            (
                code.co_filename,
                code.co_name,
                code.co_qualname,
                frame.f_globals.get("__name__"),
                traceback.tb_lineno,
                _position(code, traceback.tb_lasti),
                code.co_firstlineno,
            )
        )
        traceback = traceback.tb_next
    return entries


def _position(code: types.CodeType, lasti: int) -> tuple:
    if lasti < 0:
        return (None, None, None, None)
    return next(itertools.islice(code.co_positions(), lasti // 2, None), (None,) * 4)


def traceback_from(entries: tuple[Entry, ...]) -> types.TracebackType | None:
    """A traceback showing `entries` (outermost first)."""
    traceback = None
    for entry in reversed(entries):
        frame = _stand_in_frame(entry)
        traceback = types.TracebackType(traceback, frame, 0, entry[4])
    return traceback


_getframe = sys._getframe


def _capture() -> types.FrameType:
    return _getframe()


def _stand_in_frame(entry: Entry) -> types.FrameType:
    """A finished frame whose code shows `entry`'s file, names and position, and which has no
    locals; its globals are those of `entry`'s module that linecache reads source through."""
    filename, name, qualname, module, lineno, position = entry[:6]
    code = _codes.get(entry)
    if code is None:
        template = _capture.__code__
        shown = position[0] if position[0] is not None else lineno
        first = entry[6] if len(entry) > 6 else shown
        code = template.replace(
            co_filename=filename,
            co_name=name,
            co_qualname=qualname,
            co_firstlineno=first,
            co_linetable=location_table(len(template.co_code) // 2, position, first),
        )
        remember(_codes, entry, code, _CODE_CACHE_SIZE)
    found = vars(sys.modules[module]) if module in sys.modules else {}
    namespace = {name: found.get(name) for name in _SOURCE_GLOBALS}
    namespace.update(__name__=module, _getframe=_getframe)
    return types.FunctionType(code, namespace)()


def location_table(units: int, position: tuple, first: int | None = None) -> bytes:
    """A ``co_linetable`` giving every one of `units` code units `position` (line, end line,
    column, end column), for code whose first line is `first` (by default the position's
    line) (format of CPython 3.11-3.13, Objects/locations.md: each entry's line is a delta
    from the one before, the first from the first line)."""
    line, end_line, column, end_column = position
    delta = 0 if first is None or line is None else line - first
    table = bytearray()
    for start in range(0, units, 8):
        length = min(8, units - start)
        if line is None:
            table.append(0x80 | (15 << 3) | (length - 1))
        elif column is None or end_column is None or end_line is None:
            table.append(0x80 | (13 << 3) | (length - 1))
            table += _svarint(delta)
        else:
            table.append(0x80 | (14 << 3) | (length - 1))
            table += _svarint(delta) + _varint(end_line - line) + _varint(column + 1)
            table += _varint(end_column + 1)
        delta = 0
    return bytes(table)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 64:
        out.append(0x40 | (value & 63))
        value >>= 6
    out.append(value)
    return bytes(out)


def _svarint(value: int) -> bytes:
    return _varint((-value << 1) | 1 if value < 0 else value << 1)
