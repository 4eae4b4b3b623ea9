"""Schema specs, tolerant JSON parsing, validation, and the one repair retry."""

from __future__ import annotations

import random

import pydantic
import pytest

from autograms.models import ScriptedModel, StructuredOutputError
from autograms.models.records import ChatRequest
from autograms.models.structured import (
    parse_json,
    request_structured,
    sample_instance,
    schema_errors,
    spec_from_structure,
    strict_schema,
    validate,
)


class Person(pydantic.BaseModel):
    name: str
    years: int
    skills: list[str] = []


PERSON_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name"],
}


def test_spec_from_a_pydantic_model_is_strict_and_validates_into_the_model():
    spec = spec_from_structure(Person)
    assert spec.name == "Person" and spec.strict
    assert spec.schema["required"] == ["name", "years", "skills"]
    assert spec.schema["additionalProperties"] is False
    assert "default" not in spec.schema["properties"]["skills"]
    person = validate('{"name": "Ana", "years": 5, "skills": ["SQL"]}', spec)
    assert person == Person(name="Ana", years=5, skills=["SQL"])


def test_spec_from_an_openai_response_format_dict():
    structure = {
        "type": "json_schema",
        "json_schema": {"name": "person info", "schema": PERSON_SCHEMA, "strict": False},
    }
    spec = spec_from_structure(structure)
    assert spec.name == "person_info" and not spec.strict


def test_strict_schemas_are_sent_but_answers_checked_against_the_original():
    spec = spec_from_structure(PERSON_SCHEMA)
    assert spec.strict and spec.schema["required"] == ["name", "age"]
    assert validate('{"name": "Ana"}', spec) == {"name": "Ana"}  # age is optional
    loose = spec_from_structure({"name": "p", "schema": PERSON_SCHEMA, "strict": False})
    assert not loose.strict and loose.schema == PERSON_SCHEMA


def test_spec_from_a_bare_schema_and_refusal_of_other_things():
    assert spec_from_structure(PERSON_SCHEMA).name == "output"
    assert spec_from_structure({"type": "array", "items": {}}).strict is False
    with pytest.raises(TypeError, match="pydantic model class or a JSON schema"):
        spec_from_structure(42)


def test_strict_schema_requires_every_property_recursively_without_touching_the_input():
    schema = {
        "type": "object",
        "properties": {
            "inner": {"type": "object", "properties": {"a": {"type": "string", "default": "x"}}},
            "list": {"type": "array", "items": {"$ref": "#/$defs/Item"}},
        },
        "$defs": {"Item": {"type": "object", "properties": {"b": {"type": "integer"}}}},
    }
    strict = strict_schema(schema)
    assert strict["properties"]["inner"]["required"] == ["a"]
    assert "default" not in strict["properties"]["inner"]["properties"]["a"]
    assert strict["$defs"]["Item"]["additionalProperties"] is False
    assert "required" not in schema["properties"]["inner"]


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        '  {"a": 1}\n',
        '```json\n{"a": 1}\n```',
        'Sure! Here it is: {"a": 1} Done.',
        'Answer:\n```\n{"a": 1}\n```',
    ],
)
def test_parse_json_tolerates_fences_and_prose(text):
    assert parse_json(text) == {"a": 1}


def test_parse_json_refuses_text_without_json():
    with pytest.raises(ValueError, match="no JSON value"):
        parse_json("I cannot answer that")


def test_schema_errors_name_the_path():
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["data"],
        "properties": {"data": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 2}},
    }
    assert schema_errors({"data": ["a", "b"]}, schema) == []
    assert schema_errors({"data": ["a", "c"]}, schema) == [
        "$.data[1]: 'c' is not one of ['a', 'b']"
    ]
    assert schema_errors({}, schema) == ["$: missing property 'data'"]
    assert schema_errors({"data": [], "x": 1}, schema) == ["$: unexpected property 'x'"]
    assert schema_errors({"data": ["a"] * 3}, schema) == ["$.data: more than 2 items"]
    assert schema_errors({"data": "a"}, schema) == ["$.data: expected array, got str"]


def test_schema_types_follow_json_rules():
    assert schema_errors(True, {"type": "integer"}) == ["$: expected integer, got bool"]
    assert schema_errors(3.0, {"type": "integer"}) == []
    assert schema_errors(None, {"type": ["string", "null"]}) == []
    assert schema_errors(5, {"anyOf": [{"type": "string"}, {"type": "null"}]}) == [
        "$: matches none of the allowed shapes"
    ]


def test_invalid_answers_get_one_repair_request():
    answers = iter(['{"name": "Ana"}', '{"name": "Ana", "years": 3, "skills": []}'])
    seen = []

    def handler(request):
        seen.append(request.messages)
        return next(answers)

    spec = spec_from_structure(Person)
    result = request_structured(
        ScriptedModel(handler),
        ChatRequest([{"role": "user", "content": "who?"}], kind="structured", output=spec),
    )
    assert result.value == Person(name="Ana", years=3)
    assert len(result.calls) == 2
    repair = seen[1]
    assert repair[-2] == {"role": "assistant", "content": '{"name": "Ana"}'}
    assert "years" in repair[-1]["content"] and "not valid" in repair[-1]["content"]


def test_a_second_invalid_answer_raises_with_the_calls_made():
    spec = spec_from_structure(PERSON_SCHEMA)
    with pytest.raises(StructuredOutputError) as info:
        request_structured(
            ScriptedModel(lambda request: "no json here"),
            ChatRequest([{"role": "user", "content": "x"}], output=spec),
        )
    error = info.value
    assert error.schema_name == "output" and error.output == "no json here"
    assert len(error.calls) == 2 and "no JSON value" in error.reason


def test_sampled_instances_match_their_schema():
    schema = spec_from_structure(Person).schema
    rng = random.Random(1)
    for _ in range(20):
        assert schema_errors(sample_instance(schema, rng), schema) == []
