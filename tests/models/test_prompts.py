"""Message assembly: AutoGRAMS' format without its history bugs; windows and budgets."""

from __future__ import annotations

import random

import pytest

from autograms._prompts import (
    Conversation,
    PromptStyle,
    assemble,
    build_messages,
    choice_labels,
    choice_question,
    fit_to_budget,
    merge_system_prompt,
    window,
    yes_no_question,
)
from autograms import _prompts
from autograms._decisions import _baseline_messages
from autograms._state import Turns, TurnsView
from autograms.config import AutogramConfig
from autograms.models.tokens import count_messages, counter_for_model

COUNTER = counter_for_model("gpt-4o")
COUNTER_OF_CLASSIFIER = counter_for_model(AutogramConfig().resolved_classifier_path)


def turns(*pairs):
    return [{"role": role, "content": content} for role, content in pairs]


def roles_and_contents(messages):
    return [(m["role"], m["content"]) for m in messages]


def test_history_follows_the_autograms_format():
    conv = Conversation("You are an agent.", turns(("agent", "hi"), ("user", "hey")))
    assert roles_and_contents(build_messages(conv, "respond")) == [
        ("system", "You are an agent."),
        ("user", "INSTRUCTION: Reply to the user."),
        ("assistant", "hi"),
        ("user", "User: hey\n\nINSTRUCTION: respond"),
    ]


def test_agent_reply_after_thoughts_stays_the_agent_reply():
    # AutoGRAMS replaced 'A1' by the thought's answer 'T' in later prompts.
    conv = Conversation(
        "",
        turns(
            ("user", "hello"),
            ("system_instruction", "think"),
            ("system_answer", "T"),
            ("agent", "A1"),
            ("user", "next"),
        ),
    )
    messages = build_messages(conv, "go on")
    assert [m["content"] for m in messages if m["role"] == "assistant"] == ["T", "A1"]


def test_user_messages_keep_their_true_order_before_thoughts():
    # AutoGRAMS rendered a user message said before a thought after it.
    conv = Conversation(
        "",
        turns(
            ("agent", "question?"),
            ("user", "answer"),
            ("system_instruction", "classify"),
            ("system_answer", "done"),
        ),
    )
    assert roles_and_contents(build_messages(conv, "reply")) == [
        ("user", "INSTRUCTION: Reply to the user."),
        ("assistant", "question?"),
        ("user", "User: answer\n\nINSTRUCTION: classify"),
        ("assistant", "done"),
        ("user", "INSTRUCTION: reply"),
    ]


def test_messages_alternate_and_contents_are_strings():
    conv = Conversation(
        "sys",
        turns(
            ("agent", "a"),
            ("agent", "b"),
            ("user", "u1"),
            ("user", "u2"),
            ("system_instruction", "i"),
            ("system_answer", "x"),
        ),
    )
    messages = build_messages(conv, "final")
    body = [m["role"] for m in messages[1:]]
    assert body == ["user", "assistant"] * 3 + ["user"]
    assert all(isinstance(m["content"], str) for m in messages)
    assert messages[5]["content"] == "User: u1\n\nUser: u2\n\nINSTRUCTION: i"


def test_decision_questions_use_the_question_label():
    conv = Conversation("", turns(("agent", "ready?"), ("user", "yes")))
    final = build_messages(conv, "Is the user ready?", question=True)[-1]
    assert final["content"] == "User: yes\n\nQUESTION: Is the user ready?"


@pytest.mark.parametrize(
    ("max_turns", "expected_first"),
    [(None, "a1"), (1, "a2"), (2, "a1"), (5, "a1")],
)
def test_window_starts_at_the_agent_turn_before_the_last_user_messages(max_turns, expected_first):
    history = turns(("agent", "a1"), ("user", "u1"), ("agent", "a2"), ("user", "u2"))
    assert window(history, max_turns)[0]["content"] == expected_first


def test_window_zero_keeps_nothing_and_a_window_without_agent_starts_at_the_user():
    history = turns(("user", "u1"), ("user", "u2"))
    assert window(history, 0) == []
    assert [t["content"] for t in window(history, 1)] == ["u2"]


