"""Outside round 12 on issue 16: an AutoGRAMS 0.6.0 team's bots, side by side with AutoGRAMS.

Each expected value below was observed by running AutoGRAMS 0.6.0 (its own tree, in a scratch
venv outside this project) and this library against the same fake OpenAI-compatible server
(``dropin_s11_support.FakeServer``, which records request bodies), the same bot and the same
user messages. No AutoGRAMS code is used here: the tests hold what AutoGRAMS was seen to send,
return and log, as data. Round 11's file covers decisions' wording, per-call settings, the
generated bots of silent thoughts / decisions / scopes, reply_suffix; this file goes elsewhere.

Every turn goes through ``serialize``/``deserialize``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import random
import re
import sys
import threading
from pathlib import Path

import pytest

import autograms

from autograms import Autogram, AutogramConfig, autograms_chatbot, autograms_function, nodes
from autograms.functional import (
    EXIT,
    call_chat_completion,
    silent_thought,
    thought,
    RETURNTO,
    extract_last_user_reply,
    get_turn_history,
    local_thought,
    multiple_choice,
    reply,
    reply_instruction,
    set_system_prompt,
    yes_or_no,
)

from .dropin_s11_support import FakeServer
from .dropin_s12_support import digest, generate_bot, run_bot

# --------------------------------------------------------------------------- fixtures / driving


@pytest.fixture(scope="module")
def fake():
    server = FakeServer()
    yield server
    server.close()


@pytest.fixture
def server(fake):
    fake.reset()
    fake.set_rules([])
    return fake


def proxy_config(server: FakeServer, **settings) -> AutogramConfig:
    """AutoGRAMS' own way to reach a local OpenAI-compatible server (chatbot_type="proxy")."""
    base = dict(chatbot_type="proxy", chatbot_proxy_port=server.port, chatbot_max_tries=1)
    base.update(settings)
    return AutogramConfig(**base)


def run_turns(root, messages, config, **autogram_kwargs):
    """Run ``messages`` through ``root`` with a serialize/deserialize round trip every turn."""
    autogram = Autogram(root_function=root, autogram_config=config, **autogram_kwargs)
    memory = None
    replies = []
    for message in messages:
        text, memory = autogram.reply(message, memory_object=memory)
        replies.append(text)
        memory = autogram.deserialize(autogram.serialize(memory))
    return autogram, memory, replies


def text_of(content) -> str:
    if isinstance(content, list):  # AutoGRAMS' form: [{"type": "text", "text": ...}]
        return "".join(part.get("text", "") for part in content)
    return content


def messages_of(body: dict) -> list[tuple[str, str]]:
    return [(m["role"], text_of(m["content"])) for m in body["messages"]]


# --------------------------------------------------------------------------- long messages

DOCUMENT = (
    "dragon at the start. " + " ".join(["alpha beta gamma delta"] * 700) + " the dragon sleeps"
)


@autograms_function()
def document_bot():
    reply("Paste your document.")
    yes_or_no("Does the document mention a dragon?")
    multiple_choice("What is it about?", ["war", "peace"])
    reply("ok")


def test_decision_on_a_long_message_sends_it_whole(server):
    run_turns(document_bot, ["", DOCUMENT], proxy_config(server))
    bodies = [b for b in server.requests() if "response_format" in b]
    assert len(bodies) == 2, bodies
    head = [
        ("system", "You are an agent."),
        ("user", "INSTRUCTION: Reply to the user."),
        ("assistant", "Paste your document."),
    ]
    yes_no = (
        "User: " + DOCUMENT + "\n\nQUESTION: Does the document mention a dragon?\n\n (Yes or No)?"
    )
    choice = "User: " + DOCUMENT + "\n\nQUESTION: What is it about?\n\nA. war\nB. peace\n"
    assert messages_of(bodies[0]) == head + [("user", yes_no)], "yes_or_no's prompt differs"
    assert messages_of(bodies[1]) == head + [("user", choice)], "multiple_choice's prompt differs"


