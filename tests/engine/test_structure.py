"""Structural checks on every instrumented code object of the case programs (normal code and
resume twin): what `bytecode` or the interpreter would not catch until memory is corrupted."""

from __future__ import annotations

import dis
import importlib
from pathlib import Path

import pytest
from bytecode import Bytecode

from autograms._frames import codec, registry
from autograms._frames.instrument import assemble
from autograms._frames.twin import twin_of
from tests.engine.test_codec import by_line

ROOT = Path(__file__).resolve().parents[2]


def _instrumented_infos() -> list:
    for path in sorted((ROOT / "tests" / "engine" / "cases").glob("*.py")):
        if not path.stem.startswith("_"):
            importlib.import_module(f"tests.engine.cases.{path.stem}")
    return sorted(registry.registered(), key=lambda info: (info.module, info.qualname))


INFOS = _instrumented_infos()


def _codes(info) -> list:
    return [info.normal_code, twin_of(info).code]


@pytest.mark.parametrize("info", INFOS, ids=lambda info: f"{info.module}.{info.qualname}")
def test_exception_table_depths_are_real(info) -> None:
    for code in _codes(info):
        for entry in dis.Bytecode(code).exception_entries:
            # 32768 is bytecode's "dead code" marker; a live entry with it corrupts memory (P2)
            assert entry.depth < 32768
            assert entry.depth <= code.co_stacksize


JUMPS = frozenset(dis.hasjrel) | frozenset(dis.hasjabs)


def max_stack_depth(code) -> int:
    """The deepest value stack any path through `code` reaches, from `dis` alone (an oracle
    independent of `bytecode`, which cannot read the twins' patched cell stores)."""
    instructions = [i for i in dis.get_instructions(code) if i.opname != "CACHE"]
    index_of = {instruction.offset: n for n, instruction in enumerate(instructions)}
    handlers = dis.Bytecode(code).exception_entries
    depth_at: dict[int, int] = {0: 0}
    work = [0]
    while work:
        n = work.pop()
        instruction, depth = instructions[n], depth_at[n]
        targets = []
        for entry in handlers:
            if entry.start <= instruction.offset < entry.end:
                targets.append((index_of[entry.target], entry.depth + entry.lasti + 1))
        if instruction.opcode in JUMPS:  # argval is the target offset for jumps
            effect = dis.stack_effect(instruction.opcode, instruction.arg, jump=True)
            targets.append((index_of[instruction.argval], depth + effect))
        if instruction.opname not in (
            "RETURN_VALUE",
            "RETURN_CONST",
            "RERAISE",
            "RAISE_VARARGS",
            "JUMP_FORWARD",
            "JUMP_BACKWARD",
            "JUMP_BACKWARD_NO_INTERRUPT",
        ):
            effect = dis.stack_effect(instruction.opcode, instruction.arg, jump=False)
            targets.append((n + 1, depth + effect))
        for target, new_depth in targets:
            if depth_at.get(target, -1) < new_depth:
                depth_at[target] = new_depth
                work.append(target)
    return max(depth_at.values())


@pytest.mark.parametrize("info", INFOS, ids=lambda info: f"{info.module}.{info.qualname}")
def test_declared_stack_size_covers_real_use(info) -> None:
    for code in _codes(info):
        computed = max_stack_depth(code)
        assert computed <= code.co_stacksize, (
            f"{code.co_qualname}: {computed} > {code.co_stacksize}"
        )


def test_depth_oracle_agrees_with_the_compiler() -> None:
    for info in INFOS:
        assert max_stack_depth(info.original_code) <= info.original_code.co_stacksize
        assert (
            Bytecode.from_code(info.normal_code).compute_stacksize()
            <= info.normal_code.co_stacksize
        )


@pytest.mark.parametrize("info", INFOS, ids=lambda info: f"{info.module}.{info.qualname}")
def test_fused_superinstructions_decode_to_the_instructions_planned(info) -> None:
    # bytecode 0.19.1 mis-encodes them when a local index reaches 16 (P1); our assembler
    # fuses them itself (3.13), and the fused code must mean exactly the unfused one
    layout = info.layout
    items = layout.items()
    unfused = assemble(layout.template, items, stacksize=layout.stacksize, fuse=False)
    assert by_line(codec.decode(info.normal_code)) == by_line(codec.decode(unfused))


_SIGNATURE = (
    "co_argcount",
    "co_posonlyargcount",
    "co_kwonlyargcount",
    "co_name",
    "co_qualname",
    "co_filename",
    "co_firstlineno",
    "co_cellvars",
    "co_freevars",
)
_ARGUMENT_FLAGS = 0x04 | 0x08  # CO_VARARGS | CO_VARKEYWORDS


@pytest.mark.parametrize("info", INFOS, ids=lambda info: f"{info.module}.{info.qualname}")
def test_rewritten_code_has_the_original_signature_and_locals_first(info) -> None:
    # what zero-argument super(), inspect and debuggers read off a frame, before and after a
    # resume (the twin once took a single resume argument)
    original = info.original_code
    for code in _codes(info):
        assert [getattr(code, name) for name in _SIGNATURE] == [
            getattr(original, name) for name in _SIGNATURE
        ]
        assert code.co_flags & _ARGUMENT_FLAGS == original.co_flags & _ARGUMENT_FLAGS
        assert code.co_varnames[: len(original.co_varnames)] == original.co_varnames
        assert all(
            name.startswith("__ag_") for name in code.co_varnames[len(original.co_varnames) :]
        )


def test_every_case_function_was_found() -> None:
    assert len(INFOS) > 60
