"""Plain helpers a pause passed through without saving their frames: named in the snapshot,
so that a resume into changed code is refused rather than silently wrong.

A plain helper that, after its pausing call, only returns that call's result (``return
reply(q)``) or a constant is not resumed: its caller gets what it would have returned
(plain_code.py). That relies on the helper's code as it was when the program paused: edited
to ``return reply(q).upper()``, the helper would no longer return the reply untouched. So the
frame that called it saves, with its values, each such helper's module, qualified name and
code fingerprint (`PASSED`), and a load finds the helper's code again and refuses the
snapshot (`CODE_CHANGED`, `FUNCTION_NOT_FOUND`), naming the helper, when it changed or is
gone, or (`HELPER_DECORATED`) when it has been decorated since: its calls would run the
instrumented code, with hooks of their own. Bytecode differs between Python versions, so
each helper's source text is named too (a CRC of its lines): a snapshot loaded by another
Python compares that instead, as the decorated frames around it resume there at their
labels. The check needs the saved values, so it runs when a snapshot is loaded, not when
only its header is checked.

The library's own helpers (``reply`` and its relatives, in the package this engine belongs
to) are not named: they change only with the library, which keeps what they return.
"""

from __future__ import annotations

import sys
import zlib
from types import CodeType, FrameType, FunctionType
from typing import Any

from .errors import Reason, SnapshotMismatchError
from .identity import (
    code_fingerprint,
    find_function,
    fingerprint,
    is_library_code,
    wrapped_functions,
)
from .memo import remember
from .registry import lookup
from .versions import PY_MINOR

#: The saved value (with the values of the frame whose paused call the helpers ran in) that
#: names them, outermost first: one string, a line "module qualname fingerprint python
#: source" for each -- python is the version the fingerprint is of ("3.12"), source the CRC of
#: the helper's lines or "-" when its file cannot be read (a string holds no objects: it costs
#: a snapshot's pickler and its walk next to nothing).
PASSED = "__ag_passed"

#: id(code) -> (code, its line of `PASSED`, or None for library code); the code is kept so its
#: id stays its own. A pause through a helper costs a dictionary lookup once this is filled.
_identities: dict[int, tuple[CodeType, str | None]] = {}
_MAX_CODES = 512


def identities(frames: list[FrameType]) -> str:
    """What a snapshot saves to name the plain helpers running `frames` (see `PASSED`);
    empty when none is to be named."""
    return "\n".join([line for line in map(_identity, frames) if line is not None])


def _identity(frame: FrameType) -> str | None:
    code = frame.f_code
    known = _identities.get(id(code))
    if known is None or known[0] is not code:
        module = frame.f_globals.get("__name__")
        identity = None
        if isinstance(module, str) and not is_library_code(code):
            identity = (
                f"{module} {code.co_qualname} {fingerprint(code)} {_PYTHON} {source_crc(code)}"
            )
        known = (code, identity)
        remember(_identities, id(code), known, _MAX_CODES)
    return known[1]


def check(saved: Any) -> None:
    """Raise SnapshotMismatchError unless every helper `saved` (a `PASSED` value) names still
    runs the code it ran when the program paused."""
    named = [line.split(" ") for line in saved.split("\n")] if isinstance(saved, str) else [[]]
    if not all(len(fields) == 5 for fields in named):
        raise SnapshotMismatchError(
            "the snapshot's record of the plain helpers it paused in is damaged",
            reason=Reason.DAMAGED,
        )
    for module, qualname, saved_fingerprint, python, saved_source in named:
        code = _code_now(module, qualname)
        where = f"the plain helper {module}.{qualname}"
        if code is None:
            raise SnapshotMismatchError(
                f"cannot resume: the program paused in {where}, which no longer exists; a "
                "paused helper resumes only in the code it paused in",
                qualname=qualname,
                module=module,
                reason=Reason.FUNCTION_NOT_FOUND,
            )
        info = lookup(code)
        if info is not None and not info.adopted:
            raise SnapshotMismatchError(
                f"cannot resume: the program paused in {where}, which has been decorated "
                "(@autograms_function) since; a pause that passed through a plain helper "
                "resumes only in that plain helper: finish the conversation with the code it "
                "paused in, or start it again",
                qualname=qualname,
                module=module,
                reason=Reason.HELPER_DECORATED,
            )
        if python != _PYTHON:
            _check_source(code, module, qualname, saved_source, python)
            continue
        now = code_fingerprint(code)
        if now != saved_fingerprint:
            raise SnapshotMismatchError(
                f"cannot resume: the program paused in {where}, whose code changed since "
                f"(fingerprint {now} vs. saved {saved_fingerprint}); a plain helper (not "
                "decorated) resumes only in the code it paused in: finish the conversation "
                "with that code, or decorate the helper and label its pausing call "
                '(ADDRESS="...") to resume across changes',
                qualname=qualname,
                module=module,
                reason=Reason.CODE_CHANGED,
            )