@autograms_function()
def long_conversation_decision_bot():
    for i in range(50):
        reply(f"root {i}")
    yes_or_no("Did the user mention msg 0?", max_turns=None)
    reply("end")


def test_decision_with_max_turns_none_sees_the_whole_conversation(server):
    messages = [""] + [f"msg {i} " + " ".join(["word"] * 120) for i in range(51)]
    run_turns(long_conversation_decision_bot, messages, proxy_config(server))
    (body,) = [b for b in server.requests() if "response_format" in b]
    sent = messages_of(body)
    assert len(sent) == 102, f"{len(sent)} messages sent, the first user one {sent[1][1][:40]!r}"
    assert sent[3][1].startswith("User: msg 0 "), sent[3][1][:40]


FULL_HISTORY: list = []


@autograms_function()
def budget_bot():
    for i in range(55):
        reply(f"ok {i}")
    FULL_HISTORY.append(get_turn_history())
    reply_instruction("Summarize everything the user said.")
    reply("end")


def test_prompt_cut_to_the_budget_keeps_whole_exchanges(server):
    FULL_HISTORY.clear()
    messages = [""] + [f"msg {i}" + " wonderful" * 40 for i in range(56)]
    run_turns(budget_bot, messages, proxy_config(server))
    (body,) = server.requests()
    sent = messages_of(body)[1:]  # after the system prompt
    inputs, outputs, _ = FULL_HISTORY[0]
    exchanges = list(zip(inputs[:-1], outputs, strict=True))
    kept = [(sent[i][1], sent[i + 1][1]) for i in range(0, len(sent) - 1, 2)]
    assert len(kept) >= 40, f"only {len(kept)} exchanges kept"
    assert kept == exchanges[-len(kept) :], f"the oldest exchange sent: {kept[0]}"


BIG_DOCUMENT = "start marker. " + " ".join(["alpha beta gamma delta"] * 1000) + " end marker"
RAW_MESSAGES = [
    {"role": "system", "content": "You summarize."},
    {"role": "user", "content": BIG_DOCUMENT},
    {"role": "assistant", "content": "Done reading."},
    {"role": "user", "content": "Does it start with 'start marker'?"},
]


@autograms_function()
def raw_messages_bot():
    reply("Hello?")
    call_chat_completion(RAW_MESSAGES)
    reply("bye")


def test_call_chat_completion_sends_the_messages_as_given(server):
    run_turns(raw_messages_bot, ["", "hi"], proxy_config(server))
    (body,) = server.requests()
    assert messages_of(body) == [(m["role"], m["content"]) for m in RAW_MESSAGES], [
        (role, len(text)) for role, text in messages_of(body)
    ]


# --------------------------------------------------------------------------- local_thought


@autograms_function()
def local_thought_bot():
    set_system_prompt("bot prompt")
    reply("Hello?")
    local_thought("one shot")
    local_thought("two shot", system_prompt="S", model="gpt-4o-mini", temperature=0.3)
    reply("done")


def test_local_thought_sends_the_instruction_as_written(server):
    run_turns(local_thought_bot, ["", "hi"], proxy_config(server))
    first, second = server.requests()
    assert messages_of(first)[-1] == ("user", "one shot"), first
    assert messages_of(second) == [("system", "S"), ("user", "two shot")], second
    assert (second["model"], second["temperature"]) == ("gpt-4o-mini", 0.3), second


# --------------------------------------------------------------------------- nodes in the log


@autograms_function()
def node_bot():
    reply("Hello?")
    nodes.reply("node reply", ADDRESS="greet")
    reply("plain reply")
    nodes.silent_thought("node thought", ADDRESS="think")
    reply_instruction("after thought")
    nodes.location(ADDRESS="here")
    reply("after location")


