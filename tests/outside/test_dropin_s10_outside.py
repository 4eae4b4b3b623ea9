"""Outside tests (session 10, drop-in, issue 16): a team coming from AutoGRAMS 0.6.0 uses the
library the way AutoGRAMS' README, docs and run scripts taught it. Written without reading the
library's code; AutoGRAMS 0.6.0's documented behaviour (and its code, run side by side in a
scratch venv) is the oracle. Failing items are strict xfails whose reason says what differs."""

import json
import os
import subprocess
import sys

import pytest

from tests.outside.dropin_s10_support import USAGE, FakeOpenAI, run_python, write_bot

HERE = os.path.dirname(os.path.abspath(__file__))
AUTOGRAMS_CMD = os.path.join(os.path.dirname(sys.executable), "autograms")

SETTINGS = {"model": "gpt-4o-mini", "max_tokens": 2048, "temperature": 0.3}

# One bot calling every model helper with AutoGRAMS' per-call settings (config.md's
# `reply_instruction(..., **model1_settings)` pattern), a turn per group of helpers.
EVERY_HELPER_BOT = """
from autograms import autograms_function
from autograms.functional import (reply, reply_instruction, reply_suffix, thought,
    silent_thought, yes_or_no, multiple_choice, generate_list, generate_fixed_list,
    generate_fixed_dict, generate_list_of_dicts, generate_list_of_choices, call_llm)

S = {"model": "gpt-4o-mini", "max_tokens": 2048, "temperature": 0.3}

@autograms_function()
def chatbot():
    reply("hi")
    yes_or_no("is the user happy?", **S)
    multiple_choice("which?", ["a", "b"], **S)
    generate_list("list things", **S)
    thought("think", **S)
    silent_thought("think quietly", **S)
    call_llm("hello", **S)
    generate_fixed_list("three things", 3, **S)
    generate_fixed_dict("fill", ["a", "b"], **S)
    generate_list_of_dicts("rows", ["a", "b"], **S)
    generate_list_of_choices("pick", ["a", "b"], **S)
    reply_instruction("reply to the user", **S)
    reply_suffix("Anything else?", **S)
    reply_instruction("plain reply with the config's settings")
"""

N_SETTINGS_CALLS = 12  # model calls above made with S (all but the last reply_instruction)

AUTOGRAMS_ENTRY_KEYS = {
    "model": {
        "output",
        "entry_type",
        "function_name",
        "function_inputs",
        "code_position",
        "usage_log",
        "supervisor_info",
        "timestamp",
    },
    "agent_reply": {
        "reply",
        "entry_type",
        "last_node",
        "line_number",
        "function_name",
        "timestamp",
    },
    "user_reply": {"user_reply", "entry_type", "timestamp"},
}


def _drive(autogram, memory, messages):
    """AutoGRAMS' debug_autogram.py loop: serialize -> deserialize -> reply, every turn."""
    replies = []
    for text in messages:
        memory = autogram.deserialize(autogram.serialize(memory))
        reply_text, memory = autogram.reply(text, memory_object=memory)
        replies.append(reply_text)
    return replies, memory


def _load(tmp_path, name, source):
    from autograms import load_autogram

    path = write_bot(tmp_path, name, source)
    chatbot, _init = load_autogram(path)
    return chatbot


# ---------------------------------------------------------------- item 1: per-call settings


def test_per_call_settings_on_every_helper_reach_the_server(tmp_path):
    """Issue 16 item 1, checked: every helper sends the per-call model, max_tokens and
    temperature to the endpoint (AutoGRAMS passes them to the API); a call without them uses
    the config's."""
    from autograms import Autogram, AutogramConfig

    chatbot = _load(tmp_path, "s10_every_helper_srv", EVERY_HELPER_BOT)
    with FakeOpenAI() as server:
        config = AutogramConfig(
            chatbot_type="proxy", chatbot_proxy_port=server.port, chatbot_path="cfg-model"
        )
        autogram = Autogram(chatbot, autogram_config=config)
        _text, memory = autogram.reply()
        replies, memory = _drive(autogram, memory, ["x", "y", "z"])
        bodies = server.chat_bodies()
    seen = [(b.get("model"), b.get("max_tokens"), b.get("temperature")) for b in bodies]
    # yes_or_no and multiple_choice decide at temperature 0 whatever the call says, as
    # AutoGRAMS 0.6.0 does (seen side by side in the s11 outside round)
    expected = [("gpt-4o-mini", 2048, 0)] * 2 + [("gpt-4o-mini", 2048, 0.3)] * (
        N_SETTINGS_CALLS - 2
    )
    assert seen[:N_SETTINGS_CALLS] == expected, seen
    assert seen[N_SETTINGS_CALLS][0] == "cfg-model", seen
    assert len(seen) == N_SETTINGS_CALLS + 1, seen
    assert replies[-1].startswith("fake reply"), replies


