"""sizing.py and quantize.py (text_generation_inference/memory_and_speed.md,
"KV cache and memory sizing" and "Quantization, hands-on"): the formulas are checked against real models and
caches, not constants."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, LlamaConfig

from smol_inference import TINY_MODEL
from smol_inference.models import architecture_config
from smol_inference.quantize import Int8Linear, quantize_int8, stored_bytes
from smol_inference.sizing import (
    LLAMA_31_CONFIGS,
    ModelShape,
    blocks_for,
    example_shapes,
    llama_parameters,
    will_it_fit,
)


def _meta_parameters(config: dict) -> int:
    """Parameters of a Llama model built from `config` on the meta device (nothing allocated)."""
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(LlamaConfig(**config))
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("config", [architecture_config("smollm2-135m"), LLAMA_31_CONFIGS["Llama-3.1-8B"]],
                         ids=["smollm2-135m", "llama-3.1-8b"])
def test_parameter_formula_matches_transformers(config: dict) -> None:
    assert llama_parameters(config) == _meta_parameters(config)


def test_kv_formula_matches_a_real_cache() -> None:
    shape = ModelShape.from_config("tiny", AutoConfig.from_pretrained(TINY_MODEL).to_dict())
    model = AutoModelForCausalLM.from_pretrained(TINY_MODEL).eval()
    with torch.no_grad():
        cache = model(torch.arange(1, 38)[None], use_cache=True).cache
    measured = sum(t.numel() * t.element_size() for layer in cache.layers for t in (layer.keys, layer.values))
    assert measured == shape.kv_bytes_per_token("float32") * 37
    assert shape.parameters == sum(p.numel() for p in model.parameters())


def test_fit_arithmetic_and_fp8_doubles_the_pool() -> None:
    smol, llama8, llama70 = example_shapes()
    gib = 1024**3
    bf16 = will_it_fit(llama8, 80 * gib, batch=32, context=8192)
    fp8 = will_it_fit(llama8, 80 * gib, batch=32, context=8192, kv_dtype="fp8")
    assert bf16.fits and fp8.kv_needed * 2 == bf16.kv_needed
    assert fp8.pool_tokens in (2 * bf16.pool_tokens, 2 * bf16.pool_tokens + 1)
    assert bf16.pool_tokens * bf16.kv_per_token <= bf16.budget - bf16.weights
    assert not will_it_fit(llama70, 80 * gib, batch=1, context=1).fits  # weights alone exceed one GPU
    assert smol.kv_bytes_per_token("float16") == 2 * 30 * 3 * 64 * 2  # lesson 2, "KV cache"


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="batch"):
        will_it_fit(example_shapes()[0], 1e9, batch=0, context=10)
    with pytest.raises(ValueError, match="unknown dtype"):
        example_shapes()[0].weight_bytes("float12")
    with pytest.raises(ValueError, match="layers"):
        ModelShape("x", 1, 0, 1, 1, 1)
    assert [blocks_for(n) for n in (0, 1, 16, 17)] == [0, 1, 1, 2]


def test_int8_linear_is_close_to_the_float_layer() -> None:
    torch.manual_seed(0)
    linear = torch.nn.Linear(64, 32)
    x = torch.randn(5, 64)
    quantized = Int8Linear(linear)
    assert quantized.qweight.dtype == torch.int8 and quantized.qweight.abs().max() <= 127
    error = (quantized(x) - linear(x)).norm() / linear(x).norm()
    assert error < 0.01, error


def test_quantized_tiny_model_is_smaller_and_answers_the_same() -> None:
    tokenizer = AutoTokenizer.from_pretrained(TINY_MODEL)
    full = AutoModelForCausalLM.from_pretrained(TINY_MODEL).eval()
    small = quantize_int8(AutoModelForCausalLM.from_pretrained(TINY_MODEL).eval())
    assert not isinstance(small.lm_head, Int8Linear)  # skipped by default
    assert stored_bytes(small) < 0.5 * stored_bytes(full)
    for question in ("What is 7 plus 5?", "What colour is the sky?"):
        ids = tokenizer.apply_chat_template([{"role": "user", "content": question}], add_generation_prompt=True,
                                            return_tensors="pt", return_dict=True)
        outs = [m.generate(**ids, max_new_tokens=12, do_sample=False)[0].tolist() for m in (full, small)]
        assert outs[0] == outs[1]


def test_decode_bound_and_cost_per_million_tokens() -> None:
    """memory_and_speed.md: one stream decodes at most bandwidth / weight bytes; a million tokens cost the
    hourly price over the tokens of an hour. An H100 (3.35 TB/s) and a 14 GB model: about 240 tokens/s."""
    from smol_inference.sizing import PRICES, HourlyPrice, cost_per_million_tokens, decode_bound_tokens_per_s

    assert decode_bound_tokens_per_s(14e9, 3.35e12) == pytest.approx(239.3, rel=1e-3)
    assert cost_per_million_tokens(1000.0, 3.6) == pytest.approx(1.0)  # 3.6 M tokens an hour for $3.60
    for bad in ((0, 1.0), (1.0, -2.0)):
        with pytest.raises(ValueError):
            cost_per_million_tokens(*bad)
    with pytest.raises(ValueError):
        decode_bound_tokens_per_s(0, 1e9)
    assert all(price.source and price.as_of[:4].isdigit() for price in PRICES.values())
    with pytest.raises(ValueError, match="source and a date"):
        HourlyPrice("a GPU", 2.0, "", "2026-05")
