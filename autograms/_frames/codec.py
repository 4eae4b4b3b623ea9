"""A lean codec between code objects and `bytecode`'s abstract instructions.

`bytecode` converts in several general passes (concrete instructions, EXTENDED_ARG folding,
validated lists, a jump-fixing loop over concrete objects); for the engine, which decodes every
instrumented function once and assembles two code objects from it, those passes were most of
the instrumentation time. This module does each conversion in one table-driven pass and gives
*exactly* what `bytecode` 0.19.1 gives, so the rest of the engine keeps working on `Instr`,
`Label`, `TryBegin` and `TryEnd` objects -- but for one bytecode bug the codec does not copy:
bytecode writes columns up to 255 in the location table's one-line form, which CPython's line
lookups misread (wrong line numbers in tracebacks and in `f_lineno` for any instruction at a
column >= 128); the codec keeps CPython's limit of 128, as its compiler does:

* `decode(code)` equals ``ConcreteBytecode.from_code(code).to_bytecode(
  conserve_exception_block_stackdepth=True)``, except that the 3.13 dual-local
  superinstructions come out split in two (docs/engine.md, pitfall P1);
* `assemble(items, shape, stacksize=n)` equals ``Bytecode.to_code(stacksize=n,
  compute_exception_stack_depths=False)`` for a Bytecode holding `items` and the attributes
  of `shape`. It refuses what the engine never emits: SetLineno, CACHE, dual-local
  superinstructions, regions without a stack depth or without an end.

``tests/engine/test_codec.py`` compares both with `bytecode` on the standard library and on
the engine's own instrumented code, for every supported Python.
"""

from __future__ import annotations

import dis
import opcode as _opcode
from types import CodeType
from typing import Any, Final

from bytecode import Bytecode, CompilerFlags, Instr, Label, TryBegin, TryEnd
from bytecode.concrete import HAS_COMPARE, HAS_CONST, HAS_FREE, HAS_LOCAL, HAS_NAME
from bytecode.instr import (
    BINARY_OPS,
    BITFLAG2_OPCODES,
    BITFLAG_OPCODES,
    DUAL_ARG_OPCODES,
    DUAL_ARG_OPCODES_SINGLE_OPS,
    FORMAT_VALUE_OPS,
    HAS_BACKWARD_RELATIVE_JUMP,
    HAS_FORWARD_RELATIVE_JUMP,
    INTRINSIC_1OP,
    INTRINSIC_2OP,
    UNSET,
    BinaryOp,
    CellVar,
    Compare,
    FormatValue,
    FreeVar,
    InstrLocation,
    Intrinsic1Op,
    Intrinsic2Op,
    const_key,
    opcode_has_argument,
)

from .._record import Record, replace
from .versions import (
    CACHE_COUNTS_BY_NAME,
    COMPARE_ARG_HAS_BOOL_BIT,
    COMPARE_ARG_SHIFT,
    HAS_LOCAL_SUPERINSTRUCTIONS,
    LOCAL_OPS_INDEX_CELLS,
)

_EXTENDED_ARG: Final = _opcode.opmap["EXTENDED_ARG"]
_CACHE: Final = _opcode.opmap["CACHE"]
_NOP: Final = _opcode.opmap["NOP"]
#: (lineno, end_lineno, col_offset, end_col_offset), as code.co_positions() gives them.
Position = tuple[Any, Any, Any, Any]
# bytecode gives up on jump offsets that have not settled after this many passes.
_JUMP_PASSES: Final = 10


def _cache_count(op: int) -> int:
    if CACHE_COUNTS_BY_NAME:
        return dis._inline_cache_entries.get(_opcode.opname[op], 0)
    return dis._inline_cache_entries[op]


#: Inline cache units after each opcode.
CACHES: Final[tuple[int, ...]] = tuple(_cache_count(op) for op in range(256))
_CACHE_BYTES: Final = tuple((0, 0) * count for count in CACHES)
#: Whether each opcode takes an argument.
HAS_ARGUMENT: Final[tuple[bool, ...]] = tuple(opcode_has_argument(op) for op in range(256))

