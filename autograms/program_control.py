"""The decorators, at AutoGRAMS' import path ``autograms.program_control``, and the type
checks and debug switch programs written for AutoGRAMS use from it.

``isinstance(obj, AutogramsFunction)`` tells whether `obj` was decorated with
``@autograms_function()`` (AutoGRAMS' decorator returned an ``AutogramsFunction`` object; here
the decorated function stays a function, so this class only answers the check).
``AutogramsReturn`` is the type a root function called directly, and ``Autogram.apply``, give.
"""

from __future__ import annotations

import logging
from typing import Any

from ._turns import AutogramsReturn
from .decorators import (
    autograms_chatbot,
    autograms_external,
    autograms_function,
    autograms_node,
    is_autograms_function,
)


class _DecoratedCheck(type):
    def __instancecheck__(cls, instance: Any) -> bool:
        return is_autograms_function(instance)


class AutogramsFunction(metaclass=_DecoratedCheck):
    """The type of functions decorated with ``@autograms_function()``, for isinstance checks."""

    def __new__(cls, *args: Any, **kwargs: Any) -> AutogramsFunction:
        raise TypeError("decorate a function with @autograms_function() instead")


def set_debug(new_debug: bool = True) -> None:
    """Log the library's debug messages (``logging.getLogger("autograms")`` at DEBUG), or
    stop (False). AutoGRAMS' debug mode also stopped in pdb; this one never does."""
    logging.getLogger("autograms").setLevel(logging.DEBUG if new_debug else logging.NOTSET)


__all__ = [
    "AutogramsFunction",
    "AutogramsReturn",
    "autograms_chatbot",
    "autograms_external",
    "autograms_function",
    "autograms_node",
    "set_debug",
]
