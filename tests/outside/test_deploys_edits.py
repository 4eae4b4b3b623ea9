"""Outside tests of issue 15: sessions saved by one version of a bot, checked against an edited bot.

Every test writes a bot module into tmp_path, plays a few turns with it, keeps the serialized
sessions, rewrites the module (same module name) and checks the sessions against the new code with
`autograms.deploys.check_session`, then compares the verdict with what loading and replying does.
"""

import pytest

from autograms import SessionCodeError
from autograms.deploys import Verdict, check_session

from .deploys_support import HEAD, make_bot, play, run_to_end


@pytest.fixture
def bot(tmp_path, monkeypatch):
    yield from make_bot(tmp_path, monkeypatch)


TWO = (
    HEAD
    + """
@autograms_function()
def chatbot():
    a = reply("one", ADDRESS="one")
    b = reply("two", ADDRESS="two")
    return reply(a + b)
"""
)


def test_unchanged_code_resumes_here(bot):
    old = bot(TWO)
    blobs = play(old, ["a", "b"])
    new = bot(TWO)
    verdicts = [check_session(new, b).verdict for b in blobs]
    assert verdicts == [Verdict.RESUMES] * 3
    assert run_to_end(new, blobs[1]) == ["ax", None]


def test_lines_added_above_the_function_resume_here(bot):
    old = bot(TWO)
    blobs = play(old, ["a"])
    new = bot("# a comment\n\n\n" + TWO)
    check = check_session(new, blobs[1])
    assert check.verdict == Verdict.RESUMES
    assert run_to_end(new, blobs[1]) == ["ax", None]


def test_renamed_label_is_refused_naming_label_removed(bot):
    old = bot(TWO)
    blobs = play(old, ["a"])
    new = bot(TWO.replace('ADDRESS="two"', 'ADDRESS="second"'))
    check = check_session(new, blobs[1])
    assert check.verdict == Verdict.REFUSED
    assert check.reason == "label removed"
    assert check.frames[0].qualname == "chatbot"


def test_local_added_above_and_read_after_the_label_is_refused(bot):
    old = bot(TWO)
    blobs = play(old, ["a"])
    new = bot(
        TWO.replace('    a = reply("one"', '    title = "Dr"\n    a = reply("one"').replace(
            "a + b", "a + b + title"
        )
    )
    check = check_session(new, blobs[1])
    assert check.verdict == Verdict.REFUSED
    assert check.reason == "missing locals"


CLOSURE = (
    HEAD
    + """
@autograms_function()
def chatbot():
    title = "Dr"
    a = reply("one", ADDRESS="one")
    b = reply("two", ADDRESS="two")
    f = lambda: title
    return reply(a + b + f())
"""
)


def test_local_added_above_and_read_by_a_closure_is_not_reported_resumable(bot):
    old = bot(TWO)
    blobs = play(old, ["a"])
    new = bot(CLOSURE)
    check = check_session(new, blobs[1])
    assert check.verdict == Verdict.REFUSED, check


def test_closure_over_a_missing_local_fails_with_an_error_naming_it(bot):
    old = bot(TWO)
    blobs = play(old, ["a"])
    new = bot(CLOSURE)
    try:
        run_to_end(new, blobs[1])
    except (SessionCodeError, NameError) as error:
        assert "title" in str(error), repr(error)
    else:
        pytest.fail("resumed without the local 'title'")


DEL = (
    HEAD
    + """
@autograms_function()
def chatbot():
    t = 1
    a = reply("one", ADDRESS="one")
    del t
    b = reply("two", ADDRESS="two")
    return reply(a + b)
"""
)


def test_local_added_above_and_deleted_after_the_label_is_refused(bot):
    old = bot(TWO)
    blobs = play(old, [])
    new = bot(DEL)
    check = check_session(new, blobs[0])
    if check.verdict == Verdict.REMAPPED:
        run_to_end(new, blobs[0])  # raises UnboundLocalError now
    else:
        assert check.verdict == Verdict.REFUSED


def test_every_verdict_of_a_swapped_order_matches_what_loading_does(bot):
    old = bot(TWO)
    blobs = play(old, ["a", "b"])
    new = bot(
        HEAD
        + """
@autograms_function()
def chatbot():
    b = reply("two", ADDRESS="two")
    a = reply("one", ADDRESS="one")
    return reply(a + b)
"""
    )
    for blob in blobs:
        check = check_session(new, blob)
        if check.verdict in (Verdict.RESUMES, Verdict.REMAPPED, Verdict.IDLE):
            run_to_end(new, blob)
        else:
            with pytest.raises(SessionCodeError):
                run_to_end(new, blob)


