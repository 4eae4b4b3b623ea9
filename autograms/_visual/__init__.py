"""Static visualisation of autograms bots: a bot file's decorated functions read with `ast`
(never run) into a graph model, drawn as DOT, SVG and PNG by graphviz and as one
self-contained interactive HTML page.

Modules: `model` (records), `spelling`, `calls`, `source`, `discover`, `extract` (AST to
graph), `program` (a whole file, views), `style`, `dot`, `render` (graphviz), `layout` and
`svg` (drawing without graphviz), `page` and `html` (the interactive page), `errors`.
"""

from .dot import to_dot
from .errors import BotSourceError, DotFailedError, DotNotFoundError
from .html import to_html
from .model import CodeLine, Edge, EdgeKind, FunctionGraph, Node, NodeKind, ProgramGraph, View
from .program import function_view, program_view, read_bot, read_program, views
from .render import find_dot, run_dot
from .svg import to_svg

__all__ = [
    "BotSourceError",
    "CodeLine",
    "DotFailedError",
    "DotNotFoundError",
    "Edge",
    "EdgeKind",
    "FunctionGraph",
    "Node",
    "NodeKind",
    "ProgramGraph",
    "View",
    "find_dot",
    "function_view",
    "program_view",
    "read_bot",
    "read_program",
    "run_dot",
    "to_dot",
    "to_html",
    "to_svg",
    "views",
]
