"""Random ``@autograms_chatbot`` roots driven AutoGRAMS' documented way -- ``with
autogram.use_memory(memory): result = chatbot(user_reply=text)`` -- whose nested calls have
random ``conv_scope``s, and what each run shows: the replies and every ``get_turn_history()``
the bot took (``HIST``). test_chatbot_scopes.py compares this library's runs with AutoGRAMS
0.6.0's, recorded in data/chatbot-scopes.json by running this file with AutoGRAMS 0.6.0
importable (its source tree on ``PYTHONPATH``, a venv holding AutoGRAMS 0.5.3's dependencies):

    PYTHONPATH=/work/ref/autograms-0.6.0 \\
        ~/.cache/autograms/bench/autograms-py3.12.1/bin/python tests/compat/chatbot_scopes.py \\
        record tests/compat/data/chatbot-scopes.json 0 1 2 ...

(AutoGRAMS prints warnings on stdout, so the result goes to the file named.)

Only AutoGRAMS' public API is used here, so either library runs the same file.
"""

from __future__ import annotations

import importlib.util
import json
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

SCOPES = ("global", "normal", "local")


def generate_bot(seed: int) -> tuple[str, list[str]]:
    """A bot's source (its root is ``chatbot``) and the user messages to run it on."""
    rng = random.Random(seed)
    functions: list[list[str]] = []
    replies = iter(range(10_000))

    def steps(depth: int, count: int) -> list[str]:
        lines = []
        for _ in range(count):
            kind = rng.choice(
                ["reply", "reply", "hist", "call", "call"] if depth < 3 else ["reply"]
            )
            if kind == "reply":
                lines.append(f"reply('r{next(replies)}')")
            elif kind == "hist":
                lines.append("HIST.append(get_turn_history())")
            else:
                name = f"sub{len(functions)}"
                functions.append([])  # its place, kept before its own callees are made
                index = len(functions) - 1
                scope = rng.choice(SCOPES)
                body = steps(depth + 1, rng.randint(1, 3)) + ["HIST.append(get_turn_history())"]
                functions[index] = [
                    f"@autograms_function(conv_scope={scope!r})",
                    f"def {name}():",
                    *(f"    {line}" for line in body),
                    "",
                ]
                lines.append(f"{name}()")
        return lines

    root = steps(0, rng.randint(3, 7))
    source = [
        "from autograms import autograms_chatbot, autograms_function",
        "from autograms.functional import get_turn_history, reply",
        "",
        "HIST = []",
        "",
        *(line for function in functions for line in function),
        "@autograms_chatbot()",
        "def chatbot(user_reply):",
        *(f"    {line}" for line in root),
        "    HIST.append(get_turn_history())",
        "    reply('the end')",
        "",
    ]
    messages = [f"m{number}" for number in range(next(replies) + 2)]
    return "\n".join(source), messages


def run_bot(module: Any, messages: list[str], library: Any) -> dict[str, Any]:
    """Drive `module`'s root with ``library`` (the imported ``autograms``): one root call a
    message under ``use_memory``, the session serialized and read back between turns."""
    autogram = library.Autogram(root_function=module.chatbot, test_mode=True)
    memory, replies = None, []
    for message in messages:
        with autogram.use_memory(memory):
            result = module.chatbot(user_reply=message)
        replies.append(result.data.get("reply") if isinstance(result.data, dict) else None)
        memory = autogram.deserialize(autogram.serialize(result.memory))
        if replies[-1] == "the end":
            break
    return {"replies": replies, "histories": [list(map(list, h[:2])) for h in module.HIST]}


def load(source: str, name: str, folder: str) -> Any:
    path = Path(folder) / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # AutoGRAMS looks the root's module up there
    spec.loader.exec_module(module)
    return module


def _record(target: str, seeds: list[int]) -> None:
    import autograms

    out = {}
    with tempfile.TemporaryDirectory() as folder:
        for seed in seeds:
            source, messages = generate_bot(seed)
            module = load(source, f"chatbot_scopes_{seed}", folder)
            out[str(seed)] = {"messages": messages, **run_bot(module, messages, autograms)}
    lines = [f"{json.dumps(seed)}: {json.dumps(case)}" for seed, case in out.items()]
    Path(target).write_text("{\n" + ",\n".join(lines) + "\n}\n")


if __name__ == "__main__":
    if sys.argv[1:2] == ["record"]:
        _record(sys.argv[2], [int(seed) for seed in sys.argv[3:]])