def test_last_node_names_only_the_reply_made_inside_the_node(server):
    _, memory, replies = run_turns(node_bot, ["", "a", "b", "c", "d"], proxy_config(server))
    assert replies[:3] == ["Hello?", "node reply", "plain reply"], replies
    seen = [
        (e["entry_type"], e.get("node"), e.get("last_node"))
        for e in memory.memory_dict["model_turns"]
        if e["entry_type"] in ("node", "agent_reply")
    ]
    assert seen == [
        ("agent_reply", None, None),
        ("node", "greet", None),
        ("agent_reply", None, "greet"),
        ("agent_reply", None, None),
        ("node", "think", None),
        ("agent_reply", None, None),
        ("node", "here", None),
        ("agent_reply", None, None),
    ], "as AutoGRAMS 0.6.0 logged them"


# --------------------------------------------------------------------------- generated bots

RECORDED = Path(__file__).parent / "dropin_s12_bots" / "autograms_0_6_0_generated.json"


@pytest.mark.parametrize("seed", sorted(json.loads(RECORDED.read_text()), key=int))
def test_generated_bot_replies_sends_and_logs_what_autograms_did(server, seed, tmp_path):
    """Random bots with jumps (GOTO, TRANSITION, RETURNTO), EXIT, nodes, nested scopes,
    decisions, generate_list / generate_fixed_dict / generate_list_of_choices,
    call_chat_completion, get_turn_history, get_system_prompt, extract_last_user_reply: the
    replies, requests, model_turns, history and collected values AutoGRAMS 0.6.0 gave for the
    same bot and messages (recorded side by side). Seeds whose runs differ for the reasons the
    xfails of this file name (a RETURNTO into a frame paused at a reply, user messages after an
    EXIT in a prompt) are not among them."""
    case = json.loads(RECORDED.read_text())[seed]
    source, messages = generate_bot(int(seed))
    assert messages == case["messages"], "the generator changed: re-record the AutoGRAMS runs"
    path = tmp_path / f"dropin_s12_g{seed}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"dropin_s12_g{seed}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    server.model.hashed = True
    try:
        spec.loader.exec_module(module)
        config = dict(chatbot_type="proxy", chatbot_proxy_port=server.port, chatbot_max_tries=1)
        replies, errors, entries, history = run_bot(module, messages, config, autograms)
    finally:
        server.model.hashed = False
        sys.modules.pop(spec.name, None)
    ours = digest(replies, errors, server.requests(), entries, history, module.OUT)
    for key in ("errors", "replies", "requests", "model_turns", "history", "collected"):
        assert ours[key] == case[key], f"{key} differ from AutoGRAMS 0.6.0's for seed {seed}"


# --------------------------------------------------------------------------- max_turns after EXIT

HISTORIES: list = []


@autograms_function()
def exit_bot():
    reply("T")
    reply("U")
    EXIT({"reply": "x"})
    reply("S")
    EXIT({"reply": "y"})
    for turns in (1, 2):
        HISTORIES.append(get_turn_history(max_turns=turns))
    reply("C")


def test_max_turns_after_an_exit_keeps_each_reply_with_its_messages():
    HISTORIES.clear()
    _, memory, replies = run_turns(
        exit_bot, ["", "m1", "m2", "m3", "m4", "m5"], AutogramConfig(), test_mode=True
    )
    assert replies[-1] == "C", replies
    (inputs1, outputs1, _), (inputs2, outputs2, _) = HISTORIES
    current = "User: m4\n\nUser: m5\n\nINSTRUCTION: "
    s_input = "User: m2\n\nUser: m3\n\nINSTRUCTION: Reply to the user."
    u_input = "User: m1\n\nINSTRUCTION: Reply to the user."
    assert (inputs1, outputs1) == ([s_input, current], ["S"]), "max_turns=1"
    assert (inputs2, outputs2) == ([u_input, s_input, current], ["U", "S"]), "max_turns=2"


# --------------------------------------------------------------------------- the README's list

README = Path(__file__).resolve().parents[2] / "README.md"


def coming_from_bullets() -> list[str]:
    """The bullets of the README's "Coming from AutoGRAMS" section, one string each."""
    text = README.read_text()
    section = text.split("## Coming from AutoGRAMS", 1)[1].split("\n## ", 1)[0]
    return [b for b in re.split(r"\n- ", section) if b.strip()]


