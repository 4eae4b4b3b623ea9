"""Model-call log entries in AutoGRAMS' shape: ``function_name`` is the function AutoGRAMS
logged (call_model, call_classifier, call_object_model ...), ``helper`` the library function
the program called, and ``function_inputs`` holds the prompt as turn lists for the calls
``AutogramConfig.log_model_inputs`` keeps -- the very messages the model was sent."""

from __future__ import annotations

import random
from typing import Any

import pytest

from autograms import Autogram, AutogramConfig, autograms_function
from autograms.config import ConfigError
from autograms.functional import (
    call_chat_completion,
    call_llm,
    generate_fixed_dict,
    multiple_choice,
    reply,
    reply_instruction,
    set_system_prompt,
    thought,
    yes_or_no,
)
from autograms.models import ScriptedModel

IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
#: what the program may do on a turn (the user's message says which, separated by "|")
ACTIONS = ("thought", "yes", "choice", "dict", "chat", "llm", "image", "system", "short")
#: the requests the model was sent, in order
SENT: list[Any] = []


def _recording(request: Any) -> None:
    SENT.append(request)  # the scripted model then answers as it would


def _act(action: str) -> None:
    if action == "thought":
        thought("What does the user want?")
    elif action == "yes":
        yes_or_no("Is the user happy?")
    elif action == "choice":
        multiple_choice("Which topic?", ["weather", "sports", "music"])
    elif action == "dict":
        generate_fixed_dict("Name and city of the user.", ["name", "city"])
    elif action == "chat":
        call_chat_completion([{"role": "system", "content": "s"}, {"role": "user", "content": "u"}])
    elif action == "llm":
        call_llm("Say something short.")
    elif action == "image":
        thought("Describe the picture.", multi_modal_inputs=[IMAGE])
    elif action == "system":
        set_system_prompt("You are a terse agent.")
    elif action == "short":
        thought("Summarise the last answer.", max_turns=1)


@autograms_function()
def chatbot():
    message = reply("Hello! What shall I do?")
    while True:
        for action in message.split("|"):
            _act(action)
        message = reply_instruction("Answer the user.")


def _autogram(mode: str | None, **config: Any) -> Autogram:
    settings = {} if mode is None else {"log_model_inputs": mode}
    return Autogram(
        chatbot,
        AutogramConfig(**settings, **config),
        model=ScriptedModel(handler=_recording, seed=2),
    )


def _converse(autogram: Autogram, messages: list[str]) -> list[dict[str, Any]]:
    SENT.clear()
    _, memory = autogram.reply()
    for message in messages:
        memory = autogram.deserialize(autogram.serialize(memory))
        _, memory = autogram.reply(message, memory_object=memory)
    memory = autogram.deserialize(autogram.serialize(memory))
    return [e for e in memory.memory_dict["model_turns"] if e["entry_type"] == "model"]


def _messages_of(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The messages an entry's inputs stand for, rebuilt as AutoGRAMS rebuilt them."""
    inputs = entry["function_inputs"]
    if entry["function_name"] == "call_chat_completion":
        return inputs["messages"]
    if entry["function_name"] == "call_completion":
        return [{"role": "user", "content": inputs["prompt"]}]
    messages = []
    if inputs["system_prompt"] is not None:
        messages.append({"role": "system", "content": inputs["system_prompt"]})
    for user, assistant in zip(inputs["input_turns"], inputs["output_turns"], strict=False):
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    last = inputs["input_turns"][-1]
    parts = inputs["multi_modal_inputs"]
    content = [{"type": "text", "text": last}, *parts] if parts else last
    return [*messages, {"role": "user", "content": content}]


def _random_messages(rng: random.Random, turns: int) -> list[str]:
    return ["|".join(rng.choices(ACTIONS, k=rng.randint(1, 3))) for _ in range(turns)]


@pytest.mark.parametrize("seed", range(6))
def test_with_all_every_entry_holds_the_messages_the_model_was_sent(seed: int) -> None:
    config = {"system_prompt_in_turns": True} if seed % 3 == 2 else {}
    entries = _converse(_autogram("all", **config), _random_messages(random.Random(seed), 6))
    assert len(entries) == len(SENT) > 0
    for entry, request in zip(entries, SENT, strict=True):
        assert _messages_of(entry) == [dict(message) for message in request.messages]
        if entry["function_name"] == "call_classifier":
            assert entry["function_inputs"]["answer_choices"] == list(request.choices)
        if entry["function_name"] == "call_object_model":
            structure = entry["function_inputs"]["obj_structure"]  # AutoGRAMS: response_format
            assert structure["json_schema"]["schema"]["required"] == ["name", "city"]


def test_each_entry_names_autograms_function_and_the_helper_called() -> None:
    entries = _converse(_autogram(None), ["thought|yes|choice|dict|chat|llm"])
    named = [(entry["helper"], entry["function_name"]) for entry in entries]
    assert named == [
        ("thought", "call_model"),
        ("yes_or_no", "call_classifier"),
        ("multiple_choice", "call_classifier"),
        ("generate_fixed_dict", "call_object_model"),
        ("call_chat_completion", "call_chat_completion"),
        ("call_llm", "call_chat_completion"),
        ("reply_instruction", "call_model"),
    ]


@pytest.mark.parametrize("mode", [None, "none"])
def test_by_default_and_with_none_an_unsupervised_entry_holds_no_message_text(mode) -> None:
    entries = _converse(_autogram(mode), ["thought|yes|image|dict"])
    for entry in entries:
        inputs = entry["function_inputs"]
        assert not {"input_turns", "output_turns", "system_prompt"} & set(inputs)
        assert isinstance(inputs["messages"], int)  # the request's summary: a count
        assert "What does the user want?" not in repr(inputs)


def _formal(instruction: str, **kwargs: Any) -> str:
    return "Good day."


@autograms_function()
def supervised_bot():
    reply("Hi")
    thought("Note the user's mood.")
    reply_instruction("Greet the user.", supervisor=_formal)


@pytest.mark.parametrize(("mode", "kept"), [(None, 1), ("supervised", 1), ("all", 2), ("none", 0)])
def test_log_model_inputs_keeps_the_prompts_it_says(mode, kept: int) -> None:
    settings = {} if mode is None else {"log_model_inputs": mode}
    autogram = Autogram(
        supervised_bot, AutogramConfig(**settings), test_mode=True, supervisor_mode=True
    )
    _, memory = autogram.reply()
    _, memory = autogram.reply("hello", memory_object=memory)
    memory = autogram.deserialize(autogram.serialize(memory))
    entries = [e for e in memory.memory_dict["model_turns"] if e["entry_type"] == "model"]
    with_inputs = [e for e in entries if "input_turns" in e["function_inputs"]]
    assert len(with_inputs) == kept
    supervised = [e for e in entries if e["supervisor_info"] is not None]
    assert [e["output"] for e in supervised] == ["Good day."]
    if kept:
        inputs = supervised[0]["function_inputs"]
        assert inputs["system_prompt"] == "You are an agent."
        assert inputs["input_turns"][-1].endswith("Greet the user.")
        assert len(inputs["input_turns"]) == len(inputs["output_turns"]) + 1


def test_an_unknown_log_model_inputs_is_refused_naming_the_field() -> None:
    with pytest.raises(ConfigError) as caught:
        AutogramConfig(log_model_inputs="some")
    assert caught.value.field == "log_model_inputs"
    assert "supervised" in str(caught.value)