AFTER_THE_LABEL = {
    "if": """
    if a:
        last = a
""",
    "for": """
    for word in a.split():
        last = word
""",
}


@pytest.mark.parametrize("block", sorted(AFTER_THE_LABEL))
def test_a_local_assigned_conditionally_after_the_label_keeps_the_session(bot, block):
    old = bot(TWO)
    blobs = play(old, [])
    new = bot(
        TWO.replace(
            '    b = reply("two"', AFTER_THE_LABEL[block].strip("\n") + '\n    b = reply("two"'
        ).replace("a + b", "a + b + last")
    )
    check = check_session(new, blobs[0])
    assert check.verdict == Verdict.REMAPPED, (check.reason, check.message)
    assert (
        run_to_end(new, blobs[0], ["x y", "z"])
        == ["two", "x yzy" if block == "for" else "x yzx y", None][:2]
    )


def test_the_same_local_assigned_above_the_label_is_refused(bot):
    old = bot(TWO)
    blobs = play(old, ["x y"])  # paused at "two", without `last`
    new = bot(
        TWO.replace(
            '    b = reply("two"', AFTER_THE_LABEL["if"].strip("\n") + '\n    b = reply("two"'
        ).replace("a + b", "a + b + last")
    )
    check = check_session(new, blobs[1])
    assert check.verdict == Verdict.REFUSED
    assert check.reason == "missing locals"


def test_a_renamed_root_is_not_reported_as_no_longer_instrumented(bot):
    old = bot(TWO)
    blobs = play(old, ["a"])
    new = bot(TWO.replace("def chatbot", "def chatbot_v2") + "\nchatbot = chatbot_v2\n")
    check = check_session(new, blobs[1])
    assert check.verdict == Verdict.REFUSED
    assert "no longer instrumented" not in (check.message or ""), check.message


LAMBDA_AFTER = (
    HEAD
    + """
@autograms_function()
def chatbot():
    a = reply("one", ADDRESS="one")
    b = reply("two", ADDRESS="two")
    shout = lambda: a.upper()
    return reply(shout() + b)
"""
)

LAMBDA_BETWEEN = (
    HEAD
    + """
@autograms_function()
def chatbot():
    a = reply("one", ADDRESS="one")
    shout = lambda: a.upper()
    b = reply("two", ADDRESS="two")
    return reply(shout() + b)
"""
)

COMPREHENSION_AFTER = (
    HEAD
    + """
@autograms_function()
def chatbot():
    a = reply("one", ADDRESS="one")
    b = reply("two", ADDRESS="two")
    return reply("".join([c for c in b if c not in a]))
"""
)


@pytest.mark.parametrize("paused", [0, 1], ids=["at-one", "at-two"])
def test_a_closure_added_over_an_existing_local_keeps_sessions_resumable(bot, paused):
    old = bot(TWO)
    blobs = play(old, ["x"])
    new = bot(LAMBDA_AFTER)
    assert check_session(new, blobs[paused]).verdict == Verdict.REMAPPED
    expected = [["two", "XY", None], ["XY", None]][paused]
    assert run_to_end(new, blobs[paused], ["x", "Y"][paused:] + ["y"]) == expected


def test_a_comprehension_added_after_the_label_keeps_sessions_resumable(bot):
    old = bot(TWO)
    blobs = play(old, ["xy"])
    new = bot(COMPREHENSION_AFTER)
    assert check_session(new, blobs[1]).verdict == Verdict.REMAPPED
    assert run_to_end(new, blobs[1], ["xyz"]) == ["z"]


def test_removing_a_closure_keeps_the_captured_local(bot):
    old = bot(LAMBDA_BETWEEN)
    blobs = play(old, ["x"])  # paused at "two", a == "x" held in a cell
    new = bot(TWO)
    check = check_session(new, blobs[1])
    assert check.verdict == Verdict.REMAPPED, (check.reason, check.message)
    assert run_to_end(new, blobs[1], ["y", "z"]) == ["xy", None]


def test_a_cell_variable_added_before_a_saved_one_keeps_the_saved_cell_by_name(bot):
    old = bot(LAMBDA_BETWEEN)
    blobs = play(old, ["x"])  # paused at "two", the cell of a == "x" saved
    new = bot(
        LAMBDA_BETWEEN.replace(
            "    return reply(shout() + b)",
            "    _ = b\n    echo = lambda: _ * 2\n    return reply(shout() + echo() + a)",
        )
    )
    check = check_session(new, blobs[1])
    assert check.verdict == Verdict.REMAPPED, (check.reason, check.message)
    assert run_to_end(new, blobs[1], ["y", "z"]) == ["Xyyx", None]


