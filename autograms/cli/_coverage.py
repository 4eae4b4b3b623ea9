"""What ``autograms debug`` measures of a bot's code: which ADDRESS labels the runs reached
(`LabelCoverage`) and which lines of its functions they ran (`LineCoverage`).

Both are collected by hooks on the thread that runs the turns (`tracing`): a profile hook sees
every call (a label counts as reached when its call is made), a trace hook the lines run in
the bot's file only. Lines are counted by statement, as coverage tools do: a statement counts
as run when a line of its own (for ``if``, ``for``, ``with`` ...: of its header) was.

An instrumented function's code ends with the engine's own instructions (the handler a pause
passes through, GOTO stubs, and in the resume twin the resume entry). They carry the location
of the instruction before them, so their line events would count the function's last
statement as run; events from there on are ignored (`engine_code_start`).
"""

from __future__ import annotations

import ast
import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import CodeType, FrameType, FunctionType, ModuleType
from typing import Any

from .. import _frames
from .._frames.instrument import site_offsets
from ..memory import MemoryObject


@dataclass
class FunctionLabels:
    """The ADDRESS labels of one decorated function and the runs that reached each."""

    module: str
    qualname: str
    #: label -> source line of the labelled call
    lines: dict[str, int]
    reached: dict[str, set[int]] = field(default_factory=dict)