# How an opcode's argument is read and written. (3.11+ has relative jumps only.)
ARG_INT: Final = 0
ARG_JUMP_FORWARD: Final = 1
ARG_JUMP_BACKWARD: Final = 2
ARG_CONST: Final = 3
ARG_LOCAL: Final = 4
ARG_DUAL_LOCAL: Final = 5
ARG_NAME: Final = 6
ARG_FLAGGED_NAME: Final = 7
ARG_TWO_FLAGS_NAME: Final = 8
ARG_FREE: Final = 9
ARG_COMPARE: Final = 10
ARG_INTRINSIC_1: Final = 11
ARG_INTRINSIC_2: Final = 12
ARG_BINARY: Final = 13
ARG_FORMAT: Final = 14


def _arg_kind(op: int) -> int:
    """The argument kind of `op`, tested in the order `bytecode` tests them."""
    if op in HAS_FORWARD_RELATIVE_JUMP:
        return ARG_JUMP_FORWARD
    if op in HAS_BACKWARD_RELATIVE_JUMP:
        return ARG_JUMP_BACKWARD
    if op in HAS_CONST:
        return ARG_CONST
    if op in HAS_LOCAL:
        return ARG_DUAL_LOCAL if op in DUAL_ARG_OPCODES else ARG_LOCAL
    if op in HAS_NAME:
        if op in BITFLAG_OPCODES:
            return ARG_FLAGGED_NAME
        return ARG_TWO_FLAGS_NAME if op in BITFLAG2_OPCODES else ARG_NAME
    table = (
        (HAS_FREE, ARG_FREE),
        (HAS_COMPARE, ARG_COMPARE),
        (INTRINSIC_1OP, ARG_INTRINSIC_1),
        (INTRINSIC_2OP, ARG_INTRINSIC_2),
        (BINARY_OPS, ARG_BINARY),
        (FORMAT_VALUE_OPS, ARG_FORMAT),
    )
    for opcodes, kind in table:
        if op in opcodes:
            return kind
    return ARG_INT


#: Argument kind of each opcode.
ARG_KINDS: Final[tuple[int, ...]] = tuple(_arg_kind(op) for op in range(256))
_JUMP_KINDS: Final = frozenset({ARG_JUMP_FORWARD, ARG_JUMP_BACKWARD})
_ENUM_ARGS: Final = {
    ARG_INTRINSIC_1: Intrinsic1Op,
    ARG_INTRINSIC_2: Intrinsic2Op,
    ARG_BINARY: BinaryOp,
    ARG_FORMAT: FormatValue,
}


class Shape(Record):
    """Everything of a code object but its instructions and the tables they index."""

    __slots__ = (
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
        "varnames",
    )

    argcount: int
    posonlyargcount: int
    kwonlyargcount: int
    flags: int
    first_lineno: int
    name: str
    qualname: str
    filename: str
    #: co_consts[0] when it is a str or None (bytecode's rule), else UNSET; it stays first.
    docstring: Any
    #: Names given the first local slots (bytecode's `argnames`).
    argnames: tuple[str, ...]
    cellvars: tuple[str, ...]
    freevars: tuple[str, ...]
    #: Names given the next local slots, in this order, before any other local is numbered
    #: (empty: numbered by first use, as bytecode does).
    varnames: tuple[str, ...]

    def __init__(
        self,
        argcount: int,
        posonlyargcount: int,
        kwonlyargcount: int,
        flags: int,
        first_lineno: int,
        name: str,
        qualname: str,
        filename: str,
        docstring: Any,
        argnames: tuple[str, ...],
        cellvars: tuple[str, ...],
        freevars: tuple[str, ...],
        varnames: tuple[str, ...] = (),
    ) -> None:
        self.argcount = argcount
        self.posonlyargcount = posonlyargcount
        self.kwonlyargcount = kwonlyargcount
        self.flags = flags
        self.first_lineno = first_lineno
        self.name = name
        self.qualname = qualname
        self.filename = filename
        self.docstring = docstring
        self.argnames = argnames
        self.cellvars = cellvars
        self.freevars = freevars
        self.varnames = varnames

    @classmethod
    def of(cls, bytecode: Bytecode) -> Shape:
        """The shape `bytecode` (a decoded template) describes."""
        return cls(
            bytecode.argcount,
            bytecode.posonlyargcount,
            bytecode.kwonlyargcount,
            int(bytecode.flags),
            bytecode.first_lineno,
            bytecode.name,
            bytecode.qualname,
            bytecode.filename,
            bytecode.docstring,
            tuple(bytecode.argnames),
            tuple(bytecode.cellvars),
            tuple(bytecode.freevars),
        )

    def with_varnames(self, varnames: tuple[str, ...]) -> Shape:
        """The same shape, numbering `varnames` first (after the arguments), in order."""
        return replace(self, varnames=varnames)


