"""What a prompt shows of a long conversation, generated: random turns that reply or EXIT
(a turn without a reply), random ``max_turns``, random prompt budgets. Every exchange shown
is one that happened -- a reply after the user messages it answered -- except the oldest
reply of AutoGRAMS' window, shown after its placeholder instruction as AutoGRAMS shows it."""

from __future__ import annotations

import random

import pytest

from autograms import Autogram, AutogramConfig, autograms_function
from autograms.functional import EXIT, get_turn_history, reply, reply_instruction

PLACEHOLDER = "INSTRUCTION: Reply to the user."
#: per turn after the opening one: "reply" or "exit" (set by each test before its run)
PLAN: list[str] = []
SEEN: list = []


@autograms_function()
def planned_bot():
    reply("r0")
    for number, action in enumerate(PLAN, start=1):
        if action == "reply":
            reply(f"r{number} " + "word " * (number % 7))
        else:
            EXIT({"reply": None})
    for turns in (1, 2, 3, 4):
        SEEN.append((turns, get_turn_history(max_turns=turns)))
    SEEN.append((None, get_turn_history()))
    reply_instruction("Sum up.")
    reply("end")


def run(plan: list[str], messages: list[str], config: AutogramConfig) -> Autogram:
    PLAN[:] = plan
    SEEN.clear()
    autogram = Autogram(root_function=planned_bot, autogram_config=config, test_mode=True)
    memory = None
    for message in ["", *messages]:
        _, memory = autogram.reply(message, memory_object=memory)
        memory = autogram.deserialize(autogram.serialize(memory))
    return memory


def exchanges(plan: list[str], messages: list[str]) -> tuple[list, list[str]]:
    """The conversation as (user messages, reply) exchanges, and the messages unanswered."""
    done, waiting = [([], "r0")], []
    for number, (action, message) in enumerate(zip(plan, messages, strict=False), start=1):
        waiting.append(message)
        if action == "reply":
            done.append((waiting, f"r{number} " + "word " * (number % 7)))
            waiting = []
    waiting += messages[len(plan) :]
    return done, waiting


def asked(users: list[str], instruction: str) -> str:
    return "\n\n".join([*(f"User: {user}" for user in users), f"INSTRUCTION: {instruction}"])


def expected_window(done: list, waiting: list[str], turns: int) -> tuple[list, list]:
    """get_turn_history(max_turns=turns): AutoGRAMS' window -- from the reply before the
    `turns`-th last user message -- unless it would show unanswered messages in a row
    (after an EXIT), then the last `turns` replies, each after the messages it answered."""
    groups = [users for users, _ in done[1:]] + [waiting]
    counted, first = 0, len(groups)
    while first > 0 and counted < turns:
        first -= 1
        counted += len(groups[first])
    total = sum(len(group) for group in groups)
    if total <= turns:
        shown, oldest = done, None
    elif any(len(group) > 1 for group in groups[first:]):
        shown, oldest = done[-turns:], None
    else:
        shown, oldest = done[first + 1 :], done[first][1]
    inputs = [asked(users, "Reply to the user.") for users, _ in shown]
    outputs = [text for _, text in shown]
    if oldest is not None:
        inputs, outputs = [PLACEHOLDER, *inputs], [oldest, *outputs]
    return [*inputs, asked(waiting, "")], outputs


@pytest.mark.parametrize("seed", range(40))
def test_max_turns_windows_after_random_exits(seed: int) -> None:
    rng = random.Random(seed)
    plan = [rng.choice(["reply", "reply", "exit"]) for _ in range(rng.randrange(1, 9))]
    messages = [f"m{n}" for n in range(len(plan) + 1)]
    run(plan, messages, AutogramConfig())
    done, waiting = exchanges(plan, messages)
    for turns, (inputs, outputs, _) in SEEN[:-1]:
        assert (inputs, outputs) == expected_window(done, waiting, turns), (plan, turns)
    _, (inputs, outputs, _) = SEEN[-1]
    whole = [asked(users, "Reply to the user.") for users, _ in done]
    assert (inputs, outputs) == ([*whole, asked(waiting, "")], [t for _, t in done]), plan


@pytest.mark.parametrize("seed", range(20))
def test_a_prompt_cut_to_a_random_budget_shows_whole_exchanges(seed: int) -> None:
    """A chat prompt over ``chatbot_max_input_len`` (and a live window cut by characters,
    long words making few tokens) drops whole exchanges from the start: what it shows is the
    newest exchanges of the whole history, each as it happened."""
    rng = random.Random(seed)
    plan = [rng.choice(["reply"] * 4 + ["exit"]) for _ in range(rng.randrange(30, 60))]
    word = rng.choice(["wonderful", "extraordinarily"])
    messages = [f"m{n} " + f"{word} " * rng.randrange(5, 80) for n in range(len(plan) + 1)]
    budget = rng.randrange(300, 2500)
    config = AutogramConfig(
        chatbot_max_input_len=budget, classifier_max_input_len=100, log_model_inputs="all"
    )
    memory = run(plan, messages, config)
    (entry,) = [
        e
        for e in memory.memory_dict["model_turns"]
        if e.get("entry_type") == "model" and e["function_inputs"].get("input_turns")
    ]
    sent_in, sent_out = (
        entry["function_inputs"]["input_turns"],
        entry["function_inputs"]["output_turns"],
    )
    _, (whole_in, whole_out, _) = SEEN[-1]
    assert sent_out, f"budget {budget}: no exchange sent"
    kept = list(zip(sent_in[:-1], sent_out, strict=True))
    happened = list(zip(whole_in[:-1], whole_out, strict=True))
    assert kept == happened[-len(kept) :], f"budget {budget}: the oldest sent {kept[0]}"
