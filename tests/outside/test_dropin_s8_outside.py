"""Outside tests, session 8: a team coming from AutoGRAMS 0.6.0 on its second day (issue 16).

Written from AutoGRAMS' README, docs/, examples/ and scripts and this project's README only.
Oracle: AutoGRAMS 0.6.0's documented behaviour (and the behaviour reference in
shared/design/autograms-reference.md where the docs are silent), plain Python, numpy.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import pickle
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from autograms import (
    Autogram,
    AutogramConfig,
    ConversationError,
    SessionCodeError,
    SessionError,
    load_autogram,
)

from .dropin_s8_bots import (
    s8_admin_bot,
    s8_history_bot,
    s8_mood_bot,
    s8_notes_index,
    s8_number_bot,
    s8_router_bot,
    s8_secret_bot,
    s8_support_desk,
    s8_two_bots,
    s8_userbot,
)
from .dropin_s8_support import REPO, FakeOpenAI, proxy_config

#: the function names AutoGRAMS writes into a model entry of memory_dict['model_turns'] (the
#: low-level call that reached the model); its finetuning data preparation selects on them
AUTOGRAMS_MODEL_FUNCTIONS = {
    "call_model",
    "call_classifier",
    "call_object_model",
    "call_chat_completion",
    "call_completion",
}


@pytest.fixture
def server():
    with FakeOpenAI() as srv:
        yield srv


def _round_trip(autogram: Autogram, memory):
    return autogram.deserialize(autogram.serialize(memory))


def _support_desk_session(autogram: Autogram, turns: int = 3):
    text, memory = autogram.reply()
    for i in range(turns):
        memory = _round_trip(autogram, memory)
        text, memory = autogram.reply(f"my order {i} is late", memory_object=memory)
    return memory


def _training_examples(memory_dicts: list) -> list[dict]:
    """Training data as AutoGRAMS' run_finetuning.py prepares it (written here from its docs):
    every supervised model entry of each saved session, the prompt rebuilt from the entry's
    function_inputs (input_turns, output_turns, system_prompt) and the supervised output last."""
    examples = []
    for memory_dict in memory_dicts:
        for entry in memory_dict["model_turns"]:
            if entry["entry_type"] != "model" or not entry.get("supervisor_info"):
                continue
            if entry["function_name"] not in AUTOGRAMS_MODEL_FUNCTIONS:
                continue
            inputs = entry["function_inputs"]
            messages = [{"role": "system", "content": inputs["system_prompt"]}]
            for user_text, agent_text in zip(
                inputs["input_turns"][:-1], inputs["output_turns"], strict=True
            ):
                messages += [
                    {"role": "user", "content": user_text},
                    {"role": "assistant", "content": agent_text},
                ]
            messages.append({"role": "user", "content": inputs["input_turns"][-1]})
            messages.append({"role": "assistant", "content": entry["output"]})
            examples.append(
                {"messages": messages, "rejected": entry["supervisor_info"].get("rejected_output")}
            )
    return examples


# --- finetuning and simulation (docs/documentation/simulation_finetuning.md) -------------------


def test_finetuning_modules_of_autograms_import():
    from autograms.finetuning.get_training_messages import convert_messages, get_training_messages  # noqa: F401
    from autograms.finetuning.model_simulation import ChatbotSimulator  # noqa: F401


@pytest.mark.parametrize("user_goes_first", [False, True])
def test_chatbot_and_userbot_simulated_against_each_other_keep_mirrored_histories(user_goes_first):
    # ChatbotSimulator's loop, written by the team: reply(None) starts the chatbot; the userbot
    # gets the chatbot's text as its user message; every memory goes through a round trip.
    bot = Autogram(root_function=s8_support_desk.chatbot, test_mode=True, supervisor_mode=True)
    user = Autogram(root_function=s8_userbot.chatbot, test_mode=True, supervisor_mode=True)
    bot_memory = user_memory = None
    bot_text = None
    if not user_goes_first:
        bot_text, bot_memory = bot.reply(None, memory_object=bot_memory)
    for _ in range(4):
        user_text, user_memory = user.reply(bot_text, memory_object=user_memory, persona="Ann")
        bot_text, bot_memory = bot.reply(user_text, memory_object=bot_memory)
        user_memory = _round_trip(user, user_memory)
        bot_memory = _round_trip(bot, bot_memory)
    assert user_text.startswith("[Ann #4] you said: ")
    bot_history = bot_memory.extract_full_conv_history()
    user_history = user_memory.extract_full_conv_history()
    swapped = {"user": "assistant", "assistant": "user"}
    bot_texts = [(t["role"], t["content"]) for t in bot_history if t["content"]]
    user_texts = [(swapped[t["role"]], t["content"]) for t in user_history if t["content"]]
    # the userbot's history is the chatbot's, roles swapped, minus the chatbot's last reply
    assert bot_texts[: len(user_texts)] == user_texts
    assert bot_texts[-1] == ("assistant", bot_text)
    assert len(bot_texts) == len(user_texts) + 1


def test_supervisor_info_of_every_supervised_call_survives_save_and_load(tmp_path):
    autogram = Autogram(root_function=s8_support_desk.chatbot, test_mode=True, supervisor_mode=True)
    paths = []
    for n in range(2):
        memory = _support_desk_session(autogram, turns=2 + n)
        path = tmp_path / f"example{n}.pkl"  # the file names run_model_simulation.py writes
        autogram.save(str(path), memory)
        paths.append(path)
    reader = Autogram(root_function=s8_support_desk.chatbot, test_mode=True)
    supervised = []
    for path in paths:
        for entry in reader.load(str(path)).memory_dict["model_turns"]:
            if entry["entry_type"] == "model" and entry.get("supervisor_info"):
                supervised.append((entry["output"], entry["supervisor_info"]))
    # 2 + 3 turns, one thought and one reply_instruction supervised per turn
    assert len(supervised) == 10
    polite = [(output, info) for output, info in supervised if output.startswith("Dear customer, ")]
    assert len(polite) == 5
    for output, info in polite:
        instruction = output.removeprefix("Dear customer, ")
        assert info == {
            "score": 0.9,
            "rejected_output": "yo " + instruction,
            "tags": ["style", "dpo"],
        }
    thoughts = [info for output, info in supervised if output.startswith("Thinking carefully: ")]
    assert thoughts == [{"score": 0.4, "rejected_output": None, "tags": ["thought"]}] * 5


def test_model_entries_name_the_model_call_as_autograms_logs_it(server):
    autogram = Autogram(
        root_function=s8_support_desk.chatbot, autogram_config=proxy_config(server.port)
    )
    memory = _support_desk_session(autogram, turns=1)
    names = [
        e["function_name"] for e in memory.memory_dict["model_turns"] if e["entry_type"] == "model"
    ]
    # thought, multiple_choice, yes_or_no, (generate_list,) reply_instruction
    assert names[0] == "call_model"
    assert names[1] == names[2] == "call_classifier"
    assert names[-1] == "call_model"
    assert set(names) <= AUTOGRAMS_MODEL_FUNCTIONS


# Fixed in session 8 (was a strict xfail: function_inputs held counts only). By default only
# the calls a supervisor answered keep their prompt (what run_finetuning.py reads; every call's
# prompt makes the log grow by turns x context): this unsupervised run asks for all of them.
def test_model_entries_keep_the_prompt_sent_for_training_data(server):
    config = dataclasses.replace(proxy_config(server.port), log_model_inputs="all")
    autogram = Autogram(root_function=s8_support_desk.chatbot, autogram_config=config)
    memory = _support_desk_session(autogram, turns=1)
    entry = [e for e in memory.memory_dict["model_turns"] if e["entry_type"] == "model"][-1]
    sent = server.chat_requests()[-1]["messages"]
    inputs = entry["function_inputs"]
    assert inputs["system_prompt"] == sent[0]["content"] == "You are the help desk of a shirt shop."
    assert inputs["input_turns"][-1] == sent[-1]["content"]
    assert len(inputs["input_turns"]) == len(inputs["output_turns"]) + 1


def test_training_data_prepared_from_saved_simulation_sessions(tmp_path):
    autogram = Autogram(root_function=s8_support_desk.chatbot, test_mode=True, supervisor_mode=True)
    memory = _support_desk_session(autogram, turns=3)
    autogram.save(str(tmp_path / "example0.pkl"), memory)
    loaded = Autogram(root_function=s8_support_desk.chatbot, test_mode=True).load(
        str(tmp_path / "example0.pkl")
    )
    examples = _training_examples([loaded.memory_dict])
    assert len(examples) == 6
    finals = [ex["messages"][-1]["content"] for ex in examples]
    assert (
        finals.count("Dear customer, Answer the billing question.")
        + finals.count("Dear customer, Answer the shipping question.")
        + finals.count("Dear customer, Answer the returns question.")
        == 3
    )
    assert all(
        ex["messages"][0]["content"] == "You are the help desk of a shirt shop." for ex in examples
    )


# --- conversation history over a long conversation ---------------------------------------------


# Fixed in session 9 (was a strict xfail: the opening empty user message was left out, so code
# pairing history[2i] (user) with history[2i+1] (assistant) was shifted by one).
def test_full_conversation_history_starts_with_the_first_turns_user_message():
    autogram = Autogram(root_function=s8_userbot.chatbot, test_mode=True)
    text, memory = autogram.reply()
    text, memory = autogram.reply("hello", memory_object=memory)
    history = memory.extract_full_conv_history()
    assert history[0] == {"role": "user", "content": ""}
    assert [t["role"] for t in history] == ["user", "assistant", "user", "assistant"]


def test_full_conversation_history_of_a_long_conversation_is_complete_after_round_trips():
    autogram = Autogram(root_function=s8_userbot.chatbot, test_mode=True)
    text, memory = autogram.reply()
    sent = []
    for i in range(150):
        if i % 10 == 0:
            memory = _round_trip(autogram, memory)
        message = f"message {i} " + "z" * (i % 7) * 100
        sent.append(message)
        text, memory = autogram.reply(message, memory_object=memory)
    history = [t for t in memory.extract_full_conv_history() if t["content"] != ""]
    assert [t["content"] for t in history if t["role"] == "user"] == sent
    assert len([t for t in history if t["role"] == "assistant"]) == 151
    entries = list(memory.memory_dict["model_turns"])
    assert [e["user_reply"] for e in entries if e["entry_type"] == "user_reply"][1:] == sent


# Fixed in session 9 (was a strict xfail: get_turn_history() and memory_dict['turn_stack'] held
# only the newest turns).
def test_get_turn_history_returns_the_whole_conversation_after_a_long_one():
    autogram = Autogram(root_function=s8_history_bot.chatbot, test_mode=True)
    text, memory = autogram.reply()
    for i in range(60):
        text, memory = autogram.reply(f"user {i} " + "x" * 1000, memory_object=memory)
    assert text == "I have seen 60 of my replies so far."
    assert len(s8_history_bot.SEEN["inputs"]) == 61


def test_get_turn_history_is_whole_when_the_config_allows_long_prompts():
    autogram = Autogram(
        root_function=s8_history_bot.chatbot,
        test_mode=True,
        autogram_config=AutogramConfig(chatbot_max_input_len=100000),
    )
    text, memory = autogram.reply()
    for i in range(60):
        text, memory = autogram.reply(f"user {i} " + "x" * 1000, memory_object=memory)
    assert text == "I have seen 60 of my replies so far."
    assert s8_history_bot.SEEN["inputs"][-1].startswith("User: user 59 ")


# --- a per-user vector index in a paused program's locals ---------------------------------------


def _fake_embedding(text: str) -> list[float]:
    return [b / 255 for b in hashlib.sha256(text.encode()).digest()[:8]]


def test_numpy_index_in_locals_searches_exactly_after_round_trips_and_additions(server):
    config = proxy_config(server.port)
    autogram = Autogram(root_function=s8_notes_index.chatbot, autogram_config=config)
    text, memory = autogram.reply()
    notes = ["apples", "bananas", "cherries", "dates"]
    for message in notes + ["+elder", "?banana"]:
        memory = _round_trip(autogram, memory)
        text, memory = autogram.reply(message, memory_object=memory)
    notes.append("elder")
    query = _fake_embedding("banana")
    expected = sorted((math.dist(_fake_embedding(t), query), t) for t in notes)[:2]
    hits = s8_notes_index.RESULTS["hits"]
    assert [h["text"] for h in hits] == [t for _, t in expected]
    assert [float(h["distance"]) for h in hits] == pytest.approx([d for d, _ in expected], rel=1e-5)
    assert hits[0]["metadata"] == {"n": notes.index(expected[0][1])}
    # restricted to documents 1 and 2, the nearest of those two (AutoGRAMS indexed the full list)
    best_of_two = min(notes[1:3], key=lambda t: math.dist(_fake_embedding(t), query))
    assert [h["text"] for h in s8_notes_index.RESULTS["restricted"]] == [best_of_two]


# --- a session saved by one version of a bot, continued by an edited one -------------------------

SHOP_V1 = """
from autograms import autograms_function
from autograms.functional import reply, reply_instruction, set_system_prompt


