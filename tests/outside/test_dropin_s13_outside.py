"""Outside round 13 on issue 16: an AutoGRAMS 0.6.0 team's bots, side by side with AutoGRAMS.

The expected values were observed by running AutoGRAMS 0.6.0 (its own tree, in a scratch venv
outside this project) and this library against the same fake OpenAI-compatible server
(``dropin_s13/fake_openai.py``: answers derived from the prompt), the same bot and messages.
No AutoGRAMS code runs here: the tests hold what AutoGRAMS was seen to send, return and log.
Earlier rounds (s10-s12) cover decision wording, per-call settings, jumps, EXIT, reply_suffix;
this one goes to prompt budgets, config switches, chains and structured helpers in scopes.
Every turn goes through ``serialize``/``deserialize``.
"""

from __future__ import annotations

import json
import sys


from pathlib import Path

import pytest

from autograms import Autogram, AutogramConfig, autograms_external, autograms_function, nodes
from autograms.functional import (
    append_system_prompt,
    extract_last_user_reply,
    get_system_prompt,
    generate_fixed_dict,
    generate_list,
    yes_or_no,
    get_turn_history,
    reply,
    reply_instruction,
    silent_thought,
)

from .dropin_s13.fake_openai import USAGE, FakeServer, set_usage
from .dropin_s13.generator import generate_bot, generate_config
from .dropin_s13.side import digest
from .dropin_s13.runner import drive, load_bot

# --------------------------------------------------------------------------- fixtures / driving


@pytest.fixture(scope="module")
def fake():
    server = FakeServer()
    yield server
    server.close()


@pytest.fixture
def server(fake):
    fake.reset()
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


def sent(server: FakeServer) -> list[list[tuple[str, str]]]:
    """The messages of each chat request, as (role, text) pairs."""
    return [
        [(m["role"], text_of(m["content"])) for m in b["body"]["messages"]]
        for b in server.bodies()
        if b["path"].endswith("/chat/completions")
    ]


# --------------------------------------------------------------------------- prompt budget

LONG = "Be kind and precise. " * 60
OUT: list = []


@autograms_function()
def long_instruction_bot():
    reply("Hello?")
    reply_instruction("Answer the user. " + LONG)
    OUT.append(silent_thought("Think. " + LONG))
    reply("bye")


def test_a_last_turn_over_the_budget_keeps_the_users_message(server):
    run_turns(
        long_instruction_bot,
        ["", "I would like a pizza with olives please", "and a drink"],
        proxy_config(server, chatbot_max_input_len=200),
    )
    reply_request, thought_request = sent(server)
    role, text = reply_request[-1]
    start = "User: I would like a pizza with olives please\n\nINSTRUCTION: Answer the user. Be"
    assert (role, text[: len(start)]) == ("user", start), reply_request
    role, text = thought_request[-1]
    start = "User: and a drink\n\nINSTRUCTION: Think. Be kind"
    assert (role, text[: len(start)]) == ("user", start), thought_request


DOCUMENT = "TITLE: The dragon report. " + "alpha beta gamma delta " * 1200 + " THE END"


@autograms_function()
def document_bot():
    reply("Paste your document.")
    reply_instruction("Summarize the document.")
    reply("bye")


def test_a_long_pasted_document_reaches_the_model_from_its_start(server):
    run_turns(document_bot, ["", DOCUMENT, "thanks"], proxy_config(server))
    (request,) = sent(server)
    role, text = request[-1]
    start = "User: TITLE: The dragon report. alpha beta"
    assert (role, text[: len(start)]) == ("user", start), (len(text), text[:80])


KEYS = [f"field number {i} of the order form" for i in range(40)]


@autograms_function()
def long_schema_bot():
    reply("Hello?")
    OUT.append(generate_fixed_dict("Fill the order form.", KEYS))
    reply("bye")


def test_a_structured_request_over_the_budget_keeps_the_users_message(server):
    run_turns(
        long_schema_bot,
        ["", "I want two pizzas"],
        proxy_config(server, chatbot_max_input_len=200),
    )
    (request,) = sent(server)
    role, text = request[-1]
    start = "User: I want two pizzas\n\nINSTRUCTION: Fill the order form.\nYour output must"
    assert (role, text[: len(start)]) == ("user", start), request


# --------------------------------------------------------------------------- system_prompt_in_turns

HISTORIES: list = []


