"""The tester's own parts: the GOTO/RETURNTO reference, the oracle, the minimizer."""

from __future__ import annotations

from tests.engine.fuzz import batch, oracle, runner
from tests.engine.fuzz.campaign import spec_for
from tests.engine.fuzz.minimize import minimize
from tests.engine.fuzz.model import Clause, Compound, Program, Region, Stmt
from tests.engine.fuzz.render import ENGINE, REFERENCE, render
from tests.engine.fuzz.transcript import signature


def _function(name: str, body: list) -> Compound:
    return Compound([Clause(f"@autograms_function()\ndef {name}():", body)], unwrappable=False)


ROOT = _function("chatbot", [Stmt('result = main()\nprint("result", repr(result))\nreturn result')])


def _retry_program() -> Program:
    """GOTO back to a reply until the answer is a number, at most twice; then RETURNTO from
    a helper back to a label in main."""
    helper = _function(
        "helper",
        [
            Stmt('word = reply("again?")'),
            Stmt('if word == "back":\n    RETURNTO("top")'),
            Stmt("return word"),
        ],
    )
    main = _function(
        "main",
        [
            Stmt("tries = 0"),
            Region(
                "ask",
                [
                    Stmt('answer = reply(f"number? {tries}", ADDRESS="ask")'),
                    Stmt('if not answer.isdigit() and tries < 2:\n    tries += 1\n    GOTO("ask")'),
                ],
            ),
            Region("top", [Stmt('first = reply("top", ADDRESS="top")'), Stmt("last = helper()")]),
            Stmt("return [answer, tries, first, last]"),
        ],
    )
    return Program([helper, main, ROOT], ["x", "y", "z", "t1", "back", "t2", "done"])


def test_reference_runs_goto_and_returnto_as_loops() -> None:
    program = _retry_program()
    assert 'GOTO("ask")' in render(program, ENGINE)
    events = oracle.run(render(program, REFERENCE), program.script)
    assert [event[1] for event in events if event[0] == "reply"] == [
        "number? 0", "number? 1", "number? 2", "top", "again?", "top", "again?",
    ]  # fmt: skip
    assert events[-2:] == [["out", "result ['z', 2, 't2', 'done']\n"], ["end"]]


def test_oracle_stops_a_program_that_runs_out_of_messages() -> None:
    program = _retry_program()
    program.script = ["x"]
    events = oracle.run(render(program, REFERENCE), program.script)
    assert events == [["out", ""], ["reply", "number? 0"], ["out", ""], ["reply", "number? 1"]]


def test_signature_names_the_first_turn_that_differs() -> None:
    expected = [["out", "p1 a\n"], ["reply", "q"], ["out", "p2 b\n"], ["end"]]
    assert signature(expected, expected) is None
    assert (
        signature(expected, [["out", "p1 a\n"], ["reply", "q"], ["out", ""], ["raise", "E: m"]])
        == "raise:E"
    )
    assert (
        signature(expected, [["out", "p1 a\n"], ["reply", "q"], ["out", "p2 c\n"], ["end"]])
        == "out:p2"
    )
    assert signature(expected, expected[:2]) == "missing"


def test_minimizer_keeps_the_divergence_and_drops_the_rest() -> None:
    """With a stand-in checker that calls a program divergent when its rendering still holds
    a GOTO and prints the counter, the minimizer must keep exactly what that needs."""
    program = _retry_program()
    program.body[1].clauses[0].body.insert(0, Stmt('print("noise", 1 + 2)'))

    def check(candidate: Program) -> dict[str, str] | None:
        source = render(candidate, ENGINE)
        if 'GOTO("ask")' in source and "tries" in source:
            return {"in_process": "out:p1"}
        return {}

    small = minimize(program, "in_process", "out:p1", check)
    source = render(small, ENGINE)
    assert 'GOTO("ask")' in source
    assert "noise" not in source and "helper" not in source and "RETURNTO" not in source
    assert small.script == []
    assert len(source.splitlines()) < len(render(program, ENGINE).splitlines()) / 2


def test_engine_agrees_with_the_reference_on_goto_and_returnto() -> None:
    program = _retry_program()
    spec = spec_for(program, "agfz_machinery_retry", list(runner.MODES))
    with batch.Worker() as worker:
        (result,) = worker.check([spec])
    assert result.oracle[-1] == ["end"]
    assert result.divergences() == {}
