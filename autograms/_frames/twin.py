"""The resume twin: the instrumented body entered from a snapshot instead of a call.

Built lazily, once per process, on the first resume of a function. It has the function's own
signature and the same locals in the same slots (hidden ones after them), so code that looks
at its frame -- zero-argument ``super()``, ``co_varnames``, a debugger -- sees the function it
resumes. It is called with no arguments while a resume is under way (`runtime.restore` hands
it its values). After the prologue it jumps to the resume entry, which

1. stores every saved local (parameters included) and deletes those unbound at the pause,
2. puts the saved cell objects back into the cell slots, so closures stay shared,
3. dispatches on the call-site index to that site's *resume stub*, which pushes the value
   stack back and calls what continues the call it was paused in -- the twin of the next
   frame, or, in the innermost frame, a callable returning the resume value -- under a copy
   of the site's exception region (so exceptions from the resumed callee reach the original
   handlers), then jumps back into the body right after the original call.

The stub calls the next twin directly, so a resumed stack holds the same frames, one per
function, as the stack that paused: tracebacks show the user's frames only, and any depth
that could pause can resume.
"""

from __future__ import annotations

import dis
from types import CodeType

from bytecode import CellVar, Instr, Label

from . import emit, runtime
from .instrument import (
    CELL_SLOT_PREFIX,
    CELLS,
    RESUME_CALL,
    assemble,
    emit_recipes,
    site_offsets,
    wrap_in_region,
)
from .code_cache import resume_function, twin_of  # noqa: F401 - twin_of: the way in
from .records import Recipe, RecipeKind
from .registry import FunctionInfo, Twin
from .versions import CELL_STORE_NEEDS_PATCH


def build_twin(info: FunctionInfo) -> Twin:
    """Build the twin of `info`'s function (`code_cache.twin_of` gives it, built once)."""
    layout = info.layout
    builder = _TwinBuilder(info)
    entry = Label()
    items = (
        layout.prologue
        + [emit.jump_forward(entry)]
        + layout.body
        + layout.tail
        + [entry]
        + builder.resume_entry()
    )
    stacksize = max(layout.stacksize, len(info.restore_names) + 3)
    code = assemble(
        layout.template, items, stacksize=stacksize, varnames=info.original_code.co_varnames
    )
    if CELL_STORE_NEEDS_PATCH and info.has_cells:
        code = _patch_cell_stores(code)
    site_calls = dict(layout.site_calls)
    site_calls.update(builder.stub_calls)
    return Twin(
        code=code,
        function=resume_function(info, code),
        site_map=site_offsets(code, items, site_calls),
        stub_offsets=frozenset(site_offsets(code, items, builder.stub_calls)),
    )


class _TwinBuilder:
    def __init__(self, info: FunctionInfo) -> None:
        self.info = info
        self.stub_calls: dict[int, int] = {}

    def resume_entry(self) -> list:
        names = self.info.restore_names
        code: list = [
            *emit.call(runtime.restore, [], 0),
            emit.instr("UNPACK_SEQUENCE", len(names) + 2),
        ]
        code += [emit.instr("STORE_FAST", name) for name in names]
        code.append(emit.instr("STORE_FAST", RESUME_CALL))
        if self.info.has_cells:
            code += self._restore_cells()
        for name in names:
            code += _delete_if_missing(name)
        hooks = self.info.hooks
        if hooks is not None and hooks.resumed is not None:
            code += [*emit.call(hooks.resumed, [], 0), emit.instr("POP_TOP")]
        stubs = [(site.index, Label()) for site in self.info.sites if site.refusal is None]
        code += emit.dispatch_on_int(stubs)
        code += [
            *emit.call(runtime.unknown_site, [emit.instr("COPY", 3)], 1),
            emit.instr("RETURN_VALUE"),
        ]
        for index, label in stubs:
            code.append(label)
            code += self._resume_stub(index)
        return code

    def _restore_cells(self) -> list:
        cells = self.info.original_code.co_cellvars
        code = [emit.instr("LOAD_FAST", CELLS), emit.instr("UNPACK_SEQUENCE", len(cells))]
        for name in cells:
            if CELL_STORE_NEEDS_PATCH:
                code.append(emit.instr("STORE_FAST", CELL_SLOT_PREFIX + name))
            else:
                code.append(emit.instr("STORE_FAST", CellVar(name)))
        return code

    def _resume_stub(self, index: int) -> list:
        site = self.info.sites[index]
        layout = self.info.layout
        location = self.info.flow.instrs[site.position].location
        code = [emit.instr("POP_TOP", location=location)]
        code += emit_recipes(self.info.flow, site.recipes, location, resume=True)
        # a captured value is on the stack now, and a later pause reads it there: its local
        # would only show in the frame's f_locals and keep the object alive
        code += [emit.instr("DELETE_FAST", name, location) for name in _captured(site.recipes)]
        load = [
            emit.instr("LOAD_FAST", RESUME_CALL, location),
            emit.instr("DELETE_FAST", RESUME_CALL, location),
        ]
        call = emit.call_loaded(load, [], 0, location)
        self.stub_calls[id(call[-1])] = index
        code += wrap_in_region(call, layout.site_regions.get(index))
        code.append(emit.jump_backward(layout.after_labels[index], location))
        return code


def _captured(recipes: tuple[Recipe, ...]) -> list[str]:
    """The hidden locals a resume stub pushes captured values from, once each."""
    names: dict[str, None] = {}
    for recipe in recipes:
        if recipe.kind is RecipeKind.CAPTURE:
            names[recipe.name] = None
        else:
            names.update(dict.fromkeys(_captured(recipe.inputs)))
    return list(names)


def _delete_if_missing(name: str) -> list:
    present = Label()
    return [
        emit.instr("LOAD_FAST", name),
        emit.instr("LOAD_CONST", runtime.MISSING),
        emit.instr("IS_OP", 0),
        emit.jump_if_false(present),
        emit.instr("DELETE_FAST", name),
        present,
    ]


def _patch_cell_stores(code: CodeType) -> CodeType:
    """Point each placeholder STORE_FAST at the real cell slot (3.11/3.12).

    `bytecode` refuses STORE_FAST to a cell there, but the interpreter allows it: the cell
    slot is a fast-locals slot holding the cell object.
    """
    names = code.co_varnames
    extra_cells = [name for name in code.co_cellvars if name not in names]
    slot_of = {name: names.index(name) for name in code.co_cellvars if name in names}
    slot_of.update({name: len(names) + i for i, name in enumerate(extra_cells)})
    placeholders = {
        names.index(CELL_SLOT_PREFIX + cell): slot
        for cell, slot in slot_of.items()
        if CELL_SLOT_PREFIX + cell in names
    }
    raw = bytearray(code.co_code)
    store = Instr("STORE_FAST", "x").opcode
    for offset in range(0, len(raw), 2):
        if raw[offset] == store and raw[offset + 1] in placeholders:
            if offset and raw[offset - 2] == dis.EXTENDED_ARG:
                raise AssertionError("cell placeholder index does not fit one byte")
            raw[offset + 1] = placeholders[raw[offset + 1]]
    return code.replace(co_code=bytes(raw))
