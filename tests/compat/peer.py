"""Run inside a venv of the original AutoGRAMS (0.5.3 from PyPI) by the side-by-side tests:

    python peer.py signatures MODULE...       -> {module: {name: [[param, kind, has_default]]}}
    python peer.py converse BOT_FILE MESSAGES -> {"replies": [...], "entries": [...]}

Prints one JSON document. ``converse`` drives the bot's ``chatbot`` in test mode the way
AutoGRAMS' debug script does: serialize -> deserialize -> reply on every turn. It imports only
the original library (the caller keeps this project off ``sys.path``).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import random
import sys


def signatures(modules: list[str]) -> dict:
    found = {}
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue  # not in this release
        names = {}
        for name, value in vars(module).items():
            if name.startswith("_") or not callable(value):
                continue
            if getattr(value, "__module__", None) != module_name:
                continue  # imported from elsewhere
            try:
                params = inspect.signature(value).parameters.values()
            except (TypeError, ValueError):
                continue
            names[name] = [
                [p.name, p.kind.name, p.default is not inspect.Parameter.empty] for p in params
            ]
        found[module_name] = names
    return found


def converse(bot_file: str, messages: list[str]) -> dict:
    import numpy

    from autograms import Autogram

    random.seed(0)
    numpy.random.seed(0)
    spec = importlib.util.spec_from_file_location("side_by_side_bot", bot_file)
    bot = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bot  # AutoGRAMS looks the root's module up there
    spec.loader.exec_module(bot)
    autogram = Autogram(bot.chatbot, api_keys={"openai": "sk-dummy"}, test_mode=True)
    text, memory = autogram.reply()
    replies = [text]
    for message in messages:
        memory = autogram.deserialize(autogram.serialize(memory))
        text, memory = autogram.reply(message, memory_object=memory)
        replies.append(text)
    entries = [entry["entry_type"] for entry in memory.memory_dict["model_turns"]]
    return {"replies": replies, "entries": entries, "history": memory.extract_full_conv_history()}


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "signatures":
        result = signatures(args)
    else:
        result = converse(args[0], json.loads(args[1]))
    sys.stdout.write(json.dumps(result) + "\n")
