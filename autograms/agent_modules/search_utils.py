"""`SimpleIndex`: texts with vectors you supply, grouped in categories, searched by cosine
similarity (AutoGRAMS' ``autograms.agent_modules.search_utils``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


class SimpleIndex:
    """Texts, their vectors and their categories, in the order added."""

    def __init__(self) -> None:
        self.texts: list[Any] = []
        self.vectors: list[list[float]] = []
        #: category -> positions of its texts
        self.category_dict: dict[Any, list[int]] = {}

    def add(self, vector: Sequence[float], text: Any, category: Any) -> None:
        """Add `text` with its `vector` to `category`."""
        if self.vectors and len(vector) != len(self.vectors[0]):
            raise ValueError(
                f"vector of length {len(vector)}; this index holds length {len(self.vectors[0])}"
            )
        self.vectors.append([float(value) for value in vector])
        self.texts.append(text)
        self.category_dict.setdefault(category, []).append(len(self.texts) - 1)

    def search(self, query_vector: Sequence[float], n: int = 5, chron: bool = True) -> list[Any]:
        """The `n` texts most similar to `query_vector` (cosine), in the order they were
        added when `chron`, else most similar first."""
        if len(self.texts) <= 1:
            return list(self.texts)
        query_norm = math.hypot(*query_vector)
        if query_norm == 0:
            raise ValueError("the query vector has length zero")
        scores = [
            sum(a * b for a, b in zip(vector, query_vector, strict=True))
            / ((math.hypot(*vector) or 1.0) * query_norm)
            for vector in self.vectors
        ]
        best = sorted(range(len(scores)), key=lambda i: -scores[i])[:n]
        return [self.texts[i] for i in (sorted(best) if chron else best)]

    def get_category(self, category: Any, last_n: int = 10) -> list[Any] | None:
        """The last `last_n` texts of `category` (None for an unknown category)."""
        positions = self.category_dict.get(category)
        if positions is None:
            return None
        return [self.texts[i] for i in positions[-last_n:]] if last_n else []


__all__ = ["SimpleIndex"]
