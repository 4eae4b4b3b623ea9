"""Issue 16, item 2: memory_dict as an AutoGRAMS run loop uses it (a view of the session),
edited the ways a plain dict allows; and the log after saves to several paths."""

from __future__ import annotations

import copy

import pytest

from autograms import Autogram, autograms_function
from autograms.functional import reply, thought


@autograms_function()
def loop_bot():
    n = 0
    while True:
        n += 1
        thought("t")
        reply(f"r{n}", ADDRESS="loop")


@autograms_function()
def plain_loop_bot():
    while True:
        reply("ok", ADDRESS="loop")


def _autogram():
    return Autogram(root_function=loop_bot, test_mode=True)


def _session(autogram, turns=2):
    _, memory = autogram.reply()
    for i in range(turns):
        _, memory = autogram.reply(f"u{i}", memory_object=memory)
    return memory


def _history(memory):
    return [turn["content"] for turn in memory.extract_full_conv_history()]


def test_memory_dict_clear_is_refused_or_takes_effect():
    autogram = _autogram()
    memory = _session(autogram)
    view = memory.memory_dict
    view["run_loop_key"] = 1
    try:
        view.clear()
    except (KeyError, TypeError, ValueError):
        return  # refused, as `del view['model_turns']` is: fine
    assert "run_loop_key" not in view and "run_loop_key" not in memory.memory_dict


def test_assigning_an_empty_turn_stack_is_refused_or_leaves_the_session_usable():
    autogram = _autogram()
    memory = _session(autogram)
    try:
        memory.memory_dict["turn_stack"] = []
    except (KeyError, TypeError, ValueError) as exc:
        assert "turn_stack" in str(exc)
        return
    try:
        text, _ = autogram.reply("next", memory_object=memory)
    except IndexError as exc:
        pytest.fail(f"bare IndexError after assigning turn_stack: {exc!r}")
    except Exception as exc:
        assert "turn_stack" in str(exc), str(exc)
        return
    assert text == "r4"


def test_a_session_stays_usable_after_its_conversation_turns_are_cleared_through_memory_dict():
    autogram = _autogram()
    memory = _session(autogram)
    memory.memory_dict["turn_stack"][-1]["turns"].clear()
    text, memory = autogram.reply("next", memory_object=memory)
    assert text == "r4"
    assert _history(autogram.deserialize(autogram.serialize(memory)))[-2:] == ["next", "r4"]


def test_editing_a_frame_of_the_read_only_stack_is_refused_or_kept():
    autogram = _autogram()
    memory = _session(autogram)
    stack = memory.memory_dict["stack"]
    try:
        stack[0]["line_number"] = 1
    except (KeyError, TypeError, ValueError, AttributeError):
        return
    assert memory.memory_dict["stack"][0]["line_number"] == 1


@pytest.mark.parametrize(
    "edit,expected_len",
    [
        ("append", 10),
        ("pop", 8),
        ("clear", 0),
        ("del_slice", 7),
        ("iadd", 10),
        ("assign_empty", 0),
        ("insert", 10),
    ],
)
def test_list_edits_of_model_turns_are_kept_through_a_round_trip(edit, expected_len):
    autogram = _autogram()
    memory = _session(autogram)
    view = memory.memory_dict
    assert len(view["model_turns"]) == 9
    turns = view["model_turns"]
    if edit == "append":
        turns.append({"entry_type": "custom"})
    elif edit == "pop":
        turns.pop()
    elif edit == "clear":
        turns.clear()
    elif edit == "del_slice":
        del turns[:2]
    elif edit == "iadd":
        turns += [{"entry_type": "custom"}]
    elif edit == "assign_empty":
        view["model_turns"] = []
    elif edit == "insert":
        turns.insert(0, {"entry_type": "custom"})
    again = autogram.deserialize(autogram.serialize(memory))
    assert len(again.memory_dict["model_turns"]) == expected_len


