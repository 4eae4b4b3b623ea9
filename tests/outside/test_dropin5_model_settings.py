"""Issue 16, item 1 (per-call model settings) and supervisors, tried as an AutoGRAMS user:
the docs' `helper("...", **model1_settings)` against a recording fake server and in test mode."""

from __future__ import annotations

import warnings

import pytest

from autograms import Autogram, AutogramConfig, autograms_function
from autograms.supervisors import SupervisorError
import autograms.functional as F
from tests.outside.dropin5_support import FakeOpenAI, decision_answer

SETTINGS = {"model": "per-call-model", "max_tokens": 77, "temperature": 0.3}
RESULTS: dict = {}
CALLS: dict = {}

CHAT_HELPERS = {
    "thought": lambda **k: F.thought("x", **k),
    "silent_thought": lambda **k: F.silent_thought("x", **k),
    "local_thought": lambda **k: F.local_thought("x", **k),
    "yes_or_no": lambda **k: F.yes_or_no("x?", **k),
    "multiple_choice": lambda **k: F.multiple_choice("x?", ["a", "b"], **k),
    "call_llm": lambda **k: F.call_llm("x", **k),
    "call_model": lambda **k: F.call_model(["x"], [], "system", **k),
    "call_conv_model": lambda **k: F.call_conv_model("x", **k),
    "call_classifier": lambda **k: F.call_classifier(["x"], [], ["Yes", "No"], **k),
    "call_chat_completion": lambda **k: F.call_chat_completion(
        [{"role": "user", "content": "x"}], **k
    ),
    "call_completion": lambda **k: F.call_completion("x", **k),
}


def _call(name, fn, **kwargs):
    try:
        RESULTS[name] = ("ok", fn(**kwargs))
    except Exception as exc:  # recorded for the test to inspect
        RESULTS[name] = ("error", exc)


@autograms_function()
def settings_bot():
    F.reply("start")
    for name, fn in CHAT_HELPERS.items():
        _call(name, fn, **CALLS.get("kwargs", SETTINGS))
    F.reply_instruction("answer", **SETTINGS)


@autograms_function()
def embedding_bot():
    F.reply("start")
    _call("get_single_embedding", lambda: F.get_single_embedding("a:1,2", **SETTINGS))
    _call("get_batch_embeddings", lambda: F.get_batch_embeddings(["a:1,2"], **SETTINGS))
    F.reply("end")


def _live(bot, fake):
    cfg = AutogramConfig(
        chatbot_type="proxy",
        base_url=fake.url,
        chatbot_path="base-model",
        api_key="sk-test",
        embedding_base_url=fake.url,
        request_timeout=10,
    )
    return Autogram(root_function=bot, autogram_config=cfg)


def test_per_call_model_settings_reach_the_server_from_every_chat_helper():
    RESULTS.clear()
    CALLS.clear()
    with FakeOpenAI(decision_answer) as fake:
        autogram = _live(settings_bot, fake)
        _, memory = autogram.reply()
        text, memory = autogram.reply("go", memory_object=memory)
        requests = list(fake.requests)
    failed = {k: v for k, v in RESULTS.items() if v[0] != "ok"}
    assert not failed, failed
    assert text == "fake answer"
    assert len(requests) >= len(CHAT_HELPERS) + 1
    for path, body, _ in requests:
        assert path.endswith("/chat/completions")
        # a decision is made at temperature 0 whatever the call says, as in AutoGRAMS 0.6.0
        schema = (body.get("response_format") or {}).get("json_schema") or {}
        decides = schema.get("name") == "decision_schema"
        assert (body.get("model"), body.get("max_tokens"), body.get("temperature")) == (
            "per-call-model",
            77,
            0 if decides else 0.3,
        ), body


def test_model_turns_usage_log_has_the_servers_token_counts_after_a_round_trip():
    RESULTS.clear()
    CALLS.clear()
    with FakeOpenAI(decision_answer) as fake:
        autogram = _live(settings_bot, fake)
        _, memory = autogram.reply()
        _, memory = autogram.reply("go", memory_object=memory)
        memory = autogram.deserialize(autogram.serialize(memory))
    models = [e for e in memory.memory_dict["model_turns"] if e["entry_type"] == "model"]
    assert len(models) >= len(CHAT_HELPERS) + 1
    for entry in models:
        usage = entry["usage_log"]
        assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (
            11,
            7,
            18,
        ), entry


