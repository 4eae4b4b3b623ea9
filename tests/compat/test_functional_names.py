"""The names of AutoGRAMS' ``functional`` module beyond the everyday helpers: turn-list model
calls, schema utilities, code extraction and execution, parallel runs, code positions."""

from __future__ import annotations

import json
import sys
import threading

import pytest
from pydantic import BaseModel

from autograms import Autogram, AutogramConfig, ConversationError, autograms_function, use_config
from autograms.functional import (
    call_classifier,
    call_model,
    call_object_model,
    completions_classifier,
    completions_logits,
    convert_openai_json_schema,
    execute_code,
    extract_code,
    extract_code_legacy,
    generate_fixed_dict_obj,
    generate_fixed_list_obj,
    generate_json_schema,
    generate_list_obj,
    get_code_position,
    get_turn_history,
    initialize_value,
    initialize_with_defaults,
    initialize_with_defaults_json,
    make_decision_regex,
    make_decision_schema_json,
    parallel_wrapper,
    process_task,
    reply,
    thought,
)
from autograms.memory import get_memory
from tests.fakes.openai_server import FakeOpenAIServer


class Contact(BaseModel):
    name: str
    age: int
    tags: list[str]


def server_config(server: FakeOpenAIServer, **overrides: object) -> AutogramConfig:
    settings = dict(
        chatbot_type="proxy",
        base_url=server.base_url,
        chatbot_path="fake",
        chatbot_wait_per_try=0,
        request_timeout=10,
    )
    settings.update(overrides)
    return AutogramConfig(**settings)


@autograms_function()
def turn_list_bot():
    reply("Hello! What is your name?")
    inputs, outputs, system_prompt = get_turn_history("Greet the user by name.")
    text, ok = call_model(inputs, outputs, system_prompt, system_prompt_in_turns=True)
    answer, decided = call_classifier(inputs, outputs, ["Ada", "Bob"], system_prompt)
    contact = call_object_model(inputs, outputs, system_prompt, obj_structure=Contact)
    reply(json.dumps([text, ok, answer, decided, contact.name]))


def test_turn_list_calls_send_the_history_get_turn_history_returns(
    server: FakeOpenAIServer,
) -> None:
    server.script("Hi Ada!", '{"answer": "Ada"}', '{"name": "Ada", "age": 36, "tags": []}')
    autogram = Autogram(turn_list_bot, server_config(server))
    _, memory = autogram.reply()
    text, _ = autogram.reply("I am Ada", memory_object=memory)
    assert json.loads(text) == ["Hi Ada!", True, "Ada", True, "Ada"]
    model_call, classifier, structured = server.chat_requests()
    assert model_call["messages"][0]["role"] == "user"  # system prompt folded into the turns
    assert model_call["messages"][-1]["content"].endswith("INSTRUCTION: Greet the user by name.")
    assert model_call["messages"][-2] == {
        "role": "assistant",
        "content": "Hello! What is your name?",
    }
    assert classifier["messages"][0] == {"role": "system", "content": "You are an agent."}
    enum = classifier["response_format"]["json_schema"]["schema"]["properties"]["answer"]["enum"]
    assert enum == ["Ada", "Bob"]
    assert structured["response_format"]["json_schema"]["name"] == "Contact"


def test_call_classifier_reports_failure_with_the_first_choice(server: FakeOpenAIServer) -> None:
    server.script('{"answer": "Zed"}', '{"answer": "Zed"}')
    with use_config(server_config(server)) as memory:
        assert call_classifier(["Who?"], [], ["Ada", "Bob"]) == ("Ada", False)
    assert len([e for e in memory.model_turns if e["entry_type"] == "model"]) == 2


def test_call_classifier_takes_autograms_0_5_form_with_a_question_text(
    server: FakeOpenAIServer,
) -> None:
    server.script('{"answer": "No"}')
    with use_config(server_config(server)):
        assert call_classifier("Is the sky green?", ["Yes", "No"], "Be careful.") == ("No", True)
    messages = server.chat_requests()[0]["messages"]
    assert messages == [
        {"role": "system", "content": "Be careful."},
        {"role": "user", "content": "Is the sky green?"},
    ]


def test_raw_prompt_classifiers_choose_among_the_allowed_tokens() -> None:
    with use_config(test_mode=True):
        assert completions_classifier(["yes", "no"], prompt="Is water wet?") in ("yes", "no")
        logits = completions_logits(["yes", "no"], messages=[{"role": "user", "content": "?"}])
    assert len(logits) == 2 and all(value <= 0 for value in logits)


