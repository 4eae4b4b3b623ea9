"""Outside tests (issue 10, session 5): plain (undecorated) helpers that pause, compared with
plain Python run without pausing: in process, with serialize/deserialize every turn, and with a
fresh process per turn (tests/outside/s5b_harness.py)."""

import os
import subprocess
import sys

import pytest

from tests.outside.s5b_harness import REPO, all_modes, run_engine, run_fresh, run_plain


def same_everywhere(tmp_path, modules, messages):
    res = all_modes(tmp_path, modules, messages)
    for mode in ("inproc", "serial", "fresh"):
        assert res[mode] == res["plain"], (mode, res)
    return res["plain"]


# ---------------------------------------------------------------- claims that held


def test_plain_method_helper_mutating_self_after_reply_resumes_as_plain_python(tmp_path):
    bot = {
        "bot": """
#HEADER
class Asker:
    def __init__(self): self.seen = []
    def ask(self, q):
        a = reply(q)
        self.seen.append(a)
        return len(self.seen)
@autograms_function()
def chatbot():
    k = Asker()
    n1 = k.ask("one"); n2 = k.ask("two")
    reply(f"{n1}{n2}{k.seen}")
"""
    }
    assert same_everywhere(tmp_path, bot, ["a", "b", "c"])[2] == "12['a', 'b']"


def test_helpers_calling_helpers_inside_an_expression_resume_as_plain_python(tmp_path):
    bot = {
        "bot": """
#HEADER
def inner(q):
    return reply(q).strip() + "i"
def outer(q):
    x = inner(q + "1")
    y = inner(q + "2")
    return x + "/" + y
def ask(q):
    return reply(q) + q
@autograms_function()
def chatbot():
    r = "<" + outer("q") + ">"
    x = [ask("a") + ask("b"), {"k": ask("c")}, (ask("d"),)]
    reply(r + repr(x))
"""
    }
    same_everywhere(tmp_path, bot, [" a ", "b", "1", "2", "3", "4", "z"])


def test_helper_with_defaults_varargs_and_kwonly_resumes_as_plain_python(tmp_path):
    bot = {
        "bot": """
#HEADER
MISSING = object()
TABLE = {"a": [1]}
def ask(q, acc=None, n=3, default=MISSING, table=TABLE):
    acc = [] if acc is None else acc
    acc.append(reply(q))
    return acc, n, default is MISSING, table is TABLE
def many(*qs, sep="-", **kw):
    got = []
    for q in qs:
        got.append(reply(q))
    return sep.join(got) + str(sorted(kw))
@autograms_function()
def chatbot():
    l = []
    a = ask("x", l); b = ask("y", acc=l, n=7)
    reply(f"{a[0] is b[0]} {a[0] is l} {l} {a[1:]} {b[1:]} " + many("m", "n", sep="+", z=1))
"""
    }
    same_everywhere(tmp_path, bot, ["a", "b", "c", "d", "e"])


def test_helper_loops_with_break_continue_else_and_recursion_resume_as_plain_python(tmp_path):
    bot = {
        "bot": """
#HEADER
def collect():
    out = []
    i = 0
    while True:
        a = reply(f"q{i}")
        if a == "skip":
            i += 1
            continue
        if a == "stop":
            break
        out.append(a)
        i += 1
    else:
        out.append("never")
    it = iter(["a", "b", "c", "d"])
    for q in it:
        out.append(reply(q))
        if out[-1] == "skip":
            next(it, None)
    return out
def deep(n):
    if n == 0:
        return ""
    a = reply(f"lvl{n}")
    return a + deep(n - 1)
@autograms_function()
def chatbot():
    reply(str(collect()) + deep(3))
"""
    }
    same_everywhere(tmp_path, bot, ["a", "skip", "b", "stop", "skip", "x", "y", "1", "2", "3", "z"])


