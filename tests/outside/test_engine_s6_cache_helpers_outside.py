"""Session 6, breaker 10: code cache, plain helpers, super(), decorator wrappers, model_turns.

Every expected value is what the same program gives in plain Python, `reply` returning the
user's next message. Bots are written to tmp_path; fresh-process runs use a private code cache.
"""

import shutil
import sys
from pathlib import Path

import pytest

from tests.outside.s6b10_support import (
    _import,
    run_fresh,
    run_in_process,
    run_turn_fresh,
    write_bot,
)

WRAPPED_TWICE = """
    import functools
    from autograms import autograms_function
    from autograms.functional import reply

    def logged(f):
        @autograms_function()
        @functools.wraps(f)
        def wrapper(*a, **k):
            r = f(*a, **k)
            return f.__name__ + ":" + r
        return wrapper

    @logged
    @autograms_function()
    def ask(q):
        return reply(q).strip()

    @logged
    @autograms_function()
    def ask2(q):
        return reply(q).upper()

    @autograms_function()
    def chatbot():
        a = ask("first")
        b = ask2("second")
        reply(f"got {a}|{b}")
"""
# plain Python: ask2's wrapper closes over ask2, so b == "ask2: Y "
WRAPPED_TWICE_EXPECTED = ["first", "second", "got ask:x|ask2: Y "]


def plain_or_refused(outs, expected):
    """The plain result, or a clear refusal (README: decorating a nested function is refused)."""
    if outs == expected:
        return True
    last = outs[-1]
    return (
        isinstance(last, tuple)
        and last[1] in ("ContinuationError", "SessionCodeError")
        and outs[:-1] == expected[: len(outs) - 1]
    )


@pytest.mark.parametrize("roundtrip", [False, True])
def test_wrapper_of_same_decorator_resumes_with_its_own_closure_in_process(tmp_path, roundtrip):
    name = write_bot(tmp_path, WRAPPED_TWICE)
    outs = run_in_process(tmp_path, name, [" x ", " y "], roundtrip=roundtrip)
    assert plain_or_refused(outs, WRAPPED_TWICE_EXPECTED), outs


def test_wrapper_of_same_decorator_resumes_with_its_own_closure_fresh_process(tmp_path):
    name = write_bot(tmp_path, WRAPPED_TWICE)
    outs = run_fresh(tmp_path, name, [" x ", " y "])
    assert plain_or_refused(outs, WRAPPED_TWICE_EXPECTED), outs


LABEL_CONSTANT = """
    from autograms import autograms_function
    from autograms.functional import reply, GOTO

    AGE = "age"

    @autograms_function()
    def chatbot():
        age = reply("age?", ADDRESS=AGE)
        if not age.isdigit():
            reply("number please")
            GOTO(AGE)
        reply(f"ok {age}")
"""


def test_goto_to_label_given_by_module_constant_works_like_literal(tmp_path):
    name = write_bot(tmp_path, LABEL_CONSTANT)
    # the same bot with ADDRESS="age" / GOTO("age") gives exactly this
    assert run_in_process(tmp_path, name, ["x", "y", "5"]) == [
        "age?",
        "number please",
        "age?",
        "ok 5",
    ]


def test_goto_to_literal_label_works(tmp_path):
    name = write_bot(
        tmp_path, LABEL_CONSTANT.replace("=AGE", '="age"').replace("GOTO(AGE)", 'GOTO("age")')
    )
    assert run_in_process(tmp_path, name, ["x", "y", "5"]) == [
        "age?",
        "number please",
        "age?",
        "ok 5",
    ]


HELPER = """
    from autograms import autograms_function
    from autograms.functional import reply

    def ask(q):
        return reply(q)

    @autograms_function()
    def chatbot():
        a = ask("first")
        b = ask("second")
        reply(f"got {a}|{b}")
"""


def test_refusal_of_helper_decorated_since_is_deterministic(tmp_path):
    name = write_bot(tmp_path, HELPER)
    cache = tmp_path / "cache"
    session = tmp_path / "s.session"
    assert run_turn_fresh(tmp_path, name, session, "", cache) == "first"
    assert run_turn_fresh(tmp_path, name, session, "A", cache) == "second"
    # the same code object, now decorated by assignment (no line moves)
    path = tmp_path / f"{name}.py"
    path.write_text(path.read_text() + "\nask = autograms_function()(ask)\n")
    first = run_turn_fresh(tmp_path, name, session, "B", cache)
    second = run_turn_fresh(tmp_path, name, session, "B", cache)
    assert first[:2] == ("error", "SessionCodeError")
    assert first == second