def test_schema_utilities() -> None:
    schema = make_decision_schema_json(["a", "b"], name="pick")
    assert schema["json_schema"]["name"] == "pick" and schema["json_schema"]["strict"] is True
    assert schema["json_schema"]["schema"]["properties"]["answer"]["enum"] == ["a", "b"]
    assert convert_openai_json_schema(schema) == {
        "type": "json",
        "value": schema["json_schema"]["schema"],
    }
    assert make_decision_regex(["a.b", "c"]) == {"type": "regex", "value": "(a\\.b|c)"}
    generated = generate_json_schema([("Tea?", ["yes", "no"])])
    assert generated["required"] == ["Tea?"]
    assert generated["properties"]["Tea?"]["enum"] == ["yes", "no"]
    nested = {
        "type": "object",
        "properties": {
            "s": {"type": "string"},
            "n": {"type": "number"},
            "e": {"type": "string", "enum": ["x", "y"]},
            "o": {"type": "object", "properties": {"b": {"type": "boolean"}}},
        },
    }
    assert initialize_with_defaults_json(nested) == {"s": "", "n": 0.0, "e": "x", "o": {"b": False}}
    assert initialize_with_defaults_json(schema) == {"answer": "a"}
    contact = initialize_with_defaults(Contact)
    assert (contact.name, contact.age, contact.tags) == ("", 0, [])
    assert [initialize_value(t) for t in (str, int, float, bool, list[int], dict)] == [
        "",
        0,
        0.0,
        False,
        [],
        None,
    ]


def test_code_extraction_and_execution(tmp_path) -> None:
    answer = (
        "Here:\n```python\nprint(6 * 7)\n```\nand\n```python\nimport sys\nsys.exit('bad')\n```\n"
    )
    blocks = extract_code_legacy(answer, merge_blocks=False)
    assert blocks == extract_code(answer, merge_blocks=False) and len(blocks) == 2
    assert execute_code(blocks[0], command=sys.executable) == ("42\n", True)
    output, ok = execute_code(blocks[1], command=f"{sys.executable} -I")
    assert (output.strip(), ok) == ("bad", False)
    output, ok = execute_code("import time; time.sleep(5)", command=sys.executable, timeout=0.5)
    assert not ok and "timed out" in output
    output, ok = execute_code("print(1)", command="no-such-sandbox-program python3")
    assert not ok and "no-such-sandbox-program" in output


def test_pydantic_variants_return_what_the_plain_generators_return() -> None:
    with use_config(test_mode=True):
        assert all(isinstance(item, str) for item in generate_list_obj("List."))
        assert len(generate_fixed_list_obj("Three.", 3)) == 3
        assert set(generate_fixed_dict_obj("Two.", ["a", "b"])) == {"a", "b"}


def whose_memory(tag: str) -> tuple[str, int, str]:
    memory = get_memory()
    memory.memory_dict["tag"] = tag
    answer = thought(f"Think about {tag}.")
    return tag, threading.get_ident(), answer


@autograms_function()
def fan_out_bot():
    reply("Start?")
    results = parallel_wrapper(whose_memory, [{"tag": "a"}, {"tag": "b"}, {"tag": "c"}])
    reply(
        json.dumps(
            [[tag, answer] for tag, _, answer in results] + [get_memory().memory_dict.get("tag")]
        )
    )


def test_parallel_runs_each_get_a_copy_of_the_session() -> None:
    autogram = Autogram(fan_out_bot, test_mode=True)
    _, memory = autogram.reply()
    text, memory = autogram.reply("go", memory_object=memory)
    *results, own_tag = json.loads(text)
    assert [tag for tag, _ in results] == ["a", "b", "c"]
    assert all(answer.startswith("[scripted reply") for _, answer in results)
    assert own_tag is None  # the runs' changes stay in their copies


def replying_task() -> None:
    reply("cannot pause here")


def test_a_parallel_run_may_not_pause() -> None:
    with use_config(test_mode=True) as memory, pytest.raises(ConversationError):
        parallel_wrapper(replying_task, [{}])
    with pytest.raises(ValueError, match="one memory per run"):
        parallel_wrapper(whose_memory, [{"tag": "a"}], mem_list=[memory, memory])
    assert process_task(dict, {"a": 1}) == {"a": 1}


@autograms_function()
def position_bot():
    reply(json.dumps(get_code_position()))


def test_code_position_names_the_bot_function() -> None:
    text, _ = Autogram(position_bot, test_mode=True).reply()
    position = json.loads(text)
    assert position["function_name"] == "position_bot"
    assert position["file_name"] == __file__ and position["line_number"] > 0