@autograms_function()
def ask_details(item):
    size = reply(f"Which size for your {item}?", ADDRESS="ask_size")
    color = reply("Which color?", ADDRESS="ask_color")
    return {"item": item, "size": size, "color": color}


@autograms_function()
def chatbot():
    set_system_prompt("You sell shirts.")
    item = reply("What would you like to buy?", ADDRESS="ask_item")
    order = ask_details(item, ADDRESS="details")
    reply(f"Order: {order['item']} {order['size']} {order['color']}", ADDRESS="confirm")
    while True:
        reply_instruction("Answer questions about the order.", ADDRESS="faq")
"""

SHOP_V2 = """
from autograms import autograms_function
from autograms.functional import reply, reply_instruction, set_system_prompt, thought

# v2: lines added above everything, a thought before the pause, new texts after the labels
DISCOUNT = 10


@autograms_function()
def ask_details(item):
    thought("Consider the item")
    size = reply(f"What size would you like for your {item}?", ADDRESS="ask_size")
    color = reply("And which colour (v2)?", ADDRESS="ask_color")
    return {"item": item, "size": size.upper(), "color": color, "v": 2}


@autograms_function()
def chatbot():
    set_system_prompt("You sell shirts and hats.")
    item = reply("What would you like to buy today?", ADDRESS="ask_item")
    order = ask_details(item, ADDRESS="details")
    reply(f"Order v2: {order['item']} {order['size']} {order['color']} -{DISCOUNT}%", ADDRESS="confirm")
    while True:
        reply_instruction("Answer questions about the order.", ADDRESS="faq")