def _window_by_definition(history, max_turns):
    """AutoGRAMS' window (from the agent turn before the last `max_turns` user messages),
    unless it shows two user messages in a row (a turn without a reply): then the turns after
    the agent turn before the last `max_turns` agent turns."""
    users = [i for i, turn in enumerate(history) if turn["role"] == "user"]
    if len(users) <= max_turns:
        return history
    cut = users[-max_turns]
    agents = [i for i in range(cut) if history[i]["role"] == "agent"]
    shown = history[agents[-1] if agents else cut :]
    if not any(a["role"] == b["role"] == "user" for a, b in zip(shown, shown[1:], strict=False)):
        return shown
    agents = [i for i, turn in enumerate(history) if turn["role"] == "agent"]
    return history[agents[-max_turns - 1] + 1 :] if len(agents) > max_turns else history


def test_window_agrees_with_its_definition_on_random_histories():
    rng = random.Random(7)
    roles = ("user", "agent", "system_instruction", "system_answer")
    for _ in range(2000):
        history = turns(*((rng.choice(roles), str(i)) for i in range(rng.randrange(12))))
        max_turns = rng.randrange(1, 6)
        assert window(history, max_turns) == _window_by_definition(history, max_turns)


def test_window_of_a_view_of_packed_levels_is_the_window_of_their_turns():
    rng = random.Random(8)
    roles = ("user", "agent", "system_instruction", "system_answer")
    for _ in range(300):
        history = turns(*((rng.choice(roles), str(i)) for i in range(rng.randrange(14))))
        split = rng.randrange(len(history) + 1)
        text, saved = Turns(history[:split]).packed()
        view = TurnsView([Turns.from_saved(saved, text)[0], history[split:]])
        for max_turns in (None, 0, 1, 2, 3, 5):
            assert window(view, max_turns) == window(history, max_turns)


def test_the_baseline_prompt_is_the_prompt_with_the_last_user_words_left_out():
    rng = random.Random(9)
    roles = ("user", "agent", "system_instruction", "system_answer")
    config = AutogramConfig()
    for _ in range(300):
        history = turns(*((rng.choice(roles), f"t{i}") for i in range(rng.randrange(10))))
        users = [i for i, turn in enumerate(history) if turn["role"] == "user"]
        for max_turns in (None, 0, 1, 2, 4):
            baseline = _baseline_messages(
                config, Conversation("sys", TurnsView([history])), "Q?", max_turns, {}, "yes_or_no"
            )
            if not users:
                assert baseline is None
                continue
            blank = [dict(turn) for turn in history]
            blank[users[-1]]["content"] = "N/A"
            expected = assemble(
                Conversation("sys", blank), "Q?", config, COUNTER_OF_CLASSIFIER,
                role="classifier", max_turns=max_turns, question=True,
            )  # fmt: skip
            assert baseline == expected


def test_unknown_turn_roles_are_refused_naming_the_turn():
    with pytest.raises(ValueError, match="turn 1 has unknown role 'assistant'"):
        build_messages(Conversation("", turns(("user", "x"), ("assistant", "y"))), "go")


def test_multimodal_parts_go_only_into_the_last_user_message():
    parts = [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}}]
    conv = Conversation("sys", turns(("agent", "hi")))
    messages = build_messages(conv, "describe", multi_modal_inputs=parts)
    assert messages[-1]["content"] == [{"type": "text", "text": "INSTRUCTION: describe"}, *parts]
    assert all(isinstance(m["content"], str) for m in messages[:-1])


def test_instruction_template_formats_the_final_message():
    style = PromptStyle(
        instruction_template="<last_response>\n\nInstruction for <agent_name>: <instruction>",
        agent_name="Bot",
    )
    conv = Conversation("", turns(("agent", "hi"), ("user", "hey")))
    assert (
        build_messages(conv, "wave", style)[-1]["content"]
        == "User: hey\n\nInstruction for Bot: wave"
    )


