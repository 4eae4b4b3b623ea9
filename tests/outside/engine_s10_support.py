"""Outside tester s10 (engine): a differential harness and a random bot generator.

A bot is module source with a root ``chatbot()``. The harness runs it four ways and compares the
transcripts turn by turn:

- ``oracle``: plain Python. The module is imported with a header that makes
  ``autograms_function`` the identity and ``reply`` a call that hands its text to the driver and
  blocks on a queue for the next scripted message (the program runs in a thread of its own).
- ``in_process``: ``Autogram(root_function=chatbot, test_mode=True).reply(...)`` turn by turn.
- ``serialized``: the same with ``deserialize(serialize(memory))`` before every turn.
- ``fresh``: a new interpreter per turn loads the session file, replies and saves it (one
  interpreter serves the same turn of a whole batch of bots).

A transcript is a list of turns ``(printed_lines, outcome)``; an outcome is ``("reply", text)``,
``("end",)`` (the root returned) or ``("error", type_name, message)``. A run stops at the first
outcome that is not a reply. A ``ContinuationError`` from the engine is a refusal, which the
engine's promise allows; anything else that differs from the oracle is a divergence.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import io
import itertools
import json
import os
import queue
import random
import subprocess
import sys
import threading
from dataclasses import dataclass, field

ENGINE_HEADER = (
    "from autograms import autograms_function\n"
    "from autograms.functional import reply, GOTO, RETURNTO\n"
    "# (two lines so that line numbers match the oracle's header)\n"
    "#\n"
)
ORACLE_HEADER = (
    "from s10_oracle_runtime import oracle_function as autograms_function\n"
    "from s10_oracle_runtime import oracle_reply as reply\n"
    "from s10_oracle_runtime import oracle_goto as GOTO\n"
    "from s10_oracle_runtime import oracle_goto as RETURNTO\n"
)
ORACLE_TIMEOUT = 10.0
_counter = itertools.count()


# --------------------------------------------------------------------------- the oracle


class _Stop(BaseException):
    """Raised inside an abandoned oracle thread so that it ends."""


class _Channel:
    def __init__(self) -> None:
        self.to_program: queue.Queue = queue.Queue()
        self.to_driver: queue.Queue = queue.Queue()


_channels: dict[int, _Channel] = {}


def oracle_function(*_args, **_kwargs):
    """Plain Python's ``@autograms_function()``: leaves the function alone."""

    def decorate(fn):
        return fn

    return decorate


def oracle_reply(text, **_kwargs):
    """Plain Python's ``reply``: hands the text over and waits for the next message."""
    channel = _channels[threading.get_ident()]
    channel.to_driver.put(("reply", str(text)))
    message = channel.to_program.get()
    if message is _Stop:
        raise _Stop()
    return message


def oracle_goto(*_args, **_kwargs):
    raise AssertionError("GOTO/RETURNTO have no plain-Python meaning; use a reference program")


class _CaptureOut(io.StringIO):
    pass


def run_oracle(source: str, script: list[str], folder: str) -> list:
    """The transcript of ``source`` run as plain Python, one turn per scripted message."""
    sys.modules["s10_oracle_runtime"] = sys.modules[__name__]
    module = load_module(ORACLE_HEADER + source, folder)
    channel = _Channel()
    started = threading.Event()

    def body():
        _channels[threading.get_ident()] = channel
        started.set()
        channel.to_program.get()  # the first message starts the program
        try:
            module.chatbot()
        except _Stop:
            return
        except BaseException as exc:  # noqa: BLE001 - the transcript records it
            channel.to_driver.put(("error", type(exc).__name__, str(exc)))
            return
        channel.to_driver.put(("end",))

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    started.wait()
    transcript = []
    old = sys.stdout
    try:
        for message in script:
            buffer = _CaptureOut()
            sys.stdout = buffer
            channel.to_program.put(message)
            try:
                outcome = channel.to_driver.get(timeout=ORACLE_TIMEOUT)
            except queue.Empty:
                outcome = ("timeout",)
            sys.stdout = old
            transcript.append((buffer.getvalue().splitlines(), outcome))
            if outcome[0] != "reply":
                break
    finally:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the abandoned thread's finally blocks
        if thread.is_alive():
            channel.to_program.put(_Stop)
            thread.join(ORACLE_TIMEOUT)
        sys.stdout.close()
        sys.stdout = old
    return transcript


