"""Where the program is: the innermost frame of the user's code that led to a library call.

Model-call and reply log entries name it, so a log says which bot function asked, not which
helper did the asking. The frames are walked up to the first one whose module is not part of
the library, however many library frames lie in between (a helper calling a helper, a node
wrapper, a supervisor); the bundled example bots count as user code.
"""

from __future__ import annotations

import sys
from types import CodeType, FrameType
from typing import TypedDict

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
    """The function, line and file of the user's code that called into the library (None
    when only library code is on the stack)."""
    frame = user_frame()
    if frame is None:
        return None
    code = frame.f_code
    return CodePosition(
        line_number=line_of(frame),
        function_name=code.co_qualname,
        file_name=code.co_filename,
    )


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