def test_config_names_label_the_prompt():
    config = AutogramConfig(user_name="Candidate", instruction_name="Task")
    conv = Conversation("", turns(("user", "hi")))
    messages = assemble(conv, "greet", config, COUNTER)
    assert messages[-1]["content"] == "Candidate: hi\n\nTASK: greet"


def test_system_prompt_in_turns_folds_it_into_the_first_user_message():
    config = AutogramConfig(system_prompt_in_turns=True)
    conv = Conversation("Be nice.", turns(("agent", "hi"), ("user", "hey")))
    messages = assemble(conv, "respond", config, COUNTER)
    assert messages[0] == {"role": "user", "content": "Be nice.\n\nINSTRUCTION: Reply to the user."}
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert merge_system_prompt([{"role": "user", "content": "x"}]) == [
        {"role": "user", "content": "x"}
    ]


def test_classifier_prompts_can_leave_out_the_system_prompt():
    conv = Conversation("Be nice.", turns(("user", "hey")))
    config = AutogramConfig(exclude_classifier_system_prompt=True)
    assert (
        assemble(conv, "q?", config, COUNTER, role="classifier", question=True)[0]["role"] == "user"
    )
    assert assemble(conv, "go", config, COUNTER)[0]["role"] == "system"


def test_fit_to_budget_drops_the_oldest_pairs_first():
    history = []
    for i in range(20):
        history += [("agent", f"agent reply number {i} " * 5), ("user", f"user {i}")]
    messages = build_messages(Conversation("sys", turns(*history)), "final instruction")
    fitted = fit_to_budget(messages, 200, COUNTER)
    assert count_messages(fitted, COUNTER) <= 200
    assert fitted[0] == messages[0] and fitted[-1] == messages[-1]
    assert fitted[1:] == messages[len(messages) - len(fitted) + 1 :]
    assert [m["role"] for m in fitted[1:]] == ["user", "assistant"] * ((len(fitted) - 2) // 2) + [
        "user"
    ]


def test_fit_to_budget_cuts_a_long_system_prompt_to_half_and_keeps_its_start():
    messages = [
        {"role": "system", "content": "START " + "filler " * 500},
        {"role": "user", "content": "INSTRUCTION: hi"},
    ]
    fitted = fit_to_budget(messages, 100, COUNTER)
    assert fitted[0]["content"].startswith("START")
    # AutoGRAMS' cut: the first half of the budget, then "..." so the model sees it stop
    assert fitted[0]["content"] == COUNTER.head(messages[0]["content"], 50) + "..."
    assert fitted[1] == messages[1]


def test_fit_to_budget_sends_a_last_message_over_the_budget_whole():
    """As AutoGRAMS sends it: the earlier turns go, the user's words and the instruction stay
    (a cut would lose the message or the start of the instruction)."""
    text = "User: " + "blah " * 2000 + "\n\nINSTRUCTION: answer briefly"
    earlier = [
        {"role": "user", "content": "INSTRUCTION: hi"},
        {"role": "assistant", "content": "x"},
    ]
    fitted = fit_to_budget([*earlier, {"role": "user", "content": text}], 100, COUNTER)
    assert fitted == [{"role": "user", "content": text}]