def test_plain_helper_returning_reply_edited_between_processes_is_refused(tmp_path):
    name = write_bot(tmp_path, HELPER)
    cache = tmp_path / "cache"
    session = tmp_path / "s.session"
    assert run_turn_fresh(tmp_path, name, session, "", cache) == "first"
    path = tmp_path / f"{name}.py"
    path.write_text(path.read_text().replace("return reply(q)", "return reply(q + '!')"))
    out = run_turn_fresh(tmp_path, name, session, "A", cache)
    assert out[:2] == ("error", "SessionCodeError")
    assert "ask" in out[2]


SUPER = """
    from autograms import autograms_function
    from autograms.functional import reply

    class Base:
        def ask(self, q):
            return reply(q)

        @classmethod
        def cask(cls, q):
            return reply(f"{cls.__name__}:{q}")

    class Strip(Base):
        def ask(self, q):
            t = super().ask(q)
            return t.strip()

        @classmethod
        def cask(cls, q):
            t = super().cask(q)
            return t + "!" + cls.__name__

    class Upper(Base):
        def ask(self, q):
            t = super().ask(q + "?")
            return t.upper() + type(self).__name__

    class Both(Strip, Upper):
        def ask(self, q):
            r = super().ask(q)
            return "<" + r + ">"

    @autograms_function()
    def chatbot():
        a = Both().ask("one")
        c = Both.cask("two")
        d = Strip().ask("three")
        reply(f"{a}|{c}|{d}")
"""
SUPER_EXPECTED = ["one?", "Both:two", "three", "<X Both>|y!Both|z"]


@pytest.mark.parametrize("roundtrip", [False, True])
def test_super_in_mixin_hierarchy_and_classmethod_resumes_in_process(tmp_path, roundtrip):
    name = write_bot(tmp_path, SUPER)
    assert (
        run_in_process(tmp_path, name, [" x ", "y", " z "], roundtrip=roundtrip) == SUPER_EXPECTED
    )


def test_super_in_mixin_hierarchy_resumes_fresh_process_warm_and_cold_cache(tmp_path):
    name = write_bot(tmp_path, SUPER)
    cache = tmp_path / "cache"
    assert (
        run_fresh(tmp_path, name, [" x ", "y", " z "], cache=cache, session=tmp_path / "a")
        == SUPER_EXPECTED
    )
    # again with the cache filled by the first run
    assert (
        run_fresh(tmp_path, name, [" x ", "y", " z "], cache=cache, session=tmp_path / "b")
        == SUPER_EXPECTED
    )


def test_overridden_method_edited_between_processes_is_refused(tmp_path):
    name = write_bot(tmp_path, SUPER)
    cache = tmp_path / "cache"
    session = tmp_path / "s"
    assert run_turn_fresh(tmp_path, name, session, "", cache) == "one?"
    path = tmp_path / f"{name}.py"
    path.write_text(
        path.read_text().replace("return t.upper() + type(self).__name__", "return t.lower()")
    )
    out = run_turn_fresh(tmp_path, name, session, " x ", cache)
    assert out[:2] == ("error", "SessionCodeError")


LOOP = """
    from autograms import autograms_function
    from autograms.functional import reply

    @autograms_function()
    def chatbot():
        total = 0
        for i in range(3):
            t = reply(f"n{i}")
            total += len(t)
        reply(f"total {total}")
"""


def _damage(cache, how):
    files = [p for p in Path(cache).rglob("*") if p.is_file()]
    assert files
    for p in files:
        data = bytearray(p.read_bytes())
        if how == "flip":
            for i in range(len(data) // 2, min(len(data), len(data) // 2 + 40)):
                data[i] ^= 0x55
        elif how == "truncate":
            data = data[:100]
        elif how == "empty":
            data = b""
        elif how == "swap":
            continue
        p.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["flip", "truncate", "empty"])
def test_damaged_code_cache_between_turns_gives_plain_result(tmp_path, how):
    name = write_bot(tmp_path, LOOP)
    cache = tmp_path / "cache"
    session = tmp_path / "s"
    outs = [run_turn_fresh(tmp_path, name, session, "", cache)]
    _damage(cache, how)
    for text in ["ab", "abc", "abcd"]:
        outs.append(run_turn_fresh(tmp_path, name, session, text, cache))
        _damage(cache, how)
    assert outs == ["n0", "n1", "n2", "total 9"]


def _cache_entries(cache, module):
    """The code cache's entries of `module`'s functions (one folder per function), in the
    same order for two modules with the same functions: by qualname, entry before twin."""
    files = [p for p in cache.rglob("*") if p.is_file() and p.parent.name.startswith(f"{module}.")]
    return sorted(files, key=lambda p: (p.parent.name[len(module) :], p.name.endswith(".twin")))


