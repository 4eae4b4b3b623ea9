"""One self-contained interactive HTML page for a program's views.

Everything is inline: the SVG drawings, the style sheet, the script and the graph as JSON. A
Content-Security-Policy allows only that script (by its hash) and no loads at all, so the page
works offline and text from the bot can never run as code.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import string
import textwrap

from .model import Node, ProgramGraph, View
from .page import SCRIPT, STYLE
from .program import PROGRAM_VIEW
from .style import CALL_FILL, EDGE_STYLES, PAUSE_FILL

_PROLOG = re.compile(r"<\?xml.*?\?>|<!DOCTYPE.*?>|<!--.*?-->", re.DOTALL)
_TITLE = re.compile(r"<title>.*?</title>", re.DOTALL)
_ROOT_ATTRIBUTES = re.compile(r'\s(?:width|height|xmlns(?::\w+)?)="[^"]*"')

_PAGE = string.Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="$policy">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$name - autograms graph</title>
<style>$style</style>
</head>
<body>
<header>
<h1>$name</h1>
<nav id="tabs" aria-label="graphs"></nav>
<div class="tools" role="group" aria-label="highlight">
<label><input type="radio" name="mode" value="from" checked> paths from node</label>
<label><input type="radio" name="mode" value="to"> paths to node</label>
<label><input type="radio" name="mode" value="none"> node only</label>
</div>
<div class="tools" role="group" aria-label="zoom">
<button type="button" id="zoom-out" title="zoom out">&minus;</button>
<button type="button" id="zoom-in" title="zoom in">+</button>
<button type="button" id="zoom-fit" title="fit to window">fit</button>
</div>
</header>
<main>
<div id="canvas">
$drawings
</div>
<aside>
$problems<div id="details"></div>
<p class="hint">Shift+click a second node to highlight the paths between the two.
Escape clears the selection.</p>
$legend
</aside>
</main>
<script type="application/json" id="autograms-data">$data</script>
<script>$script</script>
</body>
</html>
""")


def to_html(program: ProgramGraph, pictures: list[tuple[View, str]]) -> str:
    """The page for `pictures`: each view with its SVG drawing, drawn with the element ids
    ``v<index>n<node>`` and ``v<index>e<edge>`` (the `prefix` ``v<index>`` given to `to_dot`
    or `to_svg`)."""
    name = os.path.basename(program.filename)
    nodes = {node.id: _node_data(node) for view, _ in pictures for node in view.nodes}
    data = {
        "bot": name,
        "nodes": nodes,
        "views": [_view_data(view) for view, _ in pictures],
    }
    drawings = "\n".join(
        f'<div class="view" id="view-{number}" hidden>{inline_svg(svg)}</div>'
        for number, (_, svg) in enumerate(pictures)
    )
    script_hash = base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode()
    policy = f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'"
    return _PAGE.substitute(
        policy=policy,
        name=html.escape(name),
        style=STYLE,
        drawings=drawings,
        problems=_problems(program),
        legend=_legend(),
        data=_json(data),
        script=SCRIPT,
    )


def inline_svg(svg: str) -> str:
    """An SVG document made fit to sit inside HTML: no XML prolog, DOCTYPE or comments, no
    fixed size on the root (the page sizes it), no ``<title>`` tooltips (the page adds its own)."""
    body = _TITLE.sub("", _PROLOG.sub("", svg)).strip()
    start = body.index("<svg")
    end = body.index(">", start)
    root = _ROOT_ATTRIBUTES.sub("", body[start:end])
    return body[:start] + root + body[end:]


def _json(data: object) -> str:
    """JSON that cannot end its ``<script>`` element or open markup."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _node_data(node: Node) -> dict[str, object]:
    texts = textwrap.dedent("\n".join(line.text for line in node.code)).split("\n")
    return {
        "function": node.function,
        "kind": node.kind.value,
        "summary": node.summary,
        "address": node.address,
        "pause": node.pause,
        "calls": list(node.calls),
        "lineno": node.lineno,
        "code": [[line.lineno, text] for line, text in zip(node.code, texts, strict=False)],
    }


def _view_data(view: View) -> dict[str, object]:
    index = {node.id: number for number, node in enumerate(view.nodes)}
    return {
        "name": view.name,
        "title": "whole program" if view.name == PROGRAM_VIEW else view.name,
        "nodes": [node.id for node in view.nodes],
        "edges": [
            [index[edge.source], index[edge.target], edge.kind.value, edge.label]
            for edge in view.edges
        ],
    }


def _problems(program: ProgramGraph) -> str:
    if not program.problems:
        return ""
    items = "".join(f"<li>{html.escape(problem)}</li>" for problem in program.problems)
    return f'<div id="problems"><strong>Problems found</strong><ul>{items}</ul></div>\n'


def _legend() -> str:
    boxes = [("pause (reply, EXIT)", PAUSE_FILL), ("calls a decorated function", CALL_FILL)]
    parts = [
        f'<span><i class="box" style="background:{fill}"></i>{text}</span>' for text, fill in boxes
    ]
    parts += [
        f'<span><i style="border-color:{style.color}"></i>{kind.value}</span>'
        for kind, style in EDGE_STYLES.items()
    ]
    return f'<div id="legend">{"".join(parts)}</div>'
