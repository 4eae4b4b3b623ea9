"""Outside tests (issue 16): an AutoGRAMS 0.6.0 user's documented patterns, run against this library.

Every bot here is written in this file with the API as AutoGRAMS' README and docs show it
(docs/documentation/*.md of AutoGRAMS 0.6.0); nothing needs the original's source. Test mode only.
"""

from __future__ import annotations

import os

import pytest

from autograms import Autogram, autograms_chatbot, autograms_external, autograms_function
from autograms.functional import (
    call_llm,
    decision_chain,
    extract_full_conv_history,
    generate_fixed_dict,
    generate_fixed_list,
    generate_list,
    generate_list_of_dicts,
    get_single_embedding,
    multiple_choice,
    multiple_choice_logits,
    parallel_wrapper,
    reply,
    reply_instruction,
    reply_suffix,
    silent_thought,
    thought,
    thought_chain,
    thought_decision_chain,
    yes_or_no,
)
from autograms.memory import init_user_globals, use_memory
from autograms.supervisors import SupervisorReturn

SETTINGS = {"model": "gpt-4o-mini", "max_tokens": 2048, "temperature": 0.3}

user_globals = init_user_globals()
user_globals["name"] = None

RESULTS: dict = {}


@autograms_function()
def three_replies():
    reply("one")
    reply("two")
    reply("three")
    reply("four")


@autograms_function()
def every_helper_bot():
    reply("hi", ADDRESS="start")
    RESULTS["yes_or_no"] = yes_or_no("q?", **SETTINGS)
    RESULTS["multiple_choice"] = multiple_choice("q?", ["a", "b"], **SETTINGS)
    RESULTS["multiple_choice_logits"] = multiple_choice_logits("q?", ["a", "b"], **SETTINGS)
    RESULTS["generate_list"] = generate_list("a list", **SETTINGS)
    RESULTS["generate_fixed_list"] = generate_fixed_list("a list", 3, **SETTINGS)
    RESULTS["generate_fixed_dict"] = generate_fixed_dict("a dict", ["a", "b"], **SETTINGS)
    RESULTS["generate_list_of_dicts"] = generate_list_of_dicts("dicts", ["a", "b"], **SETTINGS)
    RESULTS["thought"] = thought("think", **SETTINGS)
    RESULTS["silent_thought"] = silent_thought("think", **SETTINGS)
    RESULTS["thought_chain"] = thought_chain("think", ["p1", "p2"], **SETTINGS)
    RESULTS["decision_chain"] = decision_chain(
        "decide", [{"question": "q", "choices": ["a", "b"]}], **SETTINGS
    )
    RESULTS["call_llm"] = call_llm("hello", **SETTINGS)
    reply_instruction("respond", **SETTINGS)
    reply_suffix("respond", **SETTINGS)
    reply("done")


@autograms_function()
def thought_decision_bot():
    reply("hi")
    # docs/documentation/structured_generation_functions.md: each item is a thought or a decision
    RESULTS["tdc"] = thought_decision_chain(
        "think, then decide",
        [
            {"type": "thought", "prompt": "What does the user want?"},
            {"type": "decision", "question": "Is the user happy?", "choices": ["yes", "no"]},
        ],
    )
    reply("after")


@autograms_function()
def logging_bot():
    reply("first")
    while True:
        thought("think", temperature=0.1)
        reply_instruction("answer")


@autograms_external()
def set_name(new):
    user_globals["name"] = new
    return "set:" + new


def _round_trip(autogram, memory):
    return autogram.deserialize(autogram.serialize(memory))


def test_per_call_model_settings_work_on_every_helper_in_test_mode():
    RESULTS.clear()
    autogram = Autogram(root_function=every_helper_bot, test_mode=True)
    _text, memory = autogram.reply()
    text, memory = autogram.reply("go", memory_object=_round_trip(autogram, memory))
    assert isinstance(text, str) and text
    assert isinstance(RESULTS["yes_or_no"], bool)
    assert RESULTS["multiple_choice"] in (0, 1)
    assert len(RESULTS["generate_fixed_list"]) == 3
    assert set(RESULTS["generate_fixed_dict"]) == {"a", "b"}
    assert isinstance(RESULTS["call_llm"], str) and len(RESULTS["call_llm"]) > 1
    text, memory = autogram.reply("more", memory_object=_round_trip(autogram, memory))
    assert text


