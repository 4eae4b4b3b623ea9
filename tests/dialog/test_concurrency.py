"""Many sessions at once: 1,000 sessions interleaved across 8 threads never see each other's
state, including user globals and persistent globals."""

from __future__ import annotations

import random
import threading

from autograms import Autogram
from tests.dialog.bots import globals_bot


def test_thousand_sessions_on_eight_threads_stay_apart() -> None:
    bot = Autogram(root_function=globals_bot.chatbot, test_mode=True)
    sessions = {number: bot.reply()[1] for number in range(1000)}
    locks = {number: threading.Lock() for number in sessions}
    expected = {number: [] for number in sessions}
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        chooser = random.Random(seed)
        try:
            for _ in range(400):
                number = chooser.randrange(1000)
                with locks[number]:
                    item = f"s{number}-{len(expected[number])}"
                    text, sessions[number] = bot.reply(item, memory_object=sessions[number])
                    expected[number].append(item)
                    assert f"basket {expected[number]}" in text, (number, text)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[0]
    for number, memory in sessions.items():
        state = memory.memory_dict
        assert (
            state["persistent_globals"]
            .get("tests.dialog.bots.globals_bot", {"values": {}})["values"]
            .get("basket", [])
            == expected[number]
        )
        assert state["user_globals"]["tests.dialog.bots.globals_bot"]["visits"] == 1
    assert globals_bot.basket == [] and globals_bot.total == 0  # the module's own values
