"""Structured (JSON) output: schema specs, parsing, validation and one repair retry.

Servers differ in how they accept a schema; `openai_compat` picks the request form. This
module checks what came back, whatever the form: the answer is parsed (tolerating code
fences and surrounding prose), validated against the schema (or the pydantic model), and if
it fails, the model is asked once more with the error. A second failure raises
`StructuredOutputError`.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import random
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from .errors import StructuredOutputError
from .records import ChatModel, ChatRequest, ModelCall, OutputSpec, Result

T = TypeVar("T")

_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
    "integer": (int,),
    "number": (int, float),
}
_SAMPLE_DEPTH = 8


def spec_from_structure(structure: Any, name: str | None = None) -> OutputSpec:
    """An `OutputSpec` from a pydantic model class, a JSON schema, or an OpenAI
    ``response_format`` dict (``{"type": "json_schema", "json_schema": {...}}``)."""
    if isinstance(structure, type) and hasattr(structure, "model_json_schema"):
        schema = structure.model_json_schema()
        return _spec(name or structure.__name__, schema, structure)
    if not isinstance(structure, Mapping):
        raise TypeError(
            f"output structure must be a pydantic model class or a JSON schema dict: "
            f"got {type(structure).__name__}"
        )
    if structure.get("type") == "json_schema" and "json_schema" in structure:
        structure = structure["json_schema"]
    if "schema" in structure and isinstance(structure["schema"], Mapping):
        wants_strict = structure.get("strict", True) is not False
        return _spec(
            name or structure.get("name") or "output",
            structure["schema"],
            None,
            allow_strict=wants_strict,
        )
    return _spec(name or structure.get("title") or "output", structure, None)


def _spec(
    name: str, schema: Mapping[str, Any], model: Any, *, allow_strict: bool = True
) -> OutputSpec:
    clean = _NAME_CHARS.sub("_", str(name))[:64] or "output"
    strict = strict_schema(schema) if allow_strict else None
    if strict is None:
        return OutputSpec(clean, dict(schema), strict=False, pydantic_model=model)
    return OutputSpec(
        clean, strict, strict=True, pydantic_model=model, validation_schema=dict(schema)
    )


def strict_schema(schema: Mapping[str, Any]) -> dict[str, Any] | None:
    """A copy of ``schema`` in OpenAI's strict form (every property required, no extra
    properties, no defaults), or None if the top level is not an object."""
    if schema.get("type") != "object":
        return None
    result = copy.deepcopy(dict(schema))
    _make_strict(result)
    return result


def _make_strict(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _make_strict(item)
        return
    if not isinstance(node, dict):
        return
    node.pop("default", None)
    if node.get("type") == "object" or "properties" in node:
        properties = node.setdefault("properties", {})
        node["required"] = list(properties)
        node["additionalProperties"] = False
    for key, value in node.items():
        if key in ("properties", "$defs", "definitions"):
            for sub in value.values():
                _make_strict(sub)
        elif key in ("items", "anyOf", "oneOf", "allOf"):
            _make_strict(value)


def schema_instruction(spec: OutputSpec) -> str:
    """Prompt text asking for JSON that matches the spec's schema."""
    return (
        "Reply with only a JSON value, without any other text, that matches this JSON schema:\n"
        + json.dumps(spec.schema, ensure_ascii=False)
    )


def with_instruction(messages: Sequence[Mapping[str, Any]], text: str) -> list[dict[str, Any]]:
    """A copy of ``messages`` with ``text`` appended to the last user message."""
    result = [dict(m) for m in messages]
    for message in reversed(result):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                message["content"] = f"{content}\n\n{text}" if content else text
            else:
                message["content"] = [*content, {"type": "text", "text": text}]
            return result
    result.append({"role": "user", "content": text})
    return result


def parse_json(text: str) -> Any:
    """The JSON value in a model's answer; accepts code fences and prose around one value."""
    stripped = text.strip()
    try:
        return json.loads(stripped)
    except ValueError:
        pass
    fenced = _FENCE.search(stripped)
    if fenced:
        try:
            return json.loads(fenced.group(1))
        except ValueError:
            pass
    starts = [i for i in (stripped.find("{"), stripped.find("[")) if i >= 0]
    if starts:
        try:
            value, _ = json.JSONDecoder().raw_decode(stripped[min(starts) :])
            return value
        except ValueError:
            pass
    raise ValueError("no JSON value found in the output")


def schema_errors(
    value: Any, schema: Mapping[str, Any], root: Mapping[str, Any] | None = None, path: str = "$"
) -> list[str]:
    """Validation errors of ``value`` against a JSON schema (the subset used for LLM
    outputs: type, enum, const, properties, required, additionalProperties, items, min/maxItems,
    anyOf/oneOf/allOf and local $ref)."""
    root = schema if root is None else root
    schema = _resolve(schema, root)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            if not any(not schema_errors(value, s, root, path) for s in schema[key]):
                return [f"{path}: matches none of the allowed shapes"]
    errors = [e for s in schema.get("allOf", ()) for e in schema_errors(value, s, root, path)]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} is not one of {schema['enum']!r}")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: {value!r} is not {schema['const']!r}")
    type_error = _type_error(value, schema.get("type"), path)
    if type_error:
        return errors + [type_error]
    if isinstance(value, dict):
        errors += _object_errors(value, schema, root, path)
    elif isinstance(value, list):
        errors += _array_errors(value, schema, root, path)
    return errors


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def _type_error(value: Any, expected: Any, path: str) -> str | None:
    if expected is None:
        return None
    names = [expected] if isinstance(expected, str) else list(expected)
    for name in names:
        kinds = _JSON_TYPES.get(name, (object,))
        if isinstance(value, bool) and name in ("integer", "number"):
            continue
        if isinstance(value, kinds) or (
            name == "integer" and isinstance(value, float) and value.is_integer()
        ):
            return None
    return f"{path}: expected {' or '.join(names)}, got {type(value).__name__}"