# --- decoding


class ExceptionEntry:
    """One exception-table entry, offsets in code units, `stop` inclusive (equal to itself
    only, like bytecode's: a table may list the same entry twice)."""

    __slots__ = ("start", "stop", "target", "depth", "lasti")

    start: int
    stop: int
    target: int
    depth: int
    lasti: bool

    def __init__(self, start: int, stop: int, target: int, depth: int, lasti: bool) -> None:
        self.start = start
        self.stop = stop
        self.target = target
        self.depth = depth
        self.lasti = lasti


def exception_entries(code: CodeType) -> list[ExceptionEntry]:
    """The exception table of `code`."""
    table = code.co_exceptiontable
    entries = []
    index = 0
    while index < len(table):
        fields = []
        for _ in range(4):
            byte = table[index]
            index += 1
            value = byte & 63
            while byte & 64:
                byte = table[index]
                index += 1
                value = (value << 6) | (byte & 63)
            fields.append(value)
        start, length, target, depth_lasti = fields
        stop = start + length - 1
        entries.append(ExceptionEntry(start, stop, target, depth_lasti >> 1, bool(depth_lasti & 1)))
    return entries


def decode(code: CodeType) -> Bytecode:
    """The abstract instructions of `code`, with the compiler's exception-table depths."""
    return _Decoder(code).run()


