"""The project's own documentation as text sections, for the doc_search and seed-agent examples.

Two sources, both found from the installed ``autograms`` package, so this works from a source
checkout and from an installed wheel alike:

* the README: ``README.md`` beside the package when present (a checkout or an editable
  install), else the long description in the installed distribution's metadata, which is the
  README;
* the docstrings of the library's modules, their public functions and classes, read with
  `ast` from the source files (nothing is imported, so no module runs).

Public names are titled by the module users import them from: ``reply`` is documented in a
private module but titled ``autograms.functional.reply``.

This is a helper module, not a bot.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

#: the longest section kept whole; longer README sections are split at blank lines
MAX_SECTION_CHARS = 1500
#: modules whose names users import (their ``from .x import ...`` lines say where names live)
FACADES = ("autograms", "autograms.functional", "autograms.nodes", "autograms.memory")
#: internal subpackages whose docstrings describe the engine, not the API
SKIPPED_PACKAGES = ("_frames", "_visual")
_WORD = re.compile(r"[a-z0-9_]+")


@dataclass(frozen=True)
class Section:
    """One piece of documentation: where it comes from and its text."""

    #: e.g. "README: How it works" or "autograms.functional.reply(text, data=None, ADDRESS=None)"
    title: str
    text: str

    def as_prompt(self) -> str:
        return f"[{self.title}]\n{self.text}"


def package_dir() -> Path:
    """The folder of the installed ``autograms`` package."""
    # Found by spec, not by holding the module: a module-valued global here would make
    # `autograms -> autograms.examples._docs -> autograms` a cycle, and code that walks the
    # package through module attributes (as AutoGRAMS's own seed agent does) would never end.
    return Path(str(sys.modules["autograms"].__file__)).resolve().parent


def readme_text() -> str:
    """The README, from the checkout beside the package or from the installed metadata."""
    beside = package_dir().parent / "README.md"
    if beside.is_file():
        return beside.read_text(encoding="utf-8")
    try:
        metadata = importlib.metadata.metadata("autograms")
    except importlib.metadata.PackageNotFoundError:
        return ""
    return metadata.get_payload() or metadata.get("Description") or ""  # type: ignore[attr-defined]


def readme_sections(text: str | None = None) -> list[Section]:
    """The README cut at its ``##`` headings (long sections cut again at blank lines)."""
    text = readme_text() if text is None else text
    sections: list[Section] = []
    title, lines = "README", []
    for line in text.splitlines():
        if line.startswith("## "):
            sections += _split(title, "\n".join(lines))
            title, lines = f"README: {line[3:].strip()}", []
        else:
            lines.append(line)
    sections += _split(title, "\n".join(lines))
    return sections


def _split(title: str, text: str) -> list[Section]:
    text = text.strip()
    if not text:
        return []
    pieces, current = [], ""
    for paragraph in re.split(r"\n\s*\n", text):
        if current and len(current) + len(paragraph) > MAX_SECTION_CHARS:
            pieces.append(current)
            current = ""
        current = f"{current}\n\n{paragraph}" if current else paragraph
    pieces.append(current)
    if len(pieces) == 1:
        return [Section(title, pieces[0])]
    return [Section(f"{title} ({n}/{len(pieces)})", piece) for n, piece in enumerate(pieces, 1)]


@lru_cache(maxsize=1)
def docstring_sections() -> tuple[Section, ...]:
    """Module, function, class and method docstrings of the library, one section each."""
    root = package_dir()
    public = _public_names(root)
    sections: list[Section] = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] in SKIPPED_PACKAGES or "__pycache__" in relative.parts:
            continue
        module = _module_name(relative)
        sections += _module_sections(module, ast.parse(path.read_text(encoding="utf-8")), public)
    return tuple(sections)


def _module_name(relative: Path) -> str:
    parts = ["autograms", *relative.with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _public_names(root: Path) -> dict[tuple[str, str], str]:
    """``(defining module, name) -> facade module`` for every name a facade re-exports."""
    names: dict[tuple[str, str], str] = {}
    for facade in reversed(FACADES):  # the first facade listed wins
        relative = Path(*facade.split(".")[1:]) if "." in facade else Path()
        path = root / relative / "__init__.py" if facade == "autograms" else root / f"{relative}.py"
        if not path.is_file():
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        exported = _dunder_all(tree)
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                for alias in node.names:
                    if alias.name in exported:
                        names[(f"autograms.{node.module}", alias.name)] = facade
    return names


def _dunder_all(tree: ast.Module) -> frozenset[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets
        ):
            return frozenset(ast.literal_eval(node.value))
    return frozenset()


def _module_sections(
    module: str, tree: ast.Module, public: dict[tuple[str, str], str]
) -> list[Section]:
    """Sections of one module; a private module (``autograms._x``) gives only the names a
    facade re-exports."""
    private = any(part.startswith("_") for part in module.split("."))
    sections = []
    docstring = ast.get_docstring(tree)
    if docstring and not private:
        sections.append(Section(f"module {module}", docstring))
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.ClassDef) or node.name.startswith("_"):
            continue
        owner = public.get((module, node.name))
        if owner is None and private:
            continue
        sections += _definition_sections(f"{owner or module}.{node.name}", node)
    return sections


def _definition_sections(title: str, node: ast.FunctionDef | ast.ClassDef) -> list[Section]:
    docstring = ast.get_docstring(node)
    if isinstance(node, ast.FunctionDef):
        return [Section(f"{title}({_arguments(node)})", docstring)] if docstring else []
    sections = [Section(f"class {title}", docstring)] if docstring else []
    for item in node.body:
        if isinstance(item, ast.FunctionDef) and not item.name.startswith("_"):
            sections += _definition_sections(f"{title}.{item.name}", item)
    return sections


def _arguments(node: ast.FunctionDef) -> str:
    arguments = ast.unparse(node.args)
    return re.sub(r"^self(, )?", "", arguments)


def all_sections() -> list[Section]:
    """The README sections followed by the docstring sections."""
    return [*readme_sections(), *docstring_sections()]


def api_summary(module: str = "autograms.functional", names: Sequence[str] | None = None) -> str:
    """One line per public function of `module` (or only those in `names`): its signature and
    the first line of its docstring."""
    prefix = f"{module}."
    lines = []
    for section in docstring_sections():
        name = section.title.removeprefix(prefix)
        bare = name.split("(")[0]
        if (
            section.title.startswith(prefix)
            and "." not in bare
            and (names is None or bare in names)
        ):
            lines.append(f"- {name}: {section.text.splitlines()[0]}")
    return "\n".join(lines)


def keyword_search(query: str, sections: list[Section], k: int = 3) -> list[Section]:
    """The `k` sections sharing the most words with `query` (no embeddings needed)."""
    words = set(_WORD.findall(query.lower()))
    if not words:
        return []

    def score(section: Section) -> int:
        return len(words & set(_WORD.findall(f"{section.title} {section.text}".lower())))

    ranked = sorted(sections, key=score, reverse=True)
    return [section for section in ranked[:k] if score(section) > 0]
