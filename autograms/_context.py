"""Which session's memory is current: one ContextVar, so every thread and asyncio task has its
own and concurrent sessions never see each other.

Kept apart from `autograms.memory` so that the modules the memory itself uses (persistent
globals) can find the current memory without importing it.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import TYPE_CHECKING

from ._errors import ConversationError

if TYPE_CHECKING:
    from .memory import MemoryObject

_current: ContextVar[MemoryObject | None] = ContextVar("autograms_memory", default=None)


def get_memory() -> MemoryObject | None:
    """The memory of the session running in this thread or task, or None."""
    return _current.get()


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
    return _current.set(memory)


def reset_memory(token: Token) -> None:
    """Undo the `set_memory` that returned `token`."""
    _current.reset(token)


def clear_memory() -> None:
    """Make no memory current."""
    _current.set(None)
