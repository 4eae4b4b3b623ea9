"""The HTML page read as text: self-contained, the bot's code kept as data, never as markup."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser

import pytest

from .conftest import load, page_for

DRAWINGS = ["builtin", "dot"]


@pytest.fixture(params=DRAWINGS)
def dot_or_none(request):
    """None for the built-in drawing, else the dot program (skipping if it is missing)."""
    return request.getfixturevalue("dot_program") if request.param == "dot" else None


class Tags(HTMLParser):
    """Start tags with their attributes, and the text of each <script>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


def parse(page: str) -> Tags:
    tags = Tags()
    tags.feed(page)
    return tags


def data_of(page: str) -> dict:
    return json.loads(parse(page).scripts[0])


def test_page_loads_nothing_from_outside(dot_or_none):
    page = page_for("quiz_returnto", dot_or_none)
    tags = parse(page)
    for tag, attrs in tags.tags:
        assert tag not in {"link", "iframe", "img", "object", "embed"}, tag
        for attribute in ("src", "href", "xlink:href", "action"):
            assert attribute not in attrs, (tag, attrs)
    assert not re.search(r"@import|url\(\s*['\"]?(?:https?:|//)", page)
    assert "fetch(" not in page and "XMLHttpRequest" not in page
    assert [attrs.get("type") for tag, attrs in tags.tags if tag == "script"] == [
        "application/json",
        None,
    ]


def test_policy_allows_only_the_page_script():
    page = page_for("simple_example", None)
    tags = parse(page)
    (policy,) = [
        a["content"]
        for t, a in tags.tags
        if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    ]
    digest = base64.b64encode(hashlib.sha256(tags.scripts[1].encode()).digest()).decode()
    assert policy.startswith("default-src 'none';")
    assert f"script-src 'sha256-{digest}'" in policy
    assert "unsafe-inline'" not in policy.split("script-src")[1]


def test_page_carries_every_view_and_node_code(dot_or_none):
    page = page_for("quiz_returnto", dot_or_none)
    data = data_of(page)
    assert [view["title"] for view in data["views"]] == [
        "whole program",
        "chatbot",
        "run_round",
        "ask_question",
    ]
    program = load("quiz_returnto")
    welcome = next(n for n in program.functions[0].nodes if n.address == "welcome")
    assert data["nodes"][welcome.id]["code"] == [
        [13, 'reply("Welcome to the quiz! Shall we start?", ADDRESS="welcome")']
    ]
    for number, view in enumerate(data["views"]):
        assert f'id="view-{number}"' in page
        for index in range(len(view["nodes"])):
            assert f'id="v{number}n{index}"' in page


def test_code_with_markup_is_data_not_markup(dot_or_none):
    page = page_for("script_injection", dot_or_none)
    tags = parse(page)
    assert len(tags.scripts) == 2, "the bot's <script> must not become an element"
    assert not any(tag in {"img", "b"} for tag, _ in tags.tags)
    assert "window.__pwned" not in tags.scripts[1]
    code = [text for node in data_of(page)["nodes"].values() for _, text in node["code"]]
    assert any("<script>window.__pwned = 1</script><img src=x" in line for line in code)
    assert "<script>window" not in page and "</script><img" not in page


def test_json_block_cannot_be_closed_early():
    page = page_for("script_injection", None)
    block = page.split('id="autograms-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in block and ">" not in block and "&" not in block
    assert json.loads(block)["bot"] == "script_injection.py"


def test_problems_are_listed_escaped():
    page = page_for("constructs", None)
    assert "Problems found" in page
    assert "duplicate ADDRESS label &#x27;greet&#x27; in chatbot" in page
