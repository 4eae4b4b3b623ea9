"""GOTO and RETURNTO re-execute an ADDRESS-labelled call. There is no uninstrumented
equivalent, so each case spells out its transcript."""

import sys

from tests.engine.harness import Case, checkpoint, expect, goto, resumable, returnto


def labelled_ask(payload, ADDRESS=None):  # noqa: N803 - the AutoGRAMS keyword
    return checkpoint((payload, ADDRESS))


class Asker:
    def plain(self, payload):
        return checkpoint(("plain method", payload))

    def with_address(self, payload, ADDRESS=None):  # noqa: N803
        return checkpoint(("address method", payload, ADDRESS))


class Recorder:
    def __init__(self, name):
        self.name = name

    def __enter__(self):
        print("enter", self.name)

    def __exit__(self, *exc):
        print("exit", self.name)


@resumable
def goto_backward():
    tries = 0
    answer = checkpoint(("question", tries), ADDRESS="ask")
    tries += 1
    if answer != "ok" and tries < 3:
        goto("ask")
    return answer, tries


@resumable
def goto_within_loop():
    results = []
    for item in ["a", "b"]:
        reply = checkpoint(("item", item, len(results)), ADDRESS="item")
        if reply == "again":
            goto("item")
        results.append(reply)
    return results


@resumable
def goto_out_of_loop():
    rounds = 0
    start = checkpoint(("start", rounds), ADDRESS="start")
    rounds += 1
    for n in range(3):
        if checkpoint(("n", n)) == "restart" and rounds < 2:
            goto("start")
    return start, rounds


@resumable
def goto_from_except_body():
    attempts = 0
    value = checkpoint(("number", attempts), ADDRESS="ask")
    try:
        return int(value) + attempts * 100, sys.exc_info()[0]
    except ValueError:
        attempts += 1
        goto("ask")


@resumable
def goto_within_an_except_as_block():
    # a jump that stays inside the block keeps its name bound, as a loop there would; the
    # nested block's own name goes when the jump leaves it
    try:
        raise KeyError("k")
    except KeyError as error:
        tries = 0
        answer = checkpoint(("again", tries, repr(error), "inner" in locals()), ADDRESS="again")
        tries += 1
        try:
            raise ValueError(answer)
        except ValueError as inner:
            if answer != "ok":
                goto("again")
            seen = str(inner)
        return repr(error), seen


@resumable
def address_reaches_callees_that_take_it():
    asker = Asker()
    a = labelled_ask("function", ADDRESS="first")
    b = checkpoint("no ADDRESS parameter", ADDRESS="second")
    c = asker.plain("p", ADDRESS="third")
    d = asker.with_address("w", ADDRESS="fourth")
    return a, b, c, d


@resumable
def rt_inner(depth):
    answer = checkpoint(("inner", depth))
    if answer == "back":
        returnto("top")
    return answer


@resumable
def rt_middle(depth):
    with Recorder("middle"):
        try:
            return rt_inner(depth)
        finally:
            print("middle finally")


@resumable
def returnto_through_finally_and_with():
    return rt_middle(checkpoint("top asks"), ADDRESS="top")


@resumable
def rt_pausing_finally(depth):
    try:
        return rt_inner(depth)
    finally:
        print("finally asks", checkpoint(("finally", depth)))


@resumable
def returnto_through_a_pausing_finally():
    # the RETURNTO is in flight while the finally block pauses; it goes on after the resume
    return rt_pausing_finally(checkpoint("top asks"), ADDRESS="top")


@resumable
def rt_fresh_middle(count):
    count[0] += 1
    if count[0] < 3:
        returnto("again")
    return checkpoint(("count", count[0]))


@resumable
def returnto_target_called_this_turn():
    count = [0]
    result = rt_fresh_middle(count, ADDRESS="again")
    return result, count


@resumable
def labelled_call_in_finally():
    # the compiler writes the finally body twice (normal and exception path): one label
    results = []
    for fail in (False, True):
        try:
            try:
                if fail:
                    raise ValueError("boom")
            finally:
                answer = checkpoint(("finally", fail), ADDRESS="fin")
                if answer == "again":
                    goto("fin")
                results.append(answer)
        except ValueError as exc:
            results.append(str(exc))
    return results


@resumable
def goto_to_a_labelled_call_inside_an_expression():
    # a jump from outside the expression around the labelled call re-runs its statement
    tries = 0
    number = int(checkpoint(("age", tries), ADDRESS="age")) * 2
    tries += 1
    if number < 0:
        goto("age")
    loops = []
    for item in "ab":
        loops.append(str(tries) + ":" + checkpoint(("item", item, tries), ADDRESS="item"))
        tries += 1
        if len(loops) == 1:
            goto("item")
    return number, tries, loops


