"""Flags taking a number of seconds refuse what is not a usable one, in argparse's own way
(exit status 2, the flag named), before anything starts."""

from __future__ import annotations

import pytest

from autograms.cli.__main__ import main


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["run", "--timeout", "0"], "--timeout"),
        (["run", "--timeout", "inf"], "--timeout"),
        (["run", "--timeout", "soon"], "--timeout"),
        (["serve", "echo", "--timeout", "nan"], "--timeout"),
        (["serve", "echo", "--lease-seconds", "0"], "--lease-seconds"),
        (["serve", "echo", "--lease-seconds", "nan"], "--lease-seconds"),
        (["serve", "echo", "--drain-seconds", "-1"], "--drain-seconds"),
        (["serve", "echo", "--drain-seconds", "inf"], "--drain-seconds"),
    ],
)
def test_a_seconds_flag_that_is_not_finite_seconds_is_a_usage_error_naming_it(
    argv, flag, capsys
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert f"argument {flag}: expected a" in error and "finite number of seconds" in error