class _Decoder:
    def __init__(self, code: CodeType) -> None:
        self.code = code
        varnames = list(code.co_varnames)
        #: What a cell or free variable index names (cells sharing a local's name share its
        #: slot).
        self.cells = varnames + [CellVar(n) for n in code.co_cellvars if n not in varnames]
        #: What a local index names: 3.13's LOAD_FAST also reads cells and free variables.
        self.locals = varnames
        if LOCAL_OPS_INDEX_CELLS:
            self.locals = self.cells + [FreeVar(n) for n in code.co_freevars if n not in varnames]
        self.instructions = _read_instructions(code)
        entries = exception_entries(code)
        targets = {entry.target for entry in entries}
        for offset, op, arg, size, _ in self.instructions:
            if ARG_KINDS[op] in _JUMP_KINDS:
                targets.add(_jump_target(offset, op, arg, size))
        self.labels = {target: Label() for target in targets}
        self.starts = {entry.start: entry for entry in entries}
        self.stops: dict[int, list[ExceptionEntry]] = {}
        for entry in entries:
            self.stops.setdefault(entry.stop, []).append(entry)
        self.regions: dict[ExceptionEntry, TryBegin] = {}
        self.placed = 0
        self.items: list = []

    def run(self) -> Bytecode:
        """Walk the code units as bytecode does: labels and region starts go before the unit
        they name (even a cache unit, whose instruction is dropped), region ends after."""
        marks = self.labels.keys() | self.starts.keys() | self.stops.keys()
        ordered = sorted(marks)
        passed = 0  # marks in `ordered` before the current instruction's caches
        stops = self.stops
        for offset, op, arg, size, location in self.instructions:
            if offset in marks:
                self._open(offset)
            self._instr(op, arg, location, offset, size)
            last = offset + size - 1  # the opcode's own unit, after EXTENDED_ARG prefixes
            if last in stops:
                self._close(last)
            end = last + CACHES[op]
            while passed < len(ordered) and ordered[passed] <= end:
                unit = ordered[passed]
                passed += 1
                if unit > last:  # a cache unit
                    self._open(unit)
                    if unit in stops:
                        self._close(unit)
        if self.placed != len(self.labels):
            raise ValueError(
                f"{self.code.co_qualname}: a jump or handler target is inside an instruction"
            )
        return self._bytecode()

    def _open(self, unit: int) -> None:
        label = self.labels.get(unit)
        if label is not None:
            self.items.append(label)
            self.placed += 1
        entry = self.starts.get(unit)
        if entry is not None and entry not in self.regions:
            self.items.append(self._region(entry))

    def _close(self, unit: int) -> None:
        for entry in reversed(self.stops[unit]):
            region = self.regions.get(entry)
            if region is None:  # the entry ends before it starts: bytecode opens it here
                region = self._region(entry)
                self.items.append(region)
            self.items.append(TryEnd(region))

    def _region(self, entry: ExceptionEntry) -> TryBegin:
        region = self.regions[entry] = TryBegin(self.labels[entry.target], entry.lasti, entry.depth)
        return region

    def _instr(self, op: int, arg: Any, location: InstrLocation, offset: int, size: int) -> None:
        kind = ARG_KINDS[op]
        code = self.code
        if kind == ARG_INT:
            value = arg
        elif kind == ARG_LOCAL:
            value = self.locals[arg]
        elif kind == ARG_CONST:
            value = code.co_consts[arg]
        elif kind in _JUMP_KINDS:
            value = self.labels[_jump_target(offset, op, arg, size)]
        elif kind == ARG_FLAGGED_NAME:
            value = (bool(arg & 1), code.co_names[arg >> 1])
        elif kind == ARG_NAME:
            value = code.co_names[arg]
        elif kind == ARG_DUAL_LOCAL:
            # Split (pitfall P1): LOAD_FAST_LOAD_FAST (a, b) -> LOAD_FAST a; LOAD_FAST b
            first, second = DUAL_ARG_OPCODES_SINGLE_OPS[op]
            self.items.append(_new_instr(first, self.locals[arg >> 4], location))
            self.items.append(_new_instr(second, self.locals[arg & 15], location))
            return
        else:
            value = self._rare_argument(kind, arg)
        self.items.append(Instr._from_trusted(_opcode.opname[op], op, value, location))

    def _rare_argument(self, kind: int, arg: int) -> Any:
        if kind == ARG_TWO_FLAGS_NAME:
            return (bool(arg & 1), bool(arg & 2), self.code.co_names[arg >> 2])
        if kind == ARG_FREE:
            if arg < len(self.cells):
                cell = self.cells[arg]
                return cell if isinstance(cell, CellVar) else CellVar(cell)
            return FreeVar(self.code.co_freevars[arg - len(self.cells)])
        if kind == ARG_COMPARE:
            return Compare(_compare_from_arg(arg))
        return _ENUM_ARGS[kind](arg)

    def _bytecode(self) -> Bytecode:
        code = self.code
        bytecode = Bytecode()
        bytecode.name = code.co_name
        bytecode.qualname = code.co_qualname
        bytecode.filename = code.co_filename
        bytecode.flags = CompilerFlags(code.co_flags)
        bytecode.argcount = code.co_argcount
        bytecode.posonlyargcount = code.co_posonlyargcount
        bytecode.kwonlyargcount = code.co_kwonlyargcount
        bytecode.first_lineno = code.co_firstlineno
        bytecode.cellvars = list(code.co_cellvars)
        bytecode.freevars = list(code.co_freevars)
        # bytecode counts positional-only parameters twice here; kept, it is harmless
        nargs = code.co_argcount + code.co_kwonlyargcount + code.co_posonlyargcount
        nargs += bool(code.co_flags & CompilerFlags.VARARGS)
        nargs += bool(code.co_flags & CompilerFlags.VARKEYWORDS)
        bytecode.argnames = list(code.co_varnames[:nargs])
        consts = code.co_consts
        if consts and (consts[0] is None or isinstance(consts[0], str)):
            bytecode.docstring = consts[0]
        list.extend(bytecode, self.items)  # valid by construction: skip the per-item checks
        return bytecode