def _check_source(
    code: CodeType, module: str, qualname: str, saved_source: str, python: str
) -> None:
    """Refuse a snapshot saved by another Python unless the helper's source is the same."""
    where = f"the plain helper {module}.{qualname}"
    now = source_crc(code)
    if saved_source == "-" or now == "-":
        raise SnapshotMismatchError(
            f"cannot resume: the program paused in {where} on Python {python} and this is "
            f"Python {_PYTHON}; without its source file the helper's code cannot be compared "
            "across Python versions",
            qualname=qualname,
            module=module,
            reason=Reason.OTHER_PYTHON,
        )
    if now != saved_source:
        raise SnapshotMismatchError(
            f"cannot resume: the program paused in {where}, whose source changed since (CRC "
            f"{now} vs. saved {saved_source}, saved by Python {python}); a plain helper (not "
            "decorated) resumes only in the code it paused in",
            qualname=qualname,
            module=module,
            reason=Reason.CODE_CHANGED,
        )


_PYTHON = f"{PY_MINOR[0]}.{PY_MINOR[1]}"


def source_crc(code: CodeType) -> str:
    """The CRC-32 (hex) of the source lines of `code` (its nested functions' included), or
    "-" when its file cannot be read."""
    try:
        with open(code.co_filename, "rb") as file:
            lines = file.read().splitlines()
    except OSError:
        return "-"
    last = _last_line(code)
    if last < code.co_firstlineno or last > len(lines):
        return "-"
    return format(zlib.crc32(b"\n".join(lines[code.co_firstlineno - 1 : last])), "08x")


def _last_line(code: CodeType) -> int:
    lines = [line for _, _, line in code.co_lines() if line is not None]
    nested = [_last_line(const) for const in code.co_consts if isinstance(const, CodeType)]
    return max(lines + nested, default=0)


#: (module, qualified name) -> the function `find_code` started from, its code then, and
#: the code found: while that function still has that code, the same code is found.
_found: dict[tuple[str, str], tuple[FunctionType, CodeType, CodeType]] = {}


def _code_now(module: str, qualname: str) -> CodeType | None:
    key = (module, qualname)
    known = _found.get(key)
    if known is not None:
        outer = qualname.split(".<locals>.", 1)[0]
        namespace = getattr(sys.modules.get(module), "__dict__", {})
        root = namespace.get(outer) if "." not in outer else None
        if root is None:
            try:
                root = find_function(module, outer)
            except SnapshotMismatchError:
                root = None
        if root is known[0] and root.__code__ is known[1]:
            return known[2]
    code, root = _find(module, qualname)
    if code is not None and root is not None:
        remember(_found, key, (root, root.__code__, code), _MAX_CODES)
    return code


def find_code(module: str, qualname: str) -> CodeType | None:
    """The code named `qualname` in `module` now: a function's, a decorator wrapper's
    (found under the name of the function it wraps), or one defined inside a function
    (``outer.<locals>.inner``, found among its code's constants); None if there is none."""
    return _find(module, qualname)[0]


def _find(module: str, qualname: str) -> tuple[CodeType | None, FunctionType | None]:
    """`find_code`, and the function its search started from."""
    outer = qualname.split(".<locals>.", 1)[0]
    try:
        function = find_function(module, outer)
    except SnapshotMismatchError:
        return None, None
    for candidate in wrapped_functions(function):
        code = _named(candidate.__code__, qualname)
        if code is not None:
            return code, function
    return None, function


def _named(code: CodeType, qualname: str) -> CodeType | None:
    if code.co_qualname == qualname:
        return code
    for const in code.co_consts:
        if isinstance(const, CodeType) and (qualname + ".").startswith(const.co_qualname + "."):
            found = _named(const, qualname)
            if found is not None:
                return found
    return None
