"""Support for test_dropin_s12_outside.py: random AutoGRAMS-style bots and what a run of one shows.

``generate_bot(seed)`` writes a bot the way AutoGRAMS' examples and docs do: replies labelled
with ``ADDRESS``, nested ``@autograms_function`` calls of every ``conv_scope``, ``GOTO`` /
``TRANSITION`` / ``RETURNTO`` jumps, nodes, decisions, structured generation, raw chat
completions, ``get_turn_history`` and ``extract_last_user_reply`` (no ``thought()``: its place in
later prompts differs by design). ``digest(...)`` reduces a run to what both libraries can be
compared on: replies, request bodies (with the differences the README lists taken out), the
``model_turns`` entries, ``extract_full_conv_history()`` and what the bot collected.

Run as a script with AutoGRAMS 0.6.0 importable, ``python dropin_s12_support.py record SEED...``
prints the digests of AutoGRAMS' runs against a fake server of ``dropin_s11_support`` (the data
in ``dropin_s12_bots/`` was made so).
"""

from __future__ import annotations

import ast
import hashlib
import json
import random
from typing import Any

WORDS = "apple river stone cloud quick brown lazy fox jumps over happy tiger piano rocket".split()


def _words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(count))


class _Writer:
    """Builds one bot's source: the root's lines and the nested functions it calls."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.funcs: list[tuple[str, str, list[str]]] = []

    def simple(self, kind: str) -> list[str]:
        """A one-line step of ``kind`` (a model call, a reply, a prompt or history read)."""
        rng = self.rng
        w = _words
        options = [w(rng, 1) for _ in range(rng.randint(2, 4))]
        keys = sorted({w(rng, 1) for _ in range(rng.randint(1, 3))})
        chat = [{"role": "user", "content": w(rng, 3)}]
        line = {
            "reply": lambda: f"reply({w(rng, 3)!r})",
            "ri": lambda: f"reply_instruction({w(rng, 3)!r})",
            "silent": lambda: f"OUT.append(silent_thought({w(rng, 3)!r}))",
            "yn": lambda: f"OUT.append(yes_or_no({w(rng, 3) + '?'!r}))",
            "mc": lambda: f"OUT.append(multiple_choice({w(rng, 2)!r}, {options!r}))",
            "sys": lambda: f"set_system_prompt({w(rng, 4)!r})",
            "getsys": lambda: "OUT.append(get_system_prompt())",
            "gl": lambda: f"OUT.append(generate_list({w(rng, 3)!r}))",
            "gfd": lambda: f"OUT.append(generate_fixed_dict({w(rng, 3)!r}, {keys!r}))",
            "glc": lambda: f"OUT.append(generate_list_of_choices({w(rng, 3)!r}, {keys!r}))",
            "hist": lambda: "OUT.append(get_turn_history())",
            "last": lambda: "OUT.append(extract_last_user_reply())",
            "chat": lambda: f"OUT.append(call_chat_completion({chat!r}))",
            "exit": lambda: f"EXIT({{'reply': {w(rng, 2)!r}}})",
        }[kind]
        return [line()]

    def step(self, depth: int, fname: str, labels: list[str], outer: list[str]) -> list[str]:
        rng = self.rng
        kind = rng.choice(
            ["reply", "ri", "silent", "yn", "mc", "sys", "nested", "gl", "gfd", "glc"]
            + ["trans", "node", "hist", "last", "chat", "returnto", "exit", "getsys"]
        )
        if kind == "node":
            label = f"{fname}_node{rng.randint(0, 99)}"
            return [f"nodes.reply_instruction({_words(rng, 3)!r}, ADDRESS={label!r})"]
        if kind == "trans" and labels:
            yes, no = rng.choice(labels), rng.choice(labels)
            jump = f"TRANSITION({_words(rng, 3) + '?'!r}, {{'yes': {yes!r}, 'no': {no!r}}})"
            return ["if COUNT['jumps'] < 3:", "    COUNT['jumps'] += 1", "    " + jump]
        if kind == "returnto" and outer:
            jump = f"RETURNTO({rng.choice(outer)!r})"
            return ["if COUNT['jumps'] < 3:", "    COUNT['jumps'] += 1", "    " + jump]
        if kind == "nested" and depth < 2:
            return self.nested(depth, fname, labels)
        if kind in ("trans", "returnto", "nested"):
            return []
        return self.simple(kind)

    def nested(self, depth: int, fname: str, labels: list[str]) -> list[str]:
        rng = self.rng
        name = f"{fname}_n{len(self.funcs)}"
        scope = rng.choice(["global", "normal", "local"])
        call_label = f"{name}_call"
        body: list[str] = []
        for _ in range(rng.randint(1, 3)):
            body += self.step(depth + 1, name, [], labels + [call_label] if depth == 0 else [])
        body.append(f"reply({_words(rng, 2)!r})")
        if rng.random() < 0.5:
            body.append("return 1")
        self.funcs.append((name, scope, body))
        return [f"{name}(ADDRESS={call_label!r})"]


def generate_bot(seed: int) -> tuple[str, list[str]]:
    """A random AutoGRAMS-style bot's source and the user messages to run it with."""
    rng = random.Random(seed)
    writer = _Writer(rng)
    root: list[str] = []
    labels: list[str] = []
    for turn in range(rng.randint(3, 6)):
        label = f"L{turn}"
        root.append(f"reply({_words(rng, 2)!r}, ADDRESS={label!r})")
        labels.append(label)
        for _ in range(rng.randint(0, 3)):
            root += writer.step(0, "f", labels[:-1], [])
        if rng.random() < 0.3 and len(labels) > 1:
            root += [
                "if COUNT['jumps'] < 3:",
                "    COUNT['jumps'] += 1",
                f"    GOTO({rng.choice(labels[:-1])!r})",
            ]
    source = [
        "from autograms import autograms_function, nodes",
        "from autograms.functional import *  # noqa: F403",
        "from autograms.memory import init_user_globals",
        "",
        "OUT = []",
        "COUNT = init_user_globals()",
        "COUNT['jumps'] = 0",
        "",
    ]
    for name, scope, body in writer.funcs:
        source += [f"@autograms_function(conv_scope={scope!r})", f"def {name}(ADDRESS=None):"]
        source += ["    " + line for line in body] + [""]
    source += ["@autograms_function()", "def chatbot():"]
    source += ["    " + line for line in root] + ["    reply('the end')", ""]
    messages = [""] + [_words(rng, rng.randint(1, 6)) for _ in range(14)]
    return "\n".join(source), messages