def test_thought_decision_chain_accepts_documented_thought_and_decision_items():
    RESULTS.clear()
    autogram = Autogram(root_function=thought_decision_bot, test_mode=True)
    _text, memory = autogram.reply()
    text, memory = autogram.reply("go", memory_object=memory)
    assert text == "after"
    assert len(RESULTS["tdc"]) == 2
    assert RESULTS["tdc"][1] in ("yes", "no")


def test_model_turns_and_history_are_complete_after_round_trips():
    autogram = Autogram(root_function=logging_bot, test_mode=True)
    _text, memory = autogram.reply()
    for i in range(4):
        _text, memory = autogram.reply(f"u{i}", memory_object=_round_trip(autogram, memory))
    memory = _round_trip(autogram, memory)
    turns = memory.memory_dict["model_turns"]
    users = [e["user_reply"] for e in turns if e["entry_type"] == "user_reply"]
    assert [u for u in users if u] == ["u0", "u1", "u2", "u3"]
    with_usage = [e for e in turns if "usage_log" in e]
    assert len(with_usage) >= 8
    for entry in with_usage:
        assert {"output", "entry_type", "usage_log", "timestamp"} <= set(entry)
    with autogram.use_memory(memory):
        history = extract_full_conv_history()
    # as in AutoGRAMS, the first turn's empty message comes first (updated in session 9)
    assert [h["content"] for h in history if h["role"] == "user"] == ["", "u0", "u1", "u2", "u3"]
    assert history[1] == {"role": "assistant", "content": "first"}


def test_agent_reply_log_entries_carry_the_line_number_of_the_reply():
    autogram = Autogram(root_function=three_replies, test_mode=True)
    _text, memory = autogram.reply()
    _text, memory = autogram.reply("x", memory_object=memory)
    replies = [e for e in memory.memory_dict["model_turns"] if e["entry_type"] == "agent_reply"]
    assert [e["reply"] for e in replies] == ["one", "two"]
    assert all(isinstance(e["line_number"], int) for e in replies)
    assert replies[1]["line_number"] == replies[0]["line_number"] + 1


def test_run_loop_value_saved_in_memory_dict_survives_a_round_trip():
    # run_autogram.py --saveload_file: memory_object.memory_dict['user_reply_to_save'] = user_reply
    autogram = Autogram(root_function=three_replies, test_mode=True)
    _text, memory = autogram.reply()
    memory.memory_dict["user_reply_to_save"] = "saved message"
    memory = _round_trip(autogram, memory)
    assert memory.memory_dict["user_reply_to_save"] == "saved message"


def test_memory_dict_stack_names_the_line_the_reply_came_from():
    autogram = Autogram(root_function=three_replies, test_mode=True)
    text, memory = autogram.reply()
    first = memory.memory_dict["stack"][-1]
    assert first["function_name"] == "three_replies"
    assert isinstance(first["line_number"], int)
    assert isinstance(first["locals"], dict)
    _text, memory = autogram.reply("x", memory_object=memory)
    assert memory.memory_dict["stack"][-1]["line_number"] == first["line_number"] + 1


def test_memory_object_serialize_and_save_round_trip(tmp_path):
    autogram = Autogram(root_function=three_replies, test_mode=True)
    _text, memory = autogram.reply()
    text, _m = autogram.reply("x", memory_object=autogram.deserialize(memory.serialize()))
    assert text == "two"
    memory.save(os.fspath(tmp_path / "s"))
    text, _m = autogram.reply("x", memory_object=autogram.load(os.fspath(tmp_path / "s")))
    assert text == "two"


