"""Constructs that cannot be resumed are refused with a ContinuationError that names the
function, the line and the reason -- at decoration when knowable, otherwise at the pause.
Each program runs in a subprocess: a refusal must never be a crash."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autograms._frames import ContinuationError, Reason, instrument

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "tests" / "engine" / "programs" / "refused.py"

_RUNNER = textwrap.dedent(
    """
    import json, sys
    from autograms import _frames
    from tests.engine.programs import refused
    try:
        outcome = _frames.run(getattr(refused, sys.argv[1]))
        for _ in range(5):
            if isinstance(outcome, _frames.Paused):
                outcome = _frames.resume(outcome.snapshot, "resumed")
        print(json.dumps({"refused": False}))
    except _frames.ContinuationError as exc:
        print(json.dumps({"refused": True, "type": type(exc).__name__, "message": str(exc),
                          "qualname": exc.qualname, "lineno": exc.lineno,
                          "reason": str(exc.reason), "code": isinstance(exc.reason, _frames.Reason)}))
    except Exception as exc:
        print(json.dumps({"refused": False, "error": type(exc).__name__}))
    """
)


def refusal(name: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", _RUNNER, name], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def line_of(text: str, function: str | None = None) -> int:
    """The first line holding `text` (after ``def function(`` if given)."""
    seen_function = function is None
    for number, line in enumerate(PROGRAM.read_text().splitlines(), start=1):
        seen_function = seen_function or line.startswith(f"def {function}(")
        if seen_function and text in line:
            return number
    if function is not None:
        return line_of(text)  # the marker is in a function the program calls
    raise AssertionError(text)


@pytest.mark.parametrize(
    ("program", "marker", "reason"),
    [
        ("comprehension", "[ask(i) for i in range(2)]", Reason.COMPREHENSION),
        ("comprehension_after_resume", "{n: asked(n) for n", Reason.COMPREHENSION),
        ("lambda_call", "lambda: ask", Reason.LAMBDA_FRAME),
        ("generator_expression", "list(ask(i)", Reason.GENERATOR_FRAME),
        ("through_sorted_key", "sorted([3, 1]", Reason.INDIRECT_CALL),
        ("through_map", "list(map(asked", Reason.INDIRECT_CALL),
        ("through_map_after_resume", "list(map(asked", Reason.INDIRECT_CALL),
        ("through_map_of_plain_helper_after_resume", "list(map(ask,", Reason.INDIRECT_CALL),
        ("through_constructor", "return Constructed()", Reason.CONSTRUCTOR),
        ("through_constructor_after_resume", "return made, Constructed()", Reason.CONSTRUCTOR),
        ("through_metaclass_call", "return MadeByMetaclass()", Reason.INDIRECT_CALL),
        ("constructors_through_map", "list(map(Initialised", Reason.INDIRECT_CALL),
        ("in_class_body", "class Asking:", Reason.CLASS_BODY),
        ("in_class_body_after_resume", "    class Asking:", Reason.CLASS_BODY),
        ("iterates_generator", "[*plain_generator()]", Reason.NOT_A_CALL),
        ("sandwich", "return inner_instrumented()", Reason.NOT_INSTRUMENTED),
        ("through_property", "Pausing().value", Reason.NOT_A_CALL),
        ("through_operator", "Pausing() + 1", Reason.NOT_A_CALL),
        ("in_exit", "    with PausingExit():", Reason.WITH_STATEMENT),
        ("in_enter", "    with PausingEnter():", Reason.WITH_STATEMENT),
        ("helper_defined_inside", "return ask(text).strip()", Reason.HELPER_CONTINUES),
        (
            "helper_with_a_closure_post_processes",
            "answer = ask(question)",
            Reason.HELPER_CONTINUES,
        ),
        (
            "helper_pauses_in_a_try_after_resume",
            "        return ask(question)",
            Reason.HELPER_CONTINUES,
        ),
    ],
)
def test_pause_is_refused_at_the_pause_naming_function_line_and_reason(
    program: str, marker: str, reason: Reason
) -> None:
    # on the first turn and after a resume alike: never accepted and resumed to a wrong value
    result = refusal(program)
    assert result["refused"], result
    assert result["code"] and result["reason"] == reason, result
    assert result["lineno"] is not None and result["qualname"]
    line = line_of(marker, program)
    assert f":{line})" in result["message"] or result["lineno"] == line


@pytest.mark.parametrize("program", ["comprehension", "comprehension_after_resume"])
def test_pause_in_a_comprehension_reads_the_same_on_every_python(program: str) -> None:
    result = refusal(program)
    kind = "a list" if program == "comprehension" else "a dict"
    assert result["message"].startswith(f"cannot pause inside {kind} comprehension ("), result
    assert result["message"].endswith(f"; move the pause out of {kind} comprehension")


@pytest.mark.parametrize(
    ("program", "local", "kind"),
    [
        ("open_file_local", "handle", "operating-system resource"),
        ("socket_local", "sock", "operating-system resource"),
        ("lock_local", "lock", "lock"),
        ("thread_local", "worker", "Thread"),
        ("generator_local", "numbers", "running frame"),
        ("with_open", "handle", "operating-system resource"),
        ("with_contextmanager", "with-statement __exit__", "running frame"),
    ],
)
def test_unpicklable_value_is_named(program: str, local: str, kind: str) -> None:
    result = refusal(program)
    assert result["refused"] and result["type"] == "UnpicklableLocalError", result
    assert local in result["message"]
    assert kind in result["message"]
    assert result["qualname"] == program


@pytest.mark.parametrize(
    ("program", "reason", "words"),
    [
        ("goto_unknown", Reason.UNKNOWN_LABEL, "has no call with that ADDRESS label"),
        ("goto_to_a_computed_label", Reason.UNKNOWN_LABEL, "<an expression> (line"),
        ("goto_into_loop", Reason.JUMP_INTO_BLOCK, "enter a loop"),
        ("goto_out_of_with", Reason.JUMP_SKIPS_CLEANUP, "leave a with block"),
        ("goto_out_of_finally_body", Reason.JUMP_SKIPS_CLEANUP, "leave a finally block"),
        (
            "goto_out_of_finally_with_exception_in_flight",
            Reason.JUMP_SKIPS_CLEANUP,
            "leave a finally block",
        ),
        ("returnto_unknown", Reason.UNKNOWN_LABEL, "no function calling"),
    ],
)
def test_bad_jump_is_refused(program: str, reason: Reason, words: str) -> None:
    result = refusal(program)
    assert result["refused"] and result["reason"] == reason, result
    assert words in result["message"]


@pytest.mark.parametrize(
    ("program", "marker"),
    [
        ("goto_unknown", '_frames.goto("unknown")'),
        ("returnto_unknown", '_frames.returnto("nowhere")'),
    ],
)
def test_jump_to_an_unknown_label_names_the_line_of_the_jump(program: str, marker: str) -> None:
    result = refusal(program)
    line = line_of(marker)
    assert result["reason"] == Reason.UNKNOWN_LABEL and result["lineno"] == line, result
    assert f"refused.py:{line})" in result["message"], result


def test_goto_that_reads_an_unbound_local_raises_unbound_local_error_like_plain_python() -> None:
    # the local is deleted, then the jump re-runs code that reads it: on 3.12+ the compiler's
    # unchecked LOAD_FAST would crash the interpreter, so the engine checks that load
    result = refusal("goto_leaves_local_unbound")
    assert result == {"refused": False, "error": "UnboundLocalError"}


def _generator():
    yield 1


async def _coroutine():
    return 1


def test_generators_and_coroutines_are_refused_at_decoration() -> None:
    for function, word in ((_generator, "generator"), (_coroutine, "coroutine")):
        with pytest.raises(ContinuationError, match=word) as caught:
            instrument(function)
        assert caught.value.qualname == function.__qualname__
        assert caught.value.lineno == function.__code__.co_firstlineno


def test_nested_function_is_refused_at_decoration() -> None:
    def nested():
        return 1

    with pytest.raises(ContinuationError, match="defined inside another function"):
        instrument(nested)


def test_duplicate_labels_are_refused_at_decoration() -> None:
    namespace: dict = {"__name__": "tests.engine.test_refusals"}
    exec(  # noqa: S102 - defines a module-level function for the test
        "def twice(f):\n    f(ADDRESS='same')\n    f(ADDRESS='same')\n", namespace
    )
    with pytest.raises(ContinuationError, match="'same' is used twice"):
        instrument(namespace["twice"])
