"""Graphviz DOT text for a `View`."""

from __future__ import annotations

from .model import Edge, EdgeKind, Node, View
from .style import EDGE_STYLES, FONT, KEY, edge_lines, node_lines, node_style

# Edges between functions would pull the callee's nodes into the caller's ranks.
_UNCONSTRAINED = frozenset({EdgeKind.RETURNTO})


def to_dot(view: View, prefix: str = "") -> str:
    """The DOT text of `view`; node, edge and cluster ids in the drawing start with `prefix`."""
    index = {node.id: number for number, node in enumerate(view.nodes)}
    lines = [
        f"digraph {quote(view.name)} {{",
        f"  graph [rankdir=TB, nodesep=0.35, ranksep=0.45, fontname={quote(FONT)}, fontsize=9,"
        f" labelloc=b, label={quote(KEY)}, id={quote(prefix + 'graph')}];",
        f'  node [fontname={quote(FONT)}, fontsize=10, margin="0.14,0.06", penwidth=1.2];',
        f"  edge [fontname={quote(FONT)}, fontsize=9, arrowsize=0.7];",
    ]
    clustered = len(view.groups) > 1
    for number, (name, nodes) in enumerate(view.groups):
        indent = "    " if clustered else "  "
        if clustered:
            lines.append(f"  subgraph {quote(f'cluster_{number}')} {{")
            lines.append(
                f'    graph [label={quote(name)}, style=rounded, color="#a6a6a6", fontsize=12,'
                f" labelloc=t, id={quote(f'{prefix}c{number}')}];"
            )
        lines.extend(f"{indent}{_node(node, f'{prefix}n{index[node.id]}')}" for node in nodes)
        if clustered:
            lines.append("  }")
    lines.extend(f"  {_edge(edge, f'{prefix}e{number}')}" for number, edge in enumerate(view.edges))
    lines.append("}")
    return "\n".join(lines) + "\n"


def quote(text: str) -> str:
    """`text` as a DOT double-quoted string; newlines become centred line breaks."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\r", "").replace("\n", "\\n") + '"'


def _node(node: Node, element_id: str) -> str:
    style = node_style(node)
    styles = ["filled"] if style.fill != "none" else []
    styles += [
        word
        for word, on in (("rounded", style.rounded), ("dashed", style.dashed), ("bold", style.bold))
        if on
    ]
    attrs = {
        "id": element_id,
        "label": "\n".join(node_lines(node)),
        "shape": style.shape,
        "style": ",".join(styles),
        "fillcolor": style.fill,
        "peripheries": "2" if style.double else "1",
    }
    return f"{quote(node.id)} [{_attributes(attrs)}];"


def _edge(edge: Edge, element_id: str) -> str:
    style = EDGE_STYLES[edge.kind]
    attrs = {
        "id": element_id,
        "label": "\n".join(edge_lines(edge)),
        "color": style.color,
        "fontcolor": style.color,
        "penwidth": f"{style.width:g}",
        "style": "dashed" if style.dashed else "solid",
    }
    if edge.kind in _UNCONSTRAINED:
        attrs["constraint"] = "false"
    return f"{quote(edge.source)} -> {quote(edge.target)} [{_attributes(attrs)}];"


def _attributes(attrs: dict[str, str]) -> str:
    return ", ".join(f"{key}={quote(value)}" for key, value in attrs.items())