def test_autogram_add_user_reply_logs_the_message():
    autogram = Autogram(root_function=three_replies, test_mode=True)
    _text, memory = autogram.reply()
    with autogram.use_memory(memory):
        autogram.add_user_reply("typed")
    users = [e for e in memory.memory_dict["model_turns"] if e["entry_type"] == "user_reply"]
    assert users[-1]["user_reply"] == "typed"


def test_reply_with_memory_dict_continues_that_state():
    autogram = Autogram(root_function=three_replies, test_mode=True)
    _text, memory = autogram.reply()
    text, memory = autogram.reply("x", memory_object=memory)
    assert text == "two"
    text, _memory = autogram.reply("y", memory_dict=memory.memory_dict)
    assert text == "three"


def test_apply_on_the_root_function_gives_the_reply():
    autogram = Autogram(root_function=three_replies, test_mode=True)
    _text, memory = autogram.reply()
    result = autogram.apply(user_reply="x", memory_object=memory, func=three_replies)
    data = getattr(result, "data", None) or {}
    assert "two" in (getattr(result, "reply", None), data.get("reply"))


def test_calling_the_root_under_use_memory_continues_the_session():
    autogram = Autogram(root_function=three_replies, test_mode=True)
    _text, memory = autogram.reply()
    with use_memory(memory):
        three_replies()
    text, _memory = autogram.reply("x", memory_object=memory)
    assert text in ("two", "three")


def test_external_function_through_apply_sets_user_globals_of_that_session_only():
    autogram = Autogram(root_function=three_replies, test_mode=True)
    _t, first = autogram.reply()
    _t, second = autogram.reply()
    assert autogram.apply(memory_object=first, func=set_name, new="Bob") == "set:Bob"
    first = _round_trip(autogram, first)
    with autogram.use_memory(first):
        assert user_globals["name"] == "Bob"
    with autogram.use_memory(second):
        assert user_globals["name"] is None
    assert user_globals["name"] is None


def test_api_keys_in_run_autogram_form_are_accepted():
    autogram = Autogram(
        root_function=three_replies,
        test_mode=True,
        api_keys={"load_from_env": True, "openai": "OPENAI_API_KEY"},
    )
    text, _memory = autogram.reply()
    assert text == "one"


def test_config_takes_proxy_ports_as_run_autogram_passes_them():
    from autograms import AutogramConfig

    # run_autogram.py: parser.add_argument('--proxy_port', type=str, default=8080), then
    # AutogramConfig(..., chatbot_type=args.model_type, chatbot_proxy_port=args.proxy_port, ...)
    config = AutogramConfig(
        chatbot_path="llama-3.2-1b-instruct:q4_k_m",
        classifier_path="llama-3.2-1b-instruct:q4_k_m",
        chatbot_type="proxy",
        chatbot_proxy_port="8080",
        embedding_proxy_port="8081",
        embedding_type="proxy",
        embedding_path="text-embedding-ada-002",
        reply_start_type="none",
        chatbot_generation_args={"temperature": 0.7, "frequency_penalty": 0.5},
    )
    Autogram(root_function=three_replies, autogram_config=config)
    assert (config.chatbot_proxy_port, config.embedding_proxy_port) == (8080, 8081)


def test_config_takes_every_documented_parameter_and_run_autogram_settings():
    from autograms import AutogramConfig

    documented = dict(
        max_tokens=1024,
        default_prompt="You are an agent.",
        agent_name="Agent",
        user_name="User",
        instruction_name="Instruction",
        chatbot_type="openai",
        chatbot_path="gpt-4o",
        system_prompt_in_turns=False,
        error_response=None,
        chatbot_generation_args=None,
        chatbot_max_tries=3,
        chatbot_wait_per_try=5,
        chatbot_max_input_len=3500,
        classifier_max_tries=2,
        classifier_wait_per_try=5,
        classifier_max_input_len=2048,
        exclude_classifier_system_prompt=False,
        banned_phrases=None,
        post_process_response=True,
        classifier_type=None,
        classifier_path=None,
        classifier_mode="json",
        embedding_type=None,
        embedding_path="text-embedding-3-small",
        instruction_template=None,
        reply_start_type="suffix",
        default_reply_start_template=None,
        user_instruction_template=None,
        default_question_prompt=None,
        default_transition_context=1,
        reply_suffix_inst_conversion=None,
        chatbot_proxy_port=8080,
        classifier_proxy_port=None,
        embedding_proxy_port=None,
    )
    AutogramConfig(**documented)
    with pytest.warns(DeprecationWarning):
        AutogramConfig(max_response_len=4096, chatbot_max_input_len=40000, reply_start_type="none")
    with pytest.raises(TypeError, match="bogus_field"):
        AutogramConfig(bogus_field=1)