def test_try_with_and_match_in_the_decorated_caller_around_a_helper_resume(tmp_path):
    bot = {
        "bot": """
#HEADER
def ask(q):
    a = reply(q)
    if a == "bad":
        raise ValueError(a)
    return a
def shape(q):
    match reply(q).split():
        case [x]:
            return "one:" + x
        case [x, *rest]:
            return f"many:{x}{rest}"
        case _:
            return "none"
@autograms_function()
def chatbot():
    out = []
    for i in range(3):
        try:
            out.append(ask(f"q{i}"))
        except ValueError as e:
            out.append("E" + str(e) + type(e.__traceback__).__name__)
        finally:
            out.append("f")
    out.append(shape("s1") + shape("s2"))
    reply(str(out))
"""
    }
    same_everywhere(tmp_path, bot, ["a", "bad", "c", "x", "y z", "end"])


def test_plain_helpers_in_another_module_static_class_methods_and_dispatch_resume(tmp_path):
    bot = {
        "bot": """
#HEADER
import functools
from . import helpers
from .helpers import ask as ask2
HANDLERS = {"k": helpers.ask}
@autograms_function()
def chatbot():
    a = helpers.ask("one") + ask2("two")
    b = helpers.K.s("s") + helpers.K.c("c") + helpers.K().c("c2")
    c = functools.partial(helpers.ask, "p")() + HANDLERS["k"]("h")
    reply(a + b + c)
""",
        "helpers": """
#HEADER
def ask(q):
    return reply(q).upper()
class K:
    tag = "T"
    @staticmethod
    def s(q):
        return reply(q) + "s"
    @classmethod
    def c(cls, q):
        return reply(q) + cls.tag
""",
    }
    same_everywhere(tmp_path, bot, ["a", "b", "c", "d", "e", "f", "g", "z"])


def test_helper_locals_and_traceback_after_resume_show_only_user_code(tmp_path):
    bot = {
        "bot": """
#HEADER
import traceback
def ask(q):
    before = sorted(locals())
    a = reply(q)
    after = sorted(locals())
    return f"{before}{after}", 1 / int(a)
@autograms_function()
def chatbot():
    try:
        ask("q")
    except ZeroDivisionError as e:
        names = [f.name for f in traceback.extract_tb(e.__traceback__)]
        reply(str(names))
    reply(str(ask("again")[0]))
"""
    }
    same_everywhere(tmp_path, bot, ["0", "x", "1", "y"])


def test_helper_that_sometimes_pauses_still_runs_plainly_without_pausing(tmp_path):
    bot = {
        "bot": """
#HEADER
def maybe(q, ask_user):
    if ask_user:
        a = reply(q)
    else:
        a = q
    return a.upper()
@autograms_function()
def chatbot():
    x = maybe("q", True)
    y = maybe("plain", False)
    reply(x + y + maybe("z", False))
"""
    }
    same_everywhere(tmp_path, bot, ["a", "b"])


def test_helper_pausing_inside_its_own_try_is_refused_naming_it_and_session_kept(tmp_path):
    from autograms import Autogram

    bot = {
        "bot": """
#HEADER
def ask(q):
    try:
        a = reply(q)
    finally:
        pass
    return a + "!"
@autograms_function()
def chatbot():
    first = reply("first")
    if first == "go":
        return reply(ask("q"))
    reply("other " + first)
"""
    }
    import importlib

    from tests.outside.s5b_harness import write_package

    pkg = write_package(str(tmp_path), bot, plain=False)
    mod = importlib.import_module(pkg + ".bot")
    ag = Autogram(root_function=mod.chatbot, test_mode=True)
    _, m = ag.reply()
    with pytest.raises(Exception) as ei:
        ag.reply("go", memory_object=m)
    assert type(ei.value).__name__ == "ContinuationError"
    msg = str(ei.value).replace(str(tmp_path), "")
    assert "ask" in msg and "try" in msg
    assert getattr(getattr(ei.value, "reason", None), "name", "") == "HELPER_CONTINUES"
    text, _ = ag.reply("no", memory_object=m)  # the memory passed in is unchanged
    assert text == "other no"


