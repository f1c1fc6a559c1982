"""The lessons' one-step softmax example, through the command line's `main`."""

import re

from cli_helpers import call_pgtui


def test_worked_example_prints_the_lesson_numbers():
    result = call_pgtui("train", "--preset", "worked-example", "--updates", "1")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "theta before = (0.000, 0.000)" in out
    assert "sampled action: a1" in out and "G = 2" in out
    assert "grad log pi(a1) = (0.500, -0.500)" in out
    assert "theta after  = (0.100, -0.100)" in out
    assert re.search(r"pi\(a1\) after = 0\.550\b", out)