@autograms_function()
def history_bot():
    reply("Hello?")
    HISTORIES.append(get_turn_history())
    reply_instruction("Answer.")
    HISTORIES.append(get_turn_history(instruction="Now"))
    reply("bye")


def test_turn_history_with_system_prompt_in_turns_is_the_plain_history(server):
    HISTORIES.clear()
    run_turns(
        history_bot, ["", "hi there", "more"], proxy_config(server, system_prompt_in_turns=True)
    )
    assert sent(server)[0][0] == ("user", "You are an agent.\n\nINSTRUCTION: Reply to the user.")
    assert HISTORIES == [
        (
            ["INSTRUCTION: Reply to the user.", "User: hi there\n\nINSTRUCTION: "],
            ["Hello?"],
            "You are an agent.",
        ),
        (
            [
                "INSTRUCTION: Reply to the user.",
                "User: hi there\n\nINSTRUCTION: Reply to the user.",
                "User: more\n\nINSTRUCTION: Now",
            ],
            ["Hello?", "answer 443d27d7"],
            "You are an agent.",
        ),
    ], "as AutoGRAMS 0.6.0 returned them"


# --------------------------------------------------------------------------- instruction_template

# AutoGRAMS 0.6.0's own default (autogram_config.INSTRUCTION_TEMPLATE): what
# AutogramConfig().instruction_template reads there, so a config copied field by field passes it.
AUTOGRAMS_DEFAULT_TEMPLATE = "<last_response>\n\nInstruction for <agent_name>: <instruction>"


@autograms_function()
def template_bot():
    reply("Hello?")
    reply_instruction("Answer.", max_tokens=40)
    OUT.append(silent_thought("Hmm."))
    reply("bye")


def test_autograms_default_instruction_template_sends_autograms_prompts(server):
    config = proxy_config(server, instruction_template=AUTOGRAMS_DEFAULT_TEMPLATE)
    run_turns(template_bot, ["", "I like pizza", "more"], config)
    reply_request, thought_request = sent(server)
    assert reply_request[-1] == ("user", "User: I like pizza\n\nINSTRUCTION: Answer."), (
        reply_request
    )
    assert thought_request[-1] == ("user", "User: more\n\nINSTRUCTION: Hmm."), thought_request


# --------------------------------------------------------------------------- classifier_path

README = Path(__file__).resolve().parents[2] / "README.md"


def coming_from_bullets() -> list[str]:
    """The bullets of the README's "Coming from AutoGRAMS" section, one string each."""
    section = README.read_text().split("## Coming from AutoGRAMS", 1)[1].split("\n## ", 1)[0]
    return [b for b in section.split("\n- ") if b.strip()]


@autograms_function()
def judge_bot():
    reply("Hello?")
    OUT.append(yes_or_no("Is it about food?"))
    reply("bye")


def test_json_decisions_go_to_the_classifier_path(server):
    """What this library does (pinned): json-mode decisions use classifier_path, as
    AutoGRAMS' config docs say; AutoGRAMS 0.6.0 sent them to chatbot_path (gpt-4o)."""
    run_turns(judge_bot, ["", "I like pizza"], proxy_config(server, classifier_path="judge-model"))
    (body,) = [b["body"] for b in server.bodies()]
    assert body["model"] == "judge-model", body


def test_readme_lists_that_json_decisions_now_use_classifier_path():
    bullets = [b for b in coming_from_bullets() if "classifier_path" in b]
    assert any("json" in b and "chatbot_path" in b for b in bullets), bullets


# --------------------------------------------------------------------------- the log's prompts


@autograms_function()
def structured_bot():
    reply("Hello?")
    OUT.append(generate_list("List objects."))
    reply("bye")


def test_logged_obj_structure_is_autograms_response_format(server):
    _, memory, _ = run_turns(
        structured_bot, ["", "here"], proxy_config(server, log_model_inputs="all")
    )
    (entry,) = [e for e in memory.memory_dict["model_turns"] if e["entry_type"] == "model"]
    assert entry["function_name"] == "call_object_model", entry
    assert entry["function_inputs"]["obj_structure"] == {
        "type": "json_schema",
        "json_schema": {
            "name": "list_of_strings",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {
                    "data": {"type": "array", "items": {"type": "string"}, "additionalItems": False}
                },
                "required": ["data"],
                "additionalProperties": False,
            },
        },
    }, "as AutoGRAMS 0.6.0 logged it"


# --------------------------------------------------------------------------- nodes.thought


