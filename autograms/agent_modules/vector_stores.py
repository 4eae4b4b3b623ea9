"""Vector stores: documents embedded with the session's embedding model, searched by distance.

    index = AutoIndex.from_texts(["Cats purr.", {"text": "Dogs bark.", "metadata": {"id": 2}}])
    hits = index.similarity_search("Which animal barks?", k=1)
    hits[0]["text"], hits[0]["metadata"], hits[0]["distance"]

Documents are texts or ``{"text": ..., "metadata": ...}`` dicts. Embeddings come from
``autograms.functional.get_batch_embeddings``, so an index is built and searched inside a
conversation or under ``use_config`` / ``Autogram.use_config()`` (the configured embedding
endpoint; deterministic vectors in test mode); `embedding_kwargs` (``model=`` ...) go to every
embeddings call. Results are dicts ``{"text", "metadata", "distance"}``, nearest first.

`NumpyIndex` searches exactly by Euclidean distance in plain Python (numpy is not needed; the
name is AutoGRAMS'). `FAISSIndex` uses the faiss library (``pip install faiss-cpu``) and its
index types; its distances are faiss's (squared Euclidean for the L2 indexes). `AutoIndex`
picks faiss when it is installed, as AutoGRAMS did.

An index is an ordinary object: keep it in a module global built once per process (as
AutoGRAMS' doc-search example does) rather than in a session, which would then carry every
vector.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..functional import get_batch_embeddings

#: FAISS index types `FAISSIndex` builds
FAISS_INDEX_TYPES = ("flat", "ivf", "pq", "ivfpq", "hnsw")
#: values of AutoIndex's ``index_library``
INDEX_LIBRARIES = ("auto", "faiss", "numpy")


class Index:
    """Documents and their embedding vectors; subclasses say how a vector is searched."""

    def __init__(self, **embedding_kwargs: Any) -> None:
        #: the documents, each ``{"text": str, "metadata": ...}``, in the order added
        self.texts: list[dict[str, Any]] = []
        #: one vector per document
        self.embeddings: list[list[float]] = []
        #: length of the vectors (known after the first documents are added)
        self.embedding_dim: int | None = None
        #: keywords of every embeddings call (model= ...)
        self.embedding_kwargs = embedding_kwargs

    def __len__(self) -> int:
        return len(self.texts)

    @classmethod
    def from_texts(cls, docs: Iterable[str | Mapping[str, Any]], **kwargs: Any) -> Index:
        """A new index holding `docs` (`kwargs` as for the constructor)."""
        index = cls(**kwargs)
        index.add_texts(docs)
        return index

    def add_texts(self, docs: Iterable[str | Mapping[str, Any]]) -> None:
        """Embed and add documents: texts, or dicts with ``"text"`` and optional
        ``"metadata"``."""
        new = [_document(doc) for doc in docs]
        if not new:
            return
        vectors = get_batch_embeddings([doc["text"] for doc in new], **self.embedding_kwargs)
        dims = {len(vector) for vector in vectors}
        if self.embedding_dim is not None:
            dims.add(self.embedding_dim)
        if len(dims) != 1:
            raise ValueError(
                f"embedding vectors of different lengths {sorted(dims)}: was the index built "
                "with another embedding model?"
            )
        self.embedding_dim = dims.pop()
        self.texts.extend(new)
        self.embeddings.extend(list(map(float, vector)) for vector in vectors)

    def similarity_search(self, query_text: str, k: int = 5) -> list[dict[str, Any]]:
        """The `k` documents nearest to `query_text`."""
        return self.similarity_search_vector(self._embed(query_text), k)

    def similarity_search_vector(
        self, query_vector: Sequence[float], k: int
    ) -> list[dict[str, Any]]:
        """The `k` documents nearest to `query_vector`."""
        raise NotImplementedError

    def reset_index(self) -> None:
        """Remove every document."""
        self.texts, self.embeddings, self.embedding_dim = [], [], None

    def _embed(self, query_text: str) -> list[float]:
        if not self.texts:
            raise RuntimeError("the index is empty: add texts before searching it")
        vector = get_batch_embeddings([query_text], **self.embedding_kwargs)[0]
        if len(vector) != self.embedding_dim:
            raise ValueError(
                f"the query vector has {len(vector)} dimensions, the index {self.embedding_dim}: "
                "was it built with another embedding model?"
            )
        return vector

    def _hit(self, position: int, distance: float) -> dict[str, Any]:
        doc = self.texts[position]
        return {"text": doc["text"], "metadata": doc["metadata"], "distance": float(distance)}


def _document(doc: str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(doc, str):
        return {"text": doc, "metadata": {}}
    if isinstance(doc, Mapping) and isinstance(doc.get("text"), str):
        return {"text": doc["text"], "metadata": doc.get("metadata", {})}
    raise ValueError(f"a document is a text or a dict with a 'text' string, not {doc!r}")


class NumpyIndex(Index):
    """Exact search by Euclidean distance over every document (plain Python)."""

    def similarity_search_vector(
        self, query_vector: Sequence[float], k: int
    ) -> list[dict[str, Any]]:
        return self._nearest(query_vector, range(len(self.texts)), k)

    def similarity_search_restricted(
        self, query_text: str, k: int = 5, indices: Iterable[int] | None = None
    ) -> list[dict[str, Any]]:
        """The `k` documents nearest to `query_text` among those at positions `indices`
        (all when None)."""
        positions = range(len(self.texts)) if indices is None else list(indices)
        return self._nearest(self._embed(query_text), positions, k)

    def _nearest(
        self, query_vector: Sequence[float], positions: Iterable[int], k: int
    ) -> list[dict[str, Any]]:
        query = [float(value) for value in query_vector]
        scored = sorted((math.dist(self.embeddings[i], query), i) for i in positions)
        return [self._hit(position, distance) for distance, position in scored[:k]]


class FAISSIndex(Index):
    """Search with a faiss index of type `index_type`: "flat" (exact), "ivf" (`nlist`
    clusters), "pq" and "ivfpq" (`m` sub-quantizers of `nbits` bits) or "hnsw"
    (`ef_construction`). The faiss index is built when the first documents are added
    (trained on them, for the IVF types); later documents are added to it."""

    def __init__(
        self,
        index_type: str = "flat",
        nlist: int | None = None,
        m: int | None = None,
        nbits: int | None = None,
        ef_construction: int | None = None,
        **embedding_kwargs: Any,
    ) -> None:
        if index_type not in FAISS_INDEX_TYPES:
            raise ValueError(f"index_type must be one of {FAISS_INDEX_TYPES}, not {index_type!r}")
        _faiss()  # fail now, not at the first add, when faiss is missing
        super().__init__(**embedding_kwargs)
        self.index_type = index_type
        self.nlist, self.m, self.nbits, self.ef_construction = nlist, m, nbits, ef_construction
        #: the faiss index (None until documents are added)
        self.index: Any = None

    @property
    def docs(self) -> list[dict[str, Any]]:
        """The documents (AutoGRAMS' name for `texts` here)."""
        return self.texts

    def add_texts(
        self, docs: Iterable[str | Mapping[str, Any]], init_after_add: bool = True
    ) -> None:
        """Embed and add documents (as `Index.add_texts`). With `init_after_add` False and
        no faiss index yet, the index is not built now: the next add that builds it takes
        every document so far (AutoGRAMS' argument, for adding in batches)."""
        indexed = len(self.embeddings) if self.index is not None else 0
        super().add_texts(docs)
        if self.index is None and (not init_after_add or not self.embeddings):
            return
        numpy = _numpy()
        if self.index is None:
            self.index = self._build(_faiss(), len(self.embeddings))
            if not self.index.is_trained:
                self.index.train(numpy.array(self.embeddings, dtype="float32"))
        if len(self.embeddings) > indexed:
            self.index.add(numpy.array(self.embeddings[indexed:], dtype="float32"))

    def _build(self, faiss: Any, size: int) -> Any:
        dim = self.embedding_dim
        nlist = self.nlist or max(1, min(size, max(10, round(size ** (1 / 3)))))
        if self.index_type == "flat":
            return faiss.IndexFlatL2(dim)
        if self.index_type == "ivf":
            return faiss.IndexIVFFlat(faiss.IndexFlatL2(dim), dim, nlist)
        if self.index_type == "pq":
            return faiss.IndexPQ(dim, self.m or 4, self.nbits or 8)
        if self.index_type == "ivfpq":
            return faiss.IndexIVFPQ(
                faiss.IndexFlatL2(dim), dim, nlist, self.m or 8, self.nbits or 8
            )
        return faiss.IndexHNSWFlat(dim, self.ef_construction or 40)

    def similarity_search_vector(
        self, query_embedding: Sequence[float], k: int
    ) -> list[dict[str, Any]]:
        if self.index is None:
            raise RuntimeError("the index is empty: add texts before searching it")
        query = _numpy().array([query_embedding], dtype="float32")
        distances, positions = self.index.search(query, k)
        return [
            self._hit(int(position), distance)
            for distance, position in zip(distances[0], positions[0], strict=True)
            if position != -1
        ]

    def save_index(self, filepath: str) -> None:
        """Write the faiss index (not the documents) to `filepath`."""
        if self.index is None:
            raise RuntimeError("the index is empty: there is nothing to save")
        _faiss().write_index(self.index, filepath)

    def load_index(self, filepath: str) -> None:
        """Read the faiss index from `filepath` (the documents must match it)."""
        self.index = _faiss().read_index(filepath)

    def reset_index(self) -> None:
        super().reset_index()
        self.index = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if self.index is not None:
            state["index"] = _faiss().serialize_index(self.index)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self.index is not None:
            self.index = _faiss().deserialize_index(self.index)


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:
        raise ImportError(
            "FAISSIndex needs the faiss library: pip install faiss-cpu (or use NumpyIndex)"
        ) from exc
    return faiss


def _numpy() -> Any:
    import numpy

    return numpy


#: whether the faiss library is installed (AutoIndex then uses it); a bool, as in AutoGRAMS
faiss_available: bool = importlib.util.find_spec("faiss") is not None


class AutoIndex(Index):
    """An index of the library `index_library` names: "faiss", "numpy", or "auto" (faiss
    when installed, else numpy). Attributes and methods are the wrapped index's."""

    def __init__(self, index_library: str = "auto", **kwargs: Any) -> None:
        if index_library not in INDEX_LIBRARIES:
            raise ValueError(
                f"index_library must be one of {INDEX_LIBRARIES}, not {index_library!r}"
            )
        if index_library == "auto":
            index_library = "faiss" if faiss_available else "numpy"
        #: the index doing the work
        self.wrapped_index: Index = (
            FAISSIndex(**kwargs) if index_library == "faiss" else NumpyIndex(**kwargs)
        )

    def __getattr__(self, name: str) -> Any:
        wrapped = self.__dict__.get("wrapped_index")
        if wrapped is None:
            raise AttributeError(name)
        return getattr(wrapped, name)

    def __len__(self) -> int:
        return len(self.wrapped_index)

    @classmethod
    def from_texts(
        cls,
        docs: Iterable[str | Mapping[str, Any]],
        index_library: str = "auto",
        return_wrapped: bool = True,
        **kwargs: Any,
    ) -> Index:
        """A new index holding `docs`: the wrapped index itself when `return_wrapped` (as
        AutoGRAMS returned it), else the AutoIndex."""
        auto = cls(index_library=index_library, **kwargs)
        auto.wrapped_index.add_texts(docs)
        return auto.wrapped_index if return_wrapped else auto

    def add_texts(self, docs: Iterable[str | Mapping[str, Any]]) -> None:
        self.wrapped_index.add_texts(docs)

    def similarity_search(self, query_text: str, k: int = 5) -> list[dict[str, Any]]:
        return self.wrapped_index.similarity_search(query_text, k)

    def similarity_search_vector(
        self, query_vector: Sequence[float], k: int
    ) -> list[dict[str, Any]]:
        return self.wrapped_index.similarity_search_vector(query_vector, k)

    def reset_index(self) -> None:
        self.wrapped_index.reset_index()


__all__ = ["AutoIndex", "FAISSIndex", "Index", "NumpyIndex", "faiss_available"]