# --------------------------------------------------------------------------- the engine


def load_module(source: str, folder: str, name: str | None = None):
    """Import ``source`` as a new module written into ``folder``."""
    name = name or f"s10bot_{os.getpid()}_{next(_counter)}"
    path = os.path.join(folder, name + ".py")
    with open(path, "w") as handle:
        handle.write(source)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    importlib.invalidate_caches()
    return importlib.import_module(name)


def _outcome_of(call):
    try:
        text, memory = call()
    except Exception as exc:  # noqa: BLE001 - the transcript records it
        from autograms._frames import ContinuationError

        if isinstance(exc, ContinuationError):
            return ("refused", type(exc).__name__, str(exc)), None
        return ("error", type(exc).__name__, str(exc)), None
    return (("end",) if text is None else ("reply", text)), memory


def collect_leftovers() -> None:
    """Collect what earlier cases left for the garbage collector, their output discarded.

    A case whose pause is refused leaves its unwound generators to the collector, and their
    ``finally`` would print into whichever case runs when it next collects. That leak is
    tracked on its own by test_engine_s13_outside's strict xfails (a refused or failed turn's
    finalizers reaching a later turn); here each case is kept to its own output.
    """
    with contextlib.redirect_stdout(io.StringIO()):
        gc.collect()


def run_engine(source: str, script: list[str], folder: str, mode: str, name=None) -> list:
    """The transcript of ``source`` under the engine, ``mode`` in_process, serialized or forked.

    ``forked`` runs a discarded turn with another message from ``memory_dict`` before each turn.
    """
    from autograms import Autogram

    collect_leftovers()
    module = load_module(ENGINE_HEADER + source, folder, name)
    autogram = Autogram(root_function=module.chatbot, test_mode=True)
    memory = None
    transcript = []
    for index, message in enumerate(script):
        if memory is not None and mode == "serialized":
            memory = autogram.deserialize(autogram.serialize(memory))
        if memory is not None and mode == "forked":
            # a discarded turn from a new memory of the same session first (a user editing
            # their message; README: memory_dict continues it "as a new memory: the session it
            # came from is left as it was")
            with contextlib.redirect_stdout(io.StringIO()):
                _outcome_of(
                    lambda: autogram.reply(message + "?!", memory_dict=memory.memory_dict)  # noqa: B023
                )
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            if index == 0:
                outcome, new = _outcome_of(lambda: autogram.reply())
            else:
                outcome, new = _outcome_of(
                    lambda: autogram.reply(message, memory_object=memory)  # noqa: B023
                )
        transcript.append((buffer.getvalue().splitlines(), outcome))
        if outcome[0] != "reply":
            break
        memory = new
    return transcript


def run_interleaved(source: str, scripts: list[list[str]], folder: str) -> list[list]:
    """Transcripts of several conversations of one bot, their turns taken in turn in process."""
    from autograms import Autogram

    module = load_module(ENGINE_HEADER + source, folder)
    autogram = Autogram(root_function=module.chatbot, test_mode=True)
    memories: list = [None] * len(scripts)
    transcripts: list[list] = [[] for _ in scripts]
    for index in range(max(len(script) for script in scripts)):
        for who, script in enumerate(scripts):
            done = transcripts[who] and transcripts[who][-1][1][0] != "reply"
            if index >= len(script) or done:
                continue
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                if index == 0:
                    outcome, new = _outcome_of(lambda: autogram.reply())
                else:
                    outcome, new = _outcome_of(
                        lambda: autogram.reply(script[index], memory_object=memories[who])  # noqa: B023
                    )
            transcripts[who].append((buffer.getvalue().splitlines(), outcome))
            memories[who] = new
    return transcripts


