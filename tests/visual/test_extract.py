"""The graph read from each fixture bot: its nodes, pause marks and labelled edges."""

from __future__ import annotations

import pytest

from autograms._visual import (
    BotSourceError,
    EdgeKind,
    NodeKind,
    ProgramGraph,
    View,
    function_view,
    program_view,
    read_bot,
    read_program,
    views,
)

from .conftest import load


def name(node) -> str:
    """How a test refers to a node: its ADDRESS label, else its summary."""
    return node.address or node.summary


def shape(view: View) -> set[tuple[str, str, str, str]]:
    """Every edge of `view` as (source name, target name, kind, label)."""
    nodes = {node.id: node for node in view.nodes}
    return {
        (name(nodes[e.source]), name(nodes[e.target]), e.kind.value, e.label) for e in view.edges
    }


def node(view: View, label: str):
    (found,) = [n for n in view.nodes if name(n) == label]
    return found


def test_simple_example_is_greeting_branch_and_loop():
    program = load("simple_example")
    assert [graph.name for graph in program.functions] == ["chatbot"]
    ask = 'if yes_or_no("does the user want to talk about ai?")'
    assert shape(function_view(program.functions[0])) == {
        ("def chatbot()", "ask_question", "flow", ""),
        ("ask_question", ask, "flow", ""),
        (ask, "chat_ai", "branch", 'yes_or_no("does the user want to talk about ai?")'),
        (ask, "chat_other", "branch", "else"),
        ("chat_ai", "while True", "flow", ""),
        ("chat_other", "while True", "flow", ""),
        ("while True", "continue_conversation", "branch", "True"),
        ("continue_conversation", "while True", "loop", "loop"),
    }
    assert program.problems == ()


def test_pause_points_are_marked_with_their_call():
    view = program_view(load("simple_example"))
    pauses = {name(n): n.pause for n in view.nodes if n.pause}
    assert pauses == {
        "ask_question": "reply",
        "chat_ai": "reply_instruction",
        "chat_other": "reply_instruction",
        "continue_conversation": "reply_instruction",
    }
    kinds = {name(n): n.kind for n in view.nodes}
    assert kinds["while True"] is NodeKind.LOOP
    assert kinds['if yes_or_no("does the user want to talk about ai?")'] is NodeKind.BRANCH
    assert NodeKind.END not in kinds.values(), "while True never ends the function"


def test_node_code_is_the_source_lines_it_covers():
    view = program_view(load("simple_example"))
    chat_ai = node(view, "chat_ai")
    assert [line.lineno for line in chat_ai.code] == [11, 12]
    assert chat_ai.code[0].text.strip().startswith('reply_instruction("Say you are glad')
    assert node(view, "def chatbot()").code[0].text == "@autograms_function()"


def test_fibonacci_jumps_with_goto():
    program = load("fibonacci")
    edges = shape(program_view(program))
    assert ("not_a_number", "read_position", "goto", "GOTO") in edges
    assert ("a, b = b, a + b", "step", "goto", "GOTO") in edges
    another = 'if yes_or_no("does the user want another number?")'
    assert (
        another,
        "ask_position",
        "goto",
        'yes_or_no("does the user want another number?")\nGOTO',
    ) in edges
    assert (another, "goodbye", "branch", "else") in edges
    assert ("if i < n", "a, b = b, a + b", "branch", "i < n") in edges
    # the GOTO line is shown with the node it leaves from
    step_body = node(program_view(program), "a, b = b, a + b")
    assert step_body.code[-1].text.strip() == 'GOTO(destination="step")'
    assert program.problems == ()


def test_recruiter_nested_ifs_and_module_constant_label():
    view = program_view(load("recruiter"))
    edges = shape(view)
    ready = 'while not yes_or_no("is the candidate ready to start?")'
    assert (
        ready,
        "wait_until_ready",
        "branch",
        'not yes_or_no("is the candidate ready to start?")',
    ) in edges
    assert ("wait_until_ready", ready, "loop", "loop") in edges
    assert (ready, "ask_background", "branch", "done") in edges
    linear = ["ask_background", "ask_experience", "ask_tools", "ask_salary"]
    for before, after in zip(linear, linear[1:], strict=False):
        assert (before, after, "flow", "") in edges
    # ADDRESS=SALARY_OVER resolves through the module constant
    assert ("if expectation == 2", "salary_over", "branch", "expectation == 2") in edges
    open_to = 'if yes_or_no("is the candidate open to the budgeted range?")'
    assert ("salary_over", open_to, "flow", "") in edges
    assert (open_to, "reject", "branch", "else") in edges
    assert ("if expectation == 2", "accept", "branch", "else") in edges
    for end in ("accept_after_talk", "reject", "accept"):
        assert (end, "while True", "flow", "") in edges
    assert ("conversation_over", "while True", "loop", "loop") in edges


def test_calls_returnto_and_transition_across_functions():
    program = load("quiz_returnto")
    assert [g.name for g in program.functions] == ["chatbot", "run_round", "ask_question"]
    edges = shape(program_view(program))
    assert ("round", "def run_round()", "call", "") in edges
    assert ("ask", "def ask_question(question)", "call", "") in edges
    assert ("stop", "welcome", "returnto", "RETURNTO") in edges
    assert {(s, t, label) for s, t, kind, label in edges if kind == "transition"} == {
        ("classify", "check", "gave an answer"),
        ("classify", "hint", "asked for a hint"),
        ("classify", "stop", "wants to stop"),
        ('TRANSITION("Did the user answer now?", {"yes": "check", "no": "hint"})', "check", "yes"),
        ('TRANSITION("Did the user answer now?", {"yes": "check", "no": "hint"})', "hint", "no"),
    }
    assert not any(n.kind is NodeKind.EXTERNAL for n in program_view(program).nodes)