class LabelCoverage:
    """Which ADDRESS labels of the bot's decorated functions the runs reached.

    A label counts as reached when its call is made: a profile hook sees every call made
    from a decorated frame and maps the caller's position to the engine's call site (so
    labels on calls that do not pause count too); agent replies logged with an address are
    counted as well.
    """

    def __init__(self, module: ModuleType | None) -> None:
        self.functions: dict[tuple[str, str], FunctionLabels] = {}
        self._run = -1
        if module is not None:
            for function in _decorated_functions(module):
                self._info(function.__code__)

    def _info(self, code: Any) -> FunctionLabels | None:
        info = _frames.lookup(code)
        if info is None:
            return None
        key = (info.module, info.qualname)
        labels = self.functions.get(key)
        if labels is None:
            lines = {label: info.sites[index].lineno for label, index in info.labels.items()}
            labels = self.functions[key] = FunctionLabels(info.module, info.qualname, lines)
        return labels

    def start_run(self, run: int) -> None:
        self._run = run

    def profile(self, frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            caller = frame.f_back
        elif event == "c_call":
            caller = frame
        else:
            return
        if caller is None:
            return
        info = _frames.lookup(caller.f_code)
        if info is None or not info.labels:
            return
        site = info.site_at(caller.f_code, caller.f_lasti)
        if site is not None and site.label is not None:
            self.mark(info.module, info.qualname, site.label, caller.f_code)

    def mark(self, module: str, qualname: str, label: str, code: Any = None) -> None:
        labels = self.functions.get((module, qualname))
        if labels is None and code is not None:
            labels = self._info(code)
        if labels is not None:
            labels.reached.setdefault(label, set()).add(self._run)

    def note_log(self, memory: MemoryObject, run: int) -> None:
        """Count replies logged with an address (for labels the profile hook could miss)."""
        self._run = run
        for entry in memory.model_turns[-4:]:
            if not isinstance(entry, dict):  # one the program appended
                continue
            address, function = entry.get("address"), entry.get("function_name")
            if entry.get("entry_type") != "agent_reply" or not address or not function:
                continue
            for labels in self.functions.values():
                if labels.qualname == function and address in labels.lines:
                    labels.reached.setdefault(address, set()).add(run)

    def totals(self) -> tuple[int, int]:
        total = sum(len(f.lines) for f in self.functions.values())
        reached = sum(len(set(f.reached) & set(f.lines)) for f in self.functions.values())
        return reached, total


def _decorated_functions(module: ModuleType) -> Iterator[FunctionType]:
    """The decorated functions defined in `module`: top level, and methods of its classes."""
    name = module.__name__
    for value in list(vars(module).values()):
        candidates = [value]
        if isinstance(value, type) and value.__module__ == name:
            candidates = list(vars(value).values())
        for candidate in candidates:
            function = getattr(candidate, "__func__", candidate)
            code = getattr(function, "__code__", None)
            if (
                code is not None
                and getattr(function, "__module__", None) == name
                and _frames.lookup(code) is not None
            ):
                yield function


class LineCoverage:
    """The statements of the functions in one source file that the runs executed."""

    def __init__(self, path: str | os.PathLike[str] | None, source: str | None) -> None:
        self.path = os.path.realpath(path) if path is not None else None
        #: first line of each statement -> the lines whose run means it ran
        self.statements = _statement_lines(source) if source is not None else {}
        self.hits: set[int] = set()
        #: id(code) -> None when not this file's code, else the offset where engine code starts
        self._limits: dict[int, int | None] = {}

    def _limit(self, code: CodeType) -> int | None:
        key = id(code)
        if key not in self._limits:
            mine = self.path is not None and os.path.realpath(code.co_filename) == self.path
            self._limits[key] = engine_code_start(code) if mine else None
        return self._limits[key]

    def trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        """The global trace hook: traces only frames running this file's code."""
        if self._limit(frame.f_code) is None:
            return None
        return self._local(frame, event, arg)

    def _local(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            limit = self._limit(frame.f_code)
            if limit is None or frame.f_lasti < limit:
                self.hits.add(frame.f_lineno)
        return self._local

    def run_lines(self) -> list[int]:
        """First lines of the statements that ran, sorted."""
        return sorted(
            first for first, lines in self.statements.items() if not lines.isdisjoint(self.hits)
        )

    def missed_lines(self) -> list[int]:
        """First lines of the statements that never ran, sorted."""
        return sorted(
            first for first, lines in self.statements.items() if lines.isdisjoint(self.hits)
        )

    def totals(self) -> tuple[int, int]:
        return len(self.run_lines()), len(self.statements)


def engine_code_start(code: CodeType) -> int:
    """The offset from which `code` holds only engine instructions (its length when it is not
    instrumented code, or when that cannot be told)."""
    end = len(code.co_code)
    info = _frames.lookup(code)
    if info is None:
        return end
    try:
        tail = next(item for item in info.layout.tail if hasattr(item, "name"))
        marked = site_offsets(info.normal_code, info.layout.items(), {id(tail): -1})
        start = min(offset for offset, site in marked.items() if site == -1)
    except (AttributeError, StopIteration, ValueError):
        return end
    if not info.is_twin(code):  # the normal code or a variant of it: the same offsets
        return start
    # The twin is the same body behind a longer prologue: shift by the offset of a site.
    twin = info.twin
    if twin is None or not info.site_map:
        return end
    site = min(info.site_map.values())
    shift = min(o for o, s in twin.site_map.items() if s == site) - min(
        o for o, s in info.site_map.items() if s == site
    )
    return start + shift


def _statement_lines(source: str) -> dict[int, frozenset[int]]:
    """The statements of every function in `source`: first line -> its own lines."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    statements: dict[int, frozenset[int]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for statement in _body_statements(_without_docstring(node.body)):
                statements[statement.lineno] = frozenset(
                    range(statement.lineno, _header_end(statement) + 1)
                )
    return statements


def _without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    first = body[0] if body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return body[1:]
    return body


#: statements that run no code of their own (a ``try:`` line, declarations), and those whose
#: body is another function's (counted there)
_SKIPPED = (ast.Try, ast.Global, ast.Nonlocal, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _body_statements(body: list[ast.stmt]) -> Iterator[ast.stmt | ast.ExceptHandler]:
    for statement in body:
        if not isinstance(statement, _SKIPPED):
            yield statement
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for name in ("body", "orelse", "finalbody"):
            yield from _body_statements(getattr(statement, name, []))
        for handler in getattr(statement, "handlers", []):
            yield handler
            yield from _body_statements(handler.body)
        for case in getattr(statement, "cases", []):
            yield from _body_statements(case.body)


def _header_end(statement: ast.stmt | ast.ExceptHandler) -> int:
    """The last line of a statement's own code: the line before its body, for compound ones."""
    children = [
        child.lineno
        for name in ("body", "orelse", "handlers", "finalbody", "cases")
        for child in getattr(statement, name, [])
    ]
    end = statement.end_lineno or statement.lineno
    return max(statement.lineno, min(children) - 1) if children else end


@contextlib.contextmanager
def tracing(labels: LabelCoverage, lines: LineCoverage, run: int) -> Iterator[None]:
    """Both hooks on the current thread while the block runs (the previous ones after)."""
    labels.start_run(run)
    profile, trace = sys.getprofile(), sys.gettrace()
    sys.setprofile(labels.profile)
    sys.settrace(lines.trace)
    try:
        yield
    finally:
        sys.setprofile(profile)
        sys.settrace(trace)


@contextlib.contextmanager
def tracing_lines(lines: LineCoverage) -> Iterator[None]:
    """The line hook alone on the current thread while the block runs (``init_chatbot``,
    which has no run of its own for the label coverage)."""
    trace = sys.gettrace()
    sys.settrace(lines.trace)
    try:
        yield
    finally:
        sys.settrace(trace)


def format_ranges(lines: list[int], statements: list[int]) -> str:
    """``3, 7-9, 12``: the sorted `lines`, runs of neighbours in `statements` (all first
    lines, sorted) joined into ranges."""
    position = {line: index for index, line in enumerate(statements)}
    groups: list[list[int]] = []
    for line in lines:
        if groups and position.get(line, -2) == position.get(groups[-1][-1], -3) + 1:
            groups[-1].append(line)
        else:
            groups.append([line])
    return ", ".join(str(g[0]) if len(g) == 1 else f"{g[0]}-{g[-1]}" for g in groups)
