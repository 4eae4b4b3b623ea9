"""JSON-schema utilities of AutoGRAMS' ``functional`` module: decision schemas in the forms
OpenAI and Hugging Face TGI accept, and default values for a schema or a pydantic model.

The helpers build their own schemas (see `_generation` and `_decisions`); these are for
programs that call a server or `generate_object` with a schema of their own. Pure functions.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def make_decision_schema_json(
    choices: Sequence[str], name: str = "decision_schema"
) -> dict[str, Any]:
    """An OpenAI ``response_format`` (strict json_schema) for ``{"answer": one of choices}``."""
    return {
        "type": "json_schema",
        "json_schema": {
            "name": name,
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {"answer": {"type": "string", "enum": list(choices)}},
                "required": ["answer"],
                "additionalProperties": False,
            },
        },
    }


def make_decision_regex(choices: Sequence[str]) -> dict[str, str]:
    """A TGI grammar (``{"type": "regex", "value": ...}``) matching exactly one of `choices`."""
    return {"type": "regex", "value": "(" + "|".join(re.escape(c) for c in choices) + ")"}


def convert_openai_json_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The TGI grammar (``{"type": "json", "value": schema}``) of an OpenAI json_schema
    ``response_format``."""
    return {"type": "json", "value": schema["json_schema"]["schema"]}


def generate_json_schema(
    questions_with_answers: Iterable[tuple[str, Sequence[str]]],
) -> dict[str, Any]:
    """An object schema with one required property per question, whose value must be one
    of that question's answers."""
    properties = {
        question: {"type": "string", "enum": list(answers), "description": "one of the options"}
        for question, answers in questions_with_answers
    }
    return {"type": "object", "properties": properties, "required": list(properties)}


def initialize_with_defaults_json(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A value for each property of an object schema (or of an OpenAI ``response_format``'s
    schema): the first enum value, "" for strings, 0, 0.0, False, [] and None, nested
    objects filled the same way."""
    if "json_schema" in schema:
        schema = schema["json_schema"]["schema"]
    return {name: _default_json(prop) for name, prop in schema.get("properties", {}).items()}


def _default_json(prop: Mapping[str, Any]) -> Any:
    if "enum" in prop:
        return prop["enum"][0]
    kind = prop.get("type")
    if kind == "object":
        return initialize_with_defaults_json(prop)
    if kind == "array":
        return []  # a new list each time: callers fill it in
    return _JSON_DEFAULTS.get(kind) if isinstance(kind, str) else None


_JSON_DEFAULTS: dict[str, Any] = {"string": "", "integer": 0, "number": 0.0, "boolean": False}


def initialize_with_defaults(model_class: Any) -> Any:
    """An instance of a pydantic model class with a default for every field (see
    `initialize_value`), made without validation."""
    values = {name: initialize_value(field.annotation) for name, field in _fields(model_class)}
    return model_class.model_construct(**values)


def initialize_value(value_type: Any) -> Any:
    """A default value of a type: "", 0, 0.0, False, [] for lists, a defaults-filled pydantic
    model, None for anything else."""
    if value_type in _TYPE_DEFAULTS:
        return _TYPE_DEFAULTS[value_type]
    if value_type is list or typing.get_origin(value_type) in (list, Sequence):
        return []
    if isinstance(value_type, type) and hasattr(value_type, "model_fields"):
        return initialize_with_defaults(value_type)
    return None


_TYPE_DEFAULTS: dict[Any, Any] = {str: "", int: 0, float: 0.0, bool: False}


def _fields(model_class: Any) -> Iterable[tuple[str, Any]]:
    fields = getattr(model_class, "model_fields", None)
    if not isinstance(fields, Mapping):
        raise TypeError(f"{model_class!r} is not a pydantic model class")
    return fields.items()