_FRESH_DRIVER = r"""
import contextlib, gc, importlib, io, json, sys
sys.path.insert(0, sys.argv[1])
from autograms import Autogram
from autograms._frames import ContinuationError
jobs = json.load(open(sys.argv[2]))
results = []
for job in jobs:
    with contextlib.redirect_stdout(io.StringIO()):
        gc.collect()  # what earlier jobs left (see collect_leftovers)
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            module = importlib.import_module(job["module"])
            autogram = Autogram(root_function=module.chatbot, test_mode=True)
            if job["first"]:
                text, memory = autogram.reply()
            else:
                memory = autogram.load(job["session"])
                text, memory = autogram.reply(job["message"], memory_object=memory)
            autogram.save(job["session"], memory)
        outcome = ["end"] if text is None else ["reply", text]
    except ContinuationError as exc:
        outcome = ["refused", type(exc).__name__, str(exc)]
    except Exception as exc:
        outcome = ["error", type(exc).__name__, str(exc)]
    results.append([buffer.getvalue().splitlines(), outcome])
json.dump(results, open(sys.argv[3], "w"))
"""


def run_fresh(bots: list[tuple[str, list[str]]], folder: str, timeout: float = 120.0) -> list:
    """Transcripts of several bots, each turn of all of them in one new interpreter."""
    names = []
    for index, (source, _script) in enumerate(bots):
        name = f"s10fresh_{os.getpid()}_{next(_counter)}_{index}"
        with open(os.path.join(folder, name + ".py"), "w") as handle:
            handle.write(ENGINE_HEADER + source)
        names.append(name)
    driver = os.path.join(folder, "s10_fresh_driver.py")
    with open(driver, "w") as handle:
        handle.write(_FRESH_DRIVER)
    transcripts: list[list] = [[] for _ in bots]
    live = set(range(len(bots)))
    turn = 0
    env = dict(os.environ)
    while live:
        order = sorted(i for i in live if turn < len(bots[i][1]))
        if not order:
            break
        jobs = [
            {
                "module": names[i],
                "first": turn == 0,
                "session": os.path.join(folder, names[i] + ".session"),
                "message": bots[i][1][turn],
            }
            for i in order
        ]
        jobs_path = os.path.join(folder, "s10_jobs.json")
        out_path = os.path.join(folder, "s10_results.json")
        with open(jobs_path, "w") as handle:
            json.dump(jobs, handle)
        done = subprocess.run(
            [sys.executable, driver, folder, jobs_path, out_path],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
        assert done.returncode == 0, f"fresh driver failed: {done.stderr[-3000:]}"
        with open(out_path) as handle:
            results = json.load(handle)
        for i, (lines, outcome) in zip(order, results, strict=True):
            transcripts[i].append((lines, tuple(outcome)))
            if outcome[0] != "reply":
                live.discard(i)
        live &= {i for i in live if turn + 1 < len(bots[i][1])}
        turn += 1
    return transcripts


def first_difference(expected: list, got: list):
    """None when ``got`` matches ``expected``, else (turn, expected turn, got turn)."""
    for turn, (want, have) in enumerate(zip(expected, got, strict=False)):
        if tuple(want[1]) != tuple(have[1]) or list(want[0]) != list(have[0]):
            return turn, want, have
    if len(expected) != len(got):
        return min(len(expected), len(got)), expected[len(got) :][:1], got[len(expected) :][:1]
    return None


def classify(expected: list, got: list) -> str:
    """'same', 'refused' (the engine refused where the oracle went on) or 'diverged'."""
    diff = first_difference(expected, got)
    if diff is None:
        return "same"
    _turn, _want, have = diff
    if isinstance(have, tuple) and have and have[1] and have[1][0] == "refused":
        return "refused"
    return "diverged"


# --------------------------------------------------------------------------- the generator

PRELUDE = """
import functools


class Boom(Exception):
    pass


class CM:
    def __init__(self, tag, swallow=False):
        self.tag = tag
        self.swallow = swallow

    def __enter__(self):
        print("enter", self.tag)
        return self.tag

    def __exit__(self, et, ev, tb):
        print("exit", self.tag, et.__name__ if et else None)
        return self.swallow


class Box:
    def __init__(self, v):
        self.v = v
        self.items = []

    def __repr__(self):
        return f"Box({self.v!r}, {self.items!r})"


SHARED = [1, 2, 3]
TABLE = {"k": [4, 5]}
SENT = object()


def score(s):
    return sum(map(ord, str(s))) % 7
"""

PRELUDE += """

import array
import collections
import dataclasses
import datetime
import enum
import fractions
import io
import itertools
import re
import types
import typing
import weakref
from zoneinfo import ZoneInfo


class Perm(enum.Flag):
    R = 1
    W = 2
    X = 4


@dataclasses.dataclass
class Cart:
    items: list = dataclasses.field(default_factory=list)
    note: str = ""


class Pt(typing.NamedTuple):
    x: int
    y: int = 0


class Lazy:
    def __init__(self, n):
        self.n = n
        self.calls = 0

    @functools.cached_property
    def sq(self):
        self.calls += 1
        return self.n * self.n


def make_state(kinds):
    base = {"a": 1, "b": 2}
    st = {"base": base}
    for kind in kinds:
        if kind == "deque":
            st[kind] = collections.deque([1, 2], maxlen=3)
        elif kind == "counter":
            st[kind] = collections.Counter("aab")
        elif kind == "odict":
            st[kind] = collections.OrderedDict(x=1, y=2)
        elif kind == "ddict":
            st[kind] = collections.defaultdict(list)
        elif kind == "array":
            st[kind] = array.array("i", [1])
        elif kind == "sio":
            st[kind] = io.StringIO("ab\\ncd\\nef\\n")
        elif kind == "count":
            st[kind] = itertools.count(3)
        elif kind == "iter":
            st[kind] = iter([10, 11, 12, 13, 14, 15])
        elif kind == "islice":
            st[kind] = itertools.islice(itertools.count(), 2, 40, 3)
        elif kind == "cycle":
            st[kind] = itertools.cycle("xyz")
        elif kind == "tee":
            st[kind] = itertools.tee(iter(range(50)))
        elif kind == "keys":
            st[kind] = base.keys()
        elif kind == "items":
            st[kind] = base.items()
        elif kind == "chain":
            st[kind] = collections.ChainMap({}, base)
        elif kind == "match":
            st[kind] = re.search(r"(?P<w>[a-z]+)(\\d*)", "--abc12--")
        elif kind == "dt":
            st[kind] = datetime.datetime(2024, 3, 10, 1, 30, tzinfo=ZoneInfo("America/New_York"))
        elif kind == "frac":
            st[kind] = fractions.Fraction(1, 3)
        elif kind == "flag":
            st[kind] = Perm.R
        elif kind == "cart":
            st[kind] = Cart()
        elif kind == "pt":
            st[kind] = Pt(1)
        elif kind == "lazy":
            st[kind] = Lazy(4)
        elif kind == "ns":
            st[kind] = types.SimpleNamespace(hits=0, seen=[])
        elif kind == "partial":
            st[kind] = functools.partial(score, "p")
        elif kind == "map":
            st[kind] = map(lambda z: z * 2, [1, 2, 3, 4, 5, 6])
        elif kind == "enum":
            st[kind] = enumerate("abcdefg")
        elif kind == "weak":
            st["weak_target"] = Box("w")
            st[kind] = weakref.ref(st["weak_target"])
        elif kind == "wvd":
            st["wvd_target"] = Box("v")
            st[kind] = weakref.WeakValueDictionary({"t": st["wvd_target"]})
    return st


def touch(st, text):
    if st is None:
        return
    text = str(text)[:4]
    st["base"][text] = len(st["base"])
    for kind, value in list(st.items()):
        if kind == "deque":
            value.append(len(text))
        elif kind == "counter":
            value.update(text)
        elif kind == "odict":
            value[text] = 1
            value.move_to_end(next(iter(value)))
        elif kind == "ddict":
            value[text].append(len(value))
        elif kind == "array":
            value.append(len(text))
        elif kind == "sio":
            value.readline()
        elif kind in ("count", "iter", "islice", "cycle", "map", "enum"):
            st["last_" + kind] = next(value, None)
        elif kind == "tee":
            st["last_tee"] = (next(value[len(text) % 2], None), next(value[0], None))
        elif kind == "chain":
            value[text] = "front"
        elif kind == "frac":
            st[kind] = value + fractions.Fraction(1, 7)
        elif kind == "flag":
            st[kind] = (value | Perm.W) if len(text) % 2 else (value ^ Perm.X)
        elif kind == "cart":
            value.items.append(text)
        elif kind == "pt":
            st[kind] = value._replace(y=value.y + 1)
        elif kind == "lazy":
            value.n += 1
        elif kind == "ns":
            value.hits += 1
            value.seen.append(text)
        elif kind == "dt":
            st[kind] = value + datetime.timedelta(hours=1)


def view(st):
    if st is None:
        return "nostate"
    parts = [repr(sorted(st["base"].items()))]
    for kind, value in st.items():
        if kind == "sio":
            parts.append(f"sio@{value.tell()}")
        elif kind in ("count", "islice", "cycle", "map", "enum", "iter", "tee"):
            continue
        elif kind in ("keys", "items"):
            parts.append(f"{kind}:{sorted(value)}")
        elif kind == "chain":
            parts.append(f"chain:{sorted(value.items())}:{value.maps[1] is st['base']}")
        elif kind == "match":
            parts.append(f"m:{value.group('w')}:{value.span(2)}:{value.re.pattern}")
        elif kind == "dt":
            parts.append(f"dt:{value.isoformat()}:{value.tzinfo is ZoneInfo('America/New_York')}")
        elif kind == "lazy":
            parts.append(f"lazy:{value.sq}:{value.calls}:{value.n}")
        elif kind == "weak":
            parts.append(f"weak:{value() is st['weak_target']}")
        elif kind == "wvd":
            parts.append(f"wvd:{value.get('t') is st['wvd_target']}")
        elif kind == "partial":
            parts.append(f"partial:{value()}")
        elif kind in ("weak_target", "wvd_target", "base"):
            continue
        else:
            parts.append(f"{kind}:{value!r}")
    return " ".join(parts)
"""

STATE_KINDS = (
    "deque counter odict ddict array sio count iter islice cycle tee keys items chain match dt "
    "frac flag cart pt lazy ns partial map enum weak wvd"
).split()

MESSAGES = ["yes", "no", "3", "hello world", "", "abc", "42", "Zürich", "x y z", "0", "ok!"]

MUTATIONS = [
    "touch(getattr(b0, 'st', None), s0)",
    "touch(getattr(b0, 'st', None), i0)",
    "i0 += 1",
    "l0.append(i0)",
    "d0[s0[:2]] = len(l0)",
    "b0.v = b0.v + i0",
    "s0 = s0[-6:] + 'x'",
    "b0.items.append(len(s0))",
    "a0.append(i0)",
    "l0[:] = l0[-4:]",
    "i0 = i0 * 2 % 97",
]
CALL_FORMS = [
    "i0 = {c}(i0, l0, b0)",
    "i0 += {c}(len(s0), l0, b0)",
    "l0.append({c}(i0, [i0], b0))",
    "s0 = str({c}(i0, l0, Box(i0))) + s0[:4]",
    "i0 = max(i0, {c}(i0, l0, b0), 2)",
    "i0 = {c}({c}(i0, l0, b0), l0, b0)",
    "i0 = {c}(i0, l0, b0) + {c}(i0 + 1, l0, b0)",
    "i0 = functools.partial({c}, i0)(l0, b0)",
    "i0 = {c}(*[i0, l0], b0=b0)",
    "i0 = {c}(**{{'i0': i0, 'l0': l0, 'b0': b0}})",
    "s0 = f'{{{c}(i0, l0, b0)}}:{{s0[:3]}}'",
]
COMPREHENSIONS = [
    "l0 = [x * 2 for x in l0 if isinstance(x, int)][-5:] + [score(reply('{t} ' + str(i0)))]",
    "d0 = {{k: v for k, v in d0.items() if v != 1}}",
    "s0 = ''.join(sorted({{c for c in s0}}))[:8] + reply('{t} comp')",
    "i0 = sum(x for x in l0 if isinstance(x, int)) % 50 + len(reply('{t} sum'))",
]


@dataclass
class _Ctx:
    rng: random.Random
    fn: str
    callees: list[str]
    in_loop: bool = False
    in_finally: bool = False
    is_method: bool = False
    budget: int = 30
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))


