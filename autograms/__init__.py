"""autograms: chatbots (and other long-running interactive programs) as ordinary Python
functions that pause at ``reply()`` and resume later, in any process.

    from autograms import Autogram, autograms_function
    from autograms.functional import reply, yes_or_no

    @autograms_function()
    def chatbot():
        name = reply("Hi! What is your name?")
        ...

    autogram = Autogram(root_function=chatbot, test_mode=True)
    text, memory = autogram.reply()
    text, memory = autogram.reply("Ada", memory_object=memory)
"""

from ._errors import (
    AutogramsError,
    ConfigError,
    ContinuationError,
    ConversationError,
    DecisionError,
    ModelCallError,
    ModelError,
    SessionCodeError,
    SessionError,
    SessionFormatError,
    SessionSignatureError,
)
from ._version import __version__
from .autogram import Autogram, load_autogram, use_config
from .config import AutogramConfig
from .decorators import autograms_chatbot, autograms_external, autograms_function, autograms_node
from .memory import MemoryObject

__all__ = [
    "Autogram",
    "AutogramConfig",
    "AutogramsError",
    "ConfigError",
    "ContinuationError",
    "ConversationError",
    "DecisionError",
    "MemoryObject",
    "ModelCallError",
    "ModelError",
    "SessionCodeError",
    "SessionError",
    "SessionFormatError",
    "SessionSignatureError",
    "__version__",
    "autograms_chatbot",
    "autograms_external",
    "autograms_function",
    "autograms_node",
    "load_autogram",
    "use_config",
]