@autograms_function()
def returnto_sub(ADDRESS=None):
    if COUNT["returns"] < 1:
        COUNT["returns"] += 1
        RETURNTO("sub_call")
    reply("inside sub")


COUNT = {"returns": 0}


@autograms_function()
def returnto_bot():
    reply("first", ADDRESS="L0")
    returnto_sub(ADDRESS="sub_call")
    reply("after sub")
    reply("the end")


def test_returnto_the_callers_label_runs_that_call_again(server):
    """What this library does (pinned): RETURNTO('sub_call') from the function called at that
    label runs the labelled call again, as GOTO would. AutoGRAMS 0.6.0 replied 'after sub'
    here -- it resumed the caller with the include_line flag of its own resume, so a caller
    that had been paused at a reply skipped the labelled line; one resumed through a call ran
    it again (a seed of the generated bots shows both)."""
    COUNT["returns"] = 0
    _, _, replies = run_turns(returnto_bot, ["", "hi", "ok"], proxy_config(server))
    assert replies == ["first", "inside sub", "after sub"], replies


def test_readme_says_returnto_runs_the_labelled_line_again():
    bullets = [b for b in coming_from_bullets() if "RETURNTO" in b]
    assert any(re.search(r"again|re-?execut|re-?run|skip", b) for b in bullets), bullets


def test_readme_lists_how_messages_after_an_exit_are_sent():
    bullets = [b for b in coming_from_bullets() if "EXIT" in b]
    assert any(re.search(r"prompt|user message", b) for b in bullets), bullets


# --------------------------------------------------------------------------- an @autograms_chatbot root


@autograms_function(conv_scope="normal")
def ask_normal(question):
    reply(question)
    return extract_last_user_reply()


@autograms_function(conv_scope="local")
def ask_local(question):
    reply(question)
    return extract_last_user_reply()


ROOT_HISTORIES: list = []


@autograms_chatbot()
def chatbot_root(user_reply):
    ask_normal("name?")
    ROOT_HISTORIES.append(get_turn_history())
    ask_local("city?")
    ROOT_HISTORIES.append(get_turn_history())
    reply("bye")


def test_chatbot_root_under_use_memory_drops_normal_and_local_turns():
    ROOT_HISTORIES.clear()
    autogram = Autogram(root_function=chatbot_root, test_mode=True)
    memory = None
    for text in ["hello", "Ada", "Paris"]:
        with autogram.use_memory(memory):
            result = chatbot_root(user_reply=text)
        memory = autogram.deserialize(autogram.serialize(result.memory))
    assert result.data == {"reply": "bye"}, result.data
    alone = (["User: hello\n\nINSTRUCTION: "], [], "You are an agent.")
    assert ROOT_HISTORIES == [alone, alone], "as AutoGRAMS 0.6.0 gave for the same bot"


def test_chatbot_root_through_reply_drops_normal_and_local_turns():
    """The same bot through Autogram.reply (which AutoGRAMS refused for a chatbot root):
    the root's history is what AutoGRAMS' use_memory way gave."""
    ROOT_HISTORIES.clear()
    autogram = Autogram(root_function=chatbot_root, test_mode=True)
    run_turns_on(autogram, ["hello", "Ada", "Paris", "x"])
    alone = (["User: hello\n\nINSTRUCTION: "], [], "You are an agent.")
    assert ROOT_HISTORIES == [alone, alone]


def run_turns_on(autogram, messages):
    memory = None
    for message in messages:
        _, memory = autogram.reply(message, memory_object=memory)
        memory = autogram.deserialize(autogram.serialize(memory))
    return memory


# --------------------------------------------------------------------------- modules


def test_autogram_config_module_imports():
    from autograms.autogram_config import AutogramConfig as Config  # noqa: PLC0415

    assert Config is AutogramConfig


# --------------------------------------------------------------------------- a long system prompt

PASSAGES = " ".join(["retrieved passage about the refund policy"] * 600)


