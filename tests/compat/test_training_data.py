"""Training data from saved sessions, as AutoGRAMS' simulation and finetuning scripts prepare
it: a supervised simulation's sessions -- kept in memory through serialize/deserialize, saved
as files, or run in a session store -- give one example per supervised model call through
``autograms.finetuning``, the same examples whichever way they were kept; and with
``log_model_inputs="all"`` every example is the prompt the server received."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from autograms import Autogram, AutogramConfig, autograms_function
from autograms.finetuning.get_training_messages import (
    convert_messages,
    get_training_messages,
    get_training_messages_dpo,
)
from autograms.finetuning.model_simulation import ChatbotSimulator, userbot_deterministic
from autograms.functional import generate_fixed_dict, reply, reply_instruction, thought, yes_or_no
from autograms.stores import Sessions, TurnRunner, open_store
from tests.compat.bots import supervised

#: what each supervised call of `supervised.chatbot`'s loop answers (its final message)
LOOP_OUTPUTS = {
    "Yes",
    "C",
    '{"data": ["alpha", "beta"]}',
    '{"left": "LEFT", "right": "RIGHT"}',
    '{"item1": "0", "item2": "1", "item3": "2"}',
}


def _simulation(turns: int, seed: int) -> tuple[Autogram, list[str]]:
    autogram = Autogram(supervised.chatbot, test_mode=True, supervisor_mode=True, seed=seed)
    return autogram, [f"user message {n}" for n in range(turns)]


def _in_memory(autogram: Autogram, messages: list[str]) -> dict:
    _, memory = autogram.reply()
    for message in messages:
        memory = autogram.deserialize(autogram.serialize(memory))
        _, memory = autogram.reply(message, memory_object=memory)
    return autogram.deserialize(autogram.serialize(memory)).memory_dict


def _from_files(autogram: Autogram, messages: list[str], folder: Path) -> dict:
    """Each turn saved and loaded again, as run_model_simulation.py keeps example{i}.pkl."""
    path = folder / "example0.pkl"
    _, memory = autogram.reply()
    for message in messages:
        autogram.save(str(path), memory)
        _, memory = autogram.reply(message, memory_object=autogram.load(str(path)))
    autogram.save(str(path), memory)
    reader = Autogram(supervised.chatbot, test_mode=True)  # a finetuning run's own Autogram
    return reader.load(str(sorted(folder.glob("*.pkl"))[0])).memory_dict


def _from_store(autogram: Autogram, messages: list[str], folder: Path) -> dict:
    """Turns run by a store's runner; the log read back from the store's log table."""
    store = open_store(f"sqlite:///{folder / 'sessions.db'}")
    try:
        sessions, runner = Sessions(autogram, store), TurnRunner(autogram, store)
        session = sessions.create()
        runner.run_turn(session.id, "", "opening")
        for n, message in enumerate(messages):
            runner.run_turn(session.id, message, f"turn-{n}")
        return {"model_turns": sessions.log(session.id)}
    finally:
        store.close()


@pytest.mark.parametrize("seed", range(3))
def test_supervised_sessions_give_one_example_per_supervised_call_however_kept(
    seed: int, tmp_path: Path
) -> None:
    turns = random.Random(seed).randint(1, 4)
    autogram, messages = _simulation(turns, seed)
    kept = {
        "memory": _in_memory(autogram, messages),
        "files": _from_files(autogram, messages, tmp_path),
        "store": _from_store(autogram, messages, tmp_path),
    }
    examples = {how: get_training_messages([memory_dict]) for how, memory_dict in kept.items()}
    assert examples["memory"] == examples["files"] == examples["store"]
    supervised_calls = [
        e
        for e in kept["memory"]["model_turns"]
        if e["entry_type"] == "model" and e["supervisor_info"] is not None
    ]
    found = examples["memory"]
    assert len(found) == len(supervised_calls) == 2 + 5 * turns
    for example, entry in zip(found, supervised_calls, strict=True):
        *prompt, final = example["messages"]
        assert final == {
            "role": "assistant",
            "content": [{"type": "text", "text": entry["output"]}],
            "weight": 1,
        }
        assert prompt[0]["role"] == "system" and prompt[-1]["role"] == "user"
        assert all(m.get("weight") == 0 for m in prompt if m["role"] == "assistant")
    finals = [example["messages"][-1]["content"][0]["text"] for example in found]
    assert finals[1] == "Good day to you."  # make_formal's reply to "Respond to the user."
    assert set(finals[2:]) == LOOP_OUTPUTS


def test_examples_convert_to_the_jsonl_openai_and_hugging_face_take(tmp_path: Path) -> None:
    autogram, messages = _simulation(2, 0)
    examples = get_training_messages([_in_memory(autogram, messages)])
    convert_messages(examples, remove_weight=True)
    lines = [json.dumps(example) for example in examples]
    for line in lines:
        for message in json.loads(line)["messages"]:
            assert set(message) == {"role", "content"} and isinstance(message["content"], str)


def test_dpo_pairs_and_tag_queries_select_the_supervisors_signals() -> None:
    autogram, messages = _simulation(2, 1)
    memory_dict = _in_memory(autogram, messages)
    pairs = get_training_messages_dpo([memory_dict])
    assert [pair["non_preferred_output"] for pair in pairs] == [
        [{"role": "assistant", "content": "hey there"}]
    ]
    assert pairs[0]["preferred_output"] == [{"role": "assistant", "content": "Good day to you."}]
    tone = get_training_messages([memory_dict], tag_query="tone")
    summary_or_tone = get_training_messages([memory_dict], tag_query="(summary | tone)")
    assert [e["messages"][-1]["content"][0]["text"] for e in tone] == ["Good day to you."]
    assert len(summary_or_tone) == 2
    assert len(get_training_messages([memory_dict], score_threshold=0.5)) == 1  # 0.9 only
    assert get_training_messages([memory_dict], train_classifier=False, train_structured=False)


def test_a_simulated_user_conversation_gives_the_chatbots_supervised_calls() -> None:
    chatbot = Autogram(supervised.chatbot, test_mode=True, supervisor_mode=True)
    user = Autogram(userbot_deterministic, test_mode=True)
    chatbot_memory, user_memory = ChatbotSimulator(chatbot, user).simulate(
        num_turns=3, user_kwargs={"message": "tell me more"}
    )
    users = [t for t in chatbot_memory.extract_full_conv_history() if t["role"] == "user"]
    assert [t["content"] for t in users] == [""] + ["tell me more"] * 3
    memory_dict = chatbot.deserialize(chatbot.serialize(chatbot_memory)).memory_dict
    assert len(get_training_messages([memory_dict])) == 2 + 5 * 3


# --- every call's prompt, as the server received it ---------------------------------------------


@autograms_function()
def live_bot():
    reply("Hello, how can I help?")
    while True:
        thought("What does the user need?")
        if yes_or_no("Is the user asking about an order?"):
            generate_fixed_dict("The order's number and date.", ["number", "date"])
        reply_instruction("Answer the user.")


def test_with_all_every_call_is_an_example_of_the_prompt_the_server_received(server) -> None:
    config = AutogramConfig(
        chatbot_type="proxy", base_url=server.base_url, api_key="sk-x", log_model_inputs="all"
    )
    autogram = Autogram(live_bot, config)
    rng = random.Random(4)
    memory_dict = _in_memory(
        autogram, [rng.choice(["my order", "hi", "where is it"]) for _ in "abcd"]
    )
    examples = get_training_messages([memory_dict], require_supervisor=False)
    convert_messages(examples, remove_weight=True)
    received = server.chat_requests()
    assert len(examples) == len(received) > 8
    calls = [e for e in memory_dict["model_turns"] if e["entry_type"] == "model"]
    for example, request, entry in zip(examples, received, calls, strict=True):
        *prompt, final = example["messages"]
        assert prompt == [{"role": m["role"], "content": m["content"]} for m in request["messages"]]
        assert final == {"role": "assistant", "content": entry["output"]}
