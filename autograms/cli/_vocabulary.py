"""The user messages a bot itself suggests, read from its source for ``autograms debug``.

Random text rarely takes a bot's branches: ``if message == "undo"`` waits for "undo",
``any(word in WRITE_WORDS ...)`` for one of those words, a salary parser for numbers around the
budget. So the debugger reads the bot's module (its source, and the values of its module-level
names, without running anything) and collects:

* **words**: string constants the code compares with (``==``, ``!=``, ``in``, ``match``/``case``,
  ``startswith`` and friends), and the short strings of module-level tuples, lists, sets and
  dict keys (word lists, the options of decisions, TRANSITION's answers); never path-like
  strings, so that exploring a bot that acts on paths writes nothing;
* **numbers**, when the code reads numbers (``int``, ``float``, ``Fraction``, ``isdigit``, a
  regular expression with ``\\d``): the numeric constants of the module and their neighbours
  (``80_000`` gives 79999, 80000, 80001 and "80k"), small integers and fractions.
"""

from __future__ import annotations

import ast
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

#: the longest string taken as a word a user might type
MAX_WORD = 40
#: the most words and numbers kept (the first found first)
MAX_ITEMS = 200
#: methods whose string argument is something the user's text is tested for
_TEXT_TESTS = frozenset({"startswith", "endswith", "find", "index", "count", "removeprefix"})
#: calls that show the code reads numbers out of text
_NUMBER_READERS = frozenset(
    {"int", "float", "Fraction", "Decimal", "isdigit", "isnumeric", "isdecimal"}
)
_SMALL_NUMBERS = ("0", "1", "2", "3", "7", "10", "-1", "1/2", "3/4", "2.5")


@dataclass
class Vocabulary:
    """What a bot's source suggests a user might say."""

    #: strings the code compares the user's text with, and short strings of its constants
    words: list[str] = field(default_factory=list)
    #: numbers, when the code reads numbers from text
    numbers: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.words or self.numbers)

    def message(self, rng: random.Random) -> str:
        """A message of the bot's words (one, or two or three together), a number (alone, in
        a phrase, or followed by a word: "1 million")."""
        if self.numbers and (not self.words or rng.random() < 0.4):
            number = rng.choice(self.numbers)
            shape = rng.random()
            if shape < 0.5 or not self.words:
                return number if shape < 0.3 else f"{rng.choice(_FRAMES)} {number}"
            return f"{number} {rng.choice(self.words)}"
        count = 1 if rng.random() < 0.6 else rng.randint(2, 3)
        return " ".join(rng.choice(self.words) for _ in range(count))


_FRAMES = ("I think", "maybe", "about", "my answer is", "around")


def read_vocabulary(module: ModuleType | None, source: str | None) -> Vocabulary:
    """The vocabulary of a bot module (see the module docstring); empty without a source."""
    vocabulary = Vocabulary()
    if source is None:
        return vocabulary
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return vocabulary
    docstrings = _docstrings(tree)
    words = _compared_strings(tree, docstrings)
    if module is not None:
        words += _constant_strings(vars(module))
    vocabulary.words = _unique(word for word in words if _is_word(word))
    if _reads_numbers(tree):
        vocabulary.numbers = _unique([*_numbers_near(_numeric_constants(tree)), *_SMALL_NUMBERS])
    return vocabulary


def _docstrings(tree: ast.AST) -> set[int]:
    """Ids of the docstring nodes (never words a user types)."""
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found.add(id(value))
    return found


def _strings_in(node: ast.AST, skip: set[int]) -> list[str]:
    return [
        sub.value
        for sub in ast.walk(node)
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and id(sub) not in skip
    ]


def _compared_strings(tree: ast.AST, skip: set[int]) -> list[str]:
    """String constants in comparisons, ``case`` patterns and text-testing method calls."""
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for part in [node.left, *node.comparators]:
                if isinstance(part, ast.Constant | ast.Tuple | ast.List | ast.Set):
                    found += _strings_in(part, skip)
        elif isinstance(node, ast.MatchValue):
            found += _strings_in(node, skip)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _TEXT_TESTS
        ):
            for argument in node.args:
                found += _strings_in(argument, skip)
    return found


def _constant_strings(namespace: dict[str, Any]) -> list[str]:
    """Short strings held by module-level collections (word lists, decision options)."""
    found: list[str] = []
    for name, value in namespace.items():
        if name.startswith("__"):
            continue
        if isinstance(value, dict):
            value = list(value)
        if isinstance(value, tuple | list | set | frozenset):
            found += [item for item in value if isinstance(item, str)]
    return found


def _is_word(text: str) -> bool:
    """Whether `text` could be typed as (part of) a message. Path-like strings are left
    out: a bot that acts on paths (the seed agent writes files) must not be sent ".", "/" or
    "~" by a debugger exploring it."""
    return (
        0 < len(text.strip()) <= MAX_WORD
        and any(c.isalnum() for c in text)
        and not any(c in text for c in "\n{}()/\\~")
        and not text.startswith(".")
    )


def _reads_numbers(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in _NUMBER_READERS:
                return True
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if "\\d" in node.value or "[0-9]" in node.value:
                return True
    return False


def _numeric_constants(tree: ast.AST) -> list[int | float]:
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ]


def _numbers_near(values: Sequence[int | float]) -> list[str]:
    """Each value, its neighbours, and a "k" form for thousands."""
    found: list[str] = []
    for value in values:
        if isinstance(value, float):
            found.append(repr(value))
            continue
        found += [str(value - 1), str(value), str(value + 1)]
        if value >= 1000 and value % 1000 == 0:
            found.append(f"{value // 1000}k")
    return found


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))[:MAX_ITEMS]