def test_function_view_shows_returnto_target_as_a_stand_in():
    graph = load("quiz_returnto").function("ask_question")
    (stub,) = [n for n in graph.nodes if n.kind is NodeKind.EXTERNAL]
    assert stub.ref == "welcome"
    assert ("stop", "RETURNTO 'welcome'", "returnto", "RETURNTO") in shape(function_view(graph))


def test_decorator_spellings_nodes_methods_and_nested_functions():
    program = load("constructs")
    assert [(g.name, g.decorator) for g in program.functions] == [
        ("chatbot", "autograms_function"),
        ("greet", "autograms_node"),
        ("Shop.browse", "autograms_function"),
        ("chatbot.inner", "autograms_function"),
    ]
    calls = {(e.source.split(":")[0], e.target) for e in program.links if e.kind is EdgeKind.CALL}
    assert calls == {
        ("chatbot", "greet:0"),
        ("chatbot", "Shop.browse:0"),
        ("chatbot", "chatbot.inner:0"),
    }


def test_compound_statements():
    edges = shape(function_view(load("constructs").function("chatbot")))
    assert ("if choice == 0", "menu", "branch", "choice == 1") in edges  # ADDRESS=LABEL
    assert ("if choice == 0", "EXIT()", "branch", "else") in edges
    assert ("match choice", 'thought("shopping")', "branch", "case 0") in edges
    assert ("match choice", "pass", "branch", "case _") in edges
    assert ("try", 'value = int(thought("a number"))', "branch", "try") in edges
    assert ("try", "value = 0", "branch", "except ValueError") in edges
    loop = "for attempt in range(3)"
    assert (loop, "if attempt == value", "branch", "next attempt") in edges
    assert ("if attempt > 5", loop, "loop", "attempt > 5\ncontinue") in edges
    assert ('reply(f"attempt {attempt}")', loop, "loop", "loop") in edges
    assert (loop, 'reply("no attempt matched")', "branch", "done") in edges
    with_node = 'with open("log.txt", "a") as log:'
    assert ("if attempt == value", with_node, "branch", "attempt == value\nbreak") in edges
    assert ('reply("no attempt matched")', with_node, "flow", "") in edges
    assert ("inner()", "destination computed at run time", "goto", "GOTO") in edges


def test_exit_is_a_pause():
    view = function_view(load("constructs").function("chatbot"))
    assert node(view, "EXIT()").pause == "EXIT"


def test_problems_name_label_function_and_line():
    problems = load("constructs").problems
    assert any(
        "duplicate ADDRESS label 'greet' in chatbot (constructs.py:26 and constructs.py:61)" in p
        for p in problems
    )
    assert any(
        "GOTO to unknown label 'missing' in chatbot.inner (constructs.py:57)" in p for p in problems
    )
    assert any("RETURNTO label 'nowhere' in Shop.browse" in p for p in problems)
    inner = function_view(load("constructs").function("chatbot.inner"))
    missing = node(inner, "no label 'missing'")
    assert missing.kind is NodeKind.EXTERNAL


def test_views_are_program_then_each_function_or_one():
    program = load("quiz_returnto")
    assert [v.name for v in views(program)] == ["program", "chatbot", "run_round", "ask_question"]
    assert [v.name for v in views(program, "run_round")] == ["run_round"]
    with pytest.raises(KeyError, match="known: chatbot, run_round, ask_question"):
        views(program, "nope")


def test_every_edge_joins_nodes_of_its_view():
    for bot in ("simple_example", "fibonacci", "recruiter", "quiz_returnto", "constructs"):
        for view in views(load(bot)):
            ids = {n.id for n in view.nodes}
            assert len(ids) == len(view.nodes)
            assert all(e.source in ids and e.target in ids for e in view.edges), (bot, view.name)


def test_the_bot_is_read_not_run():
    source = (
        "raise SystemExit('imported!')\n"
        "from autograms import autograms_function\n"
        "@autograms_function()\n"
        "def chatbot():\n"
        "    open('/nonexistent/x', 'w')\n"
    )
    program = read_program(source, "side_effects.py")
    assert isinstance(program, ProgramGraph)


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("def chatbot(:\n", "line 1"),
        ("def chatbot():\n    pass\n", "no function is decorated with @autograms_function()"),
    ],
)
def test_unreadable_bots_are_refused_with_the_reason(source, reason):
    with pytest.raises(BotSourceError, match="cannot visualise bad.py") as caught:
        read_program(source, "bad.py")
    assert reason in caught.value.reason
    assert caught.value.filename == "bad.py"


def test_missing_root_is_reported():
    source = (
        "from autograms import autograms_function\n@autograms_function()\ndef other():\n    pass\n"
    )
    program = read_program(source, "rootless.py")
    assert any("no decorated root function 'chatbot'" in p for p in program.problems)


def test_line_numbers_survive_form_feeds_and_coding_lines(tmp_path):
    bot = tmp_path / "latin.py"
    bot.write_bytes(
        b"# -*- coding: latin-1 -*-\n"
        b"from autograms import autograms_function\n"
        b"\x0c\n"
        b"@autograms_function()\n"
        b"def chatbot():\n"
        b"    reply('caf\xe9', ADDRESS='cafe')\n"
    )
    program = read_bot(bot)
    (cafe,) = [n for n in program.functions[0].nodes if n.address == "cafe"]
    assert [(line.lineno, line.text) for line in cafe.code] == [
        (6, "    reply('caf\u00e9', ADDRESS='cafe')")
    ]
