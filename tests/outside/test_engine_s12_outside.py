"""Session 12 outside tests of the engine (engb): issue 10's reproducers and what they led to.

Each program runs as plain Python (a thread and two queues stand in for the pause) and through
`Autogram(root_function=chatbot, test_mode=True)` in process, after serialize/deserialize every
turn, and with a fresh interpreter per turn (engine_s12_support.py). The programs are in
engine_s12_cases.py; they were written from the README, docs/engine.md and issue 10 only.
"""

from __future__ import annotations

import sys

import pytest

from tests.outside import engine_s12_cases as cases
from tests.outside import engine_s12_generator as generator
from tests.outside import engine_s12_support as support

# The generated programs of every run (engine_s12_generator.py; a few thousand more per Python
# were run while writing this file, see the commit messages).
GENERATED_SEEDS = range(120_000, 120_016)
GENERATED_TURNS = 12


@pytest.fixture(scope="module")
def transcripts(tmp_path_factory):
    """{case name: {mode: transcript}} for every case, run once per pytest run (xdist workers
    share the result through a file)."""
    names = list(cases.ALL) + [f"generated_{seed}" for seed in GENERATED_SEEDS]
    programs = [cases.ALL[n] for n in cases.ALL] + [
        generator.program(seed, GENERATED_TURNS) for seed in GENERATED_SEEDS
    ]
    results = support.shared_result(
        tmp_path_factory,
        "s12_cases",
        lambda folder: support.run_programs(folder, programs, tag="c"),
    )
    return dict(zip(names, results, strict=True))


def modes_of(name):
    return cases.ALL[name].get("modes", support.MODES) if name in cases.ALL else support.MODES


def differences(results, name):
    """What differs from plain Python, mode by mode, for the modes the case runs in."""
    diff = support.compare(results, modes_of(name))
    return "\n".join(f"{mode}: {got}\n  plain: {want}" for mode, (got, want) in diff.items())


def refusal_problems(results, name):
    """Why the case's transcripts are not a clear refusal at the expected turn ('' if they are)."""
    _, reason, turn = cases.ALL[name]["expect"]
    names = cases.ALL[name].get("names", ())
    plain = support.normalized(results["plain"])
    problems = []
    for mode in modes_of(name):
        got = results[mode]
        if support.normalized(got[:turn]) != plain[:turn]:
            problems.append(f"{mode}: turns before the refusal differ: {got} vs plain {plain}")
        elif len(got) <= turn or got[turn][0] != "refused":
            problems.append(f"{mode}: turn {turn} is not a refusal: {got}")
        elif reason is not None and got[turn][1] != reason:
            problems.append(f"{mode}: refused with reason {got[turn][1]!r}, not {reason!r}: {got}")
        else:
            missing = [n for n in names if n not in got[turn][2]]
            if missing:
                problems.append(f"{mode}: the refusal does not name {missing}: {got[turn][2]}")
    return "\n".join(problems)


# ---------------------------------------------------------------- strict xfails (what is wrong)

HIDDEN_IN_F_LOCALS = pytest.mark.xfail(
    strict=True,
    reason="silent (issue 10, 7): the frame's f_locals -- inspect.currentframe().f_locals, "
    "sys._getframe(1).f_locals of a caller, what pdb and error reporters show -- lists the "
    "engine's hidden slots ('__ag_s0', '__ag_e2', '__ag_v1') beside the user's locals, before "
    "the first pause too (a `for` loop's iterator is enough); only locals(), vars() and dir() "
    "leave them out. Plain Python: ['i', 'out', ...]",
)
KNOWN_WRONG = {
    "f_locals_in_loop_with_except": HIDDEN_IN_F_LOCALS,
    "caller_f_locals_after_resume": HIDDEN_IN_F_LOCALS,
    "f_locals_before_first_pause": HIDDEN_IN_F_LOCALS,
}


def params(names):
    return [pytest.param(n, marks=KNOWN_WRONG[n]) if n in KNOWN_WRONG else n for n in names]


PLAIN = [
    n for n, c in cases.ALL.items() if c["expect"] == "plain" and n not in cases.REFUSAL_MESSAGES
]
PLAIN_OR_REFUSED = [n for n, c in cases.ALL.items() if c["expect"] == "plain-or-refused"]
REFUSED = [
    n
    for n, c in cases.ALL.items()
    if isinstance(c["expect"], tuple) and n not in cases.REFUSAL_MESSAGES
]


# ---------------------------------------------------------------- issue 10, reproducers 1-7 and 10