@autograms_function()
def node_thought_bot():
    reply("Hello?")
    nodes.thought("Node thought.", ADDRESS="think")
    reply_instruction("Go.")
    reply("bye")


def test_node_thought_shows_in_later_prompts(server):
    """What this library does (pinned): nodes.thought is a thought (its pair shows in the next
    prompt); AutoGRAMS 0.6.0's nodes.thought called silent_thought, so its next prompt was
    'User: hi\n\nINSTRUCTION: Go.' right after 'Hello?'."""
    run_turns(node_thought_bot, ["", "hi", "more"], proxy_config(server))
    _, go_request = sent(server)
    assert go_request[-3:-1] == [
        ("user", "User: hi\n\nINSTRUCTION: Node thought."),
        ("assistant", go_request[-2][1]),
    ], go_request
    assert go_request[-1] == ("user", "INSTRUCTION: Go."), go_request


@pytest.mark.xfail(
    strict=True,
    reason="the README's 'Coming from AutoGRAMS' does not list that nodes.thought adds the "
    "thought to the conversation (later prompts show 'INSTRUCTION: Node thought.' and its "
    "answer); AutoGRAMS 0.6.0's nodes.thought called silent_thought, so a team's prompts after "
    "a nodes.thought change",
)
def test_readme_lists_that_node_thought_is_a_thought():
    assert any("nodes.thought" in b for b in coming_from_bullets()), "no bullet names it"


# --------------------------------------------------------------------------- use_memory, second run


@autograms_function(conv_scope="normal")
def ask_name():
    reply("name?")
    return extract_last_user_reply()


ROOT_HISTORIES: list = []


@autograms_function()
def restarting_bot():
    reply("Hello")
    ask_name()
    ROOT_HISTORIES.append(get_turn_history())
    reply("end")


@autograms_function(conv_scope="local")
def ask_city():
    reply("name?")
    return extract_last_user_reply()


@autograms_function()
def restarting_local_bot():
    reply("Hello")
    ask_city()
    ROOT_HISTORIES.append(get_turn_history())
    reply("end")


def drive_with_use_memory(autogram, root, messages):
    """The docs' loop: set the memory, add the user's message, call the root directly."""
    memory = None
    replies = []
    for message in messages:
        with autogram.use_memory(memory):
            autogram.add_user_reply(message)
            result = root()
        replies.append(result.data.get("reply"))
        memory = autogram.deserialize(autogram.serialize(result.memory))
    return replies


@pytest.mark.parametrize("scope", ["normal", "local"])
def test_use_memory_drops_a_normal_calls_turns_on_the_second_run(scope):
    ROOT_HISTORIES.clear()
    root = restarting_bot if scope == "normal" else restarting_local_bot
    autogram = Autogram(root_function=root, test_mode=True)
    messages = ["", "m1", "m2", "m3", "m4", "m5", "m6", "m7"]
    replies = drive_with_use_memory(autogram, root, messages)
    assert replies == ["Hello", "name?", "end", None, "Hello", "name?", "end", None], replies
    first, second = ROOT_HISTORIES
    assert first == (
        ["INSTRUCTION: Reply to the user.", "User: m1\n\nINSTRUCTION: "],
        ["Hello"],
        "You are an agent.",
    )
    assert second == (
        ["User: m4\n\nINSTRUCTION: Reply to the user.", "User: m5\n\nINSTRUCTION: "],
        ["Hello"],
        "You are an agent.",
    ), "as AutoGRAMS 0.6.0 (and this library through Autogram.reply) gave"


def test_reply_drops_a_normal_calls_turns_on_the_second_run():
    ROOT_HISTORIES.clear()
    run_turns(
        restarting_bot,
        ["", "m1", "m2", "m3", "m4", "m5", "m6", "m7"],
        AutogramConfig(),
        test_mode=True,
    )
    assert ROOT_HISTORIES[1] == (
        ["User: m4\n\nINSTRUCTION: Reply to the user.", "User: m5\n\nINSTRUCTION: "],
        ["Hello"],
        "You are an agent.",
    ), ROOT_HISTORIES


# --------------------------------------------------------------------------- the last user reply


@autograms_external()
def review():
    return {"last": extract_last_user_reply()}


@autograms_function()
def answered_bot():
    reply("hello")
    reply_instruction("Help the user.")
    reply("end")


