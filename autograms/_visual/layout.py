"""A layered layout of a `View` for when graphviz is not installed.

Each function's nodes are put in layers by longest path from the entry (back edges of loops
and jumps ignored), ordered within a layer by the mean position of their predecessors, and the
functions are placed side by side. Plainer than ``dot``, but readable and dependency-free.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .model import Edge, Node, View

NODE_GAP = 28.0  #: horizontal space between two nodes of a layer
LAYER_GAP = 58.0  #: vertical space between layers, room for edge labels
GROUP_GAP = 48.0  #: space between the boxes of two functions
PADDING = 16.0  #: inside a function's box
TITLE = 22.0  #: height of a function box's title


@dataclass(frozen=True, slots=True)
class Box:
    """A rectangle: top-left corner and size."""

    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height

    @property
    def cx(self) -> float:
        return self.x + self.width / 2

    @property
    def cy(self) -> float:
        return self.y + self.height / 2


@dataclass(frozen=True, slots=True)
class Layout:
    """Where everything of a view goes."""

    nodes: dict[str, Box]  #: node id -> its box
    groups: list[tuple[str, Box]]  #: function name -> the box around its nodes
    width: float
    height: float


def layout(view: View, measure: Callable[[Node], tuple[float, float]]) -> Layout:
    """Boxes for every node of `view`; `measure` gives a node's (width, height)."""
    boxes: dict[str, Box] = {}
    groups: list[tuple[str, Box]] = []
    left = PADDING
    boxed = len(view.groups) > 1
    for name, nodes in view.groups:
        ids = {node.id for node in nodes}
        inner = [edge for edge in view.edges if edge.source in ids and edge.target in ids]
        top = PADDING + (TITLE if boxed else 0.0)
        placed = _place(nodes, inner, measure, left + (PADDING if boxed else 0.0), top)
        boxes.update(placed)
        right = max(box.right for box in placed.values()) + (PADDING if boxed else 0.0)
        bottom = max(box.bottom for box in placed.values()) + PADDING
        groups.append((name, Box(left, PADDING, right - left, bottom - PADDING)))
        left = right + GROUP_GAP
    width = max(box.right for _, box in groups) + PADDING
    height = max(box.bottom for _, box in groups) + PADDING
    return Layout(boxes, groups, width, height)


def _place(
    nodes: tuple[Node, ...],
    edges: list[Edge],
    measure: Callable[[Node], tuple[float, float]],
    left: float,
    top: float,
) -> dict[str, Box]:
    forward = _forward_edges([node.id for node in nodes], edges)
    layer_of = _layers([node.id for node in nodes], forward)
    layers: list[list[str]] = [[] for _ in range(max(layer_of.values()) + 1)]
    for node in nodes:
        layers[layer_of[node.id]].append(node.id)
    preds: dict[str, list[str]] = {node.id: [] for node in nodes}
    for edge in forward:
        preds[edge.target].append(edge.source)
    sizes = {node.id: measure(node) for node in nodes}
    boxes: dict[str, Box] = {}
    y = top
    for layer in layers:
        centres = {
            node_id: sum(boxes[p].cx for p in preds[node_id]) / len(preds[node_id])
            for node_id in layer
            if preds[node_id]
        }
        layer.sort(key=lambda node_id: centres.get(node_id, float("inf")))
        x = left
        for node_id in layer:
            width, height = sizes[node_id]
            x = max(x, centres.get(node_id, x + width / 2) - width / 2)
            boxes[node_id] = Box(x, y, width, height)
            x += width + NODE_GAP
        y += max(sizes[node_id][1] for node_id in layer) + LAYER_GAP
    shift = left - min(box.x for box in boxes.values())
    return {key: Box(b.x + shift, b.y, b.width, b.height) for key, b in boxes.items()}


def _forward_edges(ids: list[str], edges: list[Edge]) -> list[Edge]:
    """`edges` without those that close a cycle in a depth-first walk from the first node."""
    out: dict[str, list[Edge]] = {node_id: [] for node_id in ids}
    for edge in edges:
        out[edge.source].append(edge)
    back: set[int] = set()
    state: dict[str, int] = {}  # 1 on the walk's path, 2 finished
    for root in ids:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(out[root]))]
        while stack:
            node_id, pending = stack[-1]
            edge = next(pending, None)
            if edge is None:
                state[node_id] = 2
                stack.pop()
            elif state.get(edge.target) == 1:
                back.add(id(edge))
            elif edge.target not in state:
                state[edge.target] = 1
                stack.append((edge.target, iter(out[edge.target])))
    return [edge for edge in edges if id(edge) not in back]


def _layers(ids: list[str], forward: list[Edge]) -> dict[str, int]:
    """Longest-path layer of each node over the acyclic `forward` edges."""
    waiting = {node_id: 0 for node_id in ids}
    out: dict[str, list[str]] = {node_id: [] for node_id in ids}
    for edge in forward:
        waiting[edge.target] += 1
        out[edge.source].append(edge.target)
    layer = {node_id: 0 for node_id in ids}
    ready = [node_id for node_id in ids if waiting[node_id] == 0]
    while ready:
        node_id = ready.pop(0)
        for target in out[node_id]:
            layer[target] = max(layer[target], layer[node_id] + 1)
            waiting[target] -= 1
            if waiting[target] == 0:
                ready.append(target)
    return layer
