"""Variants of an instrumented function's normal code with some gated hooks left out.

A gate check (``LOAD_CONST gate; LOAD_ATTR is_open; POP_JUMP_IF_FALSE skip``, see
`instrument._unless_open`) costs a few instructions on every call even while the gate is
closed. When a caller knows a gate stays closed for every call that will start from some code
(the dialog layer: no session outside a turn), it can make the function run a variant in which
that check is one jump over the hook, or, right before a return, the return itself. A variant
has the same length and offsets as the normal code, so every table built for the normal code
(call sites, exception regions, line numbers) holds for it, and it is registered for the same
`FunctionInfo`.

Where even a jump per closed check costs too much (a tiny function called from ordinary code,
where the call itself takes ~30 ns), `uninstrumented` gives the function's original code
instead, when the rewrite changes nothing else a call can observe.
"""

from __future__ import annotations

import dis
from types import CodeType

from .registry import FunctionInfo, Gate, register_original, register_variant

_JUMP_FORWARD = dis.opmap["JUMP_FORWARD"]
_RETURNS = frozenset({"RETURN_VALUE", "RETURN_CONST"})
_CONDITIONAL = {
    dis.opmap[name]
    for name in ("POP_JUMP_IF_FALSE", "POP_JUMP_FORWARD_IF_FALSE")
    if name in dis.opmap
}


def without_gates(info: FunctionInfo, gates: frozenset[Gate]) -> CodeType:
    """`info`'s normal code with the checks of `gates` jumping straight over their hooks."""
    code = info.variants.get(gates)
    if code is None:
        code = _patched(info.normal_code, gates)
        register_variant(info, gates, code)
    return code


def uninstrumented(info: FunctionInfo) -> CodeType | None:
    """`info`'s original code, for calls whose caller knows they can neither pause nor be
    jumped into, and need none of the function's hooks (the leave hook included, which the
    normal code runs for an exception whatever its gate); None when the rewrite also changes
    what such a call does: it filters ADDRESS keywords (a labelled call) or routes globals.

    Once given, `lookup` finds `info` by the original code, and a frame running it has no
    call sites (a pause through it is refused as not at a call).
    """
    if info.label_sites or info.routes_globals:
        return None
    register_original(info)
    return info.original_code


def _patched(code: CodeType, gates: frozenset[Gate]) -> CodeType:
    """Each check of `gates` becomes the instruction it skips to when that is a return (the
    value is on the stack already), else a jump there."""
    raw = bytearray(code.co_code)
    instructions = list(dis.get_instructions(code))
    at = {instruction.offset: instruction for instruction in instructions}
    for index, instruction in enumerate(instructions[:-2]):
        if instruction.opname != "LOAD_CONST" or not _is_one_of(instruction.argval, gates):
            continue
        attribute, jump = instructions[index + 1], instructions[index + 2]
        if attribute.argval != "is_open" or jump.opcode not in _CONDITIONAL:
            continue
        if _extended(instructions, index):
            continue  # the check keeps its EXTENDED_ARG prefix: leave it as it is
        target = at.get(jump.argval)
        distance = (jump.argval - instruction.offset - 2) // 2
        if target is not None and target.opname in _RETURNS and not _extended_at(at, target):
            raw[instruction.offset : instruction.offset + 2] = code.co_code[
                target.offset : target.offset + 2
            ]
        elif 0 <= distance <= 255:
            raw[instruction.offset] = _JUMP_FORWARD
            raw[instruction.offset + 1] = distance
    return code.replace(co_code=bytes(raw))


def _is_one_of(value: object, gates: frozenset[Gate]) -> bool:
    return isinstance(value, Gate) and value in gates


def _extended_at(at: dict[int, dis.Instruction], instruction: dis.Instruction) -> bool:
    before = at.get(instruction.offset - 2)
    return before is not None and before.opname == "EXTENDED_ARG"


def _extended(instructions: list[dis.Instruction], index: int) -> bool:
    """Whether the instruction at `index` carries an EXTENDED_ARG prefix."""
    return index > 0 and instructions[index - 1].opname == "EXTENDED_ARG"
