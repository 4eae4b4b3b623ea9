"""Found cases: minimized divergent programs kept under ``tests/engine/found/`` as tests.

A found case is a standalone module: the program as a user writes it (importable, so fresh
processes can load it), then

* ``SCRIPT`` -- the user's messages;
* ``EXPECTED`` -- the oracle's transcript (`transcript`): what plain Python does;
* ``DIVERGES`` -- Python minor version -> the modes where the engine still departs from
  EXPECTED; the test of such a mode is a strict xfail, so it turns red when a fix lands
  (then remove the entry);
* ``REASON`` -- what the divergence is (the family of issue 10 it belongs to, or what is new);
* ``REFERENCE`` -- for programs with GOTO/RETURNTO or a refused pause only: the program the
  oracle runs (see `reference`, `refusals`); otherwise the oracle runs the module itself with
  the oracle's stand-ins imported in place of autograms'.
"""

from __future__ import annotations

import ast
import hashlib
import json
import pprint
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from . import batch, runner
from .context import FAMILIES as USER_FAMILIES
from .context import IDIOMS, SHAPES
from .model import Program, all_tags
from .render import ENGINE, REFERENCE, engine_imports_to_reference, needs_own_reference, render
from .transcript import first_difference

FOLDER = runner.ROOT / "tests" / "engine" / "found"
PACKAGE = "tests.engine.found"
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"

#: (tags any of which suggest it, the family it suggests); first match wins
FAMILIES: list[tuple[tuple[str, ...], str]] = [
    (("super",), "issue 10 #1: zero-argument super() after a resume"),
    (("refusal",), "issue 10 #2: a pause the engine must refuse"),
    (("plain-helper",), "outside: an undecorated helper with code after its reply()"),
    (("global-before-pause",), "outside: a global loaded before a pausing call is read again"),
    (("method-before-pause",), "outside: a method looked up before a pausing argument"),
    (("mutable-default",), "outside: a mutable default argument held across a pause"),
    (("ordered-dict",), "outside: a loop over an OrderedDict across a pause"),
    (("module-reached",), "outside: an object reached through a module object, in a local"),
    (("weakref-local",), "outside: a weakref.proxy / weakref.finalize in a local"),
    (("delegating-proxy",), "outside: a delegating __getattr__ proxy in a local"),
    (("wraps",), "outside: a decorated functools.wraps wrapper"),
    (("goto-expression",), "outside: GOTO to a labelled call inside an expression"),
    (("indirect-call",), "outside: a pausing call through handlers[k](), partial() or obj()"),
    (("stringio",), "outside: io.StringIO / io.BytesIO in a local"),
    (("generator",), "families: a generator held across a pause"),
    (("nested-try",), "families: nested try/except/else/finally pausing in each arm"),
    (("match-patterns",), "families: match on mapping, class and sequence patterns"),
    (("classes",), "families: a dataclass, __slots__, descriptor or super() object"),
    (("signatures",), "families: *args/**kwargs/keyword-only/default parameters"),
    (("raised-through",), "families: an exception raised through stacked decorators"),
    (("closure-factory",), "families: a closure made by a factory, mutated after a pause"),
    (("functional",), "families: a sort key lambda or functools.partial across a pause"),
    (("itertools",), "families: an itertools object held across a pause"),
    (("collections",), "families: a collections object held across a pause"),
    (("library-values",), "families: a standard library value held across a pause"),
    (("displays",), "shapes: a pause inside a display or an f-string"),
    (("comparisons",), "shapes: a pause inside a chained comparison, and/or chain or slice"),
    (("targets",), "shapes: a pause in an augmented or unpacking assignment"),
    (("call-shapes",), "shapes: a pause among *args/**kwargs arguments of a plain call"),
    (("except-star",), "shapes: except* handlers of an ExceptionGroup"),
    (("shared-cells",), "shapes: a nonlocal cell shared with a decorated helper's callback"),
    (("recursion-pauses",), "shapes: a recursion pausing at every depth"),
    (("method-kinds",), "shapes: decorated __call__, class and static methods, super()"),
    (("odd-input",), "shapes: empty, long, non-ASCII or code-like user text"),
    (("walrus",), "shapes: an assignment expression around a pause"),
    (("finally-flow",), "shapes: break/continue/return crossing a pausing finally"),
    (("hash-cycle",), "shapes: an object hashed by state, a key of its own dict (a cycle)"),
    (("pickle-hooks",), "shapes: __reduce__/__getstate__/__slots__/hash-cycle objects"),
    (("method-recursion",), "shapes: recursion through decorated methods"),
    (("held-iterators",), "shapes: a built-in or user iterator half used across a pause"),
    (("typed-values",), "shapes: NamedTuple/frozen dataclass/enum/cached_property values"),
    (("shared-code",), "shapes: wrappers, methods or functions sharing one code object"),
    (("hashed-keys",), "shapes: dicts and sets keyed by state-hashed objects in cycles"),
    (("dict-iter",), "issue 10 #4: a dict iterator across a pause"),
    (("exc-chain", "reraise"), "issue 10 #5: exception chaining or traceback across a pause"),
    (("module-object", "weakref"), "issue 10 #6: a module-level object held in a local"),
    (("locals", "traceback"), "issue 10 #7: the instrumentation shows through"),
    (("deep-recursion",), "issue 10 #8: deep recursion"),
]
#: tags that name a found case, most telling first
_NAMING_TAGS = [
    "super", "refusal", *IDIOMS, *USER_FAMILIES, *SHAPES, "dict-iter", "exc-chain", "reraise", "module-object", "weakref",
    "locals", "traceback", "deep-recursion", "returnto", "goto", "label", "closure", "iterator",
    "user-globals", "persistent-globals", "swallow", "finally", "match", "override",
    "static-method", "class-method", "instance-method", "recursion", "while", "for", "with",
    "try", "raise", "return",
]  # fmt: skip