def _object_errors(
    value: dict[str, Any], schema: Mapping[str, Any], root: Mapping[str, Any], path: str
) -> list[str]:
    properties = schema.get("properties", {})
    errors = [
        f"{path}: missing property {key!r}"
        for key in schema.get("required", ())
        if key not in value
    ]
    if schema.get("additionalProperties") is False:
        errors += [f"{path}: unexpected property {key!r}" for key in value if key not in properties]
    for key, sub in properties.items():
        if key in value:
            errors += schema_errors(value[key], sub, root, f"{path}.{key}")
    return errors


def _array_errors(
    value: list[Any], schema: Mapping[str, Any], root: Mapping[str, Any], path: str
) -> list[str]:
    errors = []
    if len(value) < schema.get("minItems", 0):
        errors.append(f"{path}: fewer than {schema['minItems']} items")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        errors.append(f"{path}: more than {schema['maxItems']} items")
    items = schema.get("items")
    if isinstance(items, Mapping):
        for i, item in enumerate(value):
            errors += schema_errors(item, items, root, f"{path}[{i}]")
    return errors


def validate(text: str, spec: OutputSpec) -> Any:
    """The answer in ``text`` as a Python value (or pydantic instance); raises ValueError."""
    value = parse_json(text)
    if spec.pydantic_model is not None:
        try:
            return spec.pydantic_model.model_validate(value)
        except Exception as exc:  # pydantic.ValidationError, without importing pydantic
            raise ValueError(str(exc).splitlines()[0] + ": " + _first_pydantic_error(exc)) from exc
    schema = spec.schema if spec.validation_schema is None else spec.validation_schema
    errors = schema_errors(value, schema)
    if errors:
        raise ValueError(errors[0])
    return value


def _first_pydantic_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    first = errors()[0]
    location = ".".join(str(part) for part in first.get("loc", ()))
    return f"{location or '$'}: {first.get('msg', '')}"


def complete_with_repair(
    model: ChatModel,
    request: ChatRequest,
    read: Callable[[str], T],
    fail: Callable[[str, str, list[ModelCall]], Exception],
) -> Result[T]:
    """Ask, read the answer with ``read`` (which raises ValueError for a bad one), and if it
    is bad ask once more with the reason; a second bad answer raises ``fail(reason, text,
    calls)``."""
    result = model.complete(request)
    calls = [result.call]
    try:
        return Result(read(result.text), tuple(calls), result.text)
    except ValueError as exc:
        reason = str(exc)
    repair = dataclasses.replace(
        request,
        messages=[
            *request.messages,
            {"role": "assistant", "content": result.text},
            {"role": "user", "content": _repair_text(reason)},
        ],
    )
    result = model.complete(repair)
    calls.append(result.call)
    try:
        return Result(read(result.text), tuple(calls), result.text)
    except ValueError as exc:
        raise fail(str(exc), result.text, calls) from exc


def request_structured(model: ChatModel, request: ChatRequest) -> Result[Any]:
    """Ask for JSON matching ``request.output``; one repair request if the answer is invalid.

    Raises `StructuredOutputError` if the repaired answer is still invalid.
    """
    spec = request.output
    if spec is None:
        raise ValueError("request_structured needs a request with an output spec")
    return complete_with_repair(
        model,
        request,
        lambda text: validate(text, spec),
        lambda reason, text, calls: StructuredOutputError(spec.name, text, reason, calls),
    )


def _repair_text(reason: str) -> str:
    return (
        f"That answer is not valid: {reason}. Reply again with only the corrected answer, "
        "in the required format."
    )


def sample_instance(
    schema: Mapping[str, Any],
    rng: random.Random,
    root: Mapping[str, Any] | None = None,
    depth: int = 0,
) -> Any:
    """A random value that matches ``schema`` (used by the scripted model)."""
    root = schema if root is None else root
    schema = _resolve(schema, root)
    if "enum" in schema:
        return rng.choice(list(schema["enum"]))
    if "const" in schema:
        return schema["const"]
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        return sample_instance(rng.choice(list(branches)), rng, root, depth + 1)
    kind = schema.get("type", "string")
    if not isinstance(kind, str):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        return {
            key: sample_instance(sub, rng, root, depth + 1)
            for key, sub in schema.get("properties", {}).items()
        }
    if kind == "array":
        low = schema.get("minItems", 0 if depth >= _SAMPLE_DEPTH else 1)
        high = max(low, min(schema.get("maxItems", 3), 3 if depth < _SAMPLE_DEPTH else low))
        return [
            sample_instance(schema.get("items", {}), rng, root, depth + 1)
            for _ in range(rng.randint(low, high))
        ]
    return _sample_scalar(kind, rng)


def _sample_scalar(kind: str, rng: random.Random) -> Any:
    if kind == "integer":
        return rng.randint(0, 9)
    if kind == "number":
        return round(rng.uniform(0, 10), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    return f"scripted text {rng.randrange(1000)}"
