"""Building blocks for agents: vector stores over the session's embeddings
(`vector_stores`: `AutoIndex`, `NumpyIndex`, `FAISSIndex`) and a small categorised search
(`search_utils.SimpleIndex`). The AutoGRAMS import paths
``autograms.agent_modules.vector_stores`` and ``autograms.agent_modules.search_utils``."""
