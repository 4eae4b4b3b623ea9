"""The engine's codec must give exactly what `bytecode` gives, so nothing built on it changes.

Differential tests, any difference a failure:

* decoding: `codec.decode(code)` against ``ConcreteBytecode.from_code(code).to_bytecode(
  conserve_exception_block_stackdepth=True)`` with the 3.13 dual-local superinstructions split
  as the engine did before the codec (pitfall P1) -- every item, label, region and attribute;
* assembly: `codec.assemble` against ``Bytecode.to_code(stacksize=...,
  compute_exception_stack_depths=False)`` -- every field of the code object, positions
  included.

The corpus is every code object of the standard library's modules (compiled from source,
nested code and class and module bodies included), then the engine's own normal and twin
code for every case program, checked in a fresh interpreter as the engine builds it.
"""

from __future__ import annotations

import dis
import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import types
import warnings
from pathlib import Path

import pytest
from bytecode import Bytecode, CellVar, ConcreteBytecode, FreeVar, Instr, Label, TryBegin, TryEnd
from bytecode.instr import const_key

from autograms._frames import codec
from autograms._frames.versions import DUAL_LOCAL_OPS, PY313

ROOT = Path(__file__).resolve().parents[2]
STDLIB = Path(sysconfig.get_paths()["stdlib"])
_SKIPPED_DIRECTORIES = {"site-packages", "test", "tests", "idle_test", "__pycache__"}
CHUNKS = 12

TEMPLATE_ATTRIBUTES = (
    "argcount",
    "posonlyargcount",
    "kwonlyargcount",
    "flags",
    "first_lineno",
    "name",
    "qualname",
    "filename",
    "docstring",
    "argnames",
    "cellvars",
    "freevars",
)
CODE_ATTRIBUTES = (
    "co_argcount",
    "co_posonlyargcount",
    "co_kwonlyargcount",
    "co_nlocals",
    "co_stacksize",
    "co_flags",
    "co_code",
    "co_names",
    "co_varnames",
    "co_filename",
    "co_name",
    "co_qualname",
    "co_firstlineno",
    "co_linetable",
    "co_exceptiontable",
    "co_freevars",
    "co_cellvars",
)


# --- the reference: `bytecode`, used the way the engine used it before the codec


def reference_decode(code: types.CodeType) -> Bytecode:
    template = ConcreteBytecode.from_code(code).to_bytecode(
        conserve_exception_block_stackdepth=True
    )
    split = []
    for item in template:
        if isinstance(item, Instr) and item.name in DUAL_LOCAL_OPS:
            first, second = item.name.split("_FAST_", 1)
            split.append(Instr(f"{first}_FAST", item.arg[0], location=item.location))
            split.append(Instr(second, item.arg[1], location=item.location))
        else:
            split.append(item)
    template[:] = split
    return template


def reference_assemble(
    template: Bytecode, items: list, *, stacksize: int, varnames: tuple[str, ...] = ()
) -> types.CodeType:
    bytecode = Bytecode(items)
    for name in TEMPLATE_ATTRIBUTES[:-2]:
        setattr(bytecode, name, getattr(template, name))
    bytecode.cellvars = list(template.cellvars)
    bytecode.freevars = list(template.freevars)
    # bytecode numbers `argnames` first, then every other local by first use
    bytecode.argnames = list(dict.fromkeys([*template.argnames, *varnames]))
    return bytecode.to_code(stacksize=stacksize, compute_exception_stack_depths=False)


# --- comparison


def flatten(items: list) -> list:
    """Items as plain values: labels and regions by position, constants by `const_key`."""
    where = {
        id(item): index for index, item in enumerate(items) if isinstance(item, (Label, TryBegin))
    }
    flat = []
    for item in items:
        if isinstance(item, Instr):
            flat.append(("instr", item.name, item.opcode, _argument(item, where), item.location))
        elif isinstance(item, Label):
            flat.append(("label",))
        elif isinstance(item, TryBegin):
            flat.append(("try", where[id(item.target)], item.push_lasti, item.stack_depth))
        elif isinstance(item, TryEnd):
            flat.append(("end", where[id(item.entry)]))
        else:
            flat.append(("unknown", repr(item)))
    return flat


