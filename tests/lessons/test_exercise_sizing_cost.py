"""Lesson 2, exercise 5 (smol_inference/exercises/sizing_cost.py): the worked solution passes, and each
plausible wrong answer is rejected with a message that names its mistake. Offline, no model.
text_generation_inference/memory_and_speed.md, "KV cache and memory sizing" and "Cost per million tokens"."""

from __future__ import annotations

import pytest

from smol_inference.exercises import exercises
from smol_inference.exercises.sizing_cost import SOLUTION, givens


@pytest.fixture
def solved() -> dict:
    namespace = dict(givens())
    exec(SOLUTION, namespace)  # noqa: S102 - the worked solution, as the notebook runs it with COURSE_SOLUTIONS=1
    return namespace


def check(namespace: dict, language: str = "en") -> bool:
    return exercises("tgi_deployment", namespace, language=language)[4].check()


def test_the_worked_solution_is_correct(solved: dict) -> None:
    assert check(solved)
    assert solved["kv_bytes_per_token"] == 2 * 32 * 8 * 128 * 2  # Llama-3.1-8B, bfloat16
    assert solved["max_sequences"] == 57  # the figure text_generation_inference/memory_and_speed.md quotes


def test_nothing_written_is_not_done_yet() -> None:
    assert check(dict(givens())) is False


@pytest.mark.parametrize(("name", "wrong", "mistake"), [
    ("kv_bytes_per_token", lambda kv: kv / 2, "keys or values only"),
    ("kv_bytes_per_token", lambda kv: kv * 4, "grouped-query attention"),
    ("kv_bytes_per_token", lambda kv: kv * 8, "that is bits"),
    ("kv_bytes_per_token", lambda kv: kv / 32, "that is one layer"),
    ("max_sequences", lambda n: n * 1.28, "weights were not subtracted"),
    ("max_sequences", lambda n: n * 1024 * 8, "that is tokens"),
    ("usd_per_million_tokens", lambda usd: usd * 3600, "the price is per hour"),
    ("usd_per_million_tokens", lambda usd: usd / 1e6, "the price of one token"),
    ("max_sequences", lambda n: n + 3, "is not what"),
])
def test_a_plausible_wrong_answer_names_its_mistake(solved: dict, name: str, wrong, mistake: str) -> None:
    solved[name] = wrong(solved[name])
    with pytest.raises(AssertionError, match=mistake):
        check(solved)


def test_the_inverted_price_and_the_whole_gpu_are_named(solved: dict) -> None:
    inverted = dict(solved, usd_per_million_tokens=1 / solved["usd_per_million_tokens"])
    with pytest.raises(AssertionError, match="upside down"):
        check(inverted)
    whole = dict(solved)
    whole["max_sequences"] = int((whole["EX5_GPU_BYTES"] - whole["EX5_PARAMETERS"] * 2)
                                 // (whole["kv_bytes_per_token"] * whole["EX5_CONTEXT"]))
    with pytest.raises(AssertionError, match="uses the whole GPU"):
        check(whole)


def test_messages_speak_chinese_in_the_chinese_notebook(solved: dict) -> None:
    solved["kv_bytes_per_token"] /= 2
    with pytest.raises(AssertionError, match="只算了键或值"):
        check(solved, "zh")


@pytest.mark.parametrize("bad", ["131072", -1, True, None])
def test_a_value_that_is_no_positive_number_is_refused(solved: dict, bad) -> None:
    solved["kv_bytes_per_token"] = bad
    with pytest.raises(AssertionError, match="positive number"):
        check(solved)
