"""The control flow of one decorated function, read statically from its AST.

A walk over the body keeps the node that straight-line statements are added to (`current`) and,
when there is none, the edges still waiting for their target (`pending`): the open ends of
branches, loop exits and ``break``. A statement with an ADDRESS label, a pause, a jump or a call
into a decorated function starts a node of its own; compound statements make branch and loop
nodes. GOTO, RETURNTO and TRANSITION targets are resolved when the walk is over.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from .calls import CallReader, Facts, Jump
from .model import Edge, EdgeKind, FunctionGraph, Node, NodeKind
from .source import Source

_Pending = tuple[str, EdgeKind, str]  # (source node id, edge kind, edge label)
_Span = tuple[int, int]

_LOOPS = (ast.While, ast.For, ast.AsyncFor)
_TRIES = (ast.Try, ast.TryStar)
_WITHS = (ast.With, ast.AsyncWith)
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass(slots=True)
class _Draft:
    """A node while its statements are still being added."""

    id: str
    kind: NodeKind
    summary: str
    spans: list[_Span]
    facts: Facts = field(default_factory=Facts)
    ref: str | None = None


@dataclass(slots=True)
class _Loop:
    head: str  #: id of the loop head node
    breaks: list[_Pending] = field(default_factory=list)


@dataclass(slots=True)
class _JumpSite:
    source: str
    kind: EdgeKind
    label: str
    destination: str | None
    lineno: int


def extract_function(
    fn_def: ast.FunctionDef | ast.AsyncFunctionDef,
    name: str,
    decorator: str,
    reader: CallReader,
) -> FunctionGraph:
    """The `FunctionGraph` of `fn_def`, shown under the display name `name`."""
    return _Walker(fn_def, name, reader).graph(decorator)


class _Walker:
    def __init__(
        self, fn_def: ast.FunctionDef | ast.AsyncFunctionDef, name: str, reader: CallReader
    ) -> None:
        self.fn_def = fn_def
        self.name = name
        self.reader = reader
        self.source: Source = reader.source
        self.drafts: list[_Draft] = []
        self.by_id: dict[str, _Draft] = {}
        self.edges: dict[Edge, None] = {}  # an ordered set
        self.current: _Draft | None = None
        self.pending: list[_Pending] = []
        self.returns: list[_Pending] = []
        self.loops: list[_Loop] = []
        self.jumps: list[_JumpSite] = []
        self.problems: list[str] = []

    # -- building blocks ---------------------------------------------------------------------

    def _draft(self, kind: NodeKind, summary: str, spans: list[_Span], **extra) -> _Draft:
        draft = _Draft(f"{self.name}:{len(self.drafts)}", kind, summary, spans, **extra)
        self.drafts.append(draft)
        self.by_id[draft.id] = draft
        return draft

    def _edge(self, source: str, target: str, kind: EdgeKind, label: str = "") -> None:
        self.edges[Edge(source, target, kind, label)] = None

    def _enter(self, draft: _Draft) -> None:
        """Connect the flow so far to `draft`; afterwards nothing is open."""
        for source, kind, label in self._close():
            self._edge(source, draft.id, kind, label)

    def _close(self) -> list[_Pending]:
        """The open ends of the flow so far, which is then ended."""
        ends = [(self.current.id, EdgeKind.FLOW, "")] if self.current else self.pending
        self.current, self.pending = None, []
        return ends

    def _branch(self, kind: NodeKind, summary: str, spans: list[_Span], facts: Facts) -> _Draft:
        draft = self._draft(kind, summary, spans, facts=facts)
        self._enter(draft)
        return draft

    def _header(self, stmt: ast.stmt, last: ast.AST) -> _Span:
        return (stmt.lineno, max(stmt.lineno, last.end_lineno))

    # -- the walk ----------------------------------------------------------------------------

    def graph(self, decorator: str) -> FunctionGraph:
        fn_def = self.fn_def
        first = fn_def.decorator_list[0].lineno if fn_def.decorator_list else fn_def.lineno
        header_end = max(fn_def.lineno, fn_def.body[0].lineno - 1)
        summary = f"def {fn_def.name}({ast.unparse(fn_def.args)})"
        self.current = self._draft(NodeKind.ENTRY, summary, [(first, header_end)])
        self._block(fn_def.body)
        ends = self._close() + self.returns
        if ends:
            end = self._draft(NodeKind.END, "return", [])
            for source, kind, label in ends:
                self._edge(source, end.id, kind, label)
        self._resolve_jumps()
        nodes = tuple(self._freeze(draft) for draft in self.drafts)
        return FunctionGraph(self.name, decorator, nodes, tuple(self.edges), tuple(self.problems))

    def _block(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            self._statement(stmt)

    def _statement(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.If):
            self._if(stmt)
        elif isinstance(stmt, _LOOPS):
            self._loop(stmt)
        elif isinstance(stmt, _TRIES):
            self._try(stmt)
        elif isinstance(stmt, ast.Match):
            self._match(stmt)
        elif isinstance(stmt, _WITHS):
            span = self._header(stmt, stmt.items[-1].context_expr)
            self._simple(stmt, span, self.reader.facts(item.context_expr for item in stmt.items))
            self._block(stmt.body)
        elif isinstance(stmt, ast.Break | ast.Continue):
            self._loop_exit(stmt)
        elif isinstance(stmt, _DEFS):
            start = stmt.decorator_list[0].lineno if stmt.decorator_list else stmt.lineno
            self._simple(stmt, (start, max(stmt.lineno, stmt.body[0].lineno - 1)), Facts())
        else:
            self._simple(stmt, (stmt.lineno, stmt.end_lineno), self.reader.facts([stmt]))
            if isinstance(stmt, ast.Return):
                self.returns.extend(self._close())
            elif isinstance(stmt, ast.Raise):
                self._close()

    def _simple(self, stmt: ast.stmt, span: _Span, facts: Facts) -> None:
        jump = facts.jump
        if jump and jump.kind is not EdgeKind.TRANSITION and (self.current or self.pending):
            if not (facts.addresses or facts.pause or facts.calls):
                self._jump_from_here(stmt, span, jump)
                return
        if jump and jump.kind is EdgeKind.TRANSITION:
            draft = self._branch(NodeKind.BRANCH, self._summary(span), [span], facts)
        elif self.current is None or facts.starts_node:
            draft = self._draft(NodeKind.STEP, self._summary(span), [span], facts=facts)
            self._enter(draft)
            self.current = draft
        else:
            self.current.spans.append(span)
            return
        if jump:
            for label, destination in jump.targets:
                self.jumps.append(_JumpSite(draft.id, jump.kind, label, destination, stmt.lineno))
            self._close()

    def _jump_from_here(self, stmt: ast.stmt, span: _Span, jump: Jump) -> None:
        """A plain GOTO or RETURNTO: the jump leaves the node (or the branch outcome) that
        reaches it, and the jump's line joins that node's code."""
        ((word, destination),) = jump.targets
        for source, _, label in self._close():
            self.by_id[source].spans.append(span)
            text = f"{label}\n{word}" if label else word
            self.jumps.append(_JumpSite(source, jump.kind, text, destination, stmt.lineno))

    def _summary(self, span: _Span) -> str:
        lines = self.source.lines[span[0] - 1 : span[1]]
        return " ".join(" ".join(lines).split())

    def _if(self, stmt: ast.If) -> None:
        chain = [stmt]
        while len(chain[-1].orelse) == 1 and isinstance(chain[-1].orelse[0], ast.If):
            chain.append(chain[-1].orelse[0])
        spans = [self._header(chain[0], chain[0].test)]
        spans += [(branch.test.lineno, branch.test.end_lineno) for branch in chain[1:]]
        facts = self.reader.facts(branch.test for branch in chain)
        summary = f"if {self.source.segment(stmt.test)}"
        node = self._branch(NodeKind.BRANCH, summary, spans, facts)
        ends: list[_Pending] = []
        for branch in chain:
            self.pending = [(node.id, EdgeKind.BRANCH, self.source.segment(branch.test))]
            self._block(branch.body)
            ends += self._close()
        self.pending = [(node.id, EdgeKind.BRANCH, "else")]
        self._block(chain[-1].orelse)
        self.pending = ends + self._close()

    def _loop(self, stmt: ast.While | ast.For | ast.AsyncFor) -> None:
        if isinstance(stmt, ast.While):
            condition = self.source.segment(stmt.test)
            summary, enter, header = f"while {condition}", condition, [stmt.test]
            exits = not (isinstance(stmt.test, ast.Constant) and stmt.test.value)
        else:
            target = self.source.segment(stmt.target)
            summary = f"for {target} in {self.source.segment(stmt.iter)}"
            enter, header, exits = f"next {target}", [stmt.iter], True
        facts = self.reader.facts(header)
        head = self._branch(NodeKind.LOOP, summary, [self._header(stmt, header[0])], facts)
        loop = _Loop(head.id)
        self.loops.append(loop)
        self.pending = [(head.id, EdgeKind.BRANCH, enter)]
        self._block(stmt.body)
        for source, _, label in self._close():
            self._edge(source, head.id, EdgeKind.LOOP, label or "loop")
        self.loops.pop()
        self.pending = [(head.id, EdgeKind.BRANCH, "done")] if exits else []
        self._block(stmt.orelse)
        self.pending = self._close() + loop.breaks

    def _loop_exit(self, stmt: ast.Break | ast.Continue) -> None:
        word = "break" if isinstance(stmt, ast.Break) else "continue"
        if self.current:
            self.current.spans.append((stmt.lineno, stmt.end_lineno))
        ends = [
            (source, kind, f"{label}\n{word}" if label else word)
            for source, kind, label in self._close()
        ]
        if not self.loops:
            return
        loop = self.loops[-1]
        if word == "break":
            loop.breaks.extend(ends)
        else:
            for source, _, label in ends:
                self._edge(source, loop.head, EdgeKind.LOOP, label)

    def _try(self, stmt: ast.Try | ast.TryStar) -> None:
        spans = [(stmt.lineno, stmt.lineno)] + [(h.lineno, h.lineno) for h in stmt.handlers]
        node = self._branch(NodeKind.BRANCH, "try", spans, Facts())
        self.pending = [(node.id, EdgeKind.BRANCH, "try")]
        self._block(stmt.body)
        self._block(stmt.orelse)
        ends = self._close()
        for handler in stmt.handlers:
            label = "except"
            if handler.type is not None:
                label += f" {self.source.segment(handler.type)}"
            self.pending = [(node.id, EdgeKind.BRANCH, label)]
            self._block(handler.body)
            ends += self._close()
        self.pending = ends
        self._block(stmt.finalbody)

    def _match(self, stmt: ast.Match) -> None:
        spans = [self._header(stmt, stmt.subject)] + [
            (case.pattern.lineno, case.pattern.end_lineno) for case in stmt.cases
        ]
        summary = f"match {self.source.segment(stmt.subject)}"
        facts = self.reader.facts([stmt.subject])
        node = self._branch(NodeKind.BRANCH, summary, spans, facts)
        ends: list[_Pending] = []
        for case in stmt.cases:
            label = f"case {self.source.segment(case.pattern)}"
            if case.guard is not None:
                label += f" if {self.source.segment(case.guard)}"
            self.pending = [(node.id, EdgeKind.BRANCH, label)]
            self._block(case.body)
            ends += self._close()
        if not any(_is_wildcard(case) for case in stmt.cases):
            ends.append((node.id, EdgeKind.BRANCH, "no case matched"))
        self.pending = ends

    # -- after the walk ----------------------------------------------------------------------

    def _labels(self) -> dict[str, str]:
        labels: dict[str, str] = {}
        for draft in self.drafts:
            for address in draft.facts.addresses:
                if address in labels:
                    self.problems.append(
                        f"duplicate ADDRESS label {address!r} in {self.name} "
                        f"({self.source.locate(self.by_id[labels[address]].spans[0][0])} and "
                        f"{self.source.locate(draft.spans[0][0])}); GOTO goes to the first"
                    )
                else:
                    labels[address] = draft.id
        return labels

    def _resolve_jumps(self) -> None:
        labels = self._labels()
        stubs: dict[tuple[str, str | None], str] = {}
        for site in self.jumps:
            if site.kind is EdgeKind.RETURNTO and site.destination is not None:
                key = ("returnto", site.destination)
                summary = f"RETURNTO {site.destination!r}"
            elif site.destination is None:
                key = ("computed", None)
                summary = "destination computed at run time"
            elif site.destination in labels:
                self._edge(site.source, labels[site.destination], site.kind, site.label)
                continue
            else:
                key = ("missing", site.destination)
                summary = f"no label {site.destination!r}"
                self.problems.append(
                    f"{site.kind.name} to unknown label {site.destination!r} in {self.name} "
                    f"({self.source.locate(site.lineno)}); add ADDRESS={site.destination!r} "
                    f"to a call in {self.name}"
                )
            if key not in stubs:
                stubs[key] = self._draft(NodeKind.EXTERNAL, summary, [], ref=key[1]).id
            self._edge(site.source, stubs[key], site.kind, site.label)

    def _freeze(self, draft: _Draft) -> Node:
        facts = draft.facts
        return Node(
            id=draft.id,
            kind=draft.kind,
            function=self.name,
            summary=draft.summary,
            code=self.source.code(draft.spans),
            address=facts.addresses[0] if facts.addresses else None,
            pause=facts.pause,
            calls=facts.calls,
            ref=draft.ref,
        )


def _is_wildcard(case: ast.match_case) -> bool:
    pattern = case.pattern
    return case.guard is None and isinstance(pattern, ast.MatchAs) and pattern.pattern is None