@pytest.mark.xfail(
    strict=True,
    reason="silent: between turns, once the bot has replied, extract_last_user_reply() (in an "
    "@autograms_external run by apply(func=...), or under use_memory) and "
    "memory_dict['cached_user_reply'] still give the message the reply answered ('please "
    "help'); AutoGRAMS 0.6.0 gives None there (every logged reply clears it: an answered "
    "message is not pending), and the README lists only the empty-message case",
)
def test_an_answered_message_is_not_the_last_user_reply(server):
    autogram, memory, replies = run_turns(answered_bot, ["", "please help"], proxy_config(server))
    assert replies[-1].startswith("answer "), replies
    result = autogram.apply(memory_object=memory, func=review)
    assert result == {"last": None}, "as AutoGRAMS 0.6.0 returned"
    with autogram.use_memory(memory):
        assert extract_last_user_reply() is None
    assert memory.memory_dict["cached_user_reply"] is None


# --------------------------------------------------------------------------- generated bots

RECORDED = json.loads((Path(__file__).parent / "dropin_s13" / "autograms_0_6_0.json").read_text())


@pytest.mark.parametrize("case", sorted(RECORDED))
def test_generated_bot_sends_replies_and_logs_what_autograms_did(case, server, tmp_path):
    """Random bots of reply_instruction, silent_thought, yes_or_no, multiple_choice, the
    generate_* helpers, thought/decision chains, set/append_system_prompt, get_turn_history and
    scoped calls, with random per-call settings, config and user texts (quotes, newlines,
    'Agent:' and 'INSTRUCTION:' in messages): requests, replies, collected values,
    extract_full_conv_history and model_turns as AutoGRAMS 0.6.0 gave them (recorded with
    dropin_s13/record.py, each run in a fresh process)."""
    recorded = RECORDED[case]
    seed, _, how = case.partition(":")
    source, messages = generate_bot(int(seed))
    assert messages == recorded["messages"], "the generator changed: record AutoGRAMS' runs again"
    assert generate_config(int(seed)) == recorded["config"], "the generator changed"
    path = tmp_path / f"dropin_s13_g{seed}.py"
    path.write_text(source)
    name = f"dropin_s13_g{seed}"
    try:
        module = load_bot(str(path), name)
        spec = dict(messages=messages, config=recorded["config"], drive=how or "reply")
        ours = digest(drive(module, spec, server), recorded["entry_keys"])
    finally:
        sys.modules.pop(name, None)
    for key in ("errors", "replies", "collected", "full_history", "requests", "n_entries"):
        assert ours[key] == recorded[key], f"{key} differ from AutoGRAMS 0.6.0's ({case})"
    assert ours["model_turns"] == recorded["model_turns"], f"model_turns differ ({case})"


PROMPTS: list = []


@autograms_function()
def prompted_bot():
    append_system_prompt("Extra.")
    reply("Hello")
    ask_name()
    PROMPTS.append(get_system_prompt())
    reply("end")


def test_use_memory_keeps_the_roots_system_prompt_on_the_second_run():
    PROMPTS.clear()
    autogram = Autogram(root_function=prompted_bot, test_mode=True)
    drive_with_use_memory(autogram, prompted_bot, ["", "m1", "m2", "m3", "m4", "m5", "m6", "m7"])
    assert PROMPTS == ["You are an agent.\nExtra.", "You are an agent.\nExtra."], PROMPTS


# --------------------------------------------------------------------------- usage in the log

DETAILED_USAGE = {
    "prompt_tokens": 11,
    "completion_tokens": 5,
    "total_tokens": 16,
    "prompt_tokens_details": {"cached_tokens": 3, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 2,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}


@autograms_function()
def usage_bot():
    reply("hello")
    yes_or_no("q?")
    generate_list("l")
    reply_instruction("x")
    reply("end")


def test_usage_log_keeps_the_servers_token_details(server):
    """As AutoGRAMS 0.6.0 logged them (usage.to_dict() and the model), for every kind of call."""
    set_usage(server, DETAILED_USAGE)
    try:
        _, memory, _ = run_turns(usage_bot, ["", "a"], proxy_config(server))
    finally:
        set_usage(server, dict(USAGE))
    logged = [
        (e["function_name"], e["usage_log"])
        for e in memory.memory_dict["model_turns"]
        if e["entry_type"] == "model"
    ]
    expected = dict(DETAILED_USAGE, model="gpt-4o")
    assert logged == [
        ("call_classifier", expected),
        ("call_object_model", expected),
        ("call_model", expected),
    ], logged