def test_model_settings_refused_by_an_embedding_helper_name_that_helper():
    RESULTS.clear()
    with FakeOpenAI() as fake:
        autogram = _live(embedding_bot, fake)
        _, memory = autogram.reply()
        autogram.reply("go", memory_object=memory)
    for name in ("get_single_embedding", "get_batch_embeddings"):
        kind, exc = RESULTS[name]
        assert kind == "error" and isinstance(exc, TypeError), RESULTS[name]
        assert str(exc).startswith(f"{name}()"), str(exc)
        assert "embed_texts" not in str(exc), str(exc)


def test_unknown_keyword_in_live_mode_raises_type_error_naming_each_helper():
    RESULTS.clear()
    CALLS["kwargs"] = {"bogus_setting": 1}
    try:
        with FakeOpenAI(decision_answer) as fake:
            autogram = _live(settings_bot, fake)
            _, memory = autogram.reply()
            autogram.reply("go", memory_object=memory)
            sent = len(fake.requests)
    finally:
        CALLS.clear()
    for name in CHAT_HELPERS:
        kind, exc = RESULTS[name]
        assert kind == "error" and isinstance(exc, TypeError), (name, RESULTS[name])
        assert f"{name}()" in str(exc) and "bogus_setting" in str(exc), str(exc)
    assert sent == 1  # only the final reply_instruction, with the valid settings


def test_unknown_keyword_in_test_mode_is_ignored_with_a_warning_naming_the_helper():
    RESULTS.clear()
    CALLS["kwargs"] = {
        "bogus_setting": 1,
        "model_type": "openai",
        "handle_errors": True,
        "handle_refusal": True,
    }
    try:
        autogram = Autogram(root_function=settings_bot, test_mode=True)
        _, memory = autogram.reply()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            autogram.reply("go", memory_object=memory)
    finally:
        CALLS.clear()
    failed = {k: v for k, v in RESULTS.items() if v[0] != "ok"}
    assert not failed, failed
    messages = [str(w.message) for w in caught]
    for name in CHAT_HELPERS:
        assert any(m.startswith(f"{name}()") and "bogus_setting" in m for m in messages), (
            name,
            messages,
        )
    assert not any(
        "model_type" in m or "handle_errors" in m or "handle_refusal" in m for m in messages
    ), messages


# --- supervisors ---------------------------------------------------------------------------


def sup_int_for_yes_or_no(question, **kwargs):
    return 3


def sup_dict_wrong_keys(instruction, keys, **kwargs):
    return {"not_a_key": "1"}


def sup_formal(instruction, **kwargs):
    from autograms.supervisors import SupervisorReturn

    return SupervisorReturn("FORMAL", rejected_output="casual", score=0.5, tags=["t"])


@autograms_function()
def supervised_bot():
    F.reply("start")
    _call("yes_or_no", lambda: F.yes_or_no("x?", supervisor=sup_int_for_yes_or_no))
    _call(
        "generate_fixed_dict",
        lambda: F.generate_fixed_dict("x", ["a"], supervisor=sup_dict_wrong_keys),
    )
    F.reply_instruction("Respond to the user.", supervisor=sup_formal)


def test_supervisor_return_replaces_the_reply_and_is_logged_after_a_round_trip():
    autogram = Autogram(root_function=supervised_bot, test_mode=True, supervisor_mode=True)
    _, memory = autogram.reply()
    text, memory = autogram.reply("go", memory_object=memory)
    memory = autogram.deserialize(autogram.serialize(memory))
    assert text == "FORMAL"
    entry = [
        e
        for e in memory.memory_dict["model_turns"]
        if e.get("helper") == "reply_instruction"  # function_name: AutoGRAMS' call_model
    ][-1]
    assert entry["supervisor_info"] == {"score": 0.5, "rejected_output": "casual", "tags": ["t"]}


