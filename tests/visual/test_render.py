"""SVG and PNG pictures from graphviz, the built-in SVG drawing, and a missing ``dot``."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET

import pytest

from autograms._visual import (
    DotFailedError,
    DotNotFoundError,
    find_dot,
    run_dot,
    to_dot,
    to_svg,
    views,
)

from .conftest import BOT_NAMES, keep, load

SVG = "{http://www.w3.org/2000/svg}"


def groups(svg: bytes | str, kind: str) -> list[str]:
    root = ET.fromstring(svg)
    return [g.get("id") for g in root.iter(f"{SVG}g") if g.get("class") == kind]


@pytest.mark.parametrize("bot", BOT_NAMES)
def test_svg_from_dot_has_every_node_and_edge_by_id(bot, dot_program):
    for number, view in enumerate(views(load(bot))):
        svg = run_dot(dot_program, to_dot(view, f"v{number}"), "svg", view.name)
        assert sorted(groups(svg, "node")) == sorted(
            f"v{number}n{i}" for i in range(len(view.nodes))
        )
        assert sorted(groups(svg, "edge")) == sorted(
            f"v{number}e{i}" for i in range(len(view.edges))
        )


def test_png_from_dot(dot_program, artifacts):
    view = views(load("quiz_returnto"))[0]
    png = run_dot(dot_program, to_dot(view), "png", view.name)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width > 600 and height > 600
    keep(artifacts / "quiz_returnto.png").write_bytes(png)


def test_dot_errors_are_reported_with_the_view(dot_program):
    with pytest.raises(DotFailedError) as caught:
        run_dot(dot_program, "digraph { a -> ", "svg", "broken")
    assert caught.value.view == "broken" and caught.value.fmt == "svg"
    assert "syntax error" in caught.value.detail


def test_missing_dot_names_the_install_line(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DotNotFoundError, match="apt-get install graphviz"):
        find_dot()


@pytest.mark.parametrize("bot", BOT_NAMES)
def test_builtin_svg_has_every_node_and_edge_by_id(bot):
    for number, view in enumerate(views(load(bot))):
        svg = to_svg(view, f"v{number}")
        assert groups(svg, "node") == [f"v{number}n{i}" for i in range(len(view.nodes))]
        assert groups(svg, "edge") == [f"v{number}e{i}" for i in range(len(view.edges))]
        if len(view.groups) > 1:
            assert len(groups(svg, "cluster")) == len(view.groups)


def test_builtin_svg_escapes_text():
    svg = to_svg(views(load("script_injection"))[0])
    ET.fromstring(svg)  # well-formed although the bot's labels hold markup
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;" in svg
