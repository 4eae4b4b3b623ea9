"""Outside round 11 on issue 16: what an AutoGRAMS 0.6.0 user's bot SENDS, RETURNS and LOGS.

Each expected value below was observed by running AutoGRAMS 0.6.0 (its own tree, in a scratch
venv outside this project) and this library side by side against the same fake
OpenAI-compatible server (``dropin_s11_support.FakeServer``), which records request bodies.
No AutoGRAMS code is used here: the tests hold what AutoGRAMS was seen to send, as data.

The bots live in this module; every turn goes through ``serialize``/``deserialize``.
"""

from __future__ import annotations

import importlib.util
import json
import random
import string
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from autograms import Autogram, AutogramConfig, DecisionError, autograms_function
from autograms.functional import (
    call_llm,
    extract_full_conv_history,
    generate_list,
    multiple_choice,
    reply,
    reply_instruction,
    reply_suffix,
    silent_thought,
    thought,
    yes_or_no,
)

from .dropin_s11_support import FakeServer, generate_bot, normalized_request, wait_http

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


def last_user_text(body: dict) -> str:
    content = body["messages"][-1]["content"]
    if isinstance(content, list):  # AutoGRAMS' form: [{"type": "text", "text": ...}]
        content = "".join(part.get("text", "") for part in content)
    return content


def words(rng: random.Random, count: int) -> str:
    return " ".join(
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 7)))
        for _ in range(count)
    )


# --------------------------------------------------------------------------- bots

DECISION = {"question": "", "choices": [], "settings": {}}


@autograms_function()
def decision_bot():
    reply("Hello?")
    yes = yes_or_no(DECISION["question"], **DECISION["settings"])
    pick = multiple_choice(DECISION["question"], DECISION["choices"], **DECISION["settings"])
    reply(f"{yes} {pick}")


# --------------------------------------------------------------------------- decisions


def _decision_requests(server, question, choices, settings=None, **config):
    DECISION.update(question=question, choices=choices, settings=settings or {})
    run_turns(decision_bot, ["", "hi there"], proxy_config(server, **config))
    bodies = [b for b in server.requests() if "response_format" in b or "logit_bias" in b]
    assert len(bodies) == 2, f"expected a yes/no and a multiple-choice request, saw {bodies}"
    return bodies


def test_decision_prompt_wording_is_autograms(server):
    rng = random.Random(1101)
    for _ in range(3):
        question = words(rng, rng.randint(2, 8)).capitalize() + "?"
        choices = [words(rng, rng.randint(1, 3)) for _ in range(rng.randint(3, 6))]
        server.reset()
        yes_body, choice_body = _decision_requests(server, question, choices)
        letters = "".join(f"{'ABCDEF'[i]}. {c}\n" for i, c in enumerate(choices))
        assert (
            last_user_text(yes_body) == f"User: hi there\n\nQUESTION: {question}\n\n (Yes or No)?"
        )
        assert last_user_text(choice_body) == f"User: hi there\n\nQUESTION: {question}\n\n{letters}"


def test_decisions_send_the_configs_generation_args(server):
    rng = random.Random(1102)
    for _ in range(3):
        args = {
            "temperature": round(rng.uniform(0.1, 1.0), 2),
            "top_p": round(rng.uniform(0.1, 1.0), 2),
            "seed": rng.randint(1, 999),
            "frequency_penalty": round(rng.uniform(0.0, 1.0), 2),
        }
        server.reset()
        bodies = _decision_requests(
            server, "Raining?", ["a", "b", "c"], chatbot_generation_args=args
        )
        for body in bodies:
            sent = {k: body.get(k) for k in args}
            assert sent == {**args, "temperature": 0}, f"decision sent {sent}, config had {args}"


def test_decision_sends_no_max_tokens_unless_asked(server):
    bodies = _decision_requests(server, "Raining?", ["a", "b", "c"], max_tokens=321)
    assert [b.get("max_tokens") for b in bodies] == [None, None]


def test_decision_per_call_settings_reach_the_request(server):
    rng = random.Random(1103)
    for _ in range(3):
        settings = {
            "model": rng.choice(["gpt-4o-mini", "my-local", "gpt-4.1"]),
            "max_tokens": rng.randint(5, 500),
            "top_p": round(rng.uniform(0.1, 1.0), 2),
            "seed": rng.randint(1, 999),
        }
        server.reset()
        bodies = _decision_requests(server, "Raining?", ["a", "b"], settings=settings)
        for body in bodies:
            assert {k: body.get(k) for k in settings} == settings, body


