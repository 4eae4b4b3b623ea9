"""Random bot programs for the session 12 outside tester (engb), written from the docs alone.

`program(seed)` gives {source, reference, messages}: a bot module whose `chatbot()` pauses at
random points inside loops (break/continue/else), try/except/else/finally, with blocks, match,
nested decorated calls, methods calling super(), partial expressions, comprehensions and
built-in calls around the pause, closures, module objects held in locals, dict iteration and
exceptions in flight; GOTO/RETURNTO regions come with an equivalent loop-based reference
(the only difference between `source` and `reference`). Every reply shows the tail of a log
list `L` the program keeps, so a value a resume gets wrong shows in the transcript.
"""

from __future__ import annotations

import random

PRELUDE = '''
class Boom(Exception):
    pass


class Rec:
    """A context manager that logs its exits and swallows Boom when told to."""

    def __init__(self, log, tag, swallow=False):
        self.log, self.tag, self.swallow = log, tag, swallow

    def __enter__(self):
        self.log.append("enter " + self.tag)
        return self.tag

    def __exit__(self, kind, value, tb):
        # A RETURNTO passes __exit__ an engine exception; the reference's own: show neither.
        shown = kind.__name__ if kind in (Boom, KeyError, ValueError, IndexError) else kind
        self.log.append(("exit", self.tag, shown and str(shown) if kind is None or isinstance(shown, str) else "jump"))
        return self.swallow and kind is Boom


SENT = object()
TABLE = {"row": [1, 2], "other": (3,)}
CHOICES = ("yes", "no")


def fmt(*parts, sep="|"):
    return sep.join(str(p) for p in parts)


@autograms_function()
def ask(L, q):
    a = reply(f"{q} {len(L)} {L[-3:]!r}")
    L.append(a)
    return a


class Agent:
    def __init__(self, tag):
        self.tag = tag
        self.n = 0

    @autograms_function()
    def step(self, L):
        self.n += 1
        return ask(L, f"{self.tag}{self.n}")


class Sub(Agent):
    @autograms_function()
    def step(self, L):
        got = super().step(L)
        L.append(("sub", self.n, got))
        return got + "!"
'''

MESSAGES = ["yes", "no", "1", "boom", "", "x y", "stop", "22"]


