"""AutoGRAMS' ``compile_graph(func)``: the control-flow graph of one decorated function, read
from its source file without running it (see ``autograms._visual``), and saved as DOT, a
picture drawn by graphviz and the interactive HTML page of ``autograms visualize``."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from ._visual import (
    DotNotFoundError,
    ProgramGraph,
    View,
    find_dot,
    function_view,
    read_bot,
    run_dot,
    to_dot,
    to_html,
    to_svg,
)

#: formats `save_visualization` draws pictures in
PICTURE_FORMATS = ("png", "svg", "pdf")


class AutogramsGraph:
    """One decorated function's graph (`view`) within its file's `program`."""

    def __init__(self, program: ProgramGraph, view: View) -> None:
        self.program = program
        self.view = view

    @property
    def name(self) -> str:
        """The function's display name (``chatbot``, ``Tutor.ask`` ...)."""
        return self.view.name

    def to_dot(self) -> str:
        """The graph as DOT text."""
        return to_dot(self.view, "v0")

    def save_visualization(self, save_folder: str | Path, graph_format: str = "png") -> list[Path]:
        """Write ``<name>.dot``, ``<name>.<graph_format>`` (png, svg or pdf; drawn by graphviz's
        ``dot``) and ``<name>.html`` into `save_folder` (created if missing); the paths
        written. Without ``dot`` the DOT and HTML files are written, then DotNotFoundError
        (which says how to install graphviz) is raised."""
        if graph_format not in PICTURE_FORMATS:
            raise ValueError(f"graph_format must be one of {PICTURE_FORMATS}, not {graph_format!r}")
        folder = Path(save_folder)
        folder.mkdir(parents=True, exist_ok=True)
        base = folder / self.name
        dot_text = self.to_dot()
        written = [_write(Path(f"{base}.dot"), dot_text.encode("utf-8"))]
        try:
            dot_program = find_dot()
        except DotNotFoundError:
            page = to_html(self.program, [(self.view, to_svg(self.view, "v0"))])
            written.append(_write(Path(f"{base}.html"), page.encode("utf-8")))
            raise
        picture = run_dot(dot_program, dot_text, graph_format, self.name)
        written.append(_write(Path(f"{base}.{graph_format}"), picture))
        svg = picture if graph_format == "svg" else run_dot(dot_program, dot_text, "svg", self.name)
        page = to_html(self.program, [(self.view, svg.decode("utf-8"))])
        written.append(_write(Path(f"{base}.html"), page.encode("utf-8")))
        return written


def compile_graph(func: Any) -> AutogramsGraph:
    """The graph of the decorated function `func`, read from its source file."""
    function = getattr(func, "__func__", func)
    path = inspect.getsourcefile(function)
    if path is None:
        raise ValueError(f"{function!r} has no source file to read its graph from")
    program = read_bot(path)
    names = [function.__qualname__.replace("<locals>.", ""), function.__name__]
    for name in names:
        try:
            return AutogramsGraph(program, function_view(program.function(name)))
        except KeyError:
            continue
    raise ValueError(
        f"{function.__qualname__} is not a decorated function of {path}: decorate it with "
        "@autograms_function() or @autograms_node"
    )


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path