"""


def test_edited_bot_replays_the_saved_turn_with_its_new_code(tmp_path):
    # autograms' reply_functions.md: with ADDRESS on every reply and every decorated call, "you can
    # change the code and reload the previous memory object to see how this change affects the reply"
    bot_file = tmp_path / "s8_shop_edit.py"
    bot_file.write_text(SHOP_V1)
    chatbot, _ = load_autogram(str(bot_file))
    autogram = Autogram(root_function=chatbot, test_mode=True)
    text, memory = autogram.reply()
    text, memory = autogram.reply("shirt", memory_object=memory)
    assert text == "Which size for your shirt?"
    before_reply = autogram.serialize(memory)  # what run_autogram.py keeps in --saveload_file
    text, memory = autogram.reply("m", memory_object=memory)
    assert text == "Which color?"

    time.sleep(0.01)
    bot_file.write_text(SHOP_V2)
    chatbot2, _ = load_autogram(str(bot_file))
    edited = Autogram(root_function=chatbot2, test_mode=True)
    memory = edited.deserialize(before_reply)
    text, memory = edited.reply("m", memory_object=memory)
    assert text == "And which colour (v2)?"
    memory = _round_trip(edited, memory)
    text, memory = edited.reply("red", memory_object=memory)
    assert text == "Order v2: shirt M red -10%"
    assert memory.memory_dict["stack"][-1]["address"] == "confirm"


# --- test mode: the same conversation takes the same branches, however it is run -----------------

_ONE_TURN_IN_A_FRESH_PROCESS = """
import pathlib, sys
from autograms import Autogram
from tests.outside.dropin_s8_bots import s8_mood_bot
autogram = Autogram(root_function=s8_mood_bot.chatbot, test_mode=True, seed=7)
store = pathlib.Path(sys.argv[1])
if store.exists():
    text, memory = autogram.reply(sys.argv[2], memory_object=autogram.deserialize(store.read_text()))
