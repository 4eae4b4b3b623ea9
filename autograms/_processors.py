"""AutoGRAMS' processors: one turn of a program on the current memory (`ReplyProcessor`), and
the next turn run several times from the same state (`BatchProcessor`, for sampling
alternative continuations in simulations).

Both run the program through an `Autogram` made from the current memory's config, model and
modes, so a turn is the same transaction as ``Autogram.reply``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._parallel import parallel_wrapper
from ._turns import AutogramsReturn
from .autogram import Autogram
from .memory import MemoryObject, require_memory


def _autogram_for(root_function: Callable[..., Any], memory: MemoryObject) -> Autogram:
    return Autogram(
        root_function,
        memory.config,
        test_mode=memory.test_mode,
        supervisor_mode=memory.supervisor_mode,
        model=memory.model,
    )


class ReplyProcessor:
    """Called (inside ``use_memory(memory)``), runs one turn of `root_function` on the
    current memory with the user's `user_reply`; returns ``(reply, memory)``."""

    def __init__(self, root_function: Callable[..., Any], user_reply: str) -> None:
        self.root_function = root_function
        self.user_reply = user_reply

    def __call__(self, **kwargs: Any) -> tuple[str | None, MemoryObject]:
        memory = require_memory("ReplyProcessor()")
        autogram = _autogram_for(self.root_function, memory)
        return autogram.reply(self.user_reply, memory_object=memory, **kwargs)


class BatchProcessor:
    """Called (inside ``use_memory(memory)``), runs the next turn of `root_function`
    `batch_size` times, each on its own copy of the current memory (which is not changed);
    returns an `AutogramsReturn` per run, as a root call gives (``result.data["reply"]``,
    ``result.memory``)."""

    def __init__(self, root_function: Callable[..., Any], batch_size: int) -> None:
        self.root_function = root_function
        self.batch_size = batch_size

    def __call__(self, **kwargs: Any) -> list[AutogramsReturn]:
        memory = require_memory("BatchProcessor()")
        autogram = _autogram_for(self.root_function, memory)
        state = autogram.serialize(memory)

        def next_turn() -> AutogramsReturn:
            return autogram.apply(memory_object=autogram.deserialize(state), **kwargs)

        return parallel_wrapper(next_turn, [{}] * self.batch_size, with_autograms_memory=False)