@pytest.mark.parametrize("name", params(PLAIN))
def test_program_gives_plain_pythons_transcript(transcripts, name):
    """Issue 10 (1, 3-7, 10) and the README's promises: every mode shows what plain Python shows."""
    diff = differences(transcripts[name], name)
    assert not diff, f"{name} differs from plain Python:\n{diff}"


@pytest.mark.parametrize("name", params(REFUSED))
def test_pause_is_refused_clearly_where_it_happens(transcripts, name):
    """Issue 10 (2) and the README's 'What is refused': the pause itself is refused, clearly."""
    problems = refusal_problems(transcripts[name], name)
    assert not problems, f"{name}:\n{problems}"


@pytest.mark.parametrize("name", params(PLAIN_OR_REFUSED))
def test_deep_pause_resumes_or_is_refused_at_the_pause(transcripts, name):
    """Issue 10 (8): a recursion that could pause either resumes exactly or is refused then."""
    results = transcripts[name]
    first = {mode: results[mode][0] for mode in support.MODES}
    if all(event[0] == "refused" for event in first.values()):
        assert {event[1] for event in first.values()} == {"too deep"}, first
    else:
        diff = differences(results, name)
        assert not diff, f"{name} paused but did not resume as plain Python:\n{diff}"


@pytest.mark.parametrize(
    "name", ["lock_in_callee_caller_finally_pauses", "lock_in_with_block_whose_exit_pauses"]
)
def test_refusal_names_what_cannot_be_saved(transcripts, name):
    """The refusal a user gets names the local and the function at fault."""
    program, wanted = cases.REFUSAL_MESSAGES[name]
    for mode in support.MODES:
        first = transcripts[name][mode][0]
        assert first[0] == "refused", f"{mode}: {transcripts[name][mode]}"
        missing = [w for w in wanted if w not in first[2]]
        assert not missing, f"{mode}: the refusal does not name {missing}: {first[2]}"


# ---------------------------------------------------------------- issue 10 (9): a session belongs to its program

BOT_A = """
@autograms_function()
def chatbot():
    reply("A1")
    reply("A2")
"""
BOT_B = BOT_A.replace("A", "B")
KEY = "s12-engb-key-0123456789abcdef0123"


@pytest.mark.parametrize("key", [None, KEY])
def test_session_of_one_bot_is_refused_by_another(tmp_path, key):
    """Issue 10 (9): b.load(a's session), b.deserialize(a's text), b.reply(a's memory) refuse."""
    from autograms import Autogram, AutogramConfig, ConversationError, SessionCodeError

    config = {"autogram_config": AutogramConfig(session_key=key)} if key else {}
    a_mod = support.import_bot(tmp_path, f"s12_bot_a_{bool(key)}", BOT_A)
    b_mod = support.import_bot(tmp_path, f"s12_bot_b_{bool(key)}", BOT_B)
    a = Autogram(root_function=a_mod.chatbot, test_mode=True, **config)
    b = Autogram(root_function=b_mod.chatbot, test_mode=True, **config)
    _, memory = a.reply()
    path = str(tmp_path / "a.session")
    a.save(path, memory)
    with pytest.raises(SessionCodeError, match="chatbot") as loaded:
        b.load(path)
    with pytest.raises(SessionCodeError) as read:
        b.deserialize(a.serialize(memory))
    with pytest.raises(ConversationError) as continued:
        b.reply("x", memory_object=memory)
    for error in (loaded, read, continued):
        assert error.value.reason == "other program", error.value
    assert a.reply("x", memory_object=a.load(path))[0] == "A2"


# ---------------------------------------------------------------- issue 10, the three unclear refusals

BOT_C = """
@autograms_function()
def chatbot():
    a = reply("C1")
    b = reply("C2", ADDRESS="two")
    reply(a + b)
"""

SAVE_C = """
import sys
sys.path.insert(0, sys.argv[1])
import {module} as bot
from autograms import Autogram
a = Autogram(root_function=bot.chatbot, test_mode=True)
text, memory = a.reply()
if sys.argv[3] == "labelled":
    text, memory = a.reply("x", memory_object=memory)
with open(sys.argv[2], "w") as out:
    out.write(a.serialize(memory))
"""


