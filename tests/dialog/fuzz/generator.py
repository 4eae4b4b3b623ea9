"""Random bots written with the public dialog API, the way AutoGRAMS users write them.

A bot is a module: a root ``chatbot`` and a few decorated helpers (some with a
``conv_scope``), calling each other (never in a cycle), that ask with ``reply`` and
``reply_instruction`` (test mode answers the model part), think with ``thought``, set and
append system prompts, read and write ``get_memory().memory_dict`` and ``init_user_globals()``,
branch on the user's text, loop, catch exceptions raised after a pause, ``GOTO`` labels of
their own body (backward, forward, into a loop or a branch) and ``RETURNTO`` labels of the
root from nested helpers; some helpers are decorated methods. Every reply shows state (a local, the system prompt, how long the
conversation is), so a resume that lost or changed any of it shows in the transcript. Some
bots are also looked at by their host between turns (``peek`` inside ``Autogram.use_memory``).

Every bot ends: loops are bounded, each GOTO and RETURNTO is guarded by a counter (a local
set before any label for GOTO, a user global for RETURNTO), helpers only call helpers
defined after them, and the script of messages is finite. Nothing depends on hash order,
addresses or the time, so the same seed gives the same bot and script everywhere.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

HEADER = """\
from autograms import autograms_function
from autograms.functional import (
    GOTO,
    RETURNTO,
    append_system_prompt,
    extract_full_conv_history,
    get_system_prompt,
    reply,
    reply_instruction,
    set_system_prompt,
    thought,
)
from autograms.memory import get_memory, init_user_globals

G = init_user_globals()
G["returns"] = 0
G["seen"] = []


def state(value):
    \"\"\"What a reply shows of the conversation: a value, the prompt, the history's length.\"\"\"
    return f"{str(value)[:24]!r} | {get_system_prompt()[:30]!r} | {len(extract_full_conv_history())}"


def peek():
    \"\"\"Called by the host between turns, inside Autogram.use_memory: reads and writes.\"\"\"
    G["seen"].append("host")
    return G["seen"][-3:], G["returns"], get_memory().memory_dict.get("k1")
