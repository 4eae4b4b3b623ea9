"""Which code decorated functions run, so that calls that cannot need their hooks skip them.

A decorated function's hooks (``decorators.py``) have work in two cases only: the entry hook
while a memory is current outside a turn under the engine (`ENTRY_GATE`; such a memory opens
conversation scopes on entry, and a root called there runs a turn), and the leave hook of a
frame that owns a conversation level, which only a frame running inside a turn under the engine
can come to own (``_scopes``). So while `ENTRY_GATE` is closed the decorated functions run a
variant of their code without the entry check, and while moreover no turn runs under the
engine, their original code (``_frames.uninstrumented``; one without any check where the
rewrite also filters ADDRESS keywords or routes globals): called from ordinary code, a
decorated function costs what a plain one costs. Frames keep the code they started with.

A call that starts in plain mode needs nothing of its instrumentation. It cannot pause: a
pause needs a current memory that allows it, and the only memories that can be current in
plain mode are those of ended driven turns. It cannot be jumped into: only functions without
ADDRESS labels get their original code. Its leave hook has nothing to do, even for an
exception: its frame owns no conversation level, since levels belong to frames whose entry
hook opened one (`ENTRY_GATE` open) or that a driven turn made owners (frames above its
driver, which started in turn mode).
"""

from __future__ import annotations

import threading
from types import CodeType, FunctionType

from . import _frames

#: Open while a memory is current (in any thread or task) whose decorated calls must run
#: their entry hook: one outside a turn under the engine.
ENTRY_GATE = _frames.Gate()

_lock = threading.RLock()
#: per mode, every decorated function with its code for that mode (what a switch assigns:
#: two switches a turn, so no lookup per function)
_by_mode: dict[str, list[tuple[FunctionType, CodeType]]] = {"entry": [], "turn": [], "plain": []}
_driven_turns = 0
_mode = "plain"


def add(function: FunctionType) -> None:
    """Make `function` (instrumented with gated hooks) run the code of the current mode."""
    info = _frames.lookup(function.__code__)
    leave_gate = info.hooks.leave_gate
    codes = {
        "entry": info.normal_code,
        "turn": _frames.without_gates(info, frozenset({ENTRY_GATE})),
        "plain": _frames.uninstrumented(info)
        or _frames.without_gates(info, frozenset({ENTRY_GATE, leave_gate})),
    }
    with _lock:
        for mode, code in codes.items():
            _by_mode[mode].append((function, code))
        function.__code__ = codes[_mode]


def refresh() -> None:
    """Switch every decorated function to the code its calls need now (after `ENTRY_GATE`
    opened or closed, or a turn under the engine started or ended)."""
    with _lock:
        _switch()


def _switch() -> None:
    """`refresh`, with `_lock` held."""
    global _mode
    mode = "entry" if ENTRY_GATE.is_open else "turn" if _driven_turns else "plain"
    if mode == _mode:
        return
    _mode = mode
    for function, code in _by_mode[mode]:
        function.__code__ = code


def start_driven_turn() -> None:
    """A turn under the engine starts, in this thread or any other (`end_driven_turn` must
    follow, whatever the turn ends with)."""
    global _driven_turns
    with _lock:
        _driven_turns += 1
        _switch()


def end_driven_turn() -> None:
    """A turn that `start_driven_turn` announced has ended."""
    global _driven_turns
    with _lock:
        _driven_turns -= 1
        _switch()
