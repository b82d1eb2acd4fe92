"""Engine v2: paged KV cache, chunked prefill and prefix caching give the same greedy tokens as
running without them (and as transformers' own generate); every block comes back to the pool."""

from __future__ import annotations

import copy

import pytest

from engine_helpers import make_engine, prompt_ids, reference_greedy, run_ids, settle, tiny_from_config
from smol_inference.server.engine import SamplingParams
from smol_inference.server.engine.model_runner import UnsupportedModel

QUESTIONS = ["What is the capital of France?", "Hi", "What is 7 plus 5? Answer in one short sentence please.",
             "What is the capital of Japan?", "Name a colour."]
#: Engine settings whose greedy output must be byte-identical (CPU, float32).
VARIANTS = {
    "default": {},
    "no-prefix-cache": {"disable_prefix_caching": True},
    "no-chunking": {"disable_chunked_prefill": True},
    "tiny-chunks": {"max_batch_prefill_tokens": 7, "kv_block_size": 4},
    "neither": {"disable_prefix_caching": True, "disable_chunked_prefill": True, "kv_block_size": 8},
    "torch-gemm": {"disable_packed_weights": True},
}


def outputs(model, tokenizer, context, prompts, max_new=16, **flags):
    """Greedy tokens per prompt: all at once, then again one by one (so the second pass hits the cache)."""
    engine = make_engine(model, tokenizer, context, **flags)
    try:
        together = run_ids(engine, prompts, max_new)
        one_by_one = run_ids(engine, prompts, max_new, sequential=True)
        settle(engine)
        assert engine.pool.num_used == 0, "blocks leaked after every request finished"
        hits = engine.pool.hits
    finally:
        engine.stop(5)
    assert not together.errors and not one_by_one.errors
    assert together.tokens == one_by_one.tokens
    return together.tokens, hits


def test_greedy_identical_with_and_without_caching_and_chunking(tiny_model):
    model, tokenizer, context = tiny_model
    prompts = [prompt_ids(tokenizer, q) for q in QUESTIONS]
    results = {name: outputs(model, tokenizer, context, prompts, **flags) for name, flags in VARIANTS.items()}
    reference = results["default"][0]
    for name, (tokens, _) in results.items():
        assert tokens == reference, name
    assert results["default"][1] > 0 and results["no-prefix-cache"][1] == 0   # the second pass hit the cache
    assert "Paris" in tokenizer.decode(reference[0])


@pytest.fixture(scope="module")
def smollm2_arch():
    """SmolLM2-135M's architecture (its config, 4 layers instead of 30), random weights, float32."""
    from smol_inference import settings
    from smol_inference.models import architecture_config
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    import torch

    config = architecture_config("smollm2-135m")
    config.update(num_hidden_layers=4)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(AutoConfig.for_model(config.pop("model_type"), **config),
                                             dtype=torch.float32).eval()
    return model, AutoTokenizer.from_pretrained(settings.TINY_MODEL)


def test_smollm2_architecture_matches_transformers_generate(smollm2_arch):
    model, tokenizer = smollm2_arch
    reference_model = copy.deepcopy(model)
    shared = prompt_ids(tokenizer, "Tell me about the sea. " * 6)
    prompts = [shared, shared[:-3] + prompt_ids(tokenizer, "Name a colour."), prompt_ids(tokenizer, "Hi")]
    expected = [reference_greedy(reference_model, ids, 8) for ids in prompts]
    for flags in ({}, {"max_batch_prefill_tokens": 16},
                  {"disable_prefix_caching": True, "disable_chunked_prefill": True}):
        tokens, _ = outputs(model, tokenizer, 2048, prompts, max_new=8, max_total_tokens=512, **flags)
        assert [tokens[i] for i in range(len(prompts))] == expected, flags


