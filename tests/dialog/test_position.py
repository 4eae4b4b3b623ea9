"""Where the program is: a frame's line as the log names it is ``f_lineno``, however long the
function and wherever in it the frame stands."""

from __future__ import annotations

import random
import sys

from autograms._position import line_of

STATEMENTS = [
    "probe()",
    "x = [probe() for _ in range(2)]",
    "y = (\n        probe(),\n        1,\n    )",
    "if probe() is None:\n        probe()",
    "for _ in range(2):\n        probe()",
    "try:\n        probe()\n        raise ValueError\n    except ValueError:\n        probe()",
    "z = 1 + (\n        2\n    )",
    "with open(__file__) as handle:\n        probe()",
]


def generated_function(rng: random.Random, statements: int):
    body = [f"    {rng.choice(STATEMENTS)}" for _ in range(statements)]
    source = "def subject(probe):\n" + "\n".join(body) + "\n    return probe()\n"
    namespace: dict = {"__file__": __file__}
    exec(compile(source, f"<generated {statements}>", "exec"), namespace)
    return namespace["subject"]


def test_a_frames_line_is_f_lineno_at_every_call_in_short_and_long_functions() -> None:
    rng = random.Random(3)
    seen: list[tuple[int | None, int | None]] = []

    def probe() -> None:
        frame = sys._getframe(1)
        seen.append((line_of(frame), frame.f_lineno))

    for statements in (1, 5, 40, 400):
        seen.clear()
        subject = generated_function(rng, statements)
        for _ in range(2):  # the second time from what was remembered
            subject(probe)
        assert seen and all(line == expected for line, expected in seen)


def test_a_suspended_generators_line_is_f_lineno() -> None:
    def numbers():
        yield 1
        for index in range(3):
            yield index * (2)
        yield 5

    generator = numbers()
    for _ in generator:
        frame = generator.gi_frame
        assert line_of(frame) == frame.f_lineno


def test_the_log_names_the_line_of_each_reply_of_a_long_function_across_resumes(
    tmp_path, monkeypatch
) -> None:
    from autograms import Autogram

    filler = [f"    step{i} = {i}" for i in range(300)]
    replies = [f'    reply("at step {i}")' for i in range(12)]
    body = [line for pair in zip(filler[::25], replies, strict=False) for line in pair]
    lines = [
        "from autograms import autograms_function",
        "from autograms.functional import reply",
        "",
        "",
        "@autograms_function()",
        "def long_bot():",
        *filler[:150],
        *body,
        *filler[150:],
        '    reply("done")',
    ]
    (tmp_path / "position_long_bot.py").write_text("\n".join(lines) + "\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import position_long_bot

    expected = {
        line.strip()[7:-2]: number
        for number, line in enumerate(lines, 1)
        if line.strip().startswith("reply(")
    }
    bot = Autogram(position_long_bot.long_bot, test_mode=True)
    _, memory = bot.reply()
    for turn in range(len(expected) - 1):
        memory = bot.deserialize(bot.serialize(memory))
        _, memory = bot.reply(f"turn {turn}", memory_object=memory)
    replies_logged = [
        (entry["reply"], entry["line_number"])
        for entry in memory.memory_dict["model_turns"]
        if entry.get("entry_type") == "agent_reply"
    ]
    assert replies_logged == list(expected.items())
