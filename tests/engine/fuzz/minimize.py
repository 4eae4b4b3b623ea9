"""Shrink a divergent program while it keeps diverging the same way.

Greedy passes, coarse to fine, each edit kept only if the engine still departs from the
oracle in the same mode with the same signature (`transcript.signature`) -- so the program
cannot drift to a different bug on the way:

1. drop the user's messages after the turn where the divergence shows;
2. delete statements: runs of them (halves first), then one at a time (whole functions,
   classes and blocks first);
3. replace a compound statement by one of its bodies, drop optional clauses (else, elif,
   extra except, finally);
4. simplify expressions: replace an expression by one of its parts (``a + f(b)`` -> ``f(b)``
   or ``a``), drop call arguments (keywords too);
5. shorten the messages.

Passes repeat until none changes the program or the budget of checks is spent.
"""

from __future__ import annotations

import ast
import copy
import itertools
import re
from collections.abc import Callable, Iterator

from .model import Clause, Compound, Node, Program, Region, Stmt, blocks, walk

#: returns the divergences of a candidate (mode -> signature), or None if it is not checkable
Checker = Callable[[Program], dict[str, str] | None]
Path = tuple[int, ...]
#: builds one edited copy of the program, when asked
Edit = Callable[[], Program]


def minimize(program: Program, mode: str, how: str, check: Checker, budget: int = 600) -> Program:
    """The smallest program found that still diverges in `mode` as `how`."""
    state = _Search(program, mode, how, check, budget)
    state.truncate_script()
    changed = True
    while changed and state.budget > 0:
        changed = False
        for edits in (_chunk_deletions, _deletions, _unwrappings, _simplifications, _message_edits):
            if state.first_accepted(edits):
                changed = True
                break
    return state.best


class _Search:
    def __init__(self, program: Program, mode: str, how: str, check: Checker, budget: int):
        self.best = program
        self.mode = mode
        self.how = how
        self.check = check
        self.budget = budget

    def keeps_divergence(self, candidate: Program) -> bool:
        if not _labels_intact(candidate):
            return False
        self.budget -= 1
        found = self.check(candidate)
        return found is not None and found.get(self.mode) == self.how

    def truncate_script(self) -> None:
        """Keep only the messages up to the diverging turn (found by bisection)."""
        low, high = 0, len(self.best.script)
        while low < high and self.budget > 0:
            middle = (low + high) // 2
            candidate = self.best.copy()
            candidate.script = candidate.script[:middle]
            if self.keeps_divergence(candidate):
                high = middle
            else:
                low = middle + 1
        self.best = self.best.copy()
        self.best.script = self.best.script[:high]

    def first_accepted(self, edits: Callable[[Program], Iterator[Edit]]) -> bool:
        """Try the edits of one kind in turn, keeping each that keeps the divergence; True
        if any was kept."""
        accepted = False
        index = 0
        while self.budget > 0:
            edit = next(itertools.islice(edits(self.best), index, None), None)
            if edit is None:
                return accepted
            candidate = edit()
            if self.keeps_divergence(candidate):
                self.best = candidate
                accepted = True  # the same index now names the next edit of the new program
            else:
                index += 1
        return accepted


def _labels_intact(program: Program) -> bool:
    """Every region still starts with its labelled call: a GOTO that has lost its label
    diverges for a reason of the minimizer's making."""
    for node in walk(program.body):
        if isinstance(node, Region):
            first = node.body[0] if node.body else None
            pattern = rf"ADDRESS=(['\"]){re.escape(node.label)}\1"
            if not isinstance(first, Stmt) or not re.search(pattern, first.text):
                return False
    return True


# -- addressing statements ----------------------------------------------------------------------


def _lists(body: list[Node], path: Path = ()) -> Iterator[tuple[Path, list[Node]]]:
    """Every statement list of the tree with its path (list index, block index, ...)."""
    yield path, body
    for index, node in enumerate(body):
        for number, block in enumerate(blocks(node)):
            yield from _lists(block, (*path, index, number))


def _list_at(program: Program, path: Path) -> list[Node]:
    body = program.body
    for step in range(0, len(path), 2):
        node = body[path[step]]
        body = list(blocks(node))[path[step + 1]]
    return body


def _edited(program: Program, path: Path, edit: Callable[[list[Node]], None]) -> Edit:
    def build() -> Program:
        candidate = program.copy()
        edit(_list_at(candidate, path))
        return candidate

    return build


# -- edits --------------------------------------------------------------------------------------


def _chunk_deletions(program: Program) -> Iterator[Edit]:
    """Delete runs of statements, halves first (a big program shrinks in few checks)."""
    for path, body in _lists(program.body):
        size = len(body) // 2
        while size >= 2:
            for start in range(0, len(body) - size + 1, size):
                chunk = body[start : start + size]
                if all(getattr(node, "removable", True) for node in chunk):
                    yield _edited(program, path, lambda nodes, a=start, n=size: _drop(nodes, a, n))
            size //= 2


def _drop(nodes: list[Node], start: int, count: int) -> None:
    del nodes[start : start + count]


def _deletions(program: Program) -> Iterator[Edit]:
    for path, body in _lists(program.body):
        for index, node in enumerate(body):
            if getattr(node, "removable", True):
                yield _edited(program, path, lambda nodes, i=index: nodes.pop(i))