def _argument(instr: Instr, where: dict[int, int]) -> tuple:
    arg = instr.arg
    if isinstance(arg, Label):
        return ("label", where[id(arg)])
    if isinstance(arg, (CellVar, FreeVar)):
        return (type(arg).__name__, arg.name)
    if instr.opcode in dis.hasconst:
        return ("const", const_key(arg))
    return (type(arg).__name__, arg)


def decoding_differences(ours: Bytecode, reference: Bytecode) -> list[str]:
    problems = [
        f"{name}: {getattr(ours, name)!r} vs. expected {getattr(reference, name)!r}"
        for name in TEMPLATE_ATTRIBUTES
        if getattr(ours, name) != getattr(reference, name)
    ]
    if type(ours) is not type(reference):
        problems.append(f"type {type(ours).__name__} vs. expected {type(reference).__name__}")
    mine, theirs = flatten(list(ours)), flatten(list(reference))
    for index, (a, b) in enumerate(zip(mine, theirs, strict=False)):
        if a != b:
            problems.append(f"item {index}: {a!r} vs. expected {b!r}")
            break
    if len(mine) != len(theirs):
        problems.append(f"{len(mine)} items vs. expected {len(theirs)}")
    return problems


def code_differences(ours: types.CodeType, reference: types.CodeType) -> list[str]:
    # bytecode's table is wrong where a one-line entry holds a column >= 128 (pitfall P13)
    compared = [
        name
        for name in CODE_ATTRIBUTES
        if name != "co_linetable" or not has_wide_columns(reference)
    ]
    problems = [
        f"{name}: {getattr(ours, name)!r} vs. expected {getattr(reference, name)!r}"
        for name in compared
        if getattr(ours, name) != getattr(reference, name)
    ]
    problems += misread_lines(ours)
    if [const_key(c) for c in ours.co_consts] != [const_key(c) for c in reference.co_consts]:
        problems.append(f"co_consts: {ours.co_consts!r} vs. expected {reference.co_consts!r}")
    if list(ours.co_positions()) != list(reference.co_positions()):
        problems.append("co_positions differ")
    return problems


def has_wide_columns(code: types.CodeType) -> bool:
    return any(
        column is not None and max(column, end or 0) >= 128
        for _, _, column, end in code.co_positions()
    )


