"""A module-level lazy proxy, as openai's package has: asking it for ``__class__`` imports the
module it stands for."""

import importlib


class LazyProxy:
    @property
    def __class__(self):  # noqa: ANN204 - what lazy proxies do
        return type(importlib.import_module("tests.engine.values.imported_by_proxy").VALUE)


PROXY = LazyProxy()