HELPER_V1 = """
#HEADER
def ask(q, ADDRESS=None):
    a = reply(q)
    return a + "-v1"
"""
BOT_OTHERMOD = """
#HEADER
from . import helpers
@autograms_function()
def chatbot():
    a = helpers.ask("one", ADDRESS="one")
    reply("got " + a, ADDRESS="end")
"""


def test_plain_helper_edited_between_processes_is_refused_at_load_naming_it(tmp_path):
    edited = HELPER_V1.replace("-v1", "-v2")
    r = run_fresh(
        str(tmp_path),
        {"bot": BOT_OTHERMOD, "helpers": HELPER_V1},
        ["x", "y"],
        edits={1: {"helpers": edited}},
    )
    assert r[0] == "one"
    assert r[1].startswith("!SessionCodeError") and "ask" in r[1].replace(str(tmp_path), ""), r


def test_plain_helper_moved_between_processes_resumes(tmp_path):
    moved = HELPER_V1.replace("#HEADER\n", "#HEADER\nX = 1\nY = 2\n\n")
    r = run_fresh(
        str(tmp_path),
        {"bot": BOT_OTHERMOD, "helpers": HELPER_V1},
        ["x", "y"],
        edits={1: {"helpers": moved}},
    )
    assert r == ["one", "got x-v1", None]


# ---------------------------------------------------------------- findings (the first three
# were refused when written and were fixed on main meanwhile, cf04eb1: kept as claims)


def test_helper_reached_directly_then_through_another_plain_helper_resumes(tmp_path):
    bot = {
        "bot": """
#HEADER
def ask(q):
    return reply(q) + "!"
def w2(q):
    return ask(q)
@autograms_function()
def chatbot():
    x = ask("a")
    y = w2("b")
    reply(x + y)
"""
    }
    assert same_everywhere(tmp_path, bot, ["1", "2", "3"]) == ["a", "b", "1!2!", None]


def test_method_calling_a_helper_after_that_helper_paused_directly_resumes(tmp_path):
    bot = {
        "bot": """
#HEADER
from . import helpers
@autograms_function()
def chatbot():
    a = helpers.ask("one")
    c = helpers.K().m("three")
    reply(a + c)
""",
        "helpers": """
#HEADER
def ask(q):
    return reply(q).upper()
class K:
    def m(self, q):
        r = ask(q)
        return r + type(self).__name__
""",
    }
    assert same_everywhere(tmp_path, bot, ["a", "c", "d"]) == ["one", "three", "ACK", None]


SHARED_H = """
from autograms.functional import reply
def ask(q):
    return reply(q) + "!"
def w2(q):
    return ask(q)
"""
TWO_BOTS = """
from autograms import autograms_function
from autograms.functional import reply
from {h} import ask, w2
@autograms_function()
def bot1():
    reply("r1 " + ask("a"))
@autograms_function()
def bot2():
    reply("r2 " + w2("b"))
"""
TWO_BOTS_DRIVER = """
import sys
sys.path.insert(0, sys.argv[1])
from autograms import Autogram
import importlib
mod = importlib.import_module(sys.argv[2])
for name in sys.argv[3:]:
    ag = Autogram(root_function=getattr(mod, name), test_mode=True)
    try:
        t, m = ag.reply(); t, m = ag.reply("x", memory_object=m)
        print(name, t)
    except Exception as e:
        print(name, "!", type(e).__name__)
"""


