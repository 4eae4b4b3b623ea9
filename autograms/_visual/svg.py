"""An SVG drawing of a `View` from the built-in `layout`, for when graphviz is not installed.

Element ids and classes match graphviz's SVG (``g.node``, ``g.edge``, ``g.cluster``), so the
HTML page treats both drawings alike.
"""

from __future__ import annotations

from html import escape

from .layout import Box, layout
from .model import Edge, Node, View
from .style import EDGE_STYLES, FONT, edge_lines, node_lines, node_style

CHAR_WIDTH = 6.4  #: average advance of the 11px font
LINE_HEIGHT = 14.0
LABEL_LINE_HEIGHT = 12.0


def to_svg(view: View, prefix: str = "") -> str:
    """The SVG text of `view`; node, edge and group ids start with `prefix`."""
    placed = layout(view, _measure)
    index = {node.id: number for number, node in enumerate(view.nodes)}
    parts: list[str] = [_markers(prefix)]
    if len(view.groups) > 1:
        for number, (name, box) in enumerate(placed.groups):
            parts.append(
                f'<g class="cluster" id="{prefix}c{number}">{_rect(box, "none", "#a6a6a6", 8)}'
                f'<text x="{box.cx:.1f}" y="{box.y + 16:.1f}" text-anchor="middle" '
                f'font-size="12">{escape(name)}</text></g>'
            )
    right = placed.width
    sides: dict[str, int] = {}
    for number, edge in enumerate(view.edges):
        text, reach = _edge(edge, placed.nodes, sides, f"{prefix}e{number}", prefix)
        parts.append(text)
        right = max(right, reach)
    parts.extend(
        _node(node, placed.nodes[node.id], f"{prefix}n{index[node.id]}") for node in view.nodes
    )
    width, height = right + 16, placed.height
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" font-family="{escape(FONT)}" font-size="11">'
        + "".join(parts)
        + "</svg>\n"
    )


def _measure(node: Node) -> tuple[float, float]:
    style = node_style(node)
    lines = node_lines(node)
    width = max(len(line) for line in lines) * CHAR_WIDTH + 26
    if style.shape == "hexagon":
        width += 36
    return width, len(lines) * LINE_HEIGHT + (18 if style.double else 12)


def _markers(prefix: str) -> str:
    markers = "".join(
        f'<marker id="{prefix}arrow-{kind.value}" viewBox="0 0 10 10" refX="9" refY="5" '
        f'markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" '
        f'orient="auto-start-reverse">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{style.color}"/></marker>'
        for kind, style in EDGE_STYLES.items()
    )
    return f"<defs>{markers}</defs>"


def _rect(box: Box, fill: str, stroke: str, radius: float, extra: str = "") -> str:
    return (
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" '
        f'height="{box.height:.1f}" rx="{radius}" fill="{fill}" stroke="{stroke}"{extra}/>'
    )


def _node(node: Node, box: Box, element_id: str) -> str:
    style = node_style(node)
    extra = ' stroke-dasharray="5,3"' if style.dashed else ""
    extra += f' stroke-width="{2.2 if style.bold else 1.2}"'
    if style.shape == "hexagon":
        tip = 16.0
        points = [
            (box.x, box.cy),
            (box.x + tip, box.y),
            (box.right - tip, box.y),
            (box.right, box.cy),
            (box.right - tip, box.bottom),
            (box.x + tip, box.bottom),
        ]
        text = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        shape = f'<polygon points="{text}" fill="{style.fill}" stroke="#000"{extra}/>'
    elif style.shape == "oval":
        shape = (
            f'<ellipse cx="{box.cx:.1f}" cy="{box.cy:.1f}" rx="{box.width / 2:.1f}" '
            f'ry="{box.height / 2:.1f}" fill="{style.fill}" stroke="#000"{extra}/>'
        )
    else:
        radius = 8 if style.rounded else 0
        shape = _rect(box, style.fill, "#000", radius, extra)
        if style.double:
            inner = Box(box.x + 3, box.y + 3, box.width - 6, box.height - 6)
            shape += _rect(inner, "none", "#000", max(radius - 2, 0), ' stroke-width="1"')
    lines = node_lines(node)
    first = box.cy - (len(lines) - 1) * LINE_HEIGHT / 2 + 4
    spans = "".join(
        f'<tspan x="{box.cx:.1f}" y="{first + n * LINE_HEIGHT:.1f}">{escape(line)}</tspan>'
        for n, line in enumerate(lines)
    )
    return f'<g class="node" id="{element_id}">{shape}<text text-anchor="middle">{spans}</text></g>'


def _edge(
    edge: Edge, boxes: dict[str, Box], sides: dict[str, int], element_id: str, prefix: str
) -> tuple[str, float]:
    """The edge's group and the rightmost x it reaches. Downward edges leave the bottom and
    enter the top; others go round the right-hand side, `sides` spreading them apart."""
    source, target = boxes[edge.source], boxes[edge.target]
    if target.y >= source.bottom + 4:
        start, end = (source.cx, source.bottom), (target.cx, target.y)
        bend = max(20.0, (end[1] - start[1]) / 2)
        first, second = (start[0], start[1] + bend), (end[0], end[1] - bend)
    else:
        offset = sides.get(edge.target, 0)
        sides[edge.target] = offset + 1
        start, end = (source.right, source.cy), (target.right, target.cy)
        if edge.source == edge.target:
            start, end = (source.right, source.cy - 5), (source.right, source.cy + 5)
        out = max(source.right, target.right) + 34 + 12 * offset
        first, second = (out, start[1]), (out, end[1])
    style = EDGE_STYLES[edge.kind]
    dash = ' stroke-dasharray="6,4"' if style.dashed else ""
    path = (
        f'<path d="M{start[0]:.1f},{start[1]:.1f} C{first[0]:.1f},{first[1]:.1f} '
        f'{second[0]:.1f},{second[1]:.1f} {end[0]:.1f},{end[1]:.1f}" fill="none" '
        f'stroke="{style.color}" stroke-width="{style.width}"{dash} '
        f'marker-end="url(#{prefix}arrow-{edge.kind.value})"/>'
    )
    mid_x = (start[0] + 3 * first[0] + 3 * second[0] + end[0]) / 8 + 5
    mid_y = (start[1] + 3 * first[1] + 3 * second[1] + end[1]) / 8
    lines = edge_lines(edge)
    label = "".join(
        f'<tspan x="{mid_x:.1f}" y="{mid_y + n * LABEL_LINE_HEIGHT:.1f}">{escape(line)}</tspan>'
        for n, line in enumerate(lines)
    )
    reach = max(start[0], first[0], second[0], end[0], mid_x + _label_width(lines))
    text = (
        f'<text font-size="10" fill="{style.color}" stroke="#fbfbfb" stroke-width="3" '
        f'paint-order="stroke">{label}</text>'
        if lines
        else ""
    )
    return f'<g class="edge" id="{element_id}">{path}{text}</g>', reach


def _label_width(lines: list[str]) -> float:
    return max((len(line) for line in lines), default=0) * CHAR_WIDTH * 0.9