else:
    text, memory = autogram.reply()
store.write_text(autogram.serialize(memory))
print(text)
"""


def test_test_mode_answers_are_the_same_with_a_fresh_process_per_turn(tmp_path):
    # autograms debug's habit (--num_simulations): a seeded test-mode run must replay exactly,
    # whether the session stays in memory or each turn runs in a new worker process
    messages = ["fine", "meh", "great!", "no"]
    autogram = Autogram(root_function=s8_mood_bot.chatbot, test_mode=True, seed=7)
    text, memory = autogram.reply()
    in_process = [text]
    for message in messages:
        text, memory = autogram.reply(message, memory_object=memory)
        in_process.append(text)
    store = tmp_path / "session.txt"
    fresh = []
    for message in [""] + messages:
        done = subprocess.run(
            [sys.executable, "-c", _ONE_TURN_IN_A_FRESH_PROCESS, str(store), message],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        fresh.append(done.stdout.strip())
    assert fresh == in_process
    assert any(t.startswith("mood ") for t in in_process)
    assert any(t.startswith("[scripted reply") for t in in_process)


# --- a memory given to the wrong Autogram ---------------------------------------------------------


@pytest.mark.parametrize("given_as", ["memory_object", "memory_dict"])
def test_an_autogram_refuses_the_memory_of_another_program(given_as):
    shop = Autogram(root_function=s8_two_bots.shop_bot, test_mode=True)
    user = Autogram(root_function=s8_two_bots.user_bot, test_mode=True)
    text, shop_memory = shop.reply()
    given = shop_memory if given_as == "memory_object" else shop_memory.memory_dict
    with pytest.raises((SessionCodeError, ConversationError)):
        user.reply("hello", **{given_as: given})  # today: ("shop bot speaking", memory)


def test_deserialize_refuses_the_session_of_another_program_naming_both():
    shop = Autogram(root_function=s8_two_bots.shop_bot, test_mode=True)
    user = Autogram(root_function=s8_two_bots.user_bot, test_mode=True)
    text, shop_memory = shop.reply()
    with pytest.raises(SessionCodeError, match="shop_bot.*user_bot"):
        user.deserialize(shop.serialize(shop_memory))
    with pytest.raises(ConversationError, match="shop_bot"):
        user.apply("hello", memory_object=shop_memory)


def _run_cli(args: list[str], stdin: str, cwd) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "autograms", "run", *args],
        input=stdin,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return [part.split("\n")[0] for part in done.stdout.split("Agent: ")[1:]]


def test_saveload_file_continues_an_edited_bot_at_its_labels(tmp_path):
    bot_file = tmp_path / "s8_shop_cli.py"
    bot_file.write_text(SHOP_V1)
    flags = ["--autogram_file", bot_file.name, "--saveload_file", "s.txt", "--test-mode"]
    first = _run_cli(flags, "shirt\nm\nexit\n", tmp_path)
    assert first == ["What would you like to buy?", "Which size for your shirt?", "Which color?"]
    bot_file.write_text(SHOP_V2)
    second = _run_cli(flags, "red\nexit\n", tmp_path)
    assert second[-1] == "Order v2: shirt M red -10%"


# Fixed in session 9 (was a strict xfail: --saveload_file continued exactly, with no replay).
def test_saveload_file_replays_the_last_message_with_the_edited_code(tmp_path):
    bot_file = tmp_path / "s8_shop_replay.py"
    bot_file.write_text(SHOP_V1)
    flags = ["--autogram_file", bot_file.name, "--saveload_file", "s.txt", "--test-mode"]
    _run_cli(flags, "shirt\nm\nexit\n", tmp_path)
    bot_file.write_text(SHOP_V2)
    second = _run_cli(flags, "red\nexit\n", tmp_path)
    assert second == ["And which colour (v2)?", "Order v2: shirt M red -10%"]


# --- persistent globals of a bot file reloaded by load_autogram after an edit ---------------------

CART_V1 = """
from autograms import autograms_function
from autograms.functional import reply
from autograms.memory import set_persistent_globals

with set_persistent_globals():
    visits = 0
    cart = []


