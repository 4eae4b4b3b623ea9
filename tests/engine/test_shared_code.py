"""Functions sharing one code object (issue 10): each paused frame resumes with the closure of
the function that ran it, as plain Python runs it -- in process, after serialize/deserialize
and with a fresh interpreter per turn -- or the pause is refused, never resumed as another
function. Refusals of plain helpers decorated since and of pauses under a C-level wrapper
say what happened, with a reason code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autograms._frames import Reason, identity, lookup
from tests.engine.public_harness import MODES, load_bot, transcript

ROOT = Path(__file__).resolve().parents[2]

SHARED_SCRIPT = [f" m{n} " for n in range(1, 16)]


def test_the_shared_code_bot_pauses_in_every_function_sharing_a_code_object() -> None:
    said = transcript("shared_code", SHARED_SCRIPT, "reference")
    assert said[:3] == ["a one", "b two", "b again ask_b"]
    assert "y" not in [text.split()[0] for text in said[:-1] if text]  # y never pauses
    assert said[-1] is None and len(said) == len(SHARED_SCRIPT) + 1


@pytest.mark.parametrize("mode", MODES)
def test_each_function_sharing_a_code_object_resumes_with_its_own_closure(mode: str) -> None:
    expected = transcript("shared_code", SHARED_SCRIPT, "reference")
    assert transcript("shared_code", SHARED_SCRIPT, mode) == expected
    assert expected[-2] == (
        "a(m1)b( M2 | m3 ) / x(y(xy m4 )| m5 )p( m6 !| m7 ) / [ m8 ]ask_f1[ M9  m10 ]ask_f2 / "
        "yo: m11 hi: m12 hi@DeskHi: m13 yo@DeskYo: m14 "
    )


def test_functions_made_from_one_code_object_each_run_code_of_their_own() -> None:
    bot = load_bot("shared_code")
    functions = [
        bot.ask_a,
        bot.ask_b,
        bot.ask_xy,
        bot.ask_xy.__wrapped__,
        bot.asker_hi,
        bot.asker_yo,
        bot.DeskHi.ask,
        bot.DeskYo.ask,
    ]
    infos = [lookup(function.__code__) for function in functions]
    assert all(info is not None for info in infos)
    assert len({id(info) for info in infos}) == len(functions)
    assert [info.function for info in infos] == functions
    # the two wrappers of ask_xy: one name and one code, told apart by their position
    assert infos[2].qualname == infos[3].qualname == "ask_xy"
    assert infos[2].fingerprint == infos[3].fingerprint


@pytest.mark.parametrize("mode", MODES)
def test_decorated_wrapper_made_while_the_program_runs_is_refused_at_the_pause(
    mode: str,
) -> None:
    reference = transcript("unnamed_wrapper", ["one", "two"], "reference")
    assert reference == ["first", "second", "one<two>"]
    said = transcript("unnamed_wrapper", ["one", "two"], mode)
    assert said == ["first", ["raised", "ContinuationError", Reason.NOT_FOUND_AGAIN.value]]


@pytest.mark.parametrize("mode", MODES)
def test_pause_under_lru_cache_is_refused_naming_the_cache(mode: str) -> None:
    said = transcript("under_lru_cache", ["one", "two"], mode)
    assert said == ["first", ["raised", "ContinuationError", Reason.INDIRECT_CALL.value]]


def test_refusal_under_lru_cache_names_the_wrapper_and_the_function() -> None:
    from autograms import Autogram, ContinuationError

    autogram = Autogram(root_function=load_bot("under_lru_cache").chatbot, test_mode=True)
    _, memory = autogram.reply()
    with pytest.raises(ContinuationError) as refused:
        autogram.reply("one", memory_object=memory)
    assert refused.value.reason is Reason.INDIRECT_CALL
    assert "functools.lru_cache of ask" in str(refused.value)
    assert "map()" not in str(refused.value)


def test_fingerprint_of_any_code_of_a_decorated_function_is_the_functions() -> None:
    info = lookup(load_bot("shared_code").chatbot.__code__)
    codes = [info.normal_code, info.original_code, *info.variants.values()]
    assert len(codes) > 2
    assert {identity.code_fingerprint(code) for code in codes} == {info.fingerprint}
    plain = (lambda: 1).__code__
    assert identity.code_fingerprint(plain) == identity.fingerprint(plain)


_DRIVER = textwrap.dedent(
    """
    import importlib, json, os, sys
    sys.path.insert(0, os.getcwd())
    from autograms import Autogram
    bot = importlib.import_module(sys.argv[1])
    path, text = sys.argv[2], sys.argv[3]
    autogram = Autogram(root_function=bot.chatbot, test_mode=True)
    try:
        memory = autogram.load(path) if os.path.exists(path) else None
        out, memory = autogram.reply(text, memory_object=memory)
    except Exception as exc:
        print(json.dumps([type(exc).__name__, str(getattr(exc, "reason", "")), str(exc)]))
        sys.exit(0)
    autogram.save(path, memory)
    print(json.dumps(out))
    """
)

_HELPER_BOT = textwrap.dedent(
    """
    from autograms import autograms_function
    from autograms.functional import reply

    def ask(question):
        return reply(question)

    @autograms_function()
    def chatbot():
        first = ask("first")
        second = ask("second")
        return reply(f"got {first} {second}")
    """
)


def _turn(folder: Path, text: str) -> object:
    env = {**os.environ, "AUTOGRAMS_CODE_CACHE": str(folder / "cache")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, str(folder / "driver.py"), "helper_bot", str(folder / "s"), text],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_refusal_of_a_plain_helper_decorated_since_is_the_same_in_every_process(
    tmp_path: Path,
) -> None:
    (tmp_path / "driver.py").write_text(_DRIVER)
    bot = tmp_path / "helper_bot.py"
    bot.write_text(_HELPER_BOT)
    assert _turn(tmp_path, "") == "first"
    assert _turn(tmp_path, "A") == "second"
    bot.write_text(_HELPER_BOT + "\nask = autograms_function()(ask)\n")  # no line moves
    refusals = [_turn(tmp_path, "B") for _ in range(2)]
    assert refusals[0] == refusals[1]
    kind, reason, message = refusals[0]
    assert (kind, reason) == ("SessionCodeError", Reason.HELPER_DECORATED.value)
    assert "helper_bot.ask" in message and "decorated" in message
    bot.write_text(_HELPER_BOT)  # the code it paused in: resumes as before
    assert _turn(tmp_path, "B") == "got A B"


MADE_FROM_CODE = ["question", "x", "y"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["globals", "closure"])
def test_function_made_from_a_decorated_functions_code_is_refused_at_the_pause(
    mode: str, kind: str
) -> None:
    reference = transcript("made_from_code", [kind, *MADE_FROM_CODE], "reference")
    assert reference[-1] is None  # plain Python runs it with its own globals or cells
    said = transcript("made_from_code", [kind, *MADE_FROM_CODE], mode)
    assert said == ["which?", ["raised", "ContinuationError", Reason.NOT_FOUND_AGAIN.value]]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["copy", "ask"])
def test_function_made_with_the_same_globals_and_cells_resumes_as_plain_python(
    mode: str, kind: str
) -> None:
    expected = transcript("made_from_code", [kind, *MADE_FROM_CODE], "reference")
    assert transcript("made_from_code", [kind, *MADE_FROM_CODE], mode) == expected


def test_refusal_of_a_function_made_from_code_names_the_function_and_the_remedy() -> None:
    from autograms import Autogram

    bot = load_bot("made_from_code")
    autogram = Autogram(root_function=bot.chatbot, test_mode=True)
    _, memory = autogram.reply()
    with pytest.raises(Exception) as raised:
        autogram.reply("globals", memory_object=memory)
    message = str(raised.value)
    assert raised.value.reason == Reason.NOT_FOUND_AGAIN
    assert "made from the code of tests.engine.bots.made_from_code.ask" in message
    assert "types.FunctionType" in message