def test_decision_temperature_is_always_zero(server):
    bodies = _decision_requests(server, "Raining?", ["a", "b"], settings={"temperature": 0.2})
    assert [b.get("temperature") for b in bodies] == [0, 0]


def test_default_openai_config_decides_with_json_by_design(server):
    """By design (README, "Coming from AutoGRAMS"): with the default chatbot_type='openai'
    AutoGRAMS 0.6.0's code decides with logit_bias, against its own docs (json is the
    documented default) and printing a warning about its own default; decisions here are
    json unless classifier_mode='logit' asks (test_logit_mode_sends_autograms_biases)."""
    DECISION.update(question="Raining?", choices=["a", "b"], settings={})
    config = AutogramConfig(base_url=server.url, api_key="sk-fake", chatbot_max_tries=1)
    server.set_rules([("Raining?", "Yes")])
    try:
        run_turns(decision_bot, ["", "hi"], config)
    except Exception:  # the multiple choice gets "Yes": only the first request matters here
        pass
    body = next(b for b in server.requests() if "Raining?" in last_user_text(b))
    assert "logit_bias" not in body and body["response_format"]["type"] == "json_schema", body


def test_logit_mode_sends_autograms_biases(server):
    """classifier_mode='logit' sends what AutoGRAMS 0.6.0 sends for gpt-4o's tokenizer."""
    server.set_rules([("Raining?", "Yes")])
    DECISION.update(question="Raining?", choices=["a", "b"], settings={})
    config = proxy_config(server, classifier_mode="logit")
    with pytest.raises(DecisionError):  # "Yes" is no letter: the multiple choice is refused
        run_turns(decision_bot, ["", "hi"], config)
    yes_body = server.requests()[0]
    assert yes_body["logit_bias"] == {"13022": 100, "3160": 100}
    assert (yes_body["max_tokens"], yes_body["temperature"]) == (1, 0)


# --------------------------------------------------------------------------- chat prompts


@autograms_function()
def thought_bot():
    reply("Hello?")
    thought("Think about it.")
    reply_instruction("Answer now.")


def test_user_message_stays_before_a_thought_by_design(server):
    """By design (README): AutoGRAMS 0.6.0 renders the user's message AFTER a thought asked
    after it ('INSTRUCTION: Think' -> answer, then 'User: hi\\n\\nINSTRUCTION: Answer now.'),
    so the thought reads as made before the message it was about; here the conversation
    keeps its order."""
    run_turns(thought_bot, ["", "hi"], proxy_config(server))
    second = server.requests()[1]
    texts = [
        m["content"] if isinstance(m["content"], str) else m["content"][0]["text"]
        for m in second["messages"]
    ]
    assert texts[-3:] == [
        "User: hi\n\nINSTRUCTION: Think about it.",
        "fake answer",
        "INSTRUCTION: Answer now.",
    ]


def test_user_name_and_instruction_name_label_the_prompt_by_design(server):
    """By design (README): AutoGRAMS 0.6.0 documents user_name and instruction_name as the
    labels of user turns and instructions but ignores them; here they label them, and their
    defaults give AutoGRAMS' prompts."""
    config = proxy_config(server, user_name="Customer", instruction_name="Task", agent_name="Bot")
    run_turns(thought_bot, ["", "hi"], config)
    assert last_user_text(server.requests()[0]) == "Customer: hi\n\nTASK: Think about it."
    server.reset()
    run_turns(thought_bot, ["", "hi"], proxy_config(server))
    assert last_user_text(server.requests()[0]) == "User: hi\n\nINSTRUCTION: Think about it."


def helper_plain():
    return thought("Plain helper thinks.")


def outer_plain():
    return helper_plain()


@autograms_function()
def plain_helper_bot():
    reply("Hello?")
    outer_plain()
    reply("done")


def test_call_from_plain_function_is_logged_at_the_decorated_callers_line(server):
    _, memory, _ = run_turns(plain_helper_bot, ["", "hi"], proxy_config(server))
    entry = [e for e in memory.memory_dict["model_turns"] if e.get("entry_type") == "model"][-1]
    position = entry["code_position"]
    assert position["function_name"] == "plain_helper_bot", position
    assert position["line_number"] == plain_helper_bot_call_line(), position


def plain_helper_bot_call_line() -> int:
    import inspect

    lines, start = inspect.getsourcelines(plain_helper_bot)
    return start + next(i for i, line in enumerate(lines) if "outer_plain()" in line)


@autograms_function()
def number_bot():
    reply(123)
    reply("end")