@pytest.mark.parametrize("model_type,overrides", [
    ("mistral", {"sliding_window": 8}),
    ("gemma2", {"sliding_window": 8, "head_dim": 16, "query_pre_attn_scalar": 16}),
    ("gpt2", {}),
], ids=["mistral-sliding-window", "gemma2-sliding-softcap", "gpt2-learned-positions"])
def test_other_architectures_match_transformers(tiny_model, model_type, overrides):
    """Sliding windows (per layer for Gemma 2, with its logit softcap) and learned positions are served."""
    _, tokenizer, _ = tiny_model
    model = tiny_from_config(model_type, **overrides)
    reference_model = copy.deepcopy(model)
    if model_type == "gemma2":
        reference_model.set_attn_implementation("eager")
    prompts = [prompt_ids(tokenizer, "What is the capital of France? Tell me now."), prompt_ids(tokenizer, "Hi")]
    expected = [reference_greedy(reference_model, ids, 12) for ids in prompts]
    for flags in ({"max_batch_prefill_tokens": 5, "kv_block_size": 4}, {"disable_chunked_prefill": True}):
        tokens, _ = outputs(model, tokenizer, 256, prompts, max_new=12, **flags)
        assert [tokens[0], tokens[1]] == expected, flags


def test_preemption_when_blocks_run_out(tiny_model):
    """A pool smaller than the batch needs: sequences are preempted, recomputed, and still match."""
    model, tokenizer, context = tiny_model
    prompts = [prompt_ids(tokenizer, q) for q in QUESTIONS]
    expected, _ = outputs(model, tokenizer, context, prompts, max_new=24)
    engine = make_engine(model, tokenizer, context, max_total_tokens=64, max_batch_total_tokens=96,
                         kv_block_size=4, max_batch_prefill_tokens=64)
    try:
        got = run_ids(engine, prompts, 24)
        settle(engine)
        assert engine.pool.num_used == 0 and engine.scheduler.preempted > 0
    finally:
        engine.stop(5)
    assert not got.errors and got.tokens == expected


def test_seeded_sampling_is_batch_invariant(tiny_model):
    model, tokenizer, context = tiny_model
    sampling = SamplingParams(do_sample=True, temperature=1.3, seed=42)
    prompts = [prompt_ids(tokenizer, q) for q in QUESTIONS[:3]]
    engine = make_engine(model, tokenizer, context, max_batch_prefill_tokens=8)
    try:
        alone = [run_ids(engine, [ids], sampling=sampling).tokens[0] for ids in prompts]
        together = run_ids(engine, prompts, sampling=sampling).tokens
    finally:
        engine.stop(5)
    assert [together[i] for i in range(3)] == alone


class NotPaged:
    """A 'model' whose forward never calls transformers' attention interface (e.g. a state-space model)."""

    def __init__(self, model) -> None:
        self._model = model

    def __getattr__(self, name):
        return getattr(self._model, name)

    def __call__(self, **kwargs):
        import torch

        return type("Out", (), {"logits": torch.zeros(1, 1, 8)})()


def test_model_that_cannot_be_paged_is_refused(tiny_model):
    model, tokenizer, context = tiny_model
    with pytest.raises(UnsupportedModel, match="cannot page"):
        make_engine(NotPaged(model), tokenizer, context)