@autograms_function()
def long_system_prompt_bot():
    reply("Ask me about our policies.")
    set_system_prompt("Answer from these documents: " + PASSAGES)
    reply_instruction("Answer the user's question from the documents.")
    reply("bye")


def test_system_prompt_cut_to_half_the_budget_ends_with_dots(server):
    run_turns(long_system_prompt_bot, ["", "Can I get a refund?", "ok"], proxy_config(server))
    (body,) = server.requests()
    role, system = messages_of(body)[0]
    assert role == "system" and len(system) < len("Answer from these documents: " + PASSAGES)
    assert system.endswith("..."), system[-80:]
    assert ("Answer from these documents: " + PASSAGES).startswith(system[:-3])


# --------------------------------------------------------------------------- sessions in threads


def _load_bot_file(name: str):
    path = Path(__file__).parent / "dropin_s12_bots" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_sessions_in_threads_reply_what_autograms_replied_one_at_a_time():
    """Eight sessions of a bot kept in persistent globals, user globals and a plain helper that
    changes them, every turn serialized: run in eight threads at once they reply what they
    reply one after the other, and that is what AutoGRAMS 0.6.0 replied one after the other
    (its threads mixed the sessions' globals; the README says so)."""
    bot = _load_bot_file("dropin_s12_threaded_bot")
    autogram = Autogram(root_function=bot.chatbot, test_mode=True)

    def session(k, out):
        rng = random.Random(k)
        messages = [""] + [f"u{k}-" + "x" * rng.randint(0, 5) for _ in range(15)]
        out[k] = [text for text, _ in _turns(autogram, messages)]

    one_by_one, threaded = {}, {}
    for k in range(8):
        session(k, one_by_one)
    threads = [threading.Thread(target=session, args=(k, threaded)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert threaded == one_by_one
    digest_of_runs = hashlib.sha256(json.dumps(one_by_one, sort_keys=True).encode()).hexdigest()
    assert digest_of_runs[:16] == "360580238ba22cd7", one_by_one[5]
    assert (bot.counter, bot.seen) == (0, []), "the module's own values never change"


def _turns(autogram, messages):
    memory = None
    for message in messages:
        text, memory = autogram.reply(message, memory_object=memory)
        memory = autogram.deserialize(autogram.serialize(memory))
        yield text, memory


# --------------------------------------------------------------------------- reply_instruction's text


THOUGHTS: list = []


@autograms_function()
def labelled_answer_bot():
    reply("Hello?")
    reply_instruction("LABELQ answer")
    THOUGHTS.append(thought("THOUGHTQ x"))
    THOUGHTS.append(silent_thought("SILENTQ x"))
    reply_instruction("SPACEQ answer")
    reply("bye")


def test_reply_instruction_drops_the_agents_label_and_outer_whitespace(server):
    """What this library does (pinned): the model's 'Agent: Hello there: friend' is replied as
    'Hello there: friend', a reply with spaces and a newline around it without them, and
    thought() / silent_thought() return 'Agent:  thought one' (spaces, newline) as
    'thought one'. AutoGRAMS 0.6.0 replied and returned them exactly as the model wrote them
    (its post-processing runs for reply_suffix only); call_llm and call_chat_completion return
    the text as it came in both."""
    THOUGHTS.clear()
    server.set_rules(
        [
            ("SPACEQ", "  **Bold** reply with spaces  \n"),
            ("SILENTQ", "Agent:  silent two \n"),
            ("THOUGHTQ", "Agent:  thought one \n"),
            ("LABELQ", "Agent: Hello there: friend"),
        ]
    )
    _, _, replies = run_turns(labelled_answer_bot, ["", "a", "b"], proxy_config(server))
    assert replies == ["Hello?", "Hello there: friend", "**Bold** reply with spaces"], replies
    assert THOUGHTS == ["thought one", "silent two"], THOUGHTS


def test_readme_lists_that_reply_instruction_drops_the_label():
    bullets = [b for b in coming_from_bullets() if "reply_instruction" in b]
    assert any(re.search(r"label|strip|whitespace", b) for b in bullets), bullets