def test_reply_of_a_number_replies_its_text_by_design(server):
    """By design (README): AutoGRAMS 0.6.0 returns and logs the int 123, and its next model
    call fails on it (tiktoken's encode raises TypeError on the int reply in the history);
    here a reply is text."""
    _, memory, replies = run_turns(number_bot, [""], proxy_config(server))
    assert replies == ["123"]
    entry = [e for e in memory.memory_dict["model_turns"] if e["entry_type"] == "agent_reply"][-1]
    assert entry["reply"] == "123"


LIST_INSTRUCTION = {"text": ""}


@autograms_function()
def list_bot():
    reply("Hello?")
    items = generate_list(LIST_INSTRUCTION["text"])
    reply(f"{items}")


def test_structured_output_prompt_carries_the_schema_sentence(server):
    LIST_INSTRUCTION["text"] = "List three fruits."
    run_turns(list_bot, ["", "hi"], proxy_config(server))
    text = last_user_text(server.requests()[0])
    assert text.startswith(
        "User: hi\n\nINSTRUCTION: List three fruits.\nYour output must adhere to the following json schema: "
    ), text


# --------------------------------------------------------------------------- what works

CHAT = {"settings": {}}


@autograms_function()
def chat_helpers_bot():
    reply("Hello?")
    s = CHAT["settings"]
    thought("T.", **s)
    silent_thought("S.", **s)
    call_llm("Raw.", **s)
    generate_list("L.", **s)
    reply_instruction("R.", **s)


def test_per_call_settings_reach_every_chat_helpers_request(server):
    rng = random.Random(1104)
    for _ in range(4):
        settings = {
            "model": rng.choice(["gpt-4o-mini", "local-model", "gpt-4.1-nano"]),
            "max_tokens": rng.randint(1, 4000),
            "temperature": round(rng.uniform(0, 2), 2),
            "top_p": round(rng.uniform(0.1, 1), 2),
            "seed": rng.randint(0, 10**6),
        }
        CHAT["settings"] = settings
        server.reset()
        run_turns(chat_helpers_bot, ["", words(rng, 3)], proxy_config(server))
        bodies = server.requests()
        assert len(bodies) == 5, bodies
        for body in bodies:
            assert {k: body.get(k) for k in settings} == settings, body


def test_log_entries_name_autograms_functions_and_lines(server):
    _, memory, _ = run_turns(chat_helpers_bot, ["", "hi"], proxy_config(server))
    CHAT["settings"] = {}
    models = [e for e in memory.memory_dict["model_turns"] if e.get("entry_type") == "model"]
    names = [e["function_name"] for e in models]
    assert names == [
        "call_model",
        "call_model",
        "call_chat_completion",
        "call_object_model",
        "call_model",
    ]
    assert all(e["code_position"]["function_name"] == "chat_helpers_bot" for e in models)
    assert all(
        e["usage_log"]
        == {
            "prompt_tokens": 5,
            "completion_tokens": 3,
            "total_tokens": 8,
            "model": e["usage_log"]["model"],
        }
        for e in models
    )


# --------------------------------------------------------------------------- generated bots

RECORDED = Path(__file__).parent / "dropin_s11_bots" / "autograms_0_6_0_generated.json"


def _digest(memory, replies, bodies, history) -> dict:
    entries = []
    for entry in memory.memory_dict["model_turns"]:
        keys = ("entry_type", "function_name", "reply", "user_reply", "output")
        row = {k: entry.get(k) for k in keys}
        if entry.get("code_position"):
            row["line"] = entry["code_position"]["line_number"]
            row["in"] = entry["code_position"]["function_name"]
        entries.append(row)
    return {
        "replies": replies,
        "requests": [normalized_request(b) for b in bodies],
        "model_turns": entries,
        "history": history,
    }


@pytest.mark.parametrize("seed", sorted(json.loads(RECORDED.read_text()), key=int))
def test_generated_bot_sends_returns_and_logs_what_autograms_did(server, seed, tmp_path):
    """Random bots (scopes, system prompts, decisions, silent thoughts, max_turns, per-call
    settings) against what AutoGRAMS 0.6.0 sent, returned and logged for the same bot and
    messages (recorded once from a side-by-side run; the differences tested above are normalised
    out on both sides)."""
    case = json.loads(RECORDED.read_text())[seed]
    source, messages = generate_bot(int(seed))
    assert messages == case["messages"], "the generator changed: re-record the AutoGRAMS run"
    path = tmp_path / f"dropin_s11_g{seed}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"dropin_s11_g{seed}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        server.model.hashed = True
        autogram, memory, replies = run_turns(
            module.chatbot, messages, proxy_config(server, **case["config"])
        )
        with autogram.use_memory(memory):
            history = extract_full_conv_history()
    finally:
        server.model.hashed = False
        sys.modules.pop(spec.name, None)
    ours = _digest(memory, replies, server.requests(), history)
    for key in ("replies", "requests", "model_turns", "history"):
        assert ours[key] == case[key], f"{key} differ from AutoGRAMS 0.6.0's for seed {seed}"


