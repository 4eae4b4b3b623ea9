"""Generation helpers against the fake server: replies, generate_*, chains, embeddings, code."""

from __future__ import annotations

import json

import pydantic
import pytest

from autograms import _code, _generation
from autograms._prompts import Conversation
from autograms.models import OpenAICompatModel
from autograms.models.tokens import count_messages, counter_for_model

from .conftest import config_for


class Job(pydantic.BaseModel):
    title: str
    remote: bool


@pytest.fixture
def setup(server):
    config = config_for(server)
    return server, config, OpenAICompatModel(config)


def schema_of(server, index=-1):
    return server.chat_requests()[index]["response_format"]["json_schema"]["schema"]


def test_chat_reply_sends_the_conversation_and_tidies_the_answer(setup, conversation):
    server, config, model = setup
    server.script("  Agent: Great, let's begin.  ")
    result = _generation.chat_reply(model, config, conversation, "ask about experience")
    assert result.value == "Great, let's begin."
    assert result.text == "  Agent: Great, let's begin.  "
    messages = server.chat_requests()[0]["messages"]
    assert messages[0] == {"role": "system", "content": "You are a recruiter."}
    assert messages[-1]["content"] == "User: yes, I'm ready\n\nINSTRUCTION: ask about experience"


def test_post_processing_can_be_switched_off(server, conversation):
    config = config_for(server, post_process_response=False)
    server.script(" Agent: raw ")
    assert (
        _generation.chat_reply(OpenAICompatModel(config), config, conversation, "x").value
        == " Agent: raw "
    )


def test_a_banned_phrase_makes_the_reply_generate_once_more(server, conversation):
    config = config_for(server, banned_phrases="default")
    server.script("As a language model I cannot", "Sure, tell me more.")
    result = _generation.chat_reply(OpenAICompatModel(config), config, conversation, "x")
    assert result.value == "Sure, tell me more." and len(result.calls) == 2


def test_local_thought_has_no_history_and_sends_the_instruction_as_written(setup):
    server, config, model = setup
    result = _generation.local_thought(model, config, "summarize", system_prompt="Be brief.")
    assert server.chat_requests()[0]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "summarize"},  # as AutoGRAMS: no INSTRUCTION label
    ]
    assert result.value.startswith("fake reply #2")


def test_reply_with_suffix_ends_with_the_exact_text(setup, conversation):
    server, config, model = setup
    server.script("Thanks for sharing! **What is your expected salary?**")
    result = _generation.reply_with_suffix(
        model, config, conversation, "What is your expected salary range?"
    )
    assert result.value == "Thanks for sharing! What is your expected salary range?"
    assert (
        "What is your expected salary range?"
        in server.chat_requests()[0]["messages"][-1]["content"]
    )


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("Great.", "Next question?"),  # no trace of the suffix: the suffix alone
        ("", "Next question?"),
        ("Great. NEXT QUESTION?", "Next question?"),  # case-sensitive, as in AutoGRAMS
        ("Great. next question?", "Great. next question?"),  # "ext qu" is shared
        ("Great. **Next question?**", "Great. Next question?"),
        ("Great. Next quest", "Great. Next question?"),  # completed
        ("Next question? is what I asked. Fine.", "Next question?"),  # cut at the suffix
        ("Agent: Great. Next question?", "Great. Next question?"),  # label dropped
    ],
)
def test_splice_suffix(response, expected):
    assert _generation.splice_suffix(response, "Next question?") == expected


def test_reply_suffix_instruction_template_comes_from_the_config(server, conversation):
    config = config_for(server, reply_suffix_inst_conversion="Lead into: <instruction>")
    _generation.reply_with_suffix(OpenAICompatModel(config), config, conversation, "Bye!")
    assert server.chat_requests()[0]["messages"][-1]["content"].endswith("Lead into: Bye!")


