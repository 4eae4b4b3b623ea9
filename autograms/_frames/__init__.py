"""The continuation engine: pause a running Python program deep inside nested calls, save it as
plain picklable data, and resume it exactly, in this process or another.

It knows nothing of chat. The dialog layer uses:

    instrument(fn, hooks, routes)
                                 rewrite a function once so it can pause and be jumped into
    run(fn, args, kwargs, attachment=...)
                                 call it until it returns (Finished) or pauses (Paused);
                                 attachment() is saved in the snapshot with the frames
    pause(payload)               from anywhere below: snapshot and unwind the program
    check(snapshot) -> int       check a snapshot's frames against the code (no unpickling);
                                 how many it holds
    load(snapshot) -> Loaded     check a snapshot against the code (before unpickling), load it
    resume(snapshot | Loaded, value)
                                 continue; the pausing call returns `value`
    store(loaded), pack(attachment)
                                 serialize a loaded snapshot again / a frame-less snapshot
    goto(label) / returnto(label)
    Reason                       the codes of ContinuationError.reason
    mark_transparent(wrapper)    a decorator's wrapper a pause may pass through
    route_function(fn, routes)   send a plain function's accesses to chosen globals to routes
    describe(snapshot)           the paused frames, for display
    Gate, hooked_frames(start, stop)
                                 a switch that hooks skip inline while closed; the frames of
                                 hooked functions on the stack
    without_gates(info, gates)   the normal code with those gates' checks left out
    uninstrumented(info)         the original code, where it does what the normal code does
                                 for calls that need no hook and cannot pause or jump
    fit(snapshot, labels) -> [FrameFit]
                                 how each paused frame fits changed code (no unpickling)
    relabel(snapshot, labels) -> (Loaded, [FrameFit])
                                 load it with frames moved to labels a mapping names
    relabel_header(snapshot, labels)  the same as bytes, header only (None: values needed)
    attachment_of(snapshot)      the attachment alone, whatever the frames
    set_attachment_values(reader)
                                 where an attachment holds program values (looked into for
                                 module-level objects as the frames' locals are)

Importing it on an interpreter whose bytecode it does not know raises UnsupportedPythonError.
"""

from .versions import SUPPORTED  # noqa: I001 - must come first: refuses unknown interpreters

import sys as _sys
import types as _types

from .attachment_values import set_reader as set_attachment_values
from .describe import PendingFrameInfo, describe
from .driver import Finished, Outcome, Paused, resume, run
from .errors import (
    ContinuationError,
    Reason,
    SnapshotMismatchError,
    UnpicklableLocalError,
    UnsupportedPythonError,
)
from .code_cache import instrument
from .jumps import goto, returnto
from .pickling import writing as writing_snapshot
from .registry import (
    FrameHooks,
    FunctionInfo,
    Gate,
    lookup,
    mark_transparent,
    runs_hooked_function,
)
from .remap import Fit, FrameFit, attachment_of, fit, relabel, relabel_header
from .resume import Loaded, check, load, pack, store
from .routing import GlobalRoutes, route_function
from .snapshot import hooked_frames, pause
from .variants import uninstrumented, without_gates


class _Package(_types.ModuleType):
    """This package, whose `instrument` stays the function (code_cache.instrument): the
    rewrite module of the same name (instrument.py) is imported only when a function is not
    in the code cache, and the import system then binds the module over the name.

    Its dir() leaves the engine's modules out: code that walks a package through dir(),
    following every module attribute with no record of what it has seen (AutoGRAMS' seed
    agent lists the library's functions that way), reached each engine module through
    thousands of import paths (the dialog layer's modules import this package, its modules
    each other) and took minutes. They stay attributes, as the import system binds them."""

    def __setattr__(self, name: str, value: object) -> None:
        if name == "instrument" and isinstance(value, _types.ModuleType):
            return
        super().__setattr__(name, value)

    def __dir__(self) -> list[str]:
        return [
            name
            for name in super().__dir__()
            if not isinstance(self.__dict__.get(name), _types.ModuleType)
        ]


_sys.modules[__name__].__class__ = _Package

__all__ = [
    "SUPPORTED",
    "ContinuationError",
    "Finished",
    "Fit",
    "FrameFit",
    "FrameHooks",
    "FunctionInfo",
    "Gate",
    "GlobalRoutes",
    "Loaded",
    "Outcome",
    "Paused",
    "PendingFrameInfo",
    "Reason",
    "SnapshotMismatchError",
    "UnpicklableLocalError",
    "UnsupportedPythonError",
    "attachment_of",
    "check",
    "describe",
    "fit",
    "goto",
    "hooked_frames",
    "instrument",
    "load",
    "lookup",
    "mark_transparent",
    "pack",
    "pause",
    "relabel",
    "relabel_header",
    "resume",
    "returnto",
    "runs_hooked_function",
    "route_function",
    "run",
    "set_attachment_values",
    "store",
    "uninstrumented",
    "without_gates",
    "writing_snapshot",
]