def add_to_cart(item):
    cart.append(item)
    return len(cart)


@autograms_function()
def chatbot():
    global visits
    while True:
        visits += 1
        item = reply(f"{VERSION} visit {visits}, cart {cart}", ADDRESS="loop")
        add_to_cart(item)
"""


def _cart_bot(tmp_path, name: str, version: str):
    bot_file = tmp_path / f"{name}.py"
    bot_file.write_text(f"VERSION = {version!r}\n" + CART_V1)
    return bot_file


def test_persistent_globals_reach_plain_helpers_of_a_bot_file_loaded_once(tmp_path):
    bot_file = _cart_bot(tmp_path, "s8_cart_once", "v1")
    chatbot, _ = load_autogram(str(bot_file))
    autogram = Autogram(root_function=chatbot, test_mode=True)
    text, memory = autogram.reply()
    for item in ["apple", "pear"]:
        text, memory = autogram.reply(item, memory_object=memory)
    assert text == "v1 visit 3, cart ['apple', 'pear']"
    assert sys.modules["s8_cart_once"].cart == []


@pytest.mark.parametrize("session", ["new", "continued"])
def test_persistent_globals_reach_plain_helpers_after_load_autogram_reruns_an_edit(
    tmp_path, session
):
    name = f"s8_cart_{session}"
    bot_file = _cart_bot(tmp_path, name, "v1")
    chatbot, _ = load_autogram(str(bot_file))
    autogram = Autogram(root_function=chatbot, test_mode=True)
    text, memory = autogram.reply()
    text, memory = autogram.reply("apple", memory_object=memory)
    saved = autogram.serialize(memory)
    time.sleep(0.01)
    _cart_bot(tmp_path, name, "v2")
    chatbot, _ = load_autogram(str(bot_file))
    edited = Autogram(root_function=chatbot, test_mode=True)
    if session == "new":
        text, memory = edited.reply()
        before = []
    else:
        memory = edited.deserialize(saved)
        before = ["apple"]
    for item in ["plum", "fig"]:
        text, memory = edited.reply(item, memory_object=memory)
    assert text.endswith(f"cart {before + ['plum', 'fig']}")
    assert sys.modules[name].cart == []


# --- an admin tool working on a saved session between turns --------------------------------------


def test_admin_edits_of_globals_inside_use_memory_are_saved_with_the_session():
    autogram = Autogram(root_function=s8_admin_bot.chatbot, test_mode=True)
    text, memory = autogram.reply()
    text, before = autogram.reply("apple", memory_object=memory)
    with autogram.use_memory(_round_trip(autogram, before)) as session:
        s8_admin_bot.G["vip"] = True
        s8_admin_bot.cart.append("gift")
        s8_admin_bot.visits = 100
    assert (s8_admin_bot.visits, s8_admin_bot.cart, s8_admin_bot.G["vip"]) == (0, [], False)
    text, _ = autogram.reply("pear", memory_object=_round_trip(autogram, session))
    assert text == "visit 101, cart ['apple', 'gift', 'pear'], vip True"
    # the session the admin's copy came from is left as it was
    text, _ = autogram.reply("plum", memory_object=_round_trip(autogram, before))
    assert text == "visit 3, cart ['apple', 'plum'], vip False"


def test_memory_dict_has_autograms_globals_snapshot_and_version():
    autogram = Autogram(root_function=s8_admin_bot.chatbot, test_mode=True)
    text, memory = autogram.reply()
    text, memory = autogram.reply("apple", memory_object=_round_trip(autogram, memory))
    memory_dict = memory.memory_dict
    assert memory_dict["globals_snapshot"] == {"visits": 2, "cart": ["apple"]}
    assert isinstance(memory_dict["version"], str)


# --- generated conversations: every way a run loop keeps a session gives the same conversation ---

_ROUTER_WORDS = [
    "",
    "notes",
    "chat",
    "rename",
    "quit",
    "back",
    "menu",
    "Ann",
    "buy milk",
    "hello",
    "x",
]


def _router_conversation(keep: str, messages: list[str], seed: int, folder) -> tuple:
    autogram = Autogram(root_function=s8_router_bot.chatbot, test_mode=True, seed=seed)
    text, memory = autogram.reply()
    replies = [text]
    for message in messages:
        if keep == "serialize":
            memory = _round_trip(autogram, memory)
        elif keep == "save/load":
            autogram.save(str(folder / "session.txt"), memory)
            memory = autogram.load(str(folder / "session.txt"))
        elif keep == "pickle":
            memory = pickle.loads(pickle.dumps(memory))
        if keep == "memory_dict":
            text, memory = autogram.reply(message, memory_dict=memory.memory_dict)
        else:
            text, memory = autogram.reply(message, memory_object=memory)
        replies.append(text)
    entries = [
        {k: v for k, v in e.items() if k not in ("timestamp", "latency")}
        for e in memory.memory_dict["model_turns"]
    ]
    return (
        replies,
        entries,
        memory.extract_full_conv_history(),
        dict(memory.memory_dict["user_globals"]),
    )


@pytest.mark.parametrize("keep", ["serialize", "save/load", "memory_dict", "pickle"])
def test_generated_conversations_are_the_same_however_the_run_loop_keeps_the_session(
    keep, tmp_path
):
    for trial in range(8):
        rng = random.Random(trial)
        messages = [rng.choice(_ROUTER_WORDS) for _ in range(rng.randint(3, 25))]
        live = _router_conversation("live", messages, trial, tmp_path)
        kept = _router_conversation(keep, messages, trial, tmp_path)
        for part, a, b in zip(
            ["replies", "model_turns", "history", "user_globals"], live, kept, strict=True
        ):
            assert a == b, (part, messages)


# --- an empty message ------------------------------------------------------------------------------


def test_extract_last_user_reply_after_an_empty_message_is_not_the_previous_one():
    autogram = Autogram(root_function=s8_userbot.chatbot, test_mode=True)
    text, memory = autogram.reply()
    text, memory = autogram.reply("hello", memory_object=memory)
    assert text == "[a customer #2] you said: hello"
    text, memory = autogram.reply("", memory_object=_round_trip(autogram, memory))
    assert text in ("[a customer #3] you said: None", "[a customer #3] you said: ")


# --- token usage of a turn that failed after calling the model ------------------------------------


# Fixed in session 9 (was a strict xfail: a failed turn's model calls were dropped from the log).
def test_token_usage_in_model_turns_counts_the_calls_of_a_failed_turn(server):
    autogram = Autogram(
        root_function=s8_number_bot.chatbot, autogram_config=proxy_config(server.port)
    )
    text, memory = autogram.reply()
    with pytest.raises(ValueError):
        autogram.reply("abc", memory_object=memory)
    text, memory = autogram.reply("5", memory_object=memory)
    logged = sum(
        e["usage_log"]["total_tokens"]
        for e in memory.memory_dict["model_turns"]
        if e.get("usage_log")
    )
    billed = len(server.chat_requests()) * (server.prompt_tokens + server.completion_tokens)
    assert logged == billed


# --- simulations in threads -------------------------------------------------------------------------


def _simulation(run: int) -> tuple:
    bot = Autogram(
        root_function=s8_support_desk.chatbot, test_mode=True, supervisor_mode=True, seed=run
    )
    user = Autogram(root_function=s8_userbot.chatbot, test_mode=True, seed=run)
    admin = Autogram(root_function=s8_admin_bot.chatbot, test_mode=True, seed=run)
    router = Autogram(root_function=s8_router_bot.chatbot, test_mode=True, seed=run)
    bot_text, bot_memory = bot.reply(None)
    user_memory = None
    admin_memory = admin.reply()[1]
    router_memory = router.reply()[1]
    texts = []
    for k in range(10):
        user_text, user_memory = user.reply(bot_text, memory_object=user_memory, persona=f"p{run}")
        bot_text, bot_memory = bot.reply(user_text, memory_object=bot_memory)
        admin_text, admin_memory = admin.reply(f"item{run}-{k}", memory_object=admin_memory)
        menu = ["Ann", "notes", f"note {run}", "back", "chat", "menu"][k % 6]
        router_text, router_memory = router.reply(menu, memory_object=router_memory)
        texts.append((user_text, bot_text, admin_text, router_text))

    def entries(memory):
        return [
            {k: v for k, v in e.items() if k not in ("timestamp", "latency")}
            for e in memory.memory_dict["model_turns"]
        ]

    return (
        texts,
        entries(bot_memory),
        entries(user_memory),
        dict(router_memory.memory_dict["user_globals"]),
    )


def test_simulations_in_threads_give_what_they_give_one_after_another():
    # a team runs its simulations (chatbot + userbot, bots with persistent and user globals) in a
    # thread pool to overlap model calls; each run must be what it is when run alone
    one_by_one = [_simulation(run) for run in range(4)]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(_simulation, range(4)))
    assert threaded == one_by_one
    assert (
        one_by_one[0][0][-1][2]
        == "visit 11, cart ['item0-0', 'item0-1', 'item0-2', 'item0-3', 'item0-4', 'item0-5', 'item0-6', 'item0-7', 'item0-8', 'item0-9'], vip False"
    )


def test_debug_typed_alone_shows_the_state_instead_of_answering_the_bot(tmp_path):
    bot_file = tmp_path / "s8_shop_debug.py"
    bot_file.write_text(SHOP_V1)
    lines = _run_cli(
        ["--autogram_file", bot_file.name, "--test-mode", "--no-save"],
        "shirt\ndebug\nm\nexit\n",
        tmp_path,
    )
    assert lines == ["What would you like to buy?", "Which size for your shirt?", "Which color?"]


# Fixed in session 9 (was a strict xfail: an extra, empty first level came before the root's).
def test_turn_stack_of_a_bot_paused_in_its_root_has_the_roots_level_only():
    autogram = Autogram(root_function=s8_mood_bot.chatbot, test_mode=True, seed=3)
    text, memory = autogram.reply()
    text, memory = autogram.reply("fine", memory_object=_round_trip(autogram, memory))
    levels = memory.memory_dict["turn_stack"]
    assert len(levels) == 1
    assert [t["role"] for t in levels[0]["turns"]][:2] == ["agent", "user"]


# Fixed in session 9 (was a strict xfail: the restarted program's prompts held the previous
# run's conversation).
def test_a_restarted_root_starts_its_prompts_afresh_as_autograms_does(server):
    autogram = Autogram(
        root_function=s8_secret_bot.chatbot, autogram_config=proxy_config(server.port)
    )
    text, memory = autogram.reply()
    text, memory = autogram.reply("my secret is 42", memory_object=memory)
    text, memory = autogram.reply("ok", memory_object=_round_trip(autogram, memory))
    assert text is None
    text, memory = autogram.reply("hi again", memory_object=memory)
    assert text == "Tell me a secret."
    text, memory = autogram.reply("nothing", memory_object=memory)
    sent = " ".join(m["content"] for m in server.chat_requests()[-1]["messages"])
    assert "my secret is 42" not in sent
    assert "nothing" in sent
    # the log keeps the whole conversation either way
    assert {"role": "user", "content": "my secret is 42"} in memory.extract_full_conv_history()


# --- day-two edits around a paused labelled call -----------------------------------------------------

AGE_V1 = """
from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def chatbot():
    reply("Welcome", ADDRESS="welcome")
    age = reply("Your age?", ADDRESS="ask_age")
    reply(f"v1 age {int(age)}", ADDRESS="done")