class Generator:
    """Random bot programs: nested control flow with pauses at random points."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seed = seed

    # -- statements ------------------------------------------------------------------

    def block(self, ctx: _Ctx, depth: int, size: int | None = None) -> list[str]:
        size = size if size is not None else self.rng.randint(1, 4)
        lines: list[str] = []
        for _ in range(size):
            if ctx.budget <= 0:
                break
            ctx.budget -= 1
            lines += self.statement(ctx, depth)
        return lines or ["pass"]

    def statement(self, ctx: _Ctx, depth: int) -> list[str]:
        rng = self.rng
        kinds = ["pause", "pause", "pause", "mutate", "mutate", "show", "call"]
        if depth < 3:
            kinds += ["if", "for", "while", "try", "with", "for"]
        if ctx.in_loop:
            kinds += ["breakish"]
        if ctx.fn != "root" and depth > 0 and rng.random() < 0.3:
            kinds += ["ret"]
        kinds += ["closure", "exc_keep", "comp", "touch", "touch"]
        kind = rng.choice(kinds)
        n = next(ctx.ids)
        return getattr(self, "s_" + kind)(ctx, depth, n, f"{ctx.fn}.{n}")

    def s_pause(self, ctx, depth, n, tag):
        return self.pause_lines(tag)

    def s_ret(self, ctx, depth, n, tag):
        return [f"return i0 + len(reply('{tag} ret'))"]

    def s_mutate(self, ctx, depth, n, tag):
        return [self.rng.choice(MUTATIONS)]

    def s_touch(self, ctx, depth, n, tag):
        arg = self.rng.choice(["s0", "i0", f"reply('{tag} touch')"])
        return [f"touch(getattr(b0, 'st', None), {arg})", self.show(tag)]

    def s_show(self, ctx, depth, n, tag):
        return [self.show(tag)]

    def s_call(self, ctx, depth, n, tag):
        if not ctx.callees:
            return self.pause_lines(tag)
        callee = self.rng.choice(ctx.callees)
        form = self.rng.choice(CALL_FORMS)
        return [form.format(c=callee), self.show(tag)]

    def s_if(self, ctx, depth, n, tag):
        cond = self.rng.choice(
            ["score(s0) % 2", "i0 > 3", "len(l0) % 3 == 1", "s0.startswith('y')", "b0.v > 5"]
        )
        lines = [f"if {cond}:"] + self.indent(self.block(ctx, depth + 1))
        if self.rng.random() < 0.5:
            lines += ["else:"] + self.indent(self.block(ctx, depth + 1))
        return lines

    def s_for(self, ctx, depth, n, tag):
        return self.loop(ctx, depth, n, "for")

    def s_while(self, ctx, depth, n, tag):
        return self.loop(ctx, depth, n, "while")

    def s_breakish(self, ctx, depth, n, tag):
        return [
            f"if score(s0) % 3 == {self.rng.randint(0, 2)}:",
            "    " + self.rng.choice(["break", "continue"]),
        ]

    def s_try(self, ctx, depth, n, tag):
        return self.try_stmt(ctx, depth, n)

    def s_with(self, ctx, depth, n, tag):
        swallow = self.rng.random() < 0.4
        lines = [f"with CM('{tag}', {swallow}) as c{n}:"]
        body = self.block(ctx, depth + 1)
        if self.rng.random() < 0.3:
            body += ["if score(s0) % 2 == 0:", f"    raise Boom('w{n}')"]
        return lines + self.indent(body) + [f"print('after with {tag}', c{n})"]

    def s_closure(self, ctx, depth, n, tag):
        return [
            f"def inner{n}(k):",
            "    nonlocal i0",
            "    i0 += k",
            "    return i0 + len(l0)",
            f"f{n} = lambda z: z + len(s0)",
            f"i0 = inner{n}(1) + f{n}(0) % 5",
            *self.pause_lines(tag),
            f"print('clo {tag}', inner{n}(2), f{n}(1), i0)",
        ]

    def s_exc_keep(self, ctx, depth, n, tag):
        return [
            "try:",
            "    raise Boom(i0, s0[:3])",
            f"except Boom as e{n}:",
            f"    ex0 = e{n}",
            *self.pause_lines(tag),
            f"print('exc {tag}', ex0.args, type(ex0).__name__, ex0.__traceback__ is not None)",
        ]

    def s_comp(self, ctx, depth, n, tag):
        return [self.rng.choice(COMPREHENSIONS).format(t=tag), self.show(tag)]

    def pause_lines(self, tag: str) -> list[str]:
        return self.pause_stmt(tag).split("\n")

    def pause_stmt(self, tag: str) -> str:
        q = f"'{tag} ' + str(i0) + ' ' + repr(l0)[:30]"
        return self.rng.choice(
            [
                f"s0 = reply({q})",
                f"i0 = i0 + score(reply({q}))",
                f"l0 = [i0, reply({q}), len(l0)]",
                f"s0 = s0[:5] + reply({q}).upper()",
                f"d0[reply({q})[:3]] = i0",
                f"i0 += len(reply({q}))",
                f"l0.append(reply({q}))",
                f"b0.items.append(score(reply({q})))",
                f's0 = f"{{i0}}-{{reply({q})}}-{{len(l0)}}"',
                f"i0 = max(i0, score(reply({q})), 3)",
                f"s0 = '|'.join(sorted(d0)) + reply({q})",
                f"a0 = [a0, reply({q})][0]",
                f"s0 = reply({q}) if i0 % 2 else s0 + reply({q})",
                f"i0 = (i0 or 1) and score(reply({q}))",
                f"print('pp', i0, reply({q}), len(l0))",
                f"l0.extend([reply({q}), i0])",
                f"d0.update({{s0[:2]: reply({q})}})",
                f"s0 = str(Box(reply({q})).v)[:6]",
                f"s0 = sorted([reply({q}), s0], key=len)[0]",
                f"i0 = {{'y': 1, 'n': 2}}.get(reply({q})[:1], i0)",
                f"s0 = (lambda z: z + '!')(reply({q}))",
                f"l0 = [*l0[-2:], reply({q})]",
                f"d0 = {{**d0, 'r': reply({q})}}",
                f"i0 = len(l0[0:score(reply({q}))])",
                f"s0 = '%s/%s' % (s0[:3], reply({q}))",
                f"s0 = reply({q}).strip().lower()[:8]",
                f"t1 = (reply({q}), i0); s0 = t1[0]",
                f"with CM(reply({q})[:3]) as cx:\n    print('w', cx, i0)",
                f"for kx in reply({q})[:2]:\n    print('ch', kx, i0)",
                f"while len(reply({q})) > 100:\n    pass",
                f"match reply({q}):\n    case 'yes':\n        print('m yes')\n"
                "    case str(x) if len(x) > 2:\n        print('m long', x)\n"
                "    case _:\n        print('m other')",
            ]
        )

    @staticmethod
    def show(tag: str) -> str:
        return (
            f"print('show {tag}', i0, repr(s0), l0, list(d0.items()), b0, "
            "a0[0] is l0, g0 is SHARED, t0 is TABLE['k'], len(g0), sn is SENT, repr(ex0), "
            "view(getattr(b0, 'st', None)))"
        )

    def loop(self, ctx: _Ctx, depth: int, n: int, kind: str) -> list[str]:
        rng = self.rng
        inner = _Ctx(rng, ctx.fn, ctx.callees, True, False, ctx.is_method, ctx.budget, ctx.ids)
        if kind == "while":
            head = [f"w{n} = 0", f"while w{n} < {rng.randint(1, 3)}:"]
            body = [f"w{n} += 1"] + self.block(inner, depth + 1)
        else:
            over = rng.choice(
                [
                    f"range({rng.randint(1, 3)})",
                    "l0",
                    "list(d0.items())",
                    "d0.items()",
                    "enumerate(l0)",
                    "zip(l0, s0)",
                    "reversed(l0)",
                    "d0",
                    "b0.items",
                    "g0",
                ]
            )
            head = [f"n{n} = 0", f"for k{n} in {over}:"]
            body = [
                f"n{n} += 1",
                f"if n{n} > 3:",
                "    break",
                f"print('it {ctx.fn}.{n}', repr(k{n}))",
            ]
            body += self.block(inner, depth + 1)
        ctx.budget = inner.budget
        lines = head + self.indent(body)
        if rng.random() < 0.3:
            lines += ["else:", f"    print('else {ctx.fn}.{n}')"]
        return lines

    def try_stmt(self, ctx: _Ctx, depth: int, n: int) -> list[str]:
        rng = self.rng
        body = self.block(ctx, depth + 1)
        if rng.random() < 0.6:
            body += [f"if score(s0) % 3 == {rng.randint(0, 2)}:", f"    raise Boom('t{n}', i0)"]
        lines = ["try:"] + self.indent(body)
        has_handler = rng.random() < 0.8
        if has_handler:
            handler = [f"print('caught {ctx.fn}.{n}', e{n}.args, e{n}.__context__ is None)"]
            handler += self.block(ctx, depth + 1, rng.randint(0, 2))
            if rng.random() < 0.2:
                handler += ["raise"]
            lines += [f"except Boom as e{n}:"] + self.indent(handler)
            if rng.random() < 0.3:
                lines += ["else:"] + self.indent(self.block(ctx, depth + 1, 1))
        if not has_handler or rng.random() < 0.5:
            fin = [f"print('finally {ctx.fn}.{n}', i0)"]
            if rng.random() < 0.5:
                fin += self.pause_lines(f"{ctx.fn}.{n}f")
            lines += ["finally:"] + self.indent(fin)
        return lines

    @staticmethod
    def indent(lines: list[str]) -> list[str]:
        return ["    " + line for line in lines]

    # -- functions and module ----------------------------------------------------------

    def prologue(self) -> list[str]:
        return [
            "s0 = ''",
            "d0 = {}",
            "a0 = [l0, b0]",
            "g0 = SHARED",
            "t0 = TABLE['k']",
            "sn = SENT",
            "ex0 = None",
        ]

    def helper(self, name: str, callees: list[str], is_method: bool = False) -> list[str]:
        ctx = _Ctx(self.rng, name.split(".")[-1], callees, is_method=is_method, budget=8)
        body = self.prologue()
        if is_method:
            body += ["self.count += 1", "i0 += self.count"]
        body += self.block(ctx, 0, self.rng.randint(2, 4))
        if self.rng.random() < 0.5:
            body += ["if score(s0) % 4 == 3:", "    return i0 + 100"]
            body += self.block(ctx, 0, 1)
        body += [self.show(name + ".end"), "return i0 + len(s0)"]
        params = "self, i0, l0, b0" if is_method else "i0, l0, b0"
        return [f"def {name.split('.')[-1]}({params}):"] + self.indent(body)

    def program(self) -> tuple[str, list[str]]:
        rng = self.rng
        out = [PRELUDE]
        names: list[str] = []
        for index in range(rng.randint(0, 3)):
            name = f"h{index}"
            out += ["", "", "@autograms_function()"] + self.helper(name, list(names))
            names.append(name)
        callees = list(names)
        if rng.random() < 0.4:
            out += ["", "", "class Svc:", "    def __init__(self):", "        self.count = 0", ""]
            out += self.indent(["@autograms_function()"] + self.helper("Svc.m", list(names), True))
            # a local instance: a module-level one's count would be process state, which
            # a session does not carry (fresh processes, forked turns)
            callees.append("svc.m")
            callees.append("Svc().m")
        ctx = _Ctx(rng, "root", callees, budget=14)
        body = ["i0 = 0", "l0 = []", "b0 = Box(0)", "svc = Svc()" if "svc.m" in callees else "pass"]
        body += self.prologue()
        if rng.random() < 0.6:
            kinds = rng.sample(STATE_KINDS, rng.randint(1, 6))
            body += [f"b0.st = make_state({kinds!r})", "st0 = b0.st"]
        main = self.block(ctx, 0, rng.randint(3, 7))
        if rng.random() < 0.4:
            main = ["for r0 in range(2):"] + self.indent(main + [self.show("root.round")])
        body += main
        body += [self.show("root.end"), "print('return', i0)", "return i0"]
        out += ["", "", "@autograms_function()", "def chatbot():"] + self.indent(body)
        script = [rng.choice(MESSAGES) for _ in range(14)]
        return "\n".join(out) + "\n", script


def generate(seed: int) -> tuple[str, list[str]]:
    """The program and message script drawn from ``seed`` (the same on every Python)."""
    return Generator(seed).program()