# --------------------------------------------------------------------------- smaller differences


@autograms_function()
def opening_instruction_bot():
    reply_instruction("Greet the user.")
    reply("done")


def test_opening_instruction_has_no_leading_blank_lines_by_design(server):
    """By design (README): AutoGRAMS 0.6.0 sends '\\n\\nINSTRUCTION: x' when no user message
    comes before the instruction (its separator after an empty list of user messages); here
    the message starts with the instruction, as every earlier one in the prompt does in both."""
    run_turns(opening_instruction_bot, [""], proxy_config(server))
    assert last_user_text(server.requests()[0]) == "INSTRUCTION: Greet the user."


@autograms_function()
def no_history_bot():
    reply("Hello?")
    reply("Go on.")
    reply_instruction("Answer without context.", max_turns=0)


def test_max_turns_zero_sends_no_history_by_design(server):
    """By design (README): AutoGRAMS 0.6.0's make_prompt treats max_turns=0 as None (the whole
    conversation) while its decisions take 0 as no history; here 0 is no history everywhere."""
    run_turns(no_history_bot, ["", "one", "two"], proxy_config(server))
    sent = server.requests()[0]["messages"]
    assert [m["role"] for m in sent] == ["system", "user"], sent


def test_test_mode_logs_a_model_entry_per_helper_by_design(server):
    """By design (README): AutoGRAMS 0.6.0's test mode skips the model call and logs nothing
    for thought, reply_instruction, decisions and generate_*; here the scripted model's calls
    are logged as a live run's are (usage_log model 'scripted'), so a test run exercises the
    run loop's model_turns."""
    _, memory, _ = run_turns(thought_bot, ["", "hi"], proxy_config(server), test_mode=True)
    models = [e for e in memory.memory_dict["model_turns"] if e.get("entry_type") == "model"]
    assert [e["helper"] for e in models] == ["thought", "reply_instruction"], models
    assert {e["usage_log"]["model"] for e in models} == {"scripted"}, models


@autograms_function()
def thought_first_bot():
    thought("T1 instruction")
    reply("Hello?")
    reply_instruction("R2 instruction")


def test_past_thought_renders_as_its_own_pair_by_design(server):
    """By design (README, AutoGRAMS' bugs not reproduced): AutoGRAMS 0.6.0 renders a past
    thought as 'Instruction: T1' -> answer, then an empty user message and the thought's
    answer in place of the agent's reply (make_prompt's loop variable shadows the turn: the
    reply 'Hello?' is lost); here the thought is 'INSTRUCTION: T1' -> answer and the reply
    keeps its own pair."""
    server.set_rules([("T1 instruction", "T1 answer")])
    run_turns(thought_first_bot, ["", "hi"], proxy_config(server))
    second = server.requests()[1]
    texts = [
        m["content"] if isinstance(m["content"], str) else m["content"][0]["text"]
        for m in second["messages"]
    ]
    assert texts[1:5] == [
        "INSTRUCTION: T1 instruction",
        "T1 answer",
        "INSTRUCTION: Reply to the user.",
        "Hello?",
    ], texts


EXIT_SCRIPT = """
import sys
from autograms import Autogram, AutogramConfig
import dropin_s11_petbot
config = AutogramConfig(chatbot_type="proxy", chatbot_proxy_port=int(sys.argv[1]))
autogram = Autogram(root_function=dropin_s11_petbot.chatbot, autogram_config=config)
text, memory = autogram.reply("")
text, memory = autogram.reply("hi", memory_object=memory)
print(text)
"""

PET_BOT = """
from pydantic import BaseModel
from autograms import autograms_function
from autograms.functional import reply, generate_object

class Pet(BaseModel):
    name: str
    legs: int

@autograms_function()
def chatbot():
    reply("Hello?")
    pet = generate_object("Make a pet.", Pet)
    reply(pet.name)
"""