def test_bot_behaves_the_same_whatever_other_bot_ran_before_in_the_process(tmp_path):
    (tmp_path / "s5b_shared_h.py").write_text(SHARED_H)
    (tmp_path / "s5b_two_bots.py").write_text(TWO_BOTS.format(h="s5b_shared_h"))
    (tmp_path / "drv.py").write_text(TWO_BOTS_DRIVER)
    env = dict(os.environ, PYTHONPATH=REPO, PYTHONDONTWRITEBYTECODE="1")

    def run(*names):
        p = subprocess.run(
            [sys.executable, str(tmp_path / "drv.py"), str(tmp_path), "s5b_two_bots", *names],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        return p.stdout.split("\n")

    alone = run("bot2")
    assert alone[0] == "bot2 r2 x!"
    after = run("bot1", "bot2")
    assert after[:2] == ["bot1 r1 x!", "bot2 r2 x!"]


def test_decorator_wrapper_that_only_returns_the_helper_result_resumes(tmp_path):
    bot = {
        "bot": """
#HEADER
import functools
def logged(f):
    @functools.wraps(f)
    def w(*a, **k):
        return f(*a, **k)
    return w
@logged
def ask(q):
    return reply(q) + "!"
@autograms_function()
def chatbot():
    reply(ask("a") + ask("b"))
"""
    }
    assert same_everywhere(tmp_path, bot, ["1", "2", "3"]) == ["a", "b", "1!2!", None]


@pytest.mark.xfail(
    strict=False,
    reason="by design (docs/engine.md, 'Code objects after a resume'): a code object held in "
    "a local comes back as the function's instrumented code (a decorated function's __code__ "
    "may be a variant of it) or, for a plain function's, as a copy",
)
def test_code_object_held_in_local_is_the_functions_code_after_resume(tmp_path):
    bot = {
        "bot": """
#HEADER
def ask(q):
    return reply(q)
@autograms_function()
def chatbot():
    d = chatbot.__code__
    e = ask.__code__
    r = ask("q")
    reply(f"{d is chatbot.__code__} {d == chatbot.__code__} {e is ask.__code__}")
"""
    }
    assert same_everywhere(tmp_path, bot, ["a", "b"]) == ["q", "True True True", None]


def test_pure_return_helper_edited_between_processes_is_refused_at_load(tmp_path):
    pure = """
#HEADER
def ask(q, ADDRESS=None):
    return reply(q)
"""
    edited = """
#HEADER
def ask(q, ADDRESS=None):
    return reply(q).upper() + "-v2"
"""
    r = run_fresh(
        str(tmp_path),
        {"bot": BOT_OTHERMOD, "helpers": pure},
        ["x", "y"],
        edits={1: {"helpers": edited}},
    )
    assert r[0] == "one"
    # README: "A session paused in a plain helper whose code has changed since is refused at
    # load" -- or, at the very least, the new code runs after the reply, as it would in Python
    assert r[1].startswith("!SessionCodeError") or r[1] == "got X-v2", r


def test_plain_method_using_super_resumes_or_refusal_names_super(tmp_path):
    bot = {
        "bot": """
#HEADER
class Base:
    def ask(self, q):
        return reply(q) + "b"
class Kid(Base):
    def ask(self, q):
        r = super().ask(q)
        return r + "k"
@autograms_function()
def chatbot():
    reply(Kid().ask("q"))
"""
    }
    plain = run_plain(str(tmp_path / "p"), bot, ["x", "y"])
    assert plain == ["q", "xbk", None]
    got = run_engine(str(tmp_path / "e"), bot, ["x", "y"], roundtrip=True)
    assert got == plain or "super()" in got[-1].replace(str(tmp_path), ""), got


def test_goto_inside_a_plain_helper_loops_or_the_refusal_names_the_helper(tmp_path):
    bot = {
        "bot": """
#HEADER
def ask(q):
    a = reply(q, ADDRESS="h")
    if a != "ok":
        GOTO("h")
    return a + "!"
@autograms_function()
def chatbot():
    first = reply("first")
    reply(first + ask("say ok"))
"""
    }
    got = run_engine(str(tmp_path / "e"), bot, ["5", "no", "ok"], roundtrip=True)
    assert got[:2] == ["first", "say ok"]
    if got == ["first", "say ok", "say ok", "5ok!"]:
        return  # resumed as the same program written with a loop
    msg = got[2].replace(str(tmp_path), "")
    assert msg.startswith("!") and " ask" in msg and "in chatbot" not in msg, got


def test_helper_with_comprehension_after_its_reply_resumes_on_every_python(tmp_path):
    bot = {
        "bot": """
#HEADER
def ask(qs):
    a = reply(qs[0])
    return {q: a for q in qs}
@autograms_function()
def chatbot():
    reply(str(ask(["a", "b"])))
"""
    }
    assert same_everywhere(tmp_path, bot, ["x", "y"]) == ["a", "{'a': 'x', 'b': 'x'}", None]


def _paused(tmp_path, source):
    import importlib

    from autograms import Autogram

    from tests.outside.s5b_harness import write_package

    pkg = write_package(str(tmp_path), {"bot": source}, plain=False)
    mod = importlib.import_module(pkg + ".bot")
    ag = Autogram(root_function=mod.chatbot, test_mode=True)
    _, m = ag.reply()
    return ag, m


def test_pending_frames_of_a_plain_helper_carry_its_address_label(tmp_path):
    ag, m = _paused(
        tmp_path,
        """
#HEADER
def ask(q, extra):
    tmp = extra * 2
    a = reply(q, ADDRESS="inask")
    return a + tmp
@autograms_function()
def chatbot():
    x = ask("q", "e")
    reply(x)
""",
    )
    frames = ag.pending_frames(m)
    assert [f.qualname for f in frames] == ["chatbot", "ask"]
    assert frames[-1].locals == {"q": "q", "extra": "e", "tmp": "ee"}
    assert frames[-1].label == "inask"
    assert m.memory_dict["stack"][-1]["address"] == "inask"


@pytest.mark.xfail(
    strict=False,
    reason="by design (docs/engine.md, 'Code objects after a resume'): a resumed frame runs "
    "its function's resume twin, another code object than __code__ (and a decorated "
    "function's frame runs its instrumented code or a variant of it)",
)
def test_current_frame_code_is_the_functions_code_before_and_after_resume(tmp_path):
    bot = {
        "bot": """
#HEADER
import inspect
def ask(q):
    c = inspect.currentframe().f_code
    a = reply(q)
    c2 = inspect.currentframe().f_code
    return f"{c is ask.__code__} {c2 is ask.__code__} {c is c2}"
@autograms_function()
def chatbot():
    c = inspect.currentframe().f_code
    x = ask("q")
    c2 = inspect.currentframe().f_code
    reply(f"{x} | {c is chatbot.__code__} {c2 is chatbot.__code__} {c is c2}")
"""
    }
    assert run_plain(str(tmp_path / "p"), bot, ["a", "b"])[1] == "True True True | True True True"
    got = run_engine(str(tmp_path / "e"), bot, ["a", "b"], roundtrip=False)
    assert got[1] == "True True True | True True True", got


def test_current_frame_code_names_the_function_before_and_after_resume(tmp_path):
    """What holds of the code a resumed frame runs (docs/engine.md, 'Code objects after a
    resume'): the function's name, qualified name, file, first line, arguments and locals
    (first, in their order)."""
    bot = {
        "bot": """
#HEADER
import inspect
def shape(c, f):
    names = ("co_name", "co_qualname", "co_filename", "co_firstlineno", "co_argcount")
    own = f.__code__.co_varnames
    return all(getattr(c, n) == getattr(f.__code__, n) for n in names) and (
        c.co_varnames[: len(own)] == own
    )
def ask(q):
    a = reply(q)
    return str(shape(inspect.currentframe().f_code, ask)) + a
@autograms_function()
def chatbot():
    before = shape(inspect.currentframe().f_code, chatbot)
    x = ask("q")
    reply(f"{before} {x} {shape(inspect.currentframe().f_code, chatbot)}")
"""
    }
    assert same_everywhere(tmp_path, bot, ["a", "b"]) == ["q", "True Truea True", None]