class Labels:
    AGE = "age"


class MoreLabels(Labels):
    NAME = "name"


@resumable
def goto_to_labels_named_by_constants():
    # ADDRESS= a class attribute (an inherited one too) and a module constant bound below the
    # function (not bound yet when it is instrumented): labels, as literals are
    tries = 0
    name = checkpoint(("name", tries), ADDRESS=MoreLabels.AGE)
    age = checkpoint(("age", tries), ADDRESS=LATER)
    tries += 1
    if not age.isdigit():
        goto(LATER)
    if name == "ann":
        goto(Labels.AGE)
    return name, age, tries


LATER = "later"

CASES = {
    "goto_to_labels_named_by_constants": Case(
        goto_to_labels_named_by_constants,
        (),
        ["ann", "x", "5", "bob", "7"],
        expected=expect(
            ("name", 0), ("age", 0), ("age", 1), ("name", 2), ("age", 2), result=("bob", "7", 3)
        ),
    ),
    "goto_to_a_labelled_call_inside_an_expression": Case(
        goto_to_a_labelled_call_inside_an_expression,
        (),
        ["-3", "4", "x", "y", "z"],
        expected=expect(
            ("age", 0),
            ("age", 1),
            ("item", "a", 2),
            ("item", "a", 3),
            ("item", "b", 4),
            result=(8, 5, ["2:x", "3:y", "4:z"]),
        ),
    ),
    "labelled_call_in_finally": Case(
        labelled_call_in_finally,
        (),
        ["a", "again", "b"],
        expected=expect(
            ("finally", False), ("finally", True), ("finally", True), result=["a", "b", "boom"]
        ),
    ),
    "goto_backward": Case(
        goto_backward,
        (),
        ["no", "no", "ok"],
        expected=expect(("question", 0), ("question", 1), ("question", 2), result=("ok", 3)),
    ),
    "goto_within_loop": Case(
        goto_within_loop,
        (),
        ["again", "x", "again", "again", "y"],
        expected=expect(
            ("item", "a", 0),
            ("item", "a", 0),
            ("item", "b", 1),
            ("item", "b", 1),
            ("item", "b", 1),
            result=["x", "y"],
        ),
    ),
    "goto_out_of_loop": Case(
        goto_out_of_loop,
        (),
        ["s1", "no", "restart", "s2", "no", "restart", "no"],
        expected=expect(
            ("start", 0),
            ("n", 0),
            ("n", 1),
            ("start", 1),
            ("n", 0),
            ("n", 1),
            ("n", 2),
            result=("s2", 2),
        ),
    ),
    "goto_within_an_except_as_block": Case(
        goto_within_an_except_as_block,
        (),
        ["x", "ok"],
        expected=expect(
            ("again", 0, "KeyError('k')", False),
            ("again", 1, "KeyError('k')", False),
            result=("KeyError('k')", "ok"),
        ),
    ),
    "goto_from_except_body": Case(
        goto_from_except_body,
        (),
        ["x", "y", "5"],
        expected=expect(("number", 0), ("number", 1), ("number", 2), result=(205, None)),
    ),
    "address_reaches_callees": Case(
        address_reaches_callees_that_take_it,
        (),
        ["1", "2", "3", "4"],
        expected=expect(
            ("function", "first"),
            "no ADDRESS parameter",
            ("plain method", "p"),
            ("address method", "w", "fourth"),
            result=("1", "2", "3", "4"),
        ),
    ),
    "returnto_through_finally_and_with": Case(
        returnto_through_finally_and_with,
        (),
        ["d1", "back", "d2", "fine"],
        expected=expect(
            "top asks",
            ("inner", "d1"),
            "top asks",
            ("inner", "d2"),
            result="fine",
            out={
                1: "enter middle\n",
                2: "middle finally\nexit middle\n",
                3: "enter middle\n",
                4: "middle finally\nexit middle\n",
            },
        ),
    ),
    "returnto_through_a_pausing_finally": Case(
        returnto_through_a_pausing_finally,
        (),
        ["d1", "back", "f1", "d2", "fine", "f2"],
        expected=expect(
            "top asks",
            ("inner", "d1"),
            ("finally", "d1"),
            "top asks",
            ("inner", "d2"),
            ("finally", "d2"),
            result="fine",
            out={3: "finally asks f1\n", 6: "finally asks f2\n"},
        ),
    ),
    "returnto_target_called_this_turn": Case(
        returnto_target_called_this_turn,
        (),
        ["z"],
        expected=expect(("count", 3), result=("z", [3])),
    ),
}