def _fit_by_the_rule(messages, budget, counter):
    """The budget rule as the docstring states it, counting everything every time."""
    result = [dict(m) for m in messages]
    if count_messages(result, counter) <= budget:
        return result
    head = [result.pop(0)] if result and result[0]["role"] == "system" else []
    if head and counter.count(head[0]["content"]) > budget // 2:
        head[0]["content"] = counter.head(head[0]["content"], budget // 2) + "..."
    while count_messages(head + result, counter) > budget and len(result) > 2:
        del result[:2]
    return head + result


def test_fit_to_budget_keeps_what_the_rule_keeps_for_generated_conversations():
    rng = random.Random(11)
    words = ["salary", "range", "yes", "I", "worked", "on", "protein", "folding", "."]
    for _ in range(150):
        count = rng.randrange(0, 12)
        messages = [
            {
                "role": rng.choice(["user", "assistant"]),
                "content": " ".join(rng.choice(words) for _ in range(rng.randrange(1, 40))),
            }
            for _ in range(count)
        ]
        if rng.random() < 0.7:
            system = " ".join(rng.choice(words) for _ in range(rng.randrange(1, 120)))
            messages.insert(0, {"role": "system", "content": system})
        budget = rng.randrange(10, 260)
        assert fit_to_budget(messages, budget, COUNTER) == _fit_by_the_rule(
            messages, budget, COUNTER
        ), (messages, budget)


class _CountingCounter:
    """A token counter that records which texts it counted."""

    def __init__(self):
        self.counted = []

    def count(self, text):
        self.counted.append(text)
        return COUNTER.count(text)

    def head(self, text, tokens):
        return COUNTER.head(text, tokens)

    def tail(self, text, tokens):
        return COUNTER.tail(text, tokens)


def test_fit_to_budget_never_counts_messages_older_than_the_budget_reaches():
    history = [{"role": "user", "content": f"old message {i} " * 20} for i in range(200)]
    messages = [{"role": "system", "content": "sys"}, *history]
    counter = _CountingCounter()
    fitted = fit_to_budget(messages, 300, counter)
    assert count_messages(fitted, COUNTER) <= 300
    assert len(counter.counted) < 20  # not the 200 messages of the history, nor twice


def test_a_chat_prompt_is_cut_to_its_budget_and_a_decision_goes_whole():
    """AutoGRAMS cuts chat prompts to chatbot_max_input_len and sends decisions whole
    (classifier_max_input_len is not applied): a decision on a long message reads all of it."""
    history = turns(*[("user", "word " * 200), ("agent", "ok")] * 10)
    conv = Conversation("sys", history)
    config = AutogramConfig(chatbot_max_input_len=300, classifier_max_input_len=120)
    assert count_messages(assemble(conv, "go", config, COUNTER), COUNTER) <= 300
    decision = assemble(conv, "q", config, COUNTER, role="classifier", question=True)
    assert decision == build_messages(conv, "q", PromptStyle.from_config(config), question=True)
    assert count_messages(decision, COUNTER) > 2000


def test_decision_question_texts_and_labels():
    text, labels = yes_no_question("Is the user ready?")
    # AutoGRAMS' wording (make_decision_prompt)
    assert labels == ("Yes", "No") and text == "Is the user ready?\n\n (Yes or No)?"
    text, labels = choice_question("Which?", ["tea", "cake"], prefix="Solve this.")
    assert labels == ("A", "B")
    assert text == "Solve this.\nWhich?\n\nA. tea\nB. cake\n"
    assert choice_labels(27)[:2] == ("1", "2") and choice_labels(27)[-1] == "27"


ALPHABET = "ab .,\nxyzé“😀中文\u0301\ud800"


def random_text(rng: random.Random, longest: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(longest)))


def test_a_texts_bytes_bound_its_tokens_for_every_counter() -> None:
    rng = random.Random(10)
    counters = [counter_for_model(m) for m in ("gpt-4o", "gpt-4", "some-unknown-model")]
    for _ in range(300):
        text = random_text(rng, 60)
        for counter in counters:
            assert counter.count(text) <= counter.at_most(text)


def test_prompts_fit_to_a_budget_as_counted_whether_or_not_their_bytes_fit(monkeypatch) -> None:
    rng = random.Random(11)
    cases = []
    for _ in range(200):
        messages = [{"role": "system", "content": random_text(rng, 80)}] * rng.randrange(2)
        messages += [
            {"role": role, "content": random_text(rng, 120)}
            for role in ("user", "assistant") * rng.randrange(1, 4)
        ]
        cases.append((messages, rng.randrange(10, 400), counter_for_model("gpt-4o")))
    fitted = [fit_to_budget(messages, budget, counter) for messages, budget, counter in cases]
    # the tokens counted every time (the shortcut by bytes never taken)
    monkeypatch.setattr(_prompts, "_bytes_fit", lambda messages, room: False)
    assert fitted == [fit_to_budget(m, budget, counter) for m, budget, counter in cases]
    assert any(f == m for f, (m, _, _) in zip(fitted, cases, strict=True))  # some fit whole
