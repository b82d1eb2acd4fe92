"""Lesson-1 helpers (smol_inference.pipeline, .presets) on the bundled model, offline."""

from __future__ import annotations

import pytest

from smol_inference import PRESETS, TINY_MODEL, chat, generate_static_batch, load_generator, stream_chat
from smol_inference.pipeline import check_prompt, pick_device, pick_dtype
from smol_inference.presets import GenerationParams, make_params

QUESTIONS = ["What is 7 plus 5?", "What is the capital of France?", "What colour is the sky?", "Who are you?",
             "What is 3 plus 4?"]


@pytest.fixture(scope="module")
def generator():
    return load_generator(TINY_MODEL, device="cpu", quiet=True)


# --- presets and parameters -------------------------------------------------------------------

def test_presets_are_named_with_reasons():
    assert set(PRESETS) == {"greedy", "balanced", "creative", "precise"}
    for name, preset in PRESETS.items():
        assert preset.name == name and len(preset.reason) > 20
    assert not PRESETS["greedy"].params.sampling
    assert all(PRESETS[n].params.sampling for n in ("balanced", "creative", "precise"))
    assert PRESETS["precise"].params.temperature < PRESETS["balanced"].params.temperature \
        < PRESETS["creative"].params.temperature


@pytest.mark.parametrize("bad, match", [
    ({"temperature": 0}, "temperature"),
    ({"temperature": -1.0, "do_sample": True}, "temperature"),
    ({"temperature": float("nan")}, "temperature"),
    ({"top_p": 0}, "top_p"),
    ({"top_p": 1.01}, "top_p"),
    ({"top_k": 0}, "top_k"),
    ({"top_k": 2.5}, "top_k"),
    ({"repetition_penalty": 0}, "repetition_penalty"),
    ({"max_new_tokens": 0}, "max_new_tokens"),
    ({"max_new_tokens": True}, "max_new_tokens"),
    ({"seed": -1}, "seed"),
    ({"stop": [""]}, "stop"),
    ({"stop": ["a", "b", "c", "d", "e"]}, "at most 4"),
    ({"do_sample": "yes"}, "do_sample"),
    ({"temprature": 0.5}, "unknown generation parameter"),
])
def test_invalid_parameters_raise_clear_value_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        make_params(**bad)


def test_unknown_preset_lists_known_ones():
    with pytest.raises(ValueError, match="greedy"):
        make_params("wild")


def test_sampling_is_on_when_a_sampling_knob_is_set():
    assert not GenerationParams().sampling
    assert GenerationParams(temperature=0.5).sampling and GenerationParams(top_p=0.9).sampling
    assert GenerationParams(top_k=5).sampling
    # TGI's rule: only values that change the distribution turn sampling on
    assert not GenerationParams(temperature=1.0).sampling and not GenerationParams(top_p=1.0).sampling
    greedy = GenerationParams(temperature=0.5, do_sample=False)
    assert not greedy.sampling and greedy.generate_kwargs()["temperature"] is None


def test_overrides_apply_on_top_of_a_preset():
    params = make_params("balanced", seed=3, max_new_tokens=10, stop="\n")
    assert (params.seed, params.max_new_tokens, params.stop) == (3, 10, ("\n",))
    assert params.temperature == PRESETS["balanced"].params.temperature


def test_device_and_dtype_choice():
    assert pick_device("cpu") == "cpu"
    assert pick_device() in {"cpu", "cuda", "mps"}
    import torch

    assert pick_dtype("cpu") == torch.float32
    assert pick_dtype("cpu", "bfloat16") == torch.bfloat16
    assert pick_dtype("cuda", torch.float16) == torch.float16
    with pytest.raises(ValueError, match="unknown dtype"):
        pick_dtype("cpu", "float13")


# --- generation -------------------------------------------------------------------------------

def test_generator_is_ready_for_batching(generator):
    assert generator.tokenizer.padding_side == "left"
    assert generator.tokenizer.pad_token is not None
    assert generator.model.device.type == "cpu"


def test_greedy_chat_answers_and_measures(generator):
    result = chat(generator, "What is the capital of France?")
    assert "Paris" in result.text
    assert result.finish_reason == "eos_token"
    assert 0 < result.generated_tokens <= 64 and result.prompt_tokens > 0
    assert 0 < result.time_to_first_token_s <= result.total_s
    assert result.tokens_per_s > 0
    again = chat(generator, [{"role": "user", "content": "What is the capital of France?"}])
    assert again.text == result.text  # greedy: deterministic, and a string is one user message


def test_max_new_tokens_and_stop_strings(generator):
    short = chat(generator, "Who are you?", max_new_tokens=3)
    assert short.generated_tokens == 3 and short.finish_reason == "length"
    full = chat(generator, "Who are you?").text
    word = full.split()[2]
    stopped = chat(generator, "Who are you?", stop=[word])
    assert stopped.finish_reason == "stop_sequence"
    assert stopped.text == full[:full.index(word)].strip()  # OpenAI's rule: cut before the stop string


def test_seed_reproduces_sampling(generator):
    first = chat(generator, "Tell me something.", preset="creative", seed=7, max_new_tokens=16)
    second = chat(generator, "Tell me something.", preset="creative", seed=7, max_new_tokens=16)
    assert first.text == second.text and first.seed == 7
    texts = {chat(generator, "Tell me something.", preset="creative", seed=s, max_new_tokens=16).text
             for s in range(6)}
    assert len(texts) > 1  # different seeds, different draws


