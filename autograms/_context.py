"""Which session's memory is current: one ContextVar, so every thread and asyncio task has its
own and concurrent sessions never see each other.

Kept apart from `autograms.memory` so that the modules the memory itself uses (persistent
globals) can find the current memory without importing it.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any

from . import _call_modes
from ._call_modes import ENTRY_GATE
from ._errors import ConversationError

if TYPE_CHECKING:
    from .memory import MemoryObject

_current: ContextVar[MemoryObject | None] = ContextVar("autograms_memory", default=None)
#: the working memories of the turns running now, in every thread, once a module has
#: persistent globals (`track_turns`; None before: turns cost nothing more)
running: set[MemoryObject] | None = None


def get_memory() -> MemoryObject | None:
    """The memory of the session running in this thread or task, or None."""
    return _current.get()


def track_turns() -> None:
    """Keep `running` from now on (a module declared persistent globals)."""
    global running
    if running is None:
        running = set()


def running_turns() -> list[MemoryObject]:
    """The working memories of the turns running now, in any thread: a thread a turn starts
    has no current memory of its own (threads do not inherit context variables)."""
    return list(running or ())


def require_memory(what: str) -> MemoryObject:
    """The current memory, or a ConversationError saying `what` needs one."""
    memory = _current.get()
    if memory is None:
        raise ConversationError(
            f"{what} needs a running conversation: call it from a program driven by "
            "Autogram.reply(), or inside `with use_config(...)`",
            function=what,
        )
    return memory


def set_memory(memory: MemoryObject | None) -> Token:
    """Make `memory` current; returns the token `reset_memory` takes."""
    previous = _current.get()
    token = _current.set(memory)
    _count_entry(previous, memory)
    return token


def reset_memory(token: Token) -> None:
    """Undo the `set_memory` that returned `token`."""
    previous = _current.get()
    _current.reset(token)
    _count_entry(previous, _current.get())


def clear_memory() -> None:
    """Make no memory current."""
    set_memory(None)


def _count_entry(previous: Any, current: Any) -> None:
    was, now = _needs_entry(previous), _needs_entry(current)
    if now and not was:
        ENTRY_GATE.open()
        _call_modes.refresh()
    elif was and not now:
        ENTRY_GATE.close()
        _call_modes.refresh()


def _needs_entry(memory: Any) -> bool:
    return memory is not None and not memory.scopes.lazy