def test_an_autograms_memory_dict_without_stack_restarts_with_its_history_and_prompt():
    autogram = _autogram()
    original = {
        "turn_stack": [
            {
                "turns": [
                    {"role": "agent", "content": "old r1"},
                    {"role": "user", "content": "old u1"},
                ],
                "system_prompt": "Old prompt",
                "scope": "global",
            }
        ],
        "stack_pointer": -1,
        "cached_user_reply": None,
        "call_depth": 0,
        "globals_snapshot": {},
        "external_call_memory": None,
        "version": "0.6.0",
        "external_call": None,
        "user_reply_to_save": "hi",
        "model_turns": [
            {"user_reply": "", "entry_type": "user_reply", "timestamp": "t"},
            {
                "reply": "old r1",
                "entry_type": "agent_reply",
                "last_node": None,
                "line_number": 9,
                "function_name": "chatbot",
                "timestamp": "t",
            },
            {"user_reply": "old u1", "entry_type": "user_reply", "timestamp": "t"},
        ],
    }
    text, memory = autogram.reply("new", memory_dict=copy.deepcopy(original))
    assert text == "r1"
    assert _history(memory) == ["", "old r1", "old u1", "new", "r1"]  # "" listed since s9
    assert memory.memory_dict["user_reply_to_save"] == "hi"
    from autograms import ConversationError

    with pytest.raises(ConversationError, match="stack"):
        autogram.reply(
            "new",
            memory_dict={
                **copy.deepcopy(original),
                "stack": [
                    {"line_number": 9, "function_name": "chatbot", "locals": {}, "address": "loop"}
                ],
            },
        )


def test_saving_a_loaded_session_under_another_path_keeps_the_whole_log(tmp_path):
    autogram = _autogram()
    _, memory = autogram.reply()
    _, memory = autogram.reply("u1", memory_object=memory)
    autogram.save(tmp_path / "a.session", memory)
    memory = autogram.load(tmp_path / "a.session")
    _, memory = autogram.reply("u2", memory_object=memory)
    autogram.save(tmp_path / "b.session", memory)
    autogram.save(tmp_path / "b.session", memory)
    loaded = autogram.load(tmp_path / "b.session")
    assert _history(loaded) == ["", "r1", "u1", "r2", "u2", "r3"]  # "" listed since s9
    assert len(loaded.memory_dict["model_turns"]) == 9


class CountedValue:
    """A value that counts how often it is unpickled: how many log entries a step decodes."""

    loads = 0

    def __reduce__(self):
        return (_counted_value, ())

    def __eq__(self, other):
        return isinstance(other, CountedValue)


def _counted_value():
    CountedValue.loads += 1
    return CountedValue()


def test_appending_to_model_turns_costs_about_the_same_on_a_long_log_as_on_a_short_one():
    """Counted in log entries decoded (the time is a row of benchmarks/engine.py): an append, a
    turn and a save decode none of the log, however long; reading the newest entry decodes
    only the newest part, and reading all of it each entry once."""
    autogram = Autogram(root_function=plain_loop_bot, test_mode=True)
    _, memory = autogram.reply()
    blobs = {}
    for i in range(1, 301):
        _, memory = autogram.reply("hi", memory_object=memory)
        note = {"entry_type": "run_loop_note", "turn": i, "value": CountedValue()}
        memory.memory_dict["model_turns"].append(note)
        blobs[i] = autogram.serialize(memory)  # the run loop saves every turn
    decoded = {}
    for turns in (10, 300):
        CountedValue.loads = 0
        memory = autogram.deserialize(blobs[turns])
        memory.memory_dict["model_turns"].append({"entry_type": "run_loop_note"})
        _, memory = autogram.reply("hi", memory_object=memory)
        autogram.serialize(memory)
        decoded[turns] = CountedValue.loads
    assert decoded == {10: 0, 300: 0}
    again = autogram.deserialize(blobs[300])
    view = again.memory_dict["model_turns"]
    assert view[-1]["turn"] == 300 and CountedValue.loads == 1
    assert len(view) == len(list(view)) and CountedValue.loads == 300


ENTRY_VALUES = {
    "datetime": __import__("datetime").datetime(2020, 1, 2),
    "set": {1, 2},
    "tuple": (1, 2),
    "int_keys": {1: "a"},
    "bytes": b"ab",
    "tuple_keys": {(1, 2): 3},
}


@pytest.mark.parametrize("kind", sorted(ENTRY_VALUES))
def test_values_in_an_appended_model_turns_entry_come_back_unchanged(kind):
    autogram = _autogram()
    memory = _session(autogram, turns=0)
    value = ENTRY_VALUES[kind]
    memory.memory_dict["model_turns"].append({"entry_type": "run_loop_note", "value": value})
    memory.memory_dict["same_value_elsewhere"] = value
    again = autogram.deserialize(autogram.serialize(memory))
    assert again.memory_dict["same_value_elsewhere"] == value
    back = again.memory_dict["model_turns"][-1]["value"]
    assert type(back) is type(value) and back == value, (back, value)


