"""Issue 16, items 3 and 5, tried as an AutoGRAMS 0.6.0 user: driving the root the way
AutoGRAMS' own Autogram.reply does, the modules the original examples import, and the smaller
helpers, each against what the original source does."""

from __future__ import annotations

import inspect
import threading

import pytest

from autograms import Autogram, AutogramConfig, autograms_function, autograms_node, use_config
import autograms.functional as F
import autograms.nodes as nodes
from tests.outside.dropin5_bots import globals_bot, other_module
from tests.outside.dropin5_support import FakeOpenAI


@autograms_function()
def loop_bot():
    n = 0
    while True:
        n += 1
        F.reply(f"r{n}", ADDRESS="loop")


def test_calling_the_root_under_autogram_use_memory_runs_a_turn_as_autograms_reply_does():
    autogram = Autogram(root_function=loop_bot, test_mode=True)
    _, memory = autogram.reply()
    memory.add_user_reply("hello")
    with autogram.use_memory(memory):
        result = loop_bot()
    assert result.data == {"reply": "r2"}


def test_calling_the_root_under_memory_use_memory_runs_a_turn():
    from autograms.memory import use_memory

    autogram = Autogram(root_function=loop_bot, test_mode=True)
    _, memory = autogram.reply()
    memory.add_user_reply("hello")
    with use_memory(memory):
        result = loop_bot()
    assert result.data == {"reply": "r2"}
    assert [t["content"] for t in result.memory.extract_full_conv_history()] == [
        "",  # the opening message, listed as AutoGRAMS lists it (since session 9)
        "r1",
        "hello",
        "r2",
    ]


def test_reply_processor_runs_one_turn_with_its_message():
    from autograms.processors import ReplyProcessor

    autogram = Autogram(root_function=loop_bot, test_mode=True)
    _, memory = autogram.reply()
    with autogram.use_memory(memory):
        text, new_memory = ReplyProcessor(loop_bot, "from-processor")()
    assert text == "r2"
    assert [t["content"] for t in new_memory.extract_full_conv_history()] == [
        "",  # the opening message, listed as AutoGRAMS lists it (since session 9)
        "r1",
        "from-processor",
        "r2",
    ]


def test_initialize_with_defaults_json_gives_an_empty_list_for_an_array_field():
    schema = {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}},
            "count": {"type": "integer"},
        },
    }
    defaults = F.initialize_with_defaults_json(schema)
    assert defaults["count"] == 0
    assert defaults["tags"] == []


def test_initialize_with_defaults_json_reads_the_response_format_wrapper_as_autograms_does():
    assert F.initialize_with_defaults_json(F.make_decision_schema_json(["a", "b"])) == {
        "answer": "a"
    }


def test_faiss_available_is_a_bool_as_in_autograms():
    from autograms.agent_modules import vector_stores

    assert isinstance(vector_stores.faiss_available, bool)


@pytest.mark.parametrize(
    "method,kwargs",
    [
        ("add_texts", {"docs": ["a"], "init_after_add": False}),
        ("similarity_search_vector", {"query_embedding": [0.0, 0.0], "k": 1}),
    ],
    ids=["add_texts", "similarity_search_vector"],
)
def test_faiss_index_methods_take_autograms_keyword_arguments(method, kwargs):
    from autograms.agent_modules.vector_stores import FAISSIndex

    inspect.signature(getattr(FAISSIndex, method)).bind(object(), **kwargs)


def test_numpy_index_returns_the_exact_euclidean_nearest_texts_from_the_embeddings_server():
    from autograms.agent_modules.vector_stores import AutoIndex, NumpyIndex

    docs = ["a:0,0", "b:1,0", "c:0,2", {"text": "d:3,3", "metadata": {"k": 1}}]
    with FakeOpenAI() as fake:
        config = AutogramConfig(
            chatbot_type="proxy", base_url=fake.url, embedding_base_url=fake.url
        )
        with use_config(config):
            index = AutoIndex.from_texts(docs, index_library="numpy")
            assert isinstance(index, NumpyIndex)
            found = index.similarity_search("q:0.9,0.1", k=2)
            assert [r["text"] for r in found] == ["b:1,0", "a:0,0"]
            assert abs(float(found[0]["distance"]) - 0.02**0.5) < 1e-6
            assert index.similarity_search("q:3,2.9", k=1)[0]["metadata"] == {"k": 1}
            assert len(index.similarity_search("q:0,0", k=10)) == 4
            with pytest.raises(ValueError, match="text"):
                NumpyIndex.from_texts([5])


def test_embedding_helpers_take_default_size_in_test_mode():
    with use_config(AutogramConfig(), test_mode=True):
        assert len(F.get_single_embedding("x", default_size=8)) == 8
        assert [len(v) for v in F.get_batch_embeddings(["a", "b"], default_size=5)] == [5, 5]
        assert F.get_batch_embeddings([]) == []


def _plain_helper_thought():
    return F.thought("plain helper")


@autograms_node
def node_thought(x, ADDRESS=None):
    return F.thought("in node")


@autograms_function()
def sub_thought():
    return nodes.thought("nodes thought")


@autograms_function()
def logging_bot():
    F.reply("start", ADDRESS="top")
    _plain_helper_thought()
    node_thought(1, ADDRESS="n1")
    sub_thought()
    F.decision_chain("x", [{"question": "q", "choices": ["a", "b"]}])
    F.generate_fixed_list_obj("x", 2)
    nodes.reply_instruction("ri", ADDRESS="ri")


