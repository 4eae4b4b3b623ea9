"""Graphs of decorated functions, the AutoGRAMS import path ``autograms.graph_utils``:
``compile_graph(chatbot).save_visualization("graphs")``. The command line does the same for
a whole bot: ``autograms visualize bot.py --out graphs``."""

from ._function_graph import AutogramsGraph, compile_graph

__all__ = ["AutogramsGraph", "compile_graph"]
