"""The HTML page in headless Chromium (Debian's ``chromium``): a real click on a node shows its
code as text, and paths from, to and between nodes light up. Screenshots are kept."""

from __future__ import annotations

import json

import pytest

from .chromium import CHROMIUM, Browser, Page
from .conftest import keep, page_for

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"{CHROMIUM} is missing; install Debian's browser with: apt-get install -y chromium",
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chromium")
    started = Browser(folder / "profile", folder / "chromium.log")
    yield started
    started.close()


@pytest.fixture(params=["dot", "builtin"])
def dot_or_none(request):
    """None for the built-in drawing, else the dot program (skipping if it is missing)."""
    return request.getfixturevalue("dot_program") if request.param == "dot" else None


def open_page(browser: Browser, folder, bot: str, dot: str | None) -> Page:
    path = folder / f"{bot}.html"
    path.write_text(page_for(bot, dot), encoding="utf-8")
    page = browser.open(path.as_uri())
    page.wait_for("document.body.dataset.ready === 'true'")
    return page


def element(page: Page, address: str, view: int = 0) -> str:
    """CSS selector of the drawn node whose ADDRESS is `address` in view `view`."""
    index = page.evaluate(
        "(() => { const d = JSON.parse(document.getElementById('autograms-data').textContent);"
        f" return d.views[{view}].nodes"
        f".findIndex(id => d.nodes[id].address === {json.dumps(address)}); }})()"
    )
    assert index >= 0, address
    return f"#v{view}n{index}"


def click(page: Page, selector: str, shift: bool = False) -> None:
    x, y = page.centre_of(selector)
    page.click(x, y, shift=shift)


def code_rows(page: Page) -> list[list[str]]:
    return page.evaluate(
        "[...document.querySelectorAll('#code .row')]"
        ".map(row => [row.querySelector('.ln').textContent, row.lastChild.textContent])"
    )


def classes(page: Page, address: str, view: int = 0) -> list[str]:
    return page.evaluate(
        f"[...document.querySelector({json.dumps(element(page, address, view))}).classList]"
    )


def check_clean(page: Page, url_end: str) -> None:
    assert page.exceptions() == []
    urls = page.requested_urls()
    assert len(urls) == 1 and urls[0].startswith("file://") and urls[0].endswith(url_end), urls


def test_click_on_a_node_shows_its_code(browser, tmp_path, artifacts, dot_or_none):
    page = open_page(browser, tmp_path, "simple_example", dot_or_none)
    assert page.evaluate("document.querySelector('#details').textContent") == (
        "Click a node to see its code."
    )
    click(page, element(page, "chat_ai"))
    page.wait_for("document.querySelector('#details h2')?.textContent === 'chat_ai'")
    assert code_rows(page) == [
        [
            "11",
            'reply_instruction("Say you are glad to talk about AI, and ask what interests '
            'the user",',
        ],
        ["12", '                  ADDRESS="chat_ai")'],
    ]
    assert "pauses: reply_instruction" in page.evaluate("document.body.innerText")
    # paths from chat_ai: the loop, not the other branch nor what came before
    assert "sel" in classes(page, "chat_ai")
    assert "on" in classes(page, "continue_conversation")
    assert "dim" in classes(page, "chat_other") and "dim" in classes(page, "ask_question")
    drawing = "dot" if dot_or_none else "builtin"
    keep(page.screenshot(artifacts / f"simple_example-click-{drawing}.png"))
    check_clean(page, "simple_example.html")


def test_markup_in_code_is_shown_as_text_and_never_runs(browser, tmp_path, artifacts, dot_or_none):
    page = open_page(browser, tmp_path, "script_injection", dot_or_none)
    label = '<b>bold</b> & "quoted"'
    click(page, element(page, label))
    page.wait_for(f"document.querySelector('#details h2')?.textContent === {json.dumps(label)}")
    ((_, text),) = code_rows(page)[:1]
    assert text == (
        "reply(\"<script>window.__pwned = 1</script><img src=x onerror='window.__pwned = 2'>\","
    )
    assert page.evaluate("window.__pwned === undefined")
    assert page.evaluate("document.querySelectorAll('#details :is(script, img, b)').length") == 0
    assert page.evaluate("document.querySelectorAll('script').length") == 2
    drawing = "dot" if dot_or_none else "builtin"
    keep(page.screenshot(artifacts / f"script_injection-click-{drawing}.png"))
    check_clean(page, "script_injection.html")


def test_shift_click_lights_the_paths_between_two_nodes(browser, tmp_path, dot_program):
    page = open_page(browser, tmp_path, "recruiter", dot_program)
    click(page, element(page, "ask_salary"))
    click(page, element(page, "reject"), shift=True)
    page.wait_for(
        f"document.querySelector({json.dumps(element(page, 'reject'))}).classList.contains('tgt')"
    )
    for on_path in ("ask_salary", "salary_over", "reject"):
        assert "dim" not in classes(page, on_path), on_path
    for off_path in ("greeting", "accept", "accept_after_talk", "conversation_over"):
        assert "dim" in classes(page, off_path), off_path
    assert "Paths to: reject" in page.evaluate("document.querySelector('#details').innerText")
    check_clean(page, "recruiter.html")


def test_function_tab_paths_to_a_node_and_links(browser, tmp_path, artifacts):
    page = open_page(browser, tmp_path, "quiz_returnto", None)
    tab = page.evaluate("[...document.querySelectorAll('#tabs button')].map(b => b.textContent)")
    assert tab == ["whole program", "chatbot", "run_round", "ask_question"]
    click(page, "#tab-3")
    page.wait_for("!document.getElementById('view-3').hidden")
    click(page, "input[value=to]")
    click(page, element(page, "check", view=3))
    page.wait_for("document.querySelector('#details h2')?.textContent === 'check'")
    assert "dim" not in classes(page, "classify", view=3)  # reaches check
    assert "dim" in classes(page, "stop", view=3)  # does not
    # following a link in the panel selects the node it names
    page.evaluate(
        "[...document.querySelectorAll('#details ul.links button')]"
        ".find(b => b.textContent.includes('classify:')).click()"
    )
    page.wait_for("document.querySelector('#details h2')?.textContent === 'classify'")
    assert page.evaluate("location.hash") == "#node=ask_question%3A2"
    keep(page.screenshot(artifacts / "quiz_returnto-paths-to.png"))
    check_clean(page, "quiz_returnto.html")