def _read_instructions(code: CodeType) -> list[tuple[int, int, Any, int, InstrLocation]]:
    """(first unit, opcode, argument, units, location) of each instruction: EXTENDED_ARG
    prefixes folded in (counted in `units`), inline caches skipped."""
    raw = code.co_code
    positions = list(code.co_positions())
    instructions = []
    start = -1
    extended = 0
    last_position = None
    location = None
    index = 0
    while index < len(positions):
        op = raw[2 * index]
        if op == _EXTENDED_ARG:
            if start < 0:
                start = index
            extended = (extended << 8) | raw[2 * index + 1]
            index += 1
            continue
        position = positions[index]
        if position != last_position:
            location = _location(*position)
            last_position = position
        if start < 0:
            arg = raw[2 * index + 1] if HAS_ARGUMENT[op] else UNSET
            instructions.append((index, op, arg, 1, location))
        else:
            arg = UNSET if op == _NOP else (extended << 8) + raw[2 * index + 1]
            instructions.append((start, op, arg, index - start + 1, location))
            start = -1
            extended = 0
        index += 1 + CACHES[op]
    if start >= 0:
        raise ValueError("EXTENDED_ARG at the end of the code")
    return instructions


# InstrLocation is a frozen dataclass: its fields are set through the slot descriptors, which
# is what `InstrLocation._from_tuple` does with object.__setattr__, at half the cost (decoding
# makes one per source position).
_SET_LOCATION_FIELDS: Final = tuple(
    getattr(InstrLocation, name).__set__
    for name in ("lineno", "end_lineno", "col_offset", "end_col_offset")
)


def _location(lineno: Any, end_lineno: Any, col_offset: Any, end_col_offset: Any) -> InstrLocation:
    location = object.__new__(InstrLocation)
    set_lineno, set_end_lineno, set_col_offset, set_end_col_offset = _SET_LOCATION_FIELDS
    set_lineno(location, lineno)
    set_end_lineno(location, end_lineno)
    set_col_offset(location, col_offset)
    set_end_col_offset(location, end_col_offset)
    return location


def _jump_target(offset: int, op: int, arg: int, size: int) -> int:
    after = offset + size + CACHES[op]
    return after + arg if ARG_KINDS[op] == ARG_JUMP_FORWARD else after - arg


def _compare_from_arg(arg: int) -> int:
    """The comparison (with 3.13's bool bit as 16) of a COMPARE_OP oparg; the mask is dropped."""
    value = arg >> COMPARE_ARG_SHIFT
    return value + (16 if COMPARE_ARG_HAS_BOOL_BIT and arg & 16 else 0)


def _compare_to_arg(compare: Compare) -> int:
    if not COMPARE_ARG_SHIFT:
        return compare.value
    if not COMPARE_ARG_HAS_BOOL_BIT:
        return compare._get_mask() + (compare.value << COMPARE_ARG_SHIFT)
    value = compare.value & 0b1111
    return compare._get_mask() + (value << COMPARE_ARG_SHIFT) + (compare.value & 16)


def _new_instr(name: str, arg: Any, location: InstrLocation) -> Instr:
    return Instr._from_trusted(name, _opcode.opmap[name], arg, location)


# --- assembly


class _Tables:
    """co_consts, co_names and co_varnames in order of first use, as bytecode builds them."""

    def __init__(self, shape: Shape) -> None:
        self.const_index: dict[Any, int] = {}
        self.consts: list = []
        self.name_index: dict[str, int] = {}
        self.varname_index: dict[str, int] = {}
        if shape.docstring is not UNSET:
            self.const(shape.docstring)
        for name in shape.argnames:
            self.varname(name)
        for name in shape.varnames:
            self.varname(name)

    def const(self, value: Any) -> int:
        key = const_key(value)
        index = self.const_index.get(key)
        if index is None:
            index = self.const_index[key] = len(self.consts)
            self.consts.append(value)
        return index

    def name(self, name: str) -> int:
        return self.name_index.setdefault(name, len(self.name_index))

    def varname(self, name: str) -> int:
        return self.varname_index.setdefault(name, len(self.varname_index))


def assemble(items: list, shape: Shape, *, stacksize: int, fuse: bool = False) -> CodeType:
    """The code object of `items` (Instr, Label, TryBegin, TryEnd) with `shape`'s attributes.

    With `fuse` (3.13), adjacent local loads and stores become the superinstructions the
    compiler would have made (LOAD_FAST_LOAD_FAST ...): on one line, nothing jumping between
    them, both locals numbered below 16. `bytecode` 0.19.1 mis-encodes those (pitfall P1),
    which is why `decode` splits them; this assembler encodes them itself.
    """
    return _Assembler(shape, fuse=fuse and HAS_LOCAL_SUPERINSTRUCTIONS).run(items, stacksize)


