"""Session 6, breaker 10: entries appended to memory_dict['model_turns'] keep their types.

README: "An entry appended to `model_turns` comes back equal and of the same types after any
round trip". Checked in process, after serialize/deserialize and a turn, and after save/load in
a fresh process. Also: the code cache shared by three Pythons (labelled pauses resume, others
are refused naming both versions).
"""

import collections
import datetime
import decimal
import enum
import fractions
import math
import subprocess
import sys
from pathlib import Path

import pytest

from autograms import Autogram, autograms_function
from autograms.functional import reply
from tests.outside.s6b10_support import run_turn_fresh, write_bot


@autograms_function()
def chatbot():
    while True:
        reply("q")


class Color(enum.IntEnum):
    RED = 1


class Label(str):
    pass


ENTRIES = {
    "bools": {"a": True, "b": False, "l": [True, 1, None, 0.0]},
    "big_ints": {"x": 2**63, "y": -(2**63) - 1, "z": 2**64, "w": 2**63 - 1, "v": -(2**63)},
    "int_enum": {"c": Color.RED},
    "str_subclass": {"s": Label("hi")},
    "nul_key_nested": {"d": {"a\x00b": 1}, "l": [{"k\x00": 2}]},
    "nul_key_top": {"a\x00b": 1},
    "nul_value": {"v": "a\x00b"},
    "floats": {"f": 1.5, "inf": float("inf"), "negz": -0.0, "one": 1.0, "nan": float("nan")},
    "tuple_in_list": {"l": [1, (2, 3)]},
    "bytes": {"b": b"\x00\xff"},
    "int_and_bool_keys": {"d": {1: "a", None: "c", 2.5: "f"}, "b": {True: "b"}},
    "lone_surrogate": {"s": "\ud800"},
    "ordered_dict": {"o": collections.OrderedDict(a=1)},
    "decimal_fraction_complex": {
        "d": decimal.Decimal("1.10"),
        "f": fractions.Fraction(1, 3),
        "c": 1j,
    },
    "datetime": {"t": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)},
    "json_lookalike_keys": {"$pickle": "abc", "__pickled__": "x", "__tuple__": [1]},
    "not_a_dict": [1, "two", (3,)],
}


def same(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, dict):
        return [(type(k), k) for k in a] == [(type(k), k) for k in b] and all(
            same(a[k], b[k]) for k in a
        )
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.mark.parametrize("kind", sorted(ENTRIES))
def test_appended_entry_keeps_types_in_process_and_after_round_trip(kind):
    entry = ENTRIES[kind]
    ag = Autogram(root_function=chatbot, test_mode=True)
    _, m = ag.reply()
    m.memory_dict["model_turns"].append(entry)
    assert same(entry, m.memory_dict["model_turns"][-1])
    m2 = ag.deserialize(ag.serialize(m))
    assert same(entry, m2.memory_dict["model_turns"][-1])
    _, m3 = ag.reply("x", memory_object=m2)
    m4 = ag.deserialize(ag.serialize(m3))
    assert any(same(entry, e) for e in m4.memory_dict["model_turns"])


def test_entry_mutated_after_append_is_saved_as_mutated():
    ag = Autogram(root_function=chatbot, test_mode=True)
    _, m = ag.reply()
    entry = {"a": 1}
    m.memory_dict["model_turns"].append(entry)
    entry["b"] = (2, 3)
    # plain Python: the list holds the very dict, so its last item shows the change
    assert m.memory_dict["model_turns"][-1] == {"a": 1, "b": (2, 3)}
    m2 = ag.deserialize(ag.serialize(m))
    assert m2.memory_dict["model_turns"][-1] == {"a": 1, "b": (2, 3)}


FRESH_BOT = """
    import datetime
    from autograms import autograms_function
    from autograms.functional import reply
    from autograms.memory import get_memory

    @autograms_function()
    def chatbot():
        while True:
            reply("q")
"""

CHECK = """
import datetime, sys
sys.path.insert(0, ".")
from autograms import Autogram
import {name} as mod
ag = Autogram(root_function=mod.chatbot, test_mode=True)
if sys.argv[1] == "write":
    _, m = ag.reply()
    m.memory_dict["model_turns"].append(
        {{"t": (1, 2), "k": {{3: b"x"}}, "d": datetime.date(2026, 1, 2), "big": 2**70, "b": True}}
    )
    ag.save("s.session", m)
else:
    m = ag.load("s.session")
    e = m.memory_dict["model_turns"][-1]
    print(repr(e), [type(v).__name__ for v in e.values()])
"""


def test_appended_entry_keeps_types_in_fresh_process(tmp_path):
    name = write_bot(tmp_path, FRESH_BOT)
    (tmp_path / "check.py").write_text(CHECK.format(name=name))
    env = {"AUTOGRAMS_CODE_CACHE": str(tmp_path / "cache")}
    import os

    env = dict(os.environ, **env)
    for arg in ("write", "read"):
        proc = subprocess.run(
            [sys.executable, "check.py", arg],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert proc.returncode == 0, proc.stderr[-1500:]
    assert proc.stdout.strip() == (
        "{'t': (1, 2), 'k': {3: b'x'}, 'd': datetime.date(2026, 1, 2), 'big': 1180591620717411303424, 'b': True}"
        " ['tuple', 'dict', 'date', 'int', 'bool']"
    )


LABELLED = """
    from autograms import autograms_function
    from autograms.functional import reply

    @autograms_function()
    def chatbot():
        total = 0
        a = reply("n0", ADDRESS="a")
        total += len(a)
        b = reply("n1", ADDRESS="b")
        total += len(b)
        reply(f"total {total}")
"""

VENVS = Path(__file__).resolve().parents[2] / ".venv"


def _python(version):
    p = VENVS / version / "bin" / "python"
    if not p.exists():
        pytest.skip(f"no venv for {version}")
    return str(p)


def test_code_cache_shared_by_three_pythons(tmp_path):
    pys = [_python(v) for v in ("3.12.1", "3.11.7", "3.13.0")]
    name = write_bot(tmp_path, LABELLED)
    cache, session = tmp_path / "cache", tmp_path / "s"
    assert run_turn_fresh(tmp_path, name, session, "", cache, python=pys[0]) == "n0"
    assert run_turn_fresh(tmp_path, name, session, "abc", cache, python=pys[1]) == "n1"
    assert run_turn_fresh(tmp_path, name, session, "de", cache, python=pys[2]) == "total 5"
    # paused at the unlabelled final reply: another Python refuses it, naming both versions
    out = run_turn_fresh(tmp_path, name, session, "x", cache, python=pys[0])
    assert out[:2] == ("error", "SessionCodeError")
    assert "3.13" in out[2] and "3.12" in out[2] and "ADDRESS" in out[2]
    # the session is left as it was: 3.13 continues it (the root returns: None)
    assert run_turn_fresh(tmp_path, name, session, "x", cache, python=pys[2]) is None
