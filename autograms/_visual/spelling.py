"""How a bot module spells autograms' names: import aliases and module-level string constants."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

DECORATORS = frozenset({"autograms_function", "autograms_node"})


@dataclass(frozen=True, slots=True)
class Spelling:
    """Local names bound to autograms helpers, and the module's string constants."""

    aliases: dict[str, str] = field(default_factory=dict)  #: local name -> autograms name
    constants: dict[str, str] = field(default_factory=dict)  #: module-level NAME = "text"

    @classmethod
    def from_module(cls, module: ast.Module) -> Spelling:
        """Read the ``from autograms... import x as y`` lines and ``NAME = "..."`` constants."""
        spelling = cls()
        for stmt in module.body:
            if isinstance(stmt, ast.ImportFrom) and (stmt.module or "").startswith("autograms"):
                for alias in stmt.names:
                    spelling.aliases[alias.asname or alias.name] = alias.name
            elif isinstance(stmt, ast.Assign | ast.AnnAssign) and stmt.value is not None:
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                value = stmt.value
                for target in targets:
                    if isinstance(target, ast.Name) and isinstance(value, ast.Constant):
                        if isinstance(value.value, str):
                            spelling.constants[target.id] = value.value
        return spelling

    def name_of(self, expr: ast.expr) -> str | None:
        """The name a callee stands for: ``reply`` for ``reply``, ``F.reply`` or an alias."""
        if isinstance(expr, ast.Name):
            return self.aliases.get(expr.id, expr.id)
        if isinstance(expr, ast.Attribute):
            return expr.attr
        return None

    def string(self, expr: ast.expr) -> str | None:
        """The text of a string literal or of a module-level string constant, else None."""
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return expr.value
        if isinstance(expr, ast.Name):
            return self.constants.get(expr.id)
        return None

    def decorator(self, fn_def: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
        """``autograms_function`` or ``autograms_node`` if `fn_def` is decorated so, in any
        spelling (``@autograms_function()``, ``@autograms.autograms_function(conv_scope=...)``,
        an alias, or without the call), else None."""
        for decorator in fn_def.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            name = self.name_of(target)
            if name in DECORATORS:
                return name
        return None