def test_serialize_and_save_default_to_the_current_memory(tmp_path):
    autogram = Autogram(root_function=three_replies, test_mode=True)
    _text, memory = autogram.reply()
    with autogram.use_memory(memory):
        blob = autogram.serialize()
        autogram.save(os.fspath(tmp_path / "s"))
    assert autogram.reply("x", memory_object=autogram.deserialize(blob))[0] == "two"
    assert autogram.reply("x", memory_object=autogram.load(os.fspath(tmp_path / "s")))[0] == "two"


def test_memory_object_add_user_reply_takes_the_documented_keyword():
    autogram = Autogram(root_function=three_replies, test_mode=True)
    _text, memory = autogram.reply()
    memory.add_user_reply(user_reply="typed")
    users = [e for e in memory.memory_dict["model_turns"] if e["entry_type"] == "user_reply"]
    assert users[-1]["user_reply"] == "typed"


def test_memory_made_from_a_memory_dict_by_use_memory_takes_a_reply():
    autogram = Autogram(root_function=three_replies, test_mode=True)
    _text, memory = autogram.reply()
    _text, memory = autogram.reply("x", memory_object=memory)
    with autogram.use_memory(memory_dict=memory.memory_dict) as copy:
        pass
    text, _copy = autogram.reply("y", memory_object=copy)
    assert text == "three"


def test_init_memory_from_a_memory_dict_continues_that_state():
    autogram = Autogram(root_function=three_replies, test_mode=True)
    _text, memory = autogram.reply()
    _text, memory = autogram.reply("x", memory_object=memory)
    text, _copy = autogram.reply("y", memory_object=autogram.init_memory(memory.memory_dict))
    assert text == "three"


def parallel_work(x):
    return thought(f"about {x}")


@autograms_function()
def parallel_bot():
    reply("hi")
    answers = parallel_wrapper(parallel_work, [{"x": 1}, {"x": 2}, {"x": 3}])
    reply(" | ".join(answers))


def test_model_calls_inside_parallel_wrapper_are_in_model_turns():
    autogram = Autogram(root_function=parallel_bot, test_mode=True)
    _text, memory = autogram.reply()
    text, memory = autogram.reply("go", memory_object=memory)
    assert text.count("|") == 2
    calls = [e for e in memory.memory_dict["model_turns"] if "usage_log" in e]
    assert len(calls) == 3


def reasoned_summary(instruction, article):
    # docs/documentation/simulation_finetuning.md, "Example Supervisor Function"
    findings = silent_thought(f"{article}\n\nWhat are the key findings?", article=article)
    rel = silent_thought(
        f"{article}\nFindings: {findings}\nHow are they relevant?", article=article
    )
    result = silent_thought(
        f"{article}\nFinal Summary: {findings}\nRelevance: {rel}", article=article
    )
    return SupervisorReturn(result)


def make_formal(instruction):
    formal = silent_thought(f"{instruction}. Make it formal.")
    informal = silent_thought(f"{instruction}. Make it casual.")
    return SupervisorReturn(formal, rejected_output=informal)


@autograms_function()
def supervised_bot(article="the article"):
    reply("hi")
    summary = silent_thought("Summarize the article", supervisor=reasoned_summary, article=article)
    reply_instruction("Respond to the user. " + summary, supervisor=make_formal)
    reply("end")


