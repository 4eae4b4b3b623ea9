"""Where the program is: the decorated function of the user's code that led to a library call.

Model-call and reply log entries name it, as AutoGRAMS does: the innermost running
``@autograms_function`` and its line there, however many library frames (a helper calling a
helper, a node wrapper, a supervisor) and plain functions of the bot (a helper, a node's
function, a supervisor) lie in between. With no decorated function running (a helper called
under ``use_memory`` from plain code), the first frame outside the library stands in, where
AutoGRAMS logged nothing. The bundled example bots count as user code.
"""

from __future__ import annotations

import sys
from types import CodeType, FrameType
from typing import TypedDict

from ._frames import runs_hooked_function

_LIBRARY = "autograms"
_USER_PACKAGES = ("autograms.examples",)


class CodePosition(TypedDict):
    """A point in the user's code (the shape of AutoGRAMS' ``code_position``)."""

    line_number: int
    function_name: str
    file_name: str


#: module name -> whether it is library code (a reply asks for every frame down to the bot's)
_library_modules: dict[str, bool] = {}
#: (id of a code object, f_lasti) -> (the code object, its line there); computing a frame's
#: line scans its code's line table from the start, which a long function makes slow
_lines: dict[tuple[int, int], tuple[CodeType, int]] = {}
_LINES_SIZE = 4096


def is_library_frame(frame: FrameType) -> bool:
    """Whether `frame` runs code of the library itself (not a bot, not an example)."""
    module = frame.f_globals.get("__name__", "")
    known = _library_modules.get(module)
    if known is None:
        known = _is_library_module(module)
        if len(_library_modules) < _LINES_SIZE:
            _library_modules[module] = known
    return known


def _is_library_module(module: str) -> bool:
    if module != _LIBRARY and not module.startswith(_LIBRARY + "."):
        return False
    return not any(module == p or module.startswith(p + ".") for p in _USER_PACKAGES)


def user_frame() -> FrameType | None:
    """The innermost frame of the current call stack that is not library code."""
    frame = sys._getframe(1)
    while frame is not None and is_library_frame(frame):
        frame = frame.f_back
    return frame


def code_position() -> CodePosition | None:
    """The function (its name, as AutoGRAMS gives it), line and file of the innermost
    decorated function running, else of the user's code that called into the library (None
    when only library code is on the stack)."""
    frame = user_frame()
    if frame is None:
        return None
    frame = _decorated_caller(frame) or frame
    code = frame.f_code
    return CodePosition(
        line_number=line_of(frame),
        function_name=code.co_name,
        file_name=code.co_filename,
    )


def _decorated_caller(frame: FrameType | None) -> FrameType | None:
    """`frame`, or the nearest of its callers, running a decorated function; None if none
    does."""
    while frame is not None and not runs_hooked_function(frame.f_code):
        frame = frame.f_back
    return frame


def line_of(frame: FrameType) -> int:
    """`frame.f_lineno`, remembered by code and instruction (a program pauses at the same
    few places again and again)."""
    code, lasti = frame.f_code, frame.f_lasti
    key = (id(code), lasti)
    known = _lines.get(key)
    if known is not None and known[0] is code:  # an id is reused only once its code is gone
        return known[1]
    line = frame.f_lineno
    if len(_lines) >= _LINES_SIZE:
        _lines.clear()
    _lines[key] = (code, line)
    return line
