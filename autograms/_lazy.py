"""Names a package module re-exports but imports only on first use (``__getattr__``, PEP 562)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_names(
    namespace: dict[str, Any], table: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of the module whose globals are `namespace`: a name
    of `table` is taken from its submodule (``table[name]``, relative to the module's package)
    when first asked for, then kept in `namespace`."""
    module_name = namespace["__name__"]
    package = namespace["__package__"]

    def __getattr__(name: str) -> Any:  # noqa: N807 - the module hook's own name
        submodule = table.get(name)
        if submodule is None:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{submodule}", package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:  # noqa: N807
        return sorted({*namespace, *table})

    return __getattr__, __dir__
