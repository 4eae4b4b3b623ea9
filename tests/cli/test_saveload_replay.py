"""``autograms run --saveload_file FILE`` as AutoGRAMS' run_autogram.py: a restart sends the
last message again to the code as it is then; ``--session FILE`` continues exactly.

The conversations are generated: random messages, split at random into runs of the command
(each ended by ``exit`` or by the end of its input). The oracle is the bot's arithmetic: its
n-th answer to a message is ``"<version> <n>: <message>"``, whatever run gives it."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from autograms import Autogram, load_autogram

BOT = """
from autograms import autograms_function
from autograms.functional import reply

VERSION = {version!r}


@autograms_function()
def chatbot():
    count = 0
    message = reply(VERSION + " ready")
    while True:
        count += 1
        if message == "boom" and VERSION == "broken":
            raise ValueError("the edited code fails")
        message = reply(f"{{VERSION}} {{count}}: {{message}}", ADDRESS="answer")
"""

WORDS = ["apple", "pear", "fig", "plum", "kiwi", "lime"]


def _bot(folder: Path, version: str) -> Path:
    # a name of its own per folder: _saved_conversation imports it into this process
    path = folder / f"replay_bot_{hashlib.sha1(str(folder).encode()).hexdigest()[:10]}.py"
    path.write_text(BOT.format(version=version))
    return path


def _agent_lines(stdout: str) -> list[str]:
    return [part.split("\n")[0] for part in stdout.split("Agent: ")[1:]]


def _chat(autograms, bot: Path, flag: str, lines: list[str], *, end: str = "exit"):
    text = "".join(f"{line}\n" for line in lines) + (f"{end}\n" if end else "")
    done = autograms("run", str(bot), flag, str(bot.parent / "s.txt"), "--test-mode", input=text)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _saved_conversation(bot: Path) -> list[tuple[str, str]]:
    chatbot, _ = load_autogram(str(bot))
    memory = Autogram(root_function=chatbot, test_mode=True).load(str(bot.parent / "s.txt"))
    return [(t["role"], t["content"]) for t in memory.extract_full_conv_history() if t["content"]]


def test_a_restart_sends_the_last_message_again_to_the_edited_code(autograms, tmp_path):
    bot = _bot(tmp_path, "v1")
    first = _chat(autograms, bot, "--saveload_file", ["apple", "pear"])
    assert _agent_lines(first.stdout) == ["v1 ready", "v1 1: apple", "v1 2: pear"]
    _bot(tmp_path, "v2")
    second = _chat(autograms, bot, "--saveload_file", ["fig"])
    assert "your last message, 'pear', goes again" in second.stdout
    assert _agent_lines(second.stdout) == ["v2 2: pear", "v2 3: fig"]
    assert _saved_conversation(bot)[-4:] == [
        ("user", "pear"),
        ("assistant", "v2 2: pear"),
        ("user", "fig"),
        ("assistant", "v2 3: fig"),
    ]


def test_generated_runs_lose_and_repeat_no_message(autograms, tmp_path):
    for trial in range(3):
        rng = random.Random(trial)
        folder = tmp_path / f"t{trial}"
        folder.mkdir()
        bot = _bot(folder, "v1")
        messages = [rng.choice(WORDS) for _ in range(rng.randint(3, 7))]
        cuts = sorted(rng.sample(range(1, len(messages)), rng.randint(1, 2)))
        runs = [messages[a:b] for a, b in zip([0, *cuts], [*cuts, len(messages)], strict=True)]
        sent = 0
        for number, run in enumerate(runs):
            done = _chat(autograms, bot, "--saveload_file", run, end=rng.choice(["exit", ""]))
            expected = [f"v1 {sent + i + 1}: {m}" for i, m in enumerate(run)]
            if number == 0:
                expected.insert(0, "v1 ready")
            else:  # the previous run's last message, answered again from before it
                expected.insert(0, f"v1 {sent}: {messages[sent - 1]}")
            assert _agent_lines(done.stdout) == expected, (trial, runs)
            sent += len(run)
        answers = [f"v1 {i + 1}: {m}" for i, m in enumerate(messages)]
        assert _saved_conversation(bot) == [("assistant", "v1 ready")] + [
            pair
            for m, a in zip(messages, answers, strict=True)
            for pair in (("user", m), ("assistant", a))
        ], (trial, runs)


def test_session_continues_exactly_and_a_later_saveload_file_run_does_too(autograms, tmp_path):
    bot = _bot(tmp_path, "v1")
    _chat(autograms, bot, "--saveload_file", ["apple"])
    _bot(tmp_path, "v2")
    exact = _chat(autograms, bot, "--session", ["pear"])
    assert _agent_lines(exact.stdout) == ["v1 1: apple", "v2 2: pear"]  # shown, not sent again
    # the replay record belongs to the save before --session's: it is not used
    later = _chat(autograms, bot, "--saveload_file", ["fig"])
    assert _agent_lines(later.stdout) == ["v2 2: pear", "v2 3: fig"]
    assert "goes again" not in later.stdout


def test_a_replay_the_edited_code_fails_leaves_the_files_for_the_next_try(autograms, tmp_path):
    bot = _bot(tmp_path, "v1")
    _chat(autograms, bot, "--saveload_file", ["apple", "boom"])
    saved = {p.name: p.read_bytes() for p in tmp_path.glob("s.txt*")}
    assert set(saved) == {"s.txt", "s.txt.log", "s.txt.replay"}
    _bot(tmp_path, "broken")
    failed = _chat(autograms, bot, "--saveload_file", [])
    assert "the edited code fails" in failed.stdout + failed.stderr
    assert {p.name: p.read_bytes() for p in tmp_path.glob("s.txt*")} == saved
    _bot(tmp_path, "v3")
    fixed = _chat(autograms, bot, "--saveload_file", ["fig"])
    assert _agent_lines(fixed.stdout) == ["v3 2: boom", "v3 3: fig"]


def test_session_and_saveload_file_together_are_refused(autograms, tmp_path):
    bot = _bot(tmp_path, "v1")
    done = autograms(
        "run", str(bot), "--session", "a.txt", "--saveload_file", "b.txt", "--test-mode", input=""
    )
    assert done.returncode == 2
    assert "--session a.txt" in done.stderr and "--saveload_file b.txt" in done.stderr