"""

#: what the user types: words that steer branches, numbers, the empty and odd texts
MESSAGES = ["yes", "no", "x", "3", "", "stop", "menu", "ok", "again", "héllo 😀", "a b c", "{x}"]
SCOPES = ["", 'conv_scope="global"', 'conv_scope="normal"', 'conv_scope="local"']


@dataclass
class Fn:
    """A function being written: its name, labels, GOTO counters and the helpers it may call."""

    name: str
    callees: list[str]
    is_root: bool = False
    labels: list[str] = field(default_factory=list)
    #: one per GOTO; its target is drawn when the body is done (so it may lie ahead)
    counters: list[str] = field(default_factory=list)


@dataclass
class Spot:
    """Where a statement is written: its function, indentation, the locals bound there and
    the one its text shows."""

    fn: Fn
    pad: str
    locals: list[str]
    shown: str


@dataclass
class Bot:
    source: str
    script: list[str]
    #: constructs it holds ("goto", "returnto", "memory-dict", "scope:local", ...)
    tags: set[str]
    #: the host calls ``peek`` inside ``Autogram.use_memory`` before every third message (the
    #: thread-and-queues reference cannot, so such a bot is not compared with it)
    host_calls: bool = False


class Writer:
    def __init__(self, rng: random.Random, helpers: int) -> None:
        self.rng = rng
        self.counter = 0
        self.helpers = [f"h{i}" for i in range(1, helpers + 1)]
        #: helper -> how it is called (a decorated method is called on a new instance)
        self.calls = {name: name for name in self.helpers}
        self.root_labels: list[str] = []
        self.tags: set[str] = set()
        self.budget = 0

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    # -- statements ---------------------------------------------------------------------------

    def body(self, fn: Fn, indent: int, count: int, locals_: list[str]) -> list[str]:
        out: list[str] = []
        for _ in range(count):
            if self.budget <= 0:
                break
            self.budget -= 1
            out += self.statement(fn, indent, locals_)
        return out or [" " * indent + "pass"]

    def statement(self, fn: Fn, indent: int, locals_: list[str]) -> list[str]:
        kinds = ["ask", "ask", "ask", "instruct", "prompt", "think", "memory", "globals"]
        if fn.callees:
            kinds += ["call", "call"]
        if indent < 12:
            kinds += ["branch", "loop", "catch"]
        if fn.labels or fn.is_root:
            kinds += ["goto", "goto"]
        if not fn.is_root and self.root_labels:
            kinds += ["returnto"]
        kind = self.rng.choice(kinds)
        spot = Spot(fn, " " * indent, locals_, self.rng.choice(locals_) if locals_ else "'-'")
        return getattr(self, f"_{kind}")(spot)

    def _ask(self, spot: Spot, call: str = "reply") -> list[str]:
        name = self.fresh("a")
        text = f'f"{self.fresh("q")} {{state({spot.shown})}}"'
        label = ""
        if self.rng.random() < 0.5:
            label = self.fresh("L")
            spot.fn.labels.append(label)
            if spot.fn.is_root:
                self.root_labels.append(label)
            label = f', ADDRESS="{label}"'
        self.tags.add("ask" if call == "reply" else "instruct")
        spot.locals.append(name)
        return [f"{spot.pad}{name} = {call}({text}{label})"]

    def _instruct(self, spot: Spot) -> list[str]:
        return self._ask(spot, "reply_instruction")

    def _prompt(self, spot: Spot) -> list[str]:
        how = self.rng.choice(["set_system_prompt", "append_system_prompt"])
        self.tags.add("prompt")
        return [f'{spot.pad}{how}("{self.fresh("sp")} in {spot.fn.name}")']

    def _think(self, spot: Spot) -> list[str]:
        name = self.fresh("t")
        spot.locals.append(name)
        self.tags.add("thought")
        return [f'{spot.pad}{name} = thought("{self.fresh("th")} " + str({spot.shown})[:10])']

    def _memory(self, spot: Spot) -> list[str]:
        key = self.rng.choice(["k1", "k2"])
        self.tags.add("memory-dict")
        if self.rng.random() < 0.5:
            return [f'{spot.pad}get_memory().memory_dict["{key}"] = str({spot.shown})[:8]']
        return [f'{spot.pad}print("{self.fresh("m")}", get_memory().memory_dict.get("{key}"))']

    def _globals(self, spot: Spot) -> list[str]:
        self.tags.add("user-globals")
        pad = spot.pad
        return [f'{pad}G["seen"].append(str({spot.shown})[:4])', f'{pad}print("G", G["seen"][-3:])']

    def _call(self, spot: Spot) -> list[str]:
        name = self.fresh("c")
        callee = self.calls[self.rng.choice(spot.fn.callees)]
        spot.locals.append(name)
        self.tags.add("call")
        return [f"{spot.pad}{name} = {callee}(str({spot.shown})[:6])"]

    def _branch(self, spot: Spot) -> list[str]:
        shown, pad, rng = spot.shown, spot.pad, self.rng
        test = rng.choice([f'"y" in str({shown})', f"len(str({shown})) > 2", f"{shown} == 'stop'"])
        then = self.body(spot.fn, len(pad) + 4, rng.randint(1, 2), list(spot.locals))
        other = self.body(spot.fn, len(pad) + 4, rng.randint(1, 2), list(spot.locals))
        self.tags.add("if")
        return [f"{pad}if {test}:", *then, f"{pad}else:", *other]

    def _loop(self, spot: Spot) -> list[str]:
        index = self.fresh("i")
        inner = self.body(spot.fn, len(spot.pad) + 4, self.rng.randint(1, 2), [*spot.locals, index])
        self.tags.add("for")
        return [f"{spot.pad}for {index} in range({self.rng.randint(1, 2)}):", *inner]

    def _catch(self, spot: Spot) -> list[str]:
        """A try whose body may raise after its pauses; the handler pauses too."""
        err, pad, shown = self.fresh("e"), spot.pad, spot.shown
        inner = self.body(spot.fn, len(pad) + 4, self.rng.randint(1, 2), list(spot.locals))
        self.tags.add("try")
        return [
            f"{pad}try:",
            *inner,
            f"{pad}    if str({shown}) in ('x', 'stop'):",
            f'{pad}        raise ValueError("{self.fresh("bad")} " + str({shown}))',
            f"{pad}except ValueError as {err}:",
            f'{pad}    print("caught", {err}, {err}.__traceback__ is not None)',
            f'{pad}    reply(f"{self.fresh("q")} {{{err}}}")',
        ]

    def _goto(self, spot: Spot) -> list[str]:
        """A GOTO guarded by a counter; its target is drawn when the body is done."""
        counter = self.fresh("g")
        spot.fn.counters.append(counter)
        self.tags.add("goto")
        return [
            f"{spot.pad}if {counter} < {self.rng.randint(1, 2)}:",
            f"{spot.pad}    {counter} += 1",
            f'{spot.pad}    GOTO("{{{counter}}}")',
        ]

    def _returnto(self, spot: Spot) -> list[str]:
        """Back to a label of the root, counted in a user global."""
        self.tags.add("returnto")
        label = self.rng.choice(self.root_labels)
        return [
            f'{spot.pad}if G["returns"] < 2 and str({spot.shown}) != "stop":',
            f'{spot.pad}    G["returns"] += 1',
            f'{spot.pad}    RETURNTO("{label}")',
        ]

    # -- functions ----------------------------------------------------------------------------

    def function(self, fn: Fn, header: str, method: bool = False) -> str:
        params = [] if fn.is_root else ["arg"]
        self.budget = self.rng.randint(6, 12) if fn.is_root else self.rng.randint(3, 6)
        body = self.body(fn, 4, 12, [*params, "self.tag"] if method else list(params))
        if fn.counters:
            body.insert(0, "    " + " = ".join(fn.counters) + " = 0")
        text = "\n".join(body)
        for counter in fn.counters:
            # a GOTO's target: any label of this function (before, after, inside a block)
            target = self.rng.choice(fn.labels) if fn.labels else None
            if target is None:
                text = text.replace(f'GOTO("{{{counter}}}")', "pass")
            else:
                text = text.replace(f'GOTO("{{{counter}}}")', f'GOTO("{target}")')
        ending = '    return "done"' if fn.is_root else "    return arg + str(len(G['seen']))"
        signature = f"def {fn.name}({', '.join(['self', *params] if method else params)}):"
        return "\n".join([header, signature, text, ending])


def as_method(name: str, function: str) -> str:
    """`function` as a method of a class of its own, `name`."""
    indented = "\n".join("    " + line if line else line for line in function.splitlines())
    init = "    def __init__(self, tag):\n        self.tag = tag"
    return f"class {name}:\n{init}\n\n{indented}"


def generate(seed: int, index: int) -> Bot:
    """Bot `index` of run `seed` (the same everywhere)."""
    rng = random.Random(f"dialog-{seed}-{index}")
    writer = Writer(rng, rng.randint(1, 4))
    methods = {name for name in writer.helpers if rng.random() < 0.3}
    for name in methods:
        writer.calls[name] = f'Desk{name[1:]}("d{name[1:]}").{name}'
        writer.tags.add("method")
    functions = []
    # the root first, so its labels exist for the helpers' RETURNTO
    root = Fn("chatbot", writer.helpers[:2], is_root=True)
    functions.append(writer.function(root, "@autograms_function()"))
    for position, name in enumerate(writer.helpers):
        scope = rng.choice(SCOPES)
        if scope:
            writer.tags.add(f"scope:{scope.split('=')[1].strip(chr(34))}")
        fn = Fn(name, writer.helpers[position + 1 :])
        text = writer.function(fn, f"@autograms_function({scope})", name in methods)
        functions.append(as_method(f"Desk{name[1:]}", text) if name in methods else text)
    source = "\n\n\n".join([HEADER, *reversed(functions)]) + "\n"
    script = [rng.choice(MESSAGES) for _ in range(rng.randint(8, 16))]
    host_calls = rng.random() < 0.4
    if host_calls:
        writer.tags.add("use-memory")
    return Bot(source, script, writer.tags, host_calls)