def test_a_paged_model_still_generates_outside_the_engine() -> None:
    """The server and the lesson-1 helpers can share one model object in a process (the real-model tests
    do): once the engine has switched it to paged attention, a plain `generate` must still match SDPA."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from smol_inference import TINY_MODEL
    from smol_inference.server.engine.attention import ATTENTION_NAME

    tokenizer = AutoTokenizer.from_pretrained(TINY_MODEL, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(TINY_MODEL)
    prompts = [tokenizer.apply_chat_template([{"role": "user", "content": q}], tokenize=False,
                                             add_generation_prompt=True)
               for q in ("What is 7 plus 5?", "What is 10 plus 12?")]
    batch = tokenizer(prompts, return_tensors="pt", padding=True)
    expected = model.generate(**batch, max_new_tokens=8, do_sample=False)
    model.set_attn_implementation(ATTENTION_NAME)
    assert torch.equal(model.generate(**batch, max_new_tokens=8, do_sample=False), expected)


def test_prompt_chunks_are_grouped_so_one_long_chunk_never_pads_the_short_ones():
    import torch
    from smol_inference.server.engine.config import CHUNK_PADDING_WASTE
    from smol_inference.server.engine.attention import group_chunks

    # (packed row, length, start position, block table): one 100-token chunk and three short ones
    chunks = [(0, 100, 0, [1] * 25), (100, 4, 0, [2]), (104, 4, 8, [3, 4, 5]), (108, 3, 0, [6])]
    groups = group_chunks(chunks, CHUNK_PADDING_WASTE, 99, torch.device("cpu"))
    assert tuple(groups[0].rows.shape) == (1, 100)                     # the long chunk is alone
    assert sorted(row for g in groups for row in g.targets.tolist()) == list(range(111))   # each row once
    work = {row: length * len(table) for row, length, _, table in chunks}
    for g in groups:
        real = sum(work[row] for row in g.rows[:, 0].tolist())
        assert g.rows.numel() * g.blocks.shape[1] <= CHUNK_PADDING_WASTE * real or len(g.rows) == 1
    short = next(g for g in groups if 104 in g.rows[:, 0].tolist())
    assert short.starts[short.rows[:, 0] == 104].item() == 8                # positions start where the chunk does


def test_padding_never_reads_another_sequences_blocks(tiny_model):
    """Block tables are padded to one width per step; the padding must point at the engine's own pad
    block, never at a block a request owns: poison block 0 (held by a request that never runs) with NaN,
    and two prompts of different lengths still decode exactly as they do alone."""
    from smol_inference.server.engine import Sequence, StoppingParams

    model, tokenizer, context = tiny_model
    prompts = [prompt_ids(tokenizer, "What is the capital of France? Tell me in one sentence."),
               prompt_ids(tokenizer, "Hi")]
    expected, _ = outputs(model, tokenizer, context, prompts, max_new=8, kv_block_size=4)
    engine = make_engine(model, tokenizer, context, kv_block_size=4, disable_prefix_caching=True)
    try:
        holder = Sequence([1, 2, 3], SamplingParams(), StoppingParams(1), emit=lambda *_: None)
        assert engine.blocks.admit(holder) and holder.block_table == [0]      # block 0 is someone else's
        for cache in engine.kv.keys + engine.kv.values:
            cache[:4] = float("nan")
        got = run_ids(engine, prompts, 8)
    finally:
        engine.stop(5)
    assert not got.errors and got.tokens == expected


def test_a_reused_block_carries_no_stale_kv(tiny_model):
    """A block that changes owner is cleared first: slots past a sequence's length in its last block are
    masked, but a masked key or value still costs 0 x value. Poison every block of the pool with NaN
    (a float16 overflow left behind by earlier owners); prompts still decode exactly as on a clean pool."""
    model, tokenizer, context = tiny_model
    prompts = [prompt_ids(tokenizer, "What is the capital of France? Tell me in one sentence."),
               prompt_ids(tokenizer, "Hi")]
    expected, _ = outputs(model, tokenizer, context, prompts, max_new=8, kv_block_size=4)
    engine = make_engine(model, tokenizer, context, kv_block_size=4)
    try:
        pool_slots = engine.pool.num_blocks * engine.blocks.block_size       # not the pad and sink blocks after it
        for cache in engine.kv.keys + engine.kv.values:
            cache[:pool_slots] = float("nan")
        got = run_ids(engine, prompts, 8)
        settle(engine)
        assert engine.pool.num_used == 0
    finally:
        engine.stop(5)
    assert not got.errors and got.tokens == expected