@dataclass
class FoundCase:
    """A found case as read from its file (without importing it)."""

    path: Path
    source: str
    script: list[str]
    expected: list
    diverges: dict[str, list[str]]
    reason: str
    reference: str

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def module(self) -> str:
        return f"{PACKAGE}.{self.name}"

    def diverges_here(self, mode: str) -> bool:
        return mode in self.diverges.get(PYTHON, [])

    def spec(self, modes: list[str]) -> batch.Spec:
        return batch.Spec(self.module, None, self.reference, self.script, modes)


def load(path: Path) -> FoundCase:
    source = path.read_text()
    values = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id.isupper():
                try:
                    values[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    continue
    reference = values.get("REFERENCE") or engine_imports_to_reference(source)
    return FoundCase(
        path,
        source,
        list(values["SCRIPT"]),
        values["EXPECTED"],
        values.get("DIVERGES", {}),
        values.get("REASON", ""),
        reference,
    )


def cases() -> list[FoundCase]:
    return [load(path) for path in sorted(FOLDER.glob("*.py")) if not path.name.startswith("_")]


#: idioms a pause or a call shows in the text only (`idioms.pause`, `functions`): the calls
#: they write
_MARKERS = {
    "plain-helper": re.compile(
        r"(?<![\w.])(ask_clean|ask_twice|ask_each|ask_framed|ask_both)\(|Pad\(\"n\"\)\.ask\("
    ),
    "mutable-default": re.compile(r"(?<![\w.])collect\("),
    "indirect-call": re.compile(r"(?<![\w.])(Asker|FACTORIES|functools\.partial)\b|\[\"go\"\]\("),
    "ordered-dict": re.compile(r"(?<![\w.])OrderedDict\("),
}


def program_tags(program: Program) -> set[str]:
    """The program's tags, with the idioms its text shows."""
    tags = set(all_tags(program))
    if "refused_reply(" not in render(program, REFERENCE):
        # the minimizer took the refused pause out: the program's own tags no longer hold
        tags -= {tag for tag in tags if tag == "refusal" or tag.startswith("refuse-")}
    text = render(program, ENGINE)
    tags.update(tag for tag, pattern in _MARKERS.items() if pattern.search(text))
    return tags


def family(program: Program, modes: dict[str, str]) -> str:
    """A first guess at what a divergence is, from the program's tags and its signature."""
    tags = program_tags(program)
    for markers, name in FAMILIES:
        if tags & set(markers):
            return name
    if "raise:RecursionError" in modes.values():
        return "issue 10 #8: deep recursion"
    if "raise:ContinuationError" in modes.values() and "goto" in tags:
        return "issue 10 #10: a GOTO refused where plain Python runs"
    if "raise:ContinuationError" in modes.values():
        return "a construct refused that plain Python runs"
    if {"return", "finally"} <= tags:
        return "issue 10 #3: a pending return value lost when a finally block pauses"
    shown = ", ".join(sorted(f"{mode} {how}" for mode, how in modes.items()))
    return f"unclassified: {shown}"


def case_name(program: Program, source: str) -> str:
    tags = program_tags(program)
    words = [tag.replace("-", "_") for tag in _NAMING_TAGS if tag in tags][:2] or ["case"]
    digest = hashlib.sha256(source.encode()).hexdigest()[:6]
    return f"{'_'.join(words)}_{digest}"


def write(
    program: Program,
    modes: dict[str, str],
    result: batch.Result,
    python: str = PYTHON,
) -> Path | None:
    """Write `program` as a found case (None if the same program is already there)."""
    source = _formatted(render(program, ENGINE))
    name = case_name(program, source)
    if list(FOLDER.glob(f"*_{name.rsplit('_', 1)[1]}.py")):
        return None  # the same program (its digest ends the name) is there already
    mode = next(iter(modes))
    index = first_difference(result.oracle, result.modes[mode])
    got = result.modes[mode]
    shown_modes = ", ".join(f"{m} ({how})" for m, how in modes.items())
    reason = family(program, modes)
    lines = [
        f'"""{reason[0].upper()}{reason[1:]}.',
        "",
        "Found by the generative differential tester (tests/engine/fuzz) in "
        f"{program.origin}, minimized.",
        f"On CPython {python} the engine departs from the oracle (this program run as plain",
        f"Python) in: {shown_modes}.",
        '"""',
        "",
        f"# First difference (event {index}, mode {mode}):",
        f"#   oracle: {_event(result.oracle, index)}",
        f"#   engine: {_event(got, index)}",
        source.rstrip(),
        "",
        "",
        f"SCRIPT = {program.script!r}",
        "",
        "#: the oracle's transcript: what plain Python does",
        f"EXPECTED = {pprint.pformat(result.oracle, width=96)}",
        "",
        "#: Python minor -> modes where the engine still departs from EXPECTED (strict xfail)",
        f"DIVERGES = {{{python!r}: {sorted(modes)!r}}}",
        "",
        f"REASON = {reason!r}",
    ]
    if needs_own_reference(program):
        lines += [
            "",
            "#: the program the oracle runs (GOTO/RETURNTO as loops, refused pauses end the run)",
        ]
        lines.append(f"REFERENCE = {_literal(render(program, REFERENCE))}")
    path = FOLDER / f"{name}.py"
    path.write_text(_formatted("\n".join(lines) + "\n"))
    _exempt_from_lint(path)
    return path


def _event(events: list, index: int | None) -> str:
    if index is None or index >= len(events):
        return "(nothing)"
    return repr(events[index])[:300]


def _literal(text: str) -> str:
    if "'''" in text or "\\" in text:
        return repr(text)
    return "'''\\\n" + text + "'''"


def _ruff() -> str | None:
    candidates = [Path(sys.executable).with_name("ruff"), *runner.ROOT.glob(".venv/*/bin/ruff")]
    return shutil.which("ruff") or next((str(p) for p in candidates if p.exists()), None)


def _formatted(source: str) -> str:
    """`source` as ruff formats it (unchanged if ruff is not installed)."""
    ruff = _ruff()
    if ruff is None:
        return source
    done = subprocess.run(
        [ruff, "format", "--stdin-filename", str(FOLDER / "case.py"), "-"],
        input=source,
        capture_output=True,
        text=True,
        cwd=runner.ROOT,
    )
    return done.stdout if done.returncode == 0 else source


def _exempt_from_lint(path: Path) -> None:
    """Programs under test are kept as minimized (unused locals, lambdas, loop variables):
    name the rules they break in a ``# ruff: noqa`` line, so the lint stays clean."""
    ruff = _ruff()
    if ruff is None:
        return
    done = subprocess.run(
        [ruff, "check", "--output-format", "json", str(path)],
        capture_output=True,
        text=True,
        cwd=runner.ROOT,
    )
    codes = sorted({item["code"] for item in json.loads(done.stdout or "[]") if item["code"]})
    if codes:
        path.write_text(f"# ruff: noqa: {', '.join(codes)}\n{path.read_text()}")


def set_diverges(case: FoundCase, python: str, modes: list[str]) -> None:
    """Record in the case's file where the engine diverges on `python` (none: no entry)."""
    diverges = dict(case.diverges)
    if modes:
        diverges[python] = sorted(modes)
    else:
        diverges.pop(python, None)
    text = re.sub(
        r"^DIVERGES = .*?$(?=\n\n)",
        f"DIVERGES = {dict(sorted(diverges.items()))!r}",
        case.source,
        count=1,
        flags=re.M | re.S,
    )
    case.path.write_text(_formatted(text))


def refresh(python: str = PYTHON) -> list[tuple[str, list[str]]]:
    """Check every found case on this Python and record where it still diverges; returns
    the changes (a case whose oracle no longer gives EXPECTED shows as mode "oracle")."""
    found = cases()
    changes = []
    with batch.Worker() as worker:
        results = worker.check([case.spec(list(runner.MODES)) for case in found])
    for case, result in zip(found, results, strict=True):
        if result.oracle != case.expected:
            changes.append((case.name, ["oracle"]))
            continue
        modes = sorted(mode for mode, events in result.modes.items() if events != case.expected)
        if modes != sorted(case.diverges.get(python, [])):
            set_diverges(case, python, modes)
            changes.append((case.name, modes))
    return changes
