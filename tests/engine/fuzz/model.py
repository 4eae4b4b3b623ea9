"""The program model: what the generator builds, the minimizer edits and `render` prints.

A program is a tree of three kinds of node:

* `Stmt` -- simple statements (one or more lines at one indentation, e.g. a nested ``def``
  with its body is one Stmt when it must stay whole);
* `Compound` -- a statement with clauses (``if/elif/else``, ``try/except/finally``, loops,
  ``with``, ``match``, ``def``, ``class``), each clause a header and a body;
* `Region` -- the statements a GOTO or RETURNTO may jump back to the start of: the first one
  holds the call labelled ``ADDRESS=label``. Plain Python has no GOTO, so the reference
  program renders a region as a loop (see `reference`).

Every node carries `tags` naming the constructs it exercises; the tags of a minimized program
name its found case and suggest the family of the divergence.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class Stmt:
    """One simple statement (its text may span lines, all at the same indentation)."""

    text: str
    tags: tuple[str, ...] = ()


@dataclass
class Clause:
    """A clause header (decorators above it allowed, one per line) and its body."""

    header: str
    body: list[Node]
    #: the minimizer may drop this clause (else, elif, an extra except, finally)
    optional: bool = False


@dataclass
class Compound:
    """A statement with clauses; `unwrappable` when its body can stand in for it."""

    clauses: list[Clause]
    tags: tuple[str, ...] = ()
    unwrappable: bool = True
    #: the minimizer may delete it (not the root function, nor main which it calls)
    removable: bool = True


@dataclass
class Region:
    """Statements a GOTO/RETURNTO to `label` restarts; the first holds the labelled call."""

    label: str
    body: list[Node]
    tags: tuple[str, ...] = ("label",)


Node = Stmt | Compound | Region


@dataclass
class Program:
    """A whole module (after its imports and support code) and the user's messages."""

    body: list[Node]
    script: list[str]
    #: where the program came from, e.g. "seed 7, program 12"
    origin: str = ""
    #: the construct the engine must refuse, if the program was generated to test a refusal
    refusal: str | None = None
    tags: tuple[str, ...] = field(default=())

    def copy(self) -> Program:
        return copy.deepcopy(self)


def blocks(node: Node) -> Iterator[list[Node]]:
    """The statement lists directly under `node`."""
    if isinstance(node, Compound):
        for clause in node.clauses:
            yield clause.body
    elif isinstance(node, Region):
        yield node.body


def walk(body: list[Node]) -> Iterator[Node]:
    """Every node of `body`, parents before children."""
    for node in body:
        yield node
        for block in blocks(node):
            yield from walk(block)


def all_tags(program: Program) -> list[str]:
    """The tags of every node still in `program`, each once, in first-seen order."""
    seen: dict[str, None] = dict.fromkeys(program.tags)
    for node in walk(program.body):
        seen.update(dict.fromkeys(node.tags))
    return list(seen)