def misread_lines(code: types.CodeType) -> list[str]:
    """Where `co_lines()` (CPython's line lookups: f_lineno, tracebacks) names another line
    than `co_positions()` for the same code unit."""
    by_unit = [position[0] for position in code.co_positions()]
    return [
        f"unit {unit}: co_lines says line {line}, co_positions line {by_unit[unit]}"
        for start, end, line in code.co_lines()
        for unit in range(start // 2, end // 2)
        if by_unit[unit] != line
    ][:3]


def check_code(code: types.CodeType) -> list[str]:
    """Decode `code` and assemble the result again, both ways; describe every difference."""
    where = f"{code.co_filename}:{code.co_firstlineno} {code.co_qualname}"
    reference = reference_decode(code)
    ours = codec.decode(code)
    problems = decoding_differences(ours, reference)
    if not problems:
        expected = reference_assemble(reference, list(reference), stacksize=code.co_stacksize)
        got = codec.assemble(list(ours), codec.Shape.of(ours), stacksize=code.co_stacksize)
        problems = code_differences(got, expected)
    return [f"{where}: {problem}" for problem in problems]


# --- the standard library


def stdlib_sources() -> list[Path]:
    sources = []
    for directory, subdirectories, files in os.walk(STDLIB):
        subdirectories[:] = sorted(d for d in subdirectories if d not in _SKIPPED_DIRECTORIES)
        sources += [Path(directory, name) for name in sorted(files) if name.endswith(".py")]
    return sources


def code_objects(path: Path) -> list[types.CodeType]:
    """Every code object compiled from `path` (none if this Python cannot compile it)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return []
    found, work = [], [module]
    while work:
        code = work.pop()
        found.append(code)
        work += [const for const in code.co_consts if isinstance(const, types.CodeType)]
    return found


def test_the_corpus_is_large() -> None:
    sources = stdlib_sources()
    assert len(sources) > 500
    assert sum(len(code_objects(path)) for path in sources[::20]) > 500


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_codec_equals_bytecode_on_the_standard_library(chunk: int) -> None:
    problems: list[str] = []
    checked = 0
    for path in stdlib_sources()[chunk::CHUNKS]:
        for code in code_objects(path):
            problems += check_code(code)
            checked += 1
    assert checked > 500
    assert not problems, "\n".join(problems[:20])


WIDE_CALLS = "def wide():\n" + "".join(
    f"    print(\n        {'x' * width!r}\n    )\n    n = {width}\n" for width in range(100, 260, 8)
)


def test_lines_after_columns_past_128_are_the_lines_the_compiler_gave() -> None:
    """Pitfall P13: a one-line entry with a column >= 128 made CPython's line lookups step
    into the middle of the entry, and every later instruction reported a wrong line."""
    namespace: dict = {}
    exec(compile(WIDE_CALLS, "<wide>", "exec"), namespace)
    code = namespace["wide"].__code__
    assert has_wide_columns(code)
    decoded = codec.decode(code)
    assembled = codec.assemble(list(decoded), codec.Shape.of(decoded), stacksize=code.co_stacksize)
    assert not misread_lines(assembled)
    assert list(assembled.co_positions()) == list(code.co_positions())
    compiler = [line for start, end, line in code.co_lines() for _ in range(start, end, 2)]
    ours = [line for start, end, line in assembled.co_lines() for _ in range(start, end, 2)]
    assert ours == compiler


def test_a_jump_needing_extended_arg_is_assembled_alike() -> None:
    # several hundred lines between a loop's head and its end push JUMP_BACKWARD past 255
    body = "\n".join(f"        total += {n} * item" for n in range(400))
    source = f"def far(items):\n    total = 0\n    for item in items:\n{body}\n    return total\n"
    namespace: dict = {}
    exec(compile(source, "<far>", "exec"), namespace)
    code = namespace["far"].__code__
    assert any(instruction.opname == "EXTENDED_ARG" for instruction in dis.get_instructions(code))
    assert check_code(code) == []


def test_many_locals_and_cells_are_numbered_alike() -> None:
    # cells sharing a parameter's slot, cells of their own, and more than 255 locals
    names = [f"v{n}" for n in range(300)]
    source = (
        "def outer(a, b, *args, **kwargs):\n"
        + "".join(f"    {name} = {n}\n" for n, name in enumerate(names))
        + "    c = 1\n"
        + "    def inner():\n        return a + c + v299\n"
        + "    return inner, "
        + " + ".join(names[-5:])
        + "\n"
    )
    namespace: dict = {}
    exec(compile(source, "<locals>", "exec"), namespace)
    code = namespace["outer"].__code__
    assert code.co_cellvars
    for each in [code, *[c for c in code.co_consts if isinstance(c, types.CodeType)]]:
        assert check_code(each) == []


def test_assembly_refuses_what_the_engine_never_emits() -> None:
    shape = codec.Shape.of(codec.decode(test_the_corpus_is_large.__code__))
    with pytest.raises(ValueError):
        codec.assemble([Instr("CACHE"), Instr("RETURN_VALUE")], shape, stacksize=1)
    handler = Label()
    region = TryBegin(handler, push_lasti=False)  # no stack depth
    with pytest.raises(ValueError):
        codec.assemble(
            [region, Instr("NOP"), TryEnd(region), handler, Instr("NOP")], shape, stacksize=1
        )
    region = TryBegin(handler, push_lasti=False, stack_depth=0)  # never closed
    with pytest.raises(ValueError):
        codec.assemble([region, Instr("NOP"), handler, Instr("NOP")], shape, stacksize=1)


# --- the engine's own code, checked in a fresh interpreter as it is built

_ENGINE_SCRIPT = textwrap.dedent(
    """
    import importlib, json, os, sys
    os.environ["AUTOGRAMS_CODE_CACHE"] = "off"  # every function built here, none loaded
    import autograms._frames
    from autograms._frames import registry
    from tests.engine import test_codec as checks

    instrument = importlib.import_module("autograms._frames.instrument")
    twin = importlib.import_module("autograms._frames.twin")

    report = {"decoded": 0, "assembled": 0, "problems": []}
    real_load, real_assemble = instrument.load_template, instrument.assemble

    def load_template(code):
        ours = real_load(code)
        report["decoded"] += 1
        report["problems"] += checks.decoding_differences(ours, checks.reference_decode(code))
        return ours

    def assemble(template, items, *, stacksize, varnames=()):
        # compared unfused: the reference (bytecode) never fuses superinstructions
        ours = real_assemble(template, items, stacksize=stacksize, varnames=varnames, fuse=False)
        expected = checks.reference_assemble(template, items, stacksize=stacksize,
                                              varnames=varnames)
        report["assembled"] += 1
        report["problems"] += [f"{ours.co_qualname}: {problem}"
                               for problem in checks.code_differences(ours, expected)]
        return ours

    instrument.load_template = load_template
    instrument.assemble = twin.assemble = assemble
    importlib.import_module(sys.argv[1])
    for info in registry.registered():
        built = twin.twin_of(info)
        for code in (info.normal_code, built.code):
            try:
                expected = checks.flatten(list(checks.reference_decode(code)))
            except Exception as exc:  # the 3.11/3.12 twins' patched cell stores
                expected = type(exc).__name__
            try:
                got = checks.flatten(list(instrument.codec.decode(code)))
            except Exception as exc:
                got = type(exc).__name__
            report["decoded"] += 1
            if got != expected:
                report["problems"].append(f"decoding {code.co_qualname} differs")
    print(json.dumps(report))
    """
)

ENGINE_MODULES = sorted(
    f"tests.engine.cases.{path.stem}"
    for path in (ROOT / "tests" / "engine" / "cases").glob("*.py")
    if not path.stem.startswith("_")
) + [
    "tests.engine.programs.attached",
    "tests.engine.programs.hooked",
    "tests.engine.programs.routed",
]


@pytest.mark.parametrize("module", ENGINE_MODULES)
def test_codec_equals_bytecode_on_instrumented_code(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _ENGINE_SCRIPT, module],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-6000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["assembled"] >= 2 and report["decoded"] >= 3
    assert not report["problems"], "\n".join(report["problems"][:20])


def test_fused_code_means_what_the_compiler_wrote() -> None:
    """On 3.13, decoding splits LOAD_FAST_LOAD_FAST and friends (pitfall P1); assembling
    with fuse=True fuses them again. The result decodes to the same instructions, names and
    positions as CPython's own code (its bytes may fuse one pair more: CPython never fuses
    the store that restores a comprehension's variable, which is a pseudo-instruction when
    it fuses; storing through the superinstruction is the same operation)."""
    if not PY313:
        pytest.skip("superinstructions exist on 3.13 only")
    import difflib
    import json.decoder

    checked = 0
    for module in (textwrap, json.decoder, difflib):
        for code in _code_objects(module):
            decoded = codec.decode(code)
            shape = codec.Shape.of(decoded)
            fused = codec.assemble(list(decoded), shape, stacksize=code.co_stacksize, fuse=True)
            assert by_line(codec.decode(fused)) == by_line(decoded), code.co_qualname
            fused_ops = sum(dis.opname[op] in DUAL_LOCAL_OPS for op in fused.co_code[::2])
            compiled_ops = sum(dis.opname[op] in DUAL_LOCAL_OPS for op in code.co_code[::2])
            assert fused_ops >= compiled_ops, code.co_qualname
            checked += 1
    assert checked > 50


def by_line(items) -> list:
    """Flattened items with positions reduced to line numbers: a fused superinstruction
    keeps one position (its first half's), as CPython's compiler does."""
    return [
        entry[:4] + (entry[4].lineno if entry[4] is not None else None,)
        if entry[0] == "instr"
        else entry
        for entry in flatten(list(items))
    ]


def _code_objects(module):
    pending = [value.__code__ for value in vars(module).values() if hasattr(value, "__code__")]
    for value in vars(module).values():
        if isinstance(value, type):
            pending += [m.__code__ for m in vars(value).values() if hasattr(m, "__code__")]
    seen = []
    while pending:
        code = pending.pop()
        seen.append(code)
        pending += [const for const in code.co_consts if hasattr(const, "co_code")]
    return seen
