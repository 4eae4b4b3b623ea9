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

from autograms._frames import ContinuationError, instrument
from autograms._frames.versions import PY312

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
                          "qualname": exc.qualname, "lineno": exc.lineno}))
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


def line_of(text: str) -> int:
    for number, line in enumerate(PROGRAM.read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(text)


@pytest.mark.parametrize(
    ("program", "marker", "words"),
    [
        ("comprehension", "[ask(i) for i in range(2)]", "comprehension"),
        ("lambda_call", "lambda: ask", "lambda"),
        ("generator_expression", "list(ask(i)", "generator expression"),
        ("through_sorted_key", "sorted([3, 1]", "indirectly"),
        ("iterates_generator", "yield ask", "generator"),
        ("sandwich", "return inner_instrumented()", "not instrumented"),
        ("through_property", "Pausing().value", "not a call"),
        ("through_operator", "Pausing() + 1", "not a call"),
    ],
)
def test_pause_is_refused_naming_function_and_line(program: str, marker: str, words: str) -> None:
    result = refusal(program)
    assert result["refused"], result
    assert words in result["message"]
    assert result["lineno"] is not None and result["qualname"]
    if program == "comprehension" and not PY312:
        # 3.11 runs comprehensions in their own frame: the refusal names that frame
        assert result["lineno"] == line_of(marker)
    elif program not in ("iterates_generator",):
        assert f":{line_of(marker)}" in result["message"] or result["lineno"] == line_of(marker)


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
    ("program", "words"),
    [
        ("goto_unknown", "has no call with that ADDRESS label"),
        ("goto_into_loop", "enter a loop"),
        ("goto_out_of_with", "leave a with block"),
        ("goto_out_of_finally_body", "leave a finally block"),
        ("returnto_unknown", "no function calling"),
    ],
)
def test_bad_jump_is_refused(program: str, words: str) -> None:
    result = refusal(program)
    assert result["refused"], result
    assert words in result["message"]


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