def test_run_script_with_generate_object_exits_cleanly(server, tmp_path):
    (tmp_path / "dropin_s11_petbot.py").write_text(PET_BOT)
    (tmp_path / "run.py").write_text(EXIT_SCRIPT)
    done = subprocess.run(
        [sys.executable, "run.py", str(server.port)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "text", done.stdout
    assert "Exception ignored" not in done.stderr, done.stderr


# --------------------------------------------------------------------------- reply_suffix

SUFFIX_CASES = json.loads(
    (Path(__file__).parent / "dropin_s11_bots" / "reply_suffix_autograms_0_6_0.json").read_text()
)


@autograms_function()
def suffix_bot():
    for case in SUFFIX_CASES:
        reply_suffix(case["suffix"])
    reply("end")


def _suffix_rules() -> list[tuple[str, str]]:
    # the newest case first: older suffixes stay in the history of later requests
    return [(f"**S{i:03d} ", case["answer"]) for i, case in reversed(list(enumerate(SUFFIX_CASES)))]


def test_reply_suffix_replies_what_autograms_replied(server):
    """120 generated answers (the suffix in bold mid-text, at the end, absent, cut in half, in
    another case, behind a 'Label:', with stray ** marks, after a '10:30', empty) give the
    replies AutoGRAMS 0.6.0 gave for the same answers (recorded side by side)."""
    server.set_rules(_suffix_rules())
    config = proxy_config(server, chatbot_max_input_len=200000)
    messages = [""] + [f"m{i}" for i in range(len(SUFFIX_CASES))]
    _, _, replies = run_turns(suffix_bot, messages, config)
    for case, got in zip(SUFFIX_CASES, replies[: len(SUFFIX_CASES)], strict=True):
        assert got == case["autograms_reply"], (case["kind"], case["answer"])


def test_reply_suffix_instruction_is_autograms_wording(server):
    server.set_rules(_suffix_rules())
    run_turns(suffix_bot, ["", "m0"], proxy_config(server))
    suffix = SUFFIX_CASES[0]["suffix"]
    assert last_user_text(server.requests()[0]).endswith(
        "the conversation:**" + suffix + "**. It is also okay for the whole repsonse to be the "
        "bold text if it fits the situation."
    )


@autograms_function()
def label_only_bot():
    reply_suffix("Shall we go on?")
    reply("end")


def test_reply_suffix_of_a_bare_label_is_the_suffix(server):
    """AutoGRAMS 0.6.0 raised IndexError on the answer 'Agent:'; the README says the text alone."""
    server.set_rules([("Shall we go on?", "Agent:")])
    _, _, replies = run_turns(label_only_bot, [""], proxy_config(server))
    assert replies == ["Shall we go on?"]


SERVE_BOT = """
import json
from autograms import autograms_function
from autograms.functional import reply_suffix

SUFFIXES = json.loads({suffixes!r})

@autograms_function()
def chatbot():
    for suffix in SUFFIXES:
        reply_suffix(suffix)
"""


def test_reply_suffix_streamed_by_serve_is_autograms_reply(server, tmp_path):
    """`autograms serve` with the openai SDK, stream=True: the reply assembled from the chunks is
    the one AutoGRAMS 0.6.0 gave (suffix mid-text in bold, absent, behind a label ...)."""
    openai = pytest.importorskip("openai")
    picked = []
    for kind in ("bold_mid", "none", "label", "partial", "plain_end", "marks", "empty"):
        picked.append(next(c for c in SUFFIX_CASES if c["kind"] == kind))
    server.set_rules(_suffix_rules())
    bot = tmp_path / "dropin_s11_serve_bot.py"
    bot.write_text(SERVE_BOT.format(suffixes=json.dumps([c["suffix"] for c in picked])))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "autograms",
            "serve",
            str(bot),
            "--port",
            "0",
            "--base-url",
            server.url,
            "--store",
            f"sqlite:///{tmp_path / 's.db'}",
        ],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stderr.readline()  # "autograms serve: BOT at http://127.0.0.1:PORT/ ..."
        drain = threading.Thread(target=proc.stderr.read, daemon=True)
        drain.start()
        port = int(
            next(
                tok
                for tok in first.replace("/", " ").replace(":", " ").split()
                if tok.isdigit() and int(tok) > 1000
            )
        )
        wait_http(f"http://127.0.0.1:{port}/healthz", proc, timeout=120)
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", timeout=60)
        history: list[dict] = []
        for i, case in enumerate(picked):
            history.append({"role": "user", "content": f"m{i}"})
            stream = client.chat.completions.create(
                model="bot", messages=history, stream=True, extra_headers={"X-Session-Id": "s11"}
            )
            text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
            assert text == case["autograms_reply"], (case["kind"], case["answer"])
            history.append({"role": "assistant", "content": text})
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