@pytest.mark.parametrize("supervisor_mode", [True, False])
def test_supervisor_guide_example_runs_with_and_without_supervisor_mode(supervisor_mode):
    autogram = Autogram(
        root_function=supervised_bot, test_mode=True, supervisor_mode=supervisor_mode
    )
    _text, memory = autogram.reply(article="A1")
    with pytest.warns(UserWarning) if supervisor_mode else _no_warning():
        text, memory = autogram.reply("go", memory_object=_round_trip(autogram, memory))
    memory = _round_trip(autogram, memory)
    calls = [e for e in memory.memory_dict["model_turns"] if e.get("entry_type") == "model"]
    # the helper each call came from (function_name is AutoGRAMS' call_model ...)
    by_function = [(e["helper"], e["code_position"]["function_name"]) for e in calls]
    if supervisor_mode:
        assert len(calls) == 7  # three and two inside the supervisors, and the two supervised calls
        formal = calls[-1]
        assert formal["helper"] == "reply_instruction"
        assert formal["supervisor_info"]["rejected_output"] == calls[-2]["output"]
        assert text == formal["output"]
        # the supervisor's own calls are logged under the decorated function that asked,
        # as AutoGRAMS logs them (the nearest @autograms_function)
        assert {function for _helper, function in by_function} == {"supervised_bot"}
    else:
        assert by_function == [
            ("silent_thought", "supervised_bot"),
            ("reply_instruction", "supervised_bot"),
        ]


class _no_warning:
    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)
        return False


@autograms_function()
def index_bot():
    question = reply("ask")
    while True:
        found = DOC_INDEX["index"].similarity_search(question, k=2)
        question = reply(" | ".join(f"{r['text']}@{r['metadata']}" for r in found))


DOC_INDEX: dict = {}


def test_auto_index_retrieval_in_test_mode_across_round_trips():
    from autograms.agent_modules.vector_stores import AutoIndex

    autogram = Autogram(root_function=index_bot, test_mode=True)
    with autogram.use_config():
        DOC_INDEX["index"] = AutoIndex.from_texts(
            [
                "apples are red",
                {"text": "bananas are yellow", "metadata": {"f": 1}},
                "the sky is blue",
            ]
        )
    _text, memory = autogram.reply()
    text, memory = autogram.reply("bananas are yellow", memory_object=_round_trip(autogram, memory))
    assert text.startswith("bananas are yellow@{'f': 1} | ")
    text, memory = autogram.reply("the sky is blue", memory_object=_round_trip(autogram, memory))
    assert text.startswith("the sky is blue@{} | ")


def test_entries_appended_to_model_turns_stay_in_the_session():
    autogram = Autogram(root_function=three_replies, test_mode=True)
    _text, memory = autogram.reply()
    memory.memory_dict["model_turns"].append({"entry_type": "annotation", "note": "mine"})
    assert memory.memory_dict["model_turns"][-1]["entry_type"] == "annotation"
    memory = _round_trip(autogram, memory)
    notes = [e for e in memory.memory_dict["model_turns"] if e["entry_type"] == "annotation"]
    assert notes == [{"entry_type": "annotation", "note": "mine"}]


@autograms_chatbot()
def chatbot_with_user_reply(user_reply=None):
    reply(f"first {user_reply}")
    reply(f"second {user_reply}")
    reply(f"third {user_reply}")


def _reply_text(result):
    data = getattr(result, "data", None) or {}
    return getattr(result, "reply", None) or data.get("reply")


def test_autograms_chatbot_root_sees_each_new_user_reply():
    autogram = Autogram(root_function=chatbot_with_user_reply, test_mode=True)
    memory = autogram.init_memory()
    with use_memory(memory):
        first = chatbot_with_user_reply(user_reply="A")
    with use_memory(memory):
        second = chatbot_with_user_reply(user_reply="B")
    assert _reply_text(first) == "first A"
    assert _reply_text(second) == "second B"


