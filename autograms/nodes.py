"""Node-style helpers: called with ``ADDRESS="label"``, each logs that node, then does what
its `autograms.functional` namesake does. The AutoGRAMS import path ``autograms.nodes``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import _control, _model_helpers
from ._control import location
from .decorators import autograms_node
from ._helper_call import model_options
from .memory import get_memory, require_memory


def _enter_node(address: str | None, *, replying: bool = False) -> None:
    """Log the node `address`; the reply of a `replying` node names it as ``last_node``."""
    memory = get_memory()
    if address is not None and memory is not None:
        memory.set_node(address, replying=replying)


def reply(text: str, data: Any = None, ADDRESS: str | None = None, **kwargs: Any) -> str:  # noqa: N803
    """Log the node, then `functional.reply`. The keywords a model helper takes are accepted
    for AutoGRAMS compatibility and have no effect (a fixed reply calls no model)."""
    memory = require_memory("reply()")
    model_options("reply", kwargs, memory.test_mode, supervised="supervisor" in kwargs)
    _enter_node(ADDRESS, replying=True)
    return _control.reply(text, data=data, ADDRESS=ADDRESS)


def reply_instruction(
    instruction: str,
    data: Any = None,
    ADDRESS: str | None = None,  # noqa: N803
    **kwargs: Any,
) -> str:
    """Log the node, then `functional.reply_instruction`."""
    _enter_node(ADDRESS, replying=True)
    return _model_helpers.reply_instruction(instruction, data=data, ADDRESS=ADDRESS, **kwargs)


def reply_suffix(
    instruction: str,
    data: Any = None,
    ADDRESS: str | None = None,  # noqa: N803
    **kwargs: Any,
) -> str:
    """Log the node, then `functional.reply_suffix`."""
    _enter_node(ADDRESS, replying=True)
    return _model_helpers.reply_suffix(instruction, data=data, ADDRESS=ADDRESS, **kwargs)


def thought(instruction: str, ADDRESS: str | None = None, **kwargs: Any) -> str:  # noqa: N803
    """Log the node, then `functional.thought` (the thought is remembered)."""
    _enter_node(ADDRESS)
    return _model_helpers.thought(instruction, **kwargs)


def silent_thought(instruction: str, ADDRESS: str | None = None, **kwargs: Any) -> str:  # noqa: N803
    """Log the node, then `functional.silent_thought`."""
    _enter_node(ADDRESS)
    return _model_helpers.silent_thought(instruction, **kwargs)


def TRANSITION(
    transition_question: str,
    transitions: Mapping[str, str],  # noqa: N802
    max_turns: int | None = 1,
    ADDRESS: str | None = None,
    **kwargs: Any,
) -> None:  # noqa: N803
    """Log the node, then `functional.TRANSITION`."""
    _enter_node(ADDRESS)
    _model_helpers.TRANSITION(transition_question, transitions, max_turns, **kwargs)


def as_node(
    func: Callable[..., Any],
    ADDRESS: str | None = None,
    *args: Any,  # noqa: N803
    **kwargs: Any,
) -> Any:
    """Call ``func(*args, **kwargs)`` as the node `ADDRESS` (a reply it makes names the node
    as its ``last_node``)."""
    _enter_node(ADDRESS, replying=True)
    result = func(*args, **kwargs)
    memory = get_memory()
    if ADDRESS is not None and memory is not None:
        memory.leave_node()
    return result


__all__ = [
    "TRANSITION",
    "as_node",
    "autograms_node",
    "location",
    "reply",
    "reply_instruction",
    "reply_suffix",
    "silent_thought",
    "thought",
]