class Gen:
    """One program: the statement grammar, drawn with one Random."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.n = 0
        self.helpers = []  # (name, lines_engine, lines_reference)
        self.regions = 0
        self.jumps = []  # module-level code of RETURNTO helpers and Jump classes

    def next(self):
        self.n += 1
        return self.n

    def chance(self, p):
        return self.rng.random() < p

    # ------------------------------------------------------------ expressions with one pause

    def pause_expr(self, scope):
        """An expression that pauses once (or more), as source text."""
        k = self.next()
        q = f'ask(L, "q{k}")'
        v = self.rng.choice(scope["vars"])
        forms = [
            q,
            f'{v} + "-" + {q}',
            f'fmt({v}, {q}, sep="/")',
            f"str([{v}, {q}, len(L)])",
            f"{q}.upper()",
            f"str(len({q}))",
            f'"".join(sorted({q}))',
            f'"".join([c.upper() for c in {q}])',
            f'({q} if len(L) % 2 else "skip{k}")',
            f'(len({v}) > 1 and {q}) or "short"',
            f"f'<{{{v}}}:{{{q}}}>'",
            f"max({q}, {v})",
            f'str({{"k": {q}, "v": {v}}})',
            f"str(dict(a={q}, b=len(L)))",
            f'str(("t", *{q}.split(), {v}))',
        ]
        if scope.get("agent"):
            forms.append("agent.step(L)")
        callable_helpers = [h for h in self.helpers if h[0] not in scope["no_call"]]
        if callable_helpers and self.chance(0.35):
            name = self.rng.choice(callable_helpers)[0]
            forms.append(f"str({name}(L, {v}))")
            forms.append(f'{v} + "=" + str({name}(L, {q}))')
        return self.rng.choice(forms)

    def cond(self, scope):
        v = self.rng.choice(scope["vars"])
        return self.rng.choice(
            [
                f'{v} == "yes"',
                f'"o" in {v}',
                f"len({v}) > 1",
                f'{v} in ("no", "1")',
                f"not {v}",
                "len(L) % 3 == 0",
            ]
        )

    # ------------------------------------------------------------ statements

    def block(self, scope, depth, count=None):
        """A list of statement nodes; each node is (engine lines, reference lines)."""
        count = count if count is not None else self.rng.randint(1, 3)
        return [self.statement(scope, depth) for _ in range(count)]

    def statement(self, scope, depth):
        kinds = ["assign", "assign", "assign", "log", "raise_if"]
        if depth < 3:
            kinds += ["for", "while", "try", "with", "match", "if", "dict_iter", "except_pause"]
        if scope.get("closure"):
            kinds.append("closure")
        if scope.get("module_objects"):
            kinds.append("module_check")
        kind = self.rng.choice(kinds)
        return getattr(self, "st_" + kind)(scope, depth)

    @staticmethod
    def same(lines):
        return (lines, lines)

    @staticmethod
    def indent(node):
        eng, ref = node
        return (["    " + x for x in eng], ["    " + x for x in ref])

    def join(self, nodes):
        eng, ref = [], []
        for e, r in nodes:
            eng += e
            ref += r
        return eng, ref

    def body(self, scope, depth, count=None):
        return self.indent(self.join(self.block(scope, depth + 1, count)))

    def st_assign(self, scope, depth):
        v = self.rng.choice(scope["vars"])
        return self.same([f"{v} = {self.pause_expr(scope)}"])

    def st_log(self, scope, depth):
        v = self.rng.choice(scope["vars"])
        return self.same([f"L.append({v})"])

    def st_raise_if(self, scope, depth):
        v = self.rng.choice(scope["vars"])
        return self.same([f'if {v} == "boom":', f'    raise Boom("b{self.next()}")'])

    def st_closure(self, scope, depth):
        return self.same(["L.append(bump())"])

    def st_module_check(self, scope, depth):
        return self.same(
            ["L.append((m is SENT, row is TABLE['row'], tup is TABLE['other'], ch is CHOICES))"]
        )

    def st_if(self, scope, depth):
        eng, ref = self.body(scope, depth)
        e2, r2 = self.body(scope, depth, 1)
        head = [f"if {self.cond(scope)}:"]
        return (head + eng + ["else:"] + e2, head + ref + ["else:"] + r2)

    def loop_body(self, scope, depth):
        nodes = self.block(scope, depth + 1)
        if self.chance(0.5):
            word = self.rng.choice(["break", "continue"])
            nodes.insert(
                self.rng.randint(0, len(nodes)),
                self.same([f"if {self.cond(scope)}:", f"    {word}"]),
            )
        return self.indent(self.join(nodes))

    def st_for(self, scope, depth):
        i = f"i{self.next()}"
        iterable = self.rng.choice(
            ["range(2)", '["a", "b"]', "enumerate(['p', 'q'])", "zip('ab', 'cd')", "TABLE['row']"]
        )
        eng, ref = self.loop_body(scope, depth)
        head = [f"for {i} in {iterable}:", f"    L.append({i})"]
        tail = []
        if self.chance(0.4):
            tail = ["else:", f'    L.append("else{self.next()}")']
        return (head + eng + tail, head + ref + tail)

    def st_while(self, scope, depth):
        w = f"w{self.next()}"
        eng, ref = self.loop_body(scope, depth)
        head = [f"{w} = 0", f"while {w} < 2:", f"    {w} += 1"]
        tail = ["else:", f'    L.append("welse{self.next()}")'] if self.chance(0.3) else []
        return (head + eng + tail, head + ref + tail)

    def st_try(self, scope, depth):
        eng, ref = self.body(scope, depth)
        he, hr = self.body(scope, depth, self.rng.randint(0, 1)) if self.chance(0.5) else ([], [])
        k = self.next()
        e_lines = (
            ["try:"]
            + eng
            + [
                "except Boom as e:",
                f'    L.append(("caught{k}", str(e), type(e.__context__).__name__))',
            ]
        )
        r_lines = (
            ["try:"]
            + ref
            + [
                "except Boom as e:",
                f'    L.append(("caught{k}", str(e), type(e.__context__).__name__))',
            ]
        )
        e_lines += he
        r_lines += hr
        if self.chance(0.3):
            e_lines += ["else:", f'    L.append("tryelse{k}")']
            r_lines += ["else:", f'    L.append("tryelse{k}")']
        if self.chance(0.6):
            fe, fr = self.body(scope, depth, self.rng.randint(0, 2))
            e_lines += ["finally:", f'    L.append("fin{k}")'] + fe
            r_lines += ["finally:", f'    L.append("fin{k}")'] + fr
        return (e_lines, r_lines)

    def st_except_pause(self, scope, depth):
        """A pause while an exception is handled, and one while it is in flight."""
        k = self.next()
        v = self.rng.choice(scope["vars"])
        inner = self.rng.choice(["{}['nokey']", "int('z')", f"[][len({v}) + 5]"])
        kind = self.rng.choice(["KeyError", "ValueError", "IndexError"])
        lines = [
            "try:",
            "    try:",
            f"        {inner}",
            "    except (KeyError, ValueError, IndexError) as err:",
            f'        {v} = ask(L, "h{k}")',
            f'        if {v} == "boom":',
            f'            raise Boom("from{k}") from err',
            "        L.append((type(err).__name__, sys.exc_info()[0].__name__))",
            "    finally:",
            f'        L.append(ask(L, "f{k}"))',
            "except Boom as e:",
            "    L.append((str(e), type(e.__cause__).__name__, "
            "[f.name for f in traceback.extract_tb(e.__traceback__)]))",
        ]
        del kind
        return self.same(lines)

    def st_with(self, scope, depth):
        eng, ref = self.body(scope, depth)
        k = self.next()
        swallow = self.chance(0.5)
        head = [f'with Rec(L, "w{k}", swallow={swallow}) as t{k}:', f"    L.append(t{k})"]
        return (head + eng, head + ref)

    def st_match(self, scope, depth):
        v = self.rng.choice(scope["vars"])
        b1 = self.body(scope, depth + 1, 1)
        b2 = self.body(scope, depth + 1, 1)
        k = self.next()
        e = [f"match {v}:", '    case "yes" | "1":'] + ["    " + x for x in b1[0]]
        r = [f"match {v}:", '    case "yes" | "1":'] + ["    " + x for x in b1[1]]
        e += ["    case str(s) if len(s) > 2:", f'        L.append(("long{k}", s))']
        r += ["    case str(s) if len(s) > 2:", f'        L.append(("long{k}", s))']
        e += ["    case _:"] + ["    " + x for x in b2[0]]
        r += ["    case _:"] + ["    " + x for x in b2[1]]
        return (e, r)

    def st_dict_iter(self, scope, depth):
        k = self.next()
        v = self.rng.choice(scope["vars"])
        return self.same(
            [
                f'd{k} = {{"a": 1, "b": 2, "c": 3}}',
                "try:",
                f"    for key, val in d{k}.items():",
                f'        {v} = ask(L, "d{k}" + key)',
                f'        if {v} == "yes":',
                f"            d{k}[key + 'x'] = val",
                f'        elif {v} == "no":',
                f"            d{k}['c'] = 30",
                "        L.append((key, val))",
                "except RuntimeError as e:",
                "    L.append(str(e))",
                f"L.append(sorted(d{k}.items()))",
            ]
        )

    # ------------------------------------------------------------ GOTO and RETURNTO regions

    def region(self, scope):
        """A labelled reply and the statements after it, jumped back to by GOTO or RETURNTO."""
        k = self.next()
        label = f"lab{k}"
        tries = f"tries{k}"
        a = f"a{k}"
        use_returnto = self.chance(0.5)
        body = self.block(scope, 1, self.rng.randint(1, 2))
        if use_returnto:
            self.jumps.append(
                (
                    [
                        "@autograms_function()",
                        f"def back{k}(L):",
                        f'    with Rec(L, "back{k}"):',
                        f'        got = ask(L, "r{k}")',
                        '        if got in ("no", "stop") and len(L) < 40:',
                        f'            RETURNTO("{label}")',
                        "    return got",
                    ],
                    [
                        f"class Jump{k}(Exception):",
                        "    pass",
                        "",
                        "",
                        "@autograms_function()",
                        f"def back{k}(L):",
                        f'    with Rec(L, "back{k}"):',
                        f'        got = ask(L, "r{k}")',
                        '        if got in ("no", "stop") and len(L) < 40:',
                        f"            raise Jump{k}",
                        "    return got",
                    ],
                )
            )
            body.insert(self.rng.randint(0, len(body)), self.same([f"L.append(back{k}(L))"]))
        be, br = self.join(body)
        shown = f'f"g{k} {{{tries}}} {{L[-3:]!r}}"'
        eng = [
            f"{tries} = 0",
            f'{a} = reply({shown}, ADDRESS="{label}")',
            f"L.append({a})",
            *be,
            f"{tries} += 1",
            f'if {tries} < 3 and {a} in ("no", "1", ""):',
            f'    GOTO("{label}")',
        ]
        ref_body = [
            f"{a} = reply({shown})",
            f"L.append({a})",
            *br,
            f"{tries} += 1",
            f'if {tries} < 3 and {a} in ("no", "1", ""):',
            "    continue",
        ]
        if use_returnto:
            ref = [f"{tries} = 0", "while True:", "    try:"]
            ref += ["        " + x for x in ref_body]
            ref += [f"    except Jump{k}:", "        continue", "    break"]
        else:
            ref = [f"{tries} = 0", "while True:"] + ["    " + x for x in ref_body] + ["    break"]
        return (eng, ref)

    # ------------------------------------------------------------ functions and the module

    def function(self, name, params, scope, statements, regions=False):
        nodes = []
        for _ in range(statements):
            if regions and self.chance(0.35):
                nodes.append(self.region(scope))
            else:
                nodes.append(self.statement(scope, 0))
        eng, ref = self.join(nodes)
        init = [f'{v} = "{self.rng.choice(MESSAGES)}"' for v in scope["vars"] if v not in params]
        head = ["@autograms_function()", f"def {name}({', '.join(params)}):"]
        e = head + ["    " + x for x in init + eng]
        r = head + ["    " + x for x in init + ref]
        return e, r

    def module(self):
        helper_count = self.rng.randint(0, 2)
        helper_code = []
        for index in reversed(range(helper_count)):
            name = f"h{index}"
            scope = {"vars": ["p", "u", "z"], "no_call": {name}}
            e, r = self.function(name, ["L", "p"], scope, self.rng.randint(1, 3))
            e += ["    return u + z"]
            r += ["    return u + z"]
            self.helpers.append((name, e, r))
            helper_code.append((e, r))
        scope = {
            "vars": ["v0", "v1", "v2"],
            "no_call": set(),
            "agent": self.chance(0.4),
            "closure": self.chance(0.4),
            "module_objects": self.chance(0.4),
        }
        pre = []
        if scope["agent"]:
            pre.append(f'agent = {self.rng.choice(["Sub", "Agent"])}("ag")')
        if scope["closure"]:
            pre += [
                "count = 0",
                "",
                "def bump():",
                "    nonlocal count",
                "    count += 1",
                "    return count",
                "",
            ]
        if scope["module_objects"]:
            pre += ["m = SENT", "row = TABLE['row']", "tup = TABLE['other']", "ch = CHOICES"]
        e, r = self.function("chatbot", [], scope, self.rng.randint(2, 5), regions=True)
        # the preamble goes right after the def line
        e = e[:2] + ["    " + x for x in ["L = []", *pre]] + e[2:]
        r = r[:2] + ["    " + x for x in ["L = []", *pre]] + r[2:]
        end = ['    reply(f"END {L!r}")', "    return len(L)"]
        e += end
        r += end
        eng = [PRELUDE, "import sys", "import traceback", ""]
        ref = [PRELUDE, "import sys", "import traceback", ""]
        for je, jr in self.jumps:
            eng += ["", ""] + je
            ref += ["", ""] + jr
        for he, hr in helper_code:
            eng += ["", ""] + he
            ref += ["", ""] + hr
        eng += ["", ""] + e
        ref += ["", ""] + r
        return "\n".join(eng) + "\n", "\n".join(ref) + "\n"


def program(seed, turns=30):
    """A random program: {source, reference, messages, seed}."""
    gen = Gen(seed)
    source, reference = gen.module()
    messages = [gen.rng.choice(MESSAGES) for _ in range(turns)]
    return {"source": source, "reference": reference, "messages": messages, "seed": seed}