def test_cache_entry_of_another_function_copied_over_is_not_used(tmp_path):
    other = write_bot(tmp_path, LOOP.replace("len(t)", "2 * len(t)"))
    name = write_bot(tmp_path, LOOP)
    cache = tmp_path / "cache"
    assert run_turn_fresh(tmp_path, other, tmp_path / "o", "", cache) == "n0"
    assert run_turn_fresh(tmp_path, name, tmp_path / "s", "", cache) == "n0"
    mine, theirs = _cache_entries(cache, name), _cache_entries(cache, other)
    assert len(mine) == len(theirs) >= 1
    for src, dst in zip(theirs, mine, strict=True):
        shutil.copyfile(src, dst)
    outs = [run_turn_fresh(tmp_path, name, tmp_path / "s", t, cache) for t in ["ab", "abc", "abcd"]]
    assert outs == ["n1", "n2", "total 9"]


def test_two_processes_at_once_share_a_cold_cache(tmp_path):
    import subprocess

    name = write_bot(tmp_path, LOOP)
    cache = tmp_path / "cache"
    # fill sessions at turn 1 (warming nothing yet: separate cache), then race two cold processes
    cold = tmp_path / "cold"
    for s in ("s1", "s2"):
        assert run_turn_fresh(tmp_path, name, tmp_path / s, "", cold) == "n0"
    import os

    env = dict(os.environ, AUTOGRAMS_CODE_CACHE=str(cache))
    procs = [
        subprocess.Popen(
            [sys.executable, str(tmp_path / "b10_driver.py"), name, str(tmp_path / s), "xy"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for s in ("s1", "s2")
    ]
    try:
        results = [p.communicate(timeout=30) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert [r[0].strip() for r in results] == ['{"out": "n1"}'] * 2
    for s in ("s1", "s2"):
        assert run_turn_fresh(tmp_path, name, tmp_path / s, "z", cache) == "n2"
        assert run_turn_fresh(tmp_path, name, tmp_path / s, "z", cache) == "total 4"


LRU = """
    import functools
    from autograms import autograms_function
    from autograms.functional import reply

    @functools.lru_cache(maxsize=None)
    def ask(q):
        return reply(q)

    @autograms_function()
    def chatbot():
        a = ask("first")
        reply(f"got {a}")
"""


def test_pause_under_lru_cache_is_refused(tmp_path):
    name = write_bot(tmp_path, LRU)
    from autograms import Autogram
    from autograms import ContinuationError

    mod = _import(tmp_path, name)
    with pytest.raises(ContinuationError):
        Autogram(root_function=mod.chatbot, test_mode=True).reply()


def test_pause_under_lru_cache_refusal_names_the_cache_wrapper(tmp_path):
    name = write_bot(tmp_path, LRU)
    from autograms import Autogram
    from autograms import ContinuationError

    mod = _import(tmp_path, name)
    with pytest.raises(ContinuationError) as info:
        Autogram(root_function=mod.chatbot, test_mode=True).reply()
    assert "lru_cache" in str(info.value).replace(str(tmp_path), "")


CLASS_DECORATOR = """
    import functools
    from autograms import autograms_function
    from autograms.functional import reply

    class Logged:
        def __init__(self, f):
            self.f = f
            functools.update_wrapper(self, f)

        def __call__(self, *a):
            r = self.f(*a)
            return self.f.__name__ + ":" + r

    @Logged
    def ask(q):
        return reply(q).strip()

    @Logged
    def ask2(q):
        return reply(q).upper()

    @autograms_function()
    def chatbot():
        a = ask("first")
        b = ask2("second")
        reply(f"got {a}|{b}")
"""


@pytest.mark.parametrize("mode", ["in_process", "roundtrip", "fresh"])
def test_class_based_decorator_on_two_helpers_resumes_each_with_its_own_function(tmp_path, mode):
    name = write_bot(tmp_path, CLASS_DECORATOR)
    if mode == "fresh":
        outs = run_fresh(tmp_path, name, [" x ", " y "])
    else:
        outs = run_in_process(tmp_path, name, [" x ", " y "], roundtrip=mode == "roundtrip")
    assert outs == WRAPPED_TWICE_EXPECTED


SUPER_AFTER_RESUME = """
    from autograms import autograms_function
    from autograms.functional import reply

    class Base:
        def ask(self, q):
            return reply(q)

        @classmethod
        def make(cls, q):
            return reply(q)

        def tag(self):
            return "B"

    class Mixin:
        def tag(self):
            return "M" + super().tag()

    class Child(Mixin, Base):
        def ask(self, q):
            t = super().ask(q)
            u = super().ask(q + "2")
            return t + u + super().tag() + str(__class__ is Child)

        @classmethod
        def make(cls, q):
            a = super().make(q)
            b = super().make(q + "2")
            return a + b + cls.__name__

    class Grand(Child):
        def tag(self):
            return "G"

    @autograms_function()
    def chatbot():
        a = Grand().ask("one")
        c = Grand.make("two")
        reply(f"{a}|{c}")
"""


@pytest.mark.parametrize("decorated", [False, True])
@pytest.mark.parametrize("mode", ["in_process", "roundtrip", "fresh"])
def test_super_and_class_cell_after_resume_in_plain_and_decorated_methods(
    tmp_path, mode, decorated
):
    source = SUPER_AFTER_RESUME
    if decorated:
        source = source.replace(
            "        def ask(self, q):\n            t = super()",
            "        @autograms_function()\n        def ask(self, q):\n            t = super()",
        ).replace(
            "        @classmethod\n        def make(cls, q):\n            a = super()",
            "        @classmethod\n        @autograms_function()\n        def make(cls, q):\n            a = super()",
        )
        assert source.count("@autograms_function()") == 3
    name = write_bot(tmp_path, source)
    inputs = ["a", "b", "c", "d"]
    if mode == "fresh":
        outs = run_fresh(tmp_path, name, inputs)
    else:
        outs = run_in_process(tmp_path, name, inputs, roundtrip=mode == "roundtrip")
    assert outs == ["one", "one2", "two", "two2", "abMBTrue|cdGrand"]


LABEL_BELOW = """
    from autograms import autograms_function
    from autograms.functional import reply, GOTO

    @autograms_function()
    def chatbot():
        age = reply("age?", ADDRESS=AGE)
        if not age.isdigit():
            reply("number please")
            GOTO(AGE)
        reply(f"ok {age}")

    AGE = "age"
"""

LABEL_ATTRIBUTE = """
    from autograms import autograms_function
    from autograms.functional import reply, GOTO

    class Labels:
        AGE = "age"

    @autograms_function()
    def chatbot():
        age = reply("age?", ADDRESS=Labels.AGE)
        if not age.isdigit():
            reply("number please")
            GOTO(Labels.AGE)
        reply(f"ok {age}")
"""


def _plain_goto_or_clear_refusal(outs, expression):
    if outs == ["age?", "number please", "age?", "ok 5"]:
        return True
    last = outs[-1]
    # a refusal must say why the call is not a label, not that the function has none
    return isinstance(last, tuple) and expression in last[2] and "labels: none" not in last[2]


def test_goto_to_label_constant_defined_below_the_function(tmp_path):
    name = write_bot(tmp_path, LABEL_BELOW)
    outs = run_in_process(tmp_path, name, ["x", "y", "5"])
    assert _plain_goto_or_clear_refusal(outs, "AGE"), outs


def test_goto_to_label_given_by_class_attribute(tmp_path):
    name = write_bot(tmp_path, LABEL_ATTRIBUTE)
    outs = run_in_process(tmp_path, name, ["x", "y", "5"])
    assert _plain_goto_or_clear_refusal(outs, "Labels.AGE"), outs


def test_label_constants_swapped_between_processes_same_with_and_without_cache(tmp_path):
    source = """
        from autograms import autograms_function
        from autograms.functional import reply, GOTO

        FIRST = "first"
        SECOND = "second"

        @autograms_function()
        def chatbot():
            name = reply("name?", ADDRESS=FIRST)
            age = reply("age?", ADDRESS=SECOND)
            if not age.isdigit():
                reply("number please")
                GOTO(SECOND)
            reply(f"{name} {age}")
    """
    results = []
    for cache in ("off", str(tmp_path / "cache")):
        name = write_bot(tmp_path, source)
        session = tmp_path / f"{name}.session"
        outs = [run_turn_fresh(tmp_path, name, session, t, cache) for t in ("", "ann", "xx")]
        path = tmp_path / f"{name}.py"
        text = path.read_text()
        text = text.replace('FIRST = "first"', 'FIRST = "tmp"').replace(
            'SECOND = "second"', 'SECOND = "first"'
        )
        path.write_text(text.replace('FIRST = "tmp"', 'FIRST = "second"'))
        outs += [run_turn_fresh(tmp_path, name, session, t, cache) for t in ("yy", "7")]
        results.append(outs)
    # the call GOTO(SECOND) names is the age call in both versions of the module
    assert results[0] == results[1] == ["name?", "age?", "number please", "age?", "ann 7"]
