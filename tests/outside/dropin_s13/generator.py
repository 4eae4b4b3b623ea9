"""Random AutoGRAMS bots from the public helpers, with random per-call settings and messages.

Kept clear of the differences the README lists on purpose (no ``thought()`` after a user
message, no ``max_turns=0``, no EXIT or RETURNTO), so any difference between AutoGRAMS 0.6.0 and
this library on these bots is unlisted.
"""

from __future__ import annotations

import json
import random

HEADER = """from autograms import autograms_function
from autograms.functional import (
    reply, reply_instruction, silent_thought, yes_or_no, multiple_choice, generate_list,
    generate_fixed_dict, generate_list_of_choices, generate_fixed_list, generate_list_of_dicts,
    thought_chain, decision_chain, thought_decision_chain, set_system_prompt,
    append_system_prompt, get_system_prompt, get_turn_history, extract_last_user_reply,
)

OUT = []
"""

SETTINGS = [
    "",
    "",
    "model='gpt-4o-mini'",
    "temperature=0.3",
    "max_tokens=77",
    "top_p=0.5",
    "max_turns=1",
    "max_turns=2",
    "max_turns=4",
    "max_turns=None",
    "model='gpt-4o-mini', temperature=0.1, max_tokens=33",
    "frequency_penalty=0.4",
]


def settings(rng: random.Random, lead: str = ", ") -> str:
    chosen = rng.choice(SETTINGS)
    return lead + chosen if chosen else ""


DECISION_CHAIN = [
    {"question": "Mood {n}?", "choices": ["happy", "sad"]},
    {"question": "Go on?", "choices": ["yes", "no", "maybe"]},
]
THOUGHT_DECISION_CHAIN = [
    {"type": "thought", "prompt": "Summary {n}?"},
    {"type": "decision", "question": "Tone?", "choices": ["warm", "cold"]},
]

# One line (or a few) per kind of step; {n} is the step's number, {s} its per-call settings.
SIMPLE = {
    "reply": ["reply('fixed {n}')"],
    "reply_instruction": ["reply_instruction('Answer step {n}.'{s})"],
    "silent": ["OUT.append(silent_thought('Consider step {n}.'{s}))"],
    "yes": ["OUT.append(yes_or_no('Is step {n} done?'{s}))"],
    "list": ["OUT.append(generate_list('List things for {n}.'{s}))"],
    "dict": ["OUT.append(generate_fixed_dict('Fill {n}.', ['name', 'city']{s}))"],
    "choices": ["OUT.append(generate_list_of_choices('Pick {n}.', ['red', 'blue']{s}))"],
    "fixed_list": ["OUT.append(generate_fixed_list('Three for {n}.', 3{s}))"],
    "dicts": ["OUT.append(generate_list_of_dicts('People {n}.', ['name', 'age']{s}))"],
    "tchain": ["OUT.append(thought_chain('Plan {n}.', ['First idea {n}?', 'Second idea?']{s}))"],
    "dchain": ["OUT.append(decision_chain('Decide {n}.', {dchain}{s}))"],
    "tdchain": ["OUT.append(thought_decision_chain('Both {n}.', {tdchain}{s}))"],
    "sys": ["set_system_prompt('System prompt {n}.')"],
    "append": ["append_system_prompt('Extra {n}.')", "OUT.append(get_system_prompt())"],
    "last": ["OUT.append(extract_last_user_reply())"],
    "if": [
        "if yes_or_no('Branch {n}?'{s}):",
        "    reply('yes branch {n}')",
        "else:",
        "    reply_instruction('No branch {n}.')",
    ],
}


def chain(template: list, n: int) -> str:
    return repr(json.loads(json.dumps(template).replace("{n}", str(n))))


def step(rng: random.Random, n: int, depth: int, subs: list) -> list[str]:
    s = settings(rng)
    kind = rng.choice([*SIMPLE, "mc", "history", "call"])
    if kind == "mc":
        choices = [f"option {n}{c}" for c in "abcd"[: rng.randint(2, 4)]]
        return [f"OUT.append(multiple_choice('Which for {n}?', {choices!r}{s}))"]
    if kind == "history":
        mt = rng.choice(["", "max_turns=1", "max_turns=3", "instruction='I'"])
        return [f"OUT.append(get_turn_history({mt}))"]
    if kind == "call":
        return call_step(rng, n, depth, subs) if depth < 2 else [f"reply('fixed {n}')"]
    fill = dict(n=n, s=s, dchain=chain(DECISION_CHAIN, n), tdchain=chain(THOUGHT_DECISION_CHAIN, n))
    return [line.format(**fill) for line in SIMPLE[kind]]


def call_step(rng: random.Random, n: int, depth: int, subs: list) -> list[str]:
    """A call of a new decorated function with a random scope and a few steps of its own."""
    name = f"sub{len(subs)}"
    scope = rng.choice(["global", "normal", "local"])
    subs.append(None)
    body = [f"reply('enter {name}')"]
    for i in range(rng.randint(1, 4)):
        body += step(rng, n * 10 + i, depth + 1, subs)
    body.append("return extract_last_user_reply()")
    subs[subs.index(None)] = (name, scope, body)
    return [f"OUT.append({name}())"]


def generate_bot(seed: int) -> tuple[str, list[str]]:
    rng = random.Random(seed)
    subs: list = []
    body = ["reply('Hello, how can I help?')"]
    for n in range(rng.randint(4, 9)):
        body += step(rng, n, 0, subs)
    body.append("reply('the end')")
    parts = [HEADER]
    for name, scope, sub_body in subs:
        parts.append(f"\n@autograms_function(conv_scope={scope!r})\ndef {name}():\n")
        parts.append("".join(f"    {line}\n" for line in sub_body))
    parts.append("\n@autograms_function()\ndef chatbot():\n")
    parts.append("".join(f"    {line}\n" for line in body))
    words = [
        "pizza",
        "yes",
        "no",
        "tell me more",
        "I am sad",
        "Paris",
        "42",
        "ok",
        "why?",
        "Agent: hi",
        "line\nbreak",
        'say "quoted"',
        "  spaced  ",
        "café ✓",
        "tab\there",
        "INSTRUCTION: x",
        "User: y",
        "{braces}",
        "a\n\nb",
    ]
    messages = [""] + [
        " ".join(rng.choice(words) for _ in range(rng.randint(1, 3))) for _ in range(12)
    ]
    return "".join(parts), messages


CONFIGS = [
    {},
    {"agent_name": "Bob"},
    {"default_prompt": "You are Zed."},
    {"max_tokens": 300},
    {"chatbot_generation_args": {"temperature": 0.9, "top_p": 0.8}},
    {"chatbot_path": "llama-3"},
    {"system_prompt_in_turns": True},
    {"chatbot_generation_args": {}},
    {"exclude_classifier_system_prompt": True},
    {"classifier_path": "judge-model"},
    {"classifier_max_input_len": 100},
    {"instruction_template": "<last_response>\n\nInstruction for <agent_name>: <instruction>"},
    {"max_tokens": 10, "chatbot_generation_args": {"temperature": 0.2, "max_tokens": 99}},
    {"chatbot_max_input_len": 200},
]


def generate_config(seed: int) -> dict:
    rng = random.Random(seed * 7919)
    config = {}
    for _ in range(rng.randint(0, 2)):
        config.update(rng.choice(CONFIGS))
    return config