def test_call_llm_returns_the_whole_text_and_cuts_long_prompts(server):
    config = config_for(server, chatbot_max_input_len=60)
    prompt = "start " + "filler " * 500 + "the end"
    result = _generation.call_llm(OpenAICompatModel(config), config, prompt)
    assert len(result.value) > 1  # AutoGRAMS returned only the first character
    sent = server.chat_requests()[0]["messages"]
    assert sent[0]["content"].endswith("the end") and not sent[0]["content"].startswith("start")
    assert count_messages(sent, counter_for_model("fake")) <= 60
    with pytest.raises(ValueError, match="call_type 'completion'"):
        _generation.call_llm(OpenAICompatModel(config), config, "x", call_type="completion")


def test_chat_prompts_are_truncated_to_the_configured_budget(server):
    config = config_for(server, chatbot_max_input_len=150)
    turns = []
    for i in range(30):
        turns += [
            {"role": "agent", "content": f"question {i} " * 10},
            {"role": "user", "content": f"answer {i}"},
        ]
    _generation.chat_reply(OpenAICompatModel(config), config, Conversation("sys", turns), "go")
    sent = server.chat_requests()[0]["messages"]
    assert count_messages(sent, counter_for_model("fake")) <= 150
    assert sent[-1]["content"] == "User: answer 29\n\nINSTRUCTION: go"
    assert sent[0] == {"role": "system", "content": "sys"}
    assert len(sent) < 2 * len(turns)


def test_complete_messages_sends_raw_messages(setup):
    server, config, model = setup
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    _generation.complete_messages(model, config, messages, temperature=0.3)
    body = server.chat_requests()[0]
    assert body["messages"] == messages and body["temperature"] == 0.3


def test_generate_list(setup, conversation):
    server, config, model = setup
    server.script('{"data": ["Python", "SQL"]}')
    assert _generation.generate_list(model, config, conversation, "skills?").value == [
        "Python",
        "SQL",
    ]
    assert schema_of(server)["properties"]["data"] == {
        "type": "array",
        "items": {"type": "string"},
        "additionalItems": False,
    }


def test_generate_fixed_list_and_dict(setup, conversation):
    server, config, model = setup
    server.script('{"item1": "a", "item2": "b", "item3": "c"}', '{"name": "Ana", "city": "Oslo"}')
    assert _generation.generate_fixed_list(model, config, conversation, "x", 3).value == [
        "a",
        "b",
        "c",
    ]
    assert _generation.generate_fixed_dict(
        model, config, conversation, "x", ["name", "city"]
    ).value == {"name": "Ana", "city": "Oslo"}
    assert schema_of(server)["required"] == ["name", "city"]


def test_generate_list_of_dicts_and_of_choices(setup, conversation):
    server, config, model = setup
    server.script('{"data": [{"q": "1", "a": "2"}]}', '{"data": ["red", "red", "blue"]}')
    assert _generation.generate_list_of_dicts(
        model, config, conversation, "x", ["q", "a"]
    ).value == [{"q": "1", "a": "2"}]
    assert _generation.generate_list_of_choices(
        model, config, conversation, "x", ["red", "blue"]
    ).value == ["red", "red", "blue"]
    assert schema_of(server)["properties"]["data"]["items"]["enum"] == ["red", "blue"]


def test_generated_values_outside_the_schema_are_repaired(setup, conversation):
    server, config, model = setup
    server.script('{"data": ["green"]}', '{"data": ["blue"]}')
    result = _generation.generate_list_of_choices(model, config, conversation, "x", ["red", "blue"])
    assert result.value == ["blue"] and len(result.calls) == 2


def test_generate_object_with_a_pydantic_model(setup, conversation):
    server, config, model = setup
    server.script('{"title": "Chemist", "remote": false}')
    result = _generation.generate_object(model, config, conversation, "extract", Job)
    assert result.value == Job(title="Chemist", remote=False)
    assert result.calls[0].kind == "structured" and result.calls[0].output_mode == "json_schema"
    assert server.chat_requests()[0]["response_format"]["json_schema"]["name"] == "Job"
    assert "max_tokens" not in server.chat_requests()[0]


def test_generate_object_with_a_response_format_dict(setup, conversation):
    server, config, model = setup
    structure = {
        "type": "json_schema",
        "json_schema": {
            "name": "answer",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {"n": {"type": "integer"}},
                "required": ["n"],
                "additionalProperties": False,
            },
        },
    }
    server.script('{"n": 4}')
    result = _generation.generate_object(model, config, conversation, "count", structure)
    assert result.value == {"n": 4} and json.loads(result.text) == {"n": 4}