IN_WITH = (
    HEAD
    + """
LOG = []


class Block:
    def __enter__(self):
        LOG.append("enter")

    def __exit__(self, *exc_info):
        LOG.append("exit")


@autograms_function()
def chatbot():
    with Block():
        x = reply("in the block", ADDRESS="inside")
    return reply(x + "|" + ";".join(LOG))
"""
)


def test_a_pause_inside_a_with_block_resumes_at_its_label_after_an_edit(bot):
    old = bot(IN_WITH)
    blobs = play(old, [])
    new = bot(IN_WITH.replace('x + "|"', 'x + "!|"'))
    check = check_session(new, blobs[0])
    assert check.verdict == Verdict.REMAPPED, (check.reason, check.message)
    assert run_to_end(new, blobs[0], ["a", "b"]) == ["a!|exit", None]


def test_a_pause_inside_try_finally_resumes_at_its_label_after_an_edit(bot):
    src = IN_WITH.replace(
        '    with Block():\n        x = reply("in the block", ADDRESS="inside")\n',
        '    try:\n        x = reply("in the block", ADDRESS="inside")\n'
        '    finally:\n        LOG.append("finally")\n',
    )
    old = bot(src)
    blobs = play(old, [])
    new = bot(src.replace('x + "|"', 'x + "!|"'))
    assert check_session(new, blobs[0]).verdict == Verdict.REMAPPED
    assert run_to_end(new, blobs[0], ["a", "b"]) == ["a!|finally", None]


GLOBALS = """
from autograms import autograms_function
from autograms.functional import reply
from autograms.memory import init_user_globals, set_persistent_globals

G = init_user_globals()
G["count"] = 0
"""

GLOBALS_OLD = (
    GLOBALS
    + """
@autograms_function()
def chatbot():
    G["count"] += 1
    a = reply("one", ADDRESS="one")
    b = reply("two", ADDRESS="two")
    return reply(a + b + str(G["count"]))
"""
)


def test_a_user_globals_key_added_by_the_deploy_is_there_for_old_sessions(bot):
    old = bot(GLOBALS_OLD)
    blobs = play(old, ["x"])
    new = bot(
        GLOBALS_OLD.replace('G["count"] = 0', 'G["count"] = 0\nG["bonus"] = 100').replace(
            'str(G["count"])', 'str(G["count"] + G["bonus"])'
        )
    )
    assert check_session(new, blobs[1]).verdict == Verdict.REMAPPED
    assert run_to_end(new, blobs[1], ["y"]) == ["xy101"]


def test_a_persistent_global_added_by_the_deploy_has_its_module_value_in_old_sessions(bot):
    old = bot(GLOBALS_OLD)
    blobs = play(old, ["x"])
    new = bot(
        GLOBALS_OLD.replace(
            "@autograms_function()",
            "with set_persistent_globals():\n    score = 10\n\n\n@autograms_function()",
        ).replace('str(G["count"])', 'str(G["count"] + score)')
    )
    assert check_session(new, blobs[1]).verdict == Verdict.REMAPPED
    assert run_to_end(new, blobs[1], ["y"]) == ["xy11"]


@pytest.mark.parametrize(
    "labels",
    [
        pytest.param([("two", "second")], id="list-of-pairs"),
        pytest.param({"two": None}, id="None-target"),
        pytest.param({None: "second"}, id="None-source"),
    ],
)
def test_a_malformed_label_mapping_is_an_error_naming_it(bot, labels):
    old = bot(TWO)
    blobs = play(old, ["x"])
    new = bot(TWO.replace('ADDRESS="two"', 'ADDRESS="second"'))
    with pytest.raises((TypeError, ValueError), match="label"):
        check_session(new, blobs[1], labels=labels)


def test_a_label_mapping_resumes_a_session_at_a_renamed_label(bot):
    old = bot(TWO)
    blobs = play(old, ["x"])
    new = bot(TWO.replace('ADDRESS="two"', 'ADDRESS="second"'))
    assert check_session(new, blobs[1], labels={"two": "second"}).verdict == Verdict.MAPPED
    missing = check_session(new, blobs[1], labels={"two": "nowhere"})
    assert missing.verdict == Verdict.REFUSED
    assert "nowhere" in missing.message