# --------------------------------------------------------------------------- digests

SCHEMA_SENTENCE = "\nYour output must adhere to the following json schema: "


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content)


def _schema_shape(schema: Any) -> Any:
    """A schema without its name and the keys the README says differ (same shapes)."""
    if isinstance(schema, dict):
        return {
            k: _schema_shape(v)
            for k, v in sorted(schema.items())
            if k not in ("additionalItems", "name")
        }
    if isinstance(schema, list):
        return [_schema_shape(v) for v in schema]
    return schema


def normalized_request(body: dict[str, Any]) -> dict[str, Any]:
    """A request body with the README's listed differences taken out.

    Content parts become text, the opening instruction's leading blank lines go, the schema
    sentence and response_format lose their schema's name (other names, the same shapes).
    """
    body = dict(body)
    body.pop("stream", None)
    messages = []
    for message in body.pop("messages", []):
        text = _text(message["content"])
        if message["role"] == "user":
            text = text.lstrip("\n").replace("\n\n\n\nINSTRUCTION:", "\n\nINSTRUCTION:")
            where = text.find(SCHEMA_SENTENCE)
            if where >= 0:
                schema = ast.literal_eval(text[where + len(SCHEMA_SENTENCE) :])
                shape = json.dumps(_schema_shape(schema), sort_keys=True)
                text = text[:where] + "\n<schema " + shape + ">"
        messages.append({"role": message["role"], "content": text})
    body["messages"] = messages
    if isinstance(body.get("response_format"), dict):
        body["response_format"] = _schema_shape(body["response_format"])
    return body


def request_print(body: dict[str, Any]) -> dict[str, Any]:
    """A normalized request as its hash, with its last message to read (keeps the data small)."""
    normal = normalized_request(body)
    text = json.dumps(normal, sort_keys=True, ensure_ascii=False)
    last = normal["messages"][-1]["content"] if normal["messages"] else ""
    return {"sha": hashlib.sha256(text.encode()).hexdigest()[:20], "last": last[-160:]}


def log_digest(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fields of model_turns both libraries log (AutoGRAMS logs no embeddings)."""
    rows = []
    for entry in entries:
        keys = ("entry_type", "function_name", "reply", "user_reply", "output", "line_number")
        row = {k: entry[k] for k in keys + ("node",) if entry.get(k) is not None}
        position = entry.get("code_position")
        if position:
            row["at"] = [position.get("function_name"), position.get("line_number")]
        if entry.get("usage_log"):
            row["usage"] = sorted(entry["usage_log"])
        rows.append(row)
    return rows


def jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=repr))


def digest(replies, errors, bodies, entries, history, collected) -> dict[str, Any]:
    return {
        "replies": replies,
        "errors": errors,
        "requests": [request_print(b) for b in bodies],
        "model_turns": log_digest(entries),
        "history": history,
        "collected": jsonable(collected),
    }


def run_bot(module, messages, config_kwargs, library) -> tuple[list, list, Any, Any]:
    """Run a bot module's turns with ``library`` (the imported ``autograms``), a
    serialize/deserialize round trip every turn; stop at the first error."""
    from autograms.functional import extract_full_conv_history

    autogram = library.Autogram(
        root_function=module.chatbot, autogram_config=library.AutogramConfig(**config_kwargs)
    )
    memory, replies, errors = None, [], []
    for message in messages:
        try:
            text, memory = autogram.reply(message, memory_object=memory)
        except Exception as exc:  # noqa: BLE001 - the error is part of what is compared
            errors.append(type(exc).__name__)
            break
        replies.append(text)
        memory = autogram.deserialize(autogram.serialize(memory))
    with autogram.use_memory(memory):
        history = extract_full_conv_history()
    return replies, errors, list(memory.memory_dict["model_turns"]), history


def _record(seeds: list[int]) -> None:
    import importlib.util
    import sys
    import tempfile
    from pathlib import Path

    import autograms

    sys.path.insert(0, str(Path(__file__).parent))
    from dropin_s11_support import FakeServer

    server = FakeServer()
    server.model.hashed = True
    out = {}
    with tempfile.TemporaryDirectory() as folder:
        for seed in seeds:
            source, messages = generate_bot(seed)
            path = Path(folder) / f"dropin_s12_g{seed}.py"
            path.write_text(source)
            spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
            server.reset()
            config = dict(chatbot_type="proxy", chatbot_proxy_port=server.port)
            config["chatbot_max_tries"] = 1
            replies, errors, entries, history = run_bot(module, messages, config, autograms)
            out[str(seed)] = {
                "messages": messages,
                **digest(replies, errors, server.requests(), entries, history, module.OUT),
            }
    server.close()
    print(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["record"]:
        _record([int(s) for s in sys.argv[2:]])