# (first op, second op) -> superinstruction (3.13)
_FUSIONS: dict[tuple[str, str], str] = {
    ("LOAD_FAST", "LOAD_FAST"): "LOAD_FAST_LOAD_FAST",
    ("STORE_FAST", "LOAD_FAST"): "STORE_FAST_LOAD_FAST",
    ("STORE_FAST", "STORE_FAST"): "STORE_FAST_STORE_FAST",
}


class _Assembler:
    def __init__(self, shape: Shape, *, fuse: bool = False) -> None:
        self.shape = shape
        self.fusions = (
            {
                (_opcode.opmap[a], _opcode.opmap[b]): _opcode.opmap[c]
                for (a, b), c in _FUSIONS.items()
            }
            if fuse
            else {}
        )
        self.tables = _Tables(shape)
        self.ops: list[int] = []
        self.args: list[int] = []
        self.locations: list[InstrLocation] = []
        #: Code units of each instruction, EXTENDED_ARG prefixes included (caches not).
        self.sizes: list[int] = []
        #: Instruction index -> cell (True) or free (False) variable to re-number at the end.
        self.variables: dict[int, bool] = {}
        #: (instruction index, label) of every jump.
        self.jumps: list[tuple[int, Label]] = []
        self.labels: dict[Label, int] = {}
        #: Region -> [first instruction index, last instruction index (-1 until closed)].
        self.regions: dict[TryBegin, list[int]] = {}

    def run(self, items: list, stacksize: int) -> CodeType:
        self._collect(items)
        self._number_variables()
        starts = self._resolve_jumps()
        shape, tables = self.shape, self.tables
        return CodeType(
            shape.argcount,
            shape.posonlyargcount,
            shape.kwonlyargcount,
            len(tables.varname_index),
            stacksize,
            shape.flags,
            self._code(),
            tuple(tables.consts),
            tuple(tables.name_index),
            tuple(tables.varname_index),
            shape.filename,
            shape.name,
            shape.qualname,
            shape.first_lineno,
            self._linetable(),
            self._exception_table(starts),
            shape.freevars,
            shape.cellvars,
        )

    def _collect(self, items: list) -> None:
        location = InstrLocation._from_tuple(self.shape.first_lineno, None, None, None)
        ops, args, locations = self.ops, self.args, self.locations
        fusable = False  # may the next instruction fuse with the last one?
        for item in items:
            if isinstance(item, Instr):
                previous = location
                if item._location is not None:
                    location = item._location
                argument = self._argument(item)
                local = bool(self.fusions) and isinstance(item._arg, str)  # not a cell
                if fusable and local and self._fuse(item._opcode, argument, previous, location):
                    fusable = False
                    continue
                fusable = local
                args.append(argument)
                ops.append(item._opcode)
                locations.append(location)
                continue
            fusable = False
            if isinstance(item, Label):
                self.labels[item] = len(ops)
            elif isinstance(item, TryBegin):
                if item.stack_depth is UNSET or not isinstance(item.stack_depth, int):
                    raise ValueError("assemble needs the stack depth of every exception region")
                self.regions[item] = [len(ops), -1]
            elif isinstance(item, TryEnd):
                self.regions[item.entry][1] = len(ops) - 1
            else:
                raise TypeError(f"cannot assemble {item!r}")
        if any(last < 0 for _, last in self.regions.values()):
            raise ValueError("assemble needs every exception region closed by a TryEnd")

    def _fuse(self, op: int, argument: int, before: InstrLocation, location: InstrLocation) -> bool:
        """Merge the instruction `op` into the last one if they form a superinstruction."""
        fused = self.fusions.get((self.ops[-1], op))
        if fused is None or argument >= 16 or self.args[-1] >= 16:
            return False
        if before.lineno != location.lineno:  # each keeps its line (tracebacks, tracing)
            return False
        self.ops[-1] = fused
        self.args[-1] = self.args[-1] << 4 | argument
        return True

    def _argument(self, instr: Instr) -> int:
        op = instr._opcode
        arg = instr._arg
        kind = ARG_KINDS[op]
        if kind == ARG_INT or kind in _ENUM_ARGS:
            if op == _CACHE:
                raise ValueError("assemble does not take CACHE instructions")
            return 0 if arg is UNSET else int(arg)
        if kind in _JUMP_KINDS:
            self.jumps.append((len(self.ops), arg))
            return 0
        tables = self.tables
        if kind == ARG_CONST:
            return tables.const(arg)
        if kind == ARG_NAME:
            return tables.name(arg)
        if kind == ARG_LOCAL or kind == ARG_FREE:
            return self._variable(kind, arg)
        if kind == ARG_FLAGGED_NAME:
            return int(arg[0]) + (tables.name(arg[1]) << 1)
        if kind == ARG_TWO_FLAGS_NAME:
            return int(arg[0]) + 2 * int(arg[1]) + (tables.name(arg[2]) << 2)
        if kind == ARG_COMPARE:
            return _compare_to_arg(arg)
        raise ValueError(f"assemble does not take {instr.name}; split it first (pitfall P1)")

    def _variable(self, kind: int, arg: Any) -> int:
        if isinstance(arg, str) and kind == ARG_LOCAL:
            return self.tables.varname(arg)
        if isinstance(arg, CellVar) and (kind == ARG_FREE or LOCAL_OPS_INDEX_CELLS):
            self.variables[len(self.ops)] = True
            return self.shape.cellvars.index(arg.name)
        if isinstance(arg, FreeVar) and (kind == ARG_FREE or LOCAL_OPS_INDEX_CELLS):
            self.variables[len(self.ops)] = False
            return self.shape.freevars.index(arg.name)
        raise TypeError(f"bad variable argument {arg!r}")

    def _number_variables(self) -> None:
        """Cell and free variables live after the locals (a cell sharing a local's name
        reuses its slot); their numbers are known once every local is."""
        if not self.variables:
            return
        varnames = self.tables.varname_index
        cell_slots = []
        unshared = 0
        for name in self.shape.cellvars:
            if name in varnames:
                cell_slots.append(varnames[name])
            else:
                cell_slots.append(len(varnames) + unshared)
                unshared += 1
        free_offset = len(varnames) + unshared
        args = self.args
        for index, is_cell in self.variables.items():
            args[index] = cell_slots[args[index]] if is_cell else args[index] + free_offset

    def _resolve_jumps(self) -> list[int]:
        """Settle jump arguments (a longer one may need EXTENDED_ARG and move its targets);
        returns the first code unit of each instruction, then the end."""
        ops, args = self.ops, self.args
        sizes = self.sizes = [_size(arg) for arg in args]
        for _ in range(_JUMP_PASSES):
            starts = _starts(ops, sizes)
            changed = False
            for index, label in self.jumps:
                op = ops[index]
                target = starts[self.labels[label]]
                after = starts[index] + CACHES[op] + sizes[index]
                arg = target - after if ARG_KINDS[op] == ARG_JUMP_FORWARD else after - target
                if not 0 <= arg <= 2147483647:
                    name = _opcode.opname[op]
                    raise ValueError(f"{name} cannot reach its label (argument {arg})")
                args[index] = arg
                size = _size(arg)
                if size != sizes[index]:
                    sizes[index] = size
                    changed = True
            if not changed:
                return starts
        raise RuntimeError(f"jump offsets did not settle after {_JUMP_PASSES} passes")

    def _code(self) -> bytes:
        raw: list[int] = []
        for op, arg, size in zip(self.ops, self.args, self.sizes, strict=True):
            if size > 1:
                for shift in range(8 * (size - 1), 0, -8):
                    raw += (_EXTENDED_ARG, (arg >> shift) & 0xFF)
            raw += (op, arg & 0xFF)
            raw += _CACHE_BYTES[op]
        return bytes(raw)

    def _exception_table(self, starts: list[int]) -> bytes:
        table = bytearray()
        ops, sizes = self.ops, self.sizes
        for region, (first, last) in self.regions.items():
            # From the first instruction's opcode unit to the last one's last cache unit.
            start = starts[first] + sizes[first] - 1
            stop = starts[last] + sizes[last] - 1 + CACHES[ops[last]]
            table += _varint(start, begin=True)
            table += _varint(stop - start + 1)
            table += _varint(starts[self.labels[region.target]])
            table += _varint((region.stack_depth << 1) + region.push_lasti)
        return bytes(table)

    def _linetable(self) -> bytes:
        """co_linetable (CPython's Objects/locations.md), grouped as bytecode groups it:
        consecutive units at one position share an entry, except units without a line
        number (each instruction and each of its caches gets its own)."""
        table = bytearray()
        line = self.shape.first_lineno
        position: Position | None = None  # of the run of units not written yet
        units = 0
        last = None  # the location object that position was read from
        for op, size, location in zip(self.ops, self.sizes, self.locations, strict=True):
            caches = CACHES[op]
            if location is not last or location.lineno is None:
                last = location
                new = (
                    location.lineno,
                    location.end_lineno,
                    location.col_offset,
                    location.end_col_offset,
                )
                if new[0] is None or new != position:
                    if position is not None:
                        line = _write_position(table, units, line, position)
                    position, units = new, 0
                    if new[0] is None and caches:
                        line = _write_position(table, size, line, new)
                        for _ in range(caches - 1):
                            line = _write_position(table, 1, line, new)
                        units = 1
                        continue
            units += size + caches
        if position is not None:
            _write_position(table, units, line, position)
        return bytes(table)


