"""Write data/autograms-0.6.0-surface.json: every public name of the AutoGRAMS 0.6.0 modules a
program imports, with the parameters of each function, class constructor and public method.

Read from the original source tree with `ast` (nothing is imported or run):

    python -m tests.compat.make_surface /work/ref/autograms-0.6.0

The file is committed; `test_public_api.py` compares this library against it.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from typing import Any

#: module -> its file in the source tree
MODULES = {
    "autograms": "autograms/__init__.py",
    "autograms.functional": "autograms/functional.py",
    "autograms.nodes": "autograms/nodes.py",
    "autograms.memory": "autograms/memory.py",
    "autograms.autogram": "autograms/autogram.py",
    "autograms.program_control": "autograms/program_control.py",
    "autograms.supervisors": "autograms/supervisors.py",
    "autograms.processors": "autograms/processors.py",
    "autograms.graph_utils": "autograms/graph_utils/__init__.py",
    "autograms.agent_modules.vector_stores": "autograms/agent_modules/vector_stores.py",
    "autograms.agent_modules.search_utils": "autograms/agent_modules/search_utils.py",
    "autograms.finetuning": "autograms/finetuning/__init__.py",
    "autograms.finetuning.get_training_messages": "autograms/finetuning/get_training_messages.py",
    "autograms.finetuning.model_simulation": "autograms/finetuning/model_simulation.py",
    "autograms.finetuning.openai_finetuning": "autograms/finetuning/openai_finetuning.py",
    "autograms.finetuning.huggingface_finetuning": "autograms/finetuning/huggingface_finetuning.py",
    "autograms.finetuning.huggingface_dpo": "autograms/finetuning/huggingface_dpo.py",
}
#: classes whose constructor and public methods are listed too
#: (SimpleMemory's methods are a subset of MemoryObject's)
CLASSES_WITH_METHODS = {"Autogram", "AutogramConfig", "MemoryObject", "ChatbotSimulator"}
OUT = Path(__file__).resolve().parent / "data" / "autograms-0.6.0-surface.json"


def parameters(node: ast.FunctionDef) -> list[list[Any]]:
    """[name, kind, has_default] per parameter, kinds named as in `inspect.Parameter`."""
    args = node.args
    positional = args.posonlyargs + args.args
    defaults = [False] * (len(positional) - len(args.defaults)) + [True] * len(args.defaults)
    found = [[a.arg, "POSITIONAL_OR_KEYWORD", d] for a, d in zip(positional, defaults, strict=True)]
    if args.vararg:
        found.append([args.vararg.arg, "VAR_POSITIONAL", False])
    found += [
        [a.arg, "KEYWORD_ONLY", d is not None]
        for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
    ]
    if args.kwarg:
        found.append([args.kwarg.arg, "VAR_KEYWORD", False])
    return found


def describe_class(node: ast.ClassDef) -> dict[str, Any]:
    entry: dict[str, Any] = {"kind": "class", "params": []}
    methods = {}
    for item in node.body:
        if isinstance(item, ast.FunctionDef):
            if item.name == "__init__":
                entry["params"] = parameters(item)[1:]
            elif not item.name.startswith("_"):
                methods[item.name] = parameters(item)[1:]
    if node.name in CLASSES_WITH_METHODS:
        entry["methods"] = methods
    return entry


def module_surface(tree: ast.Module) -> dict[str, Any]:
    surface: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            surface[node.name] = {"kind": "function", "params": parameters(node)}
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            surface[node.name] = describe_class(node)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if (
                    isinstance(target, ast.Name)
                    and target.id.isupper()
                    or (isinstance(target, ast.Name) and target.id == "__version__")
                ):
                    surface[target.id] = {"kind": "value"}
    return surface


def imported_names(tree: ast.Module) -> list[str]:
    return [
        alias.asname or alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.level > 0
        for alias in node.names
    ]


def main(root: str) -> None:
    surfaces: dict[str, Any] = {}
    trees = {m: ast.parse((Path(root) / f).read_text()) for m, f in MODULES.items()}
    for module, tree in trees.items():
        surface = module_surface(tree)
        if module in ("autograms", "autograms.graph_utils"):  # packages that re-export
            for name in imported_names(tree):
                surface.setdefault(name, {"kind": "reexport"})
        surfaces[module] = dict(sorted(surface.items()))
    # The package's re-exports, described where they are defined.
    for name, entry in surfaces["autograms"].items():
        for module in ("autograms.autogram", "autograms.program_control", "autograms.memory"):
            if entry["kind"] == "reexport" and name in surfaces[module]:
                surfaces["autograms"][name] = surfaces[module][name]
    config = ast.parse((Path(root) / "autograms/autogram_config.py").read_text())
    for node in config.body:
        if isinstance(node, ast.ClassDef) and node.name == "AutogramConfig":
            surfaces["autograms"]["AutogramConfig"] = describe_class(node)
    OUT.write_text(json.dumps(surfaces, indent=1) + "\n")
    sys.stdout.write(f"{OUT}: {sum(len(s) for s in surfaces.values())} names\n")


if __name__ == "__main__":
    main(sys.argv[1])