def test_stream_chat_yields_the_same_text_as_chat(generator):
    stream = stream_chat(generator, "Who are you?")
    chunks = list(stream)
    assert len(chunks) > 1
    assert "".join(chunks).strip() == chat(generator, "Who are you?").text
    assert stream.result is not None and stream.result.generated_tokens > 1


def test_closing_a_stream_stops_generation(generator):
    stream = stream_chat(generator, "Who are you?", max_new_tokens=200)
    next(iter(stream))
    stream.close()
    assert stream.join(timeout=30)
    assert stream.result.finish_reason in {"cancelled", "eos_token"}
    assert stream.result.generated_tokens < 200


def test_cancel_flag_stops_generation_after_one_token(generator):
    import threading

    from smol_inference import stages

    params = make_params(max_new_tokens=50)
    inputs = stages.encode(generator, ["Who are you?"], params)
    cancel = threading.Event()
    cancel.set()
    output = stages.forward(generator, inputs, params, stages.Clock(), cancel)
    (result,) = stages.decode(generator, inputs, output, params, 0.0, 1.0, cancelled=True)
    assert result.generated_tokens == 1 and result.finish_reason == "cancelled"


def test_batch_matches_one_at_a_time_in_prompt_order(generator):
    singles = [chat(generator, q).text for q in QUESTIONS]
    batch = generate_static_batch(generator, QUESTIONS, batch_size=3)
    assert batch.texts == singles
    assert batch.generated_tokens == sum(r.generated_tokens for r in batch.results) > 0
    assert batch.tokens_per_s > 0 and batch.time_to_first_token_s > 0
    unsorted = generate_static_batch(generator, QUESTIONS, batch_size=2, sort_by_length=False)
    assert unsorted.texts == singles


def test_generate_batch_is_a_deprecated_alias_that_says_so(generator):
    """The old name still answers, the same as the new one, and its warning says why it was renamed."""
    import smol_inference

    with pytest.warns(DeprecationWarning, match="generate_static_batch") as caught:
        old = smol_inference.generate_batch(generator, QUESTIONS[:2], batch_size=2)
    assert "continuous batching" in str(caught[0].message) and "static batching" in str(caught[0].message)
    assert old.texts == generate_static_batch(generator, QUESTIONS[:2], batch_size=2).texts


@pytest.mark.parametrize("bad", [0, -1, 2.0])
def test_batch_size_must_be_positive_int(generator, bad):
    with pytest.raises(ValueError, match="batch_size"):
        generate_static_batch(generator, QUESTIONS, batch_size=bad)


def test_bad_prompts_are_value_errors(generator):
    with pytest.raises(ValueError, match="empty"):
        chat(generator, "   ")
    with pytest.raises(ValueError, match="role"):
        chat(generator, [{"text": "hi"}])
    with pytest.raises(ValueError, match="context length"):
        check_prompt(generator, "word " * 600, make_params())


# --- the generation contracts: stop rule, prefill, seeds per row, length first ---------------

SUM = "What is 7 plus 5?"  # the bundled model answers "7 plus 5 is 12."


@pytest.mark.parametrize("stop, text", [(["plu"], "7"), (["is"], "7 plus 5"), (["12.", "5"], "7 plus")])
def test_stop_strings_follow_openais_rule(generator, stop, text):
    # A stop string anywhere in the new text ends the reply, even inside a token (" plus"), and is cut off.
    result = chat(generator, SUM, stop=stop)
    assert (result.text, result.finish_reason) == (text, "stop_sequence")
    stream = stream_chat(generator, SUM, stop=stop)
    shown = "".join(stream)
    assert shown.strip() == text and not any(s in shown for s in stop)
    assert generate_static_batch(generator, [SUM, "Who are you?"], stop=stop).texts[0] == text


def test_a_final_assistant_message_is_continued(generator):
    prefill = [{"role": "user", "content": "What is the capital of France?"},
               {"role": "assistant", "content": "The capital of France is"}]
    assert chat(generator, prefill).text == "Paris."  # continued, not a new turn ("A tomato.")
    assert "".join(stream_chat(generator, prefill)).strip() == "Paris."


def test_batch_rows_sample_with_their_own_seed(generator):
    prompts = ["Tell me something.", "Who are you?", "What colour is the sky?"]
    batch = generate_static_batch(generator, prompts, temperature=1.2, seed=42, max_new_tokens=30)
    for prompt, text in zip(prompts, batch.texts):
        assert text == chat(generator, prompt, temperature=1.2, seed=42, max_new_tokens=30).text
    assert all(r.seed == 42 for r in batch.results)


def test_length_is_checked_before_eos(generator):
    full = chat(generator, SUM)
    assert full.finish_reason == "eos_token"
    exact = chat(generator, SUM, max_new_tokens=full.generated_tokens)  # the eos is the last allowed token
    assert (exact.text, exact.finish_reason) == (full.text, "length")


def test_temperature_one_alone_stays_greedy(generator):
    assert chat(generator, "Tell me something.", temperature=1.0).text == chat(generator, "Tell me something.").text


def test_conversations_are_checked_like_openais(generator):
    for bad, match in (([{"role": "robot", "content": "hi"}], "role must be one of"),
                       ([{"role": "user", "content": None}], "content must be a string"),
                       ([{"role": "user", "content": "hi", "extra": 1}], "exactly the keys")):
        with pytest.raises(ValueError, match=match):
            chat(generator, bad)