def _size(arg: int) -> int:
    """Code units of an instruction with `arg`, EXTENDED_ARG prefixes included."""
    if arg <= 0xFF:
        return 1
    if arg <= 0xFFFF:
        return 2
    return 3 if arg <= 0xFFFFFF else 4


def _starts(ops: list[int], sizes: list[int]) -> list[int]:
    """First code unit of each instruction (prefixes included), then the end."""
    starts = []
    offset = 0
    for op, size in zip(ops, sizes, strict=True):
        starts.append(offset)
        offset += size + CACHES[op]
    starts.append(offset)
    return starts


def _varint(value: int, *, begin: bool = False) -> bytes:
    """An exception-table number: 6-bit groups, most significant first, bit 6 on all but
    the last; bit 7 marks an entry's first byte."""
    groups = [value & 63]
    value >>= 6
    while value:
        groups.append(value & 63 | 64)
        value >>= 6
    if begin:
        groups[-1] |= 128
    return bytes(reversed(groups))


def _write_position(table: bytearray, units: int, line: int, position: Position) -> int:
    """Append the entries of `units` code units at `position`, at most 8 units each; `line`
    is the line of the entry before. Returns the line of the last entry."""
    lineno, end_lineno, column, end_column = position
    while units > 0:
        size = units if units < 8 else 8
        units -= 8
        if lineno is None:
            table.append(_location_header(15, size))  # no location
            continue
        if column is None:
            if end_lineno is not None and end_lineno != lineno:
                raise ValueError(
                    f"an instruction cannot span lines {lineno}-{end_lineno} without columns"
                )
            table.append(_location_header(13, size))  # line only
            table += _location_svarint(lineno - line)
        elif end_lineno == lineno == line and column < 72 and end_column - column <= 15:
            table.append(_location_header(column // 8, size))  # short form
            table.append(((column % 8) << 4) + end_column - column)
        elif end_lineno == lineno and lineno - line in (1, 2) and column < 128 and end_column < 128:
            # CPython's limit, not bytecode's 256: CPython's line lookups (f_lineno, co_lines,
            # tracebacks) step to the next entry at the next byte with bit 7 set
            table.append(_location_header(10 + lineno - line, size))  # one line
            table.append(column)
            table.append(end_column)
        else:
            table.append(_location_header(14, size))  # long form
            table += _location_svarint(lineno - line)
            table += _location_varint(end_lineno - lineno)
            table += _location_varint(column + 1)
            table += _location_varint(end_column + 1)
        line = lineno
    return line


def _location_header(form: int, units: int) -> int:
    return 0x80 | (form << 3) | (units - 1)


def _location_varint(value: int) -> bytes:
    """6-bit groups, least significant first, bit 6 on all but the last."""
    groups = []
    while True:
        groups.append(value & 0x3F)
        value >>= 6
        if not value:
            return bytes(groups)
        groups[-1] |= 0x40


def _location_svarint(value: int) -> bytes:
    return _location_varint(((-value) << 1) | 1 if value < 0 else value << 1)
