"""How nodes and edges look, shared by the DOT and the built-in SVG drawings."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from .model import Edge, EdgeKind, Node, NodeKind

LABEL_WIDTH = 40  #: characters per label line before wrapping
LABEL_LINES = 2  #: lines kept of a wrapped summary or condition
FONT = "DejaVu Sans,Helvetica,Arial,sans-serif"

KEY = (
    "yellow double box: pause (reply, EXIT)   lilac: calls a decorated function   "
    "hexagon: branch or loop   red: GOTO   purple: RETURNTO   orange: TRANSITION   "
    "grey dashed: call"
)


@dataclass(frozen=True, slots=True)
class NodeStyle:
    """The look of a node."""

    shape: str  #: ``box``, ``hexagon`` or ``oval``
    fill: str  #: fill colour, ``none`` for no fill
    rounded: bool = False
    dashed: bool = False
    double: bool = False  #: a second border, for pauses
    bold: bool = False


@dataclass(frozen=True, slots=True)
class EdgeStyle:
    """The look of an edge."""

    color: str
    dashed: bool = False
    width: float = 1.0


NODE_STYLES = {
    NodeKind.ENTRY: NodeStyle("box", "#d9e2f3", rounded=True, bold=True),
    NodeKind.STEP: NodeStyle("box", "#ffffff", rounded=True),
    NodeKind.BRANCH: NodeStyle("hexagon", "#e2efda"),
    NodeKind.LOOP: NodeStyle("hexagon", "#ddebf7"),
    NodeKind.END: NodeStyle("oval", "#eeeeee"),
    NodeKind.EXTERNAL: NodeStyle("box", "none", dashed=True),
}
PAUSE_FILL = "#fff2cc"
CALL_FILL = "#e4dfec"

EDGE_STYLES = {
    EdgeKind.FLOW: EdgeStyle("#404040"),
    EdgeKind.BRANCH: EdgeStyle("#2f5597"),
    EdgeKind.LOOP: EdgeStyle("#548235"),
    EdgeKind.GOTO: EdgeStyle("#c00000", width=1.8),
    EdgeKind.RETURNTO: EdgeStyle("#7030a0", dashed=True, width=1.8),
    EdgeKind.TRANSITION: EdgeStyle("#c55a11", width=1.4),
    EdgeKind.CALL: EdgeStyle("#7f7f7f", dashed=True),
}


def node_style(node: Node) -> NodeStyle:
    """The look of `node`: by kind, with pauses and calls filled in their own colours."""
    style = NODE_STYLES[node.kind]
    if node.pause:
        return NodeStyle(style.shape, PAUSE_FILL, style.rounded, style.dashed, True, style.bold)
    if node.calls:
        return NodeStyle(style.shape, CALL_FILL, style.rounded, style.dashed, False, style.bold)
    return style


def node_lines(node: Node) -> list[str]:
    """The text drawn in `node`: its label, its statement (wrapped), the functions it calls."""
    lines = [node.address] if node.address else []
    marker_only = node.address and node.summary.startswith("location(")
    if not marker_only:
        lines += wrap(node.summary, LABEL_WIDTH, LABEL_LINES)
    if node.calls:
        lines.append("calls " + ", ".join(node.calls))
    return lines


def edge_lines(edge: Edge) -> list[str]:
    """The text drawn beside `edge`."""
    return [line for part in edge.label.split("\n") for line in wrap(part, 28, LABEL_LINES)]


def wrap(text: str, width: int, most: int) -> list[str]:
    """`text` in at most `most` lines of about `width` characters, `` ...`` marking a cut."""
    return textwrap.wrap(text, width, max_lines=most, placeholder=" ...")