def test_thought_chain_keys_each_answer_by_its_prompt(setup, conversation):
    """As AutoGRAMS: the schema's keys are the prompts (on one line, double quotes made
    single), the instruction goes as it is; answers are read by key, in the chain's order."""
    server, config, model = setup
    server.script('{"So \'what\'?": "a conclusion", "What do we know?": "a fact"}')
    result = _generation.thought_chain(
        model, config, conversation, "Think.", ["What do we know?", 'So\n"what"?']
    )
    assert result.value == ["a fact", "a conclusion"]
    prompt = server.chat_requests()[0]["messages"][-1]["content"]
    assert "INSTRUCTION: Think.\nYour output must adhere" in prompt  # (not an OpenAI server)
    assert list(schema_of(server)["properties"]) == ["What do we know?", "So 'what'?"]
    assert server.chat_requests()[0]["response_format"]["json_schema"]["name"] == (
        "questionnaire_schema"
    )


def test_decision_chain_maps_labels_back_to_choices(setup, conversation):
    server, config, model = setup
    mood = "INSTRUCTION: Mood?  A. happy B. sad "
    next_step = "INSTRUCTION: Next?   (Yes or No)?"
    server.script(json.dumps({mood: "B", next_step: "No"}))
    chain = [
        {"question": "Mood?", "choices": ["happy", "sad"]},
        {"question": "Next?", "choices": ["no", "yes"]},
    ]
    result = _generation.decision_chain(model, config, conversation, "Decide.", chain)
    assert result.value == ["sad", "no"]
    assert chain[0] == {"question": "Mood?", "choices": ["happy", "sad"]}  # not mutated
    properties = schema_of(server)["properties"]
    assert properties[mood]["enum"] == ["A", "B"]
    assert properties[next_step]["enum"] == ["No", "Yes"]  # the choices' order, as AutoGRAMS
    with pytest.raises(ValueError, match="has no choices"):
        _generation.decision_chain(model, config, conversation, "x", [{"question": "q"}])


def test_a_chain_repeating_a_prompt_is_refused_before_any_call(setup, conversation):
    server, config, model = setup
    with pytest.raises(ValueError, match="item 3 repeats an earlier item's prompt 'a b'"):
        _generation.thought_chain(model, config, conversation, "x", ["a b", "c", "a\nb"])
    assert server.chat_requests() == []


def test_mixed_thought_decision_chain(setup, conversation):
    server, config, model = setup
    server.script('{"Summarize.": "they are ready", "INSTRUCTION: Go on?   (Yes or No)?": "Yes"}')
    result = _generation.thought_decision_chain(
        model,
        config,
        conversation,
        "",
        ["Summarize.", {"question": "Go on?", "choices": ["yes", "no"]}],
    )
    assert result.value == ["they are ready", "yes"]


def test_unknown_keywords_are_refused(setup, conversation):
    _, config, model = setup
    with pytest.raises(TypeError, match="chat_reply\\(\\) got an unexpected keyword argument"):
        _generation.chat_reply(model, config, conversation, "x", article="...")
    with pytest.raises(TypeError, match="'dims'"):
        _generation.embed_texts(model, config, ["x"], dims=3)


def test_extract_code_of_one_language_with_nesting():
    text = (
        "Here:\n```python\nprint('a')\n```\ntext\n```js\nalert(1)\n```\n"
        "```python\ndoc = '''\n```markdown\n# t\n```\n'''\n```\n"
        "```python\nunclosed = True\n"
    )
    assert _code.extract_code(text, merge_blocks=False) == [
        "print('a')\n",
        "doc = '''\n```markdown\n# t\n```\n'''\n",
    ]
    assert _code.extract_code(text) == "print('a')\n\ndoc = '''\n```markdown\n# t\n```\n'''\n"
    assert _code.extract_code(text, "js") == "alert(1)\n"
    assert _code.extract_code("no code") == ""
