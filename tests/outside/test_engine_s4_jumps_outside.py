"""Outside tests (s4) of GOTO/RETURNTO with ADDRESS labels in odd places, each against the same
program written with loops and exceptions in plain Python (plain Python has no GOTO), in process
and with serialize/deserialize every turn."""

import sys

import pytest

from tests.outside import s4e_support as S


@pytest.fixture
def folder(tmp_path):
    path = str(tmp_path)
    yield path
    if path in sys.path:
        sys.path.remove(path)


def check(folder, source, plain, messages, modes=("inproc", "serde")):
    res = S.all_modes(folder, {"bot": source}, messages, modes=modes, plain={"bot": plain})
    for mode in modes:
        assert res[mode] == res["plain"], (mode, res)


def test_goto_to_a_label_in_a_while_condition(folder):
    check(
        folder,
        """
        #HEADER
        @autograms_function()
        def chatbot():
            n = 0
            while reply(f"go? {n}", ADDRESS="cond") != "stop":
                n += 1
                if n == 2:
                    n = 10
                    GOTO("cond")
            reply(f"n={n}")
        """,
        """
        #HEADER
        @autograms_function()
        def chatbot():
            n = 0
            while reply(f"go? {n}") != "stop":
                n += 1
                if n == 2:
                    n = 10
                    continue
            reply(f"n={n}")
        """,
        ["hi", "a", "b", "c", "stop", "z"],
    )


def test_goto_from_match_cases_and_for_else(folder):
    check(
        folder,
        """
        #HEADER
        @autograms_function()
        def chatbot():
            tries = 0
            cmd = reply("cmd?", ADDRESS="cmd")
            tries += 1
            match cmd.split():
                case ["add", x]:
                    reply(f"added {x}")
                    GOTO("cmd")
                case ["quit"]:
                    pass
                case _:
                    for ch in cmd:
                        if ch.isdigit():
                            break
                    else:
                        if tries < 4:
                            reply("no digit")
                            GOTO("cmd")
            reply(f"bye {tries}")
        """,
        """
        #HEADER
        @autograms_function()
        def chatbot():
            tries = 0
            while True:
                cmd = reply("cmd?")
                tries += 1
                match cmd.split():
                    case ["add", x]:
                        reply(f"added {x}")
                        continue
                    case ["quit"]:
                        pass
                    case _:
                        for ch in cmd:
                            if ch.isdigit():
                                break
                        else:
                            if tries < 4:
                                reply("no digit")
                                continue
                break
            reply(f"bye {tries}")
        """,
        ["hi", "add 1", "ok", "zz", "ok", "quit", "x"],
    )


def test_goto_to_a_label_in_a_finally_block_from_the_same_block(folder):
    check(
        folder,
        """
        #HEADER
        @autograms_function()
        def chatbot():
            try:
                a = reply("a?")
            finally:
                t = reply("fin?", ADDRESS="fin")
                if t == "again":
                    GOTO("fin")
            reply(f"{a} {t}")
        """,
        """
        #HEADER
        @autograms_function()
        def chatbot():
            try:
                a = reply("a?")
            finally:
                while True:
                    t = reply("fin?")
                    if t == "again":
                        continue
                    break
            reply(f"{a} {t}")
        """,
        ["hi", "x", "again", "again", "y", "z"],
    )


def test_returnto_the_nearest_labelled_caller_in_a_recursion(folder):
    check(
        folder,
        """
        #HEADER
        @autograms_function()
        def level(n):
            if n == 0:
                t = reply("bottom?")
                if t == "up":
                    RETURNTO("lvl")
                return t
            return f"{n}:" + level(n - 1, ADDRESS="lvl")

        @autograms_function()
        def chatbot():
            reply(level(2))
        """,
        """
        #HEADER
        class Up(Exception):
            pass

        @autograms_function()
        def level(n):
            if n == 0:
                t = reply("bottom?")
                if t == "up":
                    raise Up
                return t
            while True:
                try:
                    return f"{n}:" + level(n - 1)
                except Up:
                    continue

        @autograms_function()
        def chatbot():
            reply(level(2))
        """,
        ["hi", "up", "up", "x", "y"],
    )


def test_goto_within_an_except_block_without_a_name_keeps_the_exception(folder):
    check(
        folder,
        """
        #HEADER
        import sys

        @autograms_function()
        def chatbot():
            try:
                raise KeyError("k")
            except KeyError:
                n = 0
                t = reply(f"in except {n} {sys.exc_info()[0]}", ADDRESS="ex")
                n += 1
                if t != "ok" and n < 3:
                    GOTO("ex")
            reply(f"after {n} {sys.exc_info()[0]}")
        """,
        """
        #HEADER
        import sys

        @autograms_function()
        def chatbot():
            try:
                raise KeyError("k")
            except KeyError:
                n = 0
                while True:
                    t = reply(f"in except {n} {sys.exc_info()[0]}")
                    n += 1
                    if t != "ok" and n < 3:
                        continue
                    break
            reply(f"after {n} {sys.exc_info()[0]}")
        """,
        ["hi", "a", "b", "c", "d"],
    )


def test_goto_within_an_except_as_block_keeps_the_exception_name_bound(folder):
    check(
        folder,
        """
        #HEADER
        @autograms_function()
        def chatbot():
            try:
                raise KeyError("k")
            except KeyError as e:
                n = 0
                t = reply(f"in except {n} {e!r}", ADDRESS="ex")
                n += 1
                if t != "ok" and n < 3:
                    GOTO("ex")
            reply(f"after {n}")
        """,
        """
        #HEADER
        @autograms_function()
        def chatbot():
            try:
                raise KeyError("k")
            except KeyError as e:
                n = 0
                while True:
                    t = reply(f"in except {n} {e!r}")
                    n += 1
                    if t != "ok" and n < 3:
                        continue
                    break
            reply(f"after {n}")
        """,
        ["hi", "a", "b", "c", "d"],
    )