@pytest.mark.parametrize("other", support.other_pythons() or [None])
def test_session_from_another_python_names_both_versions_and_the_remedy(tmp_path, other):
    """Unclear refusal 2: at an unlabelled pause the error names both Pythons and ADDRESS."""
    import subprocess

    from autograms import Autogram, SessionCodeError

    if other is None:
        pytest.skip("no venv of another supported Python in .venv/")
    module = "s12_bot_c"
    bot = support.import_bot(tmp_path, module, BOT_C)
    script = tmp_path / "save.py"
    script.write_text(SAVE_C.format(module=module))
    texts = {}
    for where in ("unlabelled", "labelled"):
        out = tmp_path / f"{where}.txt"
        done = subprocess.run(
            [other, str(script), str(tmp_path), str(out), where],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        texts[where] = out.read_text()
    autogram = Autogram(root_function=bot.chatbot, test_mode=True)
    with pytest.raises(SessionCodeError) as refused:
        memory = autogram.deserialize(texts["unlabelled"])
        autogram.reply("y", memory_object=memory)
    message = str(refused.value)
    theirs = subprocess.run(
        [other, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    mine = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert theirs in message and mine in message and "ADDRESS" in message, message
    assert "hash" not in message, message
    memory = autogram.deserialize(texts["labelled"])
    assert autogram.reply("y", memory_object=memory)[0] == "xy"


@pytest.mark.parametrize("key", [None, KEY])
@pytest.mark.parametrize("tail", ["\n", "\n\n", "\r\n", "  \n"])
def test_session_with_trailing_newlines_loads_signed_or_not(tmp_path, key, tail):
    """Unclear refusal 3: an editor's or `echo >>`'s trailing newline is ignored either way."""
    from autograms import Autogram, AutogramConfig

    config = {"autogram_config": AutogramConfig(session_key=key)} if key else {}
    bot = support.import_bot(
        tmp_path, f"s12_bot_tail_{bool(key)}_{len(tail)}_{tail[0] == ' '}", BOT_C
    )
    autogram = Autogram(root_function=bot.chatbot, test_mode=True, **config)
    _, memory = autogram.reply()
    path = tmp_path / "s.session"
    autogram.save(str(path), memory)
    with open(path, "a") as handle:
        handle.write(tail)
    assert autogram.reply("x", memory_object=autogram.load(str(path)))[0] == "C2"
    text = autogram.serialize(memory) + tail
    assert autogram.reply("x", memory_object=autogram.deserialize(text))[0] == "C2"


# ---------------------------------------------------------------- refused at decoration (README)

DECORATION = {
    "generator": ("def f():\n    yield reply('x')\n", "GENERATOR"),
    "coroutine": ("async def f():\n    return reply('x')\n", "GENERATOR"),
    "lambda": ("f = lambda: reply('x')\n", "LAMBDA"),
}


@pytest.mark.parametrize("kind", list(DECORATION))
def test_decorating_what_cannot_pause_is_refused_at_decoration(tmp_path, kind):
    """README: decorating a generator, coroutine or lambda is refused when it is decorated."""
    from autograms import ContinuationError

    source, reason = DECORATION[kind]
    source += "\nDECORATED = autograms_function()(f)\n"
    with pytest.raises(ContinuationError) as refused:
        support.import_bot(tmp_path, f"s12_deco_{kind}", source)
    assert refused.value.reason == ContinuationError.Reason[reason], refused.value


def test_decorating_a_nested_function_is_refused_when_defined(tmp_path):
    """README: a function defined inside another function cannot be decorated."""
    from autograms import ContinuationError

    bot = support.import_bot(
        tmp_path,
        "s12_deco_nested",
        "def outer():\n    @autograms_function()\n    def inner():\n        return reply('x')\n"
        "    return inner\n",
    )
    with pytest.raises(ContinuationError) as refused:
        bot.outer()
    assert refused.value.reason == ContinuationError.Reason.NESTED_FUNCTION
    assert "outer.<locals>.inner" in str(refused.value)


# ---------------------------------------------------------------- the README's "What is refused" says what is done


def test_readme_lists_the_refusal_of_a_decorated_new():
    """The README names `__new__` where it says which constructors are refused."""
    assert "__new__" in support.readme_section("What is refused")


def test_readme_says_when_a_goto_out_of_finally_is_refused(transcripts):
    """The README's sentence on jumps out of `finally` matches what the engine does."""
    for name in (
        "goto_out_of_finally_return_pending",
        "goto_out_of_finally_with_exception_pending",
    ):
        assert name in transcripts
    section = " ".join(support.readme_section("What is refused").split())
    assert "out of a `with`/`finally` block (its cleanup would be skipped)" not in section


# ---------------------------------------------------------------- generated programs


@pytest.mark.parametrize("seed", GENERATED_SEEDS)
def test_generated_program_gives_plain_pythons_transcript(transcripts, seed):
    """A random bot (engine_s12_generator.py) shows what the same program shows in plain Python."""
    name = f"generated_{seed}"
    diff = differences(transcripts[name], name)
    assert not diff, (
        f"seed {seed} differs from plain Python (engine_s12_generator.program({seed}, "
        f"{GENERATED_TURNS})):\n{diff}"
    )


SCRIPT_BOT = """
import sys
from autograms import Autogram, autograms_function
from autograms.functional import reply

@autograms_function()
def chatbot():
    answer = reply("{name}: {question}", ADDRESS="start")
    reply(f"{name} {action} {{answer}}")

if __name__ == "__main__":
    autogram = Autogram(root_function=chatbot, test_mode=True)
    if sys.argv[1] == "new":
        text, memory = autogram.reply()
    else:
        try:
            memory = autogram.load(sys.argv[2])
            text, memory = autogram.reply(sys.argv[3], memory_object=memory)
        except Exception as exc:
            print("REFUSED", type(exc).__name__, getattr(exc, "reason", None), exc)
            sys.exit(0)
    print("SAID", text)
    autogram.save(sys.argv[2], memory)
"""


def test_session_of_one_script_bot_is_refused_by_another_script_bot(tmp_path):
    """Issue 10 (9) for bots run as scripts: the session names its program, not '__main__'."""
    import subprocess

    bots = {
        "bot_a.py": SCRIPT_BOT.format(name="Bot A", question="your name?", action="greets"),
        "bot_b.py": SCRIPT_BOT.format(name="Bot B", question="card number?", action="charges"),
    }
    for file, text in bots.items():
        (tmp_path / file).write_text(text)
    session = str(tmp_path / "shared.session")

    def run(file, *args):
        done = subprocess.run(
            [sys.executable, file, *args], capture_output=True, text=True, cwd=tmp_path, timeout=120
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.strip()

    assert run("bot_a.py", "new", session) == "SAID Bot A: your name?"
    said = run("bot_b.py", "cont", session, "Ada")
    assert said.startswith("REFUSED SessionCodeError"), f"bot B answered bot A's session: {said}"


RETRY_BOT = """
import threading

@autograms_function()
def chatbot():
    log = []
    while True:
        choice = reply(f"menu {log}")
        log.append(choice)
        if choice == "list":
            log.append([reply(q) for q in ("a?", "b?")])
        elif choice == "lock":
            guard = threading.Lock()
            log.append(reply("locked"))
            del guard
        elif choice == "end":
            return log
"""


@pytest.mark.parametrize("refused_with", ["list", "lock"])
@pytest.mark.parametrize("mode", ["in_process", "serialized"])
def test_refused_turn_leaves_the_session_as_it_was(tmp_path, refused_with, mode):
    """README: a refused pause raises at that turn and the session stays at its last good state."""
    from autograms import Autogram, ContinuationError

    bot = support.import_bot(tmp_path, f"s12_retry_{refused_with}_{mode}", RETRY_BOT)
    autogram = Autogram(root_function=bot.chatbot, test_mode=True)
    text, memory = autogram.reply()
    text, memory = autogram.reply("x", memory_object=memory)
    assert text == "menu ['x']"
    if mode == "serialized":
        memory = autogram.deserialize(autogram.serialize(memory))
    for _ in range(2):
        with pytest.raises(ContinuationError):
            autogram.reply(refused_with, memory_object=memory)
    text, memory = autogram.reply("y", memory_object=memory)
    assert text == "menu ['x', 'y']", "the refused turns left something in the session"
    text, memory = autogram.reply(
        "end", memory_object=autogram.deserialize(autogram.serialize(memory))
    )
    assert text is None


def _damaged_in_program_name(text):
    """`text` with one base64 character of its header changed so only the program name differs."""
    import base64
    import json

    parts = text.split(".")
    header = parts[1]

    def decoded(chunk):
        return json.loads(base64.urlsafe_b64decode(chunk + "=" * (-len(chunk) % 4)))

    original = decoded(header)
    for index in range(len(header)):
        for char in "AQgw":
            if header[index] == char:
                continue
            changed = header[:index] + char + header[index + 1 :]
            try:
                fields = decoded(changed)
            except ValueError:
                continue
            rest = {k: v for k, v in fields.items() if k != "program"}
            if fields.get("program") != original["program"] and rest == {
                k: v for k, v in original.items() if k != "program"
            }:
                return ".".join([parts[0], changed, *parts[2:]])
    raise AssertionError("no one-character change touches the program name alone")


def test_damaged_header_is_reported_as_damaged(tmp_path):
    """Unclear refusal 2's header part: a damaged header says it is damaged."""
    from autograms import Autogram, SessionFormatError

    bot = support.import_bot(tmp_path, "s12_bot_damaged", BOT_C)
    autogram = Autogram(root_function=bot.chatbot, test_mode=True)
    _, memory = autogram.reply()
    damaged = _damaged_in_program_name(autogram.serialize(memory))
    with pytest.raises(SessionFormatError):
        autogram.deserialize(damaged)