"""

AGE_EDITS = {
    # error handling added around the question: resumes inside the try
    "try": """
from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def chatbot():
    reply("Welcome", ADDRESS="welcome")
    try:
        age = reply("Your age?", ADDRESS="ask_age")
        n = int(age)
    except ValueError:
        n = -1
    reply(f"v2 age {n}", ADDRESS="done")
""",
    # a retry loop added around the question
    "while": """
from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def chatbot():
    reply("Welcome", ADDRESS="welcome")
    while True:
        age = reply("Your age?", ADDRESS="ask_age")
        if age.isdigit():
            break
    reply(f"v2 age {age}", ADDRESS="done")
""",
    "for": """
from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def chatbot():
    reply("Welcome", ADDRESS="welcome")
    for attempt in range(3):
        age = reply("Your age?", ADDRESS="ask_age")
        if age.isdigit():
            break
    reply(f"v2 age {age} after {attempt + 1}", ADDRESS="done")
""",
    "with": """
import contextlib

from autograms import autograms_function
from autograms.functional import reply


@contextlib.contextmanager
def step(name):
    yield name


@autograms_function()
def chatbot():
    reply("Welcome", ADDRESS="welcome")
    with step("age"):
        age = reply("Your age?", ADDRESS="ask_age")
    reply(f"v2 age {age}", ADDRESS="done")
