"""Control of a running program: reply, EXIT, GOTO, RETURNTO, location.

These are the only dialog functions that talk to the continuation engine's pause and jump.
"""

from __future__ import annotations

from typing import Any

from ._record import Record
from . import _frames
from ._position import code_position
from .memory import require_memory


class ReplyPayload(Record):
    """What a program hands back when `reply` ends a turn."""

    __slots__ = ("text", "data", "address")

    text: str
    data: Any
    address: str | None

    def __init__(self, text: str, data: Any = None, address: str | None = None) -> None:
        self.text = text
        self.data = data
        self.address = address


class ExitPayload(Record):
    """What a program hands back when `EXIT` ends a turn."""

    __slots__ = ("data",)

    data: Any

    def __init__(self, data: Any = None) -> None:
        self.data = data

    @property
    def text(self) -> str | None:
        return self.data.get("reply") if isinstance(self.data, dict) else None


def reply(text: str, data: Any = None, ADDRESS: str | None = None) -> str:  # noqa: N803
    """End the turn with `text` for the user; on the next turn, return the user's message.

    `data` travels with the reply to the caller of ``Autogram.reply`` (``memory.reply_data``).
    """
    memory = require_memory("reply()")
    memory.check_may_pause("reply()")
    position = code_position()  # the bot line that replied, through however many helpers
    memory.log_chat_turn(
        str(text),
        line_number=None if position is None else position["line_number"],
        function_name=None if position is None else position["function_name"],
        address=ADDRESS,
    )
    memory.state["reply_data"] = data
    return _frames.pause(ReplyPayload(str(text), data, ADDRESS))


def EXIT(data: Any = None) -> Any:  # noqa: N802 - AutoGRAMS' name
    """End the turn without a reply; the next turn continues after the call.

    A dict `data` with a ``"reply"`` key gives ``Autogram.reply`` that text to return.
    """
    memory = require_memory("EXIT()")
    memory.check_may_pause("EXIT()")
    memory.memory_dict["exit_data"] = data
    memory.state["reply_data"] = data
    return _frames.pause(ExitPayload(data))


def GOTO(destination: str) -> None:  # noqa: N802
    """Re-execute the call labelled ``ADDRESS=destination`` in the current decorated function,
    with its current locals."""
    require_memory("GOTO()").check_may_pause("GOTO()")
    _frames.goto(destination)


def RETURNTO(destination: str) -> None:  # noqa: N802
    """Return to the nearest calling decorated function that has the call labelled
    ``ADDRESS=destination`` and re-execute that call (``finally`` blocks and ``__exit__``
    methods of the functions left behind run)."""
    require_memory("RETURNTO()").check_may_pause("RETURNTO()")
    _frames.returnto(destination)


def location(ADDRESS: str | None = None) -> None:  # noqa: N803
    """A named point in a program: a target for GOTO/RETURNTO, logged as a node."""
    if ADDRESS is not None:
        memory = require_memory("location()")
        memory.set_node(ADDRESS)