def _closed_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@autograms_function()
def embedding_bot():
    reply("hello")
    reply(str(len(get_single_embedding("x"))))


def _embedding_autogram(embedding_port):
    from autograms import AutogramConfig

    config = AutogramConfig(
        chatbot_type="proxy",
        chatbot_proxy_port=_closed_port(),
        chatbot_path="m",
        embedding_type="proxy",
        embedding_proxy_port=embedding_port,
        request_timeout=1,
        chatbot_max_tries=1,
        chatbot_wait_per_try=0,
        classifier_max_tries=1,
        classifier_wait_per_try=0,
    )
    return Autogram(root_function=embedding_bot, autogram_config=config)


def test_embedding_server_down_leaves_the_session_as_it_was():
    port = _closed_port()
    autogram = _embedding_autogram(port)
    _text, memory = autogram.reply()
    before = autogram.serialize(memory)
    with pytest.raises(Exception, match=f"localhost:{port}"):
        autogram.reply("x", memory_object=memory)
    assert autogram.serialize(memory) == before


def test_embedding_server_down_names_the_embedding_setting():
    autogram = _embedding_autogram(_closed_port())
    _text, memory = autogram.reply()
    with pytest.raises(Exception) as caught:
        autogram.reply("x", memory_object=memory)
    assert "embedding_proxy_port" in str(caught.value) or "embedding_base_url" in str(caught.value)
    assert "chatbot_proxy_port" not in str(caught.value)


FIRST_TURN_IMPORTS = """
import sys
import openai  # a bot module that uses the OpenAI SDK itself, as AutoGRAMS bots often do
from autograms import Autogram, autograms_function
from autograms.functional import reply

@autograms_function()
def chatbot():
    reply("one")
    reply("two")

autogram = Autogram(root_function=chatbot, test_mode=True)
before = set(sys.modules)
text, memory = autogram.reply()
assert text == "one"
print(len([name for name in set(sys.modules) - before if name.startswith("openai.")]))
"""


def test_first_turn_imports_no_modules_the_program_did_not_import():
    import subprocess
    import sys

    pytest.importorskip("openai")
    done = subprocess.run(
        [sys.executable, "-c", FIRST_TURN_IMPORTS],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) < 20


@autograms_function()
def write_code_bot(folder):
    # AutoGRAMS' seed agent, write_code(): the file object stays in the local 'fid'
    code = reply("what should I write?")
    with open(os.path.join(folder, "chatbot_code.py"), "w") as fid:
        fid.write(code)
    reply("written")
    reply(f"closed: {fid.closed}")


def test_a_closed_file_left_in_a_local_by_with_open_resumes(tmp_path):
    # AutoGRAMS' seed agent does this; the file is closed, so the next pause keeps it (closed).
    # An open one is refused (see below).
    autogram = Autogram(root_function=write_code_bot, test_mode=True)
    _text, memory = autogram.reply(folder=os.fspath(tmp_path))
    text, memory = autogram.reply("print(1)", memory_object=memory)
    assert text == "written"
    text, _memory = autogram.reply("ok", memory_object=_round_trip(autogram, memory))
    assert text == "closed: True"
    assert (tmp_path / "chatbot_code.py").read_text() == "print(1)"


@autograms_function()
def open_file_bot(folder):
    code = reply("what should I write?")
    fid = open(os.path.join(folder, "chatbot_code.py"), "w")  # noqa: SIM115 -- left open on purpose
    fid.write(code)
    reply("written")


def test_an_open_file_left_in_a_local_is_refused_naming_it_and_the_session_is_kept(tmp_path):
    autogram = Autogram(root_function=open_file_bot, test_mode=True)
    _text, memory = autogram.reply(folder=os.fspath(tmp_path))
    before = autogram.serialize(memory)
    with pytest.raises(Exception, match="fid") as caught:
        autogram.reply("print(1)", memory_object=memory)
    assert "open_file_bot" in str(caught.value)
    assert autogram.serialize(memory) == before