@autograms_function()
def logging_note_bot():
    from autograms.functional import get_memory

    while True:
        message = reply("say")
        if message == "bad":
            get_memory().memory_dict["model_turns"].append(
                {"entry_type": "note", "value": {(1, 2): 3}}
            )


def test_an_unsaveable_log_entry_is_refused_at_the_turn_and_the_session_stays_saveable():
    autogram = Autogram(root_function=logging_note_bot, test_mode=True)
    _, memory = autogram.reply()
    try:
        _, after = autogram.reply("bad", memory_object=memory)
    except Exception as exc:  # refused at the pause: fine if it names the log
        assert "model_turns" in str(exc) or "log" in str(exc), str(exc)
        after = memory
    _, after = autogram.reply("fine", memory_object=after)
    autogram.serialize(after)


VIEW_IN_LOCALS = r"""
import copy, pickle, sys
from autograms import Autogram, autograms_function
from autograms.functional import reply, get_memory

@autograms_function()
def chatbot():
    view = get_memory().memory_dict      # a view kept in the program's locals
    n = 0
    while True:
        n += 1
        view[f"k{n}"] = n
        reply(f"keys={sorted(k for k in view if k.startswith('k'))}")

autogram = Autogram(root_function=chatbot, test_mode=True)
text, memory = autogram.reply()
if sys.argv[1] == "pickle":
    blob = pickle.dumps(memory.memory_dict)
    text, memory = autogram.reply("x", memory_dict=pickle.loads(blob))
else:
    text, memory = autogram.reply("x", memory_dict=copy.deepcopy(memory.memory_dict))
print(text)
"""


def _run_script(tmp_path, source, argument, seconds, what):
    """Run `source` as a script in a fresh interpreter with `argument`; fail the test
    saying `what` if it runs longer than `seconds`."""
    import subprocess
    import sys

    script = tmp_path / "bot_script.py"
    script.write_text(source)
    try:
        return subprocess.run(
            [sys.executable, str(script), argument],
            capture_output=True,
            text=True,
            timeout=seconds,
            cwd=tmp_path,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{what} in {seconds} s")


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_a_memory_dict_whose_view_is_in_the_programs_locals_can_be_pickled_and_continued(
    tmp_path, how
):
    proc = _run_script(tmp_path, VIEW_IN_LOCALS, how, 20, f"{how} of memory_dict did not finish")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "keys=['k1', 'k2']"


VIEW_READ = r"""
import sys
from autograms import Autogram, autograms_function
from autograms.functional import reply, get_memory

@autograms_function()
def chatbot():
    view = get_memory().memory_dict
    while True:
        reply("x")

autogram = Autogram(root_function=chatbot, test_mode=True)
text, memory = autogram.reply()
op = sys.argv[1]
if op == "repr_pending_frames":
    print(len(repr(autogram.pending_frames(memory))) > 0)
elif op == "dict":
    print(len(dict(memory.memory_dict)) >= 8)
elif op == "repr_stack":
    print(len(repr(memory.memory_dict["stack"])) > 0)
"""


@pytest.mark.parametrize("op", ["repr_pending_frames", "dict", "repr_stack"])
def test_reading_a_session_whose_program_keeps_its_memory_dict_view_returns(tmp_path, op):
    proc = _run_script(tmp_path, VIEW_READ, op, 15, f"{op} did not return")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "True"


def test_run_state_command_answers_for_a_bot_keeping_its_memory_dict_view(tmp_path):
    import os
    import subprocess
    import sys

    bot = tmp_path / "viewbot.py"
    bot.write_text(
        "from autograms import autograms_function\n"
        "from autograms.functional import reply, get_memory\n\n"
        "@autograms_function()\n"
        "def chatbot():\n"
        "    view = get_memory().memory_dict\n"
        "    while True:\n"
        "        reply('x')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOGRAMS_", "OPENAI_"))}
    env["HOME"] = str(tmp_path)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "autograms", "run", "viewbot.py", "--test-mode", "--no-save"],
            input="/state\n/exit\n",
            capture_output=True,
            text=True,
            timeout=20,
            cwd=tmp_path,
            env=env,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("/state did not answer in 20 s")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "chatbot" in proc.stdout.split("paused in", 1)[1]
