"""Model-call records: their plain-dict form is what `dataclasses.asdict` gives."""

from __future__ import annotations

import dataclasses
import pickle
import random

from autograms.models.records import ChatRequest, ModelCall, OutputSpec


def random_value(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(10 if depth < 3 else 5)
    if kind == 5:
        return {f"k{i}": random_value(rng, depth + 1) for i in range(rng.randrange(3))}
    if kind == 6:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(3))]
    if kind == 7:
        return tuple(random_value(rng, depth + 1) for _ in range(rng.randrange(3)))
    if kind == 8:
        return {1, 2}  # not plain data: copied as asdict copies it
    if kind == 9:
        return {(1, "a"): "tuple key"}
    return ["text", 3, 2.5, None, True][kind]


def test_a_model_call_as_a_dict_is_its_asdict_copied_whatever_its_values() -> None:
    rng = random.Random(5)
    for _ in range(500):
        call = ModelCall(
            kind="chat",
            model="m",
            endpoint="scripted",
            prompt_tokens=rng.choice([None, 7]),
            request={"messages": random_value(rng), "params": random_value(rng)},
            output=random_value(rng) if rng.random() < 0.3 else "answer",  # type: ignore[arg-type]
        )
        record, expected = call.to_dict(), dataclasses.asdict(call)
        del expected["sent"]  # the request as sent is not part of the record
        assert record == expected
        assert [type(value) for value in record.values()] == [
            type(value) for value in expected.values()
        ]
        assert record["request"] is not call.request  # a copy: editing it changes no record


def test_a_pickled_model_call_leaves_out_the_request_it_sent() -> None:
    class LocalAnswer:  # a class no pickle can find by name
        pass

    sent = ChatRequest(
        messages=[{"role": "user", "content": "hi"}],
        kind="structured",
        output=OutputSpec("answer", {"type": "object"}, pydantic_model=LocalAnswer),
    )
    call = ModelCall(kind="structured", model="m", endpoint="scripted", output="{}", sent=sent)
    back = pickle.loads(pickle.dumps(call))
    assert back == call and back.sent is None
    assert call.sent is sent  # the record itself keeps it for the log entry
