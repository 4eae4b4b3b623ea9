"""Routed globals: inside instrumented code, reads and writes of chosen global names go to
callbacks and never touch the module's own dictionary."""

from __future__ import annotations

import pytest

from autograms import _frames
from tests.engine.programs import routed


def setup_function() -> None:
    routed.STORE.clear()
    routed.counter = 100


def test_reads_and_writes_go_to_the_callbacks_not_the_module() -> None:
    routed.STORE.update(counter=1, helper=lambda x: x + 1000)
    outcome = _frames.run(routed.bump, (5,))
    assert outcome.payload == ("counted", 6, 1006)
    assert routed.counter == 100  # the module's value is untouched
    assert routed.STORE["counter"] == 1006
    finished = _frames.resume(outcome.snapshot, None)
    assert finished.value == 6
    assert "counter" not in routed.STORE and routed.counter == 100


def test_unset_routed_name_raises_name_error() -> None:
    with pytest.raises(NameError, match="'counter' is not defined"):
        _frames.run(routed.bump, (1,))