""",
}


def _age_session_edited(tmp_path, edit: str):
    bot_file = tmp_path / f"s8_age_{edit}.py"
    bot_file.write_text(AGE_V1)
    chatbot, _ = load_autogram(str(bot_file))
    autogram = Autogram(root_function=chatbot, test_mode=True)
    text, memory = autogram.reply()
    text, memory = autogram.reply("hi", memory_object=memory)
    assert text == "Your age?"
    saved = autogram.serialize(memory)
    time.sleep(0.01)
    bot_file.write_text(AGE_EDITS[edit])
    chatbot, _ = load_autogram(str(bot_file))
    edited = Autogram(root_function=chatbot, test_mode=True)
    return edited, saved


def test_a_paused_question_wrapped_in_try_or_while_by_an_edit_resumes_inside_it(tmp_path):
    edited, saved = _age_session_edited(tmp_path, "try")
    text, _ = edited.reply("abc", memory_object=edited.deserialize(saved))
    assert text == "v2 age -1"
    edited, saved = _age_session_edited(tmp_path, "while")
    text, memory = edited.reply("abc", memory_object=edited.deserialize(saved))
    assert text == "Your age?"
    text, _ = edited.reply("12", memory_object=memory)
    assert text == "v2 age 12"


@pytest.mark.parametrize("edit", ["for", "with"])
def test_a_paused_question_wrapped_in_for_or_with_is_refused_naming_the_label_and_block(
    tmp_path, edit
):
    edited, saved = _age_session_edited(tmp_path, edit)
    with pytest.raises(SessionCodeError) as refused:
        edited.reply("abc", memory_object=edited.deserialize(saved))
    message = str(refused.value)
    assert "ask_age" in message
    assert "__ag_" not in message and "another release" not in message


# --- session text written by serialize() in a file, and files written by save() --------------------


def _shop_session(tmp_path, name: str):
    bot_file = tmp_path / f"{name}.py"
    bot_file.write_text(SHOP_V1)
    chatbot, _ = load_autogram(str(bot_file))
    autogram = Autogram(root_function=chatbot, test_mode=True)
    text, memory = autogram.reply()
    text, memory = autogram.reply("shirt", memory_object=memory)
    return autogram, memory, bot_file


def test_load_of_a_file_holding_serialize_text_keeps_its_log(tmp_path):
    autogram, memory, _ = _shop_session(tmp_path, "s8_shop_load_text")
    path = tmp_path / "session.txt"
    path.write_text(autogram.serialize(memory))
    assert len(autogram.deserialize(path.read_text()).memory_dict["model_turns"]) == 4
    loaded = autogram.load(str(path))
    assert len(loaded.memory_dict["model_turns"]) == 4
    text, loaded = autogram.reply("m", memory_object=loaded)
    autogram.save(str(path), loaded)
    history = autogram.load(str(path)).extract_full_conv_history()
    assert [t["content"] for t in history if t["role"] == "assistant"] == [
        "What would you like to buy?",
        "Which size for your shirt?",
        "Which color?",
    ]


def test_saveload_file_written_by_a_serialize_run_loop_keeps_its_history_through_autograms_run(
    tmp_path,
):
    autogram, memory, bot_file = _shop_session(tmp_path, "s8_shop_cli_text")
    (tmp_path / "s.txt").write_text(autogram.serialize(memory))
    lines = _run_cli(
        ["--autogram_file", bot_file.name, "--saveload_file", "s.txt", "--test-mode"],
        "m\nexit\n",
        tmp_path,
    )
    assert lines[-1] == "Which color?"
    history = autogram.load(str(tmp_path / "s.txt")).extract_full_conv_history()
    assert [t["content"] for t in history if t["role"] == "assistant"] == [
        "What would you like to buy?",
        "Which size for your shirt?",
        "Which color?",
    ]


def test_deserialize_of_a_saved_files_text_does_not_give_an_empty_log(tmp_path):
    autogram, memory, _ = _shop_session(tmp_path, "s8_shop_saved_text")
    path = tmp_path / "example0.pkl"
    autogram.save(str(path), memory)
    try:
        entries = autogram.deserialize(path.read_text()).memory_dict["model_turns"]
    except SessionError:
        return
    assert len(entries) == 4


def test_generated_mixes_of_session_keeping_keep_the_whole_conversation(tmp_path):
    # a run loop that changes how it keeps the session from turn to turn (a live object, serialize,
    # save/load to one path or to a new path each turn, pickle, the store pattern without the log)
    # must end with the conversation plain Python recorded, before and after a last round trip
    modes = ["live", "serialize", "save_same", "save_new", "pickle", "store"]
    same = str(tmp_path / "same.txt")
    for trial in range(12):
        rng = random.Random(trial)
        autogram = Autogram(root_function=s8_userbot.chatbot, test_mode=True)
        text, memory = autogram.reply()
        expected = [("user", ""), ("assistant", text)]
        for turn in range(rng.randint(5, 25)):
            mode = rng.choice(modes)
            if mode == "serialize":
                memory = _round_trip(autogram, memory)
            elif mode == "save_same":
                autogram.save(same, memory)
                memory = autogram.load(same)
            elif mode == "save_new":
                path = str(tmp_path / f"t{trial}-{turn}.txt")
                autogram.save(path, memory)
                memory = autogram.load(path)
            elif mode == "pickle":
                memory = pickle.loads(pickle.dumps(memory))
            elif mode == "store":
                log = list(memory.memory_dict["model_turns"])
                memory = autogram.deserialize(
                    autogram.serialize(memory, include_log=False), log=log
                )
            message = f"m{turn}-" + "x" * rng.randint(0, 3)
            text, memory = autogram.reply(message, memory_object=memory)
            expected += [("user", message), ("assistant", text)]
        for kept in (memory, _round_trip(autogram, memory)):
            assert [
                (t["role"], t["content"]) for t in kept.extract_full_conv_history()
            ] == expected, trial


def test_autograms_run_killed_during_a_model_call_continues_from_the_last_saved_turn(
    tmp_path, server
):
    bot_file = tmp_path / "s8_shop_kill.py"
    bot_file.write_text(SHOP_V1)
    command = [
        sys.executable,
        "-m",
        "autograms",
        "run",
        "--autogram_file",
        bot_file.name,
        "--saveload_file",
        "s.txt",
    ]
    command += ["--model_type", "proxy", "--proxy_port", str(server.port), "--model_name", "m"]
    env = dict(os.environ, OPENAI_API_KEY="")
    first = subprocess.run(
        command,
        input="shirt\nm\nred\nexit\n",
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Agent: Order: shirt m red" in first.stdout, first.stdout + first.stderr
    server.released.clear()
    killed = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
        env=env,
        text=True,
    )
    try:
        killed.stdin.write("where is it?\n")
        killed.stdin.flush()
        assert server.chat_arrived.wait(60)
    finally:
        killed.kill()  # kill -9 while the FAQ answer is being generated
        killed.wait(30)
        server.released.set()
    second = subprocess.run(
        command,
        input="where is it?\nexit\n",
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == 0, second.stdout + second.stderr
    chatbot, _ = load_autogram(str(bot_file))
    history = (
        Autogram(root_function=chatbot, test_mode=True)
        .load(str(tmp_path / "s.txt"))
        .extract_full_conv_history()
    )
    assert [t["content"] for t in history if t["role"] == "user"] == [
        "",
        "shirt",
        "m",
        "red",
        "where is it?",
    ]
    assert history[-1]["content"].startswith("server says ")


def test_memory_object_gives_the_conversation_as_text_as_autograms_does():
    autogram = Autogram(root_function=s8_userbot.chatbot, test_mode=True)
    text, memory = autogram.reply()
    text, memory = autogram.reply("hello", memory_object=memory)
    transcript = memory.extract_conv_history_str()
    assert "user: hello\n\n" in transcript
    assert transcript.endswith(f"assistant: {text}\n\n")