def test_the_log_names_the_bot_function_and_line_that_called_each_helper_after_a_round_trip():
    autogram = Autogram(root_function=logging_bot, test_mode=True)
    _, memory = autogram.reply()
    _, memory = autogram.reply("u", memory_object=memory)
    memory = autogram.deserialize(autogram.serialize(memory))
    positions = [
        (e["code_position"]["function_name"], e["code_position"]["line_number"])
        for e in memory.memory_dict["model_turns"]
        if e["entry_type"] == "model"
    ]
    src = inspect.getsource(inspect.getmodule(logging_bot)).splitlines()

    def line_of(text):
        return next(i + 1 for i, line in enumerate(src) if text in line)

    # AutoGRAMS logs the innermost @autograms_function and its line: a plain helper's and a
    # node's calls are logged at the bot line that called them
    assert positions == [
        ("logging_bot", line_of("    _plain_helper_thought()")),
        ("logging_bot", line_of('node_thought(1, ADDRESS="n1")')),
        ("sub_thought", line_of('nodes.thought("nodes thought")')),
        ("logging_bot", line_of("F.decision_chain(")),
        ("logging_bot", line_of("F.generate_fixed_list_obj(")),
        ("logging_bot", line_of('nodes.reply_instruction("ri"')),
    ]
    replies = [
        (e["function_name"], e["line_number"])
        for e in memory.memory_dict["model_turns"]
        if e["entry_type"] == "agent_reply"
    ]
    assert replies == [
        ("logging_bot", line_of('F.reply("start"')),
        ("logging_bot", line_of('nodes.reply_instruction("ri"')),
    ]


def test_persistent_globals_changed_by_plain_helpers_belong_to_each_session():
    autogram = Autogram(root_function=globals_bot.chatbot, test_mode=True)
    _, first = autogram.reply()
    _, second = autogram.reply()
    for msg in ["bump", "bump", "g", "name Ada"]:
        _, first = autogram.reply(msg, memory_object=first)
        first = autogram.deserialize(autogram.serialize(first))
    text, first = autogram.reply("read", memory_object=first)
    assert text == "read_name=Ada"
    text, second = autogram.reply("bump", memory_object=second)
    assert text == "c=1 items=[1] name=nobody n=0"
    assert autogram.apply(memory_object=first, func=other_module.add_hundred) == 102
    text, first = autogram.reply("x", memory_object=first)
    assert text == "c=102 items=[1, 2] name=Ada n=1"
    assert (globals_bot.counter, globals_bot.items, globals_bot.name) == (0, [], "nobody")


def test_persistent_globals_of_sessions_in_threads_do_not_mix():
    autogram = Autogram(root_function=globals_bot.chatbot, test_mode=True)
    final, errors = {}, []

    def worker(k):
        try:
            _, memory = autogram.reply()
            for i in range(k + 3):
                _, memory = autogram.reply("bump", memory_object=memory)
                if i % 2:
                    memory = autogram.deserialize(autogram.serialize(memory))
                text, memory = autogram.reply("g", memory_object=memory)
            final[k] = text
        except Exception as exc:  # reported below
            errors.append((k, repr(exc)))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    for k in range(6):
        n = k + 3
        assert final[k] == f"c={n} items={list(range(1, n + 1))} name=nobody n={n}"
    assert globals_bot.counter == 0 and globals_bot.items == []


def test_program_control_exports_the_autograms_return_type_that_apply_gives():
    import autograms.program_control as program_control

    autogram = Autogram(root_function=loop_bot, test_mode=True)
    _, memory = autogram.reply()
    result = autogram.apply(user_reply="u", memory_object=memory)
    assert isinstance(result, program_control.AutogramsReturn)


@autograms_function()
def data_bot():
    while True:
        F.reply("first", data={"k": 1, "items": [1, 2]})


def test_reply_data_of_the_last_reply_survives_a_round_trip(tmp_path):
    autogram = Autogram(root_function=data_bot, test_mode=True)
    _, memory = autogram.reply()
    assert memory.reply_data == {"k": 1, "items": [1, 2]}
    again = autogram.deserialize(autogram.serialize(memory))
    autogram.save(tmp_path / "s.session", memory)
    loaded = autogram.load(tmp_path / "s.session")
    assert (again.reply_data, loaded.reply_data) == ({"k": 1, "items": [1, 2]},) * 2


def _parallel_thought(x):
    if x == 2:
        raise KeyError("run 2 failed")
    return F.thought(f"run {x}")


PARALLEL = {}


@autograms_function()
def parallel_bot():
    F.reply("start")
    try:
        PARALLEL["result"] = F.parallel_wrapper(_parallel_thought, [{"x": 1}, {"x": 2}, {"x": 3}])
    except KeyError as exc:
        PARALLEL["result"] = exc
    F.reply("end")


def test_model_calls_of_parallel_runs_are_logged_even_when_another_run_raises():
    autogram = Autogram(root_function=parallel_bot, test_mode=True)
    _, memory = autogram.reply()
    text, memory = autogram.reply("go", memory_object=memory)
    assert text == "end" and isinstance(PARALLEL["result"], KeyError)
    memory = autogram.deserialize(autogram.serialize(memory))
    logged = [
        e["function_inputs"]
        for e in memory.memory_dict["model_turns"]
        if e["entry_type"] == "model"
    ]
    assert len(logged) == 2, logged