def test_per_call_settings_on_every_helper_in_test_mode(tmp_path):
    """Issue 16 item 1, checked in test mode: no TypeError, no warning for the settings the
    model call takes, and every helper's call is logged with its usage."""
    import warnings

    from autograms import Autogram

    chatbot = _load(tmp_path, "s10_every_helper_test", EVERY_HELPER_BOT)
    autogram = Autogram(chatbot, test_mode=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _text, memory = autogram.reply()
        replies, memory = _drive(autogram, memory, ["x", "y", "z"])
    models = [e for e in memory.memory_dict["model_turns"] if e["entry_type"] == "model"]
    assert len(models) == N_SETTINGS_CALLS + 1, [e["function_name"] for e in models]
    assert all(e["usage_log"] for e in models), models


def test_supervisor_kwargs_outside_supervisor_mode_are_accepted_in_test_mode(tmp_path):
    """Issue 16 item 1 (second half), checked: a supervisor's keywords, which AutoGRAMS
    accepts and ignores outside supervisor mode, raise nothing."""
    from autograms import Autogram

    source = """
    from autograms import autograms_function
    from autograms.functional import reply, reply_instruction, thought

    def my_supervisor(*args, **kwargs):
        return "supervised"

    @autograms_function()
    def chatbot():
        reply("hi")
        thought("t", supervisor=my_supervisor, supervisor_kwargs={"article": "a"})
        reply_instruction("r", supervisor=my_supervisor, supervisor_kwargs={"article": "a"})
    """
    chatbot = _load(tmp_path, "s10_supervisor_kwargs", source)
    autogram = Autogram(chatbot, test_mode=True)
    _text, memory = autogram.reply()
    replies, _memory = _drive(autogram, memory, ["x"])
    assert isinstance(replies[0], str) and replies[0], replies


# ------------------------------------------------ item 2: model_turns, usage, conv history

LOOP_BOT = """
from autograms import autograms_function
from autograms.functional import reply, reply_instruction, thought, yes_or_no

@autograms_function()
def chatbot():
    reply("Hello, who are you?")
    while True:
        if yes_or_no("Does the user sound happy?"):
            reply_instruction("Reply warmly.")
        else:
            note = thought("Why is the user unhappy?")
            reply("I hear you. " + note[:10])
"""


def test_model_turns_keep_autograms_entry_shape_and_usage_after_round_trips(tmp_path):
    """Issue 16 item 2, checked: after a serialize/deserialize round trip on every turn,
    memory_dict['model_turns'] holds every call with AutoGRAMS' entry keys, and the summed
    usage_log equals what the server billed."""
    from autograms import Autogram, AutogramConfig

    chatbot = _load(tmp_path, "s10_loop_usage", LOOP_BOT)
    with FakeOpenAI() as server:
        config = AutogramConfig(chatbot_type="proxy", chatbot_proxy_port=server.port)
        autogram = Autogram(chatbot, autogram_config=config)
        _text, memory = autogram.reply()
        _replies, memory = _drive(autogram, memory, [f"message {i}" for i in range(12)])
        calls = len(server.chat_bodies())
    memory = autogram.deserialize(autogram.serialize(memory))
    entries = list(memory.memory_dict["model_turns"])
    for entry in entries:
        missing = AUTOGRAMS_ENTRY_KEYS[entry["entry_type"]] - set(entry)
        assert not missing, (entry, missing)
    billed = [e["usage_log"] for e in entries if e.get("usage_log")]
    assert len(billed) == calls, (len(billed), calls)
    total = sum(u["total_tokens"] for u in billed)
    assert total == calls * USAGE["total_tokens"], (total, calls)


def test_full_conv_history_complete_with_a_fresh_process_per_turn(tmp_path):
    """Issue 16 item 2, checked: a session saved and loaded by a new interpreter on every
    turn keeps extract_full_conv_history() whole (the opening "" first, as AutoGRAMS lists
    it) and memory_dict['model_turns'] lists every user message."""
    write_bot(tmp_path, "s10_fresh_bot", LOOP_BOT)
    session = tmp_path / "s.session"
    turn = """
    import json, os, sys
    from autograms import Autogram
    from autograms.functional import extract_full_conv_history
    from s10_fresh_bot import chatbot
    autogram = Autogram(chatbot, test_mode=True)
    path, text = sys.argv[1], sys.argv[2]
    if os.path.exists(path):
        memory = autogram.load(path)
        reply, memory = autogram.reply(text, memory_object=memory)
    else:
        reply, memory = autogram.reply()
    autogram.save(path, memory)
    with autogram.use_memory(memory):
        history = extract_full_conv_history()
    users = [e["user_reply"] for e in memory.memory_dict["model_turns"]
             if e["entry_type"] == "user_reply"]
    print(json.dumps({"reply": reply, "history": history, "users": users}))
    """
    script = tmp_path / "turn.py"
    script.write_text(__import__("textwrap").dedent(turn))
    messages = [f"m{i}" for i in range(6)]
    replies = []
    out = None
    for text in [""] + messages:
        proc = subprocess.run(
            [sys.executable, str(script), str(session), text],
            cwd=str(tmp_path),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        replies.append(out["reply"])
    expected = []
    for user, agent in zip([""] + messages, replies, strict=True):
        expected += [{"role": "user", "content": user}, {"role": "assistant", "content": agent}]
    assert out["history"] == expected, out["history"]
    assert out["users"] == [""] + messages, out["users"]


# -------------------------------------------------------------- item 3: missing modules


def test_modules_the_original_examples_import_exist():
    """Issue 16 item 3, checked: the modules and names AutoGRAMS' examples and docs import."""
    code = """
    import autograms
    from autograms.agent_modules.vector_stores import AutoIndex
    from autograms.agent_modules import search_utils
    from autograms.supervisors import SupervisorReturn
    from autograms import program_control, graph_utils, processors
    from autograms.graph_utils import compile_graph
    from autograms.memory import SimpleMemory, SerializableMemory, clear_memory, MemoryObject
    from autograms.functional import (call_model, call_conv_model, generate_list_obj,
        make_decision_schema_json, execute_code, parallel_wrapper, multiple_choice_logits)
    parts = [int(p) for p in autograms.__version__.split(".")]
    assert parts >= [0, 5, 2], autograms.__version__
    assert hasattr(MemoryObject, "serialize") and hasattr(MemoryObject, "save")
    print("ok")
    """
    proc = run_python(code, HERE)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


# ------------------------------------------------------- the log's line numbers


def _long_line_bot(lengths):
    """A bot whose replies are multi-line calls, `reply(` on one line and the text (of the
    given lengths) on the next, as AutoGRAMS' own recruiter example writes them."""
    lines = [
        "from autograms import autograms_function",
        "from autograms.functional import reply",
        "",
        "",
        "@autograms_function()",
        "def chatbot():",
    ]
    call_lines = []
    for length in lengths:
        call_lines.append(len(lines) + 1)
        lines += ["    reply(", f'        "{"x" * (length - 10)}"', "    )"]
    return "\n".join(lines) + "\n", call_lines


def test_log_names_the_line_of_a_multiline_call_whatever_its_argument_length(tmp_path):
    from autograms import Autogram

    lengths = list(range(100, 200, 4))
    source, call_lines = _long_line_bot(lengths)
    chatbot = _load(tmp_path, "s10_long_lines", source)
    autogram = Autogram(chatbot, test_mode=True)
    _text, memory = autogram.reply()
    stack_lines = [memory.memory_dict["stack"][-1]["line_number"]]
    for i in range(len(lengths) - 1):
        _text, memory = autogram.reply(f"u{i}", memory_object=memory)
        stack_lines.append(memory.memory_dict["stack"][-1]["line_number"])
    logged = [
        e["line_number"]
        for e in memory.memory_dict["model_turns"]
        if e["entry_type"] == "agent_reply"
    ]
    assert stack_lines == call_lines, stack_lines
    wrong = [
        (n, want, got)
        for n, want, got in zip(lengths, call_lines, logged, strict=True)
        if want != got
    ]
    assert not wrong, f"(argument length, call line, logged line): {wrong}"


# ------------------------------------------------------- the seed agent's package walk

PACKAGE_WALK = """
import inspect, sys, importlib
import autograms
for extra in sys.argv[1:]:
    importlib.import_module(extra)
visits = []
def walk(module):
    # What AutoGRAMS' seed agent does at import to list the library's functions: follow
    # every module attribute named autograms*, with no record of modules already seen.
    visits.append(module.__name__)
    assert len(visits) < 100000, "runaway walk"
    for name in dir(module):
        obj = getattr(module, name)
        if inspect.ismodule(obj) and obj.__name__.startswith("autograms"):
            walk(obj)
walk(autograms)
print(len(visits), len(set(visits)))
"""


@pytest.mark.parametrize("extra", [[], ["autograms.cli.__main__"]], ids=["library", "cli"])
def test_the_seed_agents_package_walk_visits_each_module_a_few_times(tmp_path, extra):
    script = tmp_path / "walk.py"
    script.write_text(PACKAGE_WALK)
    proc = subprocess.run(
        [sys.executable, str(script), *extra], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    visits, distinct = map(int, proc.stdout.split())
    assert visits <= 3 * distinct, f"{visits} visits of {distinct} modules"


# ------------------------------------------------------- item 4: the scripts' flags


def _autograms(args, cwd, stdin="", timeout=120, env=None):
    full_env = dict(os.environ, **(env or {}))
    full_env.pop("OPENAI_API_KEY", None)
    return subprocess.run(
        [AUTOGRAMS_CMD, *args],
        cwd=str(cwd),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )


def test_readme_proxy_command_sends_model_name_to_proxy_port(tmp_path):
    """Issue 16 item 4, checked: `--autogram_file F --model_type proxy --proxy_port P
    --model_name M` (AutoGRAMS' README command) chats through http://localhost:P/v1 with M."""
    write_bot(
        tmp_path,
        "s10_cli_bot",
        """
        from autograms import autograms_function
        from autograms.functional import reply, reply_instruction

        @autograms_function()
        def chatbot():
            reply("Hi there")
            while True:
                reply_instruction("Reply to the user.")
        """,
    )
    with FakeOpenAI() as server:
        args = ["run", "--autogram_file", "s10_cli_bot.py", "--model_type", "proxy"]
        args += ["--proxy_port", str(server.port), "--model_name", "llama-3.2-1b-instruct"]
        args += ["--no-save"]
        proc = _autograms(args, tmp_path, stdin="hello\nexit\n")
        bodies = server.chat_bodies()
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Hi there" in proc.stdout and "fake reply" in proc.stdout, proc.stdout
    assert [b["model"] for b in bodies] == ["llama-3.2-1b-instruct"], bodies


@pytest.mark.parametrize(
    ("model", "expected"),
    [("llama-3.2-1b-instruct:q4_k_m", (0.4, 0.5)), ("gpt-4o-mini", (0.4, None))],
)
def test_readme_proxy_command_with_a_non_gpt_model_sends_run_autograms_penalty(
    tmp_path, model, expected
):
    """run_autogram.py without --config_file: frequency_penalty 0.5 when the model name has
    no 'gpt'; its --example_name defaults to autograms_seed_agent even beside --autogram_file,
    so the seed agent's temperature 0.4 applies (found SILENT: no penalty was sent)."""
    write_bot(
        tmp_path,
        "s10_cli_penalty",
        """
        from autograms import autograms_function
        from autograms.functional import reply, reply_instruction

        @autograms_function()
        def chatbot():
            reply("Hi there")
            while True:
                reply_instruction("Reply to the user.")
        """,
    )
    with FakeOpenAI() as server:
        args = ["run", "--autogram_file", "s10_cli_penalty.py", "--model_type", "proxy"]
        args += ["--proxy_port", str(server.port), "--model_name", model]
        args += ["--no-save"]
        proc = _autograms(args, tmp_path, stdin="hello\nexit\n")
        bodies = server.chat_bodies()
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert bodies, proc.stdout
    sent = [(b.get("temperature"), b.get("frequency_penalty")) for b in bodies]
    assert sent == [expected], sent


def test_example_name_in_an_autograms_checkout_runs_its_examples_folder(tmp_path):
    examples = tmp_path / "examples"
    examples.mkdir()
    (examples / "__init__.py").write_text("")
    write_bot(
        examples,
        "recruiter",
        """
        from autograms import autograms_function
        from autograms.functional import reply

        @autograms_function()
        def chatbot():
            reply("This is OUR edited recruiter.")
            reply("bye")
        """,
    )
    proc = _autograms(
        ["run", "--example_name", "recruiter", "--test-mode", "--no-save"], tmp_path, stdin="exit\n"
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "This is OUR edited recruiter." in proc.stdout, proc.stdout[:2000]


# ------------------------------------------------------------- supervisors (item 3)

SUPERVISED_BOT = """
from autograms import autograms_function
from autograms.functional import reply, reply_instruction, silent_thought, yes_or_no
from autograms.supervisors import SupervisorReturn

def reasoned_summary(instruction, article):
    findings = silent_thought(f"{article}\\n\\nWhat are the key findings?")
    return SupervisorReturn("SUMMARY:" + findings[:12])

def make_formal(instruction):
    return SupervisorReturn("FORMAL reply", rejected_output="casual reply")

def always_yes(*args, **kwargs):
    return True

@autograms_function()
def chatbot():
    reply("hi")
    s = silent_thought("Summarize the article", supervisor=reasoned_summary, article="ART")
    d = yes_or_no("ok?", supervisor=always_yes)
    reply_instruction(f"Respond to the user. {s} {d}", supervisor=make_formal)
    reply("end")
"""


@pytest.mark.parametrize("supervisor_mode", [True, False])
def test_the_guides_supervisors_in_and_out_of_supervisor_mode(tmp_path, supervisor_mode):
    """Issue 16 item 3, checked with simulation_finetuning.md's supervisor examples: in
    supervisor mode the SupervisorReturn replaces the model's answer (the DPO example's
    rejected output in supervisor_info); outside it the model answers and the supervisor's
    own keyword (article=) never reaches the model."""
    from autograms import Autogram, AutogramConfig

    chatbot = _load(tmp_path, f"s10_supervised_{supervisor_mode}", SUPERVISED_BOT)
    with FakeOpenAI() as server:
        config = AutogramConfig(chatbot_type="proxy", chatbot_proxy_port=server.port)
        autogram = Autogram(chatbot, autogram_config=config, supervisor_mode=supervisor_mode)
        _text, memory = autogram.reply()
        replies, memory = _drive(autogram, memory, ["u"])
        bodies = server.chat_bodies()
    assert all("article" not in body for body in bodies), bodies
    helpers = {
        e["helper"]: e for e in memory.memory_dict["model_turns"] if e["entry_type"] == "model"
    }
    if supervisor_mode:
        assert replies == ["FORMAL reply"], replies
        assert helpers["reply_instruction"]["supervisor_info"]["rejected_output"] == "casual reply"
        assert len(bodies) == 1, bodies  # only the supervisor's own silent_thought
    else:
        assert replies[0].startswith("fake reply") and replies[0].endswith("True"), replies
        assert helpers["reply_instruction"]["supervisor_info"] is None, helpers
        assert len(bodies) == 3, bodies


# --------------------------------------------- README: keywords the model cannot take


def test_an_unknown_keyword_warns_in_test_mode_and_is_refused_naming_the_helper(tmp_path):
    """README 'Coming from AutoGRAMS', checked: an unknown keyword is ignored with a warning in
    test mode and raises TypeError naming the helper on a real endpoint, the session kept."""
    from autograms import Autogram, AutogramConfig

    source = """
    from autograms import autograms_function
    from autograms.functional import reply, reply_instruction

    @autograms_function()
    def chatbot():
        reply("hi")
        reply_instruction("r", bogus_setting=1)
    """
    chatbot = _load(tmp_path, "s10_bogus_kw", source)
    autogram = Autogram(chatbot, test_mode=True)
    _text, memory = autogram.reply()
    with pytest.warns(Warning, match="bogus_setting"):
        autogram.reply("u", memory_object=memory)
    with FakeOpenAI() as server:
        config = AutogramConfig(chatbot_type="proxy", chatbot_proxy_port=server.port)
        autogram = Autogram(chatbot, autogram_config=config)
        _text, memory = autogram.reply()
        before = autogram.serialize(memory)
        with pytest.raises(TypeError, match="reply_instruction.*bogus_setting"):
            autogram.reply("u", memory_object=memory)
        assert not server.chat_bodies()
    assert autogram.serialize(memory) == before


# --------------------------------------------- day two: the bot edited under a session

LOOP_V1 = """
from autograms import autograms_function
from autograms.functional import reply

@autograms_function()
def chatbot():
    reply("start", ADDRESS="start")
    total = 0
    for i in range(4):
        total += i
        reply(f"q{i} total={total}", ADDRESS="q")
    reply(f"done total={total}", ADDRESS="done")
"""

LOOP_V2 = """
from autograms import autograms_function
from autograms.functional import reply

@autograms_function()
def chatbot():
    reply("start", ADDRESS="start")
    total = 0
    for i in range(4):
        total += i
        extra = i * 10
        reply(f"Q{i} total={total} extra={extra}", ADDRESS="q")
    reply(f"DONE total={total}", ADDRESS="done")
"""

EDIT_TURN = """
import json, os, sys
from autograms import Autogram
from s10_edited_bot import chatbot
autogram = Autogram(chatbot, test_mode=True)
path, count = sys.argv[1], int(sys.argv[2])
replies = []
if os.path.exists(path):
    memory = autogram.load(path)
else:
    text, memory = autogram.reply()
    replies.append(text)
for i in range(count):
    text, memory = autogram.reply(f"u{i}", memory_object=memory)
    replies.append(text)
autogram.save(path, memory)
print(json.dumps(replies))
"""


def test_a_session_paused_in_a_loop_continues_the_loop_in_the_edited_bot(tmp_path):
    """Day two, checked against AutoGRAMS 0.6.0 (which gives the same replies): a session
    paused at a labelled reply inside a loop, loaded by a new process running an edited bot,
    continues the same iteration with the loop's state and runs the new code after it."""
    (tmp_path / "turn.py").write_text(EDIT_TURN)
    session = str(tmp_path / "s.session")

    def turn(source, count):
        write_bot(tmp_path, "s10_edited_bot", source)
        proc = subprocess.run(
            [sys.executable, "turn.py", session, str(count)],
            cwd=str(tmp_path),
            capture_output=True,
            text=True,
            timeout=120,
            env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"),
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])

    assert turn(LOOP_V1, 2) == ["start", "q0 total=0", "q1 total=1"]
    assert turn(LOOP_V2, 4) == ["Q2 total=3 extra=20", "Q3 total=6 extra=30", "DONE total=6", None]


# ------------------------------------------------ AutoIndex on the embeddings endpoint

INDEX_BOT = """
from autograms import autograms_function
from autograms.agent_modules.vector_stores import AutoIndex
from autograms.functional import reply, extract_last_user_reply

TEXTS = [{"text": f"fact number {i}", "metadata": {"n": i}} for i in range(12)]
index = None

def init_chatbot():
    global index
    index = AutoIndex.from_texts(TEXTS)

@autograms_function()
def chatbot():
    reply("ask me")
    while True:
        found = index.similarity_search(extract_last_user_reply(), k=3)
        reply(" | ".join(doc["text"] for doc in found))
"""


def _fake_vector(text):
    import hashlib
    import random

    rng = random.Random(hashlib.sha256(str(text).encode()).hexdigest())
    return [rng.uniform(-1, 1) for _ in range(8)]


def test_autoindex_retrieves_the_nearest_texts_over_the_embeddings_endpoint(tmp_path):
    """Issue 16 item 3, checked (the doc-search example's pattern: init_chatbot builds an
    AutoIndex.from_texts, the program searches it, serialize/deserialize every turn): the k
    texts returned are the nearest by the endpoint's own vectors, nearest first."""
    from autograms import Autogram, AutogramConfig, load_autogram, use_config

    path = write_bot(tmp_path, "s10_index_bot", INDEX_BOT)
    chatbot, init_chatbot = load_autogram(path)
    texts = [f"fact number {i}" for i in range(12)]
    questions = ["what is up", "fact number 3", "tell me more", "zzz"]
    with FakeOpenAI() as server:
        config = AutogramConfig(
            chatbot_type="proxy", chatbot_proxy_port=server.port, embedding_proxy_port=server.port
        )
        with use_config(config):
            init_chatbot()
        autogram = Autogram(chatbot, autogram_config=config)
        _text, memory = autogram.reply()
        replies, _memory = _drive(autogram, memory, questions)
    for question, got in zip(questions, replies, strict=True):
        target = _fake_vector(question)

        def dist(text, target=target):
            return sum((a - b) ** 2 for a, b in zip(_fake_vector(text), target, strict=True))

        want = " | ".join(sorted(texts, key=dist)[:3])
        assert got == want, (question, got, want)


# ------------------------------------------ persistent globals in nested code objects

PERSISTENT_READ_BOT = """
from autograms import autograms_function
from autograms.functional import reply
from autograms.memory import set_persistent_globals

with set_persistent_globals():
    owner = "module-default"

def plain_read():
    return owner

@autograms_function()
def chatbot():
    global owner
    owner = reply("who?")
    def nested():
        return owner
    out = {
        "direct": owner,
        "plain_helper": plain_read(),
        "listcomp": [owner for _ in range(1)][0],
        "dictcomp": {k: owner for k in [0]}[0],
        "genexpr": next(owner for _ in range(1)),
        "lambda": (lambda: owner)(),
        "nested_def": nested(),
    }
    reply(repr(sorted(out.items())))
"""


def test_persistent_globals_read_inside_nested_code_of_a_decorated_function(tmp_path):
    from autograms import Autogram

    chatbot = _load(tmp_path, "s10_persistent_read", PERSISTENT_READ_BOT)
    autogram = Autogram(chatbot, test_mode=True)
    _text, memory = autogram.reply()
    text, _memory = autogram.reply("alice", memory_object=memory)
    seen = dict(eval(text))  # the bot's own repr of a list of (str, str) pairs
    wrong = {where: value for where, value in seen.items() if value != "alice"}
    assert not wrong, wrong


PERSISTENT_WRITE_BOT = """
from autograms import autograms_function
from autograms.functional import reply
from autograms.memory import set_persistent_globals

with set_persistent_globals():
    owner = "module-default"

@autograms_function()
def chatbot():
    def remember(value):
        global owner
        owner = value
    remember(reply("who?"))
    reply(f"owner={owner}")
"""


def test_persistent_global_written_by_a_nested_def_belongs_to_the_session(tmp_path):
    import importlib

    from autograms import Autogram

    chatbot = _load(tmp_path, "s10_persistent_write", PERSISTENT_WRITE_BOT)
    module = importlib.import_module(chatbot.__module__)
    autogram = Autogram(chatbot, test_mode=True)
    _text, first = autogram.reply()
    _text, second = autogram.reply()
    text1, _first = autogram.reply("alice", memory_object=first)
    text2, _second = autogram.reply("bob", memory_object=second)
    assert (text1, text2, module.owner) == ("owner=alice", "owner=bob", "module-default")


# ------------------------------------------------------------------- misuse messages


@pytest.mark.parametrize("kind", ["serialized text", "memory_dict", "dict"])
def test_a_wrong_memory_object_is_refused_naming_memory_object(tmp_path, kind):
    from autograms import Autogram

    chatbot = _load(tmp_path, f"s10_wrong_memory_{kind.replace(' ', '_')}", LOOP_BOT)
    autogram = Autogram(chatbot, test_mode=True)
    _text, memory = autogram.reply()
    wrong = {
        "serialized text": autogram.serialize(memory),
        "memory_dict": memory.memory_dict,
        "dict": {},
    }[kind]
    with pytest.raises(TypeError, match="memory_object"):
        autogram.reply("hi", memory_object=wrong)


# ----------------------------------------------------------------- day two: long chats

LONG_BOT = """
from autograms import autograms_function
from autograms.functional import reply, reply_instruction

@autograms_function()
def chatbot():
    reply("Welcome to the long chat.")
    while True:
        reply_instruction("Reply to the user about their story.")
"""


def test_a_long_chat_keeps_every_turn_in_turn_stack_history_and_log(tmp_path):
    """Day two, checked (AutoGRAMS keeps every turn in turn_stack and model_turns; compared
    side by side over 120 turns the two libraries gave equal turn stacks): 300 turns of
    ~110 characters, far past the live window, serialized every turn -- turn_stack,
    extract_full_conv_history() and model_turns still hold every message in order."""
    from autograms import Autogram
    from autograms.functional import extract_full_conv_history

    chatbot = _load(tmp_path, "s10_long_chat", LONG_BOT)
    autogram = Autogram(chatbot, test_mode=True)
    text, memory = autogram.reply()
    messages = [f"message {i} " + "z" * 100 for i in range(300)]
    replies, memory = _drive(autogram, memory, messages)
    replies = [text] + replies
    levels = memory.memory_dict["turn_stack"]
    turns = [t for level in levels for t in level["turns"]]
    assert [t["content"] for t in turns if t["role"] == "agent"] == replies
    assert [t["content"] for t in turns if t["role"] == "user"] == messages
    with autogram.use_memory(memory):
        history = extract_full_conv_history()
    assert [h["content"] for h in history if h["role"] == "assistant"] == replies
    assert [h["content"] for h in history if h["role"] == "user"] == [""] + messages
    users = [
        e["user_reply"]
        for e in memory.memory_dict["model_turns"]
        if e["entry_type"] == "user_reply"
    ]
    assert users == [""] + messages


def test_run_autograms_saveload_key_in_memory_dict_survives_a_round_trip(tmp_path):
    """AutoGRAMS' run_autogram.py stores `memory_dict['user_reply_to_save']` before
    serializing and reads it back after deserialize on restart: the key survives."""
    from autograms import Autogram

    chatbot = _load(tmp_path, "s10_saveload_key", LOOP_BOT)
    autogram = Autogram(chatbot, test_mode=True)
    _text, memory = autogram.reply()
    memory.memory_dict["user_reply_to_save"] = "the last message"
    text = autogram.serialize(memory)
    again = autogram.deserialize(text)
    assert again.memory_dict["user_reply_to_save"] == "the last message"
    _reply, again = autogram.reply(again.memory_dict["user_reply_to_save"], memory_object=again)
    assert again.memory_dict["model_turns"][-1]["entry_type"] == "agent_reply"


# ------------------------------------------------- reply_suffix's splice of the suffix

SUFFIX_BOT = """
from autograms import autograms_function
from autograms.functional import reply, reply_suffix

@autograms_function()
def chatbot():
    reply("hi")
    while True:
        reply_suffix("What is your name?")
"""


def _suffix_reply(tmp_path, name, model_text):
    from autograms import Autogram, AutogramConfig

    chatbot = _load(tmp_path, name, SUFFIX_BOT)
    with FakeOpenAI(texts=[model_text]) as server:
        config = AutogramConfig(chatbot_type="proxy", chatbot_proxy_port=server.port)
        autogram = Autogram(chatbot, autogram_config=config)
        _text, memory = autogram.reply()
        replies, _memory = _drive(autogram, memory, ["u"])
    return replies[0]


def test_reply_suffix_keeps_a_reply_that_ends_with_the_suffix(tmp_path):
    """reply_suffix, checked against AutoGRAMS 0.6.0 side by side: a model answer that ends
    with the required text is sent as it is."""
    text = "Great to hear. What is your name?"
    assert _suffix_reply(tmp_path, "s10_suffix_end", text) == text


def test_reply_suffix_splices_a_suffix_the_model_wrote_mid_answer(tmp_path):
    got = _suffix_reply(
        tmp_path, "s10_suffix_mid", "Hello there! **What is your name?** Nice to meet you."
    )
    assert got == "Hello there! What is your name?"


def test_reply_suffix_without_the_suffix_in_the_answer_replies_the_suffix(tmp_path):
    got = _suffix_reply(tmp_path, "s10_suffix_none", "Sure, no problem.")
    assert got == "What is your name?"


# ------------------------------------------- documented argument combinations of apply

APPLY_BOT = """
from autograms import autograms_function, autograms_external
from autograms.functional import reply, EXIT
from autograms.memory import init_user_globals

G = init_user_globals()
G["score"] = 0

@autograms_external()
def add_score(n):
    G["score"] += n
    return G["score"]

@autograms_function()
def chatbot():
    reply("hi", data={"image": "cat.png"})
    answer = reply("next", data={"k": 1})
    if answer == "quit":
        EXIT({"bye": True})
    reply(f"score {G['score']}")
"""


def test_apply_returns_autogramsreturn_with_data_and_runs_externals(tmp_path):
    """autogram.md's apply(), checked: the root by default with reply/data/func_return (data
    kept through a round trip as memory.reply_data), func= and function= for an
    @autograms_external without pausing the program, EXIT's data, and the next turn
    continuing after EXIT."""
    from autograms import Autogram

    chatbot = _load(tmp_path, "s10_apply_bot", APPLY_BOT)
    module = __import__(chatbot.__module__)
    autogram = Autogram(chatbot, test_mode=True)
    first = autogram.apply()
    assert (first.reply, first.data, first.func_return) == (
        "hi",
        {"image": "cat.png", "reply": "hi"},
        None,
    )
    memory = autogram.deserialize(autogram.serialize(first.memory))
    assert memory.reply_data == {"image": "cat.png"}
    assert autogram.apply(memory_object=memory, func=module.add_score, n=5) == 5
    assert autogram.apply(memory_object=memory, function=module.add_score, n=2) == 7
    second = autogram.apply(user_reply="go", memory_object=memory)
    assert (second.reply, second.data) == ("next", {"k": 1, "reply": "next"})
    third = autogram.apply(user_reply="quit", memory_object=second.memory)
    assert (third.reply, third.data) == (None, {"bye": True})
    text, _memory = autogram.reply("again", memory_object=third.memory)
    assert text == "score 7"


def test_example_name_doc_search_in_a_checkout_runs_its_autograms_doc_search(tmp_path):
    examples = tmp_path / "examples"
    examples.mkdir()
    (examples / "__init__.py").write_text("")
    write_bot(
        examples,
        "autograms_doc_search",
        """
        from autograms import autograms_function
        from autograms.functional import reply

        greeting = "not initialised"

        def init_chatbot():
            global greeting
            greeting = "OUR doc search, initialised."

        @autograms_function()
        def chatbot():
            reply(greeting)
            reply("bye")
        """,
    )
    proc = _autograms(
        ["run", "--example_name", "doc_search", "--test-mode", "--no-save"],
        tmp_path,
        stdin="exit\n",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "OUR doc search, initialised." in proc.stdout, proc.stdout[:2000]