def _unwrappings(program: Program) -> Iterator[Edit]:
    for path, body in _lists(program.body):
        for index, node in enumerate(body):
            if isinstance(node, Region):  # no jump may be left to it: the oracle checks that
                yield _edited(
                    program, path, lambda nodes, i=index: _splice(nodes, i, nodes[i].body)
                )
            if not isinstance(node, Compound):
                continue
            if node.unwrappable:
                for number in range(len(node.clauses)):
                    yield _edited(
                        program,
                        path,
                        lambda nodes, i=index, n=number: _splice(
                            nodes, i, nodes[i].clauses[n].body
                        ),
                    )
            for number, clause in enumerate(node.clauses):
                if clause.optional:
                    yield _edited(
                        program, path, lambda nodes, i=index, n=number: nodes[i].clauses.pop(n)
                    )


def _splice(nodes: list[Node], index: int, body: list[Node]) -> None:
    nodes[index : index + 1] = body


def _simplifications(program: Program) -> Iterator[Edit]:
    for path, body in _lists(program.body):
        for index, node in enumerate(body):
            if isinstance(node, Stmt):
                for text in _simpler_statements(node.text):
                    yield _edited(
                        program, path, lambda nodes, i=index, t=text: _set_text(nodes[i], t)
                    )
            elif isinstance(node, Compound):
                for number, clause in enumerate(node.clauses):
                    for header in _simpler_headers(clause.header):
                        yield _edited(
                            program,
                            path,
                            lambda nodes, i=index, n=number, h=header: _set_header(
                                nodes[i].clauses[n], h
                            ),
                        )


def _set_text(node: Stmt, text: str) -> None:
    node.text = text


def _set_header(clause: Clause, header: str) -> None:
    clause.header = header


def _message_edits(program: Program) -> Iterator[Edit]:
    if program.script:
        yield lambda: _without_last_message(program)
    for index, message in enumerate(program.script):
        for simpler in ("", "x"):
            if message != simpler and len(simpler) <= len(message):
                yield lambda i=index, text=simpler: _with_message(program, i, text)


def _without_last_message(program: Program) -> Program:
    candidate = program.copy()
    candidate.script.pop()
    return candidate


def _with_message(program: Program, index: int, text: str) -> Program:
    candidate = program.copy()
    candidate.script[index] = text
    return candidate


# -- expression simplification ------------------------------------------------------------------


def _simpler_statements(text: str) -> Iterator[str]:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return
    for variant in _expression_variants(tree):
        text = _unparsed(variant)
        if text is not None:
            yield text


_HEADER_BODIES = {"match": "\n    case _:\n        pass"}


def _simpler_headers(header: str) -> Iterator[str]:
    """Headers of if/elif/while/for/with/match clauses with a simpler expression."""
    keyword = header.split(" ", 1)[0]
    if keyword not in ("if", "elif", "while", "for", "with", "match"):
        return
    as_if = "if" + header[4:] if keyword == "elif" else header
    try:
        tree = ast.parse(as_if + _HEADER_BODIES.get(keyword, "\n    pass"))
    except SyntaxError:
        return
    for variant in _expression_variants(tree):
        text = _unparsed(variant)
        if text is not None:
            line = text.splitlines()[0]
            yield "elif" + line[2:] if keyword == "elif" else line


def _unparsed(tree: ast.AST) -> str | None:
    """`tree` as source, or None when the edit made it something no source can say."""
    try:
        text = ast.unparse(tree)
        ast.parse(text)
    except (ValueError, SyntaxError):
        return None
    return text


def _expression_variants(tree: ast.AST) -> Iterator[ast.AST]:
    """Copies of `tree` with one expression replaced by one of its parts, or one call
    argument dropped; bigger expressions first."""
    positions = [node for node in ast.walk(tree) if isinstance(node, ast.expr)]
    # (positions index every expression, the f-string parts too, so the indices agree
    # with `_replaced`; an f-string part itself is never replaced)
    for target_index, target in enumerate(positions):
        if isinstance(target, ast.FormattedValue):
            continue
        for part in _parts(target):
            yield _replaced(tree, target_index, part)
        if isinstance(target, ast.Call):
            for argument in range(len(target.args)):
                yield _without_argument(tree, target_index, argument)
            for keyword in range(len(target.keywords)):
                yield _without_argument(tree, target_index, keyword, "keywords")


def _parts(node: ast.expr) -> list[ast.expr]:
    parts = [child for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr)]
    if isinstance(node, ast.JoinedStr):
        parts = [value.value for value in node.values if isinstance(value, ast.FormattedValue)]
    if isinstance(node, ast.Call):
        parts = [part for part in parts if part is not node.func]
    return [part for part in parts if not isinstance(part, ast.Starred)]


def _replaced(tree: ast.AST, target_index: int, part: ast.expr) -> ast.AST:
    tree = copy.deepcopy(tree)
    target = [node for node in ast.walk(tree) if isinstance(node, ast.expr)][target_index]
    replacement = next(node for node in ast.walk(target) if _same(node, part))
    for node in ast.walk(tree):
        for name, value in ast.iter_fields(node):
            if value is target:
                setattr(node, name, replacement)
            elif isinstance(value, list) and any(item is target for item in value):
                value[[id(item) for item in value].index(id(target))] = replacement
    return tree


def _same(node: ast.AST, part: ast.AST) -> bool:
    return type(node) is type(part) and ast.dump(node) == ast.dump(part)


def _without_argument(
    tree: ast.AST, target_index: int, argument: int, field: str = "args"
) -> ast.AST:
    tree = copy.deepcopy(tree)
    call = [node for node in ast.walk(tree) if isinstance(node, ast.expr)][target_index]
    del getattr(call, field)[argument]
    return tree
