"""The DOT text: valid for graphviz, one statement per node and edge, strings quoted safely."""

from __future__ import annotations

import re
import subprocess

import pytest

from autograms._visual import to_dot, views
from autograms._visual.dot import quote

from .conftest import BOT_NAMES, load


@pytest.mark.parametrize("bot", BOT_NAMES)
def test_dot_is_accepted_by_graphviz_without_warnings(bot, dot_program):
    for number, view in enumerate(views(load(bot))):
        done = subprocess.run(
            [dot_program, "-Tcanon"],
            input=to_dot(view, f"v{number}"),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stderr == "", done.stderr


@pytest.mark.parametrize("bot", BOT_NAMES)
def test_dot_has_each_node_and_edge_once(bot):
    for view in views(load(bot)):
        text = to_dot(view, "v0")
        for number, node in enumerate(view.nodes):
            assert (
                len(re.findall(rf'^\s*{re.escape(quote(node.id))} \[id="v0n{number}"', text, re.M))
                == 1
            )
        assert len(re.findall(r"^\s*\S+ -> \S+ \[", text, re.M)) == len(view.edges)


def test_program_view_boxes_each_function():
    text = to_dot(views(load("quiz_returnto"))[0])
    assert text.count('subgraph "cluster_') == 3
    assert 'graph [label="ask_question"' in text


def test_edge_labels_carry_conditions_and_choices():
    text = to_dot(views(load("quiz_returnto"))[0])
    assert 'label="wants to stop"' in text
    assert 'label="RETURNTO"' in text


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("plain", '"plain"'),
        ('say "hi"', r'"say \"hi\""'),
        ("back\\slash", r'"back\\slash"'),
        ("two\nlines", r'"two\nlines"'),
        ("<b>html?</b>", '"<b>html?</b>"'),
    ],
)
def test_quote(text, quoted):
    assert quote(text) == quoted


def test_markup_and_quotes_in_bot_code_stay_text(dot_program):
    view = views(load("script_injection"))[0]
    svg = subprocess.run(
        [dot_program, "-Tsvg"],
        input=to_dot(view),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;" in svg
