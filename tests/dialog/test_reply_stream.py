"""A turn's reply streamed while the model writes it: the tidying filters (generated answers
split at random), and turns run by the turn runner with a stream attached."""

from __future__ import annotations

import random

import pytest

from autograms import Autogram, AutogramConfig, autograms_function
from autograms._generation import tidy_reply
from autograms._reply_stream import SuffixedText, TidiedText
from autograms.functional import reply, reply_instruction, reply_suffix, thought
from autograms.models import ScriptedModel
from autograms.stores import Sessions, TurnRunner, open_store

AGENT = "Daisy"
SUFFIX = "What did you study, and where?"


class Recorder:
    """A ReplyStream that keeps what it was given."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.restarts = 0
        #: empty pieces: the model saying it has begun answering, before its text
        self.begun = 0

    def restart(self) -> None:
        self.restarts += 1
        self.pieces.clear()

    def write(self, text: str) -> None:
        if not text:
            assert not self.pieces, "an empty piece was written after text"
            self.begun += 1
            return
        self.pieces.append(text)

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def random_answer(rng: random.Random) -> str:
    """A model answer as models write them: stray whitespace, sometimes a speaker label,
    sometimes an echo of the suffix, quotes and markdown at the end."""
    parts = [rng.choice(["", " ", "\n ", "  \t"])]
    if rng.random() < 0.4:
        name = rng.choice([AGENT, AGENT.lower(), AGENT.upper(), "Dai", "Daisy is"])
        parts.append(name + rng.choice([":", " :", ": ", ":\n", "", " "]))
    words = ["Great", "thanks,", "that", "sounds", "good.", "Daisy", "ok", "**", '"', ":"]
    parts += [rng.choice(words) + rng.choice([" ", "", "\n"]) for _ in range(rng.randrange(15))]
    if rng.random() < 0.3:
        parts.append(rng.choice([SUFFIX, SUFFIX.lower(), SUFFIX[:20], f'"{SUFFIX}"']))
    parts.append(rng.choice(["", " ", "\n\n", '*"']))
    return "".join(parts)


def random_pieces(rng: random.Random, text: str) -> list[str]:
    count = min(len(text) - 1, rng.randrange(8)) if text else 0
    cuts = sorted(rng.sample(range(1, len(text)), count)) if count > 0 else []
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


@pytest.mark.parametrize("batch", range(4))
def test_tidied_pieces_are_a_prefix_of_the_tidied_answer(batch):
    for seed in range(batch * 250, batch * 250 + 250):
        rng = random.Random(seed)
        answer = random_answer(rng)
        stream = Recorder()
        tidied = TidiedText(stream, AGENT)
        final = tidy_reply(answer, AGENT)
        for piece in random_pieces(rng, answer):
            tidied(piece)
            assert final.startswith(stream.text), (seed, answer, stream.pieces)
        if len(final) > len(AGENT) + 1 and not final.lower().startswith(AGENT.lower()):
            assert stream.text == final, seed  # only a possible label is ever held back


def test_a_suffixed_reply_passes_on_only_that_the_model_began():
    """reply_suffix's reply is cut where the answer writes the suffix, known only at its
    end: none of the answer's text is streamed, whatever its pieces."""
    for seed in range(200):
        rng = random.Random(seed)
        stream = Recorder()
        suffixed = SuffixedText(stream)
        suffixed.restart()
        tidied = TidiedText(suffixed, AGENT)
        tidied("")
        for piece in random_pieces(rng, random_answer(rng)):
            tidied(piece)
        assert (stream.pieces, stream.restarts) == ([], 1) and stream.begun >= 1, seed


# -- turns with a stream attached ----------------------------------------------------------

LONG_ANSWER = "Nice to meet you, I am glad you are here today."


@autograms_function()
def streaming_bot():
    reply("Hello! Ready?")
    while True:
        thought("What does the user want?")
        reply_instruction("Answer the user.")
        reply_suffix(SUFFIX)


def scripted(request):
    if request.kind != "chat":
        return None
    if f"**{SUFFIX}**" in str(request.messages[-1]):  # reply_suffix's prompt
        return f"{LONG_ANSWER} **{SUFFIX}** Tell me all about it."
    return LONG_ANSWER


def runner_for(tmp_path, **config):
    tmp_path.mkdir(exist_ok=True)
    autogram = Autogram(
        streaming_bot,
        AutogramConfig(agent_name=AGENT, **config),
        model=ScriptedModel(scripted),
    )
    store = open_store(f"sqlite:///{tmp_path / 'sessions.db'}")
    session = Sessions(autogram, store).create()
    return TurnRunner(autogram, store), session.id


def test_a_fixed_reply_streams_nothing_and_arrives_with_the_result(tmp_path):
    runner, session_id = runner_for(tmp_path)
    stream = Recorder()
    result = runner.run_turn(session_id, "hi", "k1", reply_stream=stream)
    assert result.reply == "Hello! Ready?" and stream.pieces == [] and stream.restarts == 0


def test_reply_instruction_streams_the_reply_in_pieces_the_thought_not_at_all(tmp_path):
    runner, session_id = runner_for(tmp_path)
    runner.run_turn(session_id, "hi", "k1")
    stream = Recorder()
    result = runner.run_turn(session_id, "yes", "k2", reply_stream=stream)
    assert result.reply == LONG_ANSWER
    assert stream.text == LONG_ANSWER and len(stream.pieces) > 3
    assert stream.restarts == 1  # only the reply's model call streamed, not the thought
    assert result.usage.calls == 2


def test_reply_suffix_streams_nothing_and_its_reply_comes_with_the_result(tmp_path):
    runner, session_id = runner_for(tmp_path)
    for number, text in enumerate(["hi", "yes"]):
        runner.run_turn(session_id, text, f"k{number}")
    stream = Recorder()
    result = runner.run_turn(session_id, "and now?", "k9", reply_stream=stream)
    assert result.reply == f"{LONG_ANSWER} {SUFFIX}"  # cut where the model wrote the suffix
    assert stream.pieces == [] and stream.restarts == 1, (stream.pieces, stream.restarts)


def test_a_replayed_turn_streams_nothing(tmp_path):
    runner, session_id = runner_for(tmp_path)
    runner.run_turn(session_id, "hi", "k1")
    first = runner.run_turn(session_id, "yes", "k2")
    stream = Recorder()
    again = runner.run_turn(session_id, "yes", "k2", reply_stream=stream)
    assert again.replayed and again.reply == first.reply and stream.pieces == []
    assert again.usage.calls == 0


def test_banned_phrases_turn_streaming_off(tmp_path):
    runner, session_id = runner_for(tmp_path, banned_phrases=["as an ai"])
    runner.run_turn(session_id, "hi", "k1")
    stream = Recorder()
    result = runner.run_turn(session_id, "yes", "k2", reply_stream=stream)
    assert result.reply == LONG_ANSWER and stream.pieces == []


def test_a_turn_without_a_stream_gives_the_same_replies(tmp_path):
    streamed, plain = runner_for(tmp_path / "a"), runner_for(tmp_path / "b")
    for number, text in enumerate(["hi", "yes", "more", "again"]):
        one = streamed[0].run_turn(streamed[1], text, f"k{number}", reply_stream=Recorder())
        two = plain[0].run_turn(plain[1], text, f"k{number}")
        assert one.reply == two.reply