@pytest.mark.parametrize(
    "helper,supervisor",
    [("yes_or_no", "sup_int_for_yes_or_no"), ("generate_fixed_dict", "sup_dict_wrong_keys")],
)
def test_unusable_supervisor_output_raises_an_error_naming_the_supervisor(helper, supervisor):
    RESULTS.clear()
    autogram = Autogram(root_function=supervised_bot, test_mode=True, supervisor_mode=True)
    _, memory = autogram.reply()
    autogram.reply("go", memory_object=memory)
    kind, exc = RESULTS[helper]
    assert kind == "error", RESULTS[helper]
    assert supervisor in str(exc), str(exc)
    assert "model made no decision" not in str(exc) and "model output" not in str(exc), str(exc)
    assert isinstance(exc, SupervisorError) and exc.helper == helper


@autograms_function()
def usage_bot():
    F.reply("start")
    F.get_single_embedding("a:1,2")
    F.reply_instruction("answer")


@pytest.mark.parametrize("mode", ["live", "test"])
def test_token_usage_sums_over_every_entry_with_a_usage_log(mode):
    with FakeOpenAI(decision_answer) as fake:
        autogram = (
            _live(usage_bot, fake)
            if mode == "live"
            else Autogram(root_function=usage_bot, test_mode=True)
        )
        _, memory = autogram.reply()
        _, memory = autogram.reply("x", memory_object=memory)
    memory = autogram.deserialize(autogram.serialize(memory))
    logged = [e for e in memory.memory_dict["model_turns"] if e.get("usage_log")]
    assert [e["helper"] for e in logged] == ["get_single_embedding", "reply_instruction"]
    total = sum(e["usage_log"]["total_tokens"] for e in logged)
    assert total == (1 + 18 if mode == "live" else 0)


SCORE = {}


def sup_scored(instruction, **kwargs):
    from autograms.supervisors import SupervisorReturn

    return SupervisorReturn("out", score=SCORE["value"], tags=("a", "b"))


@autograms_function()
def scored_bot():
    while True:
        F.reply("say")
        F.thought("t", supervisor=sup_scored)


@pytest.mark.parametrize("kind", ["decimal", "fraction", "numpy"])
def test_supervisor_scores_keep_their_value_in_the_log_after_a_round_trip(kind):
    import decimal
    import fractions

    if kind == "numpy":
        np = pytest.importorskip("numpy")
        SCORE["value"] = np.float32(0.5)
    else:
        SCORE["value"] = decimal.Decimal("0.5") if kind == "decimal" else fractions.Fraction(1, 2)
    autogram = Autogram(root_function=scored_bot, test_mode=True, supervisor_mode=True)
    _, memory = autogram.reply()
    _, memory = autogram.reply("x", memory_object=memory)
    memory = autogram.deserialize(autogram.serialize(memory))
    info = [e for e in memory.memory_dict["model_turns"] if e.get("supervisor_info")][-1][
        "supervisor_info"
    ]
    assert info["score"] == 0.5 and not isinstance(info["score"], str), info
    assert tuple(info["tags"]) == ("a", "b")


def reasoned_summary(instruction, article):
    return "SUP:" + article


GUIDE = {}


@autograms_function()
def guide_bot():
    F.reply("start")
    for name, fn in [
        ("kw", lambda: F.silent_thought("Summarize", supervisor=reasoned_summary, article="ART")),
        (
            "supervisor_kwargs",
            lambda: F.silent_thought(
                "Summarize", supervisor=reasoned_summary, supervisor_kwargs={"article": "ART2"}
            ),
        ),
    ]:
        GUIDE[name] = fn()
    F.reply("end")


@pytest.mark.parametrize("supervisor_mode", [False, True])
def test_the_supervisors_own_keywords_never_reach_the_model(supervisor_mode):
    GUIDE.clear()
    with FakeOpenAI() as fake:
        cfg = AutogramConfig(chatbot_type="proxy", base_url=fake.url, request_timeout=10)
        autogram = Autogram(
            root_function=guide_bot, supervisor_mode=supervisor_mode, autogram_config=cfg
        )
        _, memory = autogram.reply()
        autogram.reply("x", memory_object=memory)
        bodies = [body for _, body, _ in fake.requests]
    if supervisor_mode:
        assert GUIDE == {"kw": "SUP:ART", "supervisor_kwargs": "SUP:ART2"} and bodies == []
    else:
        assert GUIDE == {"kw": "fake answer", "supervisor_kwargs": "fake answer"}
        assert len(bodies) == 2 and all("article" not in body for body in bodies)
